// Every match field the codec knows, declared once: the OpenFlow 1.3 OXM basic fields and the
// Nicira (NXM) fields VLCP's pipeline uses. The enum, the wire ids, lengths, maskability,
// prerequisites, ovs-ofctl names and value formats all derive from VLCP_OXM_FIELDS.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace vlcp::ofp {

// How a field's value is written in ovs-ofctl syntax.
enum class FieldFormat : uint8_t {
  kDecimal,   // 42
  kHex,       // 0x2a
  kPort,      // OpenFlow port: 1, LOCAL, CONTROLLER...
  kEthernet,  // 02:00:00:00:00:01
  kIpv4,      // 10.0.0.1
  kIpv6,      // fe80::1
  kVlanVid,   // OFPVID_PRESENT | vid
  kFrag,      // ip_frag: no, first, later, yes, not_later
  kCtState,   // +trk+est...
};

// What must be matched before a field may be: VLCP's and OVS's prerequisites.
enum class Prereq : uint8_t {
  kNone,
  kVlan,    // vlan_vid != NONE
  kIp,      // eth_type = 0x0800 or 0x86dd
  kIpv4,    // eth_type = 0x0800
  kIpv6,    // eth_type = 0x86dd
  kArp,     // eth_type = 0x0806
  kTcp,     // ip + ip_proto = 6
  kUdp,     // ip + ip_proto = 17
  kSctp,    // ip + ip_proto = 132
  kIcmpv4,  // ipv4 + ip_proto = 1
  kIcmpv6,  // ipv6 + ip_proto = 58
  kNd,      // icmpv6 type 135/136
  kMpls,    // eth_type = 0x8847/0x8848
};

inline constexpr uint16_t kOxmClassNxm0 = 0x0000;
inline constexpr uint16_t kOxmClassNxm1 = 0x0001;
inline constexpr uint16_t kOxmClassBasic = 0x8000;
inline constexpr uint16_t kOxmClassExperimenter = 0xffff;

// X(Enum, oxm class, field number, value bytes, maskable, prerequisite, ovs-ofctl name, format)
#define VLCP_OXM_FIELDS(X)                                                                 \
  X(kInPort, kOxmClassBasic, 0, 4, false, kNone, "in_port", kPort)                         \
  X(kInPhyPort, kOxmClassBasic, 1, 4, false, kNone, "in_phy_port", kPort)                  \
  X(kMetadata, kOxmClassBasic, 2, 8, true, kNone, "metadata", kHex)                        \
  X(kEthDst, kOxmClassBasic, 3, 6, true, kNone, "dl_dst", kEthernet)                       \
  X(kEthSrc, kOxmClassBasic, 4, 6, true, kNone, "dl_src", kEthernet)                       \
  X(kEthType, kOxmClassBasic, 5, 2, false, kNone, "dl_type", kHex)                         \
  X(kVlanVid, kOxmClassBasic, 6, 2, true, kNone, "vlan_vid", kVlanVid)                     \
  X(kVlanPcp, kOxmClassBasic, 7, 1, false, kVlan, "dl_vlan_pcp", kDecimal)                 \
  X(kIpDscp, kOxmClassBasic, 8, 1, false, kIp, "ip_dscp", kDecimal)                        \
  X(kIpEcn, kOxmClassBasic, 9, 1, false, kIp, "nw_ecn", kDecimal)                          \
  X(kIpProto, kOxmClassBasic, 10, 1, false, kIp, "nw_proto", kDecimal)                     \
  X(kIpv4Src, kOxmClassBasic, 11, 4, true, kIpv4, "nw_src", kIpv4)                         \
  X(kIpv4Dst, kOxmClassBasic, 12, 4, true, kIpv4, "nw_dst", kIpv4)                         \
  X(kTcpSrc, kOxmClassBasic, 13, 2, false, kTcp, "tp_src", kDecimal)                       \
  X(kTcpDst, kOxmClassBasic, 14, 2, false, kTcp, "tp_dst", kDecimal)                       \
  X(kUdpSrc, kOxmClassBasic, 15, 2, false, kUdp, "tp_src", kDecimal)                       \
  X(kUdpDst, kOxmClassBasic, 16, 2, false, kUdp, "tp_dst", kDecimal)                       \
  X(kSctpSrc, kOxmClassBasic, 17, 2, false, kSctp, "tp_src", kDecimal)                     \
  X(kSctpDst, kOxmClassBasic, 18, 2, false, kSctp, "tp_dst", kDecimal)                     \
  X(kIcmpv4Type, kOxmClassBasic, 19, 1, false, kIcmpv4, "icmp_type", kDecimal)             \
  X(kIcmpv4Code, kOxmClassBasic, 20, 1, false, kIcmpv4, "icmp_code", kDecimal)             \
  X(kArpOp, kOxmClassBasic, 21, 2, false, kArp, "arp_op", kDecimal)                        \
  X(kArpSpa, kOxmClassBasic, 22, 4, true, kArp, "arp_spa", kIpv4)                          \
  X(kArpTpa, kOxmClassBasic, 23, 4, true, kArp, "arp_tpa", kIpv4)                          \
  X(kArpSha, kOxmClassBasic, 24, 6, true, kArp, "arp_sha", kEthernet)                      \
  X(kArpTha, kOxmClassBasic, 25, 6, true, kArp, "arp_tha", kEthernet)                      \
  X(kIpv6Src, kOxmClassBasic, 26, 16, true, kIpv6, "ipv6_src", kIpv6)                      \
  X(kIpv6Dst, kOxmClassBasic, 27, 16, true, kIpv6, "ipv6_dst", kIpv6)                      \
  X(kIpv6Flabel, kOxmClassBasic, 28, 4, true, kIpv6, "ipv6_label", kHex)                   \
  X(kIcmpv6Type, kOxmClassBasic, 29, 1, false, kIcmpv6, "icmpv6_type", kDecimal)           \
  X(kIcmpv6Code, kOxmClassBasic, 30, 1, false, kIcmpv6, "icmpv6_code", kDecimal)           \
  X(kIpv6NdTarget, kOxmClassBasic, 31, 16, false, kNd, "nd_target", kIpv6)                 \
  X(kIpv6NdSll, kOxmClassBasic, 32, 6, false, kNd, "nd_sll", kEthernet)                    \
  X(kIpv6NdTll, kOxmClassBasic, 33, 6, false, kNd, "nd_tll", kEthernet)                    \
  X(kMplsLabel, kOxmClassBasic, 34, 4, false, kMpls, "mpls_label", kDecimal)               \
  X(kMplsTc, kOxmClassBasic, 35, 1, false, kMpls, "mpls_tc", kDecimal)                     \
  X(kMplsBos, kOxmClassBasic, 36, 1, false, kMpls, "mpls_bos", kDecimal)                   \
  X(kPbbIsid, kOxmClassBasic, 37, 3, true, kNone, "pbb_isid", kDecimal)                    \
  X(kTunnelId, kOxmClassBasic, 38, 8, true, kNone, "tun_id", kHex)                         \
  X(kIpv6Exthdr, kOxmClassBasic, 39, 2, true, kIpv6, "ipv6_exthdr", kHex)                  \
  X(kReg0, kOxmClassNxm1, 0, 4, true, kNone, "reg0", kHex)                                 \
  X(kReg1, kOxmClassNxm1, 1, 4, true, kNone, "reg1", kHex)                                 \
  X(kReg2, kOxmClassNxm1, 2, 4, true, kNone, "reg2", kHex)                                 \
  X(kReg3, kOxmClassNxm1, 3, 4, true, kNone, "reg3", kHex)                                 \
  X(kReg4, kOxmClassNxm1, 4, 4, true, kNone, "reg4", kHex)                                 \
  X(kReg5, kOxmClassNxm1, 5, 4, true, kNone, "reg5", kHex)                                 \
  X(kReg6, kOxmClassNxm1, 6, 4, true, kNone, "reg6", kHex)                                 \
  X(kReg7, kOxmClassNxm1, 7, 4, true, kNone, "reg7", kHex)                                 \
  X(kReg8, kOxmClassNxm1, 8, 4, true, kNone, "reg8", kHex)                                 \
  X(kReg9, kOxmClassNxm1, 9, 4, true, kNone, "reg9", kHex)                                 \
  X(kReg10, kOxmClassNxm1, 10, 4, true, kNone, "reg10", kHex)                              \
  X(kReg11, kOxmClassNxm1, 11, 4, true, kNone, "reg11", kHex)                              \
  X(kReg12, kOxmClassNxm1, 12, 4, true, kNone, "reg12", kHex)                              \
  X(kReg13, kOxmClassNxm1, 13, 4, true, kNone, "reg13", kHex)                              \
  X(kReg14, kOxmClassNxm1, 14, 4, true, kNone, "reg14", kHex)                              \
  X(kReg15, kOxmClassNxm1, 15, 4, true, kNone, "reg15", kHex)                              \
  X(kNxTunId, kOxmClassNxm1, 16, 8, true, kNone, "tun_id", kHex)                           \
  X(kTunIpv4Src, kOxmClassNxm1, 31, 4, true, kNone, "tun_src", kIpv4)                      \
  X(kTunIpv4Dst, kOxmClassNxm1, 32, 4, true, kNone, "tun_dst", kIpv4)                      \
  X(kPktMark, kOxmClassNxm1, 33, 4, true, kNone, "pkt_mark", kHex)                         \
  X(kConjId, kOxmClassNxm1, 37, 4, false, kNone, "conj_id", kDecimal)                      \
  X(kCtState, kOxmClassNxm1, 105, 4, true, kNone, "ct_state", kCtState)                    \
  X(kCtZone, kOxmClassNxm1, 106, 2, false, kNone, "ct_zone", kHex)                         \
  X(kCtMark, kOxmClassNxm1, 107, 4, true, kNone, "ct_mark", kHex)                          \
  X(kCtLabel, kOxmClassNxm1, 108, 16, true, kNone, "ct_label", kHex)                       \
  X(kNxIpFrag, kOxmClassNxm1, 26, 1, true, kIp, "nw_frag", kFrag)                          \
  X(kNxIpTtl, kOxmClassNxm1, 29, 1, false, kIp, "nw_ttl", kDecimal)

enum class Field : uint8_t {
#define VLCP_OXM_ENUM(e, cls, num, bytes, maskable, prereq, name, format) e,
  VLCP_OXM_FIELDS(VLCP_OXM_ENUM)
#undef VLCP_OXM_ENUM
      kCount
};

struct FieldInfo {
  Field field;
  uint16_t oxm_class;
  uint8_t number;
  uint8_t bytes;  // value length; a masked TLV carries twice this
  bool maskable;
  Prereq prereq;
  std::string_view name;
  FieldFormat format;
};

const FieldInfo& field_info(Field f);
// The field with this class and number, if we know it.
const FieldInfo* find_field(uint16_t oxm_class, uint8_t number);
// The field with this ovs-ofctl name (the first, where two share a name, e.g. tp_src).
const FieldInfo* find_field(std::string_view name);

// The 32-bit OXM header: class(16) | field(7) | hasmask(1) | length(8).
constexpr uint32_t oxm_header(uint16_t cls, uint8_t number, bool masked, uint8_t length) {
  return (uint32_t{cls} << 16) | (uint32_t{number} << 9) | (masked ? 0x100u : 0u) | length;
}
constexpr uint16_t oxm_class(uint32_t header) { return static_cast<uint16_t>(header >> 16); }
constexpr uint8_t oxm_number(uint32_t header) { return static_cast<uint8_t>((header >> 9) & 0x7f); }
constexpr bool oxm_masked(uint32_t header) { return (header & 0x100) != 0; }
constexpr uint8_t oxm_length(uint32_t header) { return static_cast<uint8_t>(header & 0xff); }

inline uint32_t oxm_header(Field f, bool masked = false) {
  const FieldInfo& i = field_info(f);
  return oxm_header(i.oxm_class, i.number, masked, static_cast<uint8_t>(masked ? 2 * i.bytes : i.bytes));
}

}  // namespace vlcp::ofp
