// OpenFlow 1.3 error types and codes, declared once. A decode failure is an OfpError, so it
// becomes the OFPT_ERROR reply sent back to the peer with no translation table in between.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vlcp::ofp {

// X(type enum, type code, OVS name prefix)
#define VLCP_OFP_ERROR_TYPES(X)          \
  X(kHelloFailed, 0, "OFPHFC")           \
  X(kBadRequest, 1, "OFPBRC")            \
  X(kBadAction, 2, "OFPBAC")             \
  X(kBadInstruction, 3, "OFPBIC")        \
  X(kBadMatch, 4, "OFPBMC")              \
  X(kFlowModFailed, 5, "OFPFMFC")        \
  X(kGroupModFailed, 6, "OFPGMFC")       \
  X(kPortModFailed, 7, "OFPPMFC")        \
  X(kTableModFailed, 8, "OFPTMFC")       \
  X(kQueueOpFailed, 9, "OFPQOFC")        \
  X(kSwitchConfigFailed, 10, "OFPSCFC")  \
  X(kRoleRequestFailed, 11, "OFPRRFC")   \
  X(kMeterModFailed, 12, "OFPMMFC")      \
  X(kTableFeaturesFailed, 13, "OFPTFFC") \
  X(kExperimenter, 0xffff, "OFPET_EXPERIMENTER")

// X(type enum, code enum, code)  — the code's name is <type prefix>_<suffix of code enum>.
#define VLCP_OFP_ERROR_CODES(X)                 \
  X(kHelloFailed, INCOMPATIBLE, 0)              \
  X(kHelloFailed, EPERM, 1)                     \
  X(kBadRequest, BAD_VERSION, 0)                \
  X(kBadRequest, BAD_TYPE, 1)                   \
  X(kBadRequest, BAD_MULTIPART, 2)              \
  X(kBadRequest, BAD_EXPERIMENTER, 3)           \
  X(kBadRequest, BAD_EXP_TYPE, 4)               \
  X(kBadRequest, EPERM, 5)                      \
  X(kBadRequest, BAD_LEN, 6)                    \
  X(kBadRequest, BUFFER_EMPTY, 7)               \
  X(kBadRequest, BUFFER_UNKNOWN, 8)             \
  X(kBadRequest, BAD_TABLE_ID, 9)               \
  X(kBadRequest, IS_SLAVE, 10)                  \
  X(kBadRequest, BAD_PORT, 11)                  \
  X(kBadRequest, BAD_PACKET, 12)                \
  X(kBadRequest, MULTIPART_BUFFER_OVERFLOW, 13) \
  X(kBadAction, BAD_TYPE, 0)                    \
  X(kBadAction, BAD_LEN, 1)                     \
  X(kBadAction, BAD_EXPERIMENTER, 2)            \
  X(kBadAction, BAD_EXP_TYPE, 3)                \
  X(kBadAction, BAD_OUT_PORT, 4)                \
  X(kBadAction, BAD_ARGUMENT, 5)                \
  X(kBadAction, EPERM, 6)                       \
  X(kBadAction, TOO_MANY, 7)                    \
  X(kBadAction, BAD_QUEUE, 8)                   \
  X(kBadAction, BAD_OUT_GROUP, 9)               \
  X(kBadAction, MATCH_INCONSISTENT, 10)         \
  X(kBadAction, UNSUPPORTED_ORDER, 11)          \
  X(kBadAction, BAD_TAG, 12)                    \
  X(kBadAction, BAD_SET_TYPE, 13)               \
  X(kBadAction, BAD_SET_LEN, 14)                \
  X(kBadAction, BAD_SET_ARGUMENT, 15)           \
  X(kBadInstruction, UNKNOWN_INST, 0)           \
  X(kBadInstruction, UNSUP_INST, 1)             \
  X(kBadInstruction, BAD_TABLE_ID, 2)           \
  X(kBadInstruction, UNSUP_METADATA, 3)         \
  X(kBadInstruction, UNSUP_METADATA_MASK, 4)    \
  X(kBadInstruction, BAD_EXPERIMENTER, 5)       \
  X(kBadInstruction, BAD_EXP_TYPE, 6)           \
  X(kBadInstruction, BAD_LEN, 7)                \
  X(kBadInstruction, EPERM, 8)                  \
  X(kBadMatch, BAD_TYPE, 0)                     \
  X(kBadMatch, BAD_LEN, 1)                      \
  X(kBadMatch, BAD_TAG, 2)                      \
  X(kBadMatch, BAD_DL_ADDR_MASK, 3)             \
  X(kBadMatch, BAD_NW_ADDR_MASK, 4)             \
  X(kBadMatch, BAD_WILDCARDS, 5)                \
  X(kBadMatch, BAD_FIELD, 6)                    \
  X(kBadMatch, BAD_VALUE, 7)                    \
  X(kBadMatch, BAD_MASK, 8)                     \
  X(kBadMatch, BAD_PREREQ, 9)                   \
  X(kBadMatch, DUP_FIELD, 10)                   \
  X(kBadMatch, EPERM, 11)                       \
  X(kFlowModFailed, UNKNOWN, 0)                 \
  X(kFlowModFailed, TABLE_FULL, 1)              \
  X(kFlowModFailed, BAD_TABLE_ID, 2)            \
  X(kFlowModFailed, OVERLAP, 3)                 \
  X(kFlowModFailed, EPERM, 4)                   \
  X(kFlowModFailed, BAD_TIMEOUT, 5)             \
  X(kFlowModFailed, BAD_COMMAND, 6)             \
  X(kFlowModFailed, BAD_FLAGS, 7)               \
  X(kGroupModFailed, GROUP_EXISTS, 0)           \
  X(kGroupModFailed, INVALID_GROUP, 1)          \
  X(kGroupModFailed, WEIGHT_UNSUPPORTED, 2)     \
  X(kGroupModFailed, OUT_OF_GROUPS, 3)          \
  X(kGroupModFailed, OUT_OF_BUCKETS, 4)         \
  X(kGroupModFailed, CHAINING_UNSUPPORTED, 5)   \
  X(kGroupModFailed, WATCH_UNSUPPORTED, 6)      \
  X(kGroupModFailed, LOOP, 7)                   \
  X(kGroupModFailed, UNKNOWN_GROUP, 8)          \
  X(kGroupModFailed, CHAINED_GROUP, 9)          \
  X(kGroupModFailed, BAD_TYPE, 10)              \
  X(kGroupModFailed, BAD_COMMAND, 11)           \
  X(kGroupModFailed, BAD_BUCKET, 12)            \
  X(kGroupModFailed, BAD_WATCH, 13)             \
  X(kGroupModFailed, EPERM, 14)                 \
  X(kPortModFailed, BAD_PORT, 0)                \
  X(kPortModFailed, BAD_HW_ADDR, 1)             \
  X(kPortModFailed, BAD_CONFIG, 2)              \
  X(kPortModFailed, BAD_ADVERTISE, 3)           \
  X(kPortModFailed, EPERM, 4)                   \
  X(kTableModFailed, BAD_TABLE, 0)              \
  X(kTableModFailed, BAD_CONFIG, 1)             \
  X(kTableModFailed, EPERM, 2)                  \
  X(kQueueOpFailed, BAD_PORT, 0)                \
  X(kQueueOpFailed, BAD_QUEUE, 1)               \
  X(kQueueOpFailed, EPERM, 2)                   \
  X(kSwitchConfigFailed, BAD_FLAGS, 0)          \
  X(kSwitchConfigFailed, BAD_LEN, 1)            \
  X(kSwitchConfigFailed, EPERM, 2)              \
  X(kRoleRequestFailed, STALE, 0)               \
  X(kRoleRequestFailed, UNSUP, 1)               \
  X(kRoleRequestFailed, BAD_ROLE, 2)            \
  X(kMeterModFailed, UNKNOWN, 0)                \
  X(kMeterModFailed, METER_EXISTS, 1)           \
  X(kMeterModFailed, INVALID_METER, 2)          \
  X(kMeterModFailed, UNKNOWN_METER, 3)          \
  X(kMeterModFailed, BAD_COMMAND, 4)            \
  X(kMeterModFailed, BAD_FLAGS, 5)              \
  X(kMeterModFailed, BAD_RATE, 6)               \
  X(kMeterModFailed, BAD_BURST, 7)              \
  X(kMeterModFailed, BAD_BAND, 8)               \
  X(kMeterModFailed, BAD_BAND_VALUE, 9)         \
  X(kMeterModFailed, OUT_OF_METERS, 10)         \
  X(kMeterModFailed, OUT_OF_BANDS, 11)          \
  X(kTableFeaturesFailed, BAD_TABLE, 0)         \
  X(kTableFeaturesFailed, BAD_METADATA, 1)      \
  X(kTableFeaturesFailed, BAD_TYPE, 2)          \
  X(kTableFeaturesFailed, BAD_LEN, 3)           \
  X(kTableFeaturesFailed, BAD_ARGUMENT, 4)      \
  X(kTableFeaturesFailed, EPERM, 5)

enum class ErrorType : uint16_t {
#define VLCP_OFP_ERROR_TYPE_ENUM(e, code, prefix) e = code,
  VLCP_OFP_ERROR_TYPES(VLCP_OFP_ERROR_TYPE_ENUM)
#undef VLCP_OFP_ERROR_TYPE_ENUM
};

// An OpenFlow error: what a decoder returns and what goes back on the wire.
struct OfpError {
  uint16_t type = 0;
  uint16_t code = 0;

  constexpr OfpError() = default;
  constexpr OfpError(ErrorType t, uint16_t c) : type(static_cast<uint16_t>(t)), code(c) {}
  constexpr OfpError(uint16_t t, uint16_t c) : type(t), code(c) {}
  friend constexpr bool operator==(OfpError a, OfpError b) { return a.type == b.type && a.code == b.code; }
};

std::string error_name(OfpError e);
// For test failure messages (gtest and iostreams): the error's name.
template <typename Stream>
auto operator<<(Stream& os, OfpError e) -> decltype(os << std::string()) {
  return os << error_name(e);
}

// Named constants: ofp::errors::kBadRequest_BAD_LEN, ...
namespace errors {
#define VLCP_OFP_ERROR_CONST(type, name, code) inline constexpr OfpError type##_##name{ErrorType::type, code};
VLCP_OFP_ERROR_CODES(VLCP_OFP_ERROR_CONST)
#undef VLCP_OFP_ERROR_CONST
}  // namespace errors

// "OFPBRC_BAD_LEN"; unknown codes as "OFPBRC(99)", unknown types as "type 77 code 3".
std::string error_name(OfpError e);
// The type's name as OVS prints it, "OFPET_BAD_REQUEST"-style is not used: OVS prints codes.
std::string_view error_type_prefix(uint16_t type);

// A decoded value or the OpenFlow error that rejects it. Cheap on both paths: no allocation.
template <typename T>
class [[nodiscard]] Decoded {
 public:
  Decoded(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Decoded(OfpError error) : v_(std::in_place_index<1>, error) {}      // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  OfpError error() const { return std::get<1>(v_); }

 private:
  std::variant<T, OfpError> v_;
};

}  // namespace vlcp::ofp
