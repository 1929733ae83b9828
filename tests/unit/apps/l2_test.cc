// The L2 apps' flows: what each kind of network gets on a switch (pure function tests), and
// the app on a real ObjectDB (embedded store) with a fake switch. (Its incremental updates are
// checked against its full recompute by the platform's test, for every registered app:
// platform_test.cc.)
#include "apps/l2/l2app.h"

#include "apps/host.h"

#include <gtest/gtest.h>

#include <regex>

#include "../flows/fake_switch.h"
#include "model_fixture.h"
#include "ofp/print.h"

namespace vlcp::apps {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

pipeline::TableMap vlcp_tables() {
  auto req = pipeline::requests_of({"ioprocessing", "l2switch", "vxlancast"});
  return *pipeline::allocate(*req);
}

ByteSpan span(const std::string& s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// The flows of one table, printed ("priority match -> instructions").
std::vector<std::string> table_flows(const Desired& d, uint8_t table) {
  std::vector<std::string> out;
  for (const auto& [k, b] : d.flows) {
    if (k.table != table) continue;
    std::string text = std::to_string(k.priority) + " ";
    ofp::format_match(text, span(k.match));
    text += " -> ";
    ofp::format_instructions(text, span(b.instructions));
    out.push_back(text);
  }
  return out;
}

bool has(const std::vector<std::string>& flows, const std::string& part) {
  for (const auto& f : flows)
    if (f.find(part) != std::string::npos) return true;
  return false;
}

Inputs two_networks() {
  Inputs in;
  in.networks["viperflow.logicnetwork.vx"] = Network{"viperflow.logicnetwork.vx", 7, "vxlan", 5001, "pvx"};
  in.networks["viperflow.logicnetwork.vl"] = Network{"viperflow.logicnetwork.vl", 9, "vlan", 100, "pvl"};
  in.ports[3] = LocalPort{"a", "viperflow.logicnetwork.vx", 3, parse_mac("02:00:00:00:00:03")};
  in.ports[4] = LocalPort{"b", "viperflow.logicnetwork.vl", 4, parse_mac("02:00:00:00:00:04")};
  in.uplinks["pvl"] = 2;
  in.uplinks["pvx"] = 1;  // the tunnel
  in.remote["viperflow.logicnetwork.vx"] = {
      RemotePort{parse_mac("02:00:00:00:00:09"), *parse_ip("192.168.0.2")},
      RemotePort{std::nullopt, *parse_ip("192.168.0.3")}};
  return in;
}

TEST(L2Flows, EachKindOfNetworkGetsItsFlows) {
  auto tables = vlcp_tables();
  L2Flows flows(tables, L2Settings{});
  Inputs in = two_networks();
  auto t = [&](const char* n) { return *tables.id(n); };
  Desired vx = flows.network(in, "viperflow.logicnetwork.vx");
  Desired vl = flows.network(in, "viperflow.logicnetwork.vl");
  // VXLAN: the port and the tunnel's VNI enter the network; remote MACs go to their node.
  EXPECT_TRUE(has(table_flows(vx, t("ingress")), "in_port=3 -> set_field:0x7->reg4"));
  EXPECT_TRUE(has(table_flows(vx, t("ingress")), "tun_id=0x1389,in_port=1"));
  EXPECT_TRUE(has(table_flows(vx, t("vxlanoutput")), "dl_dst=02:00:00:00:00:09"));
  EXPECT_TRUE(has(table_flows(vx, t("vxlanoutput")), "set_field:192.168.0.2->tun_dst"));
  // Its flood group reaches the local port and both remote nodes (the MAC-less port's too);
  // from the outside, only the local port.
  ASSERT_EQ(vx.groups.count(7), 1u);
  EXPECT_EQ(vx.groups.at(7).buckets.size(), 3u);
  EXPECT_EQ(vx.groups.at(7 | kGroupFromOutside).buckets.size(), 1u);
  // VLAN: tagged traffic on the physical port enters untagged; leaves tagged.
  EXPECT_TRUE(has(table_flows(vl, t("ingress")), "in_port=2,dl_vlan=100 -> pop_vlan"));
  EXPECT_TRUE(has(table_flows(vl, t("egress")), "push_vlan:0x8100,set_field:4196->vlan_vid,output:2"));
  EXPECT_TRUE(has(table_flows(vl, t("l2output")), "reg5=0x9 -> set_field:0x2->reg6"));
  // Hairpin only when REG7 allows it.
  EXPECT_TRUE(has(table_flows(vl, t("egress")), "reg7=0x8000/0x8000,in_port=4 -> IN_PORT"));
  // A network without a port here gets nothing.
  in.ports.erase(4);
  EXPECT_TRUE(flows.network(in, "viperflow.logicnetwork.vl").flows.empty());
  // Base: multicast sources and 802.1D frames dropped; ingress and egress drop by default.
  Desired base = flows.base(in);
  EXPECT_TRUE(has(table_flows(base, t("l2input")), "dl_src=01:00:00:00:00:00/01:00:00:00:00:00 -> drop"));
  EXPECT_TRUE(has(table_flows(base, t("l2input")), "dl_dst=01:80:c2:00:00:00/ff:ff:ff:ff:ff:f0 -> drop"));
  EXPECT_TRUE(has(table_flows(base, t("ingress")), "0  -> drop"));
  EXPECT_TRUE(has(table_flows(base, t("l2input")), "0  -> goto_table:" + std::to_string(t("vxlaninput"))));
}

// vxlancast's keys combine as VLCP's do: prepush and learning together (the default), either
// alone, or neither (first-packet upload). Learning learns from the tunnel into vxlanlearning,
// which vxlanoutput consults for unicast from local ports only.
TEST(L2Flows, VxlanStrategiesCombineAsVlcps) {
  auto tables = vlcp_tables();
  auto t = [&](const char* n) { return *tables.id(n); };
  Inputs in = two_networks();
  const std::string vx = "viperflow.logicnetwork.vx";
  auto with = [&](bool prepush, bool learn) {
    L2Settings s;
    s.vxlan_prepush = prepush;
    s.vxlan_learn = learn;
    s.vxlan_timeout = 77;
    return L2Flows(tables, s).network(in, vx);
  };
  const std::string learn_flow =
      "reg4=0x7,in_port=1 -> learn(table=" + std::to_string(t("vxlanlearning")) +
      ",hard_timeout=77,cookie=0x8003000000000007,NXM_NX_REG5[]=NXM_NX_REG4[],NXM_OF_"
      "ETH_DST[]=NXM_OF_ETH_SRC[],load:NXM_NX_TUN_IPV4_SRC[]->NXM_NX_TUN_IPV4_DST[],"
      "load:NXM_OF_IN_PORT[]->NXM_NX_REG6[0..15])";
  const std::string lookup =
      "reg5=0x7,reg6=0,reg7=0x4000/0x4000 -> resubmit(," + std::to_string(t("vxlanlearning")) + ")";
  const std::string pushed = "set_field:192.168.0.2->tun_dst";
  const std::string to_controller = "CONTROLLER:65535";
  Desired both = with(true, true), prepush = with(true, false), learn = with(false, true),
          neither = with(false, false);
  EXPECT_TRUE(has(table_flows(both, t("vxlaninput")), learn_flow))
      << ::testing::PrintToString(table_flows(both, t("vxlaninput")));
  EXPECT_TRUE(has(table_flows(both, t("vxlanoutput")), lookup))
      << ::testing::PrintToString(table_flows(both, t("vxlanoutput")));
  EXPECT_TRUE(has(table_flows(both, t("vxlanoutput")), pushed));
  EXPECT_FALSE(has(table_flows(prepush, t("vxlaninput")), "learn("));
  EXPECT_TRUE(has(table_flows(prepush, t("vxlanoutput")), pushed));
  EXPECT_TRUE(has(table_flows(learn, t("vxlaninput")), learn_flow));
  EXPECT_TRUE(has(table_flows(learn, t("vxlanoutput")), lookup));
  EXPECT_FALSE(has(table_flows(learn, t("vxlanoutput")), pushed));
  for (const Desired* d : {&both, &prepush, &learn})
    EXPECT_FALSE(has(table_flows(*d, t("vxlanoutput")), to_controller));
  EXPECT_TRUE(has(table_flows(neither, t("vxlanoutput")), to_controller));
  EXPECT_FALSE(has(table_flows(neither, t("vxlaninput")), "learn("));
  EXPECT_FALSE(has(table_flows(neither, t("vxlanoutput")), pushed));
  // Without its physical port (the tunnel), a VXLAN network has no way out: no tunnel flows.
  in.uplinks.erase("pvx");
  Desired none = with(true, true);
  for (const char* table : {"vxlaninput", "vxlanoutput"})
    EXPECT_TRUE(table_flows(none, t(table)).empty()) << table;
  EXPECT_FALSE(has(table_flows(none, t("ingress")), "tun_id="));
  EXPECT_EQ(none.groups.at(7).buckets.size(), 1u);  // the local port only
}

TEST(L2Flows, LocalAndNativeNetworks) {
  auto tables = vlcp_tables();
  L2Flows flows(tables, L2Settings{});
  Inputs in;
  in.networks["n"] = Network{"n", 3, "native", 0, "pn"};
  in.networks["l"] = Network{"l", 4, "local", 0, "pl"};
  in.ports[5] = LocalPort{"a", "n", 5, parse_mac("02:00:00:00:00:05")};
  in.ports[6] = LocalPort{"b", "l", 6, parse_mac("02:00:00:00:00:06")};
  in.uplinks["pn"] = 2;
  in.uplinks["pl"] = 9;  // a local network never uses a physical port
  Desired n = flows.network(in, "n"), l = flows.network(in, "l");
  EXPECT_TRUE(
      has(table_flows(n, *tables.id("ingress")), "in_port=2,vlan_tci=0x0000/0x1fff -> set_field:0x3->reg4"));
  EXPECT_EQ(n.groups.at(3).buckets.size(), 2u);
  EXPECT_EQ(l.groups.at(4).buckets.size(), 1u);
  EXPECT_FALSE(has(table_flows(l, *tables.id("ingress")), "in_port=9"));
}

// OVSDB's replica as the apps see a switch: bridges with a datapath id, each interface with its
// iface-id, ofport and tunnel address, sorted by name.
TEST(SwitchViews, FromTheOvsdbReplica) {
  ovsdb::Replica r;
  r.bridges["br-int"] = ovsdb::Bridge{"br-int", 7, "netdev", "secure", {}, {"vxlan0", "tap1"}, {}};
  r.bridges["br-new"] = ovsdb::Bridge{"br-new", std::nullopt, "netdev", "", {}, {}, {}};  // no datapath yet
  r.ports["tap1"] = ovsdb::Port{"tap1", {"tap1"}, {}, -1};
  r.ports["vxlan0"] = ovsdb::Port{"vxlan0", {"vxlan0"}, {}, -1};
  r.interfaces["tap1"].name = "tap1";
  r.interfaces["tap1"].ofport = 3;
  r.interfaces["tap1"].external_ids["iface-id"] = "p1";
  r.interfaces["vxlan0"].name = "vxlan0";
  r.interfaces["vxlan0"].type = "vxlan";
  r.interfaces["vxlan0"].ofport = 1;
  r.interfaces["vxlan0"].options["local_ip"] = "192.168.0.1";
  auto views = switch_views(r);
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views.at(7),
            (SwitchView{"br-int", {{"tap1", "", "p1", "", 3}, {"vxlan0", "vxlan", "", "192.168.0.1", 1}}}));
}

// --- the app on a real ObjectDB -------------------------------------------------------------------

class L2AppTest : public apps::testing::ModelFixture {
 protected:
  void release() override {
    host_.reset();
    app_.reset();
    model_.reset();
  }
  void pump() override { sw_.deliver(); }
  // vx (VXLAN, VNIs 100-200) and vl (VLAN, ids 10-20).
  void physical_networks() {
    ASSERT_TRUE(call([](auto& v, auto d) {
                  v.create_physical_networks(
                      Json::parse(R"([{"id":"vx","type":"vxlan","vnirange":[[100,200]]},
                    {"id":"vl","type":"vlan","vlanrange":[[10,20]]}])"),
                      d);
                }).ok());
  }
  // A node: its model view, the L2 app and the platform driving it (a restart: a new node).
  void start_app() {
    release();
    model_ = std::make_unique<ModelView>(*db_, after(), L2App::kinds());
    app_ = std::make_unique<L2App>(*model_, *db_, tables_, L2Settings{}, after());
    host_ = std::make_unique<AppHost>(*model_, std::vector<FlowApp*>{app_.get()}, clock_, after());
    host_->set_system_id("me");
    host_->start();
    model_->start();
  }
  // Settles (the app recomputed, the switch confirmed), then checks the invariant.
  void expect_recompute_baseline(const std::string& step) {
    for (int i = 0; i < 50; ++i) {  // let every queued update and batch go through
      sw_.deliver();
      loop_.run_pending();
    }
    ASSERT_TRUE(run_until([&] { return host_->flow_owner(1) && host_->flow_owner(1)->stats().synced; }))
        << step;
    // For every app on the platform: what it keeps incrementally is its full recompute.
    Desired full;
    for (FlowApp* app : host_->apps()) {
      Desired of_app;
      for (const auto& [p, d] : app->compute(*model_, *host_->context(1))) {
        of_app.flows.insert(d.flows.begin(), d.flows.end());
        of_app.groups.insert(d.groups.begin(), d.groups.end());
      }
      EXPECT_TRUE(host_->flow_owner(1)->desired(app->name()) == of_app)
          << step << ": app " << app->name() << "'s incremental flows differ from its full recompute";
      full.flows.insert(of_app.flows.begin(), of_app.flows.end());
      full.groups.insert(of_app.groups.begin(), of_app.groups.end());
    }
    Desired inc = host_->flow_owner(1)->desired();
    EXPECT_EQ(inc.flows.size(), full.flows.size()) << step;
    EXPECT_TRUE(inc == full) << step << ": the incremental flows differ from a full recompute";
    EXPECT_EQ(sw_.flows, full.flows) << step << ": the switch does not hold the desired flows";
    EXPECT_EQ(sw_.groups.size(), full.groups.size()) << step;
    // Every flow is the L2 app's (its cookie app ids), none refused, as the status shows.
    const flows::FlowOwnerStats& st = host_->flow_owner(1)->stats();
    EXPECT_EQ(st.apps.at(L2App::kAppName).installed_flows, sw_.flows.size()) << step;
    EXPECT_EQ(st.refused, 0u) << step;
    nlohmann::json status = host_->status()["switches"][0];
    EXPECT_EQ(status["apps"][L2App::kAppName]["installed_flows"], sw_.flows.size()) << step;
    EXPECT_EQ(status["refused"], 0) << step;
  }

  pipeline::TableMap tables_ = vlcp_tables();
  std::unique_ptr<ModelView> model_;
  std::unique_ptr<L2App> app_;
  std::unique_ptr<AppHost> host_;
  flows::FakeSwitch sw_;
};

// Issue 22: a VXLAN network's tunnel is the physical port the model names (VLCP's
// createphysicalport name=vxlan0): deleting it removes every flow and group bucket that existed
// because of it, and the node's locations (other servers stop flooding to it); creating it again
// restores them. An interface of the wrong kind for its physical network is never used.
TEST_F(L2AppTest, TheTunnelIsThePhysicalPortTheModelNames) {
  auto ok = [](const Result<Json>& r) { return r.ok(); };
  ASSERT_NO_FATAL_FAILURE(physical_networks());
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.create_logical_networks(Json::parse(R"([{"id":"n","physicalnetwork":"vx"}])"), d);
  })));
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.create_logical_ports(Json::parse(R"([{"id":"p","logicalnetwork":"n","mac_address":"02:00:00:00:00:01"},
      {"id":"r","logicalnetwork":"n","mac_address":"02:00:00:00:00:02"}])"),
                           d);
  })));
  put("viperflow.logicalportvxlaninfo.r", Json{{"id", "r"},
                                               {"endpoints", Json::array({Json{{"systemid", "other"},
                                                                               {"bridge", "br-int"},
                                                                               {"tunnel_src", "192.168.0.2"},
                                                                               {"updated_time", 1}}})}});
  start_app();
  SwitchView view{
      "br-int",
      {{"eth1", "", "", "", 2}, {"tapp", "", "p", "", 10}, {"vxlan0", "vxlan", "", "192.168.0.1", 1}}};
  host_->update_switch(1, view);
  host_->attach(1, &sw_);
  ASSERT_TRUE(run_until([&] { return model_->loaded(); }));
  auto tunnel_flows = [&] {  // installed flows that exist because of the tunnel (ofport 1)
    size_t n = 0;
    for (const auto& [k, b] : sw_.flows) {
      std::string text;
      ofp::format_match(text, span(k.match));
      ofp::format_instructions(text += " ", span(b.instructions));
      static const std::regex tunnel(R"((in_port=1|reg6=0x1|output:1|0x1->reg6)\b|->tun_dst)");
      n += std::regex_search(text, tunnel);
    }
    return n;
  };
  auto located_here = [&] {
    std::optional<bool> here;
    db_->get({"viperflow.logicalportvxlaninfo.p"}, [&](Result<std::map<std::string, db::Record>> r) {
      here = r.ok() && r->count("viperflow.logicalportvxlaninfo.p") &&
             r->at("viperflow.logicalportvxlaninfo.p").value.has_value();
    });
    run_until([&] { return here.has_value(); });
    return here.value_or(false);
  };
  // No physical port for vx yet: the vxlan interface is not a tunnel of anything.
  expect_recompute_baseline("no physical port");
  EXPECT_EQ(tunnel_flows(), 0u);
  EXPECT_FALSE(located_here());
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.create_physical_ports(Json::parse(R"([{"name":"vxlan0","physicalnetwork":"vx"}])"), d);
  })));
  expect_recompute_baseline("physical port created");
  size_t with_tunnel = tunnel_flows();
  EXPECT_EQ(with_tunnel, 4u);  // ingress by VNI, vxlaninput learn, vxlanoutput pushed MAC, egress
  EXPECT_TRUE(run_until(located_here));
  EXPECT_EQ(sw_.groups.at(1).buckets.size(), 2u);  // p and the other node
  ASSERT_TRUE(
      ok(call([](auto& v, auto d) { v.delete_physical_ports(Json::parse(R"([{"name":"vxlan0"}])"), d); })));
  expect_recompute_baseline("physical port deleted");
  EXPECT_EQ(tunnel_flows(), 0u) << "a deleted physical port left flows behind";
  EXPECT_EQ(sw_.groups.at(1).buckets.size(), 1u);
  EXPECT_TRUE(run_until([&] { return !located_here(); })) << "its ports' locations stayed published";
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.create_physical_ports(Json::parse(R"([{"name":"vxlan0","physicalnetwork":"vx"}])"), d);
  })));
  expect_recompute_baseline("physical port created again");
  EXPECT_EQ(tunnel_flows(), with_tunnel);
  // A physical port rule of a VXLAN network naming a non-tunnel interface (and of a VLAN network
  // naming a tunnel) binds nothing.
  ASSERT_TRUE(
      ok(call([](auto& v, auto d) { v.delete_physical_ports(Json::parse(R"([{"name":"vxlan0"}])"), d); })));
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.create_physical_ports(Json::parse(R"([{"name":"eth1","physicalnetwork":"vx"},
      {"name":"vxlan0","physicalnetwork":"vl"}])"),
                            d);
  })));
  expect_recompute_baseline("wrong kinds");
  EXPECT_EQ(tunnel_flows(), 0u);
  EXPECT_TRUE(app_->inputs(*host_->context(1)).uplinks.empty());
}

// A location record every node reads, written wrongly (by hand, from a dump): skipped, never
// thrown on (a throw in the round would end vlcpd on every node, again after each restart).
TEST_F(L2AppTest, MalformedLocationsAreSkipped) {
  ASSERT_NO_FATAL_FAILURE(physical_networks());
  ASSERT_TRUE(call([](auto& v, auto d) {
                v.create_physical_ports(Json::parse(R"([{"name":"vxlan0","physicalnetwork":"vx"}])"), d);
              }).ok());
  ASSERT_TRUE(call([](auto& v, auto d) {
                v.create_logical_networks(Json::parse(R"([{"id":"n","physicalnetwork":"vx"}])"), d);
              }).ok());
  ASSERT_TRUE(call([](auto& v, auto d) {
                v.create_logical_ports(
                    Json::parse(R"([{"id":"p","logicalnetwork":"n"},{"id":"a","logicalnetwork":"n"},
                  {"id":"b","logicalnetwork":"n"},{"id":"c","logicalnetwork":"n"}])"),
                    d);
              }).ok());
  put("viperflow.logicalportvxlaninfo.a", Json::array({1, 2}));
  put("viperflow.logicalportvxlaninfo.b", Json{{"endpoints", "garbage"}});
  put("viperflow.logicalportvxlaninfo.c",
      Json{{"endpoints",
            Json::array({7, Json{{"systemid", "x"}, {"tunnel_src", "192.168.0.7"}, {"updated_time", "late"}},
                         Json{{"systemid", "y"}, {"tunnel_src", "192.168.0.8"}, {"updated_time", 3}}})}});
  start_app();
  SwitchView view{"br-int", {{"tapp", "", "p", "", 10}, {"vxlan0", "vxlan", "", "192.168.0.1", 1}}};
  host_->update_switch(1, view);
  host_->attach(1, &sw_);
  ASSERT_TRUE(run_until([&] { return model_->loaded(); }));
  expect_recompute_baseline("malformed locations");
  // c's well-formed endpoint still counts; a and b are not anywhere.
  auto in = app_->inputs(*host_->context(1));
  ASSERT_EQ(in.remote["viperflow.logicnetwork.n"].size(), 1u);
  EXPECT_EQ(in.remote["viperflow.logicnetwork.n"][0].vtep, *parse_ip("192.168.0.8"));
}

}  // namespace
}  // namespace vlcp::apps
