// OpenFlow 1.3 matches (ofp_match, OXM TLVs). MatchView is a validated, zero-copy view over wire
// bytes (what decoding a PACKET_IN yields); Match owns its TLVs in inline storage and builds
// them (a typical flow's match never touches the heap). Both iterate the same entries.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "base/buffer.h"
#include "ofp/errors.h"
#include "ofp/oxm_fields.h"

namespace vlcp::ofp {

inline constexpr uint16_t kMatchTypeOxm = 1;

// Bytes with inline storage for the common case, a vector beyond it; copyable.
template <size_t N>
class SmallBytes {
 public:
  SmallBytes() = default;
  SmallBytes(const SmallBytes& o) { assign(o.span()); }
  SmallBytes& operator=(const SmallBytes& o) {
    if (this != &o) assign(o.span());
    return *this;
  }
  SmallBytes(SmallBytes&& o) noexcept { *this = std::move(o); }
  SmallBytes& operator=(SmallBytes&& o) noexcept {
    if (this == &o) return *this;
    if (o.heap_.empty()) {
      assign(o.span());
    } else {
      heap_ = std::move(o.heap_);
      size_ = o.size_;
    }
    o.size_ = 0;
    o.heap_.clear();
    return *this;
  }

  const uint8_t* data() const { return heap_.empty() ? inline_ : heap_.data(); }
  uint8_t* data() { return heap_.empty() ? inline_ : heap_.data(); }
  size_t size() const { return size_; }
  ByteSpan span() const { return {data(), size_}; }
  bool on_heap() const { return !heap_.empty(); }
  void clear() {
    size_ = 0;
    heap_.clear();
  }
  void assign(ByteSpan bytes) {
    clear();
    append(bytes);
  }
  uint8_t* extend(size_t n) {
    size_t need = size_ + n;
    if (heap_.empty() && need > N) {
      // Moves to the heap (also when nothing is held yet: a first append larger than N).
      std::vector<uint8_t> grown(need);
      std::memcpy(grown.data(), inline_, size_);
      heap_ = std::move(grown);
    } else if (!heap_.empty()) {
      heap_.resize(need);
    }
    uint8_t* p = data() + size_;
    size_ = need;
    return p;
  }
  void append(ByteSpan bytes) {
    if (!bytes.empty()) std::memcpy(extend(bytes.size()), bytes.data(), bytes.size());
  }

 private:
  uint8_t inline_[N];
  size_t size_ = 0;
  std::vector<uint8_t> heap_;
};

// One OXM entry: its field (null when unknown to us, for experimenter classes), raw header,
// value and mask (empty when unmasked).
struct OxmEntry {
  const FieldInfo* info;
  uint32_t header;
  ByteSpan value;
  ByteSpan mask;

  bool masked() const { return !mask.empty(); }
  // Value and mask as integers, for fields of up to 8 bytes.
  uint64_t value_u64() const;
  uint64_t mask_u64() const;
};

// What a match says about the packet, for prerequisites of later fields and of actions.
struct MatchFacts {
  std::optional<uint16_t> eth_type;
  std::optional<uint8_t> ip_proto;
  std::optional<uint8_t> icmpv6_type;
  bool vlan_present = false;

  bool satisfied(Prereq p) const;
};
// The facts of a validated TLV sequence.
MatchFacts match_facts(ByteSpan tlvs);

// Whether `value` (the field's width, network order) is one the field can hold: no reserved
// bits, ports in range (OVS's mf_is_value_valid).
bool field_value_valid(Field f, const uint8_t* value);

// The ONF experimenter OXMs Open vSwitch uses in OpenFlow 1.3 (tcp_flags: ONFOXM_ET_TCP_FLAGS).
inline constexpr uint32_t kOnfOxmExperimenter = 0x4f4e4600;
inline const FieldInfo* find_experimenter_field(uint32_t experimenter, uint8_t number) {
  // ONF's extension fields for OpenFlow 1.3 (OpenFlow 1.5 made them basic: tcp_flags 42,
  // actset_output 43), as OVS reads them.
  if (experimenter == kOnfOxmExperimenter && number == 42) return &field_info(Field::kTcpFlags);
  if (experimenter == kOnfOxmExperimenter && number == 43) return &field_info(Field::kActsetOutput);
  return nullptr;
}

// One TLV as read: its field (null when unknown, or when its length does not fit the field),
// and its payload (value, then mask), after the header and any experimenter id.
struct OxmTlv {
  const FieldInfo* info;
  uint32_t header;
  ByteSpan payload;
  bool bad_length;  // a known field with the wrong length
};
// Reads the TLV at `pos`; the caller has checked that its header and length fit in `tlvs`.
inline OxmTlv read_oxm(ByteSpan tlvs, size_t pos) {
  uint32_t h = load_be32(tlvs.data() + pos);
  ByteSpan payload = tlvs.subspan(pos + 4, oxm_length(h));
  const FieldInfo* info = nullptr;
  if (oxm_class(h) == kOxmClassExperimenter) {
    if (payload.size() >= 4) {
      info = find_experimenter_field(load_be32(payload.data()), oxm_number(h));
      payload = payload.subspan(4);
    }
  } else {
    info = find_field(oxm_class(h), oxm_number(h));
  }
  // A masked entry's width is half its payload, rounded down, as OVS reads it: an odd last
  // byte is ignored.
  bool bad_length = info && (oxm_masked(h) ? payload.size() / 2 : payload.size()) != info->bytes;
  if (info && !bad_length && oxm_masked(h)) payload = payload.first(2u * info->bytes);
  return {bad_length ? nullptr : info, h, payload, bad_length};
}

// Validates a TLV sequence (no ofp_match header): lengths, known fields, masks, duplicates,
// prerequisites. Returns the OpenFlow error that rejects it.
// kStrict: what a controller sends (FLOW_MOD, flow stats requests): every field known, its
// prerequisites before it. kLoose: what a switch reports in a PACKET_IN: unknown fields are
// skipped (a newer switch may add some) and prerequisites are not checked, as OVS does.
enum class MatchMode { kStrict, kLoose };
std::optional<OfpError> validate_oxms(ByteSpan tlvs, MatchMode mode = MatchMode::kStrict);

// Calls fn(const OxmEntry&) for each TLV of an already validated sequence.
template <typename Fn>
void for_each_oxm(ByteSpan tlvs, Fn&& fn) {
  size_t pos = 0;
  while (pos + 4 <= tlvs.size()) {
    OxmTlv t = read_oxm(tlvs, pos);  // unknown or mis-sized: info null (skipped in loose matches)
    OxmEntry e{t.info, t.header, t.payload, {}};
    if (oxm_masked(t.header)) {
      e.value = t.payload.first(t.payload.size() / 2);
      e.mask = t.payload.subspan(t.payload.size() / 2);
    }
    fn(e);
    pos += 4 + oxm_length(t.header);
  }
}

class MatchView {
 public:
  MatchView() = default;
  // The OXM TLVs, without the ofp_match header and padding.
  ByteSpan oxms() const { return oxms_; }
  // The whole ofp_match on the wire, padding included.
  ByteSpan wire() const { return wire_; }

  std::optional<OxmEntry> find(Field f) const;
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for_each_oxm(oxms_, fn);
  }

  // Reads an ofp_match (header, TLVs, padding to 8) from the reader and validates it.
  static Decoded<MatchView> decode(ByteReader& reader, MatchMode mode = MatchMode::kStrict);

 private:
  ByteSpan oxms_;
  ByteSpan wire_;
};

class Match {
 public:
  Match() = default;
  explicit Match(const MatchView& view) { tlvs_.assign(view.oxms()); }
  // From TLVs already validated (a decoded match's, possibly reordered).
  static Match from_oxms(ByteSpan validated) {
    Match m;
    m.tlvs_.assign(validated);
    return m;
  }

  // Fields of up to 8 bytes, value in host order (in_port, eth_type, registers, tun_id...).
  Match& add(Field f, uint64_t value);
  Match& add_masked(Field f, uint64_t value, uint64_t mask);
  // Any field, value (and mask) in network order, exactly the field's length.
  Match& add_bytes(Field f, ByteSpan value, ByteSpan mask = {});
  Match& add_eth(Field f, const uint8_t (&mac)[6]);

  ByteSpan oxms() const { return tlvs_.span(); }
  bool empty() const { return tlvs_.size() == 0; }
  std::optional<OxmEntry> find(Field f) const;
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for_each_oxm(oxms(), fn);
  }
  // Size of the encoded ofp_match, padding included.
  size_t wire_size() const { return (4 + tlvs_.size() + 7) / 8 * 8; }
  void encode(Buffer& out) const;
  bool on_heap() const { return tlvs_.on_heap(); }
  friend bool operator==(const Match& a, const Match& b) {
    return a.tlvs_.size() == b.tlvs_.size() &&
           std::memcmp(a.tlvs_.data(), b.tlvs_.data(), a.tlvs_.size()) == 0;
  }

 private:
  SmallBytes<128> tlvs_;
};

// Encodes an ofp_match holding these TLVs.
void encode_match(ByteSpan oxms, Buffer& out);

}  // namespace vlcp::ofp
