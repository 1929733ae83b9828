#include "api/webapi.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "api/objectdb_api.h"

namespace vlcp::api {

using nlohmann::json;

namespace {

// A Python literal as ast.literal_eval reads it, into JSON: what JSON cannot hold (bytes,
// sets, complex numbers, non-string dict keys, lone surrogates, integers past 64 bits, inf) is
// refused with a message, never approximated.
class LiteralParser {
 public:
  explicit LiteralParser(std::string_view text) : text_(text) {}

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
    if (pos_ < text_.size()) what += " at offset " + std::to_string(pos_);
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
    if (depth > kMaxJsonDepth)
      return fail("the literal nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
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
      if (word == "True") return json(true);
      if (word == "False") return json(false);
      if (word == "None") return json(nullptr);
      pos_ = start;
      return fail("'" + std::string(word) + "' is not a literal (names allowed: True, False, None)");
    }
    return fail(std::string("unexpected character '") + c + "'");
  }

  // [a, b] and (a, b), (a,), () -> a JSON array; (a) is a, as in Python.
  Result<json> sequence(char close, int depth) {
    ++pos_;
    json arr = json::array();
    bool comma = false;
    for (;;) {
      skip_space();
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
      if (peek() != close) return fail(std::string("expected ',' or '") + close + "'");
      break;
    }
    ++pos_;
    if (close == ')' && arr.size() == 1 && !comma) return json(std::move(arr[0]));
    return arr;
  }

  // {k: v, ...} -> an object (string keys only); a set {a, b} has no JSON form.
  Result<json> braces(int depth) {
    ++pos_;
    json obj = json::object();
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      auto k = value(depth + 1);
      if (!k.ok()) return k;
      skip_space();
      if (peek() != ':') return fail("a set has no JSON form (expected ':' after a dict key)");
      if (!k->is_string()) return fail("dict keys must be strings (JSON objects have string keys)");
      ++pos_;
      auto v = value(depth + 1);
      if (!v.ok()) return v;
      obj[k->get<std::string>()] = std::move(*v);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') return fail("expected ',' or '}'");
      break;
    }
    ++pos_;
    return obj;
  }

  // Adjacent string literals, concatenated as Python does.
  Result<json> strings() {
    std::string out;
    for (;;) {
      auto one = string_literal(out);
      if (!one.ok()) return one;
      skip_space();
      size_t save = pos_;
      while (is_name(peek())) ++pos_;
      bool more = peek() == '\'' || peek() == '"';
      pos_ = save;
      if (!more) return json(std::move(out));
    }
  }

  Status string_literal(std::string& out) {
    bool raw = false;
    size_t start = pos_;
    while (is_name(peek())) {
      char p = static_cast<char>(std::tolower(static_cast<unsigned char>(peek())));
      if (p == 'b') return fail("bytes literals (b'...') have no JSON form");
      if (p == 'f') return fail("f-strings are not literals");
      if (p == 'r') raw = true;
      if (p != 'r' && p != 'u') return fail("unknown string prefix");
      ++pos_;
    }
    if (pos_ - start > 1) return fail("unknown string prefix");
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
        case 'x':
        case 'u':
        case 'U': {
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
          if (Status st = append_code_point(out, cp); !st.ok()) return st;
          break;
        }
        case 'N':
          return fail("\\N{...} escapes are not supported (write the character, or \\u)");
        default:
          if (e >= '0' && e <= '7') {  // up to three octal digits
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int i = 0; i < 2 && peek() >= '0' && peek() <= '7'; ++i, ++pos_)
              cp = cp * 8 + static_cast<uint32_t>(peek() - '0');
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
      return fail("'" + std::string(tok) + "' " + why);
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
  size_t pos_ = 0;
};

}  // namespace

Result<json> parse_literal(const std::string& text) {
  auto v = LiteralParser(text).parse_all();
  if (!v.ok()) return v.error().with_context("literal " + text.substr(0, 60));
  return v;
}

Result<json> parse_params(const HttpRequest& req) {
  json params = json::object();
  auto add_pairs = [&](const std::vector<std::pair<std::string, std::string>>& pairs) -> Status {
    for (const auto& [k, v] : pairs) {
      // Where form and query values enter: UTF-8, or a 400 (the transport checks the target too).
      if (!valid_utf8(k) || !valid_utf8(v))
        return make_error(Errc::kInvalidArgument, "a parameter is not UTF-8 (raw or %-encoded)");
      if (v.size() >= 2 && v.front() == '`' && v.back() == '`') {
        auto lit = parse_literal(v.substr(1, v.size() - 2));
        if (!lit.ok()) return lit.error().with_context("parameter " + k);
        params[k] = std::move(*lit);
      } else {
        params[k] = v;
      }
    }
    return {};
  };
  VLCP_RETURN_IF_ERROR(add_pairs(query_params(req.target)));
  if (req.method == "POST" && !req.body.empty()) {
    size_t first = req.body.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && req.body[first] == '{') {
      auto body = parse_client_json(req.body);
      if (!body.ok()) return body.error().with_context("the body");
      if (!body->is_object()) return make_error(Errc::kInvalidArgument, "the body is not a JSON object");
      for (auto& [k, v] : body->items()) params[k] = std::move(v);
    } else {
      VLCP_RETURN_IF_ERROR(add_pairs(query_params("?" + req.body)));
    }
  }
  return params;
}

int http_status(const Status& s) {
  switch (s.code()) {
    case Errc::kInvalidArgument:
    case Errc::kMalformed:
    case Errc::kOutOfRange:
    case Errc::kUnsupported:
      return 400;
    case Errc::kNotFound:
      return 404;
    case Errc::kConflict:
    case Errc::kAlreadyExists:
      return 409;
    case Errc::kPermissionDenied:
      return 403;
    case Errc::kUnavailable:
    case Errc::kTimeout:
      return 503;
    default:
      return 500;
  }
}

void WebApi::add(const std::string& module, const std::string& method, std::string help, ApiMethod fn) {
  modules_[module][method] = Entry{std::move(help), std::move(fn)};
}

bool WebApi::serves(const std::string& path) const {
  if (path.size() < 2 || path[0] != '/') return false;
  size_t slash = path.find('/', 1);
  return modules_.count(path.substr(1, slash == std::string::npos ? std::string::npos : slash - 1)) != 0;
}

void WebApi::handle(const HttpRequest& req, HttpResponder respond_to) const {
  // Every step that may run a module's code is guarded: an escaped exception is a 500, counted.
  HttpResponder respond = respond_once(std::move(respond_to));
  auto reply = [respond](int status, const json& body) {
    respond(HttpResponse{status, json_text(body) + "\n", "application/json"});
  };
  guard_handler("WebAPI", respond, [&] {
    std::string path = req.target.substr(0, req.target.find('?'));
    size_t slash = path.find('/', 1);
    std::string module = path.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
    std::string method = slash == std::string::npos ? "" : path.substr(slash + 1);
    auto m = modules_.find(module);
    if (m == modules_.end()) return reply(404, {{"error", "no module '" + module + "'"}});
    if (req.method != "GET" && req.method != "POST") return reply(405, {{"error", "use GET or POST"}});
    if (method == "discover") {
      json methods = json::object();
      for (const auto& [name, e] : m->second) methods[name] = e.help;
      methods["discover"] = "this list";
      return reply(200, {{"result", methods}});
    }
    auto e = m->second.find(method);
    if (e == m->second.end())
      return reply(404, {{"error", "module '" + module + "' has no method '" + method + "' (see " + module +
                                       "/discover)"}});
    auto params = parse_params(req);
    if (!params.ok()) return reply(400, {{"error", params.error().to_string()}});
    e->second.fn(*params, [respond, reply, where = module + "/" + method](Result<json> r) {
      guard_handler(where.c_str(), respond, [&] {
        if (!r.ok()) return reply(http_status(r.error()), {{"error", r.error().to_string()}});
        reply(200, {{"result", *r}});
      });
    });
  });
}

}  // namespace vlcp::api
