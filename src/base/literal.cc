#include "base/literal.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace vlcp {

using nlohmann::json;

namespace {

// A recursive-descent reader of one literal; see literal.h for what it accepts.
class LiteralParser {
 public:
  LiteralParser(std::string_view text, const LiteralOptions& options) : text_(text), options_(options) {}

  size_t error_offset() const { return error_offset_; }

  Result<json> parse_all() {
    if (!valid_utf8(text_)) return fail("the literal is not UTF-8");
    skip_space();
    auto v = value(0);
    if (!v.ok()) return v;
    skip_space();
    if (pos_ != text_.size()) return fail("unexpected text after the value");
    return v;
  }

 private:
  Status fail(std::string what) const {
    error_offset_ = std::min(pos_, text_.size());
    return make_error(Errc::kInvalidArgument, std::move(what));
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek(size_t ahead = 0) const { return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0'; }
  static bool is_name(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
  void skip_space() {  // and comments, as Python's tokenizer
    while (!at_end()) {
      if (peek() == '#')
        while (!at_end() && peek() != '\n') ++pos_;
      else if (peek() != '\0' && std::strchr(" \t\r\n\f", peek()))
        ++pos_;
      else
        break;
    }
  }

  Result<json> value(int depth) {
    if (depth > options_.max_depth)
      return fail("the literal nests deeper than " + std::to_string(options_.max_depth) + " levels");
    skip_space();
    char c = peek();
    if (at_end()) return fail("expected a value");
    if (c == '[') return sequence(']', depth);
    if (c == '(') return sequence(')', depth);
    if (c == '{') return braces(depth);
    if (c == '\'' || c == '"') return strings();
    if (c == '-' || c == '+') {
      ++pos_;
      skip_space();
      if (!std::isdigit(static_cast<unsigned char>(peek())) && peek() != '.')
        return fail("a sign must be followed by a number");
      return number(c == '-');
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') return number(false);
    if (is_name(c)) {
      size_t start = pos_;
      while (is_name(peek())) ++pos_;
      std::string_view word = text_.substr(start, pos_ - start);
      if (peek() == '\'' || peek() == '"') {
        pos_ = start;
        return strings();
      }
      bool j = options_.json_names;
      if (word == "True" || (j && word == "true")) return json(true);
      if (word == "False" || (j && word == "false")) return json(false);
      if (word == "None" || (j && word == "null")) return json(nullptr);
      pos_ = start;
      return fail("'" + std::string(word) + "' is not a literal (names allowed: True, False, None" +
                  (j ? ", true, false, null)" : ")"));
    }
    return fail(std::string("unexpected character '") + c + "'");
  }

  // Where a container should go on or end: the text ending there is an unclosed bracket.
  Status expected_comma_or(char close) const {
    if (at_end()) return fail(std::string("missing '") + close + "'");
    return fail(std::string("expected ',' or '") + close + "'");
  }

  // [a, b] and (a, b), (a,), () -> a JSON array; (a) is a, as in Python.
  Result<json> sequence(char close, int depth) {
    ++pos_;
    json arr = json::array();
    bool comma = false;
    for (;;) {
      skip_space();
      if (at_end()) return expected_comma_or(close);
      if (peek() == close) break;
      auto v = value(depth + 1);
      if (!v.ok()) return v;
      arr.push_back(std::move(*v));
      skip_space();
      if (peek() == ',') {
        ++pos_;
        comma = true;
        continue;
      }
      if (peek() != close) return expected_comma_or(close);
      break;
    }
    ++pos_;
    if (close == ')' && arr.size() == 1 && !comma) return json(std::move(arr[0]));
    return arr;
  }

  // {k: v, ...} -> an object (string keys, or any as their JSON text with keys_as_text); a set
  // {a, b} has no JSON form (a list with sets_as_lists).
  Result<json> braces(int depth) {
    ++pos_;
    json obj = json::object();
    for (bool first = true;; first = false) {
      skip_space();
      if (at_end()) return expected_comma_or('}');
      if (peek() == '}') break;
      auto k = value(depth + 1);
      if (!k.ok()) return k;
      skip_space();
      if (peek() != ':' && first && options_.sets_as_lists) return set_items(std::move(*k), depth);
      if (peek() != ':') return fail("a set has no JSON form (expected ':' after a dict key)");
      if (!k->is_string() && !options_.keys_as_text)
        return fail("dict keys must be strings (JSON objects have string keys)");
      ++pos_;
      auto v = value(depth + 1);
      if (!v.ok()) return v;
      obj[k->is_string() ? k->get<std::string>() : k->dump()] = std::move(*v);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') return expected_comma_or('}');
      break;
    }
    ++pos_;
    return obj;
  }

  // The rest of a set {first, ...}, as a list.
  Result<json> set_items(json first, int depth) {
    json arr = json::array({std::move(first)});
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      if (peek() != ',') return expected_comma_or('}');
      ++pos_;
      skip_space();
      if (peek() == '}') break;
      auto v = value(depth + 1);
      if (!v.ok()) return v;
      arr.push_back(std::move(*v));
    }
    ++pos_;
    return arr;
  }

  // Adjacent string literals, concatenated as Python does (text and bytes do not mix).
  Result<json> strings() {
    std::string out;
    size_t start = pos_;
    int bytes = -1;  // unknown yet; then 0 (text) or 1 (bytes)
    for (;;) {
      size_t here = pos_;
      bool is_bytes = false;
      auto one = string_literal(out, is_bytes);
      if (!one.ok()) return one;
      if (bytes >= 0 && bytes != static_cast<int>(is_bytes)) {
        pos_ = here;
        return fail("bytes and text literals cannot be concatenated");
      }
      bytes = is_bytes;
      skip_space();
      size_t save = pos_;
      while (is_name(peek())) ++pos_;
      bool more = peek() == '\'' || peek() == '"';
      pos_ = save;
      if (!more) break;
    }
    if (bytes == 1 && !valid_utf8(out)) {
      pos_ = start;
      return fail("these bytes are not UTF-8 text (a JSON string holds text)");
    }
    return json(std::move(out));
  }

  Status string_literal(std::string& out, bool& bytes) {
    bool raw = false;
    size_t start = pos_;
    while (is_name(peek())) {
      char p = static_cast<char>(std::tolower(static_cast<unsigned char>(peek())));
      if (p == 'b' && !options_.bytes_as_text) return fail("bytes literals (b'...') have no JSON form");
      if (p == 'f') return fail("f-strings are not literals");
      if (p == 'r') raw = true;
      if (p == 'b') bytes = true;
      if (p != 'r' && p != 'u' && p != 'b') return fail("unknown string prefix");
      ++pos_;
    }
    // One of r, u, b, or rb/br in either order and case.
    if (pos_ - start > 2 || (pos_ - start == 2 && !(raw && bytes))) return fail("unknown string prefix");
    char q = peek();
    bool triple = peek(1) == q && peek(2) == q;
    pos_ += triple ? 3 : 1;
    for (;;) {
      if (at_end()) return fail("unterminated string");
      char c = text_[pos_];
      if (c == q && (!triple || (peek(1) == q && peek(2) == q))) {
        pos_ += triple ? 3 : 1;
        return {};
      }
      if (c == '\n' && !triple) return fail("a newline inside a string (write \\n)");
      if (bytes && static_cast<unsigned char>(c) >= 0x80)
        return fail("a bytes literal holds only ASCII characters (write \\xHH)");
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      char e = peek(1);
      if (pos_ + 1 >= text_.size()) return fail("unterminated string");
      if (raw) {  // a backslash keeps what follows, and stops it ending the string
        out += c;
        out += e;
        pos_ += 2;
        continue;
      }
      pos_ += 2;
      switch (e) {
        case '\n':
          break;  // a line continuation
        case '\\':
        case '\'':
        case '"':
          out += e;
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'v':
          out += '\v';
          break;
        case 'u':
        case 'U':
        case 'N':
          if (bytes) {  // not escapes in bytes: kept as written
            out += '\\';
            out += e;
            break;
          }
          if (e == 'N') return fail("\\N{...} escapes are not supported (write the character, or \\u)");
          [[fallthrough]];
        case 'x': {
          int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (int i = 0; i < n; ++i, ++pos_) {
            if (!std::isxdigit(static_cast<unsigned char>(peek())))
              return fail(std::string("\\") + e + " needs " + std::to_string(n) + " hex digits");
            char h = peek();
            cp =
                cp * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h))
                                                    ? h - '0'
                                                    : std::tolower(static_cast<unsigned char>(h)) - 'a' + 10);
          }
          if (bytes) {
            out += static_cast<char>(cp);
            break;
          }
          if (Status st = append_code_point(out, cp); !st.ok()) return st;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {  // up to three octal digits
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int i = 0; i < 2 && peek() >= '0' && peek() <= '7'; ++i, ++pos_)
              cp = cp * 8 + static_cast<uint32_t>(peek() - '0');
            if (bytes) {
              if (cp > 0xff) return fail("an octal escape in bytes is past \\377");
              out += static_cast<char>(cp);
              break;
            }
            if (Status st = append_code_point(out, cp); !st.ok()) return st;
          } else {  // Python keeps an unknown escape as it is
            out += '\\';
            out += e;
          }
      }
    }
  }

  Status append_code_point(std::string& out, uint32_t cp) const {
    if (cp >= 0xd800 && cp <= 0xdfff) return fail("a lone surrogate has no UTF-8 form");
    if (cp > 0x10ffff) return fail("past U+10FFFF");
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
    return {};
  }

  // Digits of `base` with single underscores between them (Python's digitpart); `lead`: an
  // underscore may come first (after 0x, 0o, 0b).
  static bool digit_part(std::string_view d, int base, bool lead) {
    if (d.empty()) return false;
    auto digit = [base](char c) {
      int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
              : std::isxdigit(static_cast<unsigned char>(c))
                  ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                  : 99;
      return v < base;
    };
    for (size_t i = 0; i < d.size(); ++i) {
      if (d[i] == '_') {
        if ((i == 0 && !lead) || i + 1 == d.size() || d[i + 1] == '_') return false;
      } else if (!digit(d[i])) {
        return false;
      }
    }
    return true;
  }

  Result<json> number(bool negative) {
    size_t start = pos_;
    while (is_name(peek()) || peek() == '.' ||
           ((peek() == '+' || peek() == '-') && pos_ > start &&
            std::tolower(static_cast<unsigned char>(text_[pos_ - 1])) == 'e' &&
            !(text_.size() > start + 1 && std::strchr("xX", text_[start + 1]))))
      ++pos_;
    std::string_view tok = text_.substr(start, pos_ - start);
    auto bad = [&](const std::string& why) {
      pos_ = start;
      std::string text = "'";  // (appended piece by piece: GCC 12 -O3 warns falsely on "'" + string)
      text += tok;
      text += "' ";
      text += why;
      return fail(text);
    };
    char last = static_cast<char>(std::tolower(static_cast<unsigned char>(tok.back())));
    bool prefixed = tok.size() > 2 && tok[0] == '0' && std::strchr("xXoObB", tok[1]);
    if (last == 'j' && !prefixed) return bad("is a complex number, which JSON cannot hold");
    std::string digits;
    for (char c : tok)
      if (c != '_') digits += c;
    errno = 0;
    char* end = nullptr;
    if (!prefixed && tok.find_first_of(".eE") != std::string_view::npos) {
      // digitpart? '.' digitpart? (one of them), then an optional exponent
      size_t e = tok.find_first_of("eE");
      std::string_view mant = tok.substr(0, e);
      size_t dot = mant.find('.');
      bool ok = true;
      if (dot == std::string_view::npos) {
        ok = digit_part(mant, 10, false);
      } else {
        std::string_view a = mant.substr(0, dot), b = mant.substr(dot + 1);
        ok = (!a.empty() || !b.empty()) && (a.empty() || digit_part(a, 10, false)) &&
             (b.empty() || digit_part(b, 10, false));
      }
      if (e != std::string_view::npos) {
        std::string_view x = tok.substr(e + 1);
        if (!x.empty() && (x[0] == '+' || x[0] == '-')) x.remove_prefix(1);
        ok = ok && digit_part(x, 10, false);
      }
      if (!ok) return bad("is not a number");
      double d = std::strtod(digits.c_str(), &end);
      if (*end != '\0' || !std::isfinite(d)) return bad("is out of range for a JSON number");
      return json(negative ? -d : d);
    }
    int base = 10;
    std::string_view body = tok;
    if (prefixed) {
      char b = static_cast<char>(std::tolower(static_cast<unsigned char>(tok[1])));
      base = b == 'x' ? 16 : b == 'o' ? 8 : 2;
      body = tok.substr(2);
    }
    if (!digit_part(body, base, prefixed)) return bad("is not a number");
    if (!prefixed && tok.size() > 1 && tok[0] == '0' && digits.find_first_not_of('0') != std::string::npos)
      return bad("has leading zeros (Python 3 writes octal 0o17)");
    unsigned long long u = std::strtoull(digits.c_str() + (prefixed ? 2 : 0), &end, base);
    if (*end != '\0' || errno == ERANGE) return bad("is past 64 bits");
    if (negative) {
      if (u > 9223372036854775808ULL) return bad("is past 64 bits");
      return json(static_cast<int64_t>(0 - u));
    }
    if (u <= static_cast<unsigned long long>(INT64_MAX)) return json(static_cast<int64_t>(u));
    return json(static_cast<uint64_t>(u));
  }

  std::string_view text_;
  const LiteralOptions& options_;
  size_t pos_ = 0;
  mutable size_t error_offset_ = 0;
};

}  // namespace

Result<json> parse_python_literal(std::string_view text, const LiteralOptions& options,
                                  size_t* error_offset) {
  LiteralParser parser(text, options);
  auto v = parser.parse_all();
  if (!v.ok() && error_offset) *error_offset = parser.error_offset();
  return v;
}

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  for (size_t i = 0; i < n;) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp, min;
    if ((c & 0xe0) == 0xc0) {
      len = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

}  // namespace vlcp
