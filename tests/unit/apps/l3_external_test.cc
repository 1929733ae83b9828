// The router's external networks (apps/l3, docs/L3_FLOWS.md §5) on a real ObjectDB model: a
// forwarding node takes an address from the external subnet's pool (past the ones ports hold),
// publishes it and its router MAC, keeps it across a restart, and routes to the gateway through a
// nexthop it resolves; another node forwards to a live forwarding node and not to an expired one.
// (Incremental versus full recompute: platform_test.cc, for every app.)
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "app_node_fixture.h"
#include "apps/l3/router.h"
#include "model/common.h"
#include "ofp/print.h"

namespace vlcp::apps {
namespace {

using Json = nlohmann::json;

const char* const kPipeline =
    "module.openflowmanager.apps = ['ioprocessing','l2switch','vxlancast','arpresponder','dhcpserver',"
    "'icmpresponder','l3router']\n";
const char* const kAddressInfo = "viperflow.dvrouterexternaladdressinfo";
const char* const kForwardInfo = "viperflow.dvrouterforwardinfo.vx.vl";

ByteSpan span(const std::string& s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class L3External : public apps::testing::AppNodeFixture {
 protected:
  void ok(std::function<void(model::ViperFlow&, model::Done)> fn) {
    auto r = call(std::move(fn));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
  }
  // vx (VXLAN): network A (a1 bound here); vl (VLAN): external network E, subnet sE
  // 172.16.0.0/24, gateway .254, pool .10-.20 of which port e1 holds .10. Router r: sA and sE.
  // `uplink`: this switch has a port on vl (eth1).
  void build(bool uplink) {
    ok([](auto& v, auto d) {
      v.create_physical_networks(Json::parse(R"([{"id":"vx","type":"vxlan","vnirange":[[100,200]]},
                                                  {"id":"vl","type":"vlan","vlanrange":[[10,20]]}])"),
                                 d);
    });
    ok([](auto& v, auto d) {
      v.create_physical_ports(Json::parse(R"([{"name":"vxlan0","physicalnetwork":"vx"},
                                               {"name":"eth1","physicalnetwork":"vl"}])"),
                              d);
    });
    ok([](auto& v, auto d) {
      v.create_logical_networks(Json::parse(R"([{"id":"A","physicalnetwork":"vx"},
                                                 {"id":"E","physicalnetwork":"vl"}])"),
                                d);
    });
    ok([](auto& v, auto d) {
      v.create_subnets(
          Json::parse(R"([{"id":"sA","logicalnetwork":"A","cidr":"10.1.0.0/24","gateway":"10.1.0.1"},
        {"id":"sE","logicalnetwork":"E","cidr":"172.16.0.0/24","gateway":"172.16.0.254","isexternal":true,
         "allocated_start":"172.16.0.10","allocated_end":"172.16.0.20"}])"),
          d);
    });
    ok([](auto& v, auto d) {
      v.create_logical_ports(Json::parse(R"([
        {"id":"a1","logicalnetwork":"A","subnet":"sA","ip_address":"10.1.0.11","mac_address":"02:00:0a:01:00:0b"},
        {"id":"e1","logicalnetwork":"E","subnet":"sE","ip_address":"172.16.0.10","mac_address":"02:00:ac:10:00:0a"}])"),
                             d);
    });
    ok([](auto& v, auto d) { v.create_routers(Json::parse(R"([{"id":"r"}])"), d); });
    ok([](auto& v, auto d) {
      v.add_router_interfaces(Json::parse(R"([{"router":"r","subnet":"sA"},{"router":"r","subnet":"sE"}])"),
                              d);
    });
    view_ = SwitchView{
        "br-int",
        {{"tapa1", "", "a1", "", 10}, {"vxlan0", "vxlan", "", "192.168.0.1", 1, "02:00:00:00:00:01"}}};
    if (uplink) view_.ports.insert(view_.ports.begin(), {"eth1", "", "", "", 2, "02:00:00:00:00:e1"});
  }
  void run_node() {
    start_node();
    host_->update_switch(1, view_);
    host_->attach(1, &sw_);
    ASSERT_TRUE(run_until([&] { return model_->loaded(); }));
    settle();
  }
  std::optional<Json> stored(const std::string& key) {
    std::optional<Json> out;
    bool done = false;
    db_->get({key}, [&](Result<std::map<std::string, db::Record>> r) {
      done = true;
      if (r.ok() && r->count(key) && r->at(key).value) out = *r->at(key).value;
    });
    run_until([&] { return done; });
    return out;
  }
  // Every flow the app wants on the switch, printed "table priority match -> instructions".
  std::vector<std::string> flows() {
    std::vector<std::string> out;
    auto sw = host_->context(1);
    EXPECT_TRUE(sw.has_value());
    if (!sw) return out;
    for (const auto& [partition, d] : app_->compute(*model_, *sw))
      for (const auto& [k, b] : d.flows) {
        std::string text = std::to_string(k.table) + " " + std::to_string(k.priority) + " ";
        ofp::format_match(text, span(k.match));
        text += " -> ";
        ofp::format_instructions(text, span(b.instructions));
        out.push_back(text);
      }
    return out;
  }
  static size_t count(const std::vector<std::string>& flows, std::initializer_list<std::string> parts) {
    return apps::testing::count_holding(flows, parts);
  }
  uint8_t table(const char* name) { return *pipeline_.tables.id(name); }

  SwitchView view_;
};

TEST_F(L3External, AForwardingNodeTakesAnAddressPublishesItAndKeepsIt) {
  configure_app(L3Router::kAppName,
                std::string(kPipeline) + "module.l3router.enable_router_forward = True\n");
  ASSERT_NO_FATAL_FAILURE(build(true));
  ASSERT_NO_FATAL_FAILURE(run_node());
  ASSERT_TRUE(run_until([&] { return stored(kAddressInfo).has_value(); }));
  Json info = *stored(kAddressInfo);
  ASSERT_EQ(info["info"].size(), 1u) << info.dump();
  const Json& e = info["info"][0];
  EXPECT_EQ(e[0], "me");
  EXPECT_EQ(e[1], "br-int");
  EXPECT_EQ(e[3], "sE");
  EXPECT_EQ(e[4], "172.16.0.11") << "the pool's first address not held by a port";
  EXPECT_GT(e[5].get<int64_t>(), now_us());
  // Its address is taken in the pool's index: no port can be given it.
  EXPECT_FALSE(call([](auto& v, auto d) {
                 v.create_logical_ports(Json::parse(R"([{"id":"e2","logicalnetwork":"E","subnet":"sE",
                                                         "ip_address":"172.16.0.11"}])"),
                                        d);
               }).ok());
  // Its router MAC on VXLAN (vxlan0's MAC XOR 0a:...) and tunnel address for the other servers.
  ASSERT_TRUE(run_until([&] { return stored(kForwardInfo).has_value(); }));
  Json fwd = *stored(kForwardInfo);
  ASSERT_EQ(fwd["info"].size(), 1u) << fwd.dump();
  EXPECT_EQ(fwd["info"][0][0], "me");
  EXPECT_EQ(fwd["info"][0][3], "08:00:00:00:00:01");
  EXPECT_EQ(fwd["info"][0][5], "192.168.0.1");

  settle();
  auto f = flows();
  const std::string l3router = std::to_string(table("l3router")) + " ",
                    arp = std::to_string(table("arp")) + " ";
  // The default route from A: to E through the gateway as a nexthop (resolved by ARP).
  EXPECT_EQ(count(f, {l3router + "32767 ", "set_field:0xac1000fe->reg3"}), 1u) << ::testing::PrintToString(f);
  // ARP for its address answered with its router MAC on E (eth1's MAC XOR 0a:...).
  EXPECT_EQ(count(f, {arp, "arp_tpa=172.16.0.11", "set_field:08:00:00:00:00:e1->arp_sha"}), 1u);
  // The gateway's answers to it punted.
  EXPECT_EQ(count(f, {"dl_dst=08:00:00:00:00:e1", "arp_tpa=172.16.0.11", "arp_op=2", "CONTROLLER"}), 1u);

  // Restarted: the same address, still one entry.
  ASSERT_NO_FATAL_FAILURE(run_node());
  ASSERT_TRUE(run_until([&] {
    auto i = stored(kAddressInfo);
    return i && (*i)["info"].size() == 1 && (*i)["info"][0][5].get<int64_t>() > e[5].get<int64_t>();
  }));
  EXPECT_EQ((*stored(kAddressInfo))["info"][0][4], "172.16.0.11");
}

std::string index_key(const std::string& ip) {
  Json v{{"subnet", "viperflow.subnet.sE"}, {"ip_address", ip}};
  return *db::ObjectDb::index_key(model::detail::index_rule(schema::Kind::kLogicalPort, "ip"), &v);
}

// Past many addresses ports hold (more than one transaction round reads), and an expired entry
// of a node that is gone: its reservation released, and only its own.
TEST_F(L3External, AllocationReadsInBatchesAndReleasesOnlyTheOwnersReservation) {
  configure_app(L3Router::kAppName,
                std::string(kPipeline) + "module.l3router.enable_router_forward = True\n");
  ASSERT_NO_FATAL_FAILURE(build(true));
  ok([](auto& v, auto d) {
    v.update_subnets(Json::parse(R"([{"id":"sE","allocated_end":"172.16.0.200"}])"), d);
  });
  Json ports = Json::array();
  for (int i = 11; i <= 80; ++i)
    ports.push_back({{"id", "p" + std::to_string(i)},
                     {"logicalnetwork", "E"},
                     {"subnet", "sE"},
                     {"ip_address", "172.16.0." + std::to_string(i)}});
  ok([&](auto& v, auto d) { v.create_logical_ports(ports, d); });
  // Node "gone" held .150 (reserved under its name) and claims .20, which a port holds.
  const Json gone = Json(std::string(kAddressInfo) + ":gone:br-int");
  put(index_key("172.16.0.150"), gone);
  put(kAddressInfo,
      Json{{"info", Json::array({Json::array({"gone", "br-int", "", "sE", "172.16.0.150", 1}),
                                 Json::array({"gone", "br-int", "", "sE", "172.16.0.20", 1})})}});
  ASSERT_NO_FATAL_FAILURE(run_node());
  ASSERT_TRUE(run_until([&] {
    auto i = stored(kAddressInfo);
    return i && (*i)["info"].size() == 1 && (*i)["info"][0][0] == "me";
  })) << (stored(kAddressInfo) ? stored(kAddressInfo)->dump() : "none");
  EXPECT_EQ((*stored(kAddressInfo))["info"][0][4], "172.16.0.81");
  EXPECT_EQ(*stored(index_key("172.16.0.81")), Json(std::string(kAddressInfo) + ":me:br-int"));
  EXPECT_FALSE(stored(index_key("172.16.0.150"))) << "the gone node's reservation released";
  EXPECT_TRUE(stored(index_key("172.16.0.20"))) << "a port's address is never released";
}

TEST_F(L3External, PreHostConfigGivesTheAddress) {
  configure_app(L3Router::kAppName,
                std::string(kPipeline) + "module.l3router.enable_router_forward = True\n");
  ASSERT_NO_FATAL_FAILURE(build(true));
  ok([](auto& v, auto d) {
    v.update_subnets(Json::parse(R"([{"id":"sE","pre_host_config":[{"systemid":"me","bridge":"br-int",
                                       "local_address":"172.16.0.99"}]}])"),
                     d);
  });
  ASSERT_NO_FATAL_FAILURE(run_node());
  ASSERT_TRUE(run_until([&] {
    auto i = stored(kAddressInfo);
    return i && (*i)["info"].size() == 1 && (*i)["info"][0][4] == "172.16.0.99";
  })) << (stored(kAddressInfo) ? stored(kAddressInfo)->dump() : "none");
}

TEST_F(L3External, WithoutAnUplinkOrTheSettingANodeOnlyForwards) {
  configure_app(L3Router::kAppName, kPipeline);
  ASSERT_NO_FATAL_FAILURE(build(true));  // an uplink, but enable_router_forward is off
  const int64_t later = now_us() + 60'000'000;
  put(kForwardInfo,
      Json{{"info", Json::array({Json::array({"fw", "br-int", "", "0a:00:00:00:00:99", later, "192.168.0.9"}),
                                 Json::array({"old", "br-int", "", "0a:00:00:00:00:77", now_us() - 1,
                                              "192.168.0.7"})})}});
  ASSERT_NO_FATAL_FAILURE(run_node());
  auto f = flows();
  const std::string l3router = std::to_string(table("l3router")) + " ",
                    vxlanoutput = std::to_string(table("vxlanoutput")) + " ";
  // E's subnet and everything else from A to the live forwarding node's router MAC, no dec_ttl.
  EXPECT_EQ(count(f, {l3router + "32792 ", "nw_dst=172.16.0.0/24", "set_field:0a:00:00:00:00:99->eth_dst"}),
            1u)
      << ::testing::PrintToString(f);
  EXPECT_EQ(count(f, {l3router + "32767 ", "set_field:0a:00:00:00:00:99->eth_dst"}), 1u);
  EXPECT_EQ(count(f, {"set_field:0a:00:00:00:00:99->eth_dst", "dec_ttl"}), 0u);
  // Over VXLAN to its tunnel address; never to the expired one.
  EXPECT_EQ(count(f, {vxlanoutput, "dl_dst=0a:00:00:00:00:99", "set_field:192.168.0.9->tun_dst"}), 1u);
  EXPECT_EQ(count(f, {"0a:00:00:00:00:77"}), 0u);
  EXPECT_FALSE(stored(kAddressInfo).has_value()) << "it takes no address";
}

}  // namespace
}  // namespace vlcp::apps
