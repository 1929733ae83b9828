// The configuration file, in VLCP's format: one `dotted.key = literal` per line, `#` comments,
// lines that start with whitespace continue the previous value, and literals written as JSON
// or as Python literals (strings, numbers, True/False/None, lists, tuples, dicts, sets).
// Values are held as JSON; lookups are typed and their errors name the file and line.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"

// Key tables are X-macro lists, X(field, "dotted.key", C++ type, default, help), declared once
// per consumer. VLCP_KEYS_FIELD makes a struct's fields from one (with their defaults);
// VLCP_KEYS_READ reads each into `keys` from `config` (both names in scope), returning the
// first error.
#define VLCP_KEYS_FIELD(field, key, type, fallback, help) type field = fallback;
#define VLCP_KEYS_READ(field, key, type, fallback, help) \
  VLCP_ASSIGN_OR_RETURN(keys.field, config.get_or<type>(key, keys.field));

namespace vlcp {

class Config {
 public:
  using Json = nlohmann::json;

  // Parses text; `source` names it in error messages (usually the file path). A key given twice
  // is an error naming both lines.
  static Result<Config> parse(std::string_view text, std::string source = "<config>");
  static Result<Config> load_file(const std::string& path);
  // A file, or a directory: every "*.conf" in it (hidden files aside), in name order, as one
  // configuration. A key given in two of them is an error naming both; a directory with none is
  // an error (an empty directory is a mistake, not a configuration of defaults).
  static Result<Config> load(const std::string& path);
  // The packaged file and its drop-ins, as vlcpd reads /etc/vlcp/vlcp.conf: `path` (a file),
  // then every "*.conf" in the directory `path`.d in name order, each key of a later file
  // replacing the value of an earlier one (within one file a key given twice stays an error).
  // The packaged file stays as shipped, so upgrades never ask about it: first boot, perf
  // profiles and the operator write drop-ins. Either may be absent, not both.
  static Result<Config> load_with_dropins(const std::string& path);
  // Adds `other`'s keys; a key both hold is an error naming both places.
  Status merge(Config other);
  // Adds `other`'s keys; a key both hold takes `other`'s value and place.
  void overlay(Config other);
  // How many files were read into this configuration (load() of a directory: several).
  size_t files() const { return files_; }

  // Parses one literal on its own (the same grammar as a value in the file).
  static Result<Json> parse_literal(std::string_view text);

  bool has(std::string_view key) const { return entries_.count(std::string(key)) > 0; }
  const Json* find(std::string_view key) const;
  // "file:line" of a key, or the source name when the key is absent.
  std::string where(std::string_view key) const;
  // An error about a key's value, placed at the key: "file:line: key: what" (the source name in
  // place of file:line when the key is absent, i.e. its default was used). Settings checks report
  // through this so every message carries the line of the key it is about.
  Status error_at(std::string_view key, std::string_view what) const;

  // Checks every key against the declared ones. A key is in a section: "module.<name>" or
  // "protocol.<name>" for those prefixes, else its first component ("server"). A key not
  // declared in a section that declares keys is an unknown key (with the declared key it is
  // likely a typo of); one in a section that declares none, an unknown module or section. Every
  // such key is reported with its file:line, all in one error (one per line) — or, with
  // `allow_unknown`, as `warnings` and no error (a file shared with newer versions).
  Status check_known_keys(const std::set<std::string, std::less<>>& declared, bool allow_unknown,
                          std::vector<std::string>* warnings) const;
  // The section of a key, as check_known_keys() uses it.
  static std::string_view section_of(std::string_view key);
  const std::string& source() const { return source_; }

  // Every key, sorted; and those under "prefix." (prefix without its trailing dot).
  std::vector<std::string> keys() const;
  std::vector<std::string> keys_under(std::string_view prefix) const;

  // The value at `key` as T, or an error naming the key, its line and what was wrong.
  template <typename T>
  Result<T> get(std::string_view key) const;
  // As get(), but `fallback` when the key is absent. A present value of the wrong type is an
  // error, never silently replaced by the fallback.
  template <typename T>
  Result<T> get_or(std::string_view key, T fallback) const;
  // VLCP's module lookup: module.<name>.<key>, then module.default.<key>, then `fallback`.
  template <typename T>
  Result<T> module_get(std::string_view module, std::string_view key, T fallback) const;

  // Sets a value as if it were read from the file (command-line overrides, tests); it replaces
  // any value the key had.
  void set(std::string key, Json value, std::string origin = "<override>");

 private:
  struct Entry {
    Json value;
    std::string origin;  // "file:line"
  };

  Status type_error(std::string_view key, const Json& value, std::string_view expected) const;
  template <typename T>
  Result<T> convert(std::string_view key, const Json& value) const;

  std::string source_;
  size_t files_ = 0;
  std::map<std::string, Entry, std::less<>> entries_;
};

// What a value of T must look like, for error messages ("an integer in [0, 65535]").
template <typename T>
std::string config_type_name() {
  if constexpr (std::is_same_v<T, bool>) {
    return "a boolean";
  } else if constexpr (std::is_integral_v<T>) {
    return "an integer in [" + std::to_string(std::numeric_limits<T>::min()) + ", " +
           std::to_string(std::numeric_limits<T>::max()) + "]";
  } else if constexpr (std::is_floating_point_v<T>) {
    return "a number";
  } else if constexpr (std::is_same_v<T, std::string>) {
    return "a string";
  } else if constexpr (std::is_same_v<T, nlohmann::json>) {
    return "any value";
  } else {
    return "a list of (" + config_type_name<typename T::value_type>() + ")";
  }
}

// Converts one JSON value to T; false when it does not fit.
template <typename T>
bool config_convert(const nlohmann::json& v, T* out) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) return false;
    *out = v.get<bool>();
    return true;
  } else if constexpr (std::is_integral_v<T>) {
    if (v.is_number_unsigned()) {
      auto u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
      *out = static_cast<T>(u);
      return true;
    }
    if (!v.is_number_integer()) return false;
    auto i = v.get<int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
      if (i < 0 || static_cast<uint64_t>(i) > static_cast<uint64_t>(std::numeric_limits<T>::max()))
        return false;
    } else {
      if (i < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          i > static_cast<int64_t>(std::numeric_limits<T>::max()))
        return false;
    }
    *out = static_cast<T>(i);
    return true;
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) return false;
    *out = v.get<T>();
    return true;
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) return false;
    *out = v.get<std::string>();
    return true;
  } else if constexpr (std::is_same_v<T, nlohmann::json>) {
    *out = v;
    return true;
  } else {
    using E = typename T::value_type;
    static_assert(std::is_same_v<T, std::vector<E>>, "unsupported config value type");
    if (!v.is_array()) return false;
    T result;
    for (const auto& item : v) {
      E e{};
      if (!config_convert(item, &e)) return false;
      result.push_back(std::move(e));
    }
    *out = std::move(result);
    return true;
  }
}

template <typename T>
Result<T> Config::convert(std::string_view key, const Json& value) const {
  T out{};
  if (!config_convert(value, &out)) return type_error(key, value, config_type_name<T>());
  return out;
}

template <typename T>
Result<T> Config::get(std::string_view key) const {
  const Json* v = find(key);
  if (!v) return make_error(Errc::kNotFound, source_ + ": missing required key '" + std::string(key) + "'");
  return convert<T>(key, *v);
}

template <typename T>
Result<T> Config::get_or(std::string_view key, T fallback) const {
  const Json* v = find(key);
  if (!v) return fallback;
  return convert<T>(key, *v);
}

template <typename T>
Result<T> Config::module_get(std::string_view module, std::string_view key, T fallback) const {
  std::string own = "module." + std::string(module) + "." + std::string(key);
  if (has(own)) return get<T>(own);
  return get_or<T>("module.default." + std::string(key), std::move(fallback));
}

}  // namespace vlcp
