// Status and Result<T>: the one way fallible code reports failure in vlcp (no exceptions
// cross a module boundary). Error codes are declared once in VLCP_ERRC_LIST.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vlcp {

// X(enumerator, text). The text is what logs, API errors and tests see.
#define VLCP_ERRC_LIST(X)                     \
  X(kOk, "ok")                                \
  X(kInvalidArgument, "invalid argument")     \
  X(kNotFound, "not found")                   \
  X(kAlreadyExists, "already exists")         \
  X(kOutOfRange, "out of range")              \
  X(kMalformed, "malformed input")            \
  X(kUnsupported, "unsupported")              \
  X(kConflict, "conflict")                    \
  X(kUnavailable, "unavailable")              \
  X(kTimeout, "timed out")                    \
  X(kResourceExhausted, "resource exhausted") \
  X(kPermissionDenied, "permission denied")   \
  X(kIo, "i/o error")                         \
  X(kInternal, "internal error")

enum class Errc {
#define VLCP_ERRC_ENUM(name, text) name,
  VLCP_ERRC_LIST(VLCP_ERRC_ENUM)
#undef VLCP_ERRC_ENUM
};

std::string_view errc_text(Errc code);

// Success, or an error code with a human-readable message that names what failed.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return {}; }

  bool ok() const { return code_ == Errc::kOk; }
  Errc code() const { return code_; }
  const std::string& message() const { return message_; }

  // "invalid argument: <message>", or "ok".
  std::string to_string() const;

  // Prefixes the message with where it happened: "reading foo.conf: <message>".
  Status with_context(std::string_view context) const&;
  Status with_context(std::string_view context) &&;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Errc code_ = Errc::kOk;
  std::string message_;
};

inline Status make_error(Errc code, std::string message) {
  return {code, std::move(message)};
}

// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::in_place_index<1>, std::move(status)) {  // NOLINT
    assert(!std::get<1>(v_).ok() && "Result built from an ok Status carries no value");
  }

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T value_or(T fallback) const& { return ok() ? std::get<0>(v_) : std::move(fallback); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The error; an ok Status when there is a value.
  Status status() const { return ok() ? Status{} : std::get<1>(v_); }
  const Status& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace vlcp

#define VLCP_CONCAT_INNER(a, b) a##b
#define VLCP_CONCAT(a, b) VLCP_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the enclosing function when it is an error.
#define VLCP_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::vlcp::Status vlcp_status_ = (expr);        \
    if (!vlcp_status_.ok()) return vlcp_status_; \
  } while (0)

// `lhs = value of expr`, or return its error from the enclosing function.
#define VLCP_ASSIGN_OR_RETURN(lhs, expr) \
  VLCP_ASSIGN_OR_RETURN_IMPL(VLCP_CONCAT(vlcp_result_, __COUNTER__), lhs, expr)
#define VLCP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.error();               \
  lhs = std::move(tmp).value()
