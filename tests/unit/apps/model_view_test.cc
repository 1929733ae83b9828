// The node's model view: one set of watches, typed objects, changes reported by kind to every
// subscriber (every app on the node sees the same model in the same order).
#include "apps/model_view.h"

#include <gtest/gtest.h>

#include "model_fixture.h"

namespace vlcp::apps {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using schema::Kind;

class ModelViewTest : public apps::testing::ModelFixture {
 protected:
  void release() override { view_.reset(); }
  void change(std::function<void(model::ViperFlow&, model::Done)> fn) {
    auto r = call(std::move(fn));
    ASSERT_TRUE(r.ok()) << r.error().message();
  }
  std::unique_ptr<ModelView> view_;
};

TEST_F(ModelViewTest, TypedObjectsAndOneOrderOfChangesForEverySubscriber) {
  change([](auto& v, auto d) {
    v.create_physical_networks(Json::parse(R"([{"id":"vx","type":"vxlan","vnirange":[[100,200]]}])"), d);
  });
  view_ = std::make_unique<ModelView>(
      *db_, after(),
      std::set<Kind>{Kind::kPhysicalNetwork, Kind::kLogicalNetwork, Kind::kLogicalPort, Kind::kLocation});
  std::vector<std::string> a, b;  // what two apps saw
  auto seen = [](std::vector<std::string>& out) {
    return [&out](const ModelChange& c) {
      out.push_back(std::string(schema::kind(c.kind).display) + (c.map ? " map " : " ") + c.key);
    };
  };
  view_->subscribe(seen(a));
  view_->subscribe(seen(b));
  bool loaded = false;
  view_->on_loaded.push_back([&] { loaded = true; });
  view_->start();
  ASSERT_TRUE(run_until([&] { return loaded; }));
  EXPECT_TRUE(a.empty()) << "the load is reported once, through on_loaded";
  ASSERT_EQ(view_->physical_networks().size(), 1u);
  EXPECT_EQ(view_->physical_networks().begin()->second.type, "vxlan");

  change([](auto& v, auto d) {
    v.create_logical_networks(Json::parse(R"([{"id":"n","physicalnetwork":"vx","vni":150}])"), d);
  });
  change([](auto& v, auto d) {
    v.create_logical_ports(
        Json::parse(R"([{"id":"p","logicalnetwork":"n","mac_address":"02:00:00:00:00:01"}])"), d);
  });
  const std::string net = "viperflow.logicnetwork.n";
  ASSERT_TRUE(
      run_until([&] { return view_->logical_ports().count("p") && view_->logical_networks().count(net); }));
  const LogicalNetworkObj& n = view_->logical_networks().at(net);
  EXPECT_EQ(n.physnet, "viperflow.physicalnetwork.vx");
  EXPECT_EQ(n.segment, 150u);
  ASSERT_TRUE(run_until([&] { return view_->logical_networks().at(net).netid.has_value(); }));
  const LogicalPortObj& p = view_->logical_ports().at("p");
  EXPECT_EQ(p.network, net);
  ASSERT_TRUE(p.mac.has_value());
  EXPECT_EQ((*p.mac)[5], 1);
  EXPECT_EQ(view_->ports_of(net), std::set<std::string>{"p"});

  change([](auto& v, auto d) { v.delete_logical_ports(Json::parse(R"([{"id":"p"}])"), d); });
  ASSERT_TRUE(run_until([&] { return view_->logical_ports().empty(); }));
  EXPECT_TRUE(view_->ports_of(net).empty());
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b) << "two subscribers saw different changes or orders";
  // Every change named its kind; the port's last change named its network (a parent).
  bool port_change = false;
  for (const auto& s : a) port_change |= s.find("logical port p") != std::string::npos;
  EXPECT_TRUE(port_change);
}

// Subnets, routers and their interfaces are typed too, each change naming the logical networks it
// touches (what the L3 apps partition by), and ports carry their subnet and address.
TEST_F(ModelViewTest, SubnetsRoutersAndInterfacesAreTypedWithTheirNetworks) {
  change([](auto& v, auto d) {
    v.create_physical_networks(Json::parse(R"([{"id":"vx","type":"vxlan","vnirange":[[100,200]]}])"), d);
  });
  change([](auto& v, auto d) {
    v.create_logical_networks(
        Json::parse(R"([{"id":"a","physicalnetwork":"vx"},{"id":"b","physicalnetwork":"vx"}])"), d);
  });
  change([](auto& v, auto d) {
    v.create_subnets(
        Json::parse(R"([{"id":"sa","logicalnetwork":"a","cidr":"10.1.0.0/24","gateway":"10.1.0.1"},
      {"id":"sb","logicalnetwork":"b","cidr":"10.2.0.0/24","gateway":"10.2.0.1"},
      {"id":"sx","logicalnetwork":"b","cidr":"10.3.0.0/24","gateway":"10.3.0.1","isexternal":true}])"),
        d);
  });
  view_ = std::make_unique<ModelView>(*db_, after());
  view_->watch(
      {Kind::kLogicalNetwork, Kind::kSubnet, Kind::kLogicalPort, Kind::kRouter, Kind::kRouterInterface});
  std::vector<ModelChange> seen;
  view_->subscribe([&](const ModelChange& c) { seen.push_back(c); });
  view_->start();
  ASSERT_TRUE(run_until([&] { return view_->loaded(); }));
  const std::string sa = "viperflow.subnet.sa", sb = "viperflow.subnet.sb", a = "viperflow.logicnetwork.a",
                    b = "viperflow.logicnetwork.b";
  ASSERT_EQ(view_->subnets().size(), 3u);
  const SubnetObj& s = view_->subnets().at(sa);
  EXPECT_EQ(s.network, a);
  ASSERT_TRUE(s.cidr && s.gateway);
  EXPECT_EQ(s.cidr->text(), "10.1.0.0/24");
  EXPECT_EQ(*s.gateway, *model::detail::parse_ip("10.1.0.1"));
  EXPECT_FALSE(s.external);
  EXPECT_FALSE(view_->subnets().at(sb).external);
  EXPECT_TRUE(view_->subnets().at("viperflow.subnet.sx").external);
  EXPECT_EQ(view_->subnets_of(a), std::set<std::string>{sa});

  change([](auto& v, auto d) {
    v.create_logical_ports(
        Json::parse(R"([{"id":"p","logicalnetwork":"a","subnet":"sa","ip_address":"10.1.0.5"}])"), d);
  });
  change([](auto& v, auto d) {
    v.create_routers(Json::parse(R"([{"id":"r","routes":[["192.168.0.0/16","10.1.0.9"]]}])"), d);
  });
  change([](auto& v, auto d) {
    v.add_router_interfaces(
        Json::parse(R"([{"router":"r","subnet":"sa"},{"router":"r","subnet":"sb","ip_address":"10.2.0.7"}])"),
        d);
  });
  ASSERT_TRUE(
      run_until([&] { return view_->router_interfaces().size() == 2 && view_->logical_ports().count("p"); }));
  const LogicalPortObj& p = view_->logical_ports().at("p");
  EXPECT_EQ(p.subnet, sa);
  EXPECT_EQ(p.ip, model::detail::parse_ip("10.1.0.5"));
  ASSERT_TRUE(run_until([&] { return view_->routers().at("viperflow.vrouter.r").interfaces.size() == 2; }));
  const RouterObj& r = view_->routers().at("viperflow.vrouter.r");
  ASSERT_EQ(r.routes.size(), 1u);
  EXPECT_EQ(r.routes[0].first.text(), "192.168.0.0/16");
  EXPECT_EQ(r.routes[0].second, *model::detail::parse_ip("10.1.0.9"));
  for (const auto& [key, i] : view_->router_interfaces()) {
    EXPECT_EQ(i.router, "viperflow.vrouter.r");
    if (i.subnet == sb) {
      EXPECT_EQ(i.ip, model::detail::parse_ip("10.2.0.7"));
    } else {
      EXPECT_FALSE(i.ip) << "no ip_address: the subnet's gateway";
    }
  }
  ASSERT_TRUE(run_until([&] { return !view_->subnets().at(sa).router.empty(); }));
  // Each interface's change named its subnet's network (a router's names the networks of the
  // interfaces known when it arrives: one transaction's keys come in any order).
  std::set<std::string> interface_parents;
  for (const auto& c : seen)
    if (c.kind == Kind::kRouterInterface) interface_parents.insert(c.parents.begin(), c.parents.end());
  EXPECT_EQ(interface_parents, (std::set<std::string>{a, b}));
  change([](auto& v, auto d) { v.update_routers(Json::parse(R"([{"id":"r","routes":[]}])"), d); });
  ASSERT_TRUE(run_until([&] { return view_->routers().at("viperflow.vrouter.r").routes.empty(); }));
  EXPECT_EQ(seen.back().kind, Kind::kRouter);
  EXPECT_EQ(seen.back().parents, (std::set<std::string>{a, b}));

  change([](auto& v, auto d) {
    v.remove_router_interfaces(Json::parse(R"([{"router":"r","subnet":"sa"}])"), d);
  });
  ASSERT_TRUE(run_until([&] { return view_->router_interfaces().size() == 1; }));
  ASSERT_TRUE(run_until([&] { return view_->subnets().at(sa).router.empty(); }));
}

// A stored record of the wrong shape (written by hand, restored from a dump) is read as far as it
// goes, never thrown on: the view still loads, and keeps following changes.
TEST_F(ModelViewTest, MalformedSubnetsAndRoutersAreReadNotThrownOn) {
  put("viperflow.subnet.bad1",
      Json{{"id", "bad1"}, {"network", 7}, {"cidr", "nope"}, {"isexternal", "true"}});
  put("viperflow.subnet.bad2", Json{{"id", "bad2"}, {"isexternal", nullptr}, {"gateway", 5}});
  put("viperflow.subnet.bad3", Json::array({1, 2}));
  put("viperflow.vrouter.r",
      Json{{"id", "r"}, {"interfaces", "x"}, {"routes", Json::array({1, Json::array({2, 3})})}});
  put("viperflow.routerport.i",
      Json{{"id", "i"}, {"router", 1}, {"subnet", Json::object()}, {"ip_address", 3}});
  view_ = std::make_unique<ModelView>(*db_, after());
  view_->watch({Kind::kSubnet, Kind::kRouter, Kind::kRouterInterface});
  view_->start();
  ASSERT_TRUE(run_until([&] { return view_->loaded(); }));
  ASSERT_EQ(view_->subnets().size(), 3u);
  EXPECT_FALSE(view_->subnets().at("viperflow.subnet.bad1").external) << "only the boolean true is external";
  EXPECT_FALSE(view_->subnets().at("viperflow.subnet.bad1").cidr);
  EXPECT_FALSE(view_->subnets().at("viperflow.subnet.bad2").external);
  EXPECT_TRUE(view_->routers().at("viperflow.vrouter.r").routes.empty());
  EXPECT_TRUE(view_->router_interfaces().at("viperflow.routerport.i").router.empty());
  put("viperflow.subnet.bad1", Json{{"id", "bad1"}, {"isexternal", true}});  // and on after the load
  ASSERT_TRUE(run_until([&] { return view_->subnets().at("viperflow.subnet.bad1").external; }));
}

}  // namespace
}  // namespace vlcp::apps
