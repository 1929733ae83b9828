// The interest model (docs/SCALE_DESIGN.md §2): a node's model view follows the networks of its
// bound ports and their router neighbours only, publishes a network's ports once all of it has
// been read, widens and narrows with the bound ports; ModelSync::kAll keeps the whole model.
#include <gtest/gtest.h>

#include "app_node_fixture.h"
#include "apps/model_view.h"
#include "model_fixture.h"
#include "ofp/print.h"

namespace vlcp::apps {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using schema::Kind;

const std::string kNetA = "viperflow.logicnetwork.a", kNetB = "viperflow.logicnetwork.b",
                  kNetC = "viperflow.logicnetwork.c", kNetD = "viperflow.logicnetwork.d";

std::set<std::string> keys_of(const auto& map) {
  std::set<std::string> out;
  for (const auto& [k, v] : map) out.insert(k);
  return out;
}

// Four VXLAN networks, a router joining a and b (neighbours), c and d on their own; every port
// has a location (another node's endpoint).
class InterestTest : public apps::testing::ModelFixture {
 protected:
  void SetUp() override {
    ModelFixture::SetUp();
    change([](auto& v, auto d) {
      v.create_physical_networks(Json::parse(R"([{"id":"vx","type":"vxlan","vnirange":[[100,200]]}])"), d);
    });
    change([](auto& v, auto d) {
      v.create_logical_networks(Json::parse(R"([{"id":"a","physicalnetwork":"vx"},
        {"id":"b","physicalnetwork":"vx"},{"id":"c","physicalnetwork":"vx"},
        {"id":"d","physicalnetwork":"vx"}])"),
                                d);
    });
    change([](auto& v, auto d) {
      v.create_subnets(Json::parse(R"([
        {"id":"sa","logicalnetwork":"a","cidr":"10.1.0.0/24","gateway":"10.1.0.1"},
        {"id":"sb","logicalnetwork":"b","cidr":"10.2.0.0/24","gateway":"10.2.0.1"},
        {"id":"sc","logicalnetwork":"c","cidr":"10.3.0.0/24","gateway":"10.3.0.1"},
        {"id":"sd","logicalnetwork":"d","cidr":"10.4.0.0/24","gateway":"10.4.0.1"}])"),
                       d);
    });
    change([](auto& v, auto d) { v.create_routers(Json::parse(R"([{"id":"r"}])"), d); });
    change([](auto& v, auto d) {
      v.add_router_interfaces(Json::parse(R"([{"router":"r","subnet":"sa"},{"router":"r","subnet":"sb"}])"),
                              d);
    });
    for (auto [id, net] :
         {std::pair{"a1", "a"}, {"a2", "a"}, {"b1", "b"}, {"c1", "c"}, {"c2", "c"}, {"d1", "d"}})
      add_port(id, net);
  }
  void release() override { view_.reset(); }
  void change(std::function<void(model::ViperFlow&, model::Done)> fn) {
    auto r = call(std::move(fn));
    ASSERT_TRUE(r.ok()) << r.error().message();
  }
  void add_port(const std::string& id, const std::string& net) {
    change([&](auto& v, auto d) {
      v.create_logical_ports(Json::array({Json{{"id", id}, {"logicalnetwork", net}, {"subnet", "s" + net}}}),
                             d);
    });
    put("viperflow.logicalportvxlaninfo." + id,
        Json{{"id", id},
             {"endpoints",
              Json::array({Json{{"systemid", "other"}, {"bridge", "br0"}, {"tunnel_src", "10.9.0.2"}}})}});
  }
  void make_view(ModelSync sync, std::set<std::string> bound) {
    view_ = std::make_unique<ModelView>(
        *db_, after(),
        std::set<Kind>{Kind::kPhysicalNetwork, Kind::kLogicalNetwork, Kind::kPhysicalPort, Kind::kLogicalPort,
                       Kind::kLocation, Kind::kSubnet, Kind::kRouter, Kind::kRouterInterface},
        sync);
    view_->set_linger(0ms);
    view_->subscribe([this](const ModelChange& c) { seen_.push_back(c); });
    view_->want_ports("test", std::move(bound));
    view_->start();
  }
  bool ready(const std::set<std::string>& ids) {
    return run_until([&] { return view_->loaded() && view_->ready_for(ids); });
  }
  std::set<std::string> ports() const { return keys_of(view_->logical_ports()); }
  std::set<std::string> locations() const { return keys_of(view_->locations()); }
  std::set<std::string> networks() const { return keys_of(view_->logical_networks()); }

  std::unique_ptr<ModelView> view_;
  std::vector<ModelChange> seen_;
};

TEST_F(InterestTest, OnlyTheBoundPortsNetworksAndTheirRouterNeighboursAreHeld) {
  make_view(ModelSync::kInterest, {"a1"});
  ASSERT_TRUE(ready({"a1"}));
  EXPECT_EQ(ports(), (std::set<std::string>{"a1", "a2", "b1"}));
  EXPECT_EQ(locations(), (std::set<std::string>{"a1", "a2", "b1"}));
  EXPECT_EQ(networks(), (std::set<std::string>{kNetA, kNetB}));
  EXPECT_EQ(keys_of(view_->subnets()), (std::set<std::string>{"viperflow.subnet.sa", "viperflow.subnet.sb"}));
  EXPECT_EQ(view_->routers().size(), 1u);
  EXPECT_EQ(view_->router_interfaces().size(), 2u);
  EXPECT_EQ(view_->ports_of(kNetA), (std::set<std::string>{"a1", "a2"}));
  EXPECT_TRUE(view_->ports_of(kNetC).empty());
  EXPECT_EQ(view_->physical_networks().size(), 1u) << "physical networks are watched whole";
  EXPECT_TRUE(view_->logical_networks().at(kNetA).netid.has_value()) << "the network's map is read";
  // Nothing of c or d is mirrored on this node.
  EXPECT_EQ(db_->mirrored("viperflow.logicalport.c1"), nullptr);
  EXPECT_EQ(db_->mirrored("viperflow.logicalportvxlaninfo.d1"), nullptr);
  EXPECT_EQ(db_->mirrored(kNetC), nullptr);
  InterestStats st = view_->interest_stats();
  EXPECT_EQ(st.ports_bound, 1u);
  EXPECT_EQ(st.networks_wanted, 2u);
  EXPECT_EQ(st.networks_published, 2u);
  EXPECT_EQ(st.ports_published, 3u);
  // A change of a followed port is seen; one in d is not.
  change([](auto& v, auto d) {
    v.update_logical_ports(Json::parse(R"([{"id":"a2","mac_address":"02:00:00:00:00:a2"}])"), d);
  });
  ASSERT_TRUE(run_until([&] { return view_->logical_ports().at("a2").mac.has_value(); }));
  add_port("d2", "d");
  add_port("a3", "a");
  ASSERT_TRUE(
      run_until([&] { return view_->logical_ports().count("a3") && view_->locations().count("a3"); }));
  EXPECT_FALSE(view_->logical_ports().count("d2"));
}

// No window: a bound port becomes visible only with every member of its network and of its
// neighbour, and their locations, all at once; the apps hear of it only then.
TEST_F(InterestTest, APortIsPublishedOnlyWithAllOfItsNetworkAndNeighbours) {
  // The neighbour is the bigger network: it takes longer to read than a.
  Json more = Json::array();
  for (int i = 0; i < 300; ++i)
    more.push_back(Json{{"id", "bx" + std::to_string(i)}, {"logicalnetwork", "b"}});
  change([&](auto& v, auto d) { v.create_logical_ports(more, d); });
  make_view(ModelSync::kInterest, {"a1"});
  bool partial = false;
  auto check = [&] {
    if (view_->logical_ports().count("a1"))
      partial |= view_->ports_of(kNetA) != std::set<std::string>{"a1", "a2"} ||
                 view_->ports_of(kNetB).size() != 301 ||
                 locations() != std::set<std::string>{"a1", "a2", "b1"};
  };
  view_->on_ready.push_back(check);  // (every publication, before the load too)
  view_->subscribe([&](const ModelChange&) { check(); });
  ASSERT_TRUE(run_until([&] { return view_->loaded() && view_->ready_for({"a1"}); }));
  EXPECT_FALSE(partial);
  // Widening after the load: the first change that shows c1 finds all of c there.
  std::optional<std::set<std::string>> members_then, locations_then;
  view_->subscribe([&](const ModelChange&) {
    if (members_then || !view_->logical_ports().count("c1")) return;
    members_then = view_->ports_of(kNetC);
    locations_then = locations();
  });
  seen_.clear();
  view_->want_ports("test", {"a1", "c1"});
  ASSERT_TRUE(ready({"a1", "c1"}));
  ASSERT_TRUE(members_then.has_value()) << "publishing the network reported its ports";
  EXPECT_EQ(*members_then, (std::set<std::string>{"c1", "c2"}));
  EXPECT_TRUE(locations_then->count("c1") && locations_then->count("c2"));
  bool c1_reported = false, net_reported = false;
  for (const auto& c : seen_) {
    c1_reported |= c.kind == Kind::kLogicalPort && c.key == "c1" && c.parents.count(kNetC);
    net_reported |= c.kind == Kind::kLogicalNetwork && !c.map && c.key == kNetC;
  }
  EXPECT_TRUE(c1_reported);
  EXPECT_TRUE(net_reported);
}

TEST_F(InterestTest, ABoundPortCreatedLaterAppearsWithItsNetwork) {
  make_view(ModelSync::kInterest, {"late"});
  ASSERT_TRUE(ready({"late"})) << "a bound port known absent is ready";
  EXPECT_TRUE(view_->logical_ports().empty());
  EXPECT_TRUE(view_->logical_networks().empty());
  EXPECT_FALSE(view_->ready_for({"late", "other"})) << "an id nobody wants is not known";
  seen_.clear();
  add_port("late", "c");
  ASSERT_TRUE(run_until([&] { return view_->logical_ports().count("late") > 0; }));
  EXPECT_EQ(view_->ports_of(kNetC), (std::set<std::string>{"c1", "c2", "late"}));
  EXPECT_TRUE(view_->locations().count("c1"));
  EXPECT_TRUE(view_->ready_for({"late"}));
  bool reported = false;
  for (const auto& c : seen_) reported |= c.kind == Kind::kLogicalPort && c.key == "late";
  EXPECT_TRUE(reported);
}

TEST_F(InterestTest, ASecondPortWidensAndLosingItNarrowsAfterTheLinger) {
  make_view(ModelSync::kInterest, {"a1"});
  ASSERT_TRUE(ready({"a1"}));
  size_t narrow = db_->mirror_size(), keys = view_->interest_stats().keys_watched;
  view_->want_ports("test", {"a1", "c1"});
  EXPECT_FALSE(view_->ready_for({"a1", "c1"})) << "c1 is not read yet";
  ASSERT_TRUE(ready({"a1", "c1"}));
  EXPECT_EQ(ports(), (std::set<std::string>{"a1", "a2", "b1", "c1", "c2"}));
  EXPECT_TRUE(view_->subnets().count("viperflow.subnet.sc"));
  size_t wide = db_->mirror_size();
  EXPECT_GT(wide, narrow);
  EXPECT_GT(view_->interest_stats().keys_watched, keys);

  view_->set_linger(300ms);
  seen_.clear();
  view_->want_ports("test", {"a1"});
  ASSERT_TRUE(run_until([&] { return view_->interest_stats().networks_lingering == 1; }));
  EXPECT_TRUE(view_->logical_ports().count("c1")) << "kept while it lingers";
  ASSERT_TRUE(run_until([&] { return !view_->logical_ports().count("c1"); }));
  EXPECT_EQ(ports(), (std::set<std::string>{"a1", "a2", "b1"}));
  EXPECT_EQ(networks(), (std::set<std::string>{kNetA, kNetB}));
  EXPECT_FALSE(view_->subnets().count("viperflow.subnet.sc"));
  EXPECT_FALSE(view_->locations().count("c1"));
  EXPECT_EQ(db_->mirror_size(), narrow) << "c's keys are no longer watched";
  EXPECT_EQ(db_->mirrored("viperflow.logicalport.c2"), nullptr);
  EXPECT_EQ(view_->interest_stats().keys_watched, keys);
  std::set<std::string> dropped;
  for (const auto& c : seen_)
    if (c.kind == Kind::kLogicalPort && c.parents.count(kNetC)) dropped.insert(c.key);
  EXPECT_EQ(dropped, (std::set<std::string>{"c1", "c2"})) << "the apps hear what went";

  // Wanted again within the linger: kept, not reloaded.
  view_->want_ports("test", {"a1", "c1"});
  ASSERT_TRUE(ready({"a1", "c1"}));
  view_->want_ports("test", {"a1"});
  view_->want_ports("test", {"a1", "c1"});
  for (int i = 0; i < 50; ++i) loop_.run_pending();
  std::this_thread::sleep_for(400ms);
  for (int i = 0; i < 50; ++i) loop_.run_pending();
  EXPECT_TRUE(view_->logical_ports().count("c1"));
  EXPECT_EQ(view_->interest_stats().networks_lingering, 0u);
}

TEST_F(InterestTest, ANeighbourJoiningTheRouterIsFollowed) {
  make_view(ModelSync::kInterest, {"a1"});
  ASSERT_TRUE(ready({"a1"}));
  EXPECT_FALSE(view_->logical_ports().count("d1"));
  change(
      [](auto& v, auto d) { v.add_router_interfaces(Json::parse(R"([{"router":"r","subnet":"sd"}])"), d); });
  ASSERT_TRUE(run_until([&] { return view_->logical_ports().count("d1") > 0; }));
  EXPECT_TRUE(view_->locations().count("d1"));
  EXPECT_EQ(view_->with_router_neighbours({kNetA}), (std::set<std::string>{kNetA, kNetB, kNetD}));
  EXPECT_FALSE(view_->logical_ports().count("c1"));
  // And leaving it narrows again.
  change([](auto& v, auto d) {
    v.remove_router_interfaces(Json::parse(R"([{"router":"r","subnet":"sd"}])"), d);
  });
  ASSERT_TRUE(run_until([&] { return !view_->logical_ports().count("d1"); }));
  EXPECT_FALSE(view_->logical_networks().count(kNetD));
}

TEST_F(InterestTest, APortMovingOutOfAWantedNetworkIsHidden) {
  make_view(ModelSync::kInterest, {"a1"});
  ASSERT_TRUE(ready({"a1"}));
  change([](auto& v, auto d) { v.delete_logical_ports(Json::parse(R"([{"id":"a2"}])"), d); });
  ASSERT_TRUE(run_until([&] { return !view_->logical_ports().count("a2"); }));
  EXPECT_FALSE(view_->locations().count("a2"));
  EXPECT_EQ(view_->ports_of(kNetA), std::set<std::string>{"a1"});
}

TEST_F(InterestTest, AllKeepsTheWholeModel) {
  make_view(ModelSync::kAll, {"a1"});
  ASSERT_TRUE(ready({"a1"}));
  EXPECT_TRUE(view_->ready_for({"anything"})) << "kAll: ready once loaded";
  EXPECT_EQ(ports(), (std::set<std::string>{"a1", "a2", "b1", "c1", "c2", "d1"}));
  EXPECT_EQ(networks(), (std::set<std::string>{kNetA, kNetB, kNetC, kNetD}));
  EXPECT_EQ(view_->subnets().size(), 4u);
  InterestStats st = view_->interest_stats();
  EXPECT_EQ(st.ports_bound, 0u);
  EXPECT_EQ(st.networks_wanted, 0u);
  EXPECT_EQ(st.keys_watched, 0u);
}

// The platform on an interest model: the host tells the view which ports its switches bind, and
// reconciles a switch only once their networks are read whole — a restart, whose first
// reconcile would otherwise meet a model without the bound port's network, sends nothing.
class HostInterestTest : public apps::testing::AppNodeFixture {
 protected:
  void start_interest_node() {
    release();
    model_ = std::make_unique<ModelView>(*db_, after(), std::set<Kind>{}, ModelSync::kInterest);
    model_->set_linger(0ms);
    app_ = spec_->make(AppEnv{*model_, *db_, pipeline_.tables, after()});
    host_ = std::make_unique<AppHost>(*model_, std::vector<FlowApp*>{app_.get()}, clock_, after());
    host_->set_system_id("me");
    host_->start();
    model_->start();
  }
  // The switch's flows' matches, printed.
  std::vector<std::string> matches() const {
    std::vector<std::string> out;
    for (const auto& [k, b] : sw_.flows) {
      std::string text;
      ofp::format_match(text, ByteSpan(reinterpret_cast<const uint8_t*>(k.match.data()), k.match.size()));
      out.push_back(text);
    }
    return out;
  }
};

TEST_F(HostInterestTest, ASwitchIsReconciledOnceItsPortsNetworksAreReadAndARestartSendsNothing) {
  configure_app("l2", "module.openflowmanager.apps = ['ioprocessing', 'l2switch', 'vxlancast']\n");
  auto ok = [&](std::function<void(model::ViperFlow&, model::Done)> fn) {
    auto r = call(std::move(fn));
    ASSERT_TRUE(r.ok()) << r.error().message();
  };
  ok([](auto& v, auto d) {
    v.create_physical_networks(Json::parse(R"([{"id":"vx","type":"vxlan","vnirange":[[100,200]]}])"), d);
  });
  ok([](auto& v, auto d) {
    v.create_physical_ports(Json::parse(R"([{"name":"vxlan0","physicalnetwork":"vx"}])"), d);
  });
  ok([](auto& v, auto d) {
    v.create_logical_networks(
        Json::parse(R"([{"id":"a","physicalnetwork":"vx"},{"id":"c","physicalnetwork":"vx"}])"), d);
  });
  ok([](auto& v, auto d) {
    v.create_logical_ports(Json::parse(R"([{"id":"a1","logicalnetwork":"a","mac_address":"02:00:00:00:00:a1"},
      {"id":"a2","logicalnetwork":"a","mac_address":"02:00:00:00:00:a2"},
      {"id":"c1","logicalnetwork":"c","mac_address":"02:00:00:00:00:c1"}])"),
                           d);
  });
  for (const char* id : {"a2", "c1"})
    put(std::string("viperflow.logicalportvxlaninfo.") + id,
        Json{{"id", id},
             {"endpoints",
              Json::array({Json{{"systemid", "other"}, {"bridge", "br0"}, {"tunnel_src", "10.9.0.2"}}})}});
  SwitchView view{"br-int", {{"tapa1", "", "a1", "", 5}, {"vxlan0", "vxlan", "", "192.168.0.1", 1}}};
  start_interest_node();
  host_->update_switch(1, view);
  host_->attach(1, &sw_);
  ASSERT_NO_FATAL_FAILURE(settle("start"));
  ASSERT_TRUE(run_until([&] { return sw_.flows.size() > 0 && model_->locations().count("a1"); }));
  ASSERT_NO_FATAL_FAILURE(settle("location"));
  nlohmann::json st = host_->status();
  EXPECT_EQ(st["model_sync"], "interest");
  EXPECT_EQ(st["model_interest"]["ports_bound"], 1);
  EXPECT_EQ(st["model_interest"]["ports_published"], 2) << st.dump();
  EXPECT_FALSE(model_->logical_ports().count("c1"));
  EXPECT_GT(apps::testing::count_holding(matches(), {"02:00:00:00:00:a2"}), 0u) << "a2 (remote) is pushed";
  EXPECT_EQ(apps::testing::count_holding(matches(), {"02:00:00:00:00:c1"}), 0u);
  auto flows = sw_.flows;
  size_t mods = sw_.flow_mods;

  start_interest_node();  // a restart: OVSDB's view comes once the model's global kinds are loaded
  ASSERT_TRUE(run_until([&] { return model_->loaded(); }));
  host_->update_switch(1, view);
  host_->attach(1, &sw_);
  ASSERT_TRUE(run_until([&] { return host_->flow_owner(1)->stats().reconciles > 0; }));
  EXPECT_TRUE(model_->logical_ports().count("a1") && model_->logical_ports().count("a2"))
      << "reconciled before the bound port's network was read";
  ASSERT_NO_FATAL_FAILURE(settle("restart"));
  EXPECT_EQ(sw_.flow_mods, mods) << "the restart changed flows";
  EXPECT_TRUE(sw_.flows == flows);

  // The port unbound: its network goes (linger 0) and so do its flows.
  host_->update_switch(1, SwitchView{"br-int", {{"vxlan0", "vxlan", "", "192.168.0.1", 1}}});
  ASSERT_TRUE(run_until([&] { return model_->logical_ports().empty(); }));
  ASSERT_NO_FATAL_FAILURE(settle("unbound"));
  EXPECT_EQ(apps::testing::count_holding(matches(), {"02:00:00:00:00:a2"}), 0u);
  EXPECT_EQ(host_->status()["model_interest"]["networks_wanted"], 0);
}

}  // namespace
}  // namespace vlcp::apps
