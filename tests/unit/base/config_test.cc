#include "base/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

namespace vlcp {
namespace {

using Json = nlohmann::json;

Json lit(std::string_view text) {
  auto r = Config::parse_literal(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().to_string();
  return r.ok() ? *r : Json();
}

TEST(ConfigLiteral, PythonAndJsonForms) {
  EXPECT_EQ(lit("42"), Json(42));
  EXPECT_EQ(lit("-7"), Json(-7));
  EXPECT_EQ(lit("0x1F"), Json(31));
  EXPECT_EQ(lit("0o17"), Json(15));
  EXPECT_EQ(lit("0b101"), Json(5));
  EXPECT_EQ(lit("1_000_000"), Json(1000000));
  EXPECT_DOUBLE_EQ(lit("2.5e-3").get<double>(), 0.0025);
  EXPECT_EQ(lit("18446744073709551615"), Json(18446744073709551615ULL));
  EXPECT_EQ(lit("True"), Json(true));
  EXPECT_EQ(lit("false"), Json(false));
  EXPECT_EQ(lit("None"), Json(nullptr));
  EXPECT_EQ(lit("'it''s'"), Json("its"));
  EXPECT_EQ(lit(R"("a\tb\u00e9\x41")"), Json("a\tb\xc3\xa9"
                                             "A"));
  EXPECT_EQ(lit(R"(r'\d+')"), Json("\\d+"));
  EXPECT_EQ(lit("b'raw'"), Json("raw"));
  EXPECT_EQ(lit(R"('\q')"), Json("\\q"));
  EXPECT_EQ(lit("'''multi\nline'''"), Json("multi\nline"));
  EXPECT_EQ(lit("[1, 'two', [3]]"), Json::parse(R"([1,"two",[3]])"));
  EXPECT_EQ(lit("((3000, 4000),)"), Json::parse("[[3000,4000]]"));
  EXPECT_EQ(lit("(5)"), Json(5));
  EXPECT_EQ(lit("{'a': 1, 2: [True, None],}"), Json::parse(R"({"a":1,"2":[true,null]})"));
  EXPECT_EQ(lit("{'x', 'y'}"), Json::parse(R"(["x","y"])"));
  EXPECT_EQ(lit("{}"), Json::object());
  EXPECT_EQ(lit(R"({"json": {"nested": [1.5, null, false]}})"),
            Json::parse(R"({"json": {"nested": [1.5, null, false]}})"));
}

TEST(ConfigLiteral, RejectsWithReason) {
  for (const char* bad : {"", "[1, 2", "{'a' 1}", "'open", "hello", "1 2", "0777", "99999999999999999999",
                          "[1,,2]", "-", "0b102", "'\\ud800'", "b'\\xff'"}) {
    auto r = Config::parse_literal(bad);
    EXPECT_FALSE(r.ok()) << "accepted: " << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
      EXPECT_FALSE(r.error().message().empty());
    }
  }
  std::string deep(200, '[');
  EXPECT_FALSE(Config::parse_literal(deep).ok());
}

// Values are read by base/literal.h, so escapes mean what they mean to Python: \u0000 is a NUL
// inside the string, \x41 the character 'A', \012 one octal escape (a newline), \U an escape,
// and an unknown escape (\/, \q) is kept as written. (The config's own reader took \x41 as a
// raw byte, \012 as NUL + "12", refused \U and turned \/ into /.)
TEST(Config, ValuesReadEscapesAsPythonDoes) {
  auto c = Config::parse(R"(a.nul = 'a\u0000b'
a.hex = '\x41'
a.octal = '\012'
a.high = '\xe9\U0001F600'
a.kept = '\/\q'
a.multi = ['x\101',
    "\0"]
)",
                         "esc.conf");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(*c->get<std::string>("a.nul"), std::string("a\0b", 3));
  EXPECT_EQ(*c->get<std::string>("a.hex"), "A");
  EXPECT_EQ(*c->get<std::string>("a.octal"), "\n");
  EXPECT_EQ(*c->get<std::string>("a.high"), "\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(*c->get<std::string>("a.kept"), "\\/\\q");
  EXPECT_EQ(*c->get<Json>("a.multi"), Json::array({"xA", std::string("\0", 1)}));
  // A lone surrogate has no UTF-8 form: an error at its line, not a malformed string.
  auto bad = Config::parse("a.ok = 1\na.s = ['x',\n    '\\udc00']\n", "s.conf");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message().rfind("s.conf:3: a.s: ", 0), 0u) << bad.error().message();
}

constexpr const char* kSample = R"(# VLCP-style configuration
module.httpserver.vhost.api.url = 'tcp://localhost:8081'   # trailing comment
module.l2switch.learning = False
module.default.learntimeout = 300
module.vxlancast.learntimeout = 60
module.vxlanvtep.vlanid_pool = ((3000, 4000),
                                (4001, 4090))
module.zookeeperdb.url = "tcp://h1:2181,h2:2181/"
protocol.openflow.allowedversions = (4, 5)
server.startup = ('vlcp.service.sdn.viperflow.ViperFlow',
    'vlcp.service.sdn.ioprocessing.IOProcessing')
)";

TEST(Config, ParsesVlcpFormat) {
  auto c = Config::parse(kSample, "sample.conf");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(*c->get<std::string>("module.httpserver.vhost.api.url"), "tcp://localhost:8081");
  EXPECT_EQ(*c->get<bool>("module.l2switch.learning"), false);
  EXPECT_EQ(*c->get<std::vector<int>>("protocol.openflow.allowedversions"), (std::vector<int>{4, 5}));
  EXPECT_EQ((*c->get<Json>("module.vxlanvtep.vlanid_pool")), Json::parse("[[3000,4000],[4001,4090]]"));
  EXPECT_EQ(c->get<std::vector<std::string>>("server.startup")->size(), 2u);
  EXPECT_EQ(c->where("module.vxlanvtep.vlanid_pool"), "sample.conf:6");
  EXPECT_EQ(c->keys_under("module.l2switch"), std::vector<std::string>{"module.l2switch.learning"});
}

TEST(Config, ModuleLookupFallsBackToDefault) {
  auto c = Config::parse(kSample);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c->module_get<int>("vxlancast", "learntimeout", 1), 60);
  EXPECT_EQ(*c->module_get<int>("l2switch", "learntimeout", 1), 300);
  EXPECT_EQ(*c->module_get<int>("l2switch", "absent", 7), 7);
}

TEST(Config, TypedLookupErrorsNameKeyLineAndType) {
  auto c = Config::parse(kSample, "sample.conf");
  ASSERT_TRUE(c.ok());
  auto wrong = c->get<int>("module.httpserver.vhost.api.url");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().message(),
            "sample.conf:2: module.httpserver.vhost.api.url: expected an integer in [-2147483648, "
            "2147483647], got string \"tcp://localhost:8081\"");
  auto narrow = c->get<uint8_t>("module.default.learntimeout");  // 300 does not fit in 8 bits
  ASSERT_FALSE(narrow.ok());
  EXPECT_NE(narrow.error().message().find("[0, 255]"), std::string::npos);
  // A present value of the wrong type is an error even with a fallback.
  EXPECT_FALSE(c->get_or<bool>("module.default.learntimeout", true).ok());
  auto missing = c->get<int>("module.none.x");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Errc::kNotFound);
}

TEST(Config, SyntaxErrorsNameTheLine) {
  struct Case {
    const char* text;
    const char* message_start;
  };
  for (const Case& k : {
           Case{"a.b = 1\nno equals sign\n", "t.conf:2: expected 'key = value'"},
           Case{"a.b = 1\n  2\n", "t.conf:2: a.b: unexpected text after the value"},
           Case{"   a.b = 1\n", "t.conf:1: indented line continues no key"},
           Case{"a..b = 1\n", "t.conf:1: bad key 'a..b'"},
           Case{"x = [1,\n  2,\n  oops]\n", "t.conf:3: x: 'oops' is not a literal"},
           Case{"x = 'unterminated\n", "t.conf:1: x: unterminated string"},
           Case{"x = \"\"\"open\n  still open\n", "t.conf:2: x: unterminated string"},
       }) {
    auto c = Config::parse(k.text, "t.conf");
    ASSERT_FALSE(c.ok()) << k.text;
    EXPECT_EQ(c.error().message().rfind(k.message_start, 0), 0u) << c.error().message();
  }
}

TEST(Config, KeyGivenTwiceIsAnErrorNamingBothLines) {
  auto c = Config::parse("a.b = 1\n# a comment\na.b = 2\n", "t.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message(), "t.conf:3: a.b: given twice (first at t.conf:1)");
}

TEST(Config, SetOverrides) {
  auto c = Config::parse("a.b = 1\n");
  ASSERT_TRUE(c.ok());
  c->set("a.b", 3);
  EXPECT_EQ(*c->get<int>("a.b"), 3);
  EXPECT_EQ(c->where("a.b"), "<override>");
}

TEST(Config, ErrorAtPlacesTheKeysLine) {
  auto c = Config::parse("# first\nx.y = 0\n", "t.conf");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->error_at("x.y", "must be positive").message(), "t.conf:2: x.y: must be positive");
  // An absent key (its default was used): the source, without a line.
  EXPECT_EQ(c->error_at("x.z", "bad default").message(), "t.conf: x.z: bad default");
}

TEST(Config, LoadFileReportsMissingFile) {
  auto c = Config::load_file("/nonexistent/vlcp.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message().find("/nonexistent/vlcp.conf"), std::string::npos);
  std::string path = ::testing::TempDir() + "config_test.conf";
  std::ofstream(path) << "server.loglevel = 'debug'\n";
  auto ok = Config::load_file(path);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->where("server.loglevel"), path + ":1");
  EXPECT_EQ(ok->files(), 1u);
  std::remove(path.c_str());
}

// A scratch directory removed at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    path = ::testing::TempDir() + "config_test_dir_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path + "/" + name) << text;
  }
};

TEST(Config, LoadDirectoryReadsEveryConfFileInNameOrder) {
  TempDir d;
  d.write("20-of.conf", "protocol.openflow.keepalivetime = 5\n");
  d.write("10-base.conf", "# base\nserver.loglevel = 'debug'\n");
  d.write("README", "not = a config\n");               // not *.conf: ignored
  d.write(".hidden.conf", "server.loglevel = 'x'\n");  // hidden: ignored (editor swap files and the like)
  auto c = Config::load(d.path);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->keys().size(), 2u);
  EXPECT_EQ(c->files(), 2u);
  EXPECT_EQ(c->where("server.loglevel"), d.path + "/10-base.conf:2");
  EXPECT_EQ(c->where("protocol.openflow.keepalivetime"), d.path + "/20-of.conf:1");
  // A plain file goes through load() too.
  auto one = Config::load(d.path + "/20-of.conf");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->files(), 1u);
}

TEST(Config, LoadDirectoryKeyInTwoFilesIsAnError) {
  TempDir d;
  d.write("a.conf", "server.loglevel = 'debug'\n");
  d.write("b.conf", "\nserver.loglevel = 'info'\n");
  auto c = Config::load(d.path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message(),
            d.path + "/b.conf:2: server.loglevel: given twice (first at " + d.path + "/a.conf:1)");
}

TEST(Config, LoadDirectoryWithoutConfigFilesIsAnError) {
  TempDir d;
  d.write("notes.txt", "server.loglevel = 'debug'\n");
  auto c = Config::load(d.path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message().rfind(d.path + ": no configuration files", 0), 0u) << c.error().message();
  // A file in it with an error: the error names that file and line.
  d.write("x.conf", "server.loglevel = [\n");
  auto bad = Config::load(d.path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message().rfind(d.path + "/x.conf:1: server.loglevel:", 0), 0u)
      << bad.error().message();
}

TEST(Config, DropInsReplaceThePackagedFilesKeysInNameOrder) {
  TempDir d;
  const std::string main = d.path + "/vlcp.conf";
  d.write("vlcp.conf", "server.loglevel = 'info'\nprotocol.openflow.keepalivetime = 5\n");
  std::filesystem::create_directories(main + ".d");
  d.write("vlcp.conf.d/60-perf-profile.conf", "server.loglevel = 'warn'\n");
  d.write("vlcp.conf.d/50-firstboot.conf", "server.loglevel = 'debug'\nmodule.webapi.url = 'x'\n");
  d.write("vlcp.conf.d/notes.txt", "server.loglevel = 'error'\n");  // not *.conf: ignored
  auto c = Config::load_with_dropins(main);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->files(), 3u);
  // 60 after 50 after the packaged file: the last word is the later file's, and its place.
  EXPECT_EQ(*c->get<std::string>("server.loglevel"), "warn");
  EXPECT_EQ(c->where("server.loglevel"), main + ".d/60-perf-profile.conf:1");
  EXPECT_EQ(*c->get<std::string>("module.webapi.url"), "x");
  EXPECT_EQ(c->where("protocol.openflow.keepalivetime"), main + ":2");
  // Within one drop-in a key given twice is still an error naming the file.
  d.write("vlcp.conf.d/70-bad.conf", "server.loglevel = 'a'\nserver.loglevel = 'b'\n");
  auto bad = Config::load_with_dropins(main);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message().rfind(main + ".d/70-bad.conf:2: server.loglevel: given twice", 0), 0u)
      << bad.error().message();
}

TEST(Config, DropInsWithoutThePackagedFileAndNeither) {
  TempDir d;
  const std::string main = d.path + "/vlcp.conf";
  // Only drop-ins (the operator removed the packaged file): they are the configuration.
  std::filesystem::create_directories(main + ".d");
  auto empty = Config::load_with_dropins(main);  // an empty drop-in directory: no keys, fine
  ASSERT_TRUE(empty.ok()) << empty.status().to_string();
  EXPECT_EQ(empty->keys().size(), 0u);
  d.write("vlcp.conf.d/50-firstboot.conf", "server.loglevel = 'debug'\n");
  auto only = Config::load_with_dropins(main);
  ASSERT_TRUE(only.ok()) << only.status().to_string();
  EXPECT_EQ(*only->get<std::string>("server.loglevel"), "debug");
  // Neither: the file's own "cannot open" error.
  auto none = Config::load_with_dropins(d.path + "/other.conf");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("cannot open config file"), std::string::npos);
}

TEST(Config, SectionOfKey) {
  EXPECT_EQ(Config::section_of("module.httpserver.url"), "module.httpserver");
  EXPECT_EQ(Config::section_of("protocol.openflow.hellotimeout"), "protocol.openflow");
  EXPECT_EQ(Config::section_of("server.loglevel"), "server");
  EXPECT_EQ(Config::section_of("module.frobnicator"), "module.frobnicator");
}

const std::set<std::string, std::less<>> kDeclared = {"module.httpserver.url", "module.httpserver.token",
                                                      "server.loglevel"};

TEST(Config, UnknownKeysAreErrorsWithTheirLines) {
  auto c = Config::parse(
      "module.httpserver.url = 'x'\nmodule.httpserver.urll = 'x'\nmodule.frobnicator.x = 1\nserver.logleve = "
      "'info'\n"
      "frob.x = 1\nmodule.httpserver.zzzzzzzz = 1\n",
      "k.conf");
  ASSERT_TRUE(c.ok());
  std::vector<std::string> warnings;
  Status s = c->check_known_keys(kDeclared, false, &warnings);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(warnings.empty());
  // Every unknown key, one per line, in key order, each at its file:line.
  EXPECT_EQ(s.message(),
            "k.conf:5: unknown key 'frob.x' (no 'frob.*' keys are read)\n"
            "k.conf:3: unknown key 'module.frobnicator.x' (there is no module 'frobnicator')\n"
            "k.conf:2: unknown key 'module.httpserver.urll' (did you mean 'module.httpserver.url'?)\n"
            "k.conf:6: unknown key 'module.httpserver.zzzzzzzz'\n"
            "k.conf:4: unknown key 'server.logleve' (did you mean 'server.loglevel'?)");
  // Opted out: the same findings, as warnings.
  EXPECT_TRUE(c->check_known_keys(kDeclared, true, &warnings).ok());
  EXPECT_EQ(warnings.size(), 5u);
  auto good = Config::parse("module.httpserver.url = 'x'\nserver.loglevel = 'info'\n");
  EXPECT_TRUE(good->check_known_keys(kDeclared, false, nullptr).ok());
}

}  // namespace
}  // namespace vlcp
