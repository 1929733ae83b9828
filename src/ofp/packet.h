// Packet headers the responders (ARP, DHCP, ICMP) and first-packet handling read and write:
// Ethernet, 802.1Q, ARP, IPv4, UDP, TCP, ICMP and DHCPv4 with options. Each fixed header is
// declared once as a field table (type, name, byte offset); the struct, its size, decoding from
// a span and encoding into a Buffer derive from it. parse_packet() walks the layers of a frame
// and returns views into it (no copy, no allocation); builders append frames with checksums.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/buffer.h"
#include "ofp/layout.h"

namespace vlcp::ofp::pkt {

using Mac = std::array<uint8_t, 6>;
using Ipv4 = uint32_t;  // host order

// clang-format off: field tables read best one declaration per line group, as written.
// X(type, name, offset)
#define VLCP_PKT_ETHERNET(X) X(Mac, dst, 0) X(Mac, src, 6) X(uint16_t, type, 12)
#define VLCP_PKT_VLAN(X) X(uint16_t, tci, 0) X(uint16_t, type, 2)
#define VLCP_PKT_ARP(X) \
  X(uint16_t, htype, 0) \
  X(uint16_t, ptype, 2) \
  X(uint8_t, hlen, 4)   \
  X(uint8_t, plen, 5) X(uint16_t, op, 6) X(Mac, sha, 8) X(Ipv4, spa, 14) X(Mac, tha, 18) X(Ipv4, tpa, 24)
#define VLCP_PKT_IPV4(X)       \
  X(uint8_t, version_ihl, 0)   \
  X(uint8_t, tos, 1)           \
  X(uint16_t, total_length, 2) \
  X(uint16_t, id, 4)           \
  X(uint16_t, flags_frag, 6)   \
  X(uint8_t, ttl, 8) X(uint8_t, protocol, 9) X(uint16_t, checksum, 10) X(Ipv4, src, 12) X(Ipv4, dst, 16)
using Ipv6Addr = std::array<uint8_t, 16>;
#define VLCP_PKT_IPV6(X)             \
  X(uint32_t, version_class_flow, 0) \
  X(uint16_t, payload_length, 4)     \
  X(uint8_t, next_header, 6) X(uint8_t, hop_limit, 7) X(Ipv6Addr, src, 8) X(Ipv6Addr, dst, 24)
#define VLCP_PKT_UDP(X) \
  X(uint16_t, src_port, 0) X(uint16_t, dst_port, 2) X(uint16_t, length, 4) X(uint16_t, checksum, 6)
#define VLCP_PKT_TCP(X)       \
  X(uint16_t, src_port, 0)    \
  X(uint16_t, dst_port, 2)    \
  X(uint32_t, seq, 4)         \
  X(uint32_t, ack, 8)         \
  X(uint8_t, data_offset, 12) \
  X(uint8_t, flags, 13) X(uint16_t, window, 14) X(uint16_t, checksum, 16) X(uint16_t, urgent, 18)
#define VLCP_PKT_ICMP(X) X(uint8_t, type, 0) X(uint8_t, code, 1) X(uint16_t, checksum, 2) X(uint32_t, rest, 4)
#define VLCP_PKT_DHCP(X) \
  X(uint8_t, op, 0)      \
  X(uint8_t, htype, 1)   \
  X(uint8_t, hlen, 2)    \
  X(uint8_t, hops, 3)    \
  X(uint32_t, xid, 4)    \
  X(uint16_t, secs, 8)   \
  X(uint16_t, flags, 10) \
  X(Ipv4, ciaddr, 12)    \
  X(Ipv4, yiaddr, 16) X(Ipv4, siaddr, 20) X(Ipv4, giaddr, 24) X(Mac, chaddr, 28) X(uint32_t, magic, 236)

// clang-format on

// The headers, derived (layout.h): struct, kSize, decode and encode.
VLCP_LAYOUT(Ethernet, VLCP_PKT_ETHERNET, 14)
VLCP_LAYOUT(Vlan, VLCP_PKT_VLAN, 4)
VLCP_LAYOUT(Arp, VLCP_PKT_ARP, 28)
VLCP_LAYOUT(Ipv4Header, VLCP_PKT_IPV4, 20)
VLCP_LAYOUT(Ipv6Header, VLCP_PKT_IPV6, 40)
VLCP_LAYOUT(Udp, VLCP_PKT_UDP, 8)
VLCP_LAYOUT(Tcp, VLCP_PKT_TCP, 20)
VLCP_LAYOUT(Icmp, VLCP_PKT_ICMP, 8)
VLCP_LAYOUT(Dhcp, VLCP_PKT_DHCP, 240)  // BOOTP fixed part (with sname/file zeroed) + magic

inline constexpr uint16_t kEthTypeIpv4 = 0x0800;
inline constexpr uint16_t kEthTypeArp = 0x0806;
inline constexpr uint16_t kEthTypeIpv6 = 0x86dd;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;
inline constexpr uint16_t kEthTypeVlan = 0x8100;
inline constexpr uint16_t kEthTypeQinQ = 0x88a8;
inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint32_t kDhcpMagic = 0x63825363;
inline constexpr uint16_t kDhcpServerPort = 67;
inline constexpr uint16_t kDhcpClientPort = 68;

// X(enum, code, name)
#define VLCP_DHCP_OPTIONS(X)                   \
  X(kPad, 0, "pad")                            \
  X(kSubnetMask, 1, "subnet_mask")             \
  X(kRouter, 3, "router")                      \
  X(kDns, 6, "dns")                            \
  X(kHostName, 12, "host_name")                \
  X(kDomainName, 15, "domain_name")            \
  X(kMtu, 26, "mtu")                           \
  X(kBroadcast, 28, "broadcast")               \
  X(kStaticRoutes, 33, "static_routes")        \
  X(kRequestedIp, 50, "requested_ip")          \
  X(kLeaseTime, 51, "lease_time")              \
  X(kMessageType, 53, "message_type")          \
  X(kServerId, 54, "server_id")                \
  X(kParameterList, 55, "parameter_list")      \
  X(kRenewalTime, 58, "renewal_time")          \
  X(kRebindingTime, 59, "rebinding_time")      \
  X(kClientId, 61, "client_id")                \
  X(kClasslessRoutes, 121, "classless_routes") \
  X(kEnd, 255, "end")

enum class DhcpOption : uint8_t {
#define VLCP_DHCP_OPTION_ENUM(e, code, name) e = code,
  VLCP_DHCP_OPTIONS(VLCP_DHCP_OPTION_ENUM)
#undef VLCP_DHCP_OPTION_ENUM
};
std::string_view dhcp_option_name(uint8_t code);  // "" when not declared

enum class DhcpMessage : uint8_t {
  kDiscover = 1,
  kOffer = 2,
  kRequest = 3,
  kDecline = 4,
  kAck = 5,
  kNak = 6,
  kRelease = 7,
  kInform = 8
};

// A frame's layers, as parsed: views into the frame.
struct PacketView {
  Ethernet eth;
  uint8_t n_vlans = 0;
  Vlan vlans[2];
  uint16_t ethertype = 0;  // after VLAN tags
  std::optional<Arp> arp;
  std::optional<Ipv4Header> ip;
  ByteSpan ip_options;
  bool ip_fragment = false;  // not the first fragment: no L4 header
  std::optional<Ipv6Header> ip6;
  uint8_t l4_protocol = 0;      // IPv4 protocol, or IPv6's after extension headers
  bool first_fragment = false;  // a fragment with more to come (IPv4 MF, IPv6 fragment header)
  std::optional<Udp> udp;
  std::optional<Tcp> tcp;
  std::optional<Icmp> icmp;  // ICMP for IPv4, ICMPv6 for IPv6
  // IPv6 neighbour discovery (ICMPv6 135/136, code 0): target and link-layer addresses.
  std::optional<Ipv6Addr> nd_target;
  Mac nd_sll{}, nd_tll{};
  std::optional<Dhcp> dhcp;
  ByteSpan dhcp_options;  // after the magic cookie, validated TLVs
  ByteSpan l4_payload;
};

// Parses as far as the frame allows: a truncated or malformed layer is left out (a packet is
// data, not a protocol message), and `complete` tells whether every header it announced was
// whole and consistent (IP lengths and checksum, UDP length, DHCP options).
struct ParseResult {
  PacketView view;
  bool complete = true;
};
ParseResult parse_packet(ByteSpan frame);

// DHCP options: calls fn(code, value) for each (pad skipped, stops at end); false when an
// option overruns the buffer.
template <typename Fn>
bool for_each_dhcp_option(ByteSpan options, Fn&& fn) {
  size_t pos = 0;
  while (pos < options.size()) {
    uint8_t code = options[pos++];
    if (code == 0) continue;
    if (code == 255) return true;
    if (pos >= options.size()) return false;
    uint8_t len = options[pos++];
    if (len > options.size() - pos) return false;
    fn(code, options.subspan(pos, len));
    pos += len;
  }
  return true;
}
std::optional<ByteSpan> find_dhcp_option(ByteSpan options, DhcpOption code);

// Internet checksum (RFC 1071) of bytes, with an optional starting sum.
uint16_t internet_checksum(ByteSpan bytes, uint32_t initial = 0);

// Frame builders (Ethernet II, no VLAN: OVS pushes tags). Each appends one frame to `out`.
void build_arp(Buffer& out, uint16_t op, const Mac& sha, Ipv4 spa, const Mac& tha, Ipv4 tpa,
               const Mac& eth_dst);
// An IPv4/UDP frame with correct IP and UDP checksums. `tos`: the IPv4 TOS byte (DSCP << 2 | ECN).
void build_udp(Buffer& out, const Mac& src_mac, const Mac& dst_mac, Ipv4 src, Ipv4 dst, uint16_t src_port,
               uint16_t dst_port, ByteSpan payload, uint8_t ttl = 64, uint8_t tos = 0);
// An ICMP message (echo reply, unreachable...) in IPv4.
void build_icmp(Buffer& out, const Mac& src_mac, const Mac& dst_mac, Ipv4 src, Ipv4 dst, uint8_t type,
                uint8_t code, uint32_t rest, ByteSpan payload, uint8_t ttl = 64, uint8_t tos = 0);
// An IPv4/TCP segment without options (a SYN: flags kTcpSyn), with correct checksums.
inline constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpPsh = 0x08, kTcpAck = 0x10;
void build_tcp(Buffer& out, const Mac& src_mac, const Mac& dst_mac, Ipv4 src, Ipv4 dst, uint16_t src_port,
               uint16_t dst_port, uint32_t seq, uint8_t flags, ByteSpan payload, uint8_t ttl = 64,
               uint8_t tos = 0);
// Inserts an 802.1Q tag (TPID 0x8100, `tci`) after the MAC addresses of the Ethernet II frame
// that starts at `frame_start` in `out` (a physical FROM on a VLAN network, vlcpctl trace).
void push_vlan(Buffer& out, uint16_t tci, size_t frame_start = 0);

// DHCP message body (BOOTP + magic + options) builder.
class DhcpBuilder {
 public:
  explicit DhcpBuilder(const Dhcp& fixed);
  DhcpBuilder& option(DhcpOption code, ByteSpan value);
  DhcpBuilder& option_u8(DhcpOption code, uint8_t v);
  DhcpBuilder& option_u32(DhcpOption code, uint32_t v);
  DhcpBuilder& option_ip(DhcpOption code, Ipv4 ip) { return option_u32(code, ip); }
  // Ends the options (and pads to the BOOTP minimum of 300 bytes) and returns the body.
  ByteSpan finish();

 private:
  InlineBuffer<576> body_;
};

}  // namespace vlcp::ofp::pkt
