// Every match field the codec knows, declared once: the OpenFlow 1.3 OXM basic fields and the
// Nicira (NXM) fields VLCP's pipeline uses. The enum, the wire ids, lengths, maskability,
// prerequisites, ovs-ofctl names and value formats all derive from VLCP_OXM_FIELDS.
#pragma once

#include <array>
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
  kFrag,      // ip_frag: no, first, later, yes, not_later
  kCtState,   // +trk+est...
};

// What must be matched before a field may be: VLCP's and OVS's prerequisites.
enum class Prereq : uint8_t {
  kNone,
  kVlan,       // vlan_vid != NONE
  kIp,         // eth_type = 0x0800 or 0x86dd
  kIpv4,       // eth_type = 0x0800
  kIpv6,       // eth_type = 0x86dd
  kArp,        // eth_type = 0x0806
  kTcp,        // ip + ip_proto = 6
  kUdp,        // ip + ip_proto = 17
  kSctp,       // ip + ip_proto = 132
  kIcmpv4,     // ipv4 + ip_proto = 1
  kIcmpv6,     // ipv6 + ip_proto = 58
  kNd,         // icmpv6 type 135/136
  kNdSolicit,  // icmpv6 type 135 (neighbour solicitation)
  kNdAdvert,   // icmpv6 type 136 (neighbour advertisement)
  kMpls,       // eth_type = 0x8847/0x8848
};

inline constexpr uint16_t kOxmClassNxm0 = 0x0000;
inline constexpr uint16_t kOxmClassNxm1 = 0x0001;
inline constexpr uint16_t kOxmClassBasic = 0x8000;
inline constexpr uint16_t kOxmClassExperimenter = 0xffff;

// X(Enum, oxm class, field number, value bytes, significant bits (OVS's n_bits: the bits NX
//   actions may address; vlan_vid has 12), maskable, prerequisite, ovs-ofctl match name,
//   NXM/OXM name (as ovs-ofctl writes subfields, NXM_NX_REG0[0..15]: the name OVS prefers in
//   NX actions, whatever the encoding), OVS field name (as set_field writes it:
//   set_field:1->reg0), format)
// Every header OVS 3.1 decodes is either declared here or named, with the reason, in
// tests/unit/ofp/ofp_field_exhaustive_test.cc, which checks every field in every way against OVS.
// tcp_flags (42) and actset_output (43) are OpenFlow 1.5 OXM numbers that OVS also reads in
// 1.3 messages. Maskability follows Open vSwitch, which also takes masks on the TCP/UDP/SCTP ports and the
// IPv6 ND fields (OpenFlow 1.3 marks them exact-only). NXM0 rows are Nicira's original encodings of
// OpenFlow 1.0 fields, which OVS still uses in actions (reg_move, learn); they alias the basic fields of the
// same meaning, as do the NXM1 rows of fields that also have a basic OXM (NXM_NX_ARP_SHA: OVS writes
// these in reg_move and reg_load, move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[]).
#define VLCP_OXM_FIELDS(X)                                                                                   \
  X(kInPort, kOxmClassBasic, 0, 4, 32, false, kNone, "in_port", "OXM_OF_IN_PORT", "in_port_oxm", kPort)      \
  X(kInPhyPort, kOxmClassBasic, 1, 4, 32, false, kNone, "in_phy_port", "OXM_OF_IN_PHY_PORT", "in_phy_port",  \
    kPort)                                                                                                   \
  X(kMetadata, kOxmClassBasic, 2, 8, 64, true, kNone, "metadata", "OXM_OF_METADATA", "metadata", kHex)       \
  X(kEthDst, kOxmClassBasic, 3, 6, 48, true, kNone, "dl_dst", "NXM_OF_ETH_DST", "eth_dst", kEthernet)        \
  X(kEthSrc, kOxmClassBasic, 4, 6, 48, true, kNone, "dl_src", "NXM_OF_ETH_SRC", "eth_src", kEthernet)        \
  X(kEthType, kOxmClassBasic, 5, 2, 16, false, kNone, "dl_type", "NXM_OF_ETH_TYPE", "eth_type", kHex)        \
  X(kVlanVid, kOxmClassBasic, 6, 2, 12, true, kNone, "vlan_vid", "OXM_OF_VLAN_VID", "vlan_vid", kDecimal)    \
  X(kVlanPcp, kOxmClassBasic, 7, 1, 3, false, kVlan, "dl_vlan_pcp", "OXM_OF_VLAN_PCP", "vlan_pcp", kDecimal) \
  X(kIpDscp, kOxmClassBasic, 8, 1, 6, false, kIp, "ip_dscp", "OXM_OF_IP_DSCP", "ip_dscp", kDecimal)          \
  X(kIpEcn, kOxmClassBasic, 9, 1, 2, false, kIp, "nw_ecn", "NXM_NX_IP_ECN", "nw_ecn", kDecimal)              \
  X(kIpProto, kOxmClassBasic, 10, 1, 8, false, kIp, "nw_proto", "NXM_OF_IP_PROTO", "nw_proto", kDecimal)     \
  X(kIpv4Src, kOxmClassBasic, 11, 4, 32, true, kIpv4, "nw_src", "NXM_OF_IP_SRC", "ip_src", kIpv4)            \
  X(kIpv4Dst, kOxmClassBasic, 12, 4, 32, true, kIpv4, "nw_dst", "NXM_OF_IP_DST", "ip_dst", kIpv4)            \
  X(kTcpSrc, kOxmClassBasic, 13, 2, 16, true, kTcp, "tp_src", "NXM_OF_TCP_SRC", "tcp_src", kDecimal)         \
  X(kTcpDst, kOxmClassBasic, 14, 2, 16, true, kTcp, "tp_dst", "NXM_OF_TCP_DST", "tcp_dst", kDecimal)         \
  X(kUdpSrc, kOxmClassBasic, 15, 2, 16, true, kUdp, "tp_src", "NXM_OF_UDP_SRC", "udp_src", kDecimal)         \
  X(kUdpDst, kOxmClassBasic, 16, 2, 16, true, kUdp, "tp_dst", "NXM_OF_UDP_DST", "udp_dst", kDecimal)         \
  X(kSctpSrc, kOxmClassBasic, 17, 2, 16, true, kSctp, "tp_src", "OXM_OF_SCTP_SRC", "sctp_src", kDecimal)     \
  X(kSctpDst, kOxmClassBasic, 18, 2, 16, true, kSctp, "tp_dst", "OXM_OF_SCTP_DST", "sctp_dst", kDecimal)     \
  X(kIcmpv4Type, kOxmClassBasic, 19, 1, 8, false, kIcmpv4, "icmp_type", "NXM_OF_ICMP_TYPE", "icmp_type",     \
    kDecimal)                                                                                                \
  X(kIcmpv4Code, kOxmClassBasic, 20, 1, 8, false, kIcmpv4, "icmp_code", "NXM_OF_ICMP_CODE", "icmp_code",     \
    kDecimal)                                                                                                \
  X(kArpOp, kOxmClassBasic, 21, 2, 16, false, kArp, "arp_op", "NXM_OF_ARP_OP", "arp_op", kDecimal)           \
  X(kArpSpa, kOxmClassBasic, 22, 4, 32, true, kArp, "arp_spa", "NXM_OF_ARP_SPA", "arp_spa", kIpv4)           \
  X(kArpTpa, kOxmClassBasic, 23, 4, 32, true, kArp, "arp_tpa", "NXM_OF_ARP_TPA", "arp_tpa", kIpv4)           \
  X(kArpSha, kOxmClassBasic, 24, 6, 48, true, kArp, "arp_sha", "NXM_NX_ARP_SHA", "arp_sha", kEthernet)       \
  X(kArpTha, kOxmClassBasic, 25, 6, 48, true, kArp, "arp_tha", "NXM_NX_ARP_THA", "arp_tha", kEthernet)       \
  X(kIpv6Src, kOxmClassBasic, 26, 16, 128, true, kIpv6, "ipv6_src", "NXM_NX_IPV6_SRC", "ipv6_src", kIpv6)    \
  X(kIpv6Dst, kOxmClassBasic, 27, 16, 128, true, kIpv6, "ipv6_dst", "NXM_NX_IPV6_DST", "ipv6_dst", kIpv6)    \
  X(kIpv6Flabel, kOxmClassBasic, 28, 4, 20, true, kIpv6, "ipv6_label", "NXM_NX_IPV6_LABEL", "ipv6_label",    \
    kHex)                                                                                                    \
  X(kIcmpv6Type, kOxmClassBasic, 29, 1, 8, false, kIcmpv6, "icmpv6_type", "NXM_NX_ICMPV6_TYPE",              \
    "icmpv6_type", kDecimal)                                                                                 \
  X(kIcmpv6Code, kOxmClassBasic, 30, 1, 8, false, kIcmpv6, "icmpv6_code", "NXM_NX_ICMPV6_CODE",              \
    "icmpv6_code", kDecimal)                                                                                 \
  X(kIpv6NdTarget, kOxmClassBasic, 31, 16, 128, true, kNd, "nd_target", "NXM_NX_ND_TARGET", "nd_target",     \
    kIpv6)                                                                                                   \
  X(kIpv6NdSll, kOxmClassBasic, 32, 6, 48, true, kNdSolicit, "nd_sll", "NXM_NX_ND_SLL", "nd_sll", kEthernet) \
  X(kIpv6NdTll, kOxmClassBasic, 33, 6, 48, true, kNdAdvert, "nd_tll", "NXM_NX_ND_TLL", "nd_tll", kEthernet)  \
  X(kMplsLabel, kOxmClassBasic, 34, 4, 20, false, kMpls, "mpls_label", "OXM_OF_MPLS_LABEL", "mpls_label",    \
    kDecimal)                                                                                                \
  X(kMplsTc, kOxmClassBasic, 35, 1, 3, false, kMpls, "mpls_tc", "OXM_OF_MPLS_TC", "mpls_tc", kDecimal)       \
  X(kMplsBos, kOxmClassBasic, 36, 1, 1, false, kMpls, "mpls_bos", "OXM_OF_MPLS_BOS", "mpls_bos", kDecimal)   \
  X(kPbbIsid, kOxmClassBasic, 37, 3, 24, true, kNone, "pbb_isid", "OXM_OF_PBB_ISID", "pbb_isid", kDecimal)   \
  X(kTunnelId, kOxmClassBasic, 38, 8, 64, true, kNone, "tun_id", "NXM_NX_TUN_ID", "tun_id", kHex)            \
  X(kIpv6Exthdr, kOxmClassBasic, 39, 2, 9, true, kIpv6, "ipv6_exthdr", "OXM_OF_IPV6_EXTHDR", "ipv6_exthdr",  \
    kHex)                                                                                                    \
  X(kReg0, kOxmClassNxm1, 0, 4, 32, true, kNone, "reg0", "NXM_NX_REG0", "reg0", kHex)                        \
  X(kReg1, kOxmClassNxm1, 1, 4, 32, true, kNone, "reg1", "NXM_NX_REG1", "reg1", kHex)                        \
  X(kReg2, kOxmClassNxm1, 2, 4, 32, true, kNone, "reg2", "NXM_NX_REG2", "reg2", kHex)                        \
  X(kReg3, kOxmClassNxm1, 3, 4, 32, true, kNone, "reg3", "NXM_NX_REG3", "reg3", kHex)                        \
  X(kReg4, kOxmClassNxm1, 4, 4, 32, true, kNone, "reg4", "NXM_NX_REG4", "reg4", kHex)                        \
  X(kReg5, kOxmClassNxm1, 5, 4, 32, true, kNone, "reg5", "NXM_NX_REG5", "reg5", kHex)                        \
  X(kReg6, kOxmClassNxm1, 6, 4, 32, true, kNone, "reg6", "NXM_NX_REG6", "reg6", kHex)                        \
  X(kReg7, kOxmClassNxm1, 7, 4, 32, true, kNone, "reg7", "NXM_NX_REG7", "reg7", kHex)                        \
  X(kReg8, kOxmClassNxm1, 8, 4, 32, true, kNone, "reg8", "NXM_NX_REG8", "reg8", kHex)                        \
  X(kReg9, kOxmClassNxm1, 9, 4, 32, true, kNone, "reg9", "NXM_NX_REG9", "reg9", kHex)                        \
  X(kReg10, kOxmClassNxm1, 10, 4, 32, true, kNone, "reg10", "NXM_NX_REG10", "reg10", kHex)                   \
  X(kReg11, kOxmClassNxm1, 11, 4, 32, true, kNone, "reg11", "NXM_NX_REG11", "reg11", kHex)                   \
  X(kReg12, kOxmClassNxm1, 12, 4, 32, true, kNone, "reg12", "NXM_NX_REG12", "reg12", kHex)                   \
  X(kReg13, kOxmClassNxm1, 13, 4, 32, true, kNone, "reg13", "NXM_NX_REG13", "reg13", kHex)                   \
  X(kReg14, kOxmClassNxm1, 14, 4, 32, true, kNone, "reg14", "NXM_NX_REG14", "reg14", kHex)                   \
  X(kReg15, kOxmClassNxm1, 15, 4, 32, true, kNone, "reg15", "NXM_NX_REG15", "reg15", kHex)                   \
  X(kNxArpSha, kOxmClassNxm1, 17, 6, 48, true, kArp, "arp_sha", "NXM_NX_ARP_SHA", "arp_sha", kEthernet)      \
  X(kNxArpTha, kOxmClassNxm1, 18, 6, 48, true, kArp, "arp_tha", "NXM_NX_ARP_THA", "arp_tha", kEthernet)      \
  X(kNxIpv6Src, kOxmClassNxm1, 19, 16, 128, true, kIpv6, "ipv6_src", "NXM_NX_IPV6_SRC", "ipv6_src", kIpv6)   \
  X(kNxIpv6Dst, kOxmClassNxm1, 20, 16, 128, true, kIpv6, "ipv6_dst", "NXM_NX_IPV6_DST", "ipv6_dst", kIpv6)   \
  X(kNxIcmpv6Type, kOxmClassNxm1, 21, 1, 8, false, kIcmpv6, "icmpv6_type", "NXM_NX_ICMPV6_TYPE",             \
    "icmpv6_type", kDecimal)                                                                                 \
  X(kNxIcmpv6Code, kOxmClassNxm1, 22, 1, 8, false, kIcmpv6, "icmpv6_code", "NXM_NX_ICMPV6_CODE",             \
    "icmpv6_code", kDecimal)                                                                                 \
  X(kNxNdTarget, kOxmClassNxm1, 23, 16, 128, true, kNd, "nd_target", "NXM_NX_ND_TARGET", "nd_target", kIpv6) \
  X(kNxNdSll, kOxmClassNxm1, 24, 6, 48, true, kNdSolicit, "nd_sll", "NXM_NX_ND_SLL", "nd_sll", kEthernet)    \
  X(kNxNdTll, kOxmClassNxm1, 25, 6, 48, true, kNdAdvert, "nd_tll", "NXM_NX_ND_TLL", "nd_tll", kEthernet)     \
  X(kNxIpv6Label, kOxmClassNxm1, 27, 4, 20, true, kIpv6, "ipv6_label", "NXM_NX_IPV6_LABEL", "ipv6_label",    \
    kHex)                                                                                                    \
  X(kNxIpEcn, kOxmClassNxm1, 28, 1, 2, false, kIp, "nw_ecn", "NXM_NX_IP_ECN", "nw_ecn", kDecimal)            \
  X(kNxTunId, kOxmClassNxm1, 16, 8, 64, true, kNone, "tun_id", "NXM_NX_TUN_ID", "tun_id", kHex)              \
  X(kTunIpv4Src, kOxmClassNxm1, 31, 4, 32, true, kNone, "tun_src", "NXM_NX_TUN_IPV4_SRC", "tun_src", kIpv4)  \
  X(kTunIpv4Dst, kOxmClassNxm1, 32, 4, 32, true, kNone, "tun_dst", "NXM_NX_TUN_IPV4_DST", "tun_dst", kIpv4)  \
  X(kPktMark, kOxmClassNxm1, 33, 4, 32, true, kNone, "pkt_mark", "NXM_NX_PKT_MARK", "pkt_mark", kHex)        \
  X(kConjId, kOxmClassNxm1, 37, 4, 32, false, kNone, "conj_id", "NXM_NX_CONJ_ID", "conj_id", kDecimal)       \
  X(kCtState, kOxmClassNxm1, 105, 4, 32, true, kNone, "ct_state", "NXM_NX_CT_STATE", "ct_state", kCtState)   \
  X(kCtZone, kOxmClassNxm1, 106, 2, 16, false, kNone, "ct_zone", "NXM_NX_CT_ZONE", "ct_zone", kHex)          \
  X(kCtMark, kOxmClassNxm1, 107, 4, 32, true, kNone, "ct_mark", "NXM_NX_CT_MARK", "ct_mark", kHex)           \
  X(kCtLabel, kOxmClassNxm1, 108, 16, 128, true, kNone, "ct_label", "NXM_NX_CT_LABEL", "ct_label", kHex)     \
  X(kNxIpFrag, kOxmClassNxm1, 26, 1, 2, true, kIp, "nw_frag", "NXM_NX_IP_FRAG", "ip_frag", kFrag)            \
  X(kNxIpTtl, kOxmClassNxm1, 29, 1, 8, false, kIp, "nw_ttl", "NXM_NX_IP_TTL", "nw_ttl", kDecimal)            \
  X(kTcpFlags, kOxmClassNxm1, 34, 2, 12, true, kTcp, "tcp_flags", "NXM_NX_TCP_FLAGS", "tcp_flags", kHex)     \
  X(kOxmTcpFlags, kOxmClassBasic, 42, 2, 12, true, kTcp, "tcp_flags", "NXM_NX_TCP_FLAGS", "tcp_flags", kHex) \
  X(kActsetOutput, kOxmClassBasic, 43, 4, 32, false, kNone, "actset_output", "ONFOXM_ET_ACTSET_OUTPUT",      \
    "actset_output", kPort)                                                                                  \
  X(kNxmInPort, kOxmClassNxm0, 0, 2, 16, false, kNone, "in_port", "NXM_OF_IN_PORT", "in_port", kPort)        \
  X(kNxmEthDst, kOxmClassNxm0, 1, 6, 48, true, kNone, "dl_dst", "NXM_OF_ETH_DST", "eth_dst", kEthernet)      \
  X(kNxmEthSrc, kOxmClassNxm0, 2, 6, 48, true, kNone, "dl_src", "NXM_OF_ETH_SRC", "eth_src", kEthernet)      \
  X(kNxmEthType, kOxmClassNxm0, 3, 2, 16, false, kNone, "dl_type", "NXM_OF_ETH_TYPE", "eth_type", kHex)      \
  X(kNxmVlanTci, kOxmClassNxm0, 4, 2, 16, true, kNone, "vlan_tci", "NXM_OF_VLAN_TCI", "vlan_tci", kHex)      \
  X(kNxmIpTos, kOxmClassNxm0, 5, 1, 8, false, kIp, "nw_tos", "NXM_OF_IP_TOS", "nw_tos", kDecimal)            \
  X(kNxmIpProto, kOxmClassNxm0, 6, 1, 8, false, kIp, "nw_proto", "NXM_OF_IP_PROTO", "nw_proto", kDecimal)    \
  X(kNxmIpSrc, kOxmClassNxm0, 7, 4, 32, true, kIpv4, "nw_src", "NXM_OF_IP_SRC", "ip_src", kIpv4)             \
  X(kNxmIpDst, kOxmClassNxm0, 8, 4, 32, true, kIpv4, "nw_dst", "NXM_OF_IP_DST", "ip_dst", kIpv4)             \
  X(kNxmTcpSrc, kOxmClassNxm0, 9, 2, 16, true, kTcp, "tp_src", "NXM_OF_TCP_SRC", "tcp_src", kDecimal)        \
  X(kNxmTcpDst, kOxmClassNxm0, 10, 2, 16, true, kTcp, "tp_dst", "NXM_OF_TCP_DST", "tcp_dst", kDecimal)       \
  X(kNxmUdpSrc, kOxmClassNxm0, 11, 2, 16, true, kUdp, "tp_src", "NXM_OF_UDP_SRC", "udp_src", kDecimal)       \
  X(kNxmUdpDst, kOxmClassNxm0, 12, 2, 16, true, kUdp, "tp_dst", "NXM_OF_UDP_DST", "udp_dst", kDecimal)       \
  X(kNxmIcmpType, kOxmClassNxm0, 13, 1, 8, false, kIcmpv4, "icmp_type", "NXM_OF_ICMP_TYPE", "icmp_type",     \
    kDecimal)                                                                                                \
  X(kNxmIcmpCode, kOxmClassNxm0, 14, 1, 8, false, kIcmpv4, "icmp_code", "NXM_OF_ICMP_CODE", "icmp_code",     \
    kDecimal)                                                                                                \
  X(kNxmArpOp, kOxmClassNxm0, 15, 2, 16, false, kArp, "arp_op", "NXM_OF_ARP_OP", "arp_op", kDecimal)         \
  X(kNxmArpSpa, kOxmClassNxm0, 16, 4, 32, true, kArp, "arp_spa", "NXM_OF_ARP_SPA", "arp_spa", kIpv4)         \
  X(kNxmArpTpa, kOxmClassNxm0, 17, 4, 32, true, kArp, "arp_tpa", "NXM_OF_ARP_TPA", "arp_tpa", kIpv4)

enum class Field : uint8_t {
#define VLCP_OXM_ENUM(e, cls, num, bytes, bits, maskable, prereq, name, nxm_name, mf_name, format) e,
  VLCP_OXM_FIELDS(VLCP_OXM_ENUM)
#undef VLCP_OXM_ENUM
      kCount
};

struct FieldInfo {
  Field field;
  uint16_t oxm_class;
  uint8_t number;
  uint8_t bytes;  // value length; a masked TLV carries twice this
  uint8_t bits;   // significant bits (OVS's n_bits): what NX actions may address (vlan_vid: 12)
  bool maskable;
  Prereq prereq;
  std::string_view name;
  std::string_view nxm_name;
  std::string_view mf_name;
  FieldFormat format;
};

namespace detail {
// The table, and an index by (class, number) for decoding. Inline: lookups sit on the
// PACKET_IN hot path.
inline constexpr std::array<FieldInfo, static_cast<size_t>(Field::kCount)> kFields = {{
#define VLCP_OXM_INFO(e, cls, num, bytes, bits, maskable, prereq, name, nxm_name, mf_name, format) \
  {Field::e, cls, num, bytes, bits, maskable, Prereq::prereq, name, nxm_name, mf_name, FieldFormat::format},
    VLCP_OXM_FIELDS(VLCP_OXM_INFO)
#undef VLCP_OXM_INFO
}};

struct ByWire {
  std::array<int16_t, 128> basic{};
  std::array<int16_t, 128> nxm1{};
  std::array<int16_t, 128> nxm0{};
  constexpr ByWire() {
    basic.fill(-1);
    nxm1.fill(-1);
    nxm0.fill(-1);
    for (size_t i = 0; i < kFields.size(); ++i) {
      auto& index = kFields[i].oxm_class == kOxmClassBasic  ? basic
                    : kFields[i].oxm_class == kOxmClassNxm1 ? nxm1
                                                            : nxm0;
      index[kFields[i].number] = static_cast<int16_t>(i);
    }
  }
};
inline constexpr ByWire kByWire;
}  // namespace detail

inline const FieldInfo& field_info(Field f) {
  return detail::kFields[static_cast<size_t>(f)];
}

namespace detail {
// For each row, the row of the same OVS field (same mf_name and width) that OVS writes: in
// OpenFlow 1.3 matches and set_field the basic OXM where there is one, in NX actions the NXM one.
struct Preferred {
  std::array<uint8_t, kFields.size()> oxm{}, nxm{};
  constexpr Preferred() {
    for (size_t i = 0; i < kFields.size(); ++i) {
      oxm[i] = nxm[i] = static_cast<uint8_t>(i);
      for (size_t j = 0; j < kFields.size(); ++j) {
        if (kFields[j].mf_name != kFields[i].mf_name || kFields[j].bytes != kFields[i].bytes) continue;
        const bool basic = kFields[j].oxm_class == kOxmClassBasic;
        if (basic && kFields[oxm[i]].oxm_class != kOxmClassBasic) oxm[i] = static_cast<uint8_t>(j);
        if (!basic && kFields[nxm[i]].oxm_class == kOxmClassBasic) nxm[i] = static_cast<uint8_t>(j);
      }
    }
  }
};
inline constexpr Preferred kPreferred;
}  // namespace detail

// The encoding of a field our encoders write, as OVS writes it back (in a flow stats reply): in
// matches and set_field the basic OXM where the field has one (NXM_OF_ETH_SRC -> OXM_OF_ETH_SRC),
// in NX actions (reg_load, reg_move, output_reg, learn) the NXM one (OXM_OF_ARP_SHA ->
// NXM_NX_ARP_SHA). The installer compares flows byte for byte with what the switch reports.
constexpr Field oxm_encoding(Field f) {
  return static_cast<Field>(detail::kPreferred.oxm[static_cast<size_t>(f)]);
}
constexpr Field nxm_encoding(Field f) {
  return static_cast<Field>(detail::kPreferred.nxm[static_cast<size_t>(f)]);
}

// The field with this class and number, if we know it.
inline const FieldInfo* find_field(uint16_t oxm_class, uint8_t number) {
  if (number >= 128) return nullptr;
  int16_t i = -1;
  if (oxm_class == kOxmClassBasic)
    i = detail::kByWire.basic[number];
  else if (oxm_class == kOxmClassNxm1)
    i = detail::kByWire.nxm1[number];
  else if (oxm_class == kOxmClassNxm0)
    i = detail::kByWire.nxm0[number];
  return i < 0 ? nullptr : &detail::kFields[static_cast<size_t>(i)];
}
// The field with this ovs-ofctl name (the first, where two share a name, e.g. tp_src).
const FieldInfo* find_field(std::string_view name);

// The field an NX action (reg_load, reg_move, output_reg, learn) names with a 32-bit header, as
// OVS reads it: a "masked" header stands for the field it masks, and the length must be the
// field's. Null when there is no such field.
const FieldInfo* find_action_field(uint32_t header);

// Whether actions may write the field (OVS's read-only fields: eth_type, nw_proto, mpls_bos,
// ip_frag, tcp_flags, conj_id, ct_state, ct_zone, actset_output; set_field may not write OXM
// in_port either).
bool field_writable(Field f);

// The basic field a Nicira alias stands for (NXM_OF_IN_PORT -> in_port, NXM_NX_TUN_ID ->
// tunnel_id); any other field is its own. Duplicates and prerequisites are judged on these.
constexpr Field canonical_field(Field f) {
  switch (f) {
    case Field::kNxmInPort:
      return Field::kInPort;
    case Field::kNxmEthDst:
      return Field::kEthDst;
    case Field::kNxmEthSrc:
      return Field::kEthSrc;
    case Field::kNxmEthType:
      return Field::kEthType;
    case Field::kNxmVlanTci:
      return Field::kVlanVid;
    case Field::kNxmIpTos:
      return Field::kIpDscp;
    case Field::kNxmIpProto:
      return Field::kIpProto;
    case Field::kNxmIpSrc:
      return Field::kIpv4Src;
    case Field::kNxmIpDst:
      return Field::kIpv4Dst;
    case Field::kNxmTcpSrc:
      return Field::kTcpSrc;
    case Field::kNxmTcpDst:
      return Field::kTcpDst;
    case Field::kNxmUdpSrc:
      return Field::kUdpSrc;
    case Field::kNxmUdpDst:
      return Field::kUdpDst;
    case Field::kNxmIcmpType:
      return Field::kIcmpv4Type;
    case Field::kNxmIcmpCode:
      return Field::kIcmpv4Code;
    case Field::kNxmArpOp:
      return Field::kArpOp;
    case Field::kNxmArpSpa:
      return Field::kArpSpa;
    case Field::kNxmArpTpa:
      return Field::kArpTpa;
    case Field::kNxTunId:
      return Field::kTunnelId;
    case Field::kNxArpSha:
      return Field::kArpSha;
    case Field::kNxArpTha:
      return Field::kArpTha;
    case Field::kNxIpv6Src:
      return Field::kIpv6Src;
    case Field::kNxIpv6Dst:
      return Field::kIpv6Dst;
    case Field::kNxIcmpv6Type:
      return Field::kIcmpv6Type;
    case Field::kNxIcmpv6Code:
      return Field::kIcmpv6Code;
    case Field::kNxNdTarget:
      return Field::kIpv6NdTarget;
    case Field::kNxNdSll:
      return Field::kIpv6NdSll;
    case Field::kNxNdTll:
      return Field::kIpv6NdTll;
    case Field::kNxIpv6Label:
      return Field::kIpv6Flabel;
    case Field::kNxIpEcn:
      return Field::kIpEcn;
    case Field::kOxmTcpFlags:
      return Field::kTcpFlags;
    default:
      return f;
  }
}

// The 32-bit OXM header: class(16) | field(7) | hasmask(1) | length(8).
constexpr uint32_t oxm_header(uint16_t cls, uint8_t number, bool masked, uint8_t length) {
  return (uint32_t{cls} << 16) | (uint32_t{number} << 9) | (masked ? 0x100u : 0u) | length;
}
constexpr uint16_t oxm_class(uint32_t header) {
  return static_cast<uint16_t>(header >> 16);
}
constexpr uint8_t oxm_number(uint32_t header) {
  return static_cast<uint8_t>((header >> 9) & 0x7f);
}
constexpr bool oxm_masked(uint32_t header) {
  return (header & 0x100) != 0;
}
constexpr uint8_t oxm_length(uint32_t header) {
  return static_cast<uint8_t>(header & 0xff);
}

inline uint32_t oxm_header(Field f, bool masked = false) {
  const FieldInfo& i = field_info(f);
  return oxm_header(i.oxm_class, i.number, masked, static_cast<uint8_t>(masked ? 2 * i.bytes : i.bytes));
}

}  // namespace vlcp::ofp
