#include "dhcp/request.h"

#include <algorithm>

namespace vlcp::dhcp {

namespace pkt = ofp::pkt;

std::string_view malformed_name(Malformed m) {
  switch (m) {
    case Malformed::kNone:
      return "ok";
#define VLCP_DHCP_MALFORMED_NAME(e, name) \
  case Malformed::e:                      \
    return name;
      VLCP_DHCP_MALFORMED(VLCP_DHCP_MALFORMED_NAME)
#undef VLCP_DHCP_MALFORMED_NAME
  }
  return "?";
}

namespace {

constexpr size_t kSnameAt = 44, kSnameSize = 64, kFileAt = 108, kFileSize = 128;

// One option area (options field, or file / sname when overloaded): every option bounds-checked,
// the area must end with the end option (RFC 2131 §4.1), the options the server reads taken once.
// `seen` is a bitmap of the read options, shared across areas (a split option is a duplicate).
Malformed read_area(ByteSpan area, bool main, Request& r, uint32_t& seen) {
  size_t pos = 0;
  while (pos < area.size()) {
    uint8_t code = area[pos++];
    if (code == 0) continue;
    if (code == 255) return Malformed::kNone;
    if (pos >= area.size()) return Malformed::kOptionOverrun;
    uint8_t len = area[pos++];
    if (len > area.size() - pos) return Malformed::kOptionOverrun;
    ByteSpan v = area.subspan(pos, len);
    pos += len;
    int bit = -1;
    switch (code) {
      case 52:
        bit = 0;
        break;
      case 53:
        bit = 1;
        break;
      case 50:
        bit = 2;
        break;
      case 54:
        bit = 3;
        break;
      case 61:
        bit = 4;
        break;
      case 55:
        bit = 5;
        break;
      case 12:
        bit = 6;
        break;
      case 57:
        bit = 7;
        break;
      default:
        continue;  // options the server does not read
    }
    if (code == 52 && !main) return Malformed::kBadOverload;  // only the options field may say so
    if (seen & (1u << bit)) return Malformed::kDuplicateOption;
    seen |= 1u << bit;
    switch (code) {
      case 52:
        if (len != 1 || v[0] < 1 || v[0] > 3) return Malformed::kBadOverload;
        r.overload = v[0];
        break;
      case 53:
        if (len != 1) return Malformed::kBadOptionLength;
        r.message_type = v[0];
        break;
      case 50:
      case 54:
        if (len != 4) return Malformed::kBadOptionLength;
        (code == 50 ? r.requested_ip : r.server_id) = load_be32(v.data());
        break;
      case 57:
        if (len != 2) return Malformed::kBadOptionLength;
        r.max_size = std::max<uint16_t>(load_be16(v.data()), 576);  // RFC 2132 §9.10's minimum
        break;
      default:  // 61, 55, 12: at least one byte (RFC 2132)
        if (len == 0) return Malformed::kBadOptionLength;
        (code == 61 ? r.client_id : code == 55 ? r.parameter_list : r.hostname) = v;
        break;
    }
  }
  return Malformed::kNoEndOption;
}

}  // namespace

namespace {

Malformed decode(ByteSpan frame, bool reply, Request& r) {
  r = Request{};
  pkt::Ethernet eth;
  if (!pkt::Ethernet::decode(frame, &eth)) return Malformed::kShortEthernet;
  r.eth_src = eth.src;
  r.eth_dst = eth.dst;
  ByteSpan rest = frame.subspan(pkt::Ethernet::kSize);
  uint16_t type = eth.type;
  if (type == pkt::kEthTypeVlan) {
    pkt::Vlan tag;
    if (!pkt::Vlan::decode(rest, &tag)) return Malformed::kShortEthernet;
    r.vlan_tci = tag.tci;
    type = tag.type;
    rest = rest.subspan(pkt::Vlan::kSize);
  }
  if (type != pkt::kEthTypeIpv4) return Malformed::kNotIpv4;

  pkt::Ipv4Header ip;
  if (!pkt::Ipv4Header::decode(rest, &ip)) return Malformed::kShortIp;
  size_t ihl = size_t{ip.version_ihl & 0xfu} * 4;
  if ((ip.version_ihl >> 4) != 4 || ihl < pkt::Ipv4Header::kSize || ip.total_length < ihl)
    return Malformed::kBadIpHeader;
  if (ip.total_length > rest.size()) return Malformed::kShortIp;  // trailing Ethernet padding is fine
  if (pkt::internet_checksum(rest.first(ihl)) != 0) return Malformed::kIpChecksum;
  if (ip.flags_frag & 0x3fff) return Malformed::kIpFragment;
  if (ip.protocol != pkt::kIpProtoUdp) return Malformed::kNotUdp;
  r.ip_src = ip.src;
  r.ip_dst = ip.dst;

  ByteSpan l4 = rest.subspan(ihl, ip.total_length - ihl);
  pkt::Udp udp;
  if (!pkt::Udp::decode(l4, &udp) || udp.length != l4.size()) return Malformed::kUdpLength;
  if (udp.checksum != 0) {
    uint32_t pseudo = (ip.src >> 16) + (ip.src & 0xffff) + (ip.dst >> 16) + (ip.dst & 0xffff) +
                      pkt::kIpProtoUdp + static_cast<uint32_t>(l4.size());
    if (pkt::internet_checksum(l4, pseudo) != 0) return Malformed::kUdpChecksum;
  }
  if (udp.dst_port != (reply ? pkt::kDhcpClientPort : pkt::kDhcpServerPort)) return Malformed::kNotServerPort;
  r.udp_src = udp.src_port;

  ByteSpan body = l4.subspan(pkt::Udp::kSize);
  pkt::Dhcp bootp;
  if (!pkt::Dhcp::decode(body, &bootp)) return Malformed::kShortBootp;
  if (bootp.op != (reply ? 2 : 1)) return Malformed::kNotBootRequest;
  if (bootp.htype != 1 || bootp.hlen != 6) return Malformed::kNotEthernetHw;
  if (bootp.magic != pkt::kDhcpMagic) return Malformed::kBadMagic;
  if (!reply && bootp.giaddr != 0) return Malformed::kRelayed;
  r.xid = bootp.xid;
  r.secs = bootp.secs;
  r.flags = bootp.flags;
  r.ciaddr = bootp.ciaddr;
  r.yiaddr = bootp.yiaddr;
  r.options = body.subspan(pkt::Dhcp::kSize);
  r.chaddr = bootp.chaddr;

  // Options field, then file, then sname when option 52 says so (RFC 2131 §4.1).
  uint32_t seen = 0;
  if (auto m = read_area(r.options, true, r, seen); m != Malformed::kNone) return m;
  if (r.overload & 1)
    if (auto m = read_area(body.subspan(kFileAt, kFileSize), false, r, seen); m != Malformed::kNone) return m;
  if (r.overload & 2)
    if (auto m = read_area(body.subspan(kSnameAt, kSnameSize), false, r, seen); m != Malformed::kNone)
      return m;
  if (!(seen & 2)) return Malformed::kNoMessageType;
  return Malformed::kNone;
}

}  // namespace

Malformed decode_request(ByteSpan frame, Request& out) {
  return decode(frame, false, out);
}
Malformed decode_reply(ByteSpan frame, Request& out) {
  return decode(frame, true, out);
}

}  // namespace vlcp::dhcp
