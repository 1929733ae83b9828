// The ARP and ICMP responders (apps/arp, apps/icmp) on a real ObjectDB model: the flows each
// computes for a switch (docs/L3_FLOWS.md §2, §3), what each model change dirties, their keys,
// and both driven by the platform against a fake switch (an interface removed takes its answers
// away). Their incremental updates against a full recompute through a random history are the
// platform's test (platform_test.cc), which covers every registered app.
#include "apps/arp/arp.h"
#include "apps/icmp/icmp.h"

#include "apps/host.h"
#include "apps/registry.h"

#include <gtest/gtest.h>

#include "../flows/fake_switch.h"
#include "model_fixture.h"
#include "ofp/print.h"

namespace vlcp::apps {
namespace {

using Json = nlohmann::json;
using flows::Desired;

const char* const kRmac = "1a:23:67:59:63:33";

pipeline::PipelineSettings pipeline_of(std::vector<std::string> apps) {
  pipeline::PipelineSettings p;
  p.apps = apps;
  p.tables = *pipeline::allocate(*pipeline::requests_of(apps));
  return p;
}
pipeline::PipelineSettings full_pipeline() {
  return pipeline_of(
      {"ioprocessing", "l2switch", "vxlancast", "arpresponder", "dhcpserver", "icmpresponder", "l3router"});
}

ByteSpan span(const std::string& s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// A partition's flows, printed: "table priority cookie match -> instructions".
std::vector<std::string> printed(const Desired& d) {
  std::vector<std::string> out;
  for (const auto& [k, b] : d.flows) {
    char head[64];
    std::snprintf(head, sizeof head, "%u %u 0x%llx ", k.table, k.priority,
                  static_cast<unsigned long long>(b.cookie));
    std::string text = head;
    ofp::format_match(text, span(k.match));
    text += " -> ";
    ofp::format_instructions(text, span(b.instructions));
    out.push_back(text);
  }
  return out;
}
// The flows holding every one of `parts`.
size_t count(const std::vector<std::string>& flows, std::initializer_list<std::string> parts) {
  return apps::testing::count_holding(flows, parts);
}

Config config_of(const std::string& text) {
  auto c = Config::parse(text, "test.conf");
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return std::move(*c);
}

class Responders : public apps::testing::ModelFixture {
 protected:
  void release() override {
    host_.reset();
    arp_.reset();
    icmp_.reset();
    model_.reset();
  }
  void pump() override { sw_.deliver(); }
  bool ok(const Result<Json>& r) {
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok();
  }
  void create(const char* method, const char* json) {
    Json specs = Json::parse(json);
    std::string m = method;
    ASSERT_TRUE(ok(call([&](auto& v, auto d) {
      if (m == "physnets") v.create_physical_networks(specs, d);
      if (m == "networks") v.create_logical_networks(specs, d);
      if (m == "subnets") v.create_subnets(specs, d);
      if (m == "ports") v.create_logical_ports(specs, d);
      if (m == "routers") v.create_routers(specs, d);
      if (m == "interfaces") v.add_router_interfaces(specs, d);
    }))) << method;
  }
  // vx (VXLAN) with network A (ports a1 here, a2 elsewhere, a3 without a MAC) and X (no port
  // here); vl (VLAN) with network C (c1 here) and E (an external subnet, e1 here). Router r:
  // A's subnet by its gateway, C's at 10.3.0.254, E's external subnet.
  void build_model() {
    create("physnets", R"([{"id":"vx","type":"vxlan","vnirange":[[100,200]]},
                           {"id":"vl","type":"vlan","vlanrange":[[10,20]]}])");
    create("networks", R"([{"id":"A","physicalnetwork":"vx"},{"id":"X","physicalnetwork":"vx"},
                           {"id":"C","physicalnetwork":"vl"},{"id":"E","physicalnetwork":"vl"}])");
    create("subnets", R"([{"id":"sA","logicalnetwork":"A","cidr":"10.1.0.0/24","gateway":"10.1.0.1"},
                          {"id":"sX","logicalnetwork":"X","cidr":"10.9.0.0/24","gateway":"10.9.0.1"},
                          {"id":"sC","logicalnetwork":"C","cidr":"10.3.0.0/24","gateway":"10.3.0.1"},
                          {"id":"sE","logicalnetwork":"E","cidr":"172.16.0.0/24","gateway":"172.16.0.254",
                           "isexternal":true}])");
    create("ports", R"([
      {"id":"a1","logicalnetwork":"A","subnet":"sA","ip_address":"10.1.0.11","mac_address":"02:00:0a:01:00:0b"},
      {"id":"a2","logicalnetwork":"A","subnet":"sA","ip_address":"10.1.0.12","mac_address":"02:00:0a:01:00:0c"},
      {"id":"a3","logicalnetwork":"A","subnet":"sA","ip_address":"10.1.0.13"},
      {"id":"x1","logicalnetwork":"X","subnet":"sX","ip_address":"10.9.0.11","mac_address":"02:00:0a:09:00:0b"},
      {"id":"c1","logicalnetwork":"C","subnet":"sC","ip_address":"10.3.0.14","mac_address":"02:00:0a:03:00:0e"},
      {"id":"e1","logicalnetwork":"E","subnet":"sE","ip_address":"172.16.0.11","mac_address":"02:00:ac:10:00:0b"}])");
    create("routers", R"([{"id":"r"}])");
    create("interfaces",
           R"([{"router":"r","subnet":"sA"},{"router":"r","subnet":"sC","ip_address":"10.3.0.254"},
                             {"router":"r","subnet":"sE"}])");
  }
  // The node's model view with every kind the responders read, and routers (another app's).
  void start_model() {
    auto kinds = ArpApp::kinds();
    kinds.insert(schema::Kind::kRouter);
    model_ = std::make_unique<ModelView>(*db_, after(), kinds);
    model_->start();
    ASSERT_TRUE(run_until([&] { return model_->loaded(); }));
  }
  void make_apps(const pipeline::PipelineSettings& p, const Config& config = config_of("")) {
    pipeline_ = p;
    auto a = read_arp_settings(config, pipeline_);
    ASSERT_TRUE(a.ok()) << a.status().to_string();
    arp_ = std::make_unique<ArpApp>(pipeline_.tables, *a);
    auto i = read_icmp_settings(config);
    ASSERT_TRUE(i.ok()) << i.status().to_string();
    icmp_ = std::make_unique<IcmpApp>(pipeline_.tables, *i);
  }
  // Writes one key as it is (a record another node or an older version wrote).
  SwitchContext context() { return SwitchContext{1, &view_, &system_id_}; }
  uint8_t table(const char* name) { return *pipeline_.tables.id(name); }
  std::string cookie(flows::AppId app, const char* net) {
    char c[32];
    std::snprintf(
        c, sizeof c, "0x%llx ",
        static_cast<unsigned long long>(flows::cookie(app, *model_->logical_networks().at(net).netid)));
    return c;
  }
  std::string net(const char* id) { return std::string("viperflow.logicnetwork.") + id; }
  std::string reg4(const char* id) {
    char c[32];
    std::snprintf(c, sizeof c, "reg4=0x%x", *model_->logical_networks().at(net(id)).netid);
    return c;
  }

  pipeline::PipelineSettings pipeline_;
  std::string system_id_ = "me";
  SwitchView view_{"br-int",
                   {{"eth1", "", "", "", 2},
                    {"tapa1", "", "a1", "", 10},
                    {"tapc1", "", "c1", "", 11},
                    {"tape1", "", "e1", "", 12},
                    {"vxlan0", "vxlan", "", "192.168.0.1", 1}}};
  std::unique_ptr<ModelView> model_;
  std::unique_ptr<ArpApp> arp_;
  std::unique_ptr<IcmpApp> icmp_;
  std::unique_ptr<AppHost> host_;
  flows::FakeSwitch sw_;
};

// §2: per network with a port here, every port's address answered (local and remote, broadcast
// requests from local ports), the router's addresses with the router MAC (unicast too), local
// ports of VLAN router networks to the physical side, and each local port's own request (P+10)
// passed on VLAN and dropped on VXLAN.
TEST_F(Responders, ArpAnswersEachNetworkOfTheSwitch) {
  ASSERT_NO_FATAL_FAILURE(build_model());
  ASSERT_NO_FATAL_FAILURE(start_model());
  ASSERT_NO_FATAL_FAILURE(make_apps(full_pipeline()));
  auto all = arp_->compute(*model_, context());
  ASSERT_EQ(all.size(), 3u);  // A, C, E; not X (no port here)
  EXPECT_FALSE(all.count(net("X")));
  const std::string arp = std::to_string(table("arp")) + " ",
                    out = "goto_table:" + std::to_string(table("vxlanoutput")),
                    back = "move:OXM_OF_IN_PORT[]->NXM_NX_REG6[],load:0x1->NXM_NX_REG7[15]," + out,
                    local = "reg7=0x4000/0x4000", outside = "reg7=0/0x4000",
                    bcast = "dl_dst=01:00:00:00:00:00/01:00:00:00:00:00";
  auto a = printed(all.at(net("A")));
  // a1 (here) and a2 (elsewhere) answered; a3 has no MAC.
  const std::string rewrite_a1 =
      "move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:02:00:0a:01:00:0b->eth_src,set_field:2->arp_op,"
      "move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],set_field:02:00:0a:01:00:0b->arp_sha,"
      "move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],set_field:10.1.0.11->arp_spa," +
      back;
  EXPECT_EQ(count(a, {arp + "32768 " + cookie(kArpAppId, "viperflow.logicnetwork.A"), reg4("A"), local,
                      "arp_tpa=10.1.0.11", "arp_op=1", bcast, rewrite_a1}),
            1u)
      << ::testing::PrintToString(a);
  EXPECT_EQ(count(a, {"arp_tpa=10.1.0.12", local, bcast, "set_field:02:00:0a:01:00:0c->arp_sha"}), 1u);
  EXPECT_EQ(count(a, {"arp_tpa=10.1.0.13"}), 0u);
  // The gateway with the router MAC, broadcast or not.
  EXPECT_EQ(count(a, {arp + "32768 ", "arp_tpa=10.1.0.1,", local,
                      std::string("set_field:") + kRmac + "->eth_src", "set_field:10.1.0.1->arp_spa", back}),
            1u)
      << ::testing::PrintToString(a);
  EXPECT_EQ(count(a, {"arp_tpa=10.1.0.1,", bcast}), 0u);
  // VXLAN: nothing from the outside; a1's own request stops here.
  EXPECT_EQ(count(a, {outside}), 0u);
  EXPECT_EQ(count(a, {arp + "32778 ", "in_port=10", "arp_tpa=10.1.0.11", bcast, "-> drop"}), 1u);
  EXPECT_EQ(a.size(), 4u);

  auto c = printed(all.at(net("C")));
  EXPECT_EQ(count(c, {"arp_tpa=10.3.0.14", local, bcast}), 1u) << ::testing::PrintToString(c);
  EXPECT_EQ(count(c, {"arp_tpa=10.3.0.254", local, std::string("set_field:") + kRmac + "->arp_sha"}), 1u);
  EXPECT_EQ(count(c, {"arp_tpa=10.3.0.1,"}), 0u);  // the interface's own address, not the gateway
  // VLAN router network: c1 answered to the physical side too; its own request goes on.
  EXPECT_EQ(count(c, {"arp_tpa=10.3.0.14", outside, "set_field:02:00:0a:03:00:0e->eth_src", back}), 1u);
  EXPECT_EQ(count(c, {arp + "32778 ", "in_port=11", "arp_tpa=10.3.0.14",
                      "goto_table:" + std::to_string(table("l3input"))}),
            1u);
  EXPECT_EQ(c.size(), 4u);

  // E: an external subnet's gateway is the outside router's (never answered); no router network.
  auto e = printed(all.at(net("E")));
  EXPECT_EQ(count(e, {"arp_tpa=172.16.0.254"}), 0u) << ::testing::PrintToString(e);
  EXPECT_EQ(count(e, {outside}), 0u);
  EXPECT_EQ(count(e, {"arp_tpa=172.16.0.11", local}), 1u);
  EXPECT_EQ(e.size(), 2u);  // e1's answer and its own request

  // The figures: what the switch answers.
  nlohmann::json st = arp_->switch_status(*model_, context());
  EXPECT_EQ(st["answered"], 7) << st.dump();  // a1 a2 gw(A) c1 gw(C) c1(proxy) e1
  EXPECT_EQ(st["free_arp"], 3);
  bool seen = false;
  for (const auto& m : arp_->metrics())
    if (m.name == "vlcp_arp_addresses" && m.labels.back().second == "router") {
      EXPECT_EQ(m.value, 2);
      seen = true;
    }
  EXPECT_TRUE(seen);
}

// Without l3router or icmpresponder in the pipeline nothing answers for a router: no router
// addresses, no proxy.
// broadcastonly off: ports answered for unicast requests too; enable_freearp off: every port's
// own request dropped; disableothers: the rest of the requests dropped (partition base).
TEST_F(Responders, ArpSettingsShapeTheFlows) {
  ASSERT_NO_FATAL_FAILURE(build_model());
  ASSERT_NO_FATAL_FAILURE(start_model());
  ASSERT_NO_FATAL_FAILURE(make_apps(
      pipeline_of({"ioprocessing", "l2switch", "vxlancast", "arpresponder"}),
      config_of("module.arpresponder.broadcastonly = False\nmodule.arpresponder.enable_freearp = False\n"
                "module.arpresponder.disableothers = True\n")));
  auto all = arp_->compute(*model_, context());
  ASSERT_TRUE(all.count(ArpApp::kBase));
  EXPECT_EQ(arp_->always(), std::set<std::string>{ArpApp::kBase});
  auto base = printed(all.at(ArpApp::kBase));
  ASSERT_EQ(base.size(), 1u);
  EXPECT_EQ(count(base, {std::to_string(table("arp")) + " 1 0x4000000000000 ", "arp_op=1", "-> drop"}), 1u)
      << base[0];
  EXPECT_EQ(count(base, {"dl_dst"}), 0u);
  auto c = printed(all.at(net("C")));
  EXPECT_EQ(count(c, {"arp_tpa=10.3.0.254"}), 0u) << ::testing::PrintToString(c);
  EXPECT_EQ(count(c, {"reg7=0/0x4000"}), 0u);
  EXPECT_EQ(count(c, {"dl_dst"}), 0u);
  EXPECT_EQ(count(c, {"32778 ", "in_port=11", "-> drop"}), 1u);
  EXPECT_EQ(c.size(), 2u);
  // icmpresponder without l3router: the gateway's ARP answered (a ping to it needs it), nothing
  // to the physical side (no l3router dropping the rest there).
  ASSERT_NO_FATAL_FAILURE(
      make_apps(pipeline_of({"ioprocessing", "l2switch", "vxlancast", "arpresponder", "icmpresponder"})));
  c = printed(arp_->compute(*model_, context()).at(net("C")));
  EXPECT_EQ(count(c, {"arp_tpa=10.3.0.254", std::string("set_field:") + kRmac + "->eth_src"}), 1u)
      << ::testing::PrintToString(c);
  EXPECT_EQ(count(c, {"reg7=0/0x4000"}), 0u);
  // A node without either: nothing for the router, no base.
  ASSERT_NO_FATAL_FAILURE(make_apps(pipeline_of({"ioprocessing", "l2switch", "vxlancast", "arpresponder"})));
  EXPECT_FALSE(arp_->settings().router_mac.has_value());
  EXPECT_TRUE(arp_->always().empty());
  EXPECT_FALSE(arp_->compute(*model_, context()).count(ArpApp::kBase));
}

// §3: a ping to the router's address on each non-external subnet of a network with a port here,
// answered by the flow at P+1 in l3input: addresses and MACs swapped, type 0, TTL 64, back out.
TEST_F(Responders, IcmpAnswersPingsToTheRouter) {
  ASSERT_NO_FATAL_FAILURE(build_model());
  ASSERT_NO_FATAL_FAILURE(start_model());
  ASSERT_NO_FATAL_FAILURE(make_apps(full_pipeline()));
  auto all = icmp_->compute(*model_, context());
  const std::string l3input = std::to_string(table("l3input")) + " ";
  auto a = printed(all.at(net("A")));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(count(a, {l3input + "32769 " + cookie(kIcmpAppId, "viperflow.logicnetwork.A"), "icmp", reg4("A"),
                      "reg7=0x4000/0x4000", std::string("dl_dst=") + kRmac, "nw_dst=10.1.0.1", "icmp_type=8",
                      "icmp_code=0",
                      std::string("-> move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:") + kRmac +
                          "->eth_src,move:NXM_OF_IP_SRC[]->NXM_OF_IP_DST[],set_field:10.1.0.1->ip_src,"
                          "set_field:0->icmp_type,mod_nw_ttl:64,move:OXM_OF_IN_PORT[]->NXM_NX_REG6[],"
                          "load:0x1->NXM_NX_REG7[15],goto_table:" +
                          std::to_string(table("vxlanoutput"))}),
            1u)
      << a[0];
  auto c = printed(all.at(net("C")));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_NE(c[0].find("nw_dst=10.3.0.254"), std::string::npos) << c[0];
  EXPECT_TRUE(all.at(net("E")).empty());  // external: the gateway is not ours
  EXPECT_FALSE(all.count(net("X")));
  EXPECT_EQ(icmp_->switch_status(*model_, context())["answered"], Json::array({"10.1.0.1", "10.3.0.254"}));
  ASSERT_EQ(icmp_->metrics().size(), 1u);
  EXPECT_EQ(icmp_->metrics()[0].value, 2);
}

// What each change dirties: the networks it touches, for both apps alike (a router interface its
// subnet's network, a router nothing: its interfaces are changes of their own).
TEST_F(Responders, ChangesDirtyTheNetworksTheyTouch) {
  ASSERT_NO_FATAL_FAILURE(build_model());
  ASSERT_NO_FATAL_FAILURE(start_model());
  ASSERT_NO_FATAL_FAILURE(make_apps(full_pipeline()));
  std::set<std::string> arp_dirty, icmp_dirty;
  bool everything = false;
  model_->subscribe([&](const ModelChange& c) {
    for (const FlowApp* app :
         {static_cast<const FlowApp*>(arp_.get()), static_cast<const FlowApp*>(icmp_.get())}) {
      Dirty d = app->on_model(*model_, c);
      everything |= d.all;
      (app == arp_.get() ? arp_dirty : icmp_dirty).insert(d.partitions.begin(), d.partitions.end());
    }
  });
  auto expect = [&](const std::string& what, std::set<std::string> want, auto&& change) {
    arp_dirty.clear();
    icmp_dirty.clear();
    change();
    run_until([&] { return arp_dirty == want; });
    EXPECT_EQ(arp_dirty, want) << what;
    EXPECT_EQ(icmp_dirty, want) << what;
    EXPECT_FALSE(everything) << what;
  };
  expect("an interface removed", {net("C")}, [&] {
    ASSERT_TRUE(ok(call([](auto& v, auto d) {
      v.remove_router_interfaces(Json::parse(R"([{"router":"r","subnet":"sC"}])"), d);
    })));
  });
  expect("an interface added", {net("C")},
         [&] { create("interfaces", R"([{"router":"r","subnet":"sC"}])"); });
  expect("a port's address", {net("A")}, [&] {
    ASSERT_TRUE(ok(call([](auto& v, auto d) {
      v.update_logical_ports(Json::parse(R"([{"id":"a2","ip_address":"10.1.0.22"}])"), d);
    })));
  });
  expect("a port elsewhere", {net("X")}, [&] {
    create("ports", R"([{"id":"x2","logicalnetwork":"X","subnet":"sX","mac_address":"02:00:0a:09:00:0c"}])");
  });
  expect("a subnet", {net("A")}, [&] {
    ASSERT_TRUE(
        ok(call([](auto& v, auto d) { v.update_subnets(Json::parse(R"([{"id":"sA","mtu":1400}])"), d); })));
  });
  // An interface's own record (its address) changed alone: its subnet's network.
  std::string iface;
  for (const auto& [key, i] : model_->router_interfaces())
    if (i.subnet == "viperflow.subnet.sA") iface = key;
  ASSERT_FALSE(iface.empty());
  expect("an interface's address", {net("A")}, [&] {
    Json v = model_->router_interfaces().at(iface).value;
    v["ip_address"] = "10.1.0.254";
    put(iface, v);
  });
  EXPECT_EQ(count(printed(arp_->compute(*model_, context()).at(net("A"))), {"arp_tpa=10.1.0.254,"}), 1u);
  expect("a router", {}, [&] {
    create("routers", R"([{"id":"r2"}])");
    ASSERT_TRUE(run_until([&] { return model_->routers().count("viperflow.vrouter.r2") > 0; }));
  });
}

// Both apps on the platform with a switch: removing the router interface takes the gateway's ARP
// answer and its ping answer away at once; adding it back restores them.
TEST_F(Responders, RemovingTheInterfaceTakesItsAnswersAway) {
  ASSERT_NO_FATAL_FAILURE(build_model());
  ASSERT_NO_FATAL_FAILURE(make_apps(full_pipeline()));
  model_ = std::make_unique<ModelView>(*db_, after());
  host_ = std::make_unique<AppHost>(*model_, std::vector<FlowApp*>{arp_.get(), icmp_.get()}, clock_, after());
  host_->set_system_id("me");
  host_->start();
  model_->start();
  host_->update_switch(1, view_);
  host_->attach(1, &sw_);
  auto settled = [&] {
    for (int i = 0; i < 50; ++i) {
      sw_.deliver();
      loop_.run_pending();
    }
    return run_until([&] { return host_->flow_owner(1) && host_->flow_owner(1)->stats().synced; });
  };
  auto on_switch = [&](const std::string& part) {
    size_t n = 0;
    for (const auto& [k, b] : sw_.flows) {
      std::string text;
      ofp::format_match(text, span(k.match));
      n += text.find(part) != std::string::npos;
    }
    return n;
  };
  ASSERT_TRUE(run_until([&] { return model_->loaded(); }));
  ASSERT_TRUE(settled());
  EXPECT_EQ(on_switch("arp_tpa=10.1.0.1,"), 1u);
  EXPECT_EQ(on_switch("nw_dst=10.1.0.1,"), 1u);
  size_t before = sw_.flows.size(), recomputes = host_->counters(*arp_).recompute;
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.remove_router_interfaces(Json::parse(R"([{"router":"r","subnet":"sA"}])"), d);
  })));
  ASSERT_TRUE(settled());
  EXPECT_EQ(on_switch("arp_tpa=10.1.0.1,"), 0u);
  EXPECT_EQ(on_switch("nw_dst=10.1.0.1,"), 0u);
  EXPECT_EQ(sw_.flows.size(), before - 2);
  EXPECT_EQ(host_->counters(*arp_).recompute, recomputes) << "an interface change recomputed whole switches";
  create("interfaces", R"([{"router":"r","subnet":"sA"}])");
  ASSERT_TRUE(settled());
  EXPECT_EQ(on_switch("arp_tpa=10.1.0.1,"), 1u);
  EXPECT_EQ(on_switch("nw_dst=10.1.0.1,"), 1u);
  EXPECT_EQ(host_->flow_owner(1)->stats().refused, 0u);
}

// The keys: a router MAC for pings other than the router's is refused at the key; network types
// are checked; both apps are registered with their VLCP modules.
TEST(ResponderKeys, AreCheckedAndRegistered) {
  auto i = read_icmp_settings(config_of("module.icmpresponder.inroutermac = '02:00:00:00:00:01'\n"));
  ASSERT_FALSE(i.ok());
  EXPECT_NE(i.status().message().find("test.conf:1"), std::string::npos) << i.status().message();
  EXPECT_NE(i.status().message().find("module.icmpresponder.inroutermac"), std::string::npos);
  EXPECT_TRUE(read_icmp_settings(config_of("module.icmpresponder.inroutermac = '02:00:00:00:00:01'\n"
                                           "module.l3router.inroutermac = '02:00:00:00:00:01'\n"))
                  .ok());
  // A node that does not run the responder only checks the key's syntax (a VLCP config that
  // changes only l3router's MAC must still start).
  EXPECT_TRUE(
      read_icmp_settings(config_of("module.l3router.inroutermac = '02:00:00:00:00:01'\n"), false).ok());
  EXPECT_FALSE(read_icmp_settings(config_of("module.icmpresponder.inroutermac = 'zz'\n"), false).ok());
  auto a = read_arp_settings(config_of("module.arpresponder.enable_freearp_networktypes = ['vlan', 'gre']\n"),
                             full_pipeline());
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("enable_freearp_networktypes"), std::string::npos);
  auto d = read_arp_settings(config_of(""), full_pipeline());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->free_arp_types, (std::set<std::string>{"vlan", "native"}));
  EXPECT_EQ(model::detail::mac_text(*d->router_mac), kRmac);
  std::map<std::string, std::vector<std::string>> modules;
  for (const auto* r : registered_apps()) modules[r->name] = r->modules;
  EXPECT_EQ(modules["arp"], std::vector<std::string>{"arpresponder"});
  EXPECT_EQ(modules["icmp"], std::vector<std::string>{"icmpresponder"});
}

}  // namespace
}  // namespace vlcp::apps
