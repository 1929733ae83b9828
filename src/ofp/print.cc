// The ovs-ofctl text printer. A match is first folded into OVS's view of a flow (one value
// and mask per flow field: OXM vlan_vid and vlan_pcp become one TCI, ip_dscp and ip_ecn one
// TOS byte, TCP/UDP/SCTP/ICMP ports one tp_src/tp_dst...), then written in OVS's field order.
#include "ofp/print.h"

#include "ofp/bodies.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <iterator>

#include "base/text.h"
#include "ofp/actions.h"
#include "ofp/match.h"
#include "ofp/message.h"
#include "ofp/packet.h"

namespace vlcp::ofp {
namespace {

struct Masked32 {
  uint32_t v = 0, m = 0;
};
struct Masked64 {
  uint64_t v = 0, m = 0;
};
struct MaskedBytes {
  uint8_t v[16] = {}, m[16] = {};
  bool any() const {
    for (uint8_t x : m)
      if (x) return true;
    return false;
  }
};

// OVS's flow fields that a match can constrain.
struct Flow {
  Masked32 regs[16];
  Masked64 tun_id, metadata;
  Masked32 tun_src, tun_dst, pkt_mark, ct_state, ct_mark;
  Masked32 ct_zone, conj_id;
  MaskedBytes ct_label;
  Masked32 in_port;  // OpenFlow 1.3 port
  Masked32 tci;      // 16 bits
  MaskedBytes dl_src, dl_dst;
  Masked32 dl_type;
  Masked32 nw_src, nw_dst;  // IPv4 or ARP SPA/TPA
  MaskedBytes ipv6_src, ipv6_dst, nd_target;
  Masked32 ipv6_label;
  Masked32 nw_proto;             // IP protocol, or ARP opcode
  MaskedBytes arp_sha, arp_tha;  // also ND SLL/TLL
  Masked32 nw_tos, nw_ttl, nw_frag;
  Masked32 mpls_label, mpls_tc, mpls_bos;
  Masked32 tp_src, tp_dst;
  Masked32 pbb_isid, ipv6_exthdr;
  Masked32 tcp_flags;
  Masked32 actset_output;
};

void set32(Masked32& f, const OxmEntry& e) {
  f.v = static_cast<uint32_t>(e.value_u64());
  f.m = static_cast<uint32_t>(e.mask_u64() &
                              ((e.value.size() >= 4) ? 0xffffffffu : ((1u << (8 * e.value.size())) - 1)));
}
void set64(Masked64& f, const OxmEntry& e) {
  f.v = e.value_u64();
  f.m = e.mask_u64();
}
void set_bytes(MaskedBytes& f, const OxmEntry& e) {
  std::memcpy(f.v, e.value.data(), e.value.size());
  if (e.masked())
    std::memcpy(f.m, e.mask.data(), e.mask.size());
  else
    std::memset(f.m, 0xff, e.value.size());
}

Flow fold(ByteSpan oxms) {
  Flow f;
  for_each_oxm(oxms, [&](const OxmEntry& e) {
    if (!e.info) return;  // skipped field of a loose match
    if (e.masked() && std::all_of(e.mask.begin(), e.mask.end(), [](uint8_t b) { return b == 0; })) return;
    Field field = e.info->field;
    if (field >= Field::kReg0 && field <= Field::kReg15) {
      set32(f.regs[static_cast<int>(field) - static_cast<int>(Field::kReg0)], e);
      return;
    }
    switch (canonical_field(field)) {
      case Field::kInPort:
        f.in_port.v = static_cast<uint32_t>(e.value_u64());
        if (field == Field::kNxmInPort && f.in_port.v >= 0xff00) f.in_port.v += 0xffff0000u;
        f.in_port.m = ~0u;
        break;
      case Field::kMetadata:
        set64(f.metadata, e);
        break;
      case Field::kEthDst:
        set_bytes(f.dl_dst, e);
        break;
      case Field::kEthSrc:
        set_bytes(f.dl_src, e);
        break;
      case Field::kEthType:
        set32(f.dl_type, e);
        break;
      case Field::kVlanVid:
        if (field == Field::kNxmVlanTci) {
          set32(f.tci, e);
        } else {
          // OFPVID_PRESENT (0x1000) is OVS's CFI bit.
          uint32_t vid = static_cast<uint32_t>(e.value_u64()) & 0x1fff;
          uint32_t mask = e.masked() ? static_cast<uint32_t>(e.mask_u64()) & 0x1fff : 0x1fff;
          f.tci.v = (f.tci.v & ~0x1fffu) | vid;
          f.tci.m = (f.tci.m & ~0x1fffu) | mask;
        }
        break;
      case Field::kVlanPcp:  // as OVS: a PCP also says "a VLAN is present" (the CFI bit)
        f.tci.v = (f.tci.v & 0x0fff) | 0x1000 | ((static_cast<uint32_t>(e.value_u64()) & 7) << 13);
        f.tci.m |= 0xf000;
        break;
      case Field::kIpDscp:
        if (field == Field::kNxmIpTos) {
          f.nw_tos.v = (f.nw_tos.v & 3) | (static_cast<uint32_t>(e.value_u64()) & 0xfc);
        } else {
          f.nw_tos.v = (f.nw_tos.v & 3) | ((static_cast<uint32_t>(e.value_u64()) << 2) & 0xfc);
        }
        f.nw_tos.m |= 0xfc;
        break;
      case Field::kIpEcn:
        f.nw_tos.v = (f.nw_tos.v & 0xfc) | (static_cast<uint32_t>(e.value_u64()) & 3);
        f.nw_tos.m |= 3;
        break;
      case Field::kIpProto:
      case Field::kArpOp:
        set32(f.nw_proto, e);
        break;
      case Field::kIpv4Src:
      case Field::kArpSpa:
        set32(f.nw_src, e);
        break;
      case Field::kIpv4Dst:
      case Field::kArpTpa:
        set32(f.nw_dst, e);
        break;
      case Field::kTcpSrc:
      case Field::kUdpSrc:
      case Field::kSctpSrc:
        set32(f.tp_src, e);
        break;
      case Field::kTcpDst:
      case Field::kUdpDst:
      case Field::kSctpDst:
        set32(f.tp_dst, e);
        break;
      // ICMP type and code live in OVS's 16-bit tp_src/tp_dst, matched exactly.
      case Field::kIcmpv4Type:
      case Field::kIcmpv6Type:
        f.tp_src = Masked32{static_cast<uint32_t>(e.value_u64()), 0xffff};
        break;
      case Field::kIcmpv4Code:
      case Field::kIcmpv6Code:
        f.tp_dst = Masked32{static_cast<uint32_t>(e.value_u64()), 0xffff};
        break;
      case Field::kArpSha:
      case Field::kIpv6NdSll:
        set_bytes(f.arp_sha, e);
        break;
      case Field::kArpTha:
      case Field::kIpv6NdTll:
        set_bytes(f.arp_tha, e);
        break;
      case Field::kIpv6Src:
        set_bytes(f.ipv6_src, e);
        break;
      case Field::kIpv6Dst:
        set_bytes(f.ipv6_dst, e);
        break;
      case Field::kIpv6Flabel:
        set32(f.ipv6_label, e);
        break;
      case Field::kIpv6NdTarget:
        set_bytes(f.nd_target, e);
        break;
      case Field::kMplsLabel:
        set32(f.mpls_label, e);
        break;
      case Field::kMplsTc:
        set32(f.mpls_tc, e);
        break;
      case Field::kMplsBos:
        set32(f.mpls_bos, e);
        break;
      case Field::kTunnelId:
        set64(f.tun_id, e);
        break;
      case Field::kTunIpv4Src:
        set32(f.tun_src, e);
        break;
      case Field::kTunIpv4Dst:
        set32(f.tun_dst, e);
        break;
      case Field::kPktMark:
        set32(f.pkt_mark, e);
        break;
      case Field::kConjId:
        set32(f.conj_id, e);
        break;
      case Field::kCtState:
        set32(f.ct_state, e);
        break;
      case Field::kCtZone:
        set32(f.ct_zone, e);
        break;
      case Field::kCtMark:
        set32(f.ct_mark, e);
        break;
      case Field::kCtLabel:
        set_bytes(f.ct_label, e);
        break;
      case Field::kNxIpFrag:
        set32(f.nw_frag, e);
        break;
      case Field::kNxIpTtl:
        set32(f.nw_ttl, e);
        break;
      case Field::kPbbIsid:
        set32(f.pbb_isid, e);
        break;
      case Field::kIpv6Exthdr:
        set32(f.ipv6_exthdr, e);
        break;
      case Field::kTcpFlags:
        set32(f.tcp_flags, e);
        break;
      case Field::kActsetOutput:
        set32(f.actset_output, e);
        break;
      default:
        break;
    }
  });
  return f;
}

void uint32_masked(std::string& s, const char* name, Masked32 f, uint32_t all = 0xffffffff) {
  if (!f.m) return;
  appendf(s, "%s=%#" PRIx32, name, f.v);
  if (f.m != all) appendf(s, "/%#" PRIx32, f.m);
  s += ',';
}
void uint64_masked(std::string& s, const char* name, Masked64 f) {
  if (!f.m) return;
  appendf(s, "%s=%#" PRIx64, name, f.v);
  if (f.m != ~uint64_t{0}) appendf(s, "/%#" PRIx64, f.m);
  s += ',';
}
void uint16_masked(std::string& s, const char* name, Masked32 f) {
  if (!f.m) return;
  if (f.m == 0xffff)
    appendf(s, "%s=%" PRIu32 ",", name, f.v);
  else
    appendf(s, "%s=0x%" PRIx32 "/0x%" PRIx32 ",", name, f.v, f.m);
}

void format_eth(std::string& s, const uint8_t* a) {
  appendf(s, "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4], a[5]);
}
void eth_masked(std::string& s, const char* name, const MaskedBytes& f) {
  if (!f.any()) return;
  appendf(s, "%s=", name);
  format_eth(s, f.v);
  static const uint8_t kOnes[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  if (std::memcmp(f.m, kOnes, 6) != 0) {
    s += '/';
    format_eth(s, f.m);
  }
  s += ',';
}

int cidr_bits32(uint32_t mask) {
  uint32_t inv = ~mask;
  if (inv & (inv + 1)) return -1;  // not a prefix
  int n = 0;
  while (mask & 0x80000000u) {
    ++n;
    mask <<= 1;
  }
  return n;
}

void format_ipv4(std::string& s, uint32_t ip) {
  appendf(s, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}
void ip_masked(std::string& s, const char* name, Masked32 f) {
  if (!f.m) return;
  appendf(s, "%s=", name);
  format_ipv4(s, f.v);
  if (f.m != 0xffffffff) {
    int bits = cidr_bits32(f.m);
    if (bits >= 0) {
      appendf(s, "/%d", bits);
    } else {
      s += '/';
      format_ipv4(s, f.m);
    }
  }
  s += ',';
}

void format_ipv6(std::string& s, const uint8_t* a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, a, buf, sizeof buf);
  s += buf;
}
void ipv6_masked(std::string& s, const char* name, const MaskedBytes& f) {
  if (!f.any()) return;
  appendf(s, "%s=", name);
  format_ipv6(s, f.v);
  int bits = 0;
  bool all = true;
  for (int i = 0; i < 16; ++i)
    if (f.m[i] != 0xff) all = false;
  // A prefix mask is ones followed only by zeros.
  bool seen_zero = false, is_prefix = true;
  for (int i = 0; i < 16; ++i)
    for (int b = 7; b >= 0; --b) {
      bool one = (f.m[i] >> b) & 1;
      if (one && seen_zero) is_prefix = false;
      if (!one) seen_zero = true;
      if (one && !seen_zero) ++bits;
    }
  if (!all) {
    if (is_prefix) {
      appendf(s, "/%d", bits);
    } else {
      s += '/';
      format_ipv6(s, f.m);
    }
  }
  s += ',';
}

const char* ct_state_name(int bit) {
  static const char* const kNames[] = {"new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat"};
  return bit < 8 ? kNames[bit] : "?";
}

}  // namespace

std::string format_port(uint32_t port) {
  switch (port) {
    case kPortInPort:
      return "IN_PORT";
    case kPortTable:
      return "TABLE";
    case kPortNormal:
      return "NORMAL";
    case kPortFlood:
      return "FLOOD";
    case kPortAll:
      return "ALL";
    case kPortController:
      return "CONTROLLER";
    case kPortLocal:
      return "LOCAL";
    case kPortAny:
      return "ANY";
    case 0xfffffff7:  // OVS's name for "no port yet"
      return "UNSET";
    default:
      break;
  }
  if (port >= 0xffffff00) return std::to_string(port - 0xffff0000u);
  return std::to_string(port);
}

void format_match(std::string& s, ByteSpan oxms, int priority) {
  size_t start = s.size();
  Flow f = fold(oxms);
  if (priority != kDefaultPriority) appendf(s, "priority=%d,", priority);
  uint32_masked(s, "pkt_mark", f.pkt_mark);
  if (f.conj_id.m) appendf(s, "conj_id=%" PRIu32 ",", f.conj_id.v);
  if (f.actset_output.m) appendf(s, "actset_output=%s,", format_port(f.actset_output.v).c_str());
  if (f.ct_state.m) {
    s += "ct_state=";
    if (f.ct_state.m == 0xffffffff || f.ct_state.m == 0xff) {
      if (!f.ct_state.v) s += '0';
      bool first = true;
      for (int b = 0; b < 8; ++b)
        if (f.ct_state.v & (1u << b)) {
          if (!first) s += '|';
          s += ct_state_name(b);
          first = false;
        }
    } else {
      for (int b = 0; b < 8; ++b)
        if (f.ct_state.m & (1u << b)) {
          s += (f.ct_state.v & (1u << b)) ? '+' : '-';
          s += ct_state_name(b);
        }
    }
    s += ',';
  }
  uint16_masked(s, "ct_zone", f.ct_zone.m ? Masked32{f.ct_zone.v, 0xffff} : Masked32{});
  uint32_masked(s, "ct_mark", f.ct_mark);
  if (f.ct_label.any()) {
    // As OVS's ds_put_hex: 0x and the bytes without leading zeros ("0x1"), "0" when all zero.
    auto hex = [&s](const uint8_t* b) {
      size_t i = 0;
      while (i < 16 && !b[i]) ++i;
      if (i == 16) {
        s += '0';
        return;
      }
      appendf(s, "0x%" PRIx8, b[i]);
      for (++i; i < 16; ++i) appendf(s, "%02" PRIx8, b[i]);
    };
    s += "ct_label=";
    hex(f.ct_label.v);
    if (!std::all_of(std::begin(f.ct_label.m), std::end(f.ct_label.m), [](uint8_t b) { return b == 0xff; })) {
      s += '/';
      hex(f.ct_label.m);
    }
    s += ',';
  }

  bool skip_type = false, skip_proto = false;
  uint32_t dl_type = f.dl_type.m ? f.dl_type.v : 0;
  if (f.dl_type.m) {
    skip_type = true;
    const bool has_proto = f.nw_proto.m != 0;
    const uint32_t proto = f.nw_proto.v;
    if (dl_type == 0x0800 || dl_type == 0x86dd) {
      const bool v6 = dl_type == 0x86dd;
      const char* name = v6 ? "ipv6" : "ip";
      if (has_proto) {
        skip_proto = true;
        if (proto == (v6 ? 58u : 1u))
          name = v6 ? "icmp6" : "icmp";
        else if (proto == 6)
          name = v6 ? "tcp6" : "tcp";
        else if (proto == 17)
          name = v6 ? "udp6" : "udp";
        else if (proto == 132)
          name = v6 ? "sctp6" : "sctp";
        else
          skip_proto = false;
      }
      appendf(s, "%s,", name);
    } else if (dl_type == 0x0806) {
      s += "arp,";
    } else if (dl_type == 0x8035) {
      s += "rarp,";
    } else if (dl_type == 0x8847) {
      s += "mpls,";
    } else if (dl_type == 0x8848) {
      s += "mplsm,";
    } else {
      skip_type = false;
    }
  }
  for (int i = 0; i < 16; ++i) {
    char name[8];
    std::snprintf(name, sizeof name, "reg%d", i);
    uint32_masked(s, name, f.regs[i]);
  }
  uint64_masked(s, "tun_id", f.tun_id);
  ip_masked(s, "tun_src", f.tun_src);
  ip_masked(s, "tun_dst", f.tun_dst);
  uint64_masked(s, "metadata", f.metadata);
  if (f.in_port.m) appendf(s, "in_port=%s,", format_port(f.in_port.v).c_str());
  if (f.tci.m) {
    uint32_t vid_mask = f.tci.m & 0x0fff, pcp_mask = f.tci.m & 0xe000, cfi = f.tci.m & 0x1000;
    if (cfi && (f.tci.v & 0x1000) && (!vid_mask || vid_mask == 0x0fff) && (!pcp_mask || pcp_mask == 0xe000) &&
        (vid_mask || pcp_mask)) {
      if (vid_mask) appendf(s, "dl_vlan=%" PRIu32 ",", f.tci.v & 0x0fff);
      if (pcp_mask) appendf(s, "dl_vlan_pcp=%" PRIu32 ",", f.tci.v >> 13);
    } else if (f.tci.m == 0xffff) {
      appendf(s, "vlan_tci=0x%04" PRIx32 ",", f.tci.v);
    } else {
      appendf(s, "vlan_tci=0x%04" PRIx32 "/0x%04" PRIx32 ",", f.tci.v, f.tci.m);
    }
  }
  eth_masked(s, "dl_src", f.dl_src);
  eth_masked(s, "dl_dst", f.dl_dst);
  if (!skip_type && f.dl_type.m) appendf(s, "dl_type=0x%04" PRIx32 ",", dl_type);
  const bool arp = dl_type == 0x0806 || dl_type == 0x8035;
  if (dl_type == 0x86dd) {
    ipv6_masked(s, "ipv6_src", f.ipv6_src);
    ipv6_masked(s, "ipv6_dst", f.ipv6_dst);
    if (f.ipv6_label.m) {
      if (f.ipv6_label.m == 0xffffffff || f.ipv6_label.m == 0xfffff)
        appendf(s, "ipv6_label=0x%05" PRIx32 ",", f.ipv6_label.v);
      else
        appendf(s, "ipv6_label=0x%05" PRIx32 "/0x%05" PRIx32 ",", f.ipv6_label.v, f.ipv6_label.m);
    }
  } else if (arp) {
    ip_masked(s, "arp_spa", f.nw_src);
    ip_masked(s, "arp_tpa", f.nw_dst);
  } else {
    ip_masked(s, "nw_src", f.nw_src);
    ip_masked(s, "nw_dst", f.nw_dst);
  }
  if (!skip_proto && f.nw_proto.m) appendf(s, "%s=%" PRIu32 ",", arp ? "arp_op" : "nw_proto", f.nw_proto.v);
  if (arp) {
    eth_masked(s, "arp_sha", f.arp_sha);
    eth_masked(s, "arp_tha", f.arp_tha);
  }
  if (f.nw_tos.m & 0xfc) appendf(s, "nw_tos=%" PRIu32 ",", f.nw_tos.v & 0xfc);
  if (f.nw_tos.m & 0x03) appendf(s, "nw_ecn=%" PRIu32 ",", f.nw_tos.v & 0x03);
  if (f.nw_ttl.m) appendf(s, "nw_ttl=%" PRIu32 ",", f.nw_ttl.v);
  if (f.mpls_label.m) appendf(s, "mpls_label=%" PRIu32 ",", f.mpls_label.v);
  if (f.mpls_tc.m) appendf(s, "mpls_tc=%" PRIu32 ",", f.mpls_tc.v);
  if (f.mpls_bos.m) appendf(s, "mpls_bos=%" PRIu32 ",", f.mpls_bos.v);
  if (f.nw_frag.m) {
    uint32_t m = f.nw_frag.m & 3, v = f.nw_frag.v;
    const char* text = nullptr;
    if (m == 3)
      text = (v & 1) ? ((v & 2) ? "later" : "first") : ((v & 2) ? "<error>" : "no");
    else if (m == 1)
      text = (v & 1) ? "yes" : "no";
    else if (m == 2)
      text = (v & 2) ? "later" : "not_later";
    if (text) appendf(s, "nw_frag=%s,", text);
  }
  const uint32_t proto = f.nw_proto.m ? f.nw_proto.v : 0;
  if (dl_type == 0x0800 && proto == 1) {
    uint16_masked(s, "icmp_type", f.tp_src.m ? Masked32{f.tp_src.v, 0xffff} : Masked32{});
    uint16_masked(s, "icmp_code", f.tp_dst.m ? Masked32{f.tp_dst.v, 0xffff} : Masked32{});
  } else if (dl_type == 0x86dd && proto == 58) {
    uint16_masked(s, "icmp_type", f.tp_src.m ? Masked32{f.tp_src.v, 0xffff} : Masked32{});
    uint16_masked(s, "icmp_code", f.tp_dst.m ? Masked32{f.tp_dst.v, 0xffff} : Masked32{});
    ipv6_masked(s, "nd_target", f.nd_target);
    eth_masked(s, "nd_sll", f.arp_sha);
    eth_masked(s, "nd_tll", f.arp_tha);
  } else {
    uint16_masked(s, "tp_src", f.tp_src);
    uint16_masked(s, "tp_dst", f.tp_dst);
  }
  if ((dl_type == 0x0800 || dl_type == 0x86dd) && proto == 6 && f.tcp_flags.m) {
    static const char* const kTcpFlags[] = {"fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns"};
    s += "tcp_flags=";
    uint32_t m = f.tcp_flags.m & 0x0fff, v = f.tcp_flags.v;
    if (m == 0x0fff) {
      bool first = true;
      uint32_t unknown = v & ~0x1ffu;
      for (int b = 0; b < 9; ++b)
        if (v & (1u << b)) {
          if (!first) s += '|';
          s += kTcpFlags[b];
          first = false;
        }
      if (unknown)
        appendf(s, first ? "0x%" PRIx32 : "|0x%" PRIx32, unknown);
      else if (first)
        s += '0';
    } else {
      for (int b = 0; b < 12; ++b)
        if (m & (1u << b)) {
          s += (v & (1u << b)) ? '+' : '-';
          s += b < 9 ? kTcpFlags[b] : "[Unknown]";
        }
    }
    s += ',';
  }
  if (s.size() > start && s.back() == ',') s.pop_back();
}

namespace {

// A packet-in reason as OVS names it: OFPR_* by name, OVS's internal
// "explicit/implicit miss" reasons (6, 7) with an empty name, others by number.
void format_packet_in_reason(std::string& s, uint8_t reason) {
  static const char* const kReasons[] = {"no_match",   "action", "invalid_ttl",
                                         "action_set", "group",  "packet_out"};
  if (reason < 6)
    s += kReasons[reason];
  else if (reason >= 8)
    appendf(s, "%u", reason);
}

void format_subfield(std::string& s, const Subfield& sf) {
  const FieldInfo& info = field_info(sf.field);
  s += info.nxm_name;
  uint16_t width = field_bits(sf.field);
  uint16_t n = sf.n_bits ? sf.n_bits : width;
  if (sf.ofs == 0 && n == width)
    s += "[]";
  else if (n == 1)
    appendf(s, "[%u]", sf.ofs);
  else
    appendf(s, "[%u..%u]", sf.ofs, sf.ofs + n - 1);
}

void format_field_value(std::string& s, const FieldInfo& info, ByteSpan value) {
  switch (info.format) {
    case FieldFormat::kEthernet:
      format_eth(s, value.data());
      return;
    case FieldFormat::kIpv4:
      format_ipv4(s, load_be32(value.data()));
      return;
    case FieldFormat::kIpv6:
      format_ipv6(s, value.data());
      return;
    case FieldFormat::kPort: {
      auto port = static_cast<uint32_t>(OxmEntry{&info, 0, value, {}}.value_u64());
      if (info.bytes == 2 && port >= 0xff00) port += 0xffff0000u;  // OpenFlow 1.0 reserved ports
      s += format_port(port);
      return;
    }
    case FieldFormat::kDecimal:
      appendf(s, "%" PRIu64, OxmEntry{&info, 0, value, {}}.value_u64());
      return;
    default:
      appendf(s, "%#" PRIx64, OxmEntry{&info, 0, value, {}}.value_u64());
      return;
  }
}

void format_one(std::string& s, const ActionView& a) {
  const uint8_t* p = a.bytes.data();
  switch (a.info->type) {
    case ActionType::kOutput: {
      uint32_t port = load_be32(p + 4);
      if (port < 0xffffff00) s += "output:";
      s += format_port(port);
      if (port == kPortController) appendf(s, ":%u", load_be16(p + 8));
      return;
    }
    case ActionType::kGroup:
      appendf(s, "group:%" PRIu32, load_be32(p + 4));
      return;
    case ActionType::kSetQueue:
      appendf(s, "set_queue:%" PRIu32, load_be32(p + 4));
      return;
    case ActionType::kPushVlan:
      appendf(s, "push_vlan:%#x", load_be16(p + 4));
      return;
    case ActionType::kPushMpls:
      appendf(s, "push_mpls:0x%04x", load_be16(p + 4));
      return;
    case ActionType::kPopMpls:
      appendf(s, "pop_mpls:0x%04x", load_be16(p + 4));
      return;
    case ActionType::kPopVlan:
      s += "pop_vlan";
      return;
    case ActionType::kDecNwTtl:
      s += "dec_ttl";
      return;
    case ActionType::kSetNwTtl:
      appendf(s, "mod_nw_ttl:%u", p[4]);
      return;
    case ActionType::kSetMplsTtl:
      appendf(s, "set_mpls_ttl(%u)", p[4]);
      return;
    case ActionType::kDecMplsTtl:
      s += "dec_mpls_ttl";
      return;
    case ActionType::kCopyTtlIn:
      s += "copy_ttl_in";
      return;
    case ActionType::kCopyTtlOut:
      s += "copy_ttl_out";
      return;
    case ActionType::kSetField: {
      uint32_t h = load_be32(p + 4);
      const FieldInfo* f = find_field(oxm_class(h), oxm_number(h));
      s += "set_field:";
      format_field_value(s, *f, a.bytes.subspan(8, f->bytes));
      s += "->";
      s += f->mf_name;
      return;
    }
    case ActionType::kNxResubmit:
    case ActionType::kNxResubmitTable: {
      uint16_t in_port = load_be16(p + 10);
      uint8_t table = a.info->type == ActionType::kNxResubmitTable ? p[12] : kTableNone;
      uint32_t port32 = in_port >= 0xff00 ? 0xffff0000u + in_port : in_port;
      if (in_port != 0xfff8 && table == kTableNone) {
        s += "resubmit:" + format_port(port32);
      } else {
        s += "resubmit(";
        if (in_port != 0xfff8) s += format_port(port32);
        s += ',';
        if (table != kTableNone) appendf(s, "%u", table);
        s += ')';
      }
      return;
    }
    case ActionType::kNxSetTunnel:
      appendf(s, "set_tunnel:%#" PRIx32, load_be32(p + 12));
      return;
    case ActionType::kNxSetTunnel64:
      appendf(s, "set_tunnel64:%#" PRIx64, load_be64(p + 16));  // OVS writes "64" for this action
      return;
    case ActionType::kNxRegMove: {
      uint16_t n_bits = load_be16(p + 10);
      s += "move:";
      format_subfield(s, make_subfield(load_be32(p + 16), load_be16(p + 12), n_bits));
      s += "->";
      format_subfield(s, make_subfield(load_be32(p + 20), load_be16(p + 14), n_bits));
      return;
    }
    case ActionType::kNxRegLoad: {
      uint16_t ofs_nbits = load_be16(p + 10);
      appendf(s, "load:%#" PRIx64 "->", load_be64(p + 16));
      format_subfield(s, make_subfield(load_be32(p + 12), ofs_nbits >> 6, (ofs_nbits & 0x3f) + 1));
      return;
    }
    case ActionType::kNxOutputReg: {
      uint16_t ofs_nbits = load_be16(p + 10);
      s += "output:";
      format_subfield(s, make_subfield(load_be32(p + 12), ofs_nbits >> 6, (ofs_nbits & 0x3f) + 1));
      return;
    }
    case ActionType::kNxNote: {
      s += "note:";
      ByteSpan data = a.bytes.subspan(10);
      // OVS keeps the note's trailing padding zeros only up to the declared length: all of it.
      for (size_t i = 0; i < data.size(); ++i) appendf(s, i ? ".%02x" : "%02x", data[i]);
      return;
    }
    case ActionType::kNxConjunction:
      appendf(s, "conjunction(%" PRIu32 ",%u/%u)", load_be32(p + 12), p[10] + 1u, p[11]);
      return;
    case ActionType::kNxExit:
      s += "exit";
      return;
    case ActionType::kNxCtClear:
      s += "ct_clear";
      return;
    case ActionType::kNxController: {
      uint16_t max_len = load_be16(p + 10), id = load_be16(p + 12);
      uint8_t reason = p[14];
      if (reason == 1 && id == 0) {  // "action", the plain form
        appendf(s, "CONTROLLER:%u", max_len);
        return;
      }
      s += "controller(";
      size_t mark = s.size();
      if (reason != 1) {
        s += "reason=";
        format_packet_in_reason(s, reason);
        s += ',';
      }
      if (max_len != 0xffff) appendf(s, "max_len=%u,", max_len);
      if (id) appendf(s, "id=%u,", id);
      if (s.size() > mark && s.back() == ',') s.pop_back();
      s += ')';
      return;
    }
    case ActionType::kNxLearn: {
      LearnHeader h;
      LearnSpec specs[64];
      size_t n = decode_learn(a.bytes, &h, specs, 64);
      appendf(s, "learn(table=%u", h.table_id);
      if (h.idle_timeout) appendf(s, ",idle_timeout=%u", h.idle_timeout);
      if (h.hard_timeout) appendf(s, ",hard_timeout=%u", h.hard_timeout);
      if (h.fin_idle_timeout) appendf(s, ",fin_idle_timeout=%u", h.fin_idle_timeout);
      if (h.fin_hard_timeout) appendf(s, ",fin_hard_timeout=%u", h.fin_hard_timeout);
      if (h.priority != kDefaultPriority) appendf(s, ",priority=%u", h.priority);
      if (h.flags & 1) s += ",send_flow_rem";
      if (h.flags & 2) s += ",delete_learned";
      if (h.cookie) appendf(s, ",cookie=%#" PRIx64, h.cookie);
      for (size_t i = 0; i < n; ++i) {
        const LearnSpec& sp = specs[i];
        s += ',';
        // The immediate's value: its last ceil(n_bits / 8) bytes, written as OVS's ds_put_hex.
        ByteSpan imm = sp.immediate.last(std::min<size_t>(sp.immediate.size(), (sp.n_bits + 7u) / 8));
        auto immediate = [&] {
          bool printed = false;
          for (uint8_t b : imm) {
            if (!b && !printed) continue;
            appendf(s, printed ? "%02x" : "0x%x", b);
            printed = true;
          }
          if (!printed) s += '0';
        };
        switch (sp.kind) {
          case LearnSpec::Kind::kMatch:
            if (sp.src_immediate) {
              const FieldInfo& dst = field_info(sp.dst.field);
              if (sp.dst.ofs == 0 && sp.n_bits == field_bits(sp.dst.field)) {
                s += dst.mf_name;
                s += '=';
                format_field_value(s, dst, imm);
              } else {
                format_subfield(s, sp.dst);
                s += '=';
                immediate();
              }
            } else {
              format_subfield(s, sp.dst);
              // Written once when source and destination are the same bits of the same field.
              if (field_info(sp.src.field).mf_name != field_info(sp.dst.field).mf_name ||
                  sp.src.ofs != sp.dst.ofs) {
                s += '=';
                format_subfield(s, sp.src);
              }
            }
            break;
          case LearnSpec::Kind::kLoad:
            s += "load:";
            if (sp.src_immediate)
              immediate();
            else
              format_subfield(s, sp.src);
            s += "->";
            format_subfield(s, sp.dst);
            break;
          case LearnSpec::Kind::kOutput:
            s += "output:";
            format_subfield(s, sp.src);
            break;
        }
      }
      s += ')';
      return;
    }
    case ActionType::kNxCt: {
      uint16_t flags = load_be16(p + 10);
      s += "ct(";
      size_t mark = s.size();
      if (flags & 1) s += "commit,";
      if (flags & 2) s += "force,";
      if (p[18] != kTableNone) appendf(s, "table=%u,", p[18]);
      uint32_t zone_src = load_be32(p + 12);
      uint16_t zone = load_be16(p + 16);
      if (zone_src) {
        s += "zone=";
        format_subfield(s, make_subfield(zone_src, zone >> 6, (zone & 0x3f) + 1));
        s += ',';
      } else if (zone) {
        appendf(s, "zone=%u,", zone);
      }
      ByteSpan nested = a.bytes.subspan(24);
      // A leading nat is written outside exec(...), as OVS does.
      if (nested.size() >= 16 && load_be16(nested.data()) == kActionTypeExperimenter &&
          load_be16(nested.data() + 8) == action_info(ActionType::kNxNat).code) {
        size_t len = load_be16(nested.data() + 2);
        format_one(s, ActionView{&action_info(ActionType::kNxNat), nested.first(len)});
        s += ',';
        nested = nested.subspan(len);
      }
      if (!nested.empty()) {
        s += "exec(";
        format_actions(s, nested);
        s += "),";
      }
      uint16_t alg = load_be16(p + 22);
      if (alg == 21)
        s += "alg=ftp,";
      else if (alg == 69)
        s += "alg=tftp,";
      else if (alg)
        appendf(s, "alg=%u,", alg);
      if (s.size() > mark && s.back() == ',') s.pop_back();
      s += ')';
      return;
    }
    case ActionType::kNxNat: {
      NatArgs n;
      decode_nat(a.bytes, &n);
      s += "nat";
      if (!(n.flags & (NatArgs::kSrc | NatArgs::kDst))) return;
      s += (n.flags & NatArgs::kSrc) ? "(src" : "(dst";
      if (n.family) {
        s += '=';
        if (n.family == 4) {
          format_ipv4(s, n.v4_min);
          if (n.v4_max && n.v4_max != n.v4_min) {
            s += '-';
            format_ipv4(s, n.v4_max);
          }
        } else {
          bool bracket = n.proto_min != 0;
          auto v6 = [&](const std::array<uint8_t, 16>& addr) {
            if (bracket) s += '[';
            format_ipv6(s, addr.data());
            if (bracket) s += ']';
          };
          v6(n.v6_min);
          static const std::array<uint8_t, 16> kZero{};
          if (n.v6_max != kZero && n.v6_max != n.v6_min) {
            s += '-';
            v6(n.v6_max);
          }
        }
        if (n.proto_min) {
          appendf(s, ":%u", n.proto_min);
          if (n.proto_max && n.proto_max != n.proto_min) appendf(s, "-%u", n.proto_max);
        }
        s += ',';
        if (n.flags & NatArgs::kPersistent) s += "persistent,";
        if (n.flags & NatArgs::kHash) s += "hash,";
        if (n.flags & NatArgs::kRandom) s += "random,";
      }
      if (s.back() == ',') s.pop_back();
      s += ')';
      return;
    }
    default:
      s += a.info->name;
      return;
  }
}

}  // namespace

void format_actions(std::string& s, ByteSpan actions) {
  if (actions.empty()) {
    s += "drop";
    return;
  }
  bool first = true;
  for_each_action(actions, [&](const ActionView& a) {
    if (!first) s += ',';
    first = false;
    format_one(s, a);
  });
}

void format_instructions(std::string& s, ByteSpan instructions) {
  // OVS writes instructions in execution order whatever their order on the wire.
  std::string meter, apply, clear, write, metadata, go;
  for_each_instruction(instructions, [&](const InstructionView& i) {
    const uint8_t* p = i.bytes.data();
    switch (i.type) {
      case InstructionType::kMeter:
        appendf(meter, "meter:%" PRIu32, load_be32(p + 4));
        break;
      case InstructionType::kApplyActions:
        if (!i.actions.empty()) format_actions(apply, i.actions);
        break;
      case InstructionType::kClearActions:
        clear = "clear_actions";
        break;
      case InstructionType::kWriteActions:
        write = "write_actions(";
        format_actions(write, i.actions);  // "drop" when empty, as OVS writes it
        write += ')';
        break;
      case InstructionType::kWriteMetadata: {
        uint64_t v = load_be64(p + 8), m = load_be64(p + 16);
        appendf(metadata, "write_metadata:%#" PRIx64, v);
        if (m != ~uint64_t{0}) appendf(metadata, "/%#" PRIx64, m);
        break;
      }
      case InstructionType::kGotoTable:
        appendf(go, "goto_table:%u", p[4]);
        break;
    }
  });
  size_t start = s.size();
  for (const std::string* part : {&meter, &apply, &clear, &write, &metadata, &go}) {
    if (part->empty()) continue;
    if (s.size() > start) s += ',';
    s += *part;
  }
  if (s.size() == start) s += "drop";
}

}  // namespace vlcp::ofp

// --- whole messages ---------------------------------------------------------------------------

namespace vlcp::ofp {
namespace {

// OVS's ds_put_hex_dump with ASCII: "00000000  70 69 6e 67 ...  |ping            |".
void hex_dump(std::string& s, ByteSpan bytes) {
  for (size_t ofs = 0; ofs < bytes.size(); ofs += 16) {
    size_t n = std::min<size_t>(16, bytes.size() - ofs);
    appendf(s, "%08zx  ", ofs);
    for (size_t i = 0; i < 16; ++i) {
      if (i < n)
        appendf(s, "%02x%c", bytes[ofs + i], i == 7 ? '-' : ' ');
      else
        s += "   ";
    }
    s += '|';
    for (size_t i = 0; i < 16; ++i) {
      int c = i < n ? bytes[ofs + i] : ' ';
      s += (c >= 32 && c < 127) ? static_cast<char>(c) : '.';
    }
    s += '|';
    if (ofs + 16 < bytes.size()) s += '\n';
  }
}

void print_flow_mod(std::string& s, const FlowMod& m) {
  static const char* const kCommands[] = {"ADD", "MOD", "MOD_STRICT", "DEL", "DEL_STRICT"};
  s += ' ';
  s += kCommands[static_cast<int>(m.command)];
  if (m.table_id != 0) appendf(s, " table:%u", m.table_id);
  s += ' ';
  format_match(s, m.match.oxms(), m.priority);
  if (s.back() != ' ') s += ' ';
  // OVS reads an ADD's cookie as the new flow's cookie, and other commands' as a filter.
  if (m.command == FlowModCommand::kAdd) {
    if (m.cookie != 0 && m.cookie != ~uint64_t{0}) appendf(s, "cookie:0x%" PRIx64 " ", m.cookie);
  } else if (m.cookie_mask != 0) {
    appendf(s, "cookie:0x%" PRIx64 "/0x%" PRIx64 " ", m.cookie, m.cookie_mask);
  }
  if (m.idle_timeout) appendf(s, "idle:%u ", m.idle_timeout);
  if (m.hard_timeout) appendf(s, "hard:%u ", m.hard_timeout);
  if (m.buffer_id != kNoBuffer) appendf(s, "buf:0x%" PRIx32 " ", m.buffer_id);
  if (m.out_port != kPortAny) s += "out_port:" + format_port(m.out_port) + " ";
  static const char* const kFlags[] = {"send_flow_rem ", "check_overlap ", "reset_counts ",
                                       "no_packet_counts ", "no_byte_counts "};
  for (int i = 0; i < 5; ++i)
    if (m.flags & (1u << i)) s += kFlags[i];
  s += "actions=";
  format_instructions(s, m.instructions.bytes());
}

}  // namespace

namespace {
// OVS's durations: "12s", "12.345s" when exact in milliseconds, else the nanoseconds needed.
void format_duration(std::string& s, uint32_t sec, uint32_t nsec) {
  appendf(s, "%" PRIu32, sec);
  if (nsec) {
    if (nsec % 1000000 == 0) {
      appendf(s, ".%03" PRIu32, nsec / 1000000);
    } else {
      appendf(s, ".%09" PRIu32, nsec);
      while (s.back() == '0') s.pop_back();
    }
  }
  s += 's';
}
}  // namespace

namespace {
// Bit names in ascending order, unknown bits as one hex number, "0" when none (OVS's
// ofp_print_bit_names), then a newline.
void bit_names(std::string& s, uint32_t bits, const char* const* names, size_t n_names) {
  if (!bits) {
    s += "0\n";
    return;
  }
  bool first = true;
  for (size_t i = 0; i < n_names && i < 32; ++i) {
    if ((bits & (1u << i)) && names[i]) {
      if (!first) s += ' ';
      s += names[i];
      bits &= ~(1u << i);
      first = false;
    }
  }
  if (bits) appendf(s, first ? "0x%" PRIx32 : " 0x%" PRIx32, bits);
  s += '\n';
}

// OpenFlow 1.3 port config, state and feature bits by name (ports, PORT_MOD).
const char* const kConfig[] = {"PORT_DOWN", nullptr, "NO_RECV", nullptr, nullptr, "NO_FWD", "NO_PACKET_IN"};
const char* const kState[] = {"LINK_DOWN", "BLOCKED", "LIVE"};
const char* const kFeatures[] = {"10MB-HD", "10MB-FD",  "100MB-HD",   "100MB-FD",       "1GB-HD", "1GB-FD",
                                 "10GB-FD", "40GB-FD",  "100GB-FD",   "1TB-FD",         "OTHER",  "COPPER",
                                 "FIBER",   "AUTO_NEG", "AUTO_PAUSE", "AUTO_PAUSE_ASYM"};

// A port as OVS describes it (ofputil_phy_port_format), OpenFlow 1.3 bit meanings.
void format_port_desc(std::string& s, const Port& port) {
  std::string name;
  for (char c : port.name) {
    if (!std::isprint(static_cast<unsigned char>(c))) break;
    name += c;
  }
  s += ' ';
  s += format_port(port.port_no);
  appendf(s, "(%s): addr:", name.c_str());
  format_eth(s, port.hw_addr.data());
  s += "\n     config:     ";
  bit_names(s, port.config & 0x65, kConfig, std::size(kConfig));
  s += "     state:      ";
  bit_names(s, port.state & 0x7, kState, std::size(kState));
  const std::pair<const char*, uint32_t> features[] = {{"     current:    ", port.curr},
                                                       {"     advertised: ", port.advertised},
                                                       {"     supported:  ", port.supported},
                                                       {"     peer:       ", port.peer}};
  for (const auto& [label, bits] : features) {
    if (!(bits & 0xffff)) continue;
    s += label;
    bit_names(s, bits & 0xffff, kFeatures, std::size(kFeatures));
  }
  appendf(s, "     speed: %" PRIu32 " Mbps now, %" PRIu32 " Mbps max", port.curr_speed / 1000,
          port.max_speed / 1000);
}
}  // namespace

void format_flow_stats(std::string& s, const FlowStats& fs, bool show_stats) {
  if (show_stats || fs.cookie) appendf(s, "cookie=0x%" PRIx64 ", ", fs.cookie);
  if (show_stats) {
    s += "duration=";
    format_duration(s, fs.duration_sec, fs.duration_nsec);
    s += ", ";
  }
  if (show_stats || fs.table_id) appendf(s, "table=%u, ", fs.table_id);
  if (show_stats) appendf(s, "n_packets=%" PRIu64 ", n_bytes=%" PRIu64 ", ", fs.packet_count, fs.byte_count);
  if (fs.idle_timeout) appendf(s, "idle_timeout=%u, ", fs.idle_timeout);
  if (fs.hard_timeout) appendf(s, "hard_timeout=%u, ", fs.hard_timeout);
  static const char* const kFlags[] = {"send_flow_rem ", "check_overlap ", "reset_counts ",
                                       "no_packet_counts ", "no_byte_counts "};
  for (int i = 0; i < 5; ++i)
    if (fs.flags & (1u << i)) s += kFlags[i];
  size_t before = s.size();
  format_match(s, fs.match.oxms(), fs.priority);
  if (s.size() != before) s += ' ';
  s += "actions=";
  format_instructions(s, fs.instructions.bytes());
}

namespace {
// The transport fields OVS extracts: ports (TCP, UDP), TCP flags, ICMP(v6) type and code.
void add_l4(Match& m, const pkt::PacketView& v) {
  if (v.tcp) {
    m.add(Field::kTcpSrc, v.tcp->src_port).add(Field::kTcpDst, v.tcp->dst_port);
    m.add(Field::kTcpFlags, ((v.tcp->data_offset & 1u) << 8) | v.tcp->flags);
  } else if (v.udp) {
    m.add(Field::kUdpSrc, v.udp->src_port).add(Field::kUdpDst, v.udp->dst_port);
  } else if (v.icmp && v.ip6) {
    m.add(Field::kIcmpv6Type, v.icmp->type).add(Field::kIcmpv6Code, v.icmp->code);
  } else if (v.icmp) {
    m.add(Field::kIcmpv4Type, v.icmp->type).add(Field::kIcmpv4Code, v.icmp->code);
  }
}
}  // namespace

void format_packet(std::string& s, ByteSpan frame) {
  using namespace pkt;
  if (frame.size() < Ethernet::kSize) return;
  ParseResult r = parse_packet(frame);
  const PacketView& v = r.view;
  // The fields OVS extracts from such a packet, in its canonical text.
  Match m;
  // The whole TCI, exact (an untagged packet has TCI 0: "vlan_tci=0x0000").
  m.add(Field::kNxmVlanTci, v.n_vlans ? (v.vlans[0].tci | 0x1000) : 0);
  m.add_bytes(Field::kEthSrc, ByteSpan(v.eth.src)).add_bytes(Field::kEthDst, ByteSpan(v.eth.dst));
  m.add(Field::kEthType, v.ethertype);
  size_t l4_size = 0;
  if (v.ethertype == kEthTypeArp) {
    Arp arp = v.arp.value_or(Arp{});  // OVS shows zeros for an ARP header it cannot read
    m.add(Field::kArpOp, arp.op <= 0xff ? arp.op : 0)
        .add(Field::kArpSpa, arp.spa)
        .add(Field::kArpTpa, arp.tpa)
        .add_bytes(Field::kArpSha, ByteSpan(arp.sha))
        .add_bytes(Field::kArpTha, ByteSpan(arp.tha));
  } else if (v.ip) {
    m.add(Field::kIpv4Src, v.ip->src).add(Field::kIpv4Dst, v.ip->dst).add(Field::kIpProto, v.ip->protocol);
    m.add(Field::kIpDscp, v.ip->tos >> 2).add(Field::kIpEcn, v.ip->tos & 3).add(Field::kNxIpTtl, v.ip->ttl);
    uint16_t frag = v.ip->flags_frag;
    const bool more = frag & 0x2000, offset = (frag & 0x1fff) != 0;
    m.add_masked(Field::kNxIpFrag, offset ? 3 : more ? 1 : 0, 3);
    if (!v.ip_fragment) {
      l4_size = v.ip->total_length - (v.ip->version_ihl & 0xf) * 4u;
      add_l4(m, v);
    }
  } else if (v.ip6) {
    uint32_t vcf = v.ip6->version_class_flow;
    uint8_t tc = static_cast<uint8_t>(vcf >> 20);
    m.add_bytes(Field::kIpv6Src, ByteSpan(v.ip6->src)).add_bytes(Field::kIpv6Dst, ByteSpan(v.ip6->dst));
    m.add(Field::kIpv6Flabel, vcf & 0xfffff).add(Field::kIpProto, v.l4_protocol);
    m.add(Field::kIpDscp, tc >> 2).add(Field::kIpEcn, tc & 3).add(Field::kNxIpTtl, v.ip6->hop_limit);
    m.add_masked(Field::kNxIpFrag, v.ip_fragment ? 3 : v.first_fragment ? 1 : 0, 3);
    if (!v.ip_fragment) {
      l4_size = v.tcp ? Tcp::kSize : v.udp ? Udp::kSize : v.icmp ? Icmp::kSize : 0;
      add_l4(m, v);
      if (v.nd_target) {
        m.add_bytes(Field::kIpv6NdTarget, ByteSpan(*v.nd_target));
        m.add_bytes(Field::kIpv6NdSll, ByteSpan(v.nd_sll)).add_bytes(Field::kIpv6NdTll, ByteSpan(v.nd_tll));
      }
    }
  }
  format_match(s, m.oxms());
  if (v.tcp && l4_size >= Tcp::kSize)
    appendf(s, " tcp_csum:%x", v.tcp->checksum);
  else if (v.udp && l4_size >= Udp::kSize)
    appendf(s, " udp_csum:%x", v.udp->checksum);
  else if (v.icmp && l4_size >= Icmp::kSize)
    appendf(s, v.ip6 ? " icmp6_csum:%x" : " icmp_csum:%x", v.icmp->checksum);
}

namespace {
// SET_ASYNC and GET_ASYNC_REPLY as OVS shows them (ofputil_format_set_async_config): the three
// OpenFlow 1.3 masks per role, limited to the reasons 1.3 defines, then the rows 1.3 cannot set.
void format_async_config(std::string& s, const AsyncConfig& c) {
  static const char* const kPortReasons[] = {"add", "delete", "modify"};
  static const char* const kRemovedReasons[] = {"idle",         "hard",         "delete",
                                                "group_delete", "meter_delete", "eviction"};
  auto row = [&s](const char* name, uint32_t mask, auto&& reason) {
    appendf(s, "%16s:", name);
    for (int j = 0; j < 32; ++j) {
      if (!(mask & (1u << j))) continue;
      std::string r;
      reason(r, j);
      if (!r.empty()) s += " " + r;
    }
    if (!mask) s += " (off)";
    s += '\n';
  };
  for (int i = 0; i < 2; ++i) {
    s += i == 0 ? "\n primary:\n" : "\n secondary:\n";
    uint32_t pin = (i == 0 ? c.packet_in_master : c.packet_in_slave) & 0x7;
    uint32_t port = (i == 0 ? c.port_status_master : c.port_status_slave) & 0x7;
    uint32_t removed = (i == 0 ? c.flow_removed_master : c.flow_removed_slave) & 0x3f;
    if (pin & 1) pin |= 1u << 6;  // no_match implies OVS's explicit_miss (which prints nothing)
    row("PACKET_IN", pin, [](std::string& r, int j) { format_packet_in_reason(r, static_cast<uint8_t>(j)); });
    row("PORT_STATUS", port, [](std::string& r, int j) { r = kPortReasons[j]; });
    row("FLOW_REMOVED", removed, [](std::string& r, int j) { r = kRemovedReasons[j]; });
    row("ROLE_STATUS", 0, [](std::string&, int) {});
    row("TABLE_STATUS", 0, [](std::string&, int) {});
    row("REQUESTFORWARD", 0, [](std::string&, int) {});
  }
  s.pop_back();  // the caller's line ends the message
}

// A meter's id, flags and bands as OVS shows them (ofputil_format_meter_config, without its
// closing newline).
void format_meter_id(std::string& s, uint32_t id) {
  if (id <= 0xffff0000)
    appendf(s, "meter=%" PRIu32, id);
  else
    s += id == 0xfffffffd   ? "meter=slowpath"
         : id == 0xfffffffe ? "meter=controller"
         : id == 0xffffffff ? "meter=all"
                            : "meter=unknown";
}
void format_meter(std::string& s, uint32_t id, uint16_t flags, ByteSpan bands) {
  format_meter_id(s, id);
  s += ' ';
  if (flags & 1) s += "kbps ";
  if (flags & 2) s += "pktps ";
  if (flags & 4) s += "burst ";
  if (flags & 8) s += "stats ";
  if (flags & ~0xfu) appendf(s, "flags:0x%x ", flags & ~0xfu);
  s += "bands=";
  for (size_t off = 0; off + MeterBand::kSize <= bands.size();) {
    MeterBand b;
    MeterBand::decode(bands.subspan(off), &b);
    s += "\ntype=";
    if (b.type == 1)
      s += "drop";
    else if (b.type == 2)
      s += "dscp_remark";
    else
      appendf(s, "%u", b.type);
    appendf(s, " rate=%" PRIu32, b.rate);
    if (flags & 4) appendf(s, " burst_size=%" PRIu32, b.burst_size);
    if (b.type == 2) appendf(s, " prec_level=%u", b.prec_level);
    off += b.len >= MeterBand::kSize ? b.len : MeterBand::kSize;
  }
}

// A group as OVS's ofp_print_group shows it: id, type, buckets.
void format_group_entry(std::string& s, uint32_t group_id, uint8_t type, const std::vector<Bucket>& buckets) {
  static const char* const kTypes[] = {"all", "select", "indirect", "ff", "unknown"};
  appendf(s, "group_id=%" PRIu32 ",type=%s", group_id, kTypes[type > 4 ? 4 : type]);
  for (const Bucket& b : buckets) {
    s += ",bucket=";
    if (b.weight != (type == 1 ? 1 : 0)) appendf(s, "weight:%u,", b.weight);
    if (b.watch_port != kPortAny) s += "watch_port:" + format_port(b.watch_port) + ",";
    if (b.watch_group != kGroupAny) appendf(s, "watch_group:%" PRIu32 ",", b.watch_group);
    s += "actions=";
    format_actions(s, b.actions.bytes());
  }
}

std::string format_queue(uint32_t id) {
  return id == 0xffffffff ? "ALL" : std::to_string(id);
}
std::string format_group(uint32_t id) {
  return id == 0xfffffffc ? "ALL" : id == 0xffffffff ? "ANY" : std::to_string(id);
}

// The header line OVS can name from a message's first bytes (ofpraw_decode_partial), or "".
std::string header_line(ByteSpan m) {
  if (m.size() < 8 || (m[0] != kOfp13 && m[0] != kOfp14) || message_min_length(m[1]) == 0) return "";
  auto type = static_cast<MsgType>(m[1]);
  std::string name(message_name(type));
  if (type == MsgType::kMultipartRequest || type == MsgType::kMultipartReply) {
    if (m.size() < 16) return "";
    std::string_view body = multipart_name(static_cast<MultipartType>(load_be16(m.data() + 8)));
    if (body.empty()) return "";
    name = "OFPST_" + std::string(body) + (type == MsgType::kMultipartReply ? " reply" : " request");
  }
  appendf(name, " (OF1.%d) (xid=0x%" PRIx32 "):", m[0] == kOfp14 ? 4 : 3, load_be32(m.data() + 4));
  return name;
}

// A message that may be cut short or carry extra bytes, as OVS's ofp_to_string shows it.
void print_nested(std::string& s, ByteSpan m) {
  if (m.empty()) {
    s += "OpenFlow message is empty\n";
    return;
  }
  if (m.size() < 8) {
    appendf(s, "OpenFlow packet too short (only %zu bytes):\n", m.size());
    hex_dump(s, m);
    return;
  }
  uint16_t len = load_be16(m.data() + 2);
  if (len > m.size()) {
    std::string header = header_line(m);
    if (!header.empty()) s += header + "\n";
    appendf(s, "(***truncated to %zu bytes from %u***)\n", m.size(), len);
    hex_dump(s, m);
    return;
  }
  if (len < m.size()) {
    appendf(s, "(***only uses %u bytes out of %zu***)\n", len, m.size());
    hex_dump(s, m);
    return;
  }
  std::string text = print_message(m);
  s += text;
  if (text.find("***decode error: ") != std::string::npos) {
    s += '\n';
    hex_dump(s, m);
  }
}

// A fixed-size string field up to its first NUL (as printf's %.*s shows it).
std::string fixed_string(const char* data, size_t size) {
  return std::string(data, strnlen(data, size));
}
}  // namespace

std::string print_message(ByteSpan message) {
  auto frame = decode_frame(message);
  if (!frame.ok()) return "***decode error: " + error_name(frame.error()) + "***";
  const Frame& f = *frame;
  std::string s(message_name(f.header.type));
  if (f.header.type == MsgType::kMultipartRequest || f.header.type == MsgType::kMultipartReply) {
    // Named by their body: "OFPST_PORT_DESC reply".
    auto mp = decode_multipart(f);
    std::string_view body = mp.ok() ? multipart_name(mp->type) : std::string_view{};
    if (!body.empty())
      s = "OFPST_" + std::string(body) + (f.header.type == MsgType::kMultipartReply ? " reply" : " request");
  }
  // ONF's bundle messages (OpenFlow 1.3's experimenter form) go by OVS's names.
  ExperimenterHeader exp{};
  bool bundle = f.header.type == MsgType::kExperimenter && ExperimenterHeader::decode(f.body, &exp) &&
                exp.experimenter == kOnfExperimenter &&
                (exp.exp_type == kOnfBundleControl || exp.exp_type == kOnfBundleAdd);
  if (bundle) s = exp.exp_type == kOnfBundleControl ? "ONFT_BUNDLE_CONTROL" : "ONFT_BUNDLE_ADD_MESSAGE";
  appendf(s, " (OF1.%d) (xid=0x%" PRIx32 "):", f.header.version == kOfp14 ? 4 : 3, f.header.xid);
  if ((f.header.type == MsgType::kMultipartRequest || f.header.type == MsgType::kMultipartReply) &&
      f.body.size() >= 4) {
    uint16_t flags = load_be16(f.body.data() + 2);  // OVS's ofp_print_stats: 1.3 requests too
    if (flags) s += " flags=";
    if (flags & 1) s += "[more]";
    if (flags & ~1) appendf(s, "[***unknown flags 0x%04" PRIx16 "***]", static_cast<uint16_t>(flags & ~1));
  }
  auto fail = [&](OfpError e) { return s + " ***decode error: " + error_name(e) + "***"; };
  // TABLE_FEATURES, as OVS: an error after some output goes on a line of its own.
  auto table_features = [&](ByteSpan body) {
    size_t header_len = s.size();
    auto bad = format_table_features(s, f.header.version, body);
    if (!bad) return s;
    if (s.size() == header_len) return s + " ***decode error: " + *bad + "***";
    while (!s.empty() && s.back() == ' ') s.pop_back();
    if (!s.empty() && s.back() != '\n') s += '\n';
    return s + "***decode error: " + *bad + "***";
  };
  switch (f.header.type) {
    case MsgType::kHello: {
      auto h = decode_hello(f);
      if (!h.ok()) return fail(h.error());
      appendf(s, "\n version bitmap: ");
      bool first = true;
      for (int v = 0; v < 32; ++v)
        if (h->version_bitmap & (1u << v)) {
          appendf(s, first ? "0x%02x" : ", 0x%02x", v);
          first = false;
        }
      if (h->malformed) {
        s += "\n unknown data in hello:\n";
        hex_dump(s, f.bytes);
      }
      return s;
    }
    case MsgType::kFlowMod: {
      auto m = decode_flow_mod(f);
      if (!m.ok()) return fail(m.error());
      print_flow_mod(s, *m);
      return s;
    }
    case MsgType::kPacketOut: {
      auto p = decode_packet_out(f);
      if (!p.ok()) return fail(p.error());
      s += " in_port=" + format_port(p->in_port) + " actions=";
      format_actions(s, p->actions.bytes());
      if (p->buffer_id != kNoBuffer) {
        appendf(s, " buffer=0x%08" PRIx32, p->buffer_id);
      } else {
        appendf(s, " data_len=%zu", p->data.size());
        if (!p->data.empty()) {
          s += '\n';
          format_packet(s, p->data);
        }
      }
      return s;
    }
    case MsgType::kPacketIn: {
      auto p = decode_packet_in(f);
      if (!p.ok()) return fail(p.error());
      if (p->table_id) appendf(s, " table_id=%u", p->table_id);
      if (p->cookie != ~uint64_t{0}) appendf(s, " cookie=0x%" PRIx64, p->cookie);
      appendf(s, " total_len=%u ", p->total_len);
      format_match(s, p->match.oxms());
      s += " (via ";
      format_packet_in_reason(s, p->reason);
      s += ')';
      appendf(s, " data_len=%zu", p->data.size());
      if (p->buffer_id == kNoBuffer) {
        s += " (unbuffered)";
        if (p->total_len != p->data.size()) s += " (***total_len != data_len***)";
      } else {
        appendf(s, " buffer=0x%08" PRIx32, p->buffer_id);
        if (p->total_len < p->data.size()) s += " (***total_len < data_len***)";
      }
      if (!p->data.empty()) {
        s += '\n';
        format_packet(s, p->data);
      }
      return s;
    }
    case MsgType::kFeaturesReply: {
      auto r = decode_features_reply(f);
      if (!r.ok()) return fail(r.error());
      appendf(s, " dpid:%016" PRIx64 "\nn_tables:%u, n_buffers:%" PRIu32, r->datapath_id, r->n_tables,
              r->n_buffers);
      if (r->auxiliary_id) appendf(s, ", auxiliary_id:%u", r->auxiliary_id);
      s += "\ncapabilities:";
      static const std::pair<uint32_t, const char*> kCapabilities[] = {
          {1, "FLOW_STATS"},  {2, "TABLE_STATS"},    {4, "PORT_STATS"},      {8, "GROUP_STATS"},
          {0x20, "IP_REASM"}, {0x40, "QUEUE_STATS"}, {0x100, "PORT_BLOCKED"}};
      bool any = false;
      for (const auto& [bit, name] : kCapabilities)
        if (r->capabilities & bit) {
          appendf(s, " %s", name);
          any = true;
        }
      if (!any) s += " 0";
      return s;
    }
    case MsgType::kFlowRemoved: {
      auto r = decode_flow_removed(f);
      if (!r.ok()) return fail(r.error());
      static const char* const kReasons[] = {"idle",         "hard",         "delete",
                                             "group_delete", "meter_delete", "eviction"};
      s += ' ';
      format_match(s, r->match.oxms(), r->priority);
      if (r->reason < 6)
        appendf(s, " reason=%s", kReasons[r->reason]);
      else
        appendf(s, " reason=%u", r->reason);
      if (r->table_id != 0xff) appendf(s, " table_id=%u", r->table_id);
      if (r->cookie) appendf(s, " cookie:0x%" PRIx64, r->cookie);
      s += " duration";
      format_duration(s, r->duration_sec, r->duration_nsec);
      appendf(s, " idle%u", r->idle_timeout);
      if (r->hard_timeout) appendf(s, " hard%u", r->hard_timeout);
      appendf(s, " pkts%" PRIu64 " bytes%" PRIu64, r->packet_count, r->byte_count);
      return s;
    }
    case MsgType::kPortStatus: {
      auto ps = decode_port_status(f);
      if (!ps.ok()) return fail(ps.error());
      static const char* const kReasons[] = {" ADD:", " DEL:", " MOD:"};
      if (ps->reason < 3) s += kReasons[ps->reason];
      format_port_desc(s, ps->port);
      return s;
    }
    case MsgType::kRoleRequest:
    case MsgType::kRoleReply: {
      auto r = decode_role(f);
      if (!r.ok()) return fail(r.error());
      static const char* const kRoles[] = {"nochange", "equal", "primary", "secondary"};
      appendf(s, " role=%s", kRoles[static_cast<uint32_t>(r->role)]);
      // A request's generation id means nothing when it changes no role (OpenFlow 1.3 §7.3.9).
      bool has_generation = f.header.type == MsgType::kRoleReply || r->role != Role::kNoChange;
      if (has_generation && r->generation_id != ~uint64_t{0})
        appendf(s, " generation_id=%" PRIu64, r->generation_id);
      return s;
    }
    case MsgType::kSetConfig:
    case MsgType::kGetConfigReply: {
      auto c = decode_switch_config(f);
      if (!c.ok()) return fail(c.error());
      static const char* const kFrags[] = {"normal", "drop", "reassemble", "nx-match"};
      appendf(s, " frags=%s miss_send_len=%u", kFrags[c->flags & 3], c->miss_send_len);
      return s;
    }
    case MsgType::kEchoRequest:
    case MsgType::kEchoReply: {
      appendf(s, " %zu bytes of payload", f.body.size());
      if (!f.body.empty()) {
        s += '\n';
        hex_dump(s, f.body);
      }
      return s;
    }
    case MsgType::kGroupMod: {
      auto g = decode_group_mod(f);
      if (!g.ok()) return fail(g.error());
      static const char* const kCommands[] = {"ADD", "MOD", "DEL"};
      appendf(s, "\n %s ", kCommands[g->command]);
      format_group_entry(s, g->group_id, g->type, g->buckets);
      return s;
    }
    case MsgType::kMultipartReply: {
      auto mp = decode_multipart(f);
      if (!mp.ok()) return fail(mp.error());
      if (mp->type == MultipartType::kTableFeatures) return table_features(mp->body);
      if (mp->type == MultipartType::kPortDesc) {
        auto ports = decode_port_desc_reply(mp->body);
        if (!ports.ok()) return fail(ports.error());
        // OVS lists ports sorted by number.
        std::sort(ports->begin(), ports->end(),
                  [](const Port& a, const Port& b) { return a.port_no < b.port_no; });
        for (const Port& p : *ports) {
          s += '\n';
          format_port_desc(s, p);
        }
        return s;
      }
      if (mp->type == MultipartType::kDesc) {
        DescReply d;
        if (!DescReply::decode(mp->body, &d)) return fail(errors::kBadRequest_BAD_LEN);
        s += "\nManufacturer: " + fixed_string(d.mfr_desc.data(), d.mfr_desc.size());
        s += "\nHardware: " + fixed_string(d.hw_desc.data(), d.hw_desc.size());
        s += "\nSoftware: " + fixed_string(d.sw_desc.data(), d.sw_desc.size());
        s += "\nSerial Num: " + fixed_string(d.serial_num.data(), d.serial_num.size());
        s += "\nDP Description: " + fixed_string(d.dp_desc.data(), d.dp_desc.size());
        return s;
      }
      if (mp->type == MultipartType::kMeterConfig) {
        if (auto bad = validate_multipart_body(mp->type, true, mp->body)) return fail(*bad);
        for (size_t off = 0; off + MeterConfigHeader::kSize <= mp->body.size();) {
          MeterConfigHeader h;
          MeterConfigHeader::decode(mp->body.subspan(off), &h);
          s += '\n';
          format_meter(s, h.meter_id, h.flags,
                       mp->body.subspan(off + MeterConfigHeader::kSize, h.length - MeterConfigHeader::kSize));
          s += '\n';
          off += h.length;
        }
        if (!mp->body.empty()) s.pop_back();
        return s;
      }
      if (mp->type == MultipartType::kPortStats) {
        if (auto bad = validate_multipart_body(mp->type, true, mp->body)) return fail(*bad);
        size_t n = mp->body.size() / PortStats::kSize;
        appendf(s, " %zu ports", n);
        // OVS's ofputil_format_port_stats: '?' for counters a switch does not keep (all ones).
        auto stat = [&s](const char* leader, uint64_t v, bool more) {
          s += leader;
          if (v != ~uint64_t{0})
            appendf(s, "%" PRIu64, v);
          else
            s += '?';
          s += more ? ", " : "\n";
        };
        s += '\n';
        for (size_t i = 0; i < n; ++i) {
          PortStats p;
          PortStats::decode(mp->body.subspan(i * PortStats::kSize), &p);
          s += "  port ";
          if (p.port_no < 10) s += ' ';
          s += format_port(p.port_no) + ": rx ";
          stat("pkts=", p.rx_packets, true);
          stat("bytes=", p.rx_bytes, true);
          stat("drop=", p.rx_dropped, true);
          stat("errs=", p.rx_errors, true);
          stat("frame=", p.rx_frame_err, true);
          stat("over=", p.rx_over_err, true);
          stat("crc=", p.rx_crc_err, false);
          s += "           tx ";
          stat("pkts=", p.tx_packets, true);
          stat("bytes=", p.tx_bytes, true);
          stat("drop=", p.tx_dropped, true);
          stat("errs=", p.tx_errors, true);
          stat("coll=", p.collisions, false);
          if (p.duration_sec != ~uint32_t{0}) {
            s += "           duration=";
            format_duration(s, p.duration_sec, p.duration_nsec);
            s += '\n';
          }
        }
        s.pop_back();
        return s;
      }
      if (mp->type == MultipartType::kQueue) {
        if (auto bad = validate_multipart_body(mp->type, true, mp->body)) return fail(*bad);
        size_t n = mp->body.size() / QueueStats::kSize;
        appendf(s, " %zu queues", n);
        for (size_t i = 0; i < n; ++i) {
          QueueStats q;
          QueueStats::decode(mp->body.subspan(i * QueueStats::kSize), &q);
          s += "\n  port " + format_port(q.port_no) + " queue " + format_queue(q.queue_id) + ": ";
          for (auto [leader, v] : {std::pair<const char*, uint64_t>{"bytes=", q.tx_bytes},
                                   {"pkts=", q.tx_packets},
                                   {"errors=", q.tx_errors}}) {
            s += leader;
            if (v != ~uint64_t{0})
              appendf(s, "%" PRIu64, v);
            else
              s += '?';
            s += ", ";
          }
          s += "duration=";
          if (q.duration_sec != ~uint32_t{0})
            format_duration(s, q.duration_sec, q.duration_nsec);
          else
            s += '?';
        }
        return s;
      }
      if (mp->type == MultipartType::kGroup) {
        if (auto bad = validate_multipart_body(mp->type, true, mp->body)) return fail(*bad);
        for (size_t off = 0; off + GroupStats::kSize <= mp->body.size();) {
          GroupStats g;
          GroupStats::decode(mp->body.subspan(off), &g);
          appendf(s, "\n group_id=%" PRIu32 ",", g.group_id);
          if (g.duration_sec != ~uint32_t{0}) {
            s += "duration=";
            format_duration(s, g.duration_sec, g.duration_nsec);
            s += ',';
          }
          appendf(s, "ref_count=%" PRIu32 ",packet_count=%" PRIu64 ",byte_count=%" PRIu64, g.ref_count,
                  g.packet_count, g.byte_count);
          size_t buckets = (g.length - GroupStats::kSize) / BucketCounter::kSize;
          for (size_t i = 0; i < buckets; ++i) {
            BucketCounter c;
            BucketCounter::decode(mp->body.subspan(off + GroupStats::kSize + i * BucketCounter::kSize), &c);
            if (c.packet_count != ~uint64_t{0})
              appendf(s, ",bucket%zu:packet_count=%" PRIu64 ",byte_count=%" PRIu64, i, c.packet_count,
                      c.byte_count);
          }
          off += g.length;
        }
        return s;
      }
      if (mp->type == MultipartType::kGroupDesc) {
        if (auto bad = validate_multipart_body(mp->type, true, mp->body)) return fail(*bad);
        for (size_t off = 0; off + GroupDescHeader::kSize <= mp->body.size();) {
          GroupDescHeader h;
          GroupDescHeader::decode(mp->body.subspan(off), &h);
          auto buckets = decode_buckets(
              mp->body.subspan(off + GroupDescHeader::kSize, h.length - GroupDescHeader::kSize));
          if (!buckets.ok()) return fail(buckets.error());
          s += "\n ";
          format_group_entry(s, h.group_id, h.type, *buckets);
          off += h.length;
        }
        return s;
      }
      if (mp->type == MultipartType::kMeter) {
        if (auto bad = validate_multipart_body(mp->type, true, mp->body)) return fail(*bad);
        for (size_t off = 0; off + MeterStats::kSize <= mp->body.size();) {
          MeterStats m;
          MeterStats::decode(mp->body.subspan(off), &m);
          s += '\n';
          std::string id;
          format_meter_id(id, m.meter_id);
          id[5] = ':';  // OVS names the meter "meter:N" here
          s += id;
          appendf(s,
                  " flow_count:%" PRIu32 " packet_in_count:%" PRIu64 " byte_in_count:%" PRIu64 " duration:",
                  m.flow_count, m.packet_in_count, m.byte_in_count);
          format_duration(s, m.duration_sec, m.duration_nsec);
          s += " bands:\n";
          size_t bands = (m.len - MeterStats::kSize) / MeterBandStats::kSize;
          for (size_t i = 0; i < bands; ++i) {
            MeterBandStats b;
            MeterBandStats::decode(mp->body.subspan(off + MeterStats::kSize + i * MeterBandStats::kSize), &b);
            appendf(s, "%zu: packet_count:%" PRIu64 " byte_count:%" PRIu64 "\n", i, b.packet_band_count,
                    b.byte_band_count);
          }
          off += m.len;
        }
        if (!mp->body.empty()) s.pop_back();
        return s;
      }
      if (mp->type == MultipartType::kTable) {
        if (auto bad = validate_multipart_body(mp->type, true, mp->body)) return fail(*bad);
        // OVS's table stats format: a table whose counters equal the previous one's is folded
        // into a "ditto" run (1.3 replies carry no features, so only the counters differ).
        int first_ditto = -1, last_ditto = -1;
        auto finish = [&] {
          if (first_ditto < 0) return;
          if (first_ditto == last_ditto)
            appendf(s, "\n  table %d: ditto\n", first_ditto);
          else
            appendf(s, "\n  tables %d...%d: ditto\n", first_ditto, last_ditto);
          first_ditto = -1;
        };
        TableStats prev{};
        size_t n = mp->body.size() / TableStats::kSize;
        for (size_t i = 0; i < n; ++i) {
          TableStats t;
          TableStats::decode(mp->body.subspan(i * TableStats::kSize), &t);
          bool same = i > 0 && t.active_count == prev.active_count && t.lookup_count == prev.lookup_count &&
                      t.matched_count == prev.matched_count;
          prev = t;
          if (same) {
            if (first_ditto < 0) first_ditto = t.table_id;
            last_ditto = t.table_id;
            continue;
          }
          finish();
          appendf(s, "\n  table %u:\n    active=%" PRIu32 ", lookup=%" PRIu64 ", matched=%" PRIu64 "\n",
                  t.table_id, t.active_count, t.lookup_count, t.matched_count);
        }
        finish();
        while (!s.empty() && s.back() == '\n') s.pop_back();
        return s;
      }
      if (mp->type == MultipartType::kGroupFeatures) {
        GroupFeatures g;
        if (!GroupFeatures::decode(mp->body, &g)) return fail(errors::kBadRequest_BAD_LEN);
        // OVS's ofputil_group_features_format: the action bitmaps through OVS's action types
        // (ofpact_bitmap_format prints them in OVS's action order; unsupported bits vanish).
        static const std::pair<int, const char*> kActions[] = {
            {0, "output"},        {22, "group"},      {25, "set_field"}, {18, "strip_vlan"},
            {17, "push_vlan"},    {23, "mod_nw_ttl"}, {24, "dec_ttl"},   {15, "set_mpls_ttl"},
            {16, "dec_mpls_ttl"}, {19, "push_mpls"},  {20, "pop_mpls"},  {21, "set_queue"}};
        static const char* const kTypes[] = {"all", "select", "indirect", "fast failover"};
        const uint32_t max_groups[] = {g.max_groups_all, g.max_groups_select, g.max_groups_indirect,
                                       g.max_groups_ff};
        const uint32_t actions[] = {g.actions_all, g.actions_select, g.actions_indirect, g.actions_ff};
        appendf(s, "\n Group table:\n    Types:  0x%" PRIx32 "\n    Capabilities:  0x%" PRIx32 "\n", g.types,
                g.capabilities);
        for (int i = 0; i < 4; ++i) {
          if (!(g.types & (1u << i))) continue;
          appendf(s, "    %s group:\n       max_groups=%#" PRIx32 "\n       actions: ", kTypes[i],
                  max_groups[i]);
          std::string names;
          for (auto [bit, name] : kActions)
            if (actions[i] & (1u << bit)) names += std::string(names.empty() ? "" : " ") + name;
          s += names.empty() ? "<none>" : names;
          s += '\n';
        }
        s.pop_back();
        return s;
      }
      if (mp->type == MultipartType::kMeterFeatures) {
        MeterFeatures m;
        if (!MeterFeatures::decode(mp->body, &m)) return fail(errors::kBadRequest_BAD_LEN);
        static const char* const kBands[] = {nullptr, "drop", "dscp_remark"};
        static const char* const kCaps[] = {"kbps", "pktps", "burst", "stats"};
        appendf(s, "\nmax_meter:%" PRIu32 " max_bands:%u max_color:%u\n", m.max_meter, m.max_bands,
                m.max_color);
        s += "band_types: ";
        bit_names(s, m.band_types, kBands, std::size(kBands));
        s += "capabilities: ";
        bit_names(s, m.capabilities, kCaps, std::size(kCaps));
        s.pop_back();
        return s;
      }
      if (mp->type == MultipartType::kAggregate) {
        AggregateReply a;
        if (!AggregateReply::decode(mp->body, &a)) return fail(errors::kBadRequest_BAD_LEN);
        appendf(s, " packet_count=%" PRIu64 " byte_count=%" PRIu64 " flow_count=%" PRIu32, a.packet_count,
                a.byte_count, a.flow_count);
        return s;
      }
      if (mp->type != MultipartType::kFlow) return s;
      auto flows = decode_flow_stats_reply(mp->body);
      if (!flows.ok()) return fail(flows.error());
      for (const FlowStats& fs : *flows) {
        s += "\n ";
        format_flow_stats(s, fs, true);
      }
      return s;
    }
    case MsgType::kTableMod: {
      TableMod tm;
      if (!TableMod::decode(f.body, &tm)) return fail(errors::kBadRequest_BAD_LEN);
      if (tm.table_id == 0xff)
        s += " table_id: ALL_TABLES";
      else
        appendf(s, " table_id=%u", tm.table_id);
      return s;
    }
    case MsgType::kQueueGetConfigRequest: {
      QueueGetConfigRequest q;
      if (!QueueGetConfigRequest::decode(f.body, &q)) return fail(errors::kBadRequest_BAD_LEN);
      if (auto bad = validate_message(message)) return fail(*bad);
      s += " port=" + format_port(q.port);
      return s;
    }
    case MsgType::kPortMod: {
      PortMod pm;
      if (!PortMod::decode(f.body, &pm)) return fail(errors::kBadRequest_BAD_LEN);
      s += " port: " + format_port(pm.port_no) + ": addr:";
      format_eth(s, pm.hw_addr.data());
      s += "\n     config: ";
      bit_names(s, pm.config & 0x65, kConfig, std::size(kConfig));
      s += "     mask:   ";
      bit_names(s, pm.mask & 0x65, kConfig, std::size(kConfig));
      s += "     advertise: ";
      if (pm.advertise & 0xffff)
        bit_names(s, pm.advertise & 0xffff, kFeatures, std::size(kFeatures));
      else
        s += "UNCHANGED\n";
      s.pop_back();
      return s;
    }
    case MsgType::kExperimenter: {
      if (!bundle) return s;
      if (exp.exp_type == kOnfBundleAdd && f.body.size() >= 16 + 8) {
        // OVS's own checks of an added message (ONF's bundle errors, by OVS's names): the
        // bundle's version and xid, and a kind of message a bundle may carry.
        ByteSpan inner = f.body.subspan(16);
        auto refuse = [&](const char* name) { return s + " ***decode error: " + name + "***"; };
        if (inner[0] != f.header.version) return refuse("OFPBFC_BAD_VERSION");
        uint16_t len = load_be16(inner.data() + 2);
        if (len < 8 || len > inner.size()) return refuse("OFPBFC_MSG_BAD_LEN");
        if (load_be32(inner.data() + 4) != f.header.xid) return refuse("OFPBFC_MSG_BAD_XID");
        auto kind = static_cast<MsgType>(inner[1]);
        if (kind != MsgType::kFlowMod && kind != MsgType::kGroupMod && kind != MsgType::kPortMod &&
            kind != MsgType::kPacketOut)
          return refuse("OFPBFC_MSG_UNSUP");
      }
      if (auto bad = validate_message(message)) return fail(*bad);
      static const char* const kFlags[] = {"atomic", "ordered"};
      if (exp.exp_type == kOnfBundleControl) {
        static const char* const kTypes[] = {"OPEN_REQUEST",    "OPEN_REPLY",     "CLOSE_REQUEST",
                                             "CLOSE_REPLY",     "COMMIT_REQUEST", "COMMIT_REPLY",
                                             "DISCARD_REQUEST", "DISCARD_REPLY"};
        BundleControl c;
        BundleControl::decode(f.body.subspan(ExperimenterHeader::kSize), &c);
        appendf(s, "\n bundle_id=%#" PRIx32 " type=%s flags=", c.bundle_id, kTypes[c.type]);
        bit_names(s, c.flags, kFlags, std::size(kFlags));
        s.pop_back();
        return s;
      }
      BundleAddHeader a;
      BundleAddHeader::decode(f.body.subspan(ExperimenterHeader::kSize), &a);
      ByteSpan inner = f.body.subspan(ExperimenterHeader::kSize + BundleAddHeader::kSize);
      inner = inner.first(frame_length(inner));
      appendf(s, "\n bundle_id=%#" PRIx32 " flags=", a.bundle_id);
      bit_names(s, a.flags, kFlags, std::size(kFlags));
      print_nested(s, inner);
      return s;
    }
    case MsgType::kQueueGetConfigReply: {
      if (auto bad = validate_message(message)) return fail(*bad);
      // OVS's ofputil_queue_get_config_reply_format: every queue under the reply's port (the
      // header's, as OVS reads it), sorted by id, with its min and max rate properties; no
      // "port=" line for port 0.
      struct Queue {
        uint32_t port, id;
        unsigned min_rate = 0xffff, max_rate = 0xffff;
      };
      std::vector<Queue> queues;
      QueueGetConfigReplyHeader header;
      QueueGetConfigReplyHeader::decode(f.body, &header);
      ByteSpan rest = f.body.subspan(QueueGetConfigReplyHeader::kSize);
      while (rest.size() >= PacketQueue::kSize) {
        PacketQueue q;
        PacketQueue::decode(rest, &q);
        if (q.len < PacketQueue::kSize || q.len > rest.size() || q.len % 8)
          return fail(errors::kBadRequest_BAD_LEN);
        Queue out{header.port, q.queue_id};
        for (size_t off = PacketQueue::kSize; off < q.len;) {
          uint16_t type = load_be16(rest.data() + off), plen = load_be16(rest.data() + off + 2);
          if (plen < 8 || plen > q.len - off || plen % 8) return fail(errors::kBadRequest_BAD_LEN);
          if (type == 1 || type == 2) {  // OFPQT_MIN_RATE, OFPQT_MAX_RATE
            if (plen != 16) return fail(errors::kBadRequest_BAD_LEN);
            (type == 1 ? out.min_rate : out.max_rate) = load_be16(rest.data() + off + 8);
          }
          off += plen;
        }
        queues.push_back(out);
        rest = rest.subspan(q.len);
      }
      std::stable_sort(queues.begin(), queues.end(),
                       [](const Queue& a, const Queue& b) { return a.id < b.id; });
      s += ' ';
      uint32_t port = 0;
      auto rate = [&s](const char* name, unsigned r) {
        if (r <= 1000)
          appendf(s, " %s:%u.%u%%", name, r / 10, r % 10);
        else if (r < 0xffff)
          appendf(s, " %s:(disabled)", name);
      };
      for (const Queue& q : queues) {
        if (q.port != port) {
          port = q.port;
          s += "port=" + format_port(port) + "\n";
        }
        appendf(s, "queue %" PRIu32 ":", q.id);
        rate("min_rate", q.min_rate);
        rate("max_rate", q.max_rate);
        s += '\n';
      }
      while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
      return s;
    }
    case MsgType::kMeterMod: {
      if (auto bad = validate_message(message)) return fail(*bad);
      MeterModHeader h;
      MeterModHeader::decode(f.body, &h);
      static const char* const kCommands[] = {" ADD ", " MOD ", " DEL "};
      s += kCommands[h.command];
      // A delete carries no flags or bands (OVS ignores them).
      if (h.command == 2)
        format_meter(s, h.meter_id, 0, {});
      else
        format_meter(s, h.meter_id, h.flags, f.body.subspan(MeterModHeader::kSize));
      return s;
    }
    case MsgType::kSetAsync:
    case MsgType::kGetAsyncReply: {
      AsyncConfig c;
      if (!AsyncConfig::decode(f.body, &c)) return fail(errors::kBadRequest_BAD_LEN);
      format_async_config(s, c);
      return s;
    }
    case MsgType::kMultipartRequest: {
      auto mp = decode_multipart(f);
      if (!mp.ok()) return fail(mp.error());
      if (auto bad = validate_multipart_body(mp->type, false, mp->body)) return fail(*bad);
      switch (mp->type) {
        case MultipartType::kTableFeatures:
          return table_features(mp->body);
        case MultipartType::kPortStats: {
          PortStatsRequest r;
          PortStatsRequest::decode(mp->body, &r);
          s += " port_no=" + format_port(r.port_no);
          break;
        }
        case MultipartType::kQueue: {
          QueueStatsRequest r;
          QueueStatsRequest::decode(mp->body, &r);
          s += " port=" + format_port(r.port_no) + " queue=" + format_queue(r.queue_id);
          break;
        }
        case MultipartType::kGroup: {
          GroupStatsRequest r;
          GroupStatsRequest::decode(mp->body, &r);
          s += " group_id=" + format_group(r.group_id);
          break;
        }
        case MultipartType::kGroupDesc:
          s += " group_id=ALL";  // OpenFlow 1.3 asks for every group
          break;
        case MultipartType::kMeter:
        case MultipartType::kMeterConfig: {
          MeterStatsRequest r;
          MeterStatsRequest::decode(mp->body, &r);
          s += ' ';
          format_meter_id(s, r.meter_id);
          break;
        }
        default:
          break;
      }
      return s;
    }
    case MsgType::kError: {
      auto e = decode_error(f);
      if (!e.ok()) return fail(e.error());
      s += " " + error_name(e->error) + "\n";
      // As OVS's ofperr_msg_format: a HELLO_FAILED's data is text, any other's is the (first
      // bytes of the) offending message, printed as a message of its own.
      if (e->error.type == static_cast<uint16_t>(ErrorType::kHelloFailed)) {
        for (uint8_t c : e->data) {
          if (c < 0x20 || c > 0x7e || c == '\\' || c == '"')
            appendf(s, "\\%03o", c);
          else
            s += static_cast<char>(c);
        }
      } else {
        print_nested(s, e->data);
      }
      while (!s.empty() && s.back() == '\n') s.pop_back();
      return s;
    }
    default:
      return s;
  }
}

std::string print_any(ByteSpan bytes) {
  std::string s;
  print_nested(s, bytes);
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace vlcp::ofp
