// The CNI specification's error codes (SPEC.md "Error"), with VLCP's own from 100 on, declared
// once: vlcp-cni, vlcpd's CNI server and the tests derive every code, message and HTTP status
// (the status between vlcp-cni and vlcpd, docs/CONTAINERS_DESIGN.md §2.6, §5.5) from this table.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vlcp::cni {

// X(enumerator, code, msg, http status). msg is the spec's short text; details say what failed.
#define VLCP_CNI_ERRORS(X)                                                            \
  X(kIncompatibleVersion, 1, "incompatible CNI version", 400)                         \
  X(kUnsupportedField, 2, "unsupported field in network configuration", 422)          \
  X(kUnknownContainer, 3, "container unknown or does not exist", 409)                 \
  X(kInvalidEnvironment, 4, "invalid necessary environment variables", 400)           \
  X(kIoFailure, 5, "I/O failure", 500)                                                \
  X(kDecodeFailed, 6, "failed to decode content", 400)                                \
  X(kInvalidConfig, 7, "invalid network configuration", 422)                          \
  X(kTryAgainLater, 11, "try again later", 503)                                       \
  X(kNotAvailable, 50, "plugin not available", 503)                                   \
  X(kNotAvailableDamaged, 51, "plugin not available, containers may be damaged", 503) \
  X(kAlreadyAttached, 100, "already attached", 409)                                   \
  X(kAddressInUse, 101, "address in use", 409)                                        \
  X(kMacInUse, 102, "MAC address in use", 409)                                        \
  X(kInterfaceMissing, 103, "interface missing", 409)                                 \
  X(kOvsdbPortMissing, 104, "OVSDB port missing", 409)                                \
  X(kModelDiffers, 105, "model differs", 409)                                         \
  X(kStepDeadline, 110, "step deadline exceeded", 504)                                \
  X(kInternal, 111, "internal error", 500)

enum class ErrorCode : int {
#define VLCP_CNI_ERROR_ENUM(name, code, msg, http) name = code,
  VLCP_CNI_ERRORS(VLCP_CNI_ERROR_ENUM)
#undef VLCP_CNI_ERROR_ENUM
};

// The declared code with this number, if any (vlcpd may answer codes this binary does not know:
// they are passed through as they are).
std::optional<ErrorCode> error_code_from_int(int code);
std::string_view error_msg(ErrorCode code);
int error_http_status(ErrorCode code);

// A CNI error: what the plugin prints on stdout (with cniVersion) before exiting 1. `code` is an
// int because it may come from vlcpd or a newer table.
struct Error {
  int code = static_cast<int>(ErrorCode::kInternal);
  std::string msg;
  std::string details;

  friend bool operator==(const Error&, const Error&) = default;
};

// The error with the table's msg for `code` and these details.
Error make_error(ErrorCode code, std::string details);

// A value or the CNI error explaining why there is none (the CNI layer's Result).
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : value_(std::move(value)) {}      // NOLINT: implicit by design
  Expected(Error error) : error_(std::move(error)) {}  // NOLINT

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  const Error& error() const { return error_; }

 private:
  std::optional<T> value_;
  Error error_;
};

}  // namespace vlcp::cni
