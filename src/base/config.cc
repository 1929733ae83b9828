// Config file parsing: line splitting (keys, comments, continuations) and a recursive-descent
// parser for JSON/Python literals. Errors carry "source:line: message".
#include "base/config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vlcp {
namespace {

using Json = nlohmann::json;

constexpr int kMaxDepth = 64;

// A literal parser over one value's text. `line_of(offset)` maps back to the file line.
class LiteralParser {
 public:
  LiteralParser(std::string_view text, std::vector<int> line_starts, int first_line)
      : text_(text), line_starts_(std::move(line_starts)), first_line_(first_line) {}

  Result<Json> parse_all() {
    skip_space();
    auto v = parse_value(0);
    if (!v.ok()) return v;
    skip_space();
    if (pos_ != text_.size()) return error("unexpected text after the value");
    return v;
  }

  int error_line() const { return error_line_; }

 private:
  Status error(std::string what) {
    error_line_ = line_at(pos_);
    std::string near(text_.substr(pos_, 20));
    for (char& c : near)
      if (c == '\n') c = ' ';
    if (pos_ < text_.size()) what += " near '" + near + "'";
    return make_error(Errc::kInvalidArgument, std::move(what));
  }

  int line_at(size_t offset) const {
    int line = first_line_;
    for (size_t i = 1; i < line_starts_.size(); ++i)
      if (static_cast<size_t>(line_starts_[i]) <= offset) line = first_line_ + static_cast<int>(i);
    return line;
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  void skip_space() {
    while (!at_end()) {
      char c = text_[pos_];
      if (c == '#') {
        while (!at_end() && text_[pos_] != '\n') ++pos_;
      } else if (std::isspace(static_cast<unsigned char>(c))) {
        ++pos_;
      } else {
        break;
      }
    }
  }

  Result<Json> parse_value(int depth) {
    if (depth > kMaxDepth) return error("literal nested too deeply");
    skip_space();
    if (at_end()) return error("expected a value");
    char c = peek();
    if (c == '[') return parse_sequence(']', depth);
    if (c == '(') return parse_sequence(')', depth);
    if (c == '{') return parse_braces(depth);
    if (c == '"' || c == '\'') return parse_strings();
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.')
      return parse_number();
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      // String prefixes (b'', r'', u'', rb'' ...) or a keyword.
      size_t start = pos_;
      while (!at_end() && (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '_')) ++pos_;
      std::string_view word = text_.substr(start, pos_ - start);
      if ((peek() == '\'' || peek() == '"') && word.size() <= 2) {
        bool known = true;
        for (char p : word) known = known && std::strchr("bBrRuU", p) != nullptr;
        if (known) {
          pos_ = start;
          return parse_strings();
        }
      }
      if (word == "True" || word == "true") return Json(true);
      if (word == "False" || word == "false") return Json(false);
      if (word == "None" || word == "null") return Json(nullptr);
      pos_ = start;
      return error("unknown name '" + std::string(word) +
                   "' (strings need quotes; names allowed: True, False, None, true, false, null)");
    }
    return error("unexpected character");
  }

  // [a, b] and (a, b) and (a,) -> JSON array. "(x)" is just x, as in Python.
  Result<Json> parse_sequence(char close, int depth) {
    ++pos_;
    Json arr = Json::array();
    bool saw_comma = false;
    for (;;) {
      skip_space();
      if (at_end()) return error(std::string("missing '") + close + "'");
      if (peek() == close) {
        ++pos_;
        break;
      }
      auto v = parse_value(depth + 1);
      if (!v.ok()) return v;
      arr.push_back(std::move(*v));
      skip_space();
      if (at_end()) return error(std::string("missing '") + close + "'");
      if (peek() == ',') {
        ++pos_;
        saw_comma = true;
        continue;
      }
      if (peek() == close) {
        ++pos_;
        break;
      }
      return error(std::string("expected ',' or '") + close + "'");
    }
    if (close == ')' && arr.size() == 1 && !saw_comma) return Json(arr[0]);
    return arr;
  }

  // {k: v, ...} -> object; {a, b} (a set) -> array; {} -> empty object.
  Result<Json> parse_braces(int depth) {
    ++pos_;
    skip_space();
    if (peek() == '}') {
      ++pos_;
      return Json::object();
    }
    auto first = parse_value(depth + 1);
    if (!first.ok()) return first;
    skip_space();
    if (peek() == ':') {
      Json obj = Json::object();
      Json key = std::move(*first);
      for (;;) {
        ++pos_;  // ':'
        auto v = parse_value(depth + 1);
        if (!v.ok()) return v;
        obj[key.is_string() ? key.get<std::string>() : key.dump()] = std::move(*v);
        skip_space();
        if (peek() == ',') {
          ++pos_;
          skip_space();
          if (peek() == '}') break;
          auto k = parse_value(depth + 1);
          if (!k.ok()) return k;
          key = std::move(*k);
          skip_space();
          if (peek() != ':') return error("expected ':' after a dict key");
          continue;
        }
        break;
      }
      if (peek() != '}') return error("expected ',' or '}'");
      ++pos_;
      return obj;
    }
    Json arr = Json::array({std::move(*first)});
    for (;;) {
      skip_space();
      if (peek() == '}') {
        ++pos_;
        return arr;
      }
      if (peek() != ',') return error("expected ',' or '}'");
      ++pos_;
      skip_space();
      if (peek() == '}') continue;
      auto v = parse_value(depth + 1);
      if (!v.ok()) return v;
      arr.push_back(std::move(*v));
    }
  }

  // One or more adjacent string literals, concatenated as Python does.
  Result<Json> parse_strings() {
    std::string out;
    bool any = false;
    for (;;) {
      skip_space();
      size_t save = pos_;
      bool raw = false;
      while (!at_end() && std::strchr("bBrRuU", peek()) && peek() != '\0') {
        if (peek() == 'r' || peek() == 'R') raw = true;
        ++pos_;
      }
      if (peek() != '\'' && peek() != '"') {
        pos_ = save;
        break;
      }
      auto s = parse_one_string(raw);
      if (!s.ok()) return s.error();
      out += *s;
      any = true;
    }
    if (!any) return error("expected a string");
    return Json(std::move(out));
  }

  Result<std::string> parse_one_string(bool raw) {
    char q = peek();
    bool triple = text_.substr(pos_, 3) == std::string(3, q);
    pos_ += triple ? 3 : 1;
    std::string out;
    for (;;) {
      if (at_end()) return error("unterminated string");
      char c = text_[pos_];
      if (c == q) {
        if (!triple) {
          ++pos_;
          return out;
        }
        if (text_.substr(pos_, 3) == std::string(3, q)) {
          pos_ += 3;
          return out;
        }
      }
      if (c == '\n' && !triple) return error("newline inside a string (use \\n or a triple-quoted string)");
      if (c == '\\' && !raw) {
        ++pos_;
        if (at_end()) return error("unterminated string");
        char e = text_[pos_++];
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case 'r':
            out += '\r';
            break;
          case '0':
            out += '\0';
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
          case 'v':
            out += '\v';
            break;
          case '\\':
            out += '\\';
            break;
          case '\'':
            out += '\'';
            break;
          case '"':
            out += '"';
            break;
          case '/':
            out += '/';
            break;
          case '\n':
            break;  // line continuation inside the string
          case 'x': {
            auto v = hex_digits(2);
            if (!v.ok()) return v.error();
            out += static_cast<char>(*v);
            break;
          }
          case 'u': {
            auto v = hex_digits(4);
            if (!v.ok()) return v.error();
            append_utf8(out, *v);
            break;
          }
          default:
            return error(std::string("unknown escape '\\") + e + "'");
        }
        continue;
      }
      out += c;
      ++pos_;
    }
  }

  Result<uint32_t> hex_digits(int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; ++i) {
      if (at_end() || !std::isxdigit(static_cast<unsigned char>(peek()))) return error("bad hex escape");
      char c = text_[pos_++];
      v = v * 16 + static_cast<uint32_t>(
                       std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10));
    }
    return v;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  // Python and JSON numbers: 12, -3, 0x1f, 0o17, 0b101, 1_000, 1.5, 2e-3, .5
  Result<Json> parse_number() {
    size_t start = pos_;
    bool negative = false;
    if (peek() == '+' || peek() == '-') {
      negative = peek() == '-';
      ++pos_;
    }
    std::string digits;
    int base = 10;
    if (peek() == '0' && pos_ + 1 < text_.size() && std::strchr("xXoObB", text_[pos_ + 1])) {
      char b = static_cast<char>(std::tolower(text_[pos_ + 1]));
      base = b == 'x' ? 16 : b == 'o' ? 8 : 2;
      pos_ += 2;
    }
    bool is_float = false;
    while (!at_end()) {
      char c = peek();
      if (c == '_') {
        ++pos_;
        continue;
      }
      bool ok = base == 16 ? std::isxdigit(static_cast<unsigned char>(c)) != 0
                           : std::isdigit(static_cast<unsigned char>(c)) != 0;
      if (!ok && base == 10 && (c == '.' || c == 'e' || c == 'E')) {
        is_float = true;
        ok = true;
      } else if (!ok && base == 10 && is_float && (c == '+' || c == '-') &&
                 (digits.back() == 'e' || digits.back() == 'E')) {
        ok = true;
      }
      if (!ok) break;
      digits += c;
      ++pos_;
    }
    if (digits.empty()) {
      pos_ = start;
      return error("expected a number");
    }
    errno = 0;
    char* end = nullptr;
    if (is_float) {
      double d = std::strtod(digits.c_str(), &end);
      if (*end != '\0' || errno == ERANGE) {
        pos_ = start;
        return error("bad number");
      }
      return Json(negative ? -d : d);
    }
    if (base != 10 || digits.size() > 1 || digits[0] != '0') {
      if (base == 10 && digits[0] == '0' && digits.find_first_not_of('0') != std::string::npos) {
        pos_ = start;
        return error("leading zeros are not allowed (write 0o17 for octal)");
      }
    }
    if (base == 8 || base == 2) {
      for (char c : digits)
        if (c - '0' >= base) {
          pos_ = start;
          return error("bad digit for base " + std::to_string(base));
        }
    }
    unsigned long long u = std::strtoull(digits.c_str(), &end, base);
    if (*end != '\0' || errno == ERANGE) {
      pos_ = start;
      return error("integer out of range (64 bits)");
    }
    if (negative) {
      if (u > 9223372036854775808ULL) {
        pos_ = start;
        return error("integer out of range (64 bits)");
      }
      return Json(static_cast<int64_t>(0 - u));
    }
    if (u <= static_cast<unsigned long long>(INT64_MAX)) return Json(static_cast<int64_t>(u));
    return Json(static_cast<uint64_t>(u));
  }

  std::string_view text_;
  std::vector<int> line_starts_;  // offset in text_ where each physical line begins
  int first_line_;
  size_t pos_ = 0;
  int error_line_ = 0;
};

bool valid_key(std::string_view key) {
  if (key.empty() || key.front() == '.' || key.back() == '.') return false;
  char prev = '.';
  for (char c : key) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
      return false;
    } else if (prev == '.' && std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
    prev = c;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string describe(const Json& v) {
  std::string kind = v.is_string()    ? "string"
                     : v.is_boolean() ? "boolean"
                     : v.is_number()  ? "number"
                     : v.is_null()    ? "None"
                     : v.is_array()   ? "list"
                                      : "dict";
  std::string text = v.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return kind + " " + text;
}

}  // namespace

Result<Json> Config::parse_literal(std::string_view text) {
  LiteralParser p(text, {0}, 1);
  return p.parse_all();
}

Result<Config> Config::parse(std::string_view text, std::string source) {
  Config config;
  config.source_ = source;

  // Split into physical lines.
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos <= text.size();) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      if (pos < text.size()) lines.push_back(text.substr(pos));
      break;
    }
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }

  // Group into logical entries: a key line plus the indented lines that follow it.
  for (size_t i = 0; i < lines.size();) {
    std::string_view line = lines[i];
    std::string_view t = trim(line);
    int lineno = static_cast<int>(i) + 1;
    if (t.empty() || t.front() == '#') {
      ++i;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(line.front()))) {
      return make_error(Errc::kInvalidArgument,
                        source + ":" + std::to_string(lineno) +
                            ": indented line continues no key (continuation lines must follow a "
                            "'key = value' line)");
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return make_error(Errc::kInvalidArgument,
                        source + ":" + std::to_string(lineno) + ": expected 'key = value'");
    }
    std::string key(trim(line.substr(0, eq)));
    if (!valid_key(key)) {
      return make_error(Errc::kInvalidArgument, source + ":" + std::to_string(lineno) + ": bad key '" + key +
                                                    "' (dotted names of letters, digits, '_' and '-')");
    }
    std::string value(line.substr(eq + 1));
    std::vector<int> starts{0};
    ++i;
    while (i < lines.size() && !lines[i].empty() &&
           std::isspace(static_cast<unsigned char>(lines[i].front())) && !trim(lines[i]).empty()) {
      value += '\n';
      starts.push_back(static_cast<int>(value.size()));
      value += lines[i];
      ++i;
    }
    // Blank lines inside an open bracket would end the entry; keep it simple and strict.
    LiteralParser p(value, starts, lineno);
    auto v = p.parse_all();
    if (!v.ok()) {
      return make_error(Errc::kInvalidArgument, source + ":" + std::to_string(p.error_line()) + ": " + key +
                                                    ": " + v.error().message());
    }
    std::string origin = source + ":" + std::to_string(lineno);
    if (auto it = config.entries_.find(key); it != config.entries_.end()) {
      return make_error(Errc::kInvalidArgument,
                        origin + ": " + key + ": given twice (first at " + it->second.origin + ")");
    }
    config.entries_[key] = Entry{std::move(*v), std::move(origin)};
  }
  config.files_ = 1;
  return config;
}

Result<Config> Config::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(Errc::kNotFound, "cannot open config file '" + path + "': " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return make_error(Errc::kIo, "error reading config file '" + path + "'");
  return parse(ss.str(), path);
}

Result<Config> Config::load(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return load_file(path);
  std::vector<std::string> files;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.empty() || name.front() == '.' || it->path().extension() != ".conf") continue;
    if (!it->is_directory(ec)) files.push_back(it->path().string());
  }
  if (ec) return make_error(Errc::kIo, "cannot read config directory '" + path + "': " + ec.message());
  if (files.empty())
    return make_error(Errc::kNotFound, path + ": no configuration files (*.conf) in this directory");
  std::sort(files.begin(), files.end());
  Config all;
  all.source_ = path;
  for (const auto& file : files) {
    VLCP_ASSIGN_OR_RETURN(Config one, load_file(file));
    VLCP_RETURN_IF_ERROR(all.merge(std::move(one)));
  }
  return all;
}

Status Config::merge(Config other) {
  for (auto& [key, entry] : other.entries_) {
    if (auto it = entries_.find(key); it != entries_.end()) {
      return make_error(Errc::kInvalidArgument,
                        entry.origin + ": " + key + ": given twice (first at " + it->second.origin + ")");
    }
  }
  entries_.merge(other.entries_);
  files_ += other.files_;
  return Status();
}

Status Config::error_at(std::string_view key, std::string_view what) const {
  return make_error(Errc::kInvalidArgument, where(key) + ": " + std::string(key) + ": " + std::string(what));
}

std::string_view Config::section_of(std::string_view key) {
  size_t dot = key.find('.');
  if (dot == std::string_view::npos) return key;
  std::string_view first = key.substr(0, dot);
  if (first == "module" || first == "protocol") {
    size_t second = key.find('.', dot + 1);
    return second == std::string_view::npos ? key : key.substr(0, second);
  }
  return first;
}

namespace {
// Levenshtein distance, for "did you mean": keys are short.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}
}  // namespace

Status Config::check_known_keys(const std::set<std::string, std::less<>>& declared, bool allow_unknown,
                                std::vector<std::string>* warnings) const {
  std::set<std::string_view> sections;
  for (const auto& key : declared) sections.insert(section_of(key));
  std::string errors;
  for (const auto& [key, entry] : entries_) {
    if (declared.count(key)) continue;
    std::string_view section = section_of(key);
    std::string problem = entry.origin + ": ";
    if (sections.count(section)) {
      problem += "unknown key '" + key + "'";
      std::string best;
      size_t best_distance = 3;  // suggest only near misses
      for (auto it = declared.lower_bound(section); it != declared.end() && section_of(*it) == section;
           ++it) {
        size_t d = edit_distance(key, *it);
        if (d < best_distance) best_distance = d, best = *it;
      }
      if (!best.empty()) problem += " (did you mean '" + best + "'?)";
    } else {
      problem += "unknown key '" + key + "'";
      size_t dot = section.find('.');
      problem += dot == std::string_view::npos ? " (no '" + std::string(section) + ".*' keys are read)"
                                               : " (there is no " + std::string(section.substr(0, dot)) +
                                                     " '" + std::string(section.substr(dot + 1)) + "')";
    }
    if (allow_unknown) {
      if (warnings) warnings->push_back(std::move(problem));
    } else {
      if (!errors.empty()) errors += '\n';
      errors += problem;
    }
  }
  if (!errors.empty()) return make_error(Errc::kInvalidArgument, std::move(errors));
  return Status();
}

const Config::Json* Config::find(std::string_view key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second.value;
}

std::string Config::where(std::string_view key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? source_ : it->second.origin;
}

std::vector<std::string> Config::keys() const {
  std::vector<std::string> out;
  for (const auto& [k, _] : entries_) out.push_back(k);
  return out;
}

std::vector<std::string> Config::keys_under(std::string_view prefix) const {
  std::string p(prefix);
  p += '.';
  std::vector<std::string> out;
  for (auto it = entries_.lower_bound(p); it != entries_.end() && it->first.compare(0, p.size(), p) == 0;
       ++it)
    out.push_back(it->first);
  return out;
}

void Config::set(std::string key, Json value, std::string origin) {
  entries_[std::move(key)] = Entry{std::move(value), std::move(origin)};
}

Status Config::type_error(std::string_view key, const Json& value, std::string_view expected) const {
  return make_error(Errc::kInvalidArgument, where(key) + ": " + std::string(key) + ": expected " +
                                                std::string(expected) + ", got " + describe(value));
}

}  // namespace vlcp
