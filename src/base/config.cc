// Config file parsing: line splitting (keys, comments, continuations); each value is a literal
// read by base/literal.h. Errors carry "source:line: message".
#include "base/config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/literal.h"

namespace vlcp {
namespace {

using Json = nlohmann::json;

// One value's literal (base/literal.h, in the configuration file's dialect), its errors placed
// at the physical line: `line_starts` are the offsets in `text` where each line begins, the
// first being line `first_line`.
Result<Json> parse_value(std::string_view text, const std::vector<int>& line_starts, int first_line,
                         int* error_line) {
  size_t at = 0;
  auto v = parse_python_literal(text, kConfigLiteral, &at);
  if (v.ok()) return v;
  int line = first_line;
  for (size_t i = 1; i < line_starts.size(); ++i)
    if (static_cast<size_t>(line_starts[i]) <= at) line = first_line + static_cast<int>(i);
  if (error_line) *error_line = line;
  std::string what = v.error().message();
  if (at < text.size()) {
    std::string near(text.substr(at, 20));
    for (char& c : near)
      if (c == '\n') c = ' ';
    what += " near '" + near + "'";
  }
  return make_error(Errc::kInvalidArgument, std::move(what));
}

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
  return parse_value(text, {0}, 1, nullptr);
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
    int error_line = lineno;
    auto v = parse_value(value, starts, lineno, &error_line);
    if (!v.ok()) {
      return make_error(Errc::kInvalidArgument,
                        source + ":" + std::to_string(error_line) + ": " + key + ": " + v.error().message());
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

namespace {

// The "*.conf" files of a directory (hidden files and subdirectories aside), in name order
// (byte order: the C locale's).
Result<std::vector<std::string>> conf_files(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.empty() || name.front() == '.' || it->path().extension() != ".conf") continue;
    if (!it->is_directory(ec)) files.push_back(it->path().string());
  }
  if (ec) return make_error(Errc::kIo, "cannot read config directory '" + dir + "': " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

Result<Config> Config::load(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return load_file(path);
  VLCP_ASSIGN_OR_RETURN(std::vector<std::string> files, conf_files(path));
  if (files.empty())
    return make_error(Errc::kNotFound, path + ": no configuration files (*.conf) in this directory");
  Config all;
  all.source_ = path;
  for (const auto& file : files) {
    VLCP_ASSIGN_OR_RETURN(Config one, load_file(file));
    VLCP_RETURN_IF_ERROR(all.merge(std::move(one)));
  }
  return all;
}

Result<Config> Config::load_with_dropins(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string dir = path + ".d";
  const bool has_dir = fs::is_directory(dir, ec);
  Config all;
  all.source_ = path;
  if (fs::exists(path, ec) || !has_dir) {
    VLCP_ASSIGN_OR_RETURN(all, load_file(path));
  }
  if (!has_dir) return all;
  VLCP_ASSIGN_OR_RETURN(std::vector<std::string> files, conf_files(dir));
  for (const auto& file : files) {
    VLCP_ASSIGN_OR_RETURN(Config one, load_file(file));
    all.overlay(std::move(one));
  }
  return all;
}

void Config::overlay(Config other) {
  for (auto& [key, entry] : other.entries_) entries_[key] = std::move(entry);
  files_ += other.files_;
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
