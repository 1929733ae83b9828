// Small text helpers shared by the printers and tools.
#pragma once

#include <string>
#include <string_view>

namespace vlcp {

// Appends printf-style formatted text to `out` (each call at most 255 characters).
void appendf(std::string& out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Whether a JSON text nests at most `limit` arrays/objects deep (strings skipped). Checked before
// parsing untrusted JSON so that no recursion (parse, destroy, dump) ever sees a deep value.
bool json_depth_within(std::string_view text, int limit);

}  // namespace vlcp
