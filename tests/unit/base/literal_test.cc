// base/literal.h: the one reader of Python literals (WebAPI back-quoted values, config values).
#include "base/literal.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace vlcp {
namespace {

using Json = nlohmann::json;

// What Python's ast.literal_eval makes of each literal (generated with Python 3), or nullptr
// where it has no JSON form (or where we refuse): a value is never silently changed.
TEST(Literal, AsPythonReadsThem) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"'a\\u0000b'", "\"a\\u0000b\""},
      {"'a\\x41b'", "\"aAb\""},
      {"'\\xff'", "\"\\u00ff\""},
      {"'\\u00e9'", "\"\\u00e9\""},
      {"'\\U0001F600'", "\"\\ud83d\\ude00\""},
      {"'\\n\\t\\r\\\\'", "\"\\n\\t\\r\\\\\""},
      {"'\\a\\b\\f\\v'", "\"\\u0007\\b\\f\\u000b\""},
      {"'\\0'", "\"\\u0000\""},
      {"'\\012'", "\"\\n\""},
      {"'\\101\\1012'", "\"AA2\""},
      {"'\\777'", "\"\\u01ff\""},
      {"'\\8'", "\"\\\\8\""},
      {"'\\q'", "\"\\\\q\""},
      {"'it\\'s'", "\"it's\""},
      {"\"say \\\"hi\\\"\"", "\"say \\\"hi\\\"\""},
      {"r'\\n'", "\"\\\\n\""},
      {"R'\\x41'", "\"\\\\x41\""},
      {"u'x'", "\"x\""},
      {"'a' 'b'", "\"ab\""},
      {"'a' \"b\"", "\"ab\""},
      {"'''tri'ple'''", "\"tri'ple\""},
      {"\"\"\"a\\nb\"\"\"", "\"a\\nb\""},
      {"'\\/'", "\"\\\\/\""},
      {"'\\\x0a"
       "'",
       "\"\""},
      {"'\xc3"
       "\xa9"
       "'",
       "\"\\u00e9\""},
      {"'\\ud800'", nullptr},
      {"'\\ud83d\\ude00'", nullptr},
      {"b'x'", nullptr},
      {"'\\x4'", nullptr},
      {"'\\N{BULLET}'", nullptr},  // (Python: U+2022; we have no name table: refused)
      {"f'x'", nullptr},
      {"'abc", nullptr},
      {"'\\U00110000'", nullptr},
      {"True", "true"},
      {"False", "false"},
      {"None", "null"},
      {"true", nullptr},
      {"null", nullptr},
      {"-1", "-1"},
      {"+1", "1"},
      {"- 1", "-1"},
      {"--1", nullptr},
      {"-True", nullptr},
      {"0x10", "16"},
      {"0o17", "15"},
      {"0b101", "5"},
      {"0X_1f", "31"},
      {"1_000", "1000"},
      {"1__0", nullptr},
      {"1_", nullptr},
      {"007", nullptr},
      {"0_0", "0"},
      {"00", "0"},
      {"1.5", "1.5"},
      {"1.", "1.0"},
      {".5", "0.5"},
      {"1e3", "1000.0"},
      {"1E-2", "0.01"},
      {"1.e5", "100000.0"},
      {"00.5", "0.5"},
      {"1_0.5", "10.5"},
      {"1e999", nullptr},
      {"18446744073709551615", "18446744073709551615"},
      {"18446744073709551616", nullptr},
      {"-9223372036854775808", "-9223372036854775808"},
      {"-9223372036854775809", nullptr},
      {"1j", nullptr},
      {"1abc", nullptr},
      {"[1, 2,]", "[1, 2]"},
      {"(1)", "1"},
      {"(1,)", "[1]"},
      {"()", "[]"},
      {"(1, 2)", "[1, 2]"},
      {"[]", "[]"},
      {"{}", "{}"},
      {"{'a': 1,}", "{\"a\": 1}"},
      {"{1: 2}", nullptr},
      {"{1, 2}", nullptr},
      {"{'a': (1, [None])}", "{\"a\": [1, [null]]}"},
      {"[[100, 200], (1, 2)]", "[[100, 200], [1, 2]]"},
      {"((((1))))", "1"},
      {"[1,,2]", nullptr},
      {"[1 2]", nullptr},
      {"set()", nullptr},
      {"os.system('x')", nullptr},
      {" [1]\x09"
       "",
       "[1]"},
      {"1 # c", "1"},
  };
  for (const auto& [text, want] : cases) {
    auto got = parse_python_literal(text);
    if (!want) {
      EXPECT_FALSE(got.ok()) << text << " -> " << (got.ok() ? got->dump() : "");
      if (!got.ok()) {
        EXPECT_EQ(got.error().code(), Errc::kInvalidArgument) << text;
      }
      continue;
    }
    ASSERT_TRUE(got.ok()) << text << ": " << got.error().message();
    EXPECT_EQ(*got, nlohmann::json::parse(want)) << text;
  }
}

TEST(Literal, DepthIsLimited) {
  auto nested = [](int depth) { return std::string(depth, '[') + "1" + std::string(depth, ']'); };
  LiteralOptions options;
  options.max_depth = 8;
  EXPECT_TRUE(parse_python_literal(nested(8), options).ok());
  EXPECT_FALSE(parse_python_literal(nested(10), options).ok());
  EXPECT_TRUE(parse_python_literal(nested(64)).ok());
  EXPECT_FALSE(parse_python_literal(nested(60000)).ok());
  EXPECT_FALSE(parse_python_literal(std::string(60000, '{'), kConfigLiteral).ok());
}

TEST(Literal, ErrorOffsetPointsAtTheProblem) {
  size_t at = 99;
  EXPECT_FALSE(parse_python_literal("[1, 2, @]", {}, &at).ok());
  EXPECT_EQ(at, 7u);
  auto open = parse_python_literal("[1, 2", {}, &at);
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(at, 5u);
  EXPECT_EQ(open.error().message(), "missing ']'");
}

// The configuration file's dialect: the same strings and numbers, plus JSON's names, sets as
// lists, any dict key, and bytes literals that hold UTF-8 text.
TEST(Literal, ConfigDialect) {
  auto cfg = [](const char* text) {
    auto r = parse_python_literal(text, kConfigLiteral);
    EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message());
    return r.ok() ? *r : Json("<refused>");
  };
  EXPECT_EQ(cfg("[true, false, null, True]"), Json::parse("[true, false, null, true]"));
  EXPECT_EQ(cfg("{'x', 'y',}"), Json::parse(R"(["x","y"])"));
  EXPECT_EQ(cfg("{1: 'a', 'b': 2}"), Json::parse(R"({"1":"a","b":2})"));
  EXPECT_EQ(cfg("b'raw'"), Json("raw"));
  EXPECT_EQ(cfg("rb'\\x41'"), Json("\\x41"));
  EXPECT_EQ(cfg("b'\\xc3\\xa9\\101'"), Json("\xc3\xa9"
                                            "A"));  // bytes escapes are bytes
  EXPECT_EQ(cfg("b'\\u00e9'"), Json("\\u00e9"));    // \u is no escape in bytes
  EXPECT_EQ(cfg("'a\\x41\\012'"), Json("aA\n"));    // strings as in the strict dialect
  for (const char* refused : {"b'\\xff'", "b'x' 'y'", "'x' b'y'", "b'\xc3\xa9'", "ub'x'", "bb'x'",
                              "'\\ud800'", "{'a': 1, 2}", "{1, 'a': 2}", "nil"}) {
    auto r = parse_python_literal(refused, kConfigLiteral);
    EXPECT_FALSE(r.ok()) << refused << " -> " << (r.ok() ? r->dump() : "");
  }
}

TEST(Literal, Utf8Validation) {
  EXPECT_TRUE(valid_utf8("plain \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // é € 😀
  for (const char* bad : {"a\xff", "\xc3", "\xc0\x80", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                          "\xf4\x90\x80\x80", "\x80", "\xe2\x82"})
    EXPECT_FALSE(valid_utf8(bad)) << bad;
}

}  // namespace
}  // namespace vlcp
