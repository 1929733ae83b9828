#include "dhcp/server.h"

#include <algorithm>
#include <array>
#include <bit>

#include "ofp/actions.h"
#include "ofp/message.h"

namespace vlcp::dhcp {

namespace pkt = ofp::pkt;

std::string_view outcome_name(Outcome o) {
  switch (o) {
#define VLCP_DHCP_OUTCOME_NAME(e, counter) \
  case Outcome::e:                         \
    return #counter;
    VLCP_DHCP_OUTCOMES(VLCP_DHCP_OUTCOME_NAME)
#undef VLCP_DHCP_OUTCOME_NAME
  }
  return "?";
}

void Counters::count(Outcome o) {
  switch (o) {
#define VLCP_DHCP_OUTCOME_COUNT(e, counter) \
  case Outcome::e:                          \
    ++counter;                              \
    break;
    VLCP_DHCP_OUTCOMES(VLCP_DHCP_OUTCOME_COUNT)
#undef VLCP_DHCP_OUTCOME_COUNT
  }
}

Counters& Counters::operator+=(const Counters& o) {
#define VLCP_DHCP_OUTCOME_ADD(e, counter) counter += o.counter;
  VLCP_DHCP_OUTCOMES(VLCP_DHCP_OUTCOME_ADD)
#undef VLCP_DHCP_OUTCOME_ADD
  for (size_t i = 0; i <= kMalformedCount; ++i) malformed_by[i] += o.malformed_by[i];
  bad_packet_in += o.bad_packet_in;
  options_dropped += o.options_dropped;
  return *this;
}

void Counters::for_each(const std::function<void(std::string_view, uint64_t)>& fn) const {
#define VLCP_DHCP_OUTCOME_EACH(e, counter) fn(#counter, counter);
  VLCP_DHCP_OUTCOMES(VLCP_DHCP_OUTCOME_EACH)
#undef VLCP_DHCP_OUTCOME_EACH
#define VLCP_DHCP_MALFORMED_EACH(e, name) fn("malformed." name, malformed_by[size_t(Malformed::e)]);
  VLCP_DHCP_MALFORMED(VLCP_DHCP_MALFORMED_EACH)
#undef VLCP_DHCP_MALFORMED_EACH
  fn("bad_packet_in", bad_packet_in);
  fn("options_dropped", options_dropped);
}

namespace {

constexpr uint8_t kOffer = 2, kAck = 5, kNak = 6;

Ipv4 server_id(const ServerConfig& c, const Lease& l) {
  return l.server_ip.value_or(c.ip);
}
Ipv4 mask_of(uint8_t prefix) {
  return prefix == 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

}  // namespace

Decision decide(const ServerConfig& c, const Lease& l, const Request& r) {
  bool own_mac = r.chaddr == l.mac;
  switch (r.message_type) {
    case 1:  // DISCOVER
      if (!own_mac) return {Outcome::kIgnored, 0};
      return {Outcome::kOffer, kOffer};
    case 3: {  // REQUEST
      Ipv4 asked = 0;
      if (r.server_id) {  // SELECTING: the client chose a server; not us → not ours to answer
        if (*r.server_id != server_id(c, l)) return {Outcome::kIgnored, 0};
        asked = r.requested_ip.value_or(r.ciaddr);
      } else if (r.requested_ip) {  // INIT-REBOOT
        asked = *r.requested_ip;
        if (r.ciaddr != 0 && r.ciaddr != asked) return {Outcome::kNak, kNak};
      } else if (r.ciaddr != 0) {  // RENEWING / REBINDING
        asked = r.ciaddr;
      } else {  // no address to confirm: not a REQUEST RFC 2131 knows
        return {Outcome::kIgnored, 0};
      }
      if (!own_mac || asked != l.ip) return {Outcome::kNak, kNak};
      return {Outcome::kAck, kAck};
    }
    case 4:
      return {Outcome::kDecline, 0};
    case 7:
      return {Outcome::kRelease, 0};
    case 8:  // INFORM
      if (!own_mac) return {Outcome::kIgnored, 0};
      return {Outcome::kInform, kAck};
    default:
      return {Outcome::kUnknownType, 0};
  }
}

void encode_classless_routes(std::span<const Route> routes, Buffer& out) {
  for (const Route& rt : routes) {
    if (rt.prefix > 32) continue;
    out.put_u8(rt.prefix);
    Ipv4 dest = rt.dest & mask_of(rt.prefix);
    for (int i = 0; i < (rt.prefix + 7) / 8; ++i) out.put_u8(static_cast<uint8_t>(dest >> (24 - 8 * i)));
    out.put_be32(rt.gateway);
  }
}

namespace {

// The options a reply may carry, by code: values in one scratch buffer.
class OptionTable {
 public:
  bool has(uint8_t code) const { return present_[code]; }
  // Calls fn(code) for each option present, by code.
  template <typename Fn>
  void for_each_code(Fn&& fn) const {
    for (size_t w = 0; w < 4; ++w)
      for (uint64_t bits = words_[w]; bits; bits &= bits - 1)
        fn(static_cast<uint8_t>(w * 64 + std::countr_zero(bits)));
  }
  ByteSpan get(uint8_t code) const { return {values_.data() + at_[code], static_cast<size_t>(len_[code])}; }
  // Starts option `code`'s value (replacing an earlier one); append to buffer(), then end().
  Buffer& begin(uint8_t code) {
    code_ = code;
    at_[code] = static_cast<uint32_t>(values_.size());
    return values_;
  }
  void end() {
    len_[code_] = static_cast<uint32_t>(values_.size() - at_[code_]);
    present_[code_] = true;
    words_[code_ / 64] |= uint64_t{1} << (code_ % 64);
  }
  void set(uint8_t code, ByteSpan v) {
    begin(code).append(v);
    end();
  }
  void set_u32(uint8_t code, uint32_t v) {
    begin(code).put_be32(v);
    end();
  }
  void set_ips(uint8_t code, const std::vector<Ipv4>& ips) {
    if (ips.empty()) return;
    Buffer& b = begin(code);
    for (Ipv4 ip : ips) b.put_be32(ip);
    end();
  }
  void set_text(uint8_t code, std::string_view s) {
    if (!s.empty()) set(code, ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }

 private:
  InlineBuffer<1024> values_;
  std::array<uint32_t, 256> at_, len_;  // read only where present_
  std::array<bool, 256> present_{};
  std::array<uint64_t, 4> words_{};
  uint8_t code_ = 0;
};

void fill_options(const ServerConfig& c, const Lease& l, const Decision& d, OptionTable& t) {
  const bool with_lease = d.outcome != Outcome::kInform;
  Ipv4 mask = mask_of(l.prefix);
  t.set_u32(1, mask);
  if (l.router) t.set_u32(3, *l.router);
  t.set_ips(6, l.dns);
  t.set_text(12, l.hostname);
  t.set_text(15, l.domain_name);
  if (l.mtu >= 68) {
    t.begin(26).put_be16(l.mtu);
    t.end();
  }
  t.set_u32(28, (l.ip & mask) | ~mask);
  t.set_ips(42, l.ntp);
  if (!l.routes.empty()) {  // clients that take 121 ignore option 3 (RFC 3442): add the default
    Buffer& b = t.begin(121);
    encode_classless_routes(l.routes, b);
    bool has_default =
        std::any_of(l.routes.begin(), l.routes.end(), [](const Route& r) { return r.prefix == 0; });
    if (!has_default && l.router) {
      Route def{0, 0, *l.router};
      encode_classless_routes(std::span(&def, 1), b);
    }
    t.end();
  }
  uint32_t lease = l.lease_time ? *l.lease_time : c.lease_time.value_or(kInfiniteLease);
  if (with_lease) {
    t.set_u32(51, lease);
    if (lease != kInfiniteLease) {
      uint32_t t2 = c.t2 && *c.t2 < lease ? *c.t2 : static_cast<uint32_t>(uint64_t{lease} * 7 / 8);
      uint32_t t1 = c.t1 && *c.t1 < lease ? *c.t1 : lease / 2;
      t.set_u32(58, std::min(t1, t2));
      t.set_u32(59, t2);
    }
  }
  for (const ExtraOption& e : l.extra) {
    if (e.code == 0 || e.code == 255 || (e.code >= 52 && e.code <= 54)) continue;  // the server's own
    if (!with_lease && (e.code == 51 || e.code == 58 || e.code == 59)) continue;
    t.set(e.code, e.value);
  }
}

// Appends option `code` with `value`, split into several of at most 255 bytes (RFC 3396) when long.
size_t option_wire_size(size_t value_size) {
  size_t pieces = value_size == 0 ? 1 : (value_size + 254) / 255;
  return pieces * 2 + value_size;
}
void put_option(Buffer& out, uint8_t code, ByteSpan v) {
  do {
    size_t n = std::min<size_t>(v.size(), 255);
    out.put_u8(code);
    out.put_u8(static_cast<uint8_t>(n));
    out.append(v.first(n));
    v = v.subspan(n);
  } while (!v.empty());
}

constexpr size_t kIpSize = 20, kUdpSize = 8, kBootpSize = 240;
constexpr size_t kBootpMin = 300;  // RFC 1542: a BOOTP message is at least 300 bytes

}  // namespace

size_t encode_reply(const ServerConfig& c, const Lease& l, const Request& r, const Decision& d, Buffer& out) {
  if (d.reply_type == 0) return 0;
  const bool nak = d.reply_type == kNak;
  const Ipv4 sid = server_id(c, l);
  const Ipv4 yiaddr = (d.outcome == Outcome::kOffer || d.outcome == Outcome::kAck) ? l.ip : 0;
  const Ipv4 ciaddr = (d.outcome == Outcome::kAck || d.outcome == Outcome::kInform) ? r.ciaddr : 0;

  // Addressing (RFC 2131 §4.1, giaddr always 0 here): NAK and the broadcast bit broadcast; a
  // client with an address (renewing, INFORM) gets it unicast; else unicast to yiaddr at chaddr,
  // which the controller can do since it knows the MAC.
  Mac eth_dst = r.chaddr;
  Ipv4 ip_dst;
  if (nak) {
    ip_dst = 0xffffffff;
  } else if (ciaddr != 0) {
    ip_dst = ciaddr;
  } else if (r.broadcast() || yiaddr == 0) {
    ip_dst = 0xffffffff;
  } else {
    ip_dst = yiaddr;
  }
  if (ip_dst == 0xffffffff) eth_dst.fill(0xff);

  // Room for options: the client's maximum IP datagram (RFC 2132 §9.10, at least 576, capped by
  // the configuration and the port's MTU) less the headers and the end option.
  size_t limit = r.max_size.value_or(576);
  limit = std::min<size_t>(limit, c.max_message_size);
  if (l.mtu >= 576) limit = std::min<size_t>(limit, l.mtu);
  limit = std::max<size_t>(limit, 576);
  size_t room = limit - kIpSize - kUdpSize - kBootpSize - 1;

  pkt::Ethernet eth;
  eth.dst = eth_dst;
  eth.src = c.mac;
  eth.type = r.vlan_tci ? pkt::kEthTypeVlan : pkt::kEthTypeIpv4;
  eth.encode(out);
  if (r.vlan_tci) pkt::Vlan{*r.vlan_tci, pkt::kEthTypeIpv4}.encode(out);
  const size_t ip_at = out.size();
  pkt::Ipv4Header ip;
  ip.version_ihl = 0x45;
  ip.ttl = 64;
  ip.protocol = pkt::kIpProtoUdp;
  ip.src = sid;
  ip.dst = ip_dst;
  ip.encode(out);  // length and checksum patched below
  const size_t udp_at = out.size();
  pkt::Udp{pkt::kDhcpServerPort, pkt::kDhcpClientPort, 0, 0}.encode(out);
  const size_t body_at = out.size();
  pkt::Dhcp b;
  b.op = 2;
  b.htype = 1;
  b.hlen = 6;
  b.xid = r.xid;
  b.flags = r.flags;
  b.ciaddr = ciaddr;
  b.yiaddr = yiaddr;
  b.chaddr = r.chaddr;
  b.magic = pkt::kDhcpMagic;
  b.encode(out);

  size_t dropped = 0;
  auto put_u32_opt = [&](uint8_t code, uint32_t v) {
    uint8_t bytes[4];
    store_be32(bytes, v);
    put_option(out, code, ByteSpan(bytes, 4));
  };
  out.put_u8(53);
  out.put_u8(1);
  out.put_u8(d.reply_type);
  put_u32_opt(54, sid);
  room -= 3 + 6;
  if (!nak) {  // a NAK carries 53 and 54 only
    OptionTable t;
    fill_options(c, l, d, t);
    std::array<bool, 256> sent{};
    auto emit = [&](uint8_t code) {
      if (!t.has(code) || sent[code]) return;
      sent[code] = true;
      ByteSpan v = t.get(code);
      size_t n = option_wire_size(v.size());
      if (n > room) {
        ++dropped;
        return;
      }
      put_option(out, code, v);
      room -= n;
    };
    // Required first (RFC 2131 Table 3 and what a client cannot work without), then what the
    // client asked for in its order, then VLCP's always-sent ones, then the rest by code.
    static constexpr uint8_t kRequired[] = {51, 58, 59, 1, 3}, kUsual[] = {121, 6, 15, 26, 28, 12, 42};
    for (uint8_t code : kRequired) emit(code);
    for (uint8_t code : r.parameter_list) emit(code);
    for (uint8_t code : kUsual) emit(code);
    t.for_each_code(emit);
  }
  out.put_u8(255);
  size_t body_size = out.size() - body_at;
  if (body_size < kBootpMin) out.put_zeros(kBootpMin - body_size);

  // Lengths and checksums.
  const size_t ip_len = out.size() - ip_at, udp_len = out.size() - udp_at;
  out.patch_be16(ip_at + 2, static_cast<uint16_t>(ip_len));
  out.patch_be16(ip_at + 10, pkt::internet_checksum(ByteSpan(out.data() + ip_at, kIpSize)));
  out.patch_be16(udp_at + 4, static_cast<uint16_t>(udp_len));
  uint32_t pseudo = (sid >> 16) + (sid & 0xffff) + (ip_dst >> 16) + (ip_dst & 0xffff) + pkt::kIpProtoUdp +
                    static_cast<uint32_t>(udp_len);
  uint16_t sum = pkt::internet_checksum(ByteSpan(out.data() + udp_at, udp_len), pseudo);
  out.patch_be16(udp_at + 6, sum == 0 ? 0xffff : sum);  // 0 means "no checksum" in UDP
  return dropped;
}

Outcome serve_frame(const ServerConfig& c, const Lease* lease, ByteSpan frame, Buffer& reply,
                    Counters& counters) {
  Request r;
  Malformed m = decode_request(frame, r);
  Outcome o;
  if (m != Malformed::kNone) {
    ++counters.malformed_by[static_cast<size_t>(m)];
    o = Outcome::kMalformed;
  } else if (!lease || lease->ip == 0) {
    o = Outcome::kNoLease;
  } else {
    Decision d = decide(c, *lease, r);
    o = d.outcome;
    if (d.reply_type) counters.options_dropped += encode_reply(c, *lease, r, d, reply);
  }
  counters.count(o);
  return o;
}

void encode_reply_packet_out(Buffer& answers, uint32_t port, ByteSpan frame) {
  ofp::PacketOut po;
  po.buffer_id = ofp::kNoBuffer;
  po.in_port = ofp::kPortController;
  po.actions.output(port, ofp::kNoBuffer16);
  po.data = frame;
  ofp::encode_packet_out(answers, 0, po);
}

bool serve_packet_in(const ServerConfig& c, const LeaseLookup& lookup, uint64_t dpid, ByteSpan packet_in,
                     Buffer& answers, Counters& counters) {
  auto f = ofp::decode_frame(packet_in);
  if (!f.ok() || f->header.type != ofp::MsgType::kPacketIn) {
    ++counters.bad_packet_in;
    return false;
  }
  auto p = ofp::decode_packet_in(*f);
  uint32_t in_port = 0;
  if (p.ok()) {
    p->match.for_each([&](const ofp::OxmEntry& e) {
      if (e.info && e.info->field == ofp::Field::kInPort) in_port = static_cast<uint32_t>(e.value_u64());
    });
  }
  if (!p.ok() || in_port == 0 || p->data.size() < p->total_len) {  // a cut packet is not answered
    ++counters.bad_packet_in;
    return false;
  }
  InlineBuffer<1536> frame;
  serve_frame(c, lookup ? lookup(dpid, in_port) : nullptr, p->data, frame, counters);
  if (frame.empty()) return false;
  encode_reply_packet_out(answers, in_port, frame.span());
  return true;
}

}  // namespace vlcp::dhcp
