// Packet header codecs (derived from the field tables in packet.h), the layer walk, checksums
// and frame builders.
#include "ofp/packet.h"

#include <cstring>

namespace vlcp::ofp::pkt {

std::string_view dhcp_option_name(uint8_t code) {
  switch (code) {
#define VLCP_DHCP_OPTION_CASE(e, c, name) \
  case c:                                 \
    return name;
    VLCP_DHCP_OPTIONS(VLCP_DHCP_OPTION_CASE)
#undef VLCP_DHCP_OPTION_CASE
  }
  return {};
}

uint16_t internet_checksum(ByteSpan bytes, uint32_t sum) {
  size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) sum += load_be16(bytes.data() + i);
  if (i < bytes.size()) sum += uint32_t{bytes[i]} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

namespace {
uint32_t pseudo_header_sum(Ipv4 src, Ipv4 dst, uint8_t proto, size_t length) {
  return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + static_cast<uint32_t>(length);
}
}  // namespace

namespace {

// TCP, UDP and ICMP(v6) headers of an IP packet's transport payload.
void parse_l4(ByteSpan l4, uint8_t proto, ParseResult& r) {
  PacketView& v = r.view;
  if (proto == kIpProtoUdp) {
    Udp udp;
    if (!Udp::decode(l4, &udp) || udp.length < Udp::kSize || udp.length > l4.size()) {
      r.complete = false;
      return;
    }
    v.udp = udp;
    v.l4_payload = l4.subspan(Udp::kSize, udp.length - Udp::kSize);
  } else if (proto == kIpProtoTcp) {
    Tcp tcp;
    size_t off = 0;
    if (!Tcp::decode(l4, &tcp) || (off = (tcp.data_offset >> 4) * 4u) < Tcp::kSize || off > l4.size()) {
      r.complete = false;
      return;
    }
    v.tcp = tcp;
    v.l4_payload = l4.subspan(off);
  } else if (proto == kIpProtoIcmp || proto == kIpProtoIcmpv6) {
    Icmp icmp;
    if (!Icmp::decode(l4, &icmp)) {
      r.complete = false;
      return;
    }
    v.icmp = icmp;
    v.l4_payload = l4.subspan(Icmp::kSize);
  }
}

void parse_ipv6(ByteSpan l3, ParseResult& r) {
  PacketView& v = r.view;
  Ipv6Header ip6;
  if (!Ipv6Header::decode(l3, &ip6) || (ip6.version_class_flow >> 28) != 6 ||
      Ipv6Header::kSize + ip6.payload_length > l3.size()) {
    r.complete = false;
    return;
  }
  v.ip6 = ip6;
  ByteSpan rest = l3.subspan(Ipv6Header::kSize, ip6.payload_length);
  uint8_t next = ip6.next_header;
  // Extension headers: hop-by-hop, routing, destination options, authentication, fragment.
  while (next == 0 || next == 43 || next == 60 || next == 51 || next == 44) {
    if (rest.size() < 8) {
      r.complete = false;
      return;
    }
    size_t len = next == 44 ? 8 : next == 51 ? (rest[1] + 2u) * 4 : (rest[1] + 1u) * 8;
    if (len > rest.size()) {
      r.complete = false;
      return;
    }
    if (next == 44) {
      uint16_t frag = load_be16(rest.data() + 2);
      if (frag >> 3)
        v.ip_fragment = true;  // a later fragment: no transport header
      else if (frag & 1)
        v.first_fragment = true;
    }
    next = rest[0];
    rest = rest.subspan(len);
  }
  v.l4_protocol = next;
  if (v.ip_fragment) return;
  parse_l4(rest, next, r);
  // Neighbour discovery: the target, then options (type, length in 8-byte units).
  if (v.icmp && (v.icmp->type == 135 || v.icmp->type == 136) && v.icmp->code == 0 && rest.size() >= 24) {
    Ipv6Addr target;
    std::memcpy(target.data(), rest.data() + 8, 16);
    v.nd_target = target;
    ByteSpan opts = rest.subspan(24);
    while (opts.size() >= 8) {
      size_t len = opts[1] * 8u;
      if (!len || len > opts.size()) {  // malformed options: OVS keeps no ND fields at all
        v.nd_target = Ipv6Addr{};
        v.nd_sll = Mac{};
        v.nd_tll = Mac{};
        r.complete = false;
        break;
      }
      if (len == 8 && opts[0] == 1 && v.nd_sll == Mac{}) std::memcpy(v.nd_sll.data(), opts.data() + 2, 6);
      if (len == 8 && opts[0] == 2 && v.nd_tll == Mac{}) std::memcpy(v.nd_tll.data(), opts.data() + 2, 6);
      opts = opts.subspan(len);
    }
  }
}

}  // namespace

ParseResult parse_packet(ByteSpan frame) {
  ParseResult r;
  PacketView& v = r.view;
  if (!Ethernet::decode(frame, &v.eth)) {
    r.complete = false;
    return r;
  }
  size_t pos = Ethernet::kSize;
  v.ethertype = v.eth.type;
  while ((v.ethertype == kEthTypeVlan || v.ethertype == kEthTypeQinQ) && v.n_vlans < 2) {
    Vlan tag;
    if (!Vlan::decode(frame.subspan(pos), &tag)) {
      r.complete = false;
      return r;
    }
    v.vlans[v.n_vlans++] = tag;
    v.ethertype = tag.type;
    pos += Vlan::kSize;
  }
  ByteSpan l3 = frame.subspan(pos);
  if (v.ethertype == kEthTypeArp) {
    Arp arp;
    if (Arp::decode(l3, &arp) && arp.htype == 1 && arp.ptype == kEthTypeIpv4 && arp.hlen == 6 &&
        arp.plen == 4)
      v.arp = arp;
    else
      r.complete = false;
    return r;
  }
  if (v.ethertype == kEthTypeIpv6) {
    parse_ipv6(l3, r);
    return r;
  }
  if (v.ethertype != kEthTypeIpv4) return r;
  Ipv4Header ip;
  if (!Ipv4Header::decode(l3, &ip) || (ip.version_ihl >> 4) != 4) {
    r.complete = false;
    return r;
  }
  size_t ihl = (ip.version_ihl & 0xf) * 4u;
  if (ihl < Ipv4Header::kSize || ip.total_length < ihl || ip.total_length > l3.size()) {
    r.complete = false;
    return r;
  }
  // A bad header checksum makes the packet incomplete, but its fields are still shown.
  if (internet_checksum(l3.first(ihl)) != 0) r.complete = false;
  v.ip = ip;
  v.ip_options = l3.subspan(Ipv4Header::kSize, ihl - Ipv4Header::kSize);
  ByteSpan l4 = l3.subspan(ihl, ip.total_length - ihl);  // Ethernet padding excluded
  v.ip_fragment = (ip.flags_frag & 0x1fff) != 0;
  v.first_fragment = !v.ip_fragment && (ip.flags_frag & 0x2000);
  v.l4_protocol = ip.protocol;
  if (v.ip_fragment) return r;
  parse_l4(l4, ip.protocol, r);
  if (v.udp && (v.udp->dst_port == kDhcpServerPort || v.udp->dst_port == kDhcpClientPort)) {
    Dhcp dhcp;
    if (Dhcp::decode(v.l4_payload, &dhcp) && dhcp.magic == kDhcpMagic) {
      ByteSpan options = v.l4_payload.subspan(Dhcp::kSize);
      if (for_each_dhcp_option(options, [](uint8_t, ByteSpan) {})) {
        v.dhcp = dhcp;
        v.dhcp_options = options;
      } else {
        r.complete = false;
      }
    }
  }
  return r;
}

std::optional<ByteSpan> find_dhcp_option(ByteSpan options, DhcpOption code) {
  std::optional<ByteSpan> found;
  for_each_dhcp_option(options, [&](uint8_t c, ByteSpan value) {
    if (!found && c == static_cast<uint8_t>(code)) found = value;
  });
  return found;
}

namespace {

void put_ipv4(Buffer& out, Ipv4 src, Ipv4 dst, uint8_t proto, size_t payload_len, uint8_t ttl, uint8_t tos) {
  size_t at = out.size();
  Ipv4Header ip;
  ip.version_ihl = 0x45;
  ip.tos = tos;
  ip.total_length = static_cast<uint16_t>(Ipv4Header::kSize + payload_len);
  ip.flags_frag = 0x4000;  // don't fragment
  ip.ttl = ttl;
  ip.protocol = proto;
  ip.src = src;
  ip.dst = dst;
  ip.encode(out);
  out.patch_be16(at + 10, internet_checksum(ByteSpan(out.data() + at, Ipv4Header::kSize)));
}

}  // namespace

void build_arp(Buffer& out, uint16_t op, const Mac& sha, Ipv4 spa, const Mac& tha, Ipv4 tpa,
               const Mac& eth_dst) {
  Ethernet{eth_dst, sha, kEthTypeArp}.encode(out);
  Arp{1, kEthTypeIpv4, 6, 4, op, sha, spa, tha, tpa}.encode(out);
  out.put_zeros(60 - Ethernet::kSize - Arp::kSize);  // minimum Ethernet frame
}

void build_udp(Buffer& out, const Mac& src_mac, const Mac& dst_mac, Ipv4 src, Ipv4 dst, uint16_t src_port,
               uint16_t dst_port, ByteSpan payload, uint8_t ttl, uint8_t tos) {
  Ethernet{dst_mac, src_mac, kEthTypeIpv4}.encode(out);
  size_t udp_len = Udp::kSize + payload.size();
  put_ipv4(out, src, dst, kIpProtoUdp, udp_len, ttl, tos);
  size_t at = out.size();
  Udp{src_port, dst_port, static_cast<uint16_t>(udp_len), 0}.encode(out);
  out.append(payload);
  uint16_t sum = internet_checksum(ByteSpan(out.data() + at, udp_len),
                                   pseudo_header_sum(src, dst, kIpProtoUdp, udp_len));
  out.patch_be16(at + 6, sum ? sum : 0xffff);  // 0 means "no checksum" in UDP
}

void build_icmp(Buffer& out, const Mac& src_mac, const Mac& dst_mac, Ipv4 src, Ipv4 dst, uint8_t type,
                uint8_t code, uint32_t rest, ByteSpan payload, uint8_t ttl, uint8_t tos) {
  Ethernet{dst_mac, src_mac, kEthTypeIpv4}.encode(out);
  size_t icmp_len = Icmp::kSize + payload.size();
  put_ipv4(out, src, dst, kIpProtoIcmp, icmp_len, ttl, tos);
  size_t at = out.size();
  Icmp{type, code, 0, rest}.encode(out);
  out.append(payload);
  out.patch_be16(at + 2, internet_checksum(ByteSpan(out.data() + at, icmp_len)));
}

void build_tcp(Buffer& out, const Mac& src_mac, const Mac& dst_mac, Ipv4 src, Ipv4 dst, uint16_t src_port,
               uint16_t dst_port, uint32_t seq, uint8_t flags, ByteSpan payload, uint8_t ttl, uint8_t tos) {
  Ethernet{dst_mac, src_mac, kEthTypeIpv4}.encode(out);
  size_t tcp_len = Tcp::kSize + payload.size();
  put_ipv4(out, src, dst, kIpProtoTcp, tcp_len, ttl, tos);
  size_t at = out.size();
  Tcp{src_port, dst_port, seq, 0, static_cast<uint8_t>((Tcp::kSize / 4) << 4), flags, 65535, 0, 0}.encode(
      out);
  out.append(payload);
  out.patch_be16(at + 16, internet_checksum(ByteSpan(out.data() + at, tcp_len),
                                            pseudo_header_sum(src, dst, kIpProtoTcp, tcp_len)));
}

void push_vlan(Buffer& out, uint16_t tci, size_t frame_start) {
  size_t at = frame_start + 12;  // after dst and src
  size_t tail = out.size() - at;
  out.extend(4);
  std::memmove(out.data() + at + 4, out.data() + at, tail);
  out.patch_be16(at, kEthTypeVlan);
  out.patch_be16(at + 2, tci);
}

DhcpBuilder::DhcpBuilder(const Dhcp& fixed) {
  Dhcp d = fixed;
  d.magic = kDhcpMagic;
  d.encode(body_);
}

DhcpBuilder& DhcpBuilder::option(DhcpOption code, ByteSpan value) {
  // Values over 255 bytes are split into consecutive options (RFC 3396).
  do {
    size_t n = std::min<size_t>(value.size(), 255);
    body_.put_u8(static_cast<uint8_t>(code));
    body_.put_u8(static_cast<uint8_t>(n));
    body_.append(value.first(n));
    value = value.subspan(n);
  } while (!value.empty());
  return *this;
}

DhcpBuilder& DhcpBuilder::option_u8(DhcpOption code, uint8_t v) {
  return option(code, ByteSpan(&v, 1));
}

DhcpBuilder& DhcpBuilder::option_u32(DhcpOption code, uint32_t v) {
  uint8_t b[4];
  store_be32(b, v);
  return option(code, ByteSpan(b, 4));
}

ByteSpan DhcpBuilder::finish() {
  body_.put_u8(static_cast<uint8_t>(DhcpOption::kEnd));
  if (body_.size() < 300) body_.put_zeros(300 - body_.size());
  return body_.span();
}

}  // namespace vlcp::ofp::pkt
