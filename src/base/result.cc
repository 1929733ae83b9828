// Texts of the error codes declared in result.h.
#include "base/result.h"

namespace vlcp {

std::string_view errc_text(Errc code) {
  switch (code) {
#define VLCP_ERRC_CASE(name, text) \
  case Errc::name:                 \
    return text;
    VLCP_ERRC_LIST(VLCP_ERRC_CASE)
#undef VLCP_ERRC_CASE
  }
  return "unknown error";
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  std::string out(errc_text(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

Status Status::with_context(std::string_view context) const& {
  Status copy = *this;
  return std::move(copy).with_context(context);
}

Status Status::with_context(std::string_view context) && {
  if (ok()) return std::move(*this);
  std::string m(context);
  m += ": ";
  m += message_;
  message_ = std::move(m);
  return std::move(*this);
}

}  // namespace vlcp
