// A trace's continuation across servers without the transport (docs/TRACE_DESIGN.md §7.3): the
// arrival an output to a tunnel or an uplink makes on the next server, the next server's entry
// (bridge and in_port) for it, the packet as it left as the next hop's packet, and the arrival's
// JSON checked field by field.
#include "trace/hop.h"

#include <gtest/gtest.h>

#include "../apps/model_fixture.h"

namespace vlcp::trace {
namespace {

using Json = nlohmann::json;

class Hop : public apps::testing::ModelFixture {
 protected:
  void SetUp() override {
    ModelFixture::SetUp();
    auto ok = [](const Result<Json>& r) { return r.ok(); };
    ASSERT_TRUE(ok(call([](auto& v, auto d) {
      v.create_physical_networks(Json::parse(R"([{"id":"vx","type":"vxlan","vnirange":[[5000,5100]]},
        {"id":"pv","type":"vlan","vlanrange":[[100,200]]}])"),
                                 d);
    })));
    ASSERT_TRUE(ok(call([](auto& v, auto d) {
      v.create_physical_ports(Json::parse(R"([{"name":"vxlan0","physicalnetwork":"vx"},
        {"name":"eth1","physicalnetwork":"pv"}])"),
                              d);
    })));
    using schema::Kind;
    model_ = std::make_unique<apps::ModelView>(*db_, after(),
                                               std::set<Kind>{Kind::kPhysicalNetwork, Kind::kPhysicalPort,
                                                              Kind::kLogicalNetwork, Kind::kLogicalPort});
    model_->start();
    ASSERT_TRUE(run_until([&] { return model_->loaded() && model_->physical_ports().size() == 2; }));
  }
  void release() override { model_.reset(); }

  static Output out(uint32_t ofport, std::map<std::string, std::string> fields) {
    Output o;
    o.kind = OutputKind::kPort;
    o.ofport = ofport;
    o.packet.fields = std::move(fields);
    return o;
  }

  std::unique_ptr<apps::ModelView> model_;
  apps::SwitchView hv1_{
      "br-int",
      {{"eth1", "", "", "", 2}, {"tap-a1", "", "a1", "", 1}, {"vxlan0", "vxlan", "", "192.168.99.1", 100}}};
  apps::SwitchView hv2_{"br-int", {{"eth1", "", "", "", 7}, {"vxlan0", "vxlan", "", "192.168.99.2", 100}}};
};

TEST_F(Hop, AVxlanOutputArrivesByItsVniFromThisVtep) {
  auto a = arrival_of(*model_, hv1_, "hv1", out(100, {{"tun_id", "0x138a"}, {"tun_dst", "192.168.99.2"}}));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->via, "vxlan");
  EXPECT_EQ(a->physicalnetwork, "vx");
  EXPECT_EQ(a->vni, 5002u);
  EXPECT_EQ(format_ipv4(a->tun_src), "192.168.99.1");
  EXPECT_EQ(format_ipv4(a->tun_dst), "192.168.99.2");

  auto e = find_entry(*model_, {{2, hv2_}}, "hv2", *a);
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(e->dpid, 2u);
  EXPECT_EQ(e->in_port, 100u);
  EXPECT_EQ(e->iface, "vxlan0");
  // A VTEP that is not this server's: no tunnel here.
  Arrival other = *a;
  other.tun_dst = *model::detail::parse_ip("192.168.99.7");
  auto none = find_entry(*model_, {{2, hv2_}}, "hv2", other);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("no-tunnel"), std::string::npos);
}

TEST_F(Hop, AnUplinkOutputArrivesByItsVlanOrNative) {
  auto tagged = arrival_of(*model_, hv1_, "hv1", out(2, {{"dl_vlan", "101"}}));
  ASSERT_TRUE(tagged.has_value());
  EXPECT_EQ(tagged->via, "vlan");
  EXPECT_EQ(tagged->physicalnetwork, "pv");
  EXPECT_EQ(tagged->vlan, std::optional<uint16_t>(101));
  auto by_tci = arrival_of(*model_, hv1_, "hv1", out(2, {{"vlan_tci", "0x1065"}}));
  ASSERT_TRUE(by_tci.has_value());
  EXPECT_EQ(by_tci->vlan, std::optional<uint16_t>(101));
  auto native = arrival_of(*model_, hv1_, "hv1", out(2, {{"vlan_tci", "0x0000"}}));
  ASSERT_TRUE(native.has_value());
  EXPECT_EQ(native->via, "native");

  auto e = find_entry(*model_, {{2, hv2_}}, "hv2", *tagged);
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(e->in_port, 7u);
  apps::SwitchView no_uplink{"br-int", {{"vxlan0", "vxlan", "", "192.168.99.2", 100}}};
  auto none = find_entry(*model_, {{2, no_uplink}}, "hv2", *tagged);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("no-uplink"), std::string::npos);
}

// A physical FROM names its interface: that one is the entry, or the error says what it is.
TEST_F(Hop, ANamedInterfaceIsTheEntryOrSaysWhatItIs) {
  Arrival vlan{"vlan", "pv", 0, 101, 0, 0};
  auto e = find_entry(*model_, {{2, hv2_}}, "hv2", vlan, "eth1");
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(e->in_port, 7u);
  Arrival vxlan{"vxlan", "vx", 5002, std::nullopt, 0, *model::detail::parse_ip("192.168.99.2")};
  auto tunnel = find_entry(*model_, {{2, hv2_}}, "hv2", vxlan, "vxlan0");
  ASSERT_TRUE(tunnel.ok()) << tunnel.error().message();
  EXPECT_EQ(tunnel->in_port, 100u);

  auto wrong = find_entry(*model_, {{2, hv2_}}, "hv2", vlan, "vxlan0");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(wrong.error().message(),
            "not-entry: vxlan0 on hv2 (br-int) is a VXLAN tunnel of physical network vx, not an uplink of "
            "physical network pv");
  auto port = find_entry(*model_, {{1, hv1_}}, "hv1", vlan, "tap-a1");
  ASSERT_FALSE(port.ok());
  EXPECT_NE(port.error().message().find("is the interface of iface-id a1"), std::string::npos);
  apps::SwitchView extra{"br-int", {{"eth9", "", "", "", 9}}};
  auto unnamed = find_entry(*model_, {{2, extra}}, "hv2", vlan, "eth9");
  ASSERT_FALSE(unnamed.ok());
  EXPECT_NE(
      unnamed.error().message().find("eth9 on hv2 (br-int) is an interface that no physical port names"),
      std::string::npos);
  auto none = find_entry(*model_, {{2, hv2_}}, "hv2", vlan, "eth7");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("hv2 has no interface eth7"), std::string::npos);
}

TEST_F(Hop, ALogicalPortOrAnUnknownInterfaceIsNoArrival) {
  EXPECT_FALSE(arrival_of(*model_, hv1_, "hv1", out(1, {})).has_value());
  EXPECT_FALSE(arrival_of(*model_, hv1_, "hv1", out(55, {})).has_value());
  Output in_port = out(1, {});
  in_port.kind = OutputKind::kInPort;
  EXPECT_FALSE(arrival_of(*model_, hv1_, "hv1", in_port).has_value());
}

TEST_F(Hop, TheNextPacketIsThePacketAsItLeft) {
  Arrival a{"vxlan",
            "vx",
            5002,
            std::nullopt,
            *model::detail::parse_ip("192.168.99.1"),
            *model::detail::parse_ip("192.168.99.2")};
  PacketState st;
  st.fields = {{"dl_src", "f8:e2:e6:be:09:4f"},
               {"dl_dst", "02:00:0a:02:00:0d"},
               {"nw_src", "10.1.0.11"},
               {"nw_dst", "10.2.0.13"},
               {"nw_ttl", "63"},
               {"nw_tos", "0"},
               {"icmp_type", "8"},
               {"icmp_code", "0"}};
  auto p = next_packet(st, Proto::kIcmp, a, 100);
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->ttl, 63);
  EXPECT_EQ(format_mac(p->eth_src), "f8:e2:e6:be:09:4f");
  EXPECT_EQ(p->tun_id, std::optional<uint64_t>(5002));
  std::string flow = br_flow(*p);
  EXPECT_NE(flow.find("in_port=100"), std::string::npos) << flow;
  EXPECT_NE(flow.find("nw_ttl=63"), std::string::npos) << flow;
  st.fields.erase("dl_dst");
  EXPECT_FALSE(next_packet(st, Proto::kIcmp, a, 100).ok());
}

TEST(HopJson, ArrivalsRoundTripAndBadFieldsAreRefused) {
  Arrival a{"vxlan",
            "vx",
            5002,
            std::nullopt,
            *model::detail::parse_ip("192.168.99.1"),
            *model::detail::parse_ip("192.168.99.2")};
  auto back = arrival_from_json(arrival_to_json(a));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, a);
  Arrival v{"vlan", "pv", 0, 101, 0, 0};
  back = arrival_from_json(arrival_to_json(v));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, v);
  for (const char* bad :
       {R"([])", R"({"via":"gre","physicalnetwork":"x"})", R"({"via":"vxlan"})",
        R"({"via":"vxlan","physicalnetwork":"vx","vni":16777216,"tun_src":"1.1.1.1","tun_dst":"1.1.1.2"})",
        R"({"via":"vxlan","physicalnetwork":"vx","vni":1,"tun_src":"1.1.1","tun_dst":"1.1.1.2"})",
        R"({"via":"vlan","physicalnetwork":"pv","vlan":4096})",
        R"({"via":"vlan","physicalnetwork":"pv","vlan":"101"})"})
    EXPECT_FALSE(arrival_from_json(Json::parse(bad)).ok()) << bad;
}

}  // namespace
}  // namespace vlcp::trace
