#include "trace/packet_spec.h"

#include <arpa/inet.h>

#include <cstdio>

namespace vlcp::trace {

using Json = nlohmann::json;
namespace pkt = ofp::pkt;

std::string_view proto_name(Proto p) {
  switch (p) {
#define VLCP_TRACE_PROTO_NAME(e, name) \
  case Proto::e:                       \
    return name;
    VLCP_TRACE_PROTOS(VLCP_TRACE_PROTO_NAME)
#undef VLCP_TRACE_PROTO_NAME
  }
  return "?";
}

std::optional<Proto> proto_from_name(std::string_view name) {
#define VLCP_TRACE_PROTO_FIND(e, n) \
  if (name == n) return Proto::e;
  VLCP_TRACE_PROTOS(VLCP_TRACE_PROTO_FIND)
#undef VLCP_TRACE_PROTO_FIND
  return std::nullopt;
}

std::string format_mac(const Mac& m) {
  char b[18];
  std::snprintf(b, sizeof b, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return b;
}

std::string format_ipv4(Ipv4 ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 0xff) + "." +
         std::to_string((ip >> 8) & 0xff) + "." + std::to_string(ip & 0xff);
}

namespace {

std::optional<Mac> parse_mac(std::string_view s) {
  if (s.size() != 17) return std::nullopt;
  Mac m{};
  for (size_t i = 0; i < 6; ++i) {
    if (i > 0 && s[i * 3 - 1] != ':') return std::nullopt;
    unsigned v = 0;
    for (size_t k = 0; k < 2; ++k) {
      char c = s[i * 3 + k];
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (d < 0) return std::nullopt;
      v = v * 16 + static_cast<unsigned>(d);
    }
    m[i] = static_cast<uint8_t>(v);
  }
  return m;
}

std::optional<Ipv4> parse_ipv4(const std::string& s) {
  in_addr a{};
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

}  // namespace

PacketSpec default_packet(Proto proto, const Mac& src_mac, Ipv4 src_ip, const Mac& dst_mac, Ipv4 dst_ip) {
  PacketSpec s;
  s.proto = proto;
  s.eth_src = src_mac;
  s.eth_dst = dst_mac;
  s.ip_src = src_ip;
  s.ip_dst = dst_ip;
  switch (proto) {
    case Proto::kIcmp:
      s.icmp_type = 8;
      s.icmp_code = 0;
      break;
    case Proto::kTcp:
      s.tp_src = kTraceSourcePort;
      s.tp_dst = 80;
      break;
    case Proto::kUdp:
      s.tp_src = kTraceSourcePort;
      s.tp_dst = kTraceUdpPort;
      break;
    case Proto::kArp:
      s.arp_op = 1;
      s.eth_dst = Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
      break;
    case Proto::kDhcp:
      s.eth_dst = Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
      s.ip_src = 0;
      s.ip_dst = 0xffffffff;
      s.tp_src = pkt::kDhcpClientPort;
      s.tp_dst = pkt::kDhcpServerPort;
      break;
  }
  return s;
}

std::string br_flow(const PacketSpec& s) {
  std::string f;
  switch (s.proto) {
    case Proto::kIcmp:
      f = "icmp";
      break;
    case Proto::kTcp:
      f = "tcp";
      break;
    case Proto::kUdp:
    case Proto::kDhcp:
      f = "udp";
      break;
    case Proto::kArp:
      f = "arp";
      break;
  }
  f += ",in_port=" + std::to_string(s.in_port);
  if (s.tun_id) f += ",tun_id=" + hex(*s.tun_id);
  if (s.tun_src) f += ",tun_src=" + format_ipv4(*s.tun_src);
  if (s.tun_dst) f += ",tun_dst=" + format_ipv4(*s.tun_dst);
  if (s.vlan) f += ",dl_vlan=" + std::to_string(*s.vlan);
  f += ",dl_src=" + format_mac(s.eth_src) + ",dl_dst=" + format_mac(s.eth_dst);
  if (s.proto == Proto::kArp) {
    f += ",arp_spa=" + format_ipv4(s.ip_src) + ",arp_tpa=" + format_ipv4(s.ip_dst) +
         ",arp_op=" + std::to_string(s.arp_op) + ",arp_sha=" + format_mac(s.eth_src) +
         ",arp_tha=00:00:00:00:00:00";
    return f;
  }
  f += ",nw_src=" + format_ipv4(s.ip_src) + ",nw_dst=" + format_ipv4(s.ip_dst) +
       ",nw_tos=" + std::to_string(s.dscp << 2) + ",nw_ttl=" + std::to_string(s.ttl);
  switch (s.proto) {
    case Proto::kIcmp:
      f += ",icmp_type=" + std::to_string(s.icmp_type) + ",icmp_code=" + std::to_string(s.icmp_code);
      break;
    case Proto::kTcp:
      f += ",tp_src=" + std::to_string(s.tp_src) + ",tp_dst=" + std::to_string(s.tp_dst) + ",tcp_flags=syn";
      break;
    case Proto::kUdp:
    case Proto::kDhcp:  // OVS 3.1's exact-flow parser refuses tp_src after "udp" (its prerequisite
                        // is TCP's): ofproto/trace takes udp_src and udp_dst.
      f += ",udp_src=" + std::to_string(s.tp_src) + ",udp_dst=" + std::to_string(s.tp_dst);
      break;
    case Proto::kArp:
      break;
  }
  return f;
}

void frame(const PacketSpec& s, Buffer& out, ByteSpan payload) {
  size_t start = out.size();
  uint8_t tos = static_cast<uint8_t>(s.dscp << 2);
  switch (s.proto) {
    case Proto::kIcmp:
      pkt::build_icmp(out, s.eth_src, s.eth_dst, s.ip_src, s.ip_dst, s.icmp_type, s.icmp_code, 0, payload,
                      s.ttl, tos);
      break;
    case Proto::kTcp:
      pkt::build_tcp(out, s.eth_src, s.eth_dst, s.ip_src, s.ip_dst, s.tp_src, s.tp_dst, 0, pkt::kTcpSyn,
                     payload, s.ttl, tos);
      break;
    case Proto::kUdp:
      pkt::build_udp(out, s.eth_src, s.eth_dst, s.ip_src, s.ip_dst, s.tp_src, s.tp_dst, payload, s.ttl, tos);
      break;
    case Proto::kArp:
      pkt::build_arp(out, s.arp_op, s.eth_src, s.ip_src, Mac{}, s.ip_dst, s.eth_dst);
      break;
    case Proto::kDhcp: {
      pkt::Dhcp d{};
      d.op = 1;
      d.htype = 1;
      d.hlen = 6;
      d.xid = 0x76c7a1ce;  // "vlcp trace"
      d.flags = 0x8000;    // broadcast
      d.chaddr = s.eth_src;
      pkt::DhcpBuilder b(d);
      b.option_u8(pkt::DhcpOption::kMessageType, static_cast<uint8_t>(pkt::DhcpMessage::kDiscover));
      pkt::build_udp(out, s.eth_src, s.eth_dst, s.ip_src, s.ip_dst, s.tp_src, s.tp_dst, b.finish(), s.ttl,
                     tos);
      break;
    }
  }
  if (s.vlan) pkt::push_vlan(out, *s.vlan & 0x0fff, start);
}

Json packet_spec_to_json(const PacketSpec& s) {
  Json j{{"proto", std::string(proto_name(s.proto))},
         {"eth_src", format_mac(s.eth_src)},
         {"eth_dst", format_mac(s.eth_dst)},
         {"vlan", s.vlan ? Json(*s.vlan) : Json(nullptr)},
         {"ip_src", format_ipv4(s.ip_src)},
         {"ip_dst", format_ipv4(s.ip_dst)},
         {"ttl", s.ttl},
         {"dscp", s.dscp},
         {"tp_src", s.tp_src},
         {"tp_dst", s.tp_dst},
         {"icmp_type", s.icmp_type},
         {"icmp_code", s.icmp_code},
         {"arp_op", s.arp_op}};
  return j;
}

Result<PacketSpec> packet_spec_from_json(const Json& j) {
  if (!j.is_object()) return make_error(Errc::kInvalidArgument, "packet: expected an object");
  PacketSpec s;
  auto str = [&](const char* k) -> Result<std::string> {
    if (!j.contains(k) || !j[k].is_string())
      return make_error(Errc::kInvalidArgument, std::string("packet.") + k + ": expected a string");
    return j[k].get<std::string>();
  };
  auto num = [&](const char* k, uint64_t max, uint64_t def) -> Result<uint64_t> {
    if (!j.contains(k) || j[k].is_null()) return def;
    if (!j[k].is_number_unsigned() || j[k].get<uint64_t>() > max)
      return make_error(Errc::kInvalidArgument,
                        std::string("packet.") + k + ": expected 0.." + std::to_string(max));
    return j[k].get<uint64_t>();
  };
  auto proto = str("proto");
  if (!proto.ok()) return proto.status();
  auto p = proto_from_name(*proto);
  if (!p) return make_error(Errc::kInvalidArgument, "packet.proto: unknown protocol '" + *proto + "'");
  s.proto = *p;
  for (auto [key, out] : {std::pair{"eth_src", &s.eth_src}, std::pair{"eth_dst", &s.eth_dst}}) {
    auto t = str(key);
    if (!t.ok()) return t.status();
    auto m = parse_mac(*t);
    if (!m)
      return make_error(Errc::kInvalidArgument, std::string("packet.") + key + ": not a MAC: '" + *t + "'");
    *out = *m;
  }
  for (auto [key, out] : {std::pair{"ip_src", &s.ip_src}, std::pair{"ip_dst", &s.ip_dst}}) {
    auto t = str(key);
    if (!t.ok()) return t.status();
    auto a = parse_ipv4(*t);
    if (!a)
      return make_error(Errc::kInvalidArgument,
                        std::string("packet.") + key + ": not an IPv4 address: '" + *t + "'");
    *out = *a;
  }
#define VLCP_NUM(field, key, max, def)            \
  {                                               \
    auto v = num(key, max, def);                  \
    if (!v.ok()) return v.status();               \
    s.field = static_cast<decltype(s.field)>(*v); \
  }
  VLCP_NUM(ttl, "ttl", 255, kTraceTtl)
  VLCP_NUM(dscp, "dscp", 63, 0)
  VLCP_NUM(tp_src, "tp_src", 65535, 0)
  VLCP_NUM(tp_dst, "tp_dst", 65535, 0)
  VLCP_NUM(icmp_type, "icmp_type", 255, 8)
  VLCP_NUM(icmp_code, "icmp_code", 255, 0)
  VLCP_NUM(arp_op, "arp_op", 65535, 1)
#undef VLCP_NUM
  if (j.contains("vlan") && !j["vlan"].is_null()) {
    auto v = num("vlan", 4095, 0);
    if (!v.ok()) return v.status();
    s.vlan = static_cast<uint16_t>(*v);
  }
  return s;
}

}  // namespace vlcp::trace
