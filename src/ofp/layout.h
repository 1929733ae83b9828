// Fixed binary layouts declared once as field tables, X(type, name, byte offset), from which a
// struct, its wire size and its decode/encode derive (VLCP's namedstruct idea, at compile time).
// Used for packet headers and the fixed parts of OpenFlow message bodies. Field types: uint8_t,
// uint16_t, uint32_t, uint64_t (big-endian on the wire) and std::array<uint8_t or char, N>.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

#include "base/buffer.h"

namespace vlcp::ofp::layout {

inline void get(const uint8_t* p, uint8_t* v) {
  *v = *p;
}
inline void get(const uint8_t* p, uint16_t* v) {
  *v = load_be16(p);
}
inline void get(const uint8_t* p, uint32_t* v) {
  *v = load_be32(p);
}
inline void get(const uint8_t* p, uint64_t* v) {
  *v = load_be64(p);
}
template <typename T, size_t N>
void get(const uint8_t* p, std::array<T, N>* v) {
  static_assert(sizeof(T) == 1);
  std::memcpy(v->data(), p, N);
}
inline void put(uint8_t* p, uint8_t v) {
  *p = v;
}
inline void put(uint8_t* p, uint16_t v) {
  store_be16(p, v);
}
inline void put(uint8_t* p, uint32_t v) {
  store_be32(p, v);
}
inline void put(uint8_t* p, uint64_t v) {
  store_be64(p, v);
}
template <typename T, size_t N>
void put(uint8_t* p, const std::array<T, N>& v) {
  std::memcpy(p, v.data(), N);
}

}  // namespace vlcp::ofp::layout

// In a header: the struct with its fields, kSize, decode (reads kSize bytes; false when fewer)
// and encode (appends exactly kSize bytes, gaps zeroed).
#define VLCP_LAYOUT_FIELD(type, name, offset) type name{};
#define VLCP_LAYOUT(Name, FIELDS, kBytes)                       \
  struct Name {                                                 \
    FIELDS(VLCP_LAYOUT_FIELD)                                   \
    static constexpr size_t kSize = kBytes;                     \
    static bool decode(::vlcp::ByteSpan bytes, Name* out) {     \
      if (bytes.size() < kSize) return false;                   \
      FIELDS(VLCP_LAYOUT_GET)                                   \
      return true;                                              \
    }                                                           \
    void encode(::vlcp::Buffer& out) const {                    \
      uint8_t* p = out.extend(kSize);                           \
      std::memset(p, 0, kSize);                                 \
      FIELDS(VLCP_LAYOUT_PUT)                                   \
    }                                                           \
    friend bool operator==(const Name&, const Name&) = default; \
  };
#define VLCP_LAYOUT_GET(type, name, offset) ::vlcp::ofp::layout::get(bytes.data() + (offset), &out->name);
#define VLCP_LAYOUT_PUT(type, name, offset) ::vlcp::ofp::layout::put(p + (offset), name);
