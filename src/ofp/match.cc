// ofp_match decoding (with every check OpenFlow 1.3 asks for) and building.
#include "ofp/match.h"

#include <bitset>

namespace vlcp::ofp {
namespace {

using errors::kBadMatch_BAD_FIELD;
using errors::kBadMatch_BAD_LEN;
using errors::kBadMatch_BAD_MASK;
using errors::kBadMatch_BAD_PREREQ;
using errors::kBadMatch_BAD_TYPE;
using errors::kBadMatch_BAD_WILDCARDS;
using errors::kBadMatch_DUP_FIELD;

constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthIpv6 = 0x86dd;
constexpr uint16_t kEthArp = 0x0806;
constexpr uint16_t kEthRarp = 0x8035;
constexpr uint16_t kVidPresent = 0x1000;

uint64_t to_u64(ByteSpan b) {
  uint64_t v = 0;
  for (uint8_t x : b) v = (v << 8) | x;
  return v;
}

}  // namespace

bool MatchFacts::satisfied(Prereq p) const {
  const bool ip = eth_type == kEthIpv4 || eth_type == kEthIpv6;
  switch (p) {
    case Prereq::kNone:
      return true;
    case Prereq::kVlan:
      return vlan_present;
    case Prereq::kIp:
      return ip;
    case Prereq::kIpv4:
      return eth_type == kEthIpv4;
    case Prereq::kIpv6:
      return eth_type == kEthIpv6;
    case Prereq::kArp:  // ARP or RARP, as OVS (MFP_ARP)
      return eth_type == kEthArp || eth_type == kEthRarp;
    case Prereq::kTcp:
      return ip && ip_proto == 6;
    case Prereq::kUdp:
      return ip && ip_proto == 17;
    case Prereq::kSctp:
      return ip && ip_proto == 132;
    case Prereq::kIcmpv4:
      return eth_type == kEthIpv4 && ip_proto == 1;
    case Prereq::kIcmpv6:
      return eth_type == kEthIpv6 && ip_proto == 58;
    case Prereq::kNd:
      return eth_type == kEthIpv6 && ip_proto == 58 && (icmpv6_type == 135 || icmpv6_type == 136);
    case Prereq::kNdSolicit:
      return eth_type == kEthIpv6 && ip_proto == 58 && icmpv6_type == 135;
    case Prereq::kNdAdvert:
      return eth_type == kEthIpv6 && ip_proto == 58 && icmpv6_type == 136;
    case Prereq::kMpls:
      return eth_type == 0x8847 || eth_type == 0x8848;
  }
  return false;
}

namespace {
// Records what a TLV says about the packet.
void note_fact(MatchFacts& facts, Field canonical, const uint8_t* v) {
  switch (canonical) {
    case Field::kEthType:
      facts.eth_type = load_be16(v);
      break;
    case Field::kIpProto:
      facts.ip_proto = v[0];
      break;
    case Field::kIcmpv6Type:
      facts.icmpv6_type = v[0];
      break;
    case Field::kVlanVid:
      // OXM vlan_vid carries OFPVID_PRESENT (0x1000); NXM vlan_tci the CFI bit (also 0x1000).
      facts.vlan_present = (load_be16(v) & kVidPresent) != 0;
      break;
    default:
      break;
  }
}
}  // namespace

// Values a field cannot take (OVS's mf_is_value_valid): reserved bits set, ports out of range.
bool field_value_valid(Field f, const uint8_t* v) {
  switch (f) {
    case Field::kInPort:
    case Field::kActsetOutput: {
      uint32_t port = load_be32(v);
      return port < 0xff00 || port >= 0xffffff00;
    }
    case Field::kVlanVid:
      return (load_be16(v) & 0xe000) == 0;
    case Field::kVlanPcp:
      return v[0] <= 7;
    case Field::kIpDscp:
      return v[0] <= 63;
    case Field::kNxmIpTos:
      return (v[0] & 3) == 0;
    case Field::kIpEcn:
    case Field::kNxIpEcn:
      return v[0] <= 3;
    case Field::kNxIpFrag:
      return v[0] <= 3;
    case Field::kArpOp:
    case Field::kNxmArpOp:
      return load_be16(v) <= 0xff;
    case Field::kIpv6Flabel:
    case Field::kNxIpv6Label:
      return load_be32(v) <= 0xfffff;
    case Field::kMplsLabel:
      return load_be32(v) <= 0xfffff;
    case Field::kMplsTc:
      return v[0] <= 7;
    case Field::kMplsBos:
      return v[0] <= 1;
    case Field::kCtState:
      return load_be32(v) <= 0xff;
    case Field::kTcpFlags:
    case Field::kOxmTcpFlags:
      return load_be16(v) <= 0x0fff;
    default:
      return true;
  }
}

namespace {
bool all_bytes(const uint8_t* p, size_t n, uint8_t v) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != v) return false;
  return true;
}
}  // namespace

MatchFacts match_facts(ByteSpan tlvs) {
  MatchFacts facts;
  for_each_oxm(tlvs, [&](const OxmEntry& e) {
    bool any = !e.masked() || !all_bytes(e.mask.data(), e.mask.size(), 0);
    if (e.info && any) note_fact(facts, canonical_field(e.info->field), e.value.data());
  });
  return facts;
}

uint64_t OxmEntry::value_u64() const {
  return to_u64(value);
}
uint64_t OxmEntry::mask_u64() const {
  return mask.empty() ? ~uint64_t{0} : to_u64(mask);
}

namespace {
// Fields that OVS keeps in one flow member count as one for duplicates: ports and ICMP
// type/code (tp_src/tp_dst), ip_proto and arp_op, IPv4 and ARP addresses, ARP and ND MACs.
Field storage_slot(Field canonical) {
  switch (canonical) {
    case Field::kUdpSrc:
    case Field::kSctpSrc:
    case Field::kIcmpv4Type:
    case Field::kIcmpv6Type:
      return Field::kTcpSrc;
    case Field::kUdpDst:
    case Field::kSctpDst:
    case Field::kIcmpv4Code:
    case Field::kIcmpv6Code:
      return Field::kTcpDst;
    case Field::kArpOp:
      return Field::kIpProto;
    case Field::kArpSpa:
      return Field::kIpv4Src;
    case Field::kArpTpa:
      return Field::kIpv4Dst;
    case Field::kIpv6NdSll:
      return Field::kArpSha;
    case Field::kIpv6NdTll:
      return Field::kArpTha;
    default:
      return canonical;
  }
}
// The bits of OVS's vlan_tci a field covers (0: not a VLAN field).
uint16_t tci_bits(Field f) {
  switch (f) {
    case Field::kVlanVid:
      return 0x1fff;
    case Field::kVlanPcp:
      return 0xe000;
    case Field::kNxmVlanTci:
      return 0xffff;
    default:
      return 0;
  }
}
}  // namespace

std::optional<OfpError> validate_oxms(ByteSpan tlvs, MatchMode mode) {
  const bool loose = mode == MatchMode::kLoose;
  std::bitset<static_cast<size_t>(Field::kCount)> seen;
  uint16_t tci_mask = 0;  // TCI bits set so far (see tci_bits)
  MatchFacts facts;
  size_t pos = 0;
  // One pass, in order: OpenFlow 1.3 (and OVS) want a field's prerequisites before it.
  while (pos < tlvs.size()) {
    if (tlvs.size() - pos < 4) return kBadMatch_BAD_LEN;
    uint32_t h = load_be32(tlvs.data() + pos);
    size_t len = oxm_length(h);
    if (tlvs.size() - pos - 4 < len) return kBadMatch_BAD_LEN;
    // An experimenter OXM carries its 4-byte experimenter id inside its length.
    if (oxm_class(h) == kOxmClassExperimenter && len < 4) return kBadMatch_BAD_LEN;
    OxmTlv t = read_oxm(tlvs, pos);
    const FieldInfo* info = t.info;
    bool masked = oxm_masked(h);
    pos += 4 + len;
    if (masked) {
      // Value bits outside the mask are an error even in a field we skip (as OVS checks).
      size_t width = t.payload.size() / 2;
      for (size_t i = 0; i < width; ++i)
        if (t.payload[i] & ~t.payload[width + i]) return kBadMatch_BAD_WILDCARDS;
    }
    if (!info) {
      if (!loose) return t.bad_length ? kBadMatch_BAD_LEN : kBadMatch_BAD_FIELD;
      continue;
    }
    const uint8_t* v = t.payload.data();
    if (masked) {
      const uint8_t* m = v + info->bytes;
      // A field that cannot be masked still takes an all-ones (exact) or all-zeros (any) mask.
      if (!info->maskable && !all_bytes(m, info->bytes, 0) && !all_bytes(m, info->bytes, 0xff))
        return kBadMatch_BAD_MASK;
    }
    if (!field_value_valid(info->field, v)) return errors::kBadMatch_BAD_VALUE;
    if (!loose && info->prereq != Prereq::kNone && !facts.satisfied(info->prereq))
      return kBadMatch_BAD_PREREQ;
    Field canonical = canonical_field(info->field);
    size_t idx = static_cast<size_t>(storage_slot(canonical));
    // An all-zero mask matches anything: it neither sets the field nor blocks a later one.
    bool wild = masked && all_bytes(v + info->bytes, info->bytes, 0);
    if (uint16_t bits = tci_bits(info->field)) {
      // vlan_vid, vlan_pcp and NXM vlan_tci share OVS's 16-bit TCI; a field is a duplicate when
      // an earlier one set any bit it covers (a PCP sets the CFI bit too, so vid after pcp is).
      if (tci_mask & bits) return kBadMatch_DUP_FIELD;
      if (wild) continue;
      uint16_t m = masked ? load_be16(v + info->bytes) : 0xffff;
      tci_mask |= info->field == Field::kVlanPcp ? 0xf000 : static_cast<uint16_t>(m & bits);
      note_fact(facts, canonical, v);
      continue;
    }
    if (seen[idx]) return kBadMatch_DUP_FIELD;
    if (wild) continue;
    seen[idx] = true;
    note_fact(facts, canonical, v);  // masked values only carry bits inside their mask
  }
  return std::nullopt;
}

Decoded<MatchView> MatchView::decode(ByteReader& reader, MatchMode mode) {
  ByteSpan start = reader.rest();
  uint16_t type = 0, length = 0;
  if (!reader.read_be16(&type) || !reader.read_be16(&length)) return kBadMatch_BAD_LEN;
  if (type != kMatchTypeOxm) return kBadMatch_BAD_TYPE;
  if (length < 4) return kBadMatch_BAD_LEN;
  size_t padded = (length + 7u) / 8 * 8;
  if (start.size() < padded) return kBadMatch_BAD_LEN;
  ByteSpan tlvs;
  reader.take(length - 4u, &tlvs);
  reader.skip(padded - length);
  if (auto err = validate_oxms(tlvs, mode)) return *err;
  MatchView m;
  m.oxms_ = tlvs;
  m.wire_ = start.first(padded);
  return m;
}

namespace {
std::optional<OxmEntry> find_in(ByteSpan tlvs, Field f) {
  // Compares headers only (no lookup per TLV) and stops at the first hit: the PACKET_IN path.
  // The field as named, or as our encoders write it (oxm_encoding: NXM_OF_ETH_SRC -> OXM_OF_ETH_SRC).
  const Field written = oxm_encoding(f);
  const uint32_t exact = oxm_header(f, false), masked = oxm_header(f, true);
  const uint32_t written_exact = oxm_header(written, false), written_masked = oxm_header(written, true);
  for (size_t pos = 0; pos + 4 <= tlvs.size();) {
    uint32_t h = load_be32(tlvs.data() + pos);
    size_t len = oxm_length(h);
    if (h == exact || h == masked || h == written_exact || h == written_masked) {
      ByteSpan payload = tlvs.subspan(pos + 4, len);
      if (!oxm_masked(h)) return OxmEntry{&field_info(f), h, payload, {}};
      return OxmEntry{&field_info(f), h, payload.first(len / 2), payload.subspan(len / 2)};
    }
    pos += 4 + len;
  }
  // Fields OVS encodes as experimenter OXMs (tcp_flags) have no fixed header to compare.
  if (f == Field::kTcpFlags) {
    std::optional<OxmEntry> out;
    for_each_oxm(tlvs, [&](const OxmEntry& e) {
      if (!out && e.info && e.info->field == f) out = e;
    });
    return out;
  }
  return std::nullopt;
}

void put_uint(uint8_t* p, uint64_t v, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) p[bytes - 1 - i] = static_cast<uint8_t>(v >> (8 * i));
}
}  // namespace

std::optional<OxmEntry> MatchView::find(Field f) const {
  return find_in(oxms_, f);
}
std::optional<OxmEntry> Match::find(Field f) const {
  return find_in(oxms(), f);
}

Match& Match::add(Field f, uint64_t value) {
  const FieldInfo& i = field_info(f);
  uint8_t* p = tlvs_.extend(4 + i.bytes);
  store_be32(p, oxm_header(oxm_encoding(f), false));
  put_uint(p + 4, value, i.bytes);
  return *this;
}

Match& Match::add_masked(Field f, uint64_t value, uint64_t mask) {
  const FieldInfo& i = field_info(f);
  uint8_t* p = tlvs_.extend(4 + 2 * i.bytes);
  store_be32(p, oxm_header(oxm_encoding(f), true));
  put_uint(p + 4, value & mask, i.bytes);
  put_uint(p + 4 + i.bytes, mask, i.bytes);
  return *this;
}

Match& Match::add_bytes(Field f, ByteSpan value, ByteSpan mask) {
  bool masked = !mask.empty();
  const FieldInfo& i = field_info(f);
  uint8_t* p = tlvs_.extend(4 + (masked ? 2u : 1u) * i.bytes);
  store_be32(p, oxm_header(oxm_encoding(f), masked));
  for (size_t k = 0; k < i.bytes; ++k) {
    uint8_t v = k < value.size() ? value[k] : 0;
    if (masked) {
      uint8_t m = k < mask.size() ? mask[k] : 0;
      p[4 + k] = v & m;
      p[4 + i.bytes + k] = m;
    } else {
      p[4 + k] = v;
    }
  }
  return *this;
}

Match& Match::add_eth(Field f, const uint8_t (&mac)[6]) {
  return add_bytes(f, ByteSpan(mac, 6));
}

void encode_match(ByteSpan oxms, Buffer& out) {
  size_t start = out.size();
  out.put_be16(kMatchTypeOxm);
  out.put_be16(static_cast<uint16_t>(4 + oxms.size()));
  out.append(oxms);
  out.put_zeros((8 - (out.size() - start) % 8) % 8);
}

void Match::encode(Buffer& out) const {
  encode_match(oxms(), out);
}

}  // namespace vlcp::ofp
