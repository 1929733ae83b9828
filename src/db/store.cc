#include "db/store.h"

#include <chrono>

namespace vlcp::db {

Status check_key(std::string_view key) {
  if (key.empty()) return make_error(Errc::kInvalidArgument, "an empty key");
  if (key.size() > kMaxKeyBytes)
    return make_error(Errc::kInvalidArgument, "key too long (" + std::to_string(key.size()) +
                                                  " bytes, at most " + std::to_string(kMaxKeyBytes) + ")");
  if (key == "." || key == "..")
    return make_error(Errc::kInvalidArgument, "key '" + std::string(key) + "' is reserved");
  for (char c : key)
    if (c <= ' ' || c > '~' || c == '/')
      return make_error(Errc::kInvalidArgument,
                        "key '" + std::string(key) + "' has a character keys may not hold");
  return {};
}

std::string escape_key_part(std::string_view part) {
  std::string out;
  for (char c : part) {
    if (c == '+')
      out += "+_";
    else if (c == '.')
      out += "++";
    else
      out += c;
  }
  return out;
}

std::string unescape_key_part(std::string_view part) {
  std::string out;
  for (size_t i = 0; i < part.size(); ++i) {
    if (part[i] == '+' && i + 1 < part.size()) {
      out += part[i + 1] == '+' ? '.' : '+';
      ++i;
    } else {
      out += part[i];
    }
  }
  return out;
}

int64_t wall_clock_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace vlcp::db
