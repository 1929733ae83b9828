// The DHCP server's packet logic (src/dhcp): requests built here byte by byte (checksums computed
// independently of the library), decisions per message type, reply addressing and options as a
// client reads them back, RFC 3442 examples, every malformed class refused, every truncation of a
// valid request harmless, and the PACKET_IN → PACKET_OUT wrapper.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <set>

#include "dhcp/server.h"
#include "ofp/actions.h"
#include "ofp/message.h"

namespace {

using namespace vlcp;
using namespace vlcp::dhcp;
using Bytes = std::vector<uint8_t>;

constexpr Mac kClientMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x07};
constexpr Ipv4 ip(int a, int b, int c, int d) {
  return Ipv4(a) << 24 | Ipv4(b) << 16 | Ipv4(c) << 8 | Ipv4(d);
}

// RFC 1071, written out here rather than taken from the library.
uint16_t oracle_checksum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i < n; i += 2) sum += (uint32_t(p[i]) << 8) | (i + 1 < n ? p[i + 1] : 0);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}
void put16(Bytes& b, uint16_t v) {
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}
void put32(Bytes& b, uint32_t v) {
  put16(b, uint16_t(v >> 16));
  put16(b, uint16_t(v));
}
Bytes opt(uint8_t code, Bytes v) {
  Bytes o{code, uint8_t(v.size())};
  o.insert(o.end(), v.begin(), v.end());
  return o;
}
Bytes ip_bytes(Ipv4 a) {
  Bytes b;
  put32(b, a);
  return b;
}

// A client's request, built by hand.
struct Req {
  uint8_t type = 1;
  Mac chaddr = kClientMac;
  uint32_t xid = 0x12345678;
  uint16_t flags = 0;
  Ipv4 ciaddr = 0, giaddr = 0, ip_src = 0, ip_dst = 0xffffffff;
  Bytes options;          // after 53 (and before end)
  bool with_type = true;  // option 53 present
  bool with_end = true;   // end option present
  bool pad = true;        // zeros up to BOOTP's 300 bytes
  bool vlan = false;
  bool udp_checksum = true;
  uint8_t op = 1, htype = 1, hlen = 6;
  uint32_t magic = 0x63825363;
  uint16_t dport = 67;
  Bytes ip_options;  // multiple of 4
  uint16_t flags_frag = 0;
  uint8_t protocol = 17;
  Bytes sname, file;  // raw contents (zero-padded)
  bool bad_ip_checksum = false, bad_udp_checksum = false;
  int udp_len_delta = 0;

  Bytes frame() const {
    Bytes dhcp{op, htype, hlen, 0};
    put32(dhcp, xid);
    put16(dhcp, 0);
    put16(dhcp, flags);
    put32(dhcp, ciaddr);
    put32(dhcp, 0);
    put32(dhcp, 0);
    put32(dhcp, giaddr);
    dhcp.insert(dhcp.end(), chaddr.begin(), chaddr.end());
    dhcp.resize(dhcp.size() + 10);
    Bytes s = sname, f = file;
    s.resize(64);
    f.resize(128);
    dhcp.insert(dhcp.end(), s.begin(), s.end());
    dhcp.insert(dhcp.end(), f.begin(), f.end());
    put32(dhcp, magic);
    if (with_type) dhcp.insert(dhcp.end(), {53, 1, type});
    dhcp.insert(dhcp.end(), options.begin(), options.end());
    if (with_end) dhcp.push_back(255);
    while (pad && dhcp.size() < 300) dhcp.push_back(0);

    Bytes udp;
    put16(udp, 68);
    put16(udp, dport);
    put16(udp, uint16_t(8 + dhcp.size() + udp_len_delta));
    put16(udp, 0);
    udp.insert(udp.end(), dhcp.begin(), dhcp.end());
    if (udp_checksum) {
      uint32_t pseudo =
          (ip_src >> 16) + (ip_src & 0xffff) + (ip_dst >> 16) + (ip_dst & 0xffff) + 17 + uint32_t(udp.size());
      uint16_t c = oracle_checksum(udp.data(), udp.size(), pseudo);
      if (c == 0) c = 0xffff;
      if (bad_udp_checksum) c ^= 0x0101;
      udp[6] = uint8_t(c >> 8), udp[7] = uint8_t(c);
    }

    Bytes iph{uint8_t(0x40 | (5 + ip_options.size() / 4)), 0};
    put16(iph, uint16_t(20 + ip_options.size() + udp.size()));
    put16(iph, 1);
    put16(iph, flags_frag);
    iph.insert(iph.end(), {64, protocol, 0, 0});
    put32(iph, ip_src);
    put32(iph, ip_dst);
    iph.insert(iph.end(), ip_options.begin(), ip_options.end());
    uint16_t c = oracle_checksum(iph.data(), iph.size());
    if (bad_ip_checksum) c ^= 0x0101;
    iph[10] = uint8_t(c >> 8), iph[11] = uint8_t(c);

    Bytes eth(6, 0xff);
    eth.insert(eth.end(), chaddr.begin(), chaddr.end());
    if (vlan) eth.insert(eth.end(), {0x81, 0x00, 0x00, 0x64});
    eth.insert(eth.end(), {0x08, 0x00});
    eth.insert(eth.end(), iph.begin(), iph.end());
    eth.insert(eth.end(), udp.begin(), udp.end());
    return eth;
  }
};

Lease test_lease() {
  Lease l;
  l.mac = kClientMac;
  l.ip = ip(10, 0, 1, 5);
  l.prefix = 24;
  l.router = ip(10, 0, 1, 1);
  l.dns = {ip(10, 0, 0, 53), ip(8, 8, 8, 8)};
  l.ntp = {ip(10, 0, 0, 123)};
  l.domain_name = "example.org";
  l.hostname = "host7";
  l.mtu = 1450;
  l.lease_time = 86400;
  l.routes = {{ip(10, 17, 0, 0), 16, ip(10, 0, 1, 254)}, {ip(192, 168, 5, 0), 24, ip(10, 0, 1, 253)}};
  return l;
}

// What a client reads from a reply: the fixed fields and every option, long ones reassembled.
struct ClientView {
  Request r;
  std::map<uint8_t, Bytes> opts;
  Bytes frame;
  uint32_t u32(uint8_t code) const {
    const Bytes& v = opts.at(code);
    EXPECT_EQ(v.size(), 4u);
    return uint32_t(v[0]) << 24 | uint32_t(v[1]) << 16 | uint32_t(v[2]) << 8 | v[3];
  }
};
ClientView read_reply(ByteSpan frame) {
  ClientView c;
  c.frame.assign(frame.begin(), frame.end());
  EXPECT_EQ(decode_reply(ByteSpan(c.frame), c.r), Malformed::kNone);
  size_t pos = 0;
  const ByteSpan o = c.r.options;
  bool ended = false;
  while (pos < o.size()) {
    uint8_t code = o[pos++];
    if (code == 0) continue;
    if (code == 255) {
      ended = true;
      break;
    }
    uint8_t len = o[pos++];
    c.opts[code].insert(c.opts[code].end(), o.begin() + pos, o.begin() + pos + len);
    pos += len;
  }
  EXPECT_TRUE(ended);
  return c;
}

// Parses option 121 independently (RFC 3442): the routes as (dest, prefix, router).
std::vector<std::tuple<Ipv4, int, Ipv4>> parse_121(const Bytes& v) {
  std::vector<std::tuple<Ipv4, int, Ipv4>> out;
  size_t i = 0;
  while (i < v.size()) {
    int prefix = v[i++];
    Ipv4 dest = 0;
    for (int k = 0; k < (prefix + 7) / 8; ++k) dest |= Ipv4(v[i++]) << (24 - 8 * k);
    Ipv4 gw = uint32_t(v[i]) << 24 | uint32_t(v[i + 1]) << 16 | uint32_t(v[i + 2]) << 8 | v[i + 3];
    i += 4;
    out.emplace_back(dest, prefix, gw);
  }
  return out;
}

struct Served {
  Outcome outcome;
  Bytes reply;
  Counters counters;
};
Served serve(const Req& q, const Lease* lease, const ServerConfig& cfg = {}) {
  Served s;
  Bytes f = q.frame();
  InlineBuffer<1536> out;
  s.outcome = serve_frame(cfg, lease, ByteSpan(f), out, s.counters);
  s.reply.assign(out.data(), out.data() + out.size());
  return s;
}

// --- decoding ---------------------------------------------------------------------------------

TEST(DhcpDecode, ExtractsTheFieldsTheServerReads) {
  Req q;
  q.flags = 0x8000;
  q.options = opt(50, ip_bytes(ip(10, 0, 1, 5)));
  for (auto o : {opt(54, ip_bytes(ip(169, 254, 169, 254))), opt(61, {1, 2, 0, 0, 0, 0, 7}),
                 opt(55, {1, 3, 121, 6}), opt(12, {'h', 'o'}), opt(57, {0x05, 0xdc}), opt(60, {'x'})})
    q.options.insert(q.options.end(), o.begin(), o.end());
  Bytes f = q.frame();
  Request r;
  ASSERT_EQ(decode_request(ByteSpan(f), r), Malformed::kNone);
  EXPECT_EQ(r.message_type, 1);
  EXPECT_EQ(r.xid, 0x12345678u);
  EXPECT_TRUE(r.broadcast());
  EXPECT_EQ(r.chaddr, kClientMac);
  EXPECT_EQ(r.eth_src, kClientMac);
  EXPECT_EQ(r.requested_ip, ip(10, 0, 1, 5));
  EXPECT_EQ(r.server_id, ip(169, 254, 169, 254));
  EXPECT_EQ(Bytes(r.client_id.begin(), r.client_id.end()), (Bytes{1, 2, 0, 0, 0, 0, 7}));
  EXPECT_EQ(Bytes(r.parameter_list.begin(), r.parameter_list.end()), (Bytes{1, 3, 121, 6}));
  EXPECT_EQ(Bytes(r.hostname.begin(), r.hostname.end()), (Bytes{'h', 'o'}));
  EXPECT_EQ(r.max_size, 1500);
  EXPECT_FALSE(r.vlan_tci);
}

TEST(DhcpDecode, VlanTagIpOptionsNoUdpChecksumAndEthernetPadding) {
  Req q;
  q.vlan = true;
  q.ip_options = {1, 1, 1, 0};  // NOP NOP NOP EOL
  q.udp_checksum = false;
  Bytes f = q.frame();
  f.insert(f.end(), 20, 0);  // trailing Ethernet padding past the IP total length
  Request r;
  ASSERT_EQ(decode_request(ByteSpan(f), r), Malformed::kNone);
  EXPECT_EQ(r.vlan_tci, 0x64);
}

TEST(DhcpDecode, OverloadedFileAndSnameCarryOptions) {
  Req q;
  q.options = opt(52, {3});
  q.file = opt(50, ip_bytes(ip(10, 0, 1, 5)));
  q.file.push_back(255);
  q.sname = opt(55, {1, 3});
  q.sname.push_back(255);
  Bytes f = q.frame();
  Request r;
  ASSERT_EQ(decode_request(ByteSpan(f), r), Malformed::kNone);
  EXPECT_EQ(r.overload, 3);
  EXPECT_EQ(r.requested_ip, ip(10, 0, 1, 5));
  EXPECT_EQ(r.parameter_list.size(), 2u);
  // Without 52 the same sname/file are BOOTP's server name and boot file: ignored.
  q.options.clear();
  f = q.frame();
  ASSERT_EQ(decode_request(ByteSpan(f), r), Malformed::kNone);
  EXPECT_FALSE(r.requested_ip);
}

// Each malformed class, from a mutation of a valid DISCOVER, refused with its reason and unanswered.
TEST(DhcpDecode, EveryMalformedClassIsRefusedByReason) {
  Lease lease = test_lease();
  struct Case {
    Malformed why;
    std::function<void(Req&)> mutate;
    std::function<void(Bytes&)> raw;
  };
  std::vector<Case> cases = {
      {Malformed::kShortEthernet, nullptr, [](Bytes& f) { f.resize(13); }},
      {Malformed::kShortEthernet, nullptr,
       [](Bytes& f) {
         f = Bytes(f.begin(), f.begin() + 12), f.insert(f.end(), {0x81, 0, 0});
       }},
      {Malformed::kNotIpv4, nullptr, [](Bytes& f) { f[12] = 0x86, f[13] = 0xdd; }},
      {Malformed::kShortIp, nullptr, [](Bytes& f) { f.resize(14 + 19); }},
      {Malformed::kBadIpHeader, nullptr, [](Bytes& f) { f[14] = 0x65; }},
      {Malformed::kBadIpHeader, nullptr, [](Bytes& f) { f[14] = 0x44; }},
      {Malformed::kShortIp, nullptr, [](Bytes& f) { f.resize(f.size() - 1); }},
      {Malformed::kIpChecksum, [](Req& q) { q.bad_ip_checksum = true; }, nullptr},
      {Malformed::kIpFragment, [](Req& q) { q.flags_frag = 0x2000; }, nullptr},
      {Malformed::kIpFragment, [](Req& q) { q.flags_frag = 0x0001; }, nullptr},
      {Malformed::kNotUdp, [](Req& q) { q.protocol = 6; }, nullptr},
      {Malformed::kUdpLength, [](Req& q) { q.udp_len_delta = -1; }, nullptr},
      {Malformed::kUdpLength, [](Req& q) { q.udp_len_delta = 1; }, nullptr},
      {Malformed::kUdpChecksum, [](Req& q) { q.bad_udp_checksum = true; }, nullptr},
      {Malformed::kNotServerPort, [](Req& q) { q.dport = 68; }, nullptr},
      {Malformed::kNotBootRequest, [](Req& q) { q.op = 2; }, nullptr},
      {Malformed::kNotEthernetHw, [](Req& q) { q.htype = 6; }, nullptr},
      {Malformed::kNotEthernetHw, [](Req& q) { q.hlen = 16; }, nullptr},
      {Malformed::kBadMagic, [](Req& q) { q.magic = 0x63825364; }, nullptr},
      {Malformed::kRelayed, [](Req& q) { q.giaddr = ip(10, 0, 0, 1); }, nullptr},
      {Malformed::kOptionOverrun,
       [](Req& q) {
         q.options = {60, 200};
         q.with_end = false;
       },
       nullptr},
      {Malformed::kOptionOverrun,
       [](Req& q) {
         q.options = {60};
         q.with_end = false;
         q.pad = false;
       },
       nullptr},
      {Malformed::kNoEndOption, [](Req& q) { q.with_end = false; }, nullptr},
      {Malformed::kBadOverload, [](Req& q) { q.options = opt(52, {4}); }, nullptr},
      {Malformed::kBadOverload,
       [](Req& q) {
         q.options = opt(52, {1, 1});
       },
       nullptr},
      {Malformed::kBadOverload,
       [](Req& q) {
         q.options = opt(52, {1});
         q.file = opt(52, {2});
         q.file.push_back(255);
       },
       nullptr},
      {Malformed::kNoEndOption, [](Req& q) { q.options = opt(52, {1}); }, nullptr},  // file without end
      {Malformed::kDuplicateOption, [](Req& q) { q.options = opt(53, {1}); }, nullptr},
      {Malformed::kDuplicateOption,
       [](Req& q) {
         q.options = opt(55, {1});
         auto b = opt(55, {3});
         q.options.insert(q.options.end(), b.begin(), b.end());
       },
       nullptr},
      {Malformed::kBadOptionLength,
       [](Req& q) {
         q.options = opt(50, {10, 0, 1});
       },
       nullptr},
      {Malformed::kBadOptionLength,
       [](Req& q) {
         q.options = opt(54, {10, 0, 1, 1, 1});
       },
       nullptr},
      {Malformed::kBadOptionLength, [](Req& q) { q.options = opt(57, {2}); }, nullptr},
      {Malformed::kBadOptionLength, [](Req& q) { q.options = opt(61, {}); }, nullptr},
      {Malformed::kBadOptionLength,
       [](Req& q) {
         q.with_type = false;
         q.options = opt(53, {1, 1});
       },
       nullptr},
      {Malformed::kNoMessageType, [](Req& q) { q.with_type = false; }, nullptr},
      {Malformed::kShortBootp, nullptr, nullptr},  // built below
  };
  std::set<Malformed> covered;
  for (const Case& c : cases) {
    Req q;
    if (c.mutate) c.mutate(q);
    Bytes f = q.frame();
    if (c.raw) c.raw(f);
    if (c.why == Malformed::kShortBootp) {  // a UDP datagram to 67 with 239 bytes of payload
      f.resize(14 + 20 + 8 + 239);
      store_be16(f.data() + 14 + 2, uint16_t(20 + 8 + 239));
      f[14 + 10] = f[14 + 11] = 0;
      uint16_t ck = oracle_checksum(f.data() + 14, 20);
      f[24] = uint8_t(ck >> 8), f[25] = uint8_t(ck);
      store_be16(f.data() + 34 + 4, 8 + 239);
      f[34 + 6] = f[34 + 7] = 0;
    }
    Request r;
    EXPECT_EQ(decode_request(ByteSpan(f), r), c.why) << malformed_name(c.why);
    Counters n;
    InlineBuffer<1536> out;
    EXPECT_EQ(serve_frame(ServerConfig{}, &lease, ByteSpan(f), out, n), Outcome::kMalformed);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(n.malformed, 1u);
    EXPECT_EQ(n.malformed_by[size_t(c.why)], 1u);
    covered.insert(c.why);
  }
  EXPECT_EQ(covered.size(), kMalformedCount) << "a malformed class without a test case";
}

// Every prefix of valid requests (and single-byte corruptions) decodes without crashing, and is
// never answered unless it is still a whole valid request.
TEST(DhcpDecode, TruncationsAndCorruptionsNeverCrashNorAnswer) {
  Lease lease = test_lease();
  std::vector<Req> valid(4);
  valid[1].type = 3;
  valid[1].options = opt(50, ip_bytes(lease.ip));
  valid[2].vlan = true;
  valid[3].options = opt(52, {1});
  valid[3].file = {255};
  for (const Req& q : valid) {
    Bytes f = q.frame();
    for (size_t n = 0; n < f.size(); ++n) {
      Counters c;
      InlineBuffer<1536> out;
      Bytes cut(f.begin(), f.begin() + long(n));  // own allocation: ASan catches over-reads
      EXPECT_EQ(serve_frame(ServerConfig{}, &lease, ByteSpan(cut), out, c), Outcome::kMalformed) << n;
      EXPECT_TRUE(out.empty());
    }
  }
  std::mt19937 rng(16);
  Bytes f = valid[1].frame();
  for (int i = 0; i < 20000; ++i) {
    Bytes g = f;
    for (int k = 0; k < 1 + i % 3; ++k) g[rng() % g.size()] ^= uint8_t(1 + rng() % 255);
    Counters c;
    InlineBuffer<1536> out;
    serve_frame(ServerConfig{}, &lease, ByteSpan(g), out, c);
    if (!out.empty()) {  // whatever was answered is a well-formed reply
      Request back;
      EXPECT_EQ(decode_reply(out.span(), back), Malformed::kNone);
    }
  }
}

// --- decisions --------------------------------------------------------------------------------

TEST(DhcpServer, DiscoverGetsAnOfferOfTheLeaseAddress) {
  Lease lease = test_lease();
  Req q;
  auto s = serve(q, &lease);
  ASSERT_EQ(s.outcome, Outcome::kOffer);
  EXPECT_EQ(s.counters.offers, 1u);
  ClientView c = read_reply(ByteSpan(s.reply));
  EXPECT_EQ(c.r.message_type, 2);
  EXPECT_EQ(c.r.yiaddr, lease.ip);
  EXPECT_EQ(c.r.ciaddr, 0u);
  EXPECT_EQ(c.r.xid, q.xid);
  EXPECT_EQ(c.r.chaddr, kClientMac);
  EXPECT_EQ(c.u32(54), ip(169, 254, 169, 254));
  EXPECT_EQ(c.u32(51), 86400u);
}

TEST(DhcpServer, DiscoverFromAnotherChaddrIsIgnored) {
  Lease lease = test_lease();
  Req q;
  q.chaddr[5] = 0x99;
  auto s = serve(q, &lease);
  EXPECT_EQ(s.outcome, Outcome::kIgnored);
  EXPECT_TRUE(s.reply.empty());
  EXPECT_EQ(s.counters.ignored, 1u);
}

TEST(DhcpServer, RequestStates) {
  Lease lease = test_lease();
  const Ipv4 ours = ip(169, 254, 169, 254), other = ip(10, 9, 9, 9);
  struct Case {
    const char* name;
    std::optional<Ipv4> server_id, requested;
    Ipv4 ciaddr;
    Outcome want;
  };
  const Case cases[] = {
      {"selecting, ours, right address", ours, lease.ip, 0, Outcome::kAck},
      {"selecting, ours, wrong address", ours, other, 0, Outcome::kNak},
      {"selecting, another server", other, lease.ip, 0, Outcome::kIgnored},
      {"init-reboot, right address", std::nullopt, lease.ip, 0, Outcome::kAck},
      {"init-reboot, wrong address", std::nullopt, other, 0, Outcome::kNak},
      {"init-reboot, ciaddr disagrees", std::nullopt, lease.ip, other, Outcome::kNak},
      {"renewing, right ciaddr", std::nullopt, std::nullopt, lease.ip, Outcome::kAck},
      {"renewing, wrong ciaddr", std::nullopt, std::nullopt, other, Outcome::kNak},
      {"no address at all", std::nullopt, std::nullopt, 0, Outcome::kIgnored},
  };
  for (const Case& k : cases) {
    Req q;
    q.type = 3;
    q.ciaddr = k.ciaddr;
    if (k.server_id) q.options = opt(54, ip_bytes(*k.server_id));
    if (k.requested) {
      auto b = opt(50, ip_bytes(*k.requested));
      q.options.insert(q.options.end(), b.begin(), b.end());
    }
    auto s = serve(q, &lease);
    EXPECT_EQ(s.outcome, k.want) << k.name;
    EXPECT_EQ(s.reply.empty(), k.want == Outcome::kIgnored) << k.name;
    if (s.reply.empty()) continue;
    ClientView c = read_reply(ByteSpan(s.reply));
    EXPECT_EQ(c.r.message_type, k.want == Outcome::kAck ? 5 : 6) << k.name;
    EXPECT_EQ(c.u32(54), ours);
    if (k.want == Outcome::kAck) {
      EXPECT_EQ(c.r.yiaddr, lease.ip);
      EXPECT_EQ(c.r.ciaddr, k.ciaddr);
    } else {  // a NAK: no address, no lease options, broadcast
      EXPECT_EQ(c.r.yiaddr, 0u);
      EXPECT_EQ(c.r.ciaddr, 0u);
      EXPECT_EQ(c.opts.size(), 2u) << "a NAK carries 53 and 54 only";
      EXPECT_EQ(c.r.ip_dst, 0xffffffffu);
      EXPECT_EQ(c.r.eth_dst, (Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
    }
  }
  // A subnet's own dhcp_server address is the server id to match.
  lease.server_ip = ip(10, 0, 1, 2);
  Req q;
  q.type = 3;
  q.options = opt(54, ip_bytes(ours));
  EXPECT_EQ(serve(q, &lease).outcome, Outcome::kIgnored);
  q.options = opt(54, ip_bytes(ip(10, 0, 1, 2)));
  auto b = opt(50, ip_bytes(lease.ip));
  q.options.insert(q.options.end(), b.begin(), b.end());
  auto s = serve(q, &lease);
  ASSERT_EQ(s.outcome, Outcome::kAck);
  EXPECT_EQ(read_reply(ByteSpan(s.reply)).r.ip_src, ip(10, 0, 1, 2));
}

TEST(DhcpServer, RequestFromAnotherChaddrIsNaked) {
  Lease lease = test_lease();
  Req q;
  q.type = 3;
  q.chaddr[0] = 0x06;
  q.options = opt(50, ip_bytes(lease.ip));
  EXPECT_EQ(serve(q, &lease).outcome, Outcome::kNak);
}

TEST(DhcpServer, InformGetsOptionsWithoutAddressOrLease) {
  Lease lease = test_lease();
  Req q;
  q.type = 8;
  q.ciaddr = lease.ip;
  q.ip_src = lease.ip;
  auto s = serve(q, &lease);
  ASSERT_EQ(s.outcome, Outcome::kInform);
  EXPECT_EQ(s.counters.informs, 1u);
  ClientView c = read_reply(ByteSpan(s.reply));
  EXPECT_EQ(c.r.message_type, 5);
  EXPECT_EQ(c.r.yiaddr, 0u);
  EXPECT_EQ(c.r.ciaddr, lease.ip);
  EXPECT_EQ(c.r.ip_dst, lease.ip);  // unicast to ciaddr
  EXPECT_EQ(c.r.eth_dst, kClientMac);
  EXPECT_FALSE(c.opts.count(51));
  EXPECT_FALSE(c.opts.count(58));
  EXPECT_FALSE(c.opts.count(59));
  EXPECT_EQ(c.u32(1), 0xffffff00u);
  // Lease-time extra options do not sneak into an INFORM answer either.
  lease.extra = {{51, {0, 0, 0, 9}}};
  EXPECT_FALSE(read_reply(ByteSpan(serve(q, &lease).reply)).opts.count(51));
}

TEST(DhcpServer, ReleaseDeclineUnknownTypesAndUnknownPortsGetNoAnswer) {
  Lease lease = test_lease();
  const std::pair<uint8_t, Outcome> cases[] = {{7, Outcome::kRelease},      {4, Outcome::kDecline},
                                               {2, Outcome::kUnknownType},  {5, Outcome::kUnknownType},
                                               {6, Outcome::kUnknownType},  {0, Outcome::kUnknownType},
                                               {13, Outcome::kUnknownType}, {255, Outcome::kUnknownType}};
  Counters total;
  for (auto [type, want] : cases) {
    Req q;
    q.type = type;
    auto s = serve(q, &lease);
    EXPECT_EQ(s.outcome, want) << int(type);
    EXPECT_TRUE(s.reply.empty());
    total += s.counters;
  }
  EXPECT_EQ(total.releases, 1u);
  EXPECT_EQ(total.declines, 1u);
  EXPECT_EQ(total.unknown_type, 6u);
  Req q;
  auto s = serve(q, nullptr);
  EXPECT_EQ(s.outcome, Outcome::kNoLease);
  EXPECT_TRUE(s.reply.empty());
  EXPECT_EQ(s.counters.no_lease, 1u);
  Lease empty;
  EXPECT_EQ(serve(q, &empty).outcome, Outcome::kNoLease);
}

// --- reply addressing and options ------------------------------------------------------------

TEST(DhcpReply, AddressingFollowsRfc2131Section4_1) {
  Lease lease = test_lease();
  ServerConfig cfg;
  Req q;  // no broadcast flag: unicast to yiaddr at chaddr
  ClientView c = read_reply(ByteSpan(serve(q, &lease, cfg).reply));
  EXPECT_EQ(c.r.ip_dst, lease.ip);
  EXPECT_EQ(c.r.eth_dst, kClientMac);
  EXPECT_EQ(c.r.eth_src, cfg.mac);
  EXPECT_EQ(c.r.ip_src, cfg.ip);
  EXPECT_EQ(c.r.udp_src, 67);
  q.flags = 0x8000;  // broadcast flag: broadcast, flag echoed
  c = read_reply(ByteSpan(serve(q, &lease, cfg).reply));
  EXPECT_EQ(c.r.ip_dst, 0xffffffffu);
  EXPECT_EQ(c.r.eth_dst, (Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
  EXPECT_TRUE(c.r.broadcast());
  q.vlan = true;  // a tagged request gets a reply with the same tag
  c = read_reply(ByteSpan(serve(q, &lease, cfg).reply));
  EXPECT_EQ(c.r.vlan_tci, 0x64);
  // Renewing: unicast to ciaddr even with the broadcast flag clear.
  Req renew;
  renew.type = 3;
  renew.ciaddr = lease.ip;
  c = read_reply(ByteSpan(serve(renew, &lease, cfg).reply));
  EXPECT_EQ(c.r.ip_dst, lease.ip);
  EXPECT_EQ(c.r.eth_dst, kClientMac);
}

// The reply's IP header and UDP checksums, recomputed here from the bytes.
TEST(DhcpReply, ChecksumsAreRightByAnIndependentComputation) {
  Lease lease = test_lease();
  for (bool vlan : {false, true}) {
    Req q;
    q.vlan = vlan;
    Bytes f = serve(q, &lease).reply;
    size_t ipat = vlan ? 18 : 14;
    ASSERT_GT(f.size(), ipat + 28);
    size_t ihl = (f[ipat] & 0xf) * 4u;
    EXPECT_EQ(oracle_checksum(f.data() + ipat, ihl), 0) << "IP header checksum";
    size_t total = size_t(f[ipat + 2]) << 8 | f[ipat + 3];
    EXPECT_EQ(ipat + total, f.size());
    const uint8_t* u = f.data() + ipat + ihl;
    size_t ulen = size_t(u[4]) << 8 | u[5];
    EXPECT_EQ(ulen, total - ihl);
    EXPECT_NE(u[6] | u[7], 0) << "UDP checksum present";
    uint32_t pseudo = 17 + uint32_t(ulen);
    for (int k = 12; k < 20; k += 2) pseudo += uint32_t(f[ipat + k]) << 8 | f[ipat + k + 1];
    EXPECT_EQ(oracle_checksum(u, ulen, pseudo), 0) << "UDP checksum";
    EXPECT_GE(ulen - 8, 300u) << "BOOTP minimum size";
  }
}

// A client configured from the reply gets exactly the lease: address, mask, router, MTU, routes,
// DNS, domain, NTP, hostname, lease time with T1 = 1/2 and T2 = 7/8.
TEST(DhcpReply, ClientReadsBackExactlyTheLease) {
  Lease lease = test_lease();
  Req q;
  q.type = 3;
  q.options = opt(54, ip_bytes(ip(169, 254, 169, 254)));
  auto b = opt(50, ip_bytes(lease.ip));
  q.options.insert(q.options.end(), b.begin(), b.end());
  auto s = serve(q, &lease);
  ASSERT_EQ(s.outcome, Outcome::kAck);
  ClientView c = read_reply(ByteSpan(s.reply));
  EXPECT_EQ(c.r.yiaddr, lease.ip);
  EXPECT_EQ(c.u32(1), 0xffffff00u);
  EXPECT_EQ(c.u32(3), *lease.router);
  EXPECT_EQ(c.u32(28), ip(10, 0, 1, 255));
  EXPECT_EQ(c.opts.at(26), (Bytes{0x05, 0xaa}));  // 1450
  EXPECT_EQ(c.opts.at(6), (Bytes{10, 0, 0, 53, 8, 8, 8, 8}));
  EXPECT_EQ(c.opts.at(42), (Bytes{10, 0, 0, 123}));
  EXPECT_EQ(c.opts.at(15), (Bytes{'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'o', 'r', 'g'}));
  EXPECT_EQ(c.opts.at(12), (Bytes{'h', 'o', 's', 't', '7'}));
  EXPECT_EQ(c.u32(51), 86400u);
  EXPECT_EQ(c.u32(58), 43200u);
  EXPECT_EQ(c.u32(59), 75600u);
  auto routes = parse_121(c.opts.at(121));
  decltype(routes) want = {{ip(10, 17, 0, 0), 16, ip(10, 0, 1, 254)},
                           {ip(192, 168, 5, 0), 24, ip(10, 0, 1, 253)},
                           {0, 0, *lease.router}};  // the default route, since 121 overrides 3
  EXPECT_EQ(routes, want);
  EXPECT_FALSE(c.opts.count(52));
}

TEST(DhcpReply, LeaseTimesFollowVlcpDefaultsAndConfiguration) {
  Lease lease = test_lease();
  lease.lease_time.reset();
  Req q;
  ClientView c = read_reply(ByteSpan(serve(q, &lease).reply));  // VLCP's default: infinite
  EXPECT_EQ(c.u32(51), 0xffffffffu);
  EXPECT_FALSE(c.opts.count(58));
  EXPECT_FALSE(c.opts.count(59));
  ServerConfig cfg;
  cfg.lease_time = 1000;
  c = read_reply(ByteSpan(serve(q, &lease, cfg).reply));
  EXPECT_EQ(c.u32(51), 1000u);
  EXPECT_EQ(c.u32(58), 500u);
  EXPECT_EQ(c.u32(59), 875u);
  cfg.t1 = 100;  // configured T1 and T2 land in their own options (VLCP wrote T2 into T1)
  cfg.t2 = 200;
  c = read_reply(ByteSpan(serve(q, &lease, cfg).reply));
  EXPECT_EQ(c.u32(58), 100u);
  EXPECT_EQ(c.u32(59), 200u);
  cfg.t1 = 5000;  // not below the lease: the default
  c = read_reply(ByteSpan(serve(q, &lease, cfg).reply));
  EXPECT_EQ(c.u32(58), 200u) << "T1 never after T2";
}

TEST(DhcpReply, ExtraOptionsReplaceComputedOnesButNotTheServersOwn) {
  Lease lease = test_lease();
  lease.extra = {
      {26, {0x05, 0xdc}}, {66, {'t', 'f', 't', 'p'}}, {53, {1}}, {54, {1, 2, 3, 4}}, {52, {3}}, {0, {}},
      {255, {}}};
  Req q;
  ClientView c = read_reply(ByteSpan(serve(q, &lease).reply));
  EXPECT_EQ(c.r.message_type, 2);
  EXPECT_EQ(c.u32(54), ip(169, 254, 169, 254));
  EXPECT_EQ(c.opts.at(26), (Bytes{0x05, 0xdc}));
  EXPECT_EQ(c.opts.at(66), (Bytes{'t', 'f', 't', 'p'}));
  EXPECT_FALSE(c.opts.count(52));
}

TEST(DhcpReply, MessageTypeServerIdFirstThenTheClientsOrder) {
  Lease lease = test_lease();
  Req q;
  q.options = opt(55, {121, 26, 15, 1});
  Bytes f = serve(q, &lease).reply;
  Request r;
  ASSERT_EQ(decode_reply(ByteSpan(f), r), Malformed::kNone);
  std::vector<uint8_t> order;
  ofp::pkt::for_each_dhcp_option(r.options, [&](uint8_t code, ByteSpan) { order.push_back(code); });
  ASSERT_GE(order.size(), 8u);
  EXPECT_EQ(Bytes(order.begin(), order.begin() + 2), (Bytes{53, 54}));
  auto pos = [&](uint8_t code) { return std::find(order.begin(), order.end(), code) - order.begin(); };
  EXPECT_LT(pos(121), pos(26));
  EXPECT_LT(pos(26), pos(15));
  EXPECT_LT(pos(51), pos(121)) << "required options come first";
  EXPECT_EQ(std::set<uint8_t>(order.begin(), order.end()).size(), order.size()) << "no option twice";
}

// A client's size limit (option 57, never below 576) bounds the reply; the required options always
// fit; what does not fit is left out and counted; long values are split per RFC 3396.
TEST(DhcpReply, RespectsTheMaximumMessageSizeAndSplitsLongOptions) {
  Lease lease = test_lease();
  for (int i = 0; i < 100; ++i) lease.dns.push_back(ip(10, 1, 0, i));  // 408 bytes of option 6
  Req q;
  auto s = serve(q, &lease);
  ClientView c = read_reply(ByteSpan(s.reply));
  size_t ip_len = s.reply.size() - 14;
  EXPECT_LE(ip_len, 576u);
  EXPECT_FALSE(c.opts.count(6)) << "408 bytes do not fit in 576";
  EXPECT_EQ(s.counters.options_dropped, 1u);
  for (uint8_t code : {53, 54, 51, 58, 59, 1, 3}) EXPECT_TRUE(c.opts.count(code)) << int(code);
  q.options = opt(57, {0x05, 0xdc});  // 1500
  s = serve(q, &lease);
  c = read_reply(ByteSpan(s.reply));
  EXPECT_LE(s.reply.size() - 14, 1450u) << "the port's MTU caps it too";
  ASSERT_TRUE(c.opts.count(6));
  EXPECT_EQ(c.opts.at(6).size(), 102u * 4);
  EXPECT_EQ(s.counters.options_dropped, 0u);
  size_t pieces = 0;
  ofp::pkt::for_each_dhcp_option(c.r.options, [&](uint8_t code, ByteSpan) { pieces += code == 6; });
  EXPECT_EQ(pieces, 2u);
  lease.mtu = 700;  // the port's MTU caps the client's 1500
  s = serve(q, &lease);
  EXPECT_LE(s.reply.size() - 14, 700u);
  EXPECT_FALSE(read_reply(ByteSpan(s.reply)).opts.count(6));
  EXPECT_EQ(s.counters.options_dropped, 1u);
  q.options = opt(57, {0x02, 0x24});  // 548, below RFC 2132's minimum: taken as 576, still answered
  s = serve(q, &lease);
  ASSERT_EQ(s.outcome, Outcome::kOffer);
  EXPECT_LE(s.reply.size() - 14, 576u);
  EXPECT_TRUE(read_reply(ByteSpan(s.reply)).opts.count(121));
}

// RFC 3442 §5's table of destination encodings, each via 10.0.0.1.
TEST(DhcpReply, ClasslessRoutesEncodeAsRfc3442) {
  struct Case {
    Route route;
    Bytes dest;
  };
  const Ipv4 gw = ip(10, 0, 0, 1);
  const Case cases[] = {
      {{0, 0, gw}, {0}},
      {{ip(10, 0, 0, 0), 8, gw}, {8, 10}},
      {{ip(10, 0, 0, 0), 9, gw}, {9, 10, 0}},
      {{ip(10, 17, 0, 0), 16, gw}, {16, 10, 17}},
      {{ip(10, 27, 129, 0), 24, gw}, {24, 10, 27, 129}},
      {{ip(10, 229, 0, 128), 25, gw}, {25, 10, 229, 0, 128}},
      {{ip(10, 198, 122, 47), 32, gw}, {32, 10, 198, 122, 47}},
      {{ip(10, 17, 99, 99), 16, gw}, {16, 10, 17}},  // host bits past the prefix are not sent
  };
  Bytes all;
  std::vector<Route> routes;
  for (const Case& k : cases) {
    InlineBuffer<64> b;
    encode_classless_routes(std::span(&k.route, 1), b);
    Bytes want = k.dest;
    want.insert(want.end(), {10, 0, 0, 1});
    EXPECT_EQ(Bytes(b.data(), b.data() + b.size()), want);
    all.insert(all.end(), want.begin(), want.end());
    routes.push_back(k.route);
  }
  InlineBuffer<256> b;
  encode_classless_routes(routes, b);
  EXPECT_EQ(Bytes(b.data(), b.data() + b.size()), all);
  // A lease with a default route among its routes gets no second one.
  Lease lease = test_lease();
  lease.routes = {{0, 0, ip(10, 0, 1, 9)}};
  Req q;
  ClientView c = read_reply(ByteSpan(serve(q, &lease).reply));
  EXPECT_EQ(c.opts.at(121), (Bytes{0, 10, 0, 1, 9}));
  lease.routes.clear();  // no routes: no 121
  c = read_reply(ByteSpan(serve(q, &lease).reply));
  EXPECT_FALSE(c.opts.count(121));
}

// --- the OpenFlow wrapper ---------------------------------------------------------------------

Bytes packet_in(ByteSpan frame, uint32_t in_port, uint16_t total_len = 0) {
  ofp::Match m;
  if (in_port) m.add(ofp::Field::kInPort, in_port);
  ofp::PacketInView p;
  p.total_len = total_len ? total_len : uint16_t(frame.size());
  p.data = frame;
  InlineBuffer<2048> b;
  ofp::encode_packet_in(b, 9, p, m.oxms());
  return Bytes(b.data(), b.data() + b.size());
}

TEST(DhcpPacketIn, AnswersWithAPacketOutOfTheInPort) {
  Lease lease = test_lease();
  LeaseLookup lookup = [&](uint64_t dpid, uint32_t port) -> const Lease* {
    return dpid == 0x77 && port == 5 ? &lease : nullptr;
  };
  Bytes f = Req{}.frame();
  Bytes pi = packet_in(ByteSpan(f), 5);
  Counters n;
  InlineBuffer<2048> answers;
  ASSERT_TRUE(serve_packet_in(ServerConfig{}, lookup, 0x77, ByteSpan(pi), answers, n));
  auto frame = ofp::decode_frame(answers.span());
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ(frame->header.type, ofp::MsgType::kPacketOut);
  EXPECT_EQ(frame->header.xid, 0u);
  auto po = ofp::decode_packet_out(*frame);
  ASSERT_TRUE(po.ok());
  EXPECT_EQ(po->buffer_id, ofp::kNoBuffer);
  EXPECT_EQ(po->in_port, ofp::kPortController);
  std::vector<uint32_t> outputs;
  po->actions.for_each([&](const ofp::ActionView& a) {
    if (load_be16(a.bytes.data()) == 0) outputs.push_back(load_be32(a.bytes.data() + 4));
  });
  EXPECT_EQ(outputs, std::vector<uint32_t>{5});
  ClientView c = read_reply(po->data);
  EXPECT_EQ(c.r.message_type, 2);
  EXPECT_EQ(c.r.yiaddr, lease.ip);
  EXPECT_EQ(n.offers, 1u);

  // Another port or switch: no lease, no answer.
  answers.clear();
  pi = packet_in(ByteSpan(f), 6);
  EXPECT_FALSE(serve_packet_in(ServerConfig{}, lookup, 0x77, ByteSpan(pi), answers, n));
  EXPECT_FALSE(
      serve_packet_in(ServerConfig{}, lookup, 0x78, ByteSpan(packet_in(ByteSpan(f), 5)), answers, n));
  EXPECT_EQ(n.no_lease, 2u);
  // Not a PACKET_IN, no in_port, or a cut packet (total_len past the data): not answered.
  EXPECT_FALSE(serve_packet_in(ServerConfig{}, lookup, 0x77, ByteSpan(f), answers, n));
  pi = packet_in(ByteSpan(f), 0);
  EXPECT_FALSE(serve_packet_in(ServerConfig{}, lookup, 0x77, ByteSpan(pi), answers, n));
  pi = packet_in(ByteSpan(f).first(100), 5, uint16_t(f.size()));
  EXPECT_FALSE(serve_packet_in(ServerConfig{}, lookup, 0x77, ByteSpan(pi), answers, n));
  EXPECT_EQ(n.bad_packet_in, 3u);
  EXPECT_TRUE(answers.empty());
}

TEST(DhcpCounters, NamesAreUniqueAndSumsAdd) {
  Counters a, b;
  a.offers = 2;
  b.offers = 3;
  b.malformed_by[size_t(Malformed::kIpChecksum)] = 4;
  a += b;
  std::set<std::string> names;
  std::map<std::string, uint64_t> values;
  a.for_each([&](std::string_view name, uint64_t v) {
    EXPECT_TRUE(names.insert(std::string(name)).second) << name;
    values[std::string(name)] = v;
  });
  EXPECT_EQ(values["offers"], 5u);
  EXPECT_EQ(values["malformed.ip_checksum"], 4u);
  EXPECT_EQ(names.size(), 10 + kMalformedCount + 2);
}

}  // namespace
