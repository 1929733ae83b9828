// Switch changes followed incrementally (issue 17, docs/PACKET_IN_DESIGN.md §3.1 (a)): the platform
// keeps each switch's previous view and tells apps what changed (changed_ports); a port bound,
// rebound or unbound dirties only the networks it touches (binding_networks), a tunnel or an
// uplink the whole switch. Every registered app, through binding changes: its incremental flows
// equal its full recompute (STYLE rule 5), and binding changes are handled without a recompute.
// The platform also times each port's bring-up, stage by stage (ioprocessing/status, /metrics).
#include "apps/host.h"
#include "apps/registry.h"

#include <gtest/gtest.h>

#include "app_node_fixture.h"

namespace vlcp::apps {
namespace {

using Json = nlohmann::json;
using flows::Desired;

SwitchPortInfo port(const std::string& name, const std::string& iface_id, int64_t ofport,
                    const std::string& type = "") {
  return SwitchPortInfo{name, type, iface_id, "", ofport};
}

TEST(ChangedPorts, NamesPortsAddedRemovedAndRebound) {
  SwitchView a{"br-int", {port("tap1", "p1", 10), port("tap2", "p2", -1), port("tap3", "p3", 12)}};
  SwitchView b{"br-int", {port("tap1", "p1", 10), port("tap2", "p2", 11), port("tap4", "p4", 13)}};
  SwitchChange c = changed_ports(a, b);
  EXPECT_FALSE(c.bridge);
  ASSERT_EQ(c.ports.size(), 3u);
  std::map<std::string, PortChange> by;
  for (const auto& p : c.ports) by[p.before ? p.before->name : p.after->name] = p;
  EXPECT_EQ(by.at("tap2").before->ofport, -1);  // its ofport assigned
  EXPECT_EQ(by.at("tap2").after->ofport, 11);
  EXPECT_FALSE(by.at("tap3").after);   // removed
  EXPECT_FALSE(by.at("tap4").before);  // added
  EXPECT_FALSE(by.count("tap1"));
  EXPECT_TRUE(changed_ports(a, a).ports.empty());
  SwitchView other = a;
  other.bridge = "br-ex";
  EXPECT_TRUE(changed_ports(a, other).bridge);
}

class OnSwitch : public apps::testing::EveryAppFixture {
 protected:
  // A model with two VXLAN networks joined by a router (subnets, addresses), a third one alone,
  // and ports in each; the switch has the tunnel.
  void build_model() {
    auto ok = [](const Result<Json>& r) { return r.ok(); };
    ASSERT_TRUE(ok(call([](auto& v, auto d) {
      v.create_physical_networks(Json::parse(R"([{"id":"vx","type":"vxlan","vnirange":[[100,200]]}])"), d);
    })));
    ASSERT_TRUE(ok(call([](auto& v, auto d) {
      v.create_physical_ports(Json::parse(R"([{"name":"vxlan0","physicalnetwork":"vx"}])"), d);
    })));
    ASSERT_TRUE(ok(call([](auto& v, auto d) {
      v.create_logical_networks(Json::parse(R"([{"id":"na","physicalnetwork":"vx"},
        {"id":"nb","physicalnetwork":"vx"},{"id":"nc","physicalnetwork":"vx"}])"),
                                d);
    })));
    ASSERT_TRUE(ok(call([](auto& v, auto d) {
      v.create_subnets(
          Json::parse(R"([{"id":"s0","logicalnetwork":"na","cidr":"10.0.0.0/24","gateway":"10.0.0.1"},
        {"id":"s1","logicalnetwork":"nb","cidr":"10.1.0.0/24","gateway":"10.1.0.1"},
        {"id":"s2","logicalnetwork":"nc","cidr":"10.2.0.0/24","gateway":"10.2.0.1"}])"),
          d);
    })));
    ASSERT_TRUE(ok(call([](auto& v, auto d) { v.create_routers(Json::parse(R"([{"id":"r"}])"), d); })));
    ASSERT_TRUE(ok(call([](auto& v, auto d) {
      v.add_router_interfaces(Json::parse(R"([{"router":"r","subnet":"s0"},{"router":"r","subnet":"s1"}])"),
                              d);
    })));
    ASSERT_TRUE(ok(call([](auto& v, auto d) {
      v.create_logical_ports(Json::parse(R"([
        {"id":"pa1","logicalnetwork":"na","subnet":"s0","mac_address":"02:00:00:00:0a:01","ip_address":"10.0.0.5"},
        {"id":"pa2","logicalnetwork":"na","subnet":"s0","mac_address":"02:00:00:00:0a:02","ip_address":"10.0.0.6"},
        {"id":"pb1","logicalnetwork":"nb","subnet":"s1","mac_address":"02:00:00:00:0b:01","ip_address":"10.1.0.5"},
        {"id":"pc1","logicalnetwork":"nc","subnet":"s2","mac_address":"02:00:00:00:0c:01","ip_address":"10.2.0.5"},
        {"id":"pc2","logicalnetwork":"nc","subnet":"s2","mac_address":"02:00:00:00:0c:02","ip_address":"10.2.0.6"}])"),
                             d);
    })));
    // pb1 is on another node.
    put("viperflow.logicalportvxlaninfo.pb1",
        Json{{"id", "pb1"},
             {"endpoints", Json::array({Json{{"systemid", "other"},
                                             {"bridge", "br-int"},
                                             {"tunnel_src", "192.168.0.2"},
                                             {"updated_time", 1}}})}});
  }
  SwitchView view() const {
    SwitchView v{"br-int", {{"vxlan0", "vxlan", "", "192.168.0.1", tunnel_ofport_}}};
    for (const auto& [name, p] : ports_) v.ports.push_back(p);
    std::sort(v.ports.begin(), v.ports.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return v;
  }
  // A binding step: the switch's view changes, the app follows it incrementally.
  void binding_step(const std::string& what) {
    uint64_t recomputes = host_->counters(*app_).recompute;
    host_->update_switch(1, view());
    ASSERT_NO_FATAL_FAILURE(expect_recompute_baseline(what));
    EXPECT_EQ(host_->counters(*app_).recompute, recomputes)
        << what << ": " << app_->name() << " recomputed the whole switch for a binding change";
  }

  std::map<std::string, SwitchPortInfo> ports_;
  int64_t tunnel_ofport_ = 1;
};

TEST_P(OnSwitch, BindingChangesAreIncrementalAndEqualARecompute) {
  ASSERT_NO_FATAL_FAILURE(build_model());
  ports_["tapc1"] = port("tapc1", "pc1", 20);
  start_node();
  host_->update_switch(1, view());
  host_->attach(1, &sw_);
  ASSERT_TRUE(run_until([&] { return model_->loaded(); }));
  expect_recompute_baseline("start: pc1 bound");

  ports_["tapa1"] = port("tapa1", "pa1", -1);
  binding_step("pa1's interface added, no ofport yet");
  ports_["tapa1"].ofport = 10;
  binding_step("pa1 gets its ofport: na is on the switch, and nb through the router");
  ports_["tapa2"] = port("tapa2", "pa2", 11);
  binding_step("pa2 added bound in one change");
  ports_["tapc2"] = port("tapc2", "pc2", 21);
  binding_step("pc2 bound in a network without a router");
  ports_["tapa1"].ofport = 12;
  binding_step("pa1 rebound on another ofport");
  ports_["tapa2"].iface_id = "pc2x";
  binding_step("pa2's interface names a port the model does not have");
  ports_["tapa2"].iface_id = "pb1";
  binding_step("pa2's interface now binds pb1 (moved here from the other node)");
  ports_["tapx"] = port("tapx", "nothere", 30);
  binding_step("an interface whose iface-id the model does not know");
  ports_.erase("tapa1");
  binding_step("pa1 unbound (its interface deleted)");
  ports_.erase("tapa2");
  binding_step("pb1 unbound: na and nb leave the switch");
  ports_.erase("tapc1");
  ports_.erase("tapc2");
  binding_step("the last ports unbound");

  // A tunnel change is not a binding: a recompute of the switch, equal to it as well.
  ports_["tapa1"] = port("tapa1", "pa1", 10);
  binding_step("pa1 bound again");
  tunnel_ofport_ = 5;
  host_->update_switch(1, view());
  expect_recompute_baseline("the tunnel's ofport changed");
  tunnel_ofport_ = -1;
  host_->update_switch(1, view());
  expect_recompute_baseline("the tunnel lost its ofport");
}

INSTANTIATE_TEST_SUITE_P(Registered, OnSwitch, ::testing::ValuesIn([] {
                           std::vector<std::string> out;
                           for (const auto* r : registered_apps()) out.push_back(r->name);
                           return out;
                         }()),
                         [](const auto& info) { return info.param; });

class BindingNetworks : public apps::testing::AppNodeFixture {
 protected:
  void SetUp() override {
    AppNodeFixture::SetUp();
    configure_app("l2", "module.openflowmanager.apps = ['ioprocessing', 'l2switch', 'vxlancast']\n");
  }
  // Network na (VXLAN) with ports pa and pb in the model; the node started; switch 1 (br-int,
  // vxlan0 only) attached and in sync. Returns its view.
  SwitchView two_ports_and_a_switch() {
    auto ok = [](const Result<Json>& r) { return r.ok(); };
    EXPECT_TRUE(ok(call([](auto& v, auto d) {
      v.create_physical_networks(Json::parse(R"([{"id":"vx","type":"vxlan","vnirange":[[100,200]]}])"), d);
    })));
    EXPECT_TRUE(ok(call([](auto& v, auto d) {
      v.create_logical_networks(Json::parse(R"([{"id":"na","physicalnetwork":"vx"}])"), d);
    })));
    EXPECT_TRUE(ok(call([](auto& v, auto d) {
      v.create_logical_ports(
          Json::parse(R"([{"id":"pa","logicalnetwork":"na","mac_address":"02:00:00:00:0a:01"},
      {"id":"pb","logicalnetwork":"na","mac_address":"02:00:00:00:0a:02"}])"),
          d);
    })));
    start_node();
    SwitchView view{"br-int", {port("vxlan0", "", 1, "vxlan")}};
    host_->update_switch(1, view);
    host_->attach(1, &sw_);
    EXPECT_TRUE(run_until([&] { return model_->loaded(); }));
    settle("start");
    return view;
  }
};

TEST_F(BindingNetworks, NamesTheNetworksOfPortsBoundOrUnboundAndNothingMore) {
  auto ok = [](const Result<Json>& r) { return r.ok(); };
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.create_physical_networks(Json::parse(R"([{"id":"vx","type":"vxlan","vnirange":[[100,200]]}])"), d);
  })));
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.create_logical_networks(
        Json::parse(R"([{"id":"na","physicalnetwork":"vx"},{"id":"nb","physicalnetwork":"vx"}])"), d);
  })));
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.create_logical_ports(
        Json::parse(R"([{"id":"pa","logicalnetwork":"na"},{"id":"pb","logicalnetwork":"nb"}])"), d);
  })));
  start_node();
  ASSERT_TRUE(run_until([&] { return model_->loaded(); }));
  std::string sid = "me";
  auto nets = [&](const SwitchView& before, const SwitchView& after) {
    SwitchChange c = changed_ports(before, after);
    return binding_networks(*model_, SwitchContext{1, &after, &sid, &c});
  };
  SwitchView empty{"br-int", {port("vxlan0", "", 1, "vxlan")}};
  SwitchView waiting = empty, bound = empty, moved = empty, unknown = empty;
  waiting.ports.push_back(port("tap", "pa", -1));
  bound.ports.push_back(port("tap", "pa", 7));
  moved.ports.push_back(port("tap", "pb", 7));
  unknown.ports.push_back(port("tap", "zz", 7));
  EXPECT_EQ(nets(empty, waiting), std::set<std::string>{}) << "an interface waiting for its ofport";
  EXPECT_EQ(nets(waiting, bound), std::set<std::string>{"viperflow.logicnetwork.na"});
  EXPECT_EQ(nets(bound, empty), std::set<std::string>{"viperflow.logicnetwork.na"});
  EXPECT_EQ(nets(bound, moved),
            (std::set<std::string>{"viperflow.logicnetwork.na", "viperflow.logicnetwork.nb"}));
  EXPECT_EQ(nets(empty, unknown), std::set<std::string>{}) << "a port the model does not have";
  SwitchView tunnel = bound;
  tunnel.ports[0].ofport = 2;
  EXPECT_FALSE(nets(bound, tunnel)) << "a tunnel's change is the whole switch";
  SwitchView other = bound;
  other.bridge = "br-ex";
  EXPECT_FALSE(nets(bound, other));
  EXPECT_FALSE(binding_networks(*model_, SwitchContext{1, &bound, &sid, nullptr})) << "a first view";
}

// Each port bound on a switch is timed from the OVSDB change that bound it to the barrier that
// confirmed its flows: the last ones in ioprocessing/status, every stage in /metrics.
TEST_F(BindingNetworks, EachBindIsTimedStageByStageToItsBarrier) {
  SwitchView view = two_ports_and_a_switch();
  ASSERT_FALSE(HasFailure());
  EXPECT_TRUE(host_->recent_binds(1).empty());

  view.ports.push_back(port("tapa", "pa", -1));  // OVSDB: the iface-id first, then the ofport
  host_->update_switch(1, view);
  ASSERT_NO_FATAL_FAILURE(settle("pa waits for its ofport"));
  EXPECT_TRUE(host_->recent_binds(1).empty()) << "a port without an ofport is not bound";
  host_->port_status(1, "tapa", 7);  // the switch's PORT_STATUS, before OVSDB's second update
  ASSERT_NO_FATAL_FAILURE(settle("pa bound by the switch's PORT_STATUS"));
  ASSERT_EQ(host_->recent_binds(1).size(), 1u) << "bound without waiting for OVSDB's ofport";
  ASSERT_TRUE(host_->context(1));
  EXPECT_EQ(host_->context(1)->view->ports.back().ofport, 7);
  view.ports.back().ofport = 7;  // OVSDB catches up: nothing changes
  host_->update_switch(1, view);
  ASSERT_NO_FATAL_FAILURE(settle("OVSDB's ofport"));
  EXPECT_EQ(host_->recent_binds(1).size(), 1u);
  view.ports.push_back(port("tapb", "pb", 8));
  host_->update_switch(1, view);
  ASSERT_NO_FATAL_FAILURE(settle("pb bound"));

  auto binds = host_->recent_binds(1);
  ASSERT_EQ(binds.size(), 2u);
  EXPECT_EQ(binds[0].port, "tapa");
  EXPECT_EQ(binds[0].ofport, 7);
  EXPECT_TRUE(binds[0].ofport_wait) << "OVSDB showed its iface-id before its ofport";
  EXPECT_TRUE(binds[0].port_status_lead);
  EXPECT_GT(binds[0].messages, 0u) << "its flows went in the batch that confirmed it";
  EXPECT_EQ(binds[1].port, "tapb");
  EXPECT_FALSE(binds[1].ofport_wait);
  std::vector<std::string> stages;
  for (const auto& [stage, s] : binds[1].stages) {
    stages.push_back(stage);
    EXPECT_GE(s, 0) << stage;
  }
  EXPECT_EQ(stages, (std::vector<std::string>{"ovsdb", "ring", "dispatch", "queue", "compute", "wait", "diff",
                                              "barrier", "total"}));
  Json st = host_->status();
  ASSERT_EQ(st["switches"].size(), 1u);
  EXPECT_EQ(st["switches"][0]["last_bind"]["port"], "tapb");
  EXPECT_TRUE(st["switches"][0]["last_bind"]["stages_ms"].contains("barrier"));
  EXPECT_EQ(st["switches"][0]["recent_binds"].size(), 2u);
  double total_count = -1;
  for (const auto& m : host_->metrics())
    if (m.name == "vlcp_bringup_stage_seconds_count" && m.labels == decltype(m.labels){{"stage", "total"}})
      total_count = m.value;
  EXPECT_EQ(total_count, 2);
  // A rebind to another ofport is a bind too; a change of anything else is not.
  view.ports.back().ofport = 9;
  host_->update_switch(1, view);
  ASSERT_NO_FATAL_FAILURE(settle("pb rebound"));
  view.ports.back().mac = "02:00:00:00:00:99";
  host_->update_switch(1, view);
  ASSERT_NO_FATAL_FAILURE(settle("pb's MAC in use"));
  EXPECT_EQ(host_->recent_binds(1).size(), 3u);
}

// when_bound: a container's endpoint is answered once its port's flows are confirmed by the
// switch (its first ARP must meet them) — not when the port is seen, nor while the model does not
// have its logical port yet, and at once when it was confirmed already or when no switch of its
// bridge is attached; a cancelled wait is never answered.
TEST_F(BindingNetworks, WhenBoundAnswersOnceThePortsFlowsAreConfirmed) {
  SwitchView view = two_ports_and_a_switch();
  ASSERT_FALSE(HasFailure());
  std::vector<std::string> answered;
  auto wait = [&](const std::string& name, const std::string& bridge = "br-int") {
    return host_->when_bound(bridge, name,
                             [&answered, name](bool ok) { answered.push_back(name + (ok ? "" : "!")); });
  };
  wait("tapa");  // before OVSDB shows the port at all
  uint64_t cancelled = wait("tapb");
  host_->cancel_bound_wait(cancelled);
  view.ports.push_back(port("tapa", "pa", 7));
  view.ports.push_back(port("tapb", "pb", 8));
  host_->update_switch(1, view);
  wait("tapa");  // seen bound, its flows not yet confirmed
  EXPECT_TRUE(answered.empty()) << "answered before the switch confirmed the port's flows";
  EXPECT_EQ(host_->bound_waits(), 2u);
  ASSERT_NO_FATAL_FAILURE(settle("pa and pb bound"));
  EXPECT_EQ(answered, (std::vector<std::string>{"tapa", "tapa"}));
  EXPECT_EQ(host_->bound_waits(), 0u) << "the cancelled wait is gone, not answered";
  wait("tapb");  // confirmed already: at once
  EXPECT_EQ(answered.back(), "tapb");
  wait("tapx", "br-other");  // no switch of that bridge here: nothing can confirm it, at once
  EXPECT_EQ(answered.back(), "tapx!");

  // OVSDB shows a port whose logical port the model does not have yet (its push is slower):
  // no round covers it until the model has it.
  view.ports.push_back(port("tapz", "pz", 9));
  host_->update_switch(1, view);
  wait("tapz");
  ASSERT_NO_FATAL_FAILURE(settle("pz seen, not in the model"));
  EXPECT_NE(answered.back(), "tapz") << "answered with no flow for a port the model does not know";
  EXPECT_EQ(host_->bound_waits(), 1u);
  ASSERT_TRUE(call([](auto& v, auto d) {
                v.create_logical_ports(
                    Json::parse(R"([{"id":"pz","logicalnetwork":"na","mac_address":"02:00:00:00:0a:09"}])"),
                    d);
              }).ok());
  ASSERT_NO_FATAL_FAILURE(settle("pz in the model"));
  EXPECT_TRUE(run_until([&] { return !answered.empty() && answered.back() == "tapz"; }));
  EXPECT_EQ(host_->bound_waits(), 0u);
}

}  // namespace
}  // namespace vlcp::apps
