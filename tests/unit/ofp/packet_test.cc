// The packet codec: frames we build parse back to what was put in, checksums verify, hostile
// frames are cut short without over-reads, and Open vSwitch's own packet parser (the oracle)
// sees the same fields in what we build.
#include "ofp/packet.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "ofp/print.h"
#include "oracle/ovs_oracle.h"

namespace vlcp::ofp::pkt {
namespace {

const Mac kMacA = {0x02, 0, 0, 0, 0, 0x0a};
const Mac kMacB = {0x02, 0, 0, 0, 0, 0x0b};
const Mac kBroadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr Ipv4 kIpA = 0x0a000001;  // 10.0.0.1
constexpr Ipv4 kIpB = 0x0a000002;

// OVS's text for a frame, as key -> value ("dl_src" -> "02:00:00:00:00:0a"); the leading
// protocol word ("arp", "udp"...) maps to "proto".
std::map<std::string, std::string> ovs_fields(ByteSpan frame) {
  char* raw = ovs_oracle_packet(frame.data(), frame.size());
  std::string text(raw);
  std::free(raw);
  text = text.substr(0, text.find_first_of(" \n"));
  std::map<std::string, std::string> out;
  std::stringstream ss(text);
  std::string item;
  bool first = true;
  while (std::getline(ss, item, ',')) {
    auto eq = item.find('=');
    if (first && eq == std::string::npos) out["proto"] = item;
    if (eq != std::string::npos) out[item.substr(0, eq)] = item.substr(eq + 1);
    first = false;
  }
  return out;
}

std::string mac_text(const Mac& m) {
  char b[18];
  std::snprintf(b, sizeof b, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return b;
}
std::string ip_text(Ipv4 ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." +
         std::to_string((ip >> 8) & 255) + "." + std::to_string(ip & 255);
}

TEST(Packet, ArpRoundTripAndOvsAgrees) {
  InlineBuffer<128> f;
  build_arp(f, 1, kMacA, kIpA, Mac{}, kIpB, kBroadcast);
  auto r = parse_packet(f.span());
  ASSERT_TRUE(r.complete);
  ASSERT_TRUE(r.view.arp);
  EXPECT_EQ(r.view.arp->op, 1);
  EXPECT_EQ(r.view.arp->spa, kIpA);
  EXPECT_EQ(r.view.arp->tpa, kIpB);
  EXPECT_EQ(r.view.eth.dst, kBroadcast);
  auto ovs = ovs_fields(f.span());
  EXPECT_EQ(ovs["proto"], "arp");
  EXPECT_EQ(ovs["dl_src"], mac_text(r.view.eth.src));
  EXPECT_EQ(ovs["dl_dst"], mac_text(r.view.eth.dst));
  EXPECT_EQ(ovs["arp_spa"], ip_text(r.view.arp->spa));
  EXPECT_EQ(ovs["arp_tpa"], ip_text(r.view.arp->tpa));
  EXPECT_EQ(ovs["arp_op"], std::to_string(r.view.arp->op));
  EXPECT_EQ(ovs["arp_sha"], mac_text(r.view.arp->sha));
  // Encoding the parsed headers gives the same bytes back.
  InlineBuffer<128> again;
  r.view.eth.encode(again);
  r.view.arp->encode(again);
  EXPECT_EQ(to_hex(again.span()), to_hex(f.span().first(again.size())));
}

TEST(Packet, DhcpDiscoverOverUdpAndOvsAgrees) {
  Dhcp fixed;
  fixed.op = 1;
  fixed.htype = 1;
  fixed.hlen = 6;
  fixed.xid = 0x12345678;
  fixed.chaddr = kMacA;
  DhcpBuilder b(fixed);
  uint8_t params[] = {1, 3, 6, 15, 26, 121};
  ByteSpan body = b.option_u8(DhcpOption::kMessageType, static_cast<uint8_t>(DhcpMessage::kDiscover))
                      .option(DhcpOption::kParameterList, ByteSpan(params, sizeof params))
                      .option(DhcpOption::kHostName, ByteSpan(reinterpret_cast<const uint8_t*>("vm1"), 3))
                      .finish();
  InlineBuffer<700> f;
  build_udp(f, kMacA, kBroadcast, 0, 0xffffffff, kDhcpClientPort, kDhcpServerPort, body);
  auto r = parse_packet(f.span());
  ASSERT_TRUE(r.complete);
  ASSERT_TRUE(r.view.dhcp);
  EXPECT_EQ(r.view.dhcp->xid, 0x12345678u);
  EXPECT_EQ(r.view.dhcp->chaddr, kMacA);
  auto type = find_dhcp_option(r.view.dhcp_options, DhcpOption::kMessageType);
  ASSERT_TRUE(type);
  EXPECT_EQ((*type)[0], 1);
  EXPECT_EQ(find_dhcp_option(r.view.dhcp_options, DhcpOption::kParameterList)->size(), sizeof params);
  EXPECT_FALSE(find_dhcp_option(r.view.dhcp_options, DhcpOption::kRouter));
  // The UDP checksum over the pseudo-header verifies.
  size_t udp_at = Ethernet::kSize + Ipv4Header::kSize;
  uint32_t pseudo = (0u >> 16) + 0 + 0xffff + 0xffff + kIpProtoUdp + r.view.udp->length;
  EXPECT_EQ(internet_checksum(f.span().subspan(udp_at, r.view.udp->length), pseudo), 0);
  auto ovs = ovs_fields(f.span());
  EXPECT_EQ(ovs["proto"], "udp");
  EXPECT_EQ(ovs["nw_src"], "0.0.0.0");
  EXPECT_EQ(ovs["nw_dst"], "255.255.255.255");
  EXPECT_EQ(ovs["tp_src"], "68");
  EXPECT_EQ(ovs["tp_dst"], "67");
  EXPECT_EQ(ovs["nw_ttl"], "64");
}

TEST(Packet, IcmpEchoAndOvsAgrees) {
  uint8_t payload[56] = {};
  InlineBuffer<256> f;
  build_icmp(f, kMacA, kMacB, kIpA, kIpB, 0, 0, 0x00010002, ByteSpan(payload, sizeof payload));
  auto r = parse_packet(f.span());
  ASSERT_TRUE(r.complete);
  ASSERT_TRUE(r.view.icmp);
  EXPECT_EQ(r.view.icmp->rest, 0x00010002u);
  EXPECT_EQ(internet_checksum(f.span().subspan(Ethernet::kSize + Ipv4Header::kSize)), 0);
  auto ovs = ovs_fields(f.span());
  EXPECT_EQ(ovs["proto"], "icmp");
  EXPECT_EQ(ovs["nw_src"], "10.0.0.1");
  EXPECT_EQ(ovs["icmp_type"], "0");
  EXPECT_EQ(ovs["nw_frag"], "no");
}

TEST(Packet, VlanTagsAreWalked) {
  InlineBuffer<128> f;
  Ethernet{kMacB, kMacA, kEthTypeVlan}.encode(f);
  Vlan{100, kEthTypeArp}.encode(f);
  Arp{1, kEthTypeIpv4, 6, 4, 2, kMacA, kIpA, kMacB, kIpB}.encode(f);
  auto r = parse_packet(f.span());
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.view.n_vlans, 1);
  EXPECT_EQ(r.view.vlans[0].tci & 0xfff, 100);
  ASSERT_TRUE(r.view.arp);
  EXPECT_EQ(ovs_fields(f.span())["dl_vlan"], "100");
}

TEST(Packet, HostileFramesAreCutShort) {
  uint8_t payload[8] = {};
  InlineBuffer<256> f;
  build_icmp(f, kMacA, kMacB, kIpA, kIpB, 8, 0, 1, ByteSpan(payload, sizeof payload));
  std::vector<uint8_t> bytes(f.data(), f.data() + f.size());
  // Every truncation parses without over-reading (ASan would see one) and is marked incomplete
  // once a header is cut.
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<long>(n));
    auto r = parse_packet(ByteSpan(cut));
    if (n < Ethernet::kSize + Ipv4Header::kSize + Icmp::kSize) {
      EXPECT_FALSE(r.complete) << n;
    }
  }
  auto bad_checksum = bytes;
  bad_checksum[Ethernet::kSize + 10] ^= 0xff;
  EXPECT_FALSE(parse_packet(ByteSpan(bad_checksum)).complete);
  auto lying_length = bytes;
  store_be16(lying_length.data() + Ethernet::kSize + 2, 1500);  // more than the frame holds
  EXPECT_FALSE(parse_packet(ByteSpan(lying_length)).complete);
  // DHCP options that overrun.
  const uint8_t options[] = {53, 1, 1, 55, 200, 1, 2};
  EXPECT_FALSE(for_each_dhcp_option(ByteSpan(options, sizeof options), [](uint8_t, ByteSpan) {}));
}

TEST(Packet, DhcpOptionNamesAreDeclared) {
  EXPECT_EQ(dhcp_option_name(53), "message_type");
  EXPECT_EQ(dhcp_option_name(121), "classless_routes");
  EXPECT_EQ(dhcp_option_name(200), "");
}

}  // namespace
}  // namespace vlcp::ofp::pkt

namespace vlcp::ofp::pkt {
namespace {

std::string ovs_text(ByteSpan frame) {
  char* raw = ovs_oracle_packet(frame.data(), frame.size());
  std::string s(raw);
  std::free(raw);
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// An IPv6 neighbour solicitation with a source link-layer address option.
std::vector<uint8_t> neighbour_solicitation() {
  InlineBuffer<128> f;
  Ethernet{Mac{0x33, 0x33, 0xff, 0, 0, 2}, kMacA, kEthTypeIpv6}.encode(f);
  Ipv6Addr src{0xfe, 0x80}, dst{0xff, 0x02};
  src[15] = 1;
  dst[11] = 1;
  dst[12] = 0xff;
  dst[15] = 2;
  Ipv6Header{0x60000000, 32, kIpProtoIcmpv6, 255, src, dst}.encode(f);
  Icmp{135, 0, 0x1234, 0}.encode(f);
  Ipv6Addr target{0xfe, 0x80};
  target[15] = 2;
  f.append(ByteSpan(target));
  f.put_u8(1);  // source link-layer address option, 8 bytes
  f.put_u8(1);
  f.append(ByteSpan(kMacA));
  return {f.data(), f.data() + f.size()};
}

TEST(Packet, DescriptionMatchesOvsForEveryKindWeBuild) {
  std::vector<std::vector<uint8_t>> frames;
  InlineBuffer<700> f;
  build_arp(f, 2, kMacA, kIpA, kMacB, kIpB, kMacB);
  frames.emplace_back(f.data(), f.data() + f.size());
  f.clear();
  uint8_t payload[20] = {1, 2, 3};
  build_icmp(f, kMacA, kMacB, kIpA, kIpB, 8, 0, 7, ByteSpan(payload, sizeof payload));
  frames.emplace_back(f.data(), f.data() + f.size());
  f.clear();
  build_udp(f, kMacA, kMacB, kIpA, kIpB, 5000, 53, ByteSpan(payload, sizeof payload), 17);
  frames.emplace_back(f.data(), f.data() + f.size());
  frames.push_back(neighbour_solicitation());
  for (const auto& frame : frames) {
    std::string ours;
    ofp::format_packet(ours, ByteSpan(frame));
    EXPECT_EQ(ours, ovs_text(ByteSpan(frame)));
  }
}

TEST(Packet, NeighbourDiscoveryIsParsed) {
  auto ns = neighbour_solicitation();
  auto r = parse_packet(ByteSpan(ns));
  ASSERT_TRUE(r.view.ip6);
  EXPECT_EQ(r.view.l4_protocol, kIpProtoIcmpv6);
  ASSERT_TRUE(r.view.nd_target);
  EXPECT_EQ((*r.view.nd_target)[15], 2);
  EXPECT_EQ(r.view.nd_sll, kMacA);
  // An option claiming zero length is malformed: no ND fields survive (as in OVS).
  ns[ns.size() - 7] = 0;
  r = parse_packet(ByteSpan(ns));
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.view.nd_sll, Mac{});
}

}  // namespace
}  // namespace vlcp::ofp::pkt
