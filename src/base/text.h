// Small text helpers shared by the printers and tools.
#pragma once

#include <string>

namespace vlcp {

// Appends printf-style formatted text to `out` (each call at most 255 characters).
void appendf(std::string& out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace vlcp
