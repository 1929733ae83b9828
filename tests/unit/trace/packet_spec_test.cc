// The trace's packet (docs/TRACE_DESIGN.md §4.2): each protocol's br_flow and frame, and the
// differential check against OVS: every field our flow string names has the same value in the
// flow OVS extracts from our frame (flow_extract + flow_format, the oracle), VLAN tag, DSCP and
// TCP SYN included. The structured form nodes exchange is validated field by field.
#include "trace/packet_spec.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "oracle/ovs_oracle.h"

namespace vlcp::trace {
namespace {

using Json = nlohmann::json;

const Mac kSrc{0x02, 0x00, 0x0a, 0x01, 0x00, 0x0b};
const Mac kDst{0x1a, 0x23, 0x67, 0x59, 0x63, 0x33};
constexpr Ipv4 kSrcIp = 0x0a01000b, kDstIp = 0x0a02000d;  // 10.1.0.11 -> 10.2.0.13

// "proto,k=v,k=v": the first bare word as key "" and the pairs.
std::map<std::string, std::string> fields(const std::string& flow) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= flow.size()) {
    size_t comma = flow.find(',', pos);
    std::string item = flow.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    auto eq = item.find('=');
    if (eq == std::string::npos)
      out[""] = item;
    else
      out[item.substr(0, eq)] = item.substr(eq + 1);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

std::string ovs_flow_of(const PacketSpec& spec) {
  Buffer f;
  frame(spec, f);
  char* s = ovs_oracle_flow_of_frame(f.data(), f.size(), spec.in_port);
  std::string out = s ? s : "";
  std::free(s);
  return out;
}

// Every field of br_flow (but the tunnel's, which are metadata, not frame) as OVS sees the frame.
void expect_same_as_ovs(const PacketSpec& spec) {
  std::string ours = br_flow(spec);
  std::string theirs = ovs_flow_of(spec);
  auto a = fields(ours), b = fields(theirs);
  for (const auto& [key, v] : a) {
    std::string k = key;
    if (k.rfind("tun_", 0) == 0) continue;
    if (k == "udp_src" || k == "udp_dst") k = "tp_" + k.substr(4);  // flow_format prints tp_*
    ASSERT_TRUE(b.count(k)) << "OVS's flow has no " << k << "\n ours: " << ours << "\n OVS:  " << theirs;
    EXPECT_EQ(b[k], v) << k << "\n ours: " << ours << "\n OVS:  " << theirs;
  }
}

TEST(PacketSpec, IcmpEchoFlowAndFrame) {
  PacketSpec s = default_packet(Proto::kIcmp, kSrc, kSrcIp, kDst, kDstIp);
  s.in_port = 1;
  EXPECT_EQ(
      br_flow(s),
      "icmp,in_port=1,dl_src=02:00:0a:01:00:0b,dl_dst=1a:23:67:59:63:33,nw_src=10.1.0.11,nw_dst=10.2.0.13,"
      "nw_tos=0,nw_ttl=64,icmp_type=8,icmp_code=0");
  Buffer f;
  frame(s, f);
  auto p = ofp::pkt::parse_packet(f.span());
  EXPECT_TRUE(p.complete);
  ASSERT_TRUE(p.view.ip && p.view.icmp);
  EXPECT_EQ(p.view.ip->ttl, 64);
  EXPECT_EQ(p.view.icmp->type, 8);
  expect_same_as_ovs(s);
}

TEST(PacketSpec, EveryProtoAgreesWithOvs) {
  for (Proto proto : {Proto::kIcmp, Proto::kTcp, Proto::kUdp, Proto::kArp, Proto::kDhcp}) {
    SCOPED_TRACE(std::string(proto_name(proto)));
    PacketSpec s = default_packet(proto, kSrc, kSrcIp, kDst, kDstIp);
    s.in_port = 7;
    expect_same_as_ovs(s);
    Buffer f;
    frame(s, f);
    EXPECT_TRUE(ofp::pkt::parse_packet(f.span()).complete);
    // Tagged (a physical FROM on a VLAN network), marked (--live's DSCP 1), a lower TTL.
    s.vlan = 101;
    s.dscp = 1;
    s.ttl = 63;
    expect_same_as_ovs(s);
  }
}

TEST(PacketSpec, DefaultsOfEachProto) {
  auto tcp = default_packet(Proto::kTcp, kSrc, kSrcIp, kDst, kDstIp);
  EXPECT_EQ(tcp.tp_src, 49152);
  EXPECT_NE(br_flow(tcp).find(",tcp_flags=syn"), std::string::npos);
  auto udp = default_packet(Proto::kUdp, kSrc, kSrcIp, kDst, kDstIp);
  EXPECT_EQ(udp.tp_dst, 33434);
  auto dhcp = default_packet(Proto::kDhcp, kSrc, kSrcIp, kDst, kDstIp);
  EXPECT_EQ(
      br_flow(dhcp),
      "udp,in_port=0,dl_src=02:00:0a:01:00:0b,dl_dst=ff:ff:ff:ff:ff:ff,nw_src=0.0.0.0,nw_dst=255.255.255.255,"
      "nw_tos=0,nw_ttl=64,udp_src=68,udp_dst=67");
  Buffer df;
  frame(dhcp, df);
  auto p = ofp::pkt::parse_packet(df.span());
  ASSERT_TRUE(p.view.dhcp.has_value()) << "a DHCP DISCOVER the DHCP server's decoder reads";
  auto type = ofp::pkt::find_dhcp_option(p.view.dhcp_options, ofp::pkt::DhcpOption::kMessageType);
  ASSERT_TRUE(type && type->size() == 1);
  EXPECT_EQ((*type)[0], 1);
  auto arp = default_packet(Proto::kArp, kSrc, kSrcIp, kDst, kDstIp);
  EXPECT_EQ(
      br_flow(arp),
      "arp,in_port=0,dl_src=02:00:0a:01:00:0b,dl_dst=ff:ff:ff:ff:ff:ff,arp_spa=10.1.0.11,arp_tpa=10.2.0.13,"
      "arp_op=1,arp_sha=02:00:0a:01:00:0b,arp_tha=00:00:00:00:00:00");
}

TEST(PacketSpec, VxlanArrivalNamesTheTunnel) {
  PacketSpec s = default_packet(Proto::kIcmp, kSrc, kSrcIp, kDst, kDstIp);
  s.in_port = 100;
  s.tun_id = 5002;
  s.tun_src = 0xc0a86301;
  s.tun_dst = 0xc0a86302;
  s.ttl = 63;
  std::string want = "icmp,in_port=100,tun_id=0x138a,tun_src=192.168.99.1,tun_dst=192.168.99.2,dl_src=";
  EXPECT_EQ(br_flow(s).substr(0, want.size()), want);
}

TEST(PacketSpec, JsonRoundTripAndValidation) {
  PacketSpec s = default_packet(Proto::kTcp, kSrc, kSrcIp, kDst, kDstIp);
  s.vlan = 7;
  s.dscp = 1;
  s.ttl = 3;
  auto back = packet_spec_from_json(packet_spec_to_json(s));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, s);
  // Each field checked: nothing of a crafted record reaches the flow string.
  auto bad = [&](const char* key, Json value) {
    Json j = packet_spec_to_json(s);
    j[key] = std::move(value);
    auto r = packet_spec_from_json(j);
    EXPECT_FALSE(r.ok()) << key;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Errc::kInvalidArgument);
      EXPECT_NE(r.status().message().find(key), std::string::npos) << r.status().message();
    }
  };
  bad("proto", "icmp,in_port=9");
  bad("eth_src", "02:00:00:00:00:0g");
  bad("eth_dst", "02:00:00:00:00:00,in_port=9");
  bad("ip_src", "10.0.0.1,tun_id=1");
  bad("ip_dst", 5);
  bad("ttl", 256);
  bad("dscp", 64);
  bad("tp_dst", -1);
  bad("vlan", 4096);
  bad("icmp_type", "8");
  EXPECT_FALSE(packet_spec_from_json(Json::array()).ok());
}

}  // namespace
}  // namespace vlcp::trace
