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

}  // namespace
}  // namespace vlcp::apps
