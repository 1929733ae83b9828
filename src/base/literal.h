// Python literals as ast.literal_eval reads them, into JSON: the one reader of VLCP's literal
// syntax, used by the WebAPI (back-quoted parameters) and the configuration file (values).
// What JSON cannot hold (bytes, sets, complex numbers, non-string dict keys, lone surrogates,
// integers past 64 bits, inf) is refused with a message, never approximated, unless a dialect
// option below says how the configuration file has always read it.
#pragma once

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace vlcp {

struct LiteralOptions {
  int max_depth = 64;          // nesting beyond this is an error (no deep recursion)
  bool json_names = false;     // true, false, null as well as True, False, None
  bool sets_as_lists = false;  // {a, b} -> [a, b] (else refused: JSON has no sets)
  bool keys_as_text = false;   // {1: x} -> {"1": x} (a non-string key as its JSON text)
  bool bytes_as_text = false;  // b'..' read with bytes escapes; the bytes must be UTF-8
};

// The configuration file's dialect: Python literals plus JSON's names, sets as lists, any dict
// key, and bytes that are text (values written for VLCP's Python configuration files).
inline constexpr LiteralOptions kConfigLiteral{64, true, true, true, true};

// Parses one literal (the whole text; comments and surrounding space allowed). On an error its
// message says what is wrong, and `error_offset` (if given) receives the byte offset in `text`
// where it was found (text.size() when at the end).
Result<nlohmann::json> parse_python_literal(std::string_view text, const LiteralOptions& options = {},
                                            size_t* error_offset = nullptr);

// Whether `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view s);

}  // namespace vlcp
