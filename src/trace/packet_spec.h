// The packet a trace follows (docs/TRACE_DESIGN.md §4.2), as one struct from which both forms
// derive, so the simulated and the live packet cannot drift apart:
//   br_flow(spec): OVS's flow syntax for `ofproto/trace BRIDGE FLOW` (no packet: no side effects);
//   frame(spec):   the bytes, through ofp/packet.h's builders, for --live.
// A request from another node never carries flow text: it carries these validated fields
// (packet_spec_from_json), and each node builds the flow string itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/buffer.h"
#include "base/result.h"
#include "ofp/packet.h"

namespace vlcp::trace {

using ofp::pkt::Ipv4;
using ofp::pkt::Mac;

// X(enum, name): the protocols a trace sends (vlcpctl trace --proto).
#define VLCP_TRACE_PROTOS(X) X(kIcmp, "icmp") X(kTcp, "tcp") X(kUdp, "udp") X(kArp, "arp") X(kDhcp, "dhcp")

enum class Proto : uint8_t {
#define VLCP_TRACE_PROTO_ENUM(e, name) e,
  VLCP_TRACE_PROTOS(VLCP_TRACE_PROTO_ENUM)
#undef VLCP_TRACE_PROTO_ENUM
};
std::string_view proto_name(Proto p);
std::optional<Proto> proto_from_name(std::string_view name);

// The defaults of vlcpctl trace (§1): an ICMP echo request with TTL 64; a TCP SYN and UDP from
// port 49152; UDP to 33434; an ARP request; a DHCP DISCOVER from 0.0.0.0:68 to 255.255.255.255:67.
inline constexpr uint16_t kTraceSourcePort = 49152;
inline constexpr uint16_t kTraceUdpPort = 33434;
inline constexpr uint8_t kTraceTtl = 64;

struct PacketSpec {
  Proto proto = Proto::kIcmp;
  Mac eth_src{}, eth_dst{};
  std::optional<uint16_t> vlan;  // the VLAN id of an 802.1Q tag (a physical FROM, a VLAN arrival)
  Ipv4 ip_src = 0, ip_dst = 0;   // ARP: the sender's and the target's protocol addresses
  uint8_t ttl = kTraceTtl;
  uint8_t dscp = 0;  // --live marks with 1 (LE, RFC 8622)
  uint16_t tp_src = 0, tp_dst = 0;
  uint8_t icmp_type = 8, icmp_code = 0;
  uint16_t arp_op = 1;
  // Where it arrives: the bridge port, and for a VXLAN arrival the tunnel metadata.
  uint32_t in_port = 0;
  std::optional<uint64_t> tun_id;
  std::optional<Ipv4> tun_src, tun_dst;
  bool operator==(const PacketSpec&) const = default;
};

// A packet of `proto` from (src_mac, src_ip) to (dst_mac, dst_ip) with §1's defaults (DHCP: from
// 0.0.0.0:68 to the broadcast MAC and 255.255.255.255:67, whatever the destination given).
PacketSpec default_packet(Proto proto, const Mac& src_mac, Ipv4 src_ip, const Mac& dst_mac, Ipv4 dst_ip);

// OVS's flow syntax, e.g. "icmp,in_port=1,dl_src=..,dl_dst=..,nw_src=..,nw_dst=..,nw_tos=0,
// nw_ttl=64,icmp_type=8,icmp_code=0"; a VXLAN arrival adds tun_id, tun_src and tun_dst after
// in_port, a tagged one dl_vlan; UDP names its ports udp_src and udp_dst (OVS 3.1's trace refuses
// tp_src after "udp").
std::string br_flow(const PacketSpec& spec);
// Appends the frame (Ethernet II, 802.1Q when `vlan`), checksums correct, to `out`; `payload`
// after the L4 header (ICMP, TCP, UDP; ignored for ARP and DHCP).
void frame(const PacketSpec& spec, Buffer& out, ByteSpan payload = {});

// The structured form nodes exchange (§7.3 "packet"): validated field by field (MACs, IPv4
// addresses, numbers in range), never flow text.
nlohmann::json packet_spec_to_json(const PacketSpec& spec);
Result<PacketSpec> packet_spec_from_json(const nlohmann::json& j);

std::string format_mac(const Mac& mac);
std::string format_ipv4(Ipv4 ip);

}  // namespace vlcp::trace
