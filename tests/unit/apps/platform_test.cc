// The app platform's invariant, generic over every registered app (apps/registry.h): each app,
// configured as a node would run it in the full pipeline (every VLCP module) and made through its
// registration, is driven alone on the platform through a long random history of model and
// switch changes over every kind of the model — networks, subnets, ports with addresses, routers
// and their interfaces and routes, physical ports (the tunnel deleted and re-created), other
// nodes' locations, ports bound and unbound on the switch. After every step the flows the
// platform keeps for it incrementally equal its full recompute, the switch holds exactly them and
// they are all attributed to it; a restart then reconciles without a FLOW_MOD. A new app is
// covered by registering it: nothing here names an app.
#include "apps/explain.h"
#include "apps/host.h"
#include "apps/registry.h"

#include <gtest/gtest.h>

#include <random>
#include <regex>

#include "app_node_fixture.h"
#include "ofp/print.h"
#include "pipeline/registers.h"

namespace vlcp::apps {
namespace {

using Json = nlohmann::json;
using flows::Desired;

std::vector<std::string> registered_names() {
  std::vector<std::string> out;
  for (const auto* r : registered_apps()) out.push_back(r->name);
  return out;
}

TEST(AppRegistry, EveryAppIsRegisteredOnceWithItsKeysAndModules) {
  ASSERT_FALSE(registered_apps().empty()) << "no app linked in (the build's app glob found none)";
  std::set<std::string> keys;
  for (const auto* r : registered_apps()) {
    EXPECT_FALSE(r->modules.empty()) << r->name;
    for (const auto& m : r->modules) {  // a VLCP module whose table requests flowtables/vlcp.def has
      auto known = pipeline::known_apps();
      EXPECT_NE(std::find(known.begin(), known.end(), m), known.end()) << r->name << ": module " << m;
    }
    for (const auto& k : r->keys) EXPECT_TRUE(keys.insert(k.key).second) << k.key << " declared twice";
  }
}

class EveryApp : public apps::testing::EveryAppFixture {
 protected:
  SwitchView switch_view() const {
    SwitchView v = base_view_;
    for (const auto& [id, ofport] : bound_) v.ports.push_back({"tap" + id, "", id, "", ofport});
    std::sort(v.ports.begin(), v.ports.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return v;
  }

  // Every register a flow or group bucket of the app writes (set_field, load, move, and the
  // loads of a learn) is declared in flowtables/registers.def, and none is REG2, the tracer's.
  void expect_declared_registers(const std::string& step) {
    static const std::regex write(R"(->(?:reg|NXM_NX_REG)(\d+))");
    auto check = [&](const std::string& text) {
      for (auto it = std::sregex_iterator(text.begin(), text.end(), write); it != std::sregex_iterator();
           ++it) {
        std::string ovs_name = "reg" + (*it)[1].str();
        const auto* r = pipeline::find_register_by_ovs_name(ovs_name);
        EXPECT_TRUE(r != nullptr) << step << ": " << app_->name() << " writes " << ovs_name
                                  << ", which flowtables/registers.def does not declare: " << text;
        if (r) {
          EXPECT_NE(r->name, "trace") << step << ": " << app_->name() << " writes the tracer's register";
        }
      }
    };
    flows::Desired d = host_->flow_owner(1)->desired(app_->name());
    for (const auto& [key, body] : d.flows) {
      std::string text;
      ofp::format_instructions(text, ByteSpan(reinterpret_cast<const uint8_t*>(body.instructions.data()),
                                              body.instructions.size()));
      check(text);
    }
    for (const auto& [id, g] : d.groups)
      for (const auto& b : g.buckets) {
        std::string text;
        ofp::format_actions(text, b.actions.bytes());
        check(text);
      }
  }

  void random_history(const std::function<void(const std::string&)>& check);

  // Every flow the app states on the switch is explained (docs/TRACE_DESIGN.md §6.3): the
  // generic resolver (apps/explain.h) and the app's own FlowApp::explain name at least one object
  // of the model, or the app names it as one of its own rules (kind "rule": a policy no object is
  // behind, e.g. l2's 802.1D drop), or the flow is a table's priority-0 default.
  void expect_explained(const std::string& step) {
    auto ctx = host_->context(1);
    ASSERT_TRUE(ctx.has_value()) << step;
    std::vector<const FlowApp*> apps{app_.get()};
    for (const auto& [partition, d] : app_->compute(*model_, *ctx))
      for (const auto& [key, body] : d.flows) {
        ++flows_checked_;
        FlowFacts f;
        if (key.table < pipeline_.tables.tables.size()) f.table = pipeline_.tables.tables[key.table].name;
        f.partition = app_->name() + "/" + partition;
        f.own_bits = body.cookie & flows::kCookieAppBits;
        std::string match;
        ofp::format_match(match,
                          ByteSpan(reinterpret_cast<const uint8_t*>(key.match.data()), key.match.size()));
        f.match = match_fields(match);
        ofp::format_instructions(
            f.actions,
            ByteSpan(reinterpret_cast<const uint8_t*>(body.instructions.data()), body.instructions.size()));
        std::map<std::string, uint32_t> regs;
        for (const auto& w : register_writes(f.actions, regs)) f.writes.emplace_back(w.ovs_name, w.value);
        f.table_default = key.priority == 0;
        auto refs = explain_flow(*model_, *ctx, f, app_.get(), apps);
        bool in_model = std::any_of(refs.begin(), refs.end(), [](const ObjectRef& r) { return r.in_model; });
        bool rule =
            std::any_of(refs.begin(), refs.end(), [](const ObjectRef& r) { return r.kind == "rule"; });
        if (in_model) ++flows_explained_;
        if (rule && !in_model) ++flows_rules_;
        EXPECT_TRUE(in_model || rule || f.table_default)
            << step << ": " << app_->name() << "'s flow in " << f.table << " (partition " << f.partition
            << ", priority " << key.priority << ") " << match << " actions " << f.actions
            << " names no object of the model: " << explain_text(app_->name(), refs);
        if (HasFailure()) return;
      }
  }
  size_t flows_checked_ = 0, flows_explained_ = 0, flows_rules_ = 0;

  SwitchView base_view_{"br-int", {{"vxlan0", "vxlan", "", "192.168.0.1", 1}, {"eth1", "", "", "", 2}}};
  std::map<std::string, int64_t> bound_;  // logical port id -> ofport
};

// Drives the app through the random history; `check` runs after every step (`what`: the step).
void EveryApp::random_history(const std::function<void(const std::string&)>& check) {
  auto ok = [](const Result<Json>& r) { return r.ok(); };
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.create_physical_networks(Json::parse(R"([{"id":"vx","type":"vxlan","vnirange":[[100,200]]},
      {"id":"vl","type":"vlan","vlanrange":[[10,20]]}])"),
                               d);
  })));
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.create_physical_ports(Json::parse(R"([{"name":"eth1","physicalnetwork":"vl"},
      {"name":"vxlan0","physicalnetwork":"vx"}])"),
                            d);
  })));
  start_node();
  host_->update_switch(1, switch_view());
  host_->attach(1, &sw_);
  ASSERT_TRUE(run_until([&] { return model_->loaded(); }));
  expect_recompute_baseline("start");

  std::mt19937 rng(7);
  std::vector<std::string> nets, routers;
  std::map<std::string, std::string> subnets;              // subnet id -> network id
  std::map<std::string, std::string> port_net;             // port id -> network id
  std::set<std::pair<std::string, std::string>> attached;  // (router, subnet)
  int created_nets = 0, created_ports = 0, created_subnets = 0, created_routers = 0;
  auto pick = [&](const auto& c) { return std::next(c.begin(), rng() % c.size()); };
  for (int step = 0; step < 150; ++step) {
    int op = std::uniform_int_distribution<int>(0, 13)(rng);
    std::string what;
    if (nets.size() < 2 || op == 0) {  // a network
      std::string id = "n" + std::to_string(created_nets++);
      std::string phys = rng() % 2 ? "vx" : "vl";
      if (ok(call([&](auto& v, auto d) {
            v.create_logical_networks(Json::array({Json{{"id", id}, {"physicalnetwork", phys}}}), d);
          })))
        nets.push_back(id);
      what = "create network " + id;
    } else if (op == 1) {  // a subnet (some external)
      int n = created_subnets++;
      std::string id = "s" + std::to_string(n), net = *pick(nets);
      Json spec{{"id", id},
                {"logicalnetwork", net},
                {"cidr", "10." + std::to_string(n) + ".0.0/24"},
                {"gateway", "10." + std::to_string(n) + ".0.1"}};
      if (rng() % 5 == 0) spec["isexternal"] = true;
      if (ok(call([&](auto& v, auto d) { v.create_subnets(Json::array({spec}), d); }))) subnets[id] = net;
      what = "create subnet " + id;
    } else if (op <= 3) {  // a port, with an address when its network has a subnet
      std::string id = "p" + std::to_string(created_ports++), net = *pick(nets);
      char mac[32];
      std::snprintf(mac, sizeof mac, "02:00:00:00:%02x:%02x", (created_ports / 256) & 0xff,
                    created_ports % 256);
      Json spec{{"id", id}, {"logicalnetwork", net}};
      if (rng() % 4) spec["mac_address"] = mac;  // some without a MAC
      for (const auto& [sid, snet] : subnets)
        if (snet == net && rng() % 3) {
          spec["subnet"] = sid;
          break;
        }
      if (ok(call([&](auto& v, auto d) { v.create_logical_ports(Json::array({spec}), d); })))
        port_net[id] = net;
      what = "create port " + id;
    } else if (op <= 5 && !port_net.empty()) {  // bind a port here (some not created yet)
      std::string id = rng() % 5 ? pick(port_net)->first : "p" + std::to_string(created_ports);
      if (!bound_.count(id)) bound_[id] = 10 + static_cast<int64_t>(bound_.size()) + step;
      what = "bind " + id;
    } else if (op == 6 && !bound_.empty()) {  // unbind
      auto it = pick(bound_);
      what = "unbind " + it->first;
      bound_.erase(it);
    } else if (op == 7 && !port_net.empty()) {  // another node publishes a port's location
      auto it = pick(port_net);
      put("viperflow.logicalportvxlaninfo." + it->first,
          Json{{"id", it->first},
               {"endpoints", Json::array({Json{{"systemid", "other"},
                                               {"bridge", "br-int"},
                                               {"tunnel_src", "192.168.0." + std::to_string(2 + rng() % 3)},
                                               {"updated_time", step}}})}});
      what = "remote location of " + it->first;
    } else if (op == 8 && rng() % 3 == 0) {  // the tunnel's physical port deleted, or created again
      bool exists = call([](auto& v, auto d) {
                      v.list_physical_ports(Json{{"name", "vxlan0"}}, d);
                    })->size() > 0;
      if (exists)
        EXPECT_TRUE(ok(call([](auto& v, auto d) {
          v.delete_physical_ports(Json::array({Json{{"name", "vxlan0"}}}), d);
        })));
      else
        EXPECT_TRUE(ok(call([](auto& v, auto d) {
          v.create_physical_ports(Json::array({Json{{"name", "vxlan0"}, {"physicalnetwork", "vx"}}}), d);
        })));
      what = exists ? "delete physical port vxlan0" : "create physical port vxlan0";
    } else if (op == 8 && !port_net.empty()) {  // delete a port
      std::string id = pick(port_net)->first;
      EXPECT_TRUE(ok(call([&](auto& v, auto d) {
        v.delete_logical_ports(Json::array({Json{{"id", id}}}), d);
      })));
      port_net.erase(id);
      what = "delete port " + id;
    } else if (op == 9) {  // a router
      std::string id = "r" + std::to_string(created_routers++);
      if (ok(call([&](auto& v, auto d) { v.create_routers(Json::array({Json{{"id", id}}}), d); })))
        routers.push_back(id);
      what = "create router " + id;
    } else if (op == 10 && !routers.empty() && !subnets.empty()) {  // an interface added or removed
      std::string r = *pick(routers), s = pick(subnets)->first;
      bool has = attached.count({r, s});
      if (has) {
        if (ok(call([&](auto& v, auto d) {
              v.remove_router_interfaces(Json::array({Json{{"router", r}, {"subnet", s}}}), d);
            })))
          attached.erase({r, s});
      } else if (ok(call([&](auto& v, auto d) {
                   v.add_router_interfaces(Json::array({Json{{"router", r}, {"subnet", s}}}), d);
                 }))) {
        attached.insert({r, s});
      }
      what = (has ? "remove interface " : "add interface ") + r + "/" + s;
    } else if (op == 11 && !routers.empty()) {  // a router's static routes
      std::string r = *pick(routers);
      Json routes = Json::array();
      // through a nexthop that is often a port's address (ports take .2, .3, ... of their subnet)
      if (rng() % 4 && !subnets.empty()) {
        int sub = std::stoi(pick(subnets)->first.substr(1));
        routes.push_back(Json::array({"192.168." + std::to_string(step % 200) + ".0/24",
                                      "10." + std::to_string(sub) + ".0." + std::to_string(2 + rng() % 4)}));
      }
      (void)call([&](auto& v, auto d) {
        v.update_routers(Json::array({Json{{"id", r}, {"routes", routes}}}), d);
      });
      what = "routes of " + r;
    } else if (op == 12 && !subnets.empty()) {  // a subnet's gateway or DHCP settings
      auto it = pick(subnets);
      std::string sid = it->first;
      (void)call([&](auto& v, auto d) {
        v.update_subnets(Json::array({Json{{"id", sid}, {"mtu", 1400 + step}}}), d);
      });
      what = "update subnet " + sid;
    } else {  // change a port's MAC
      if (port_net.empty()) continue;
      std::string id = pick(port_net)->first;
      char mac[32];
      std::snprintf(mac, sizeof mac, "02:00:00:01:%02x:%02x", (step / 256) & 0xff, step % 256);
      (void)call([&](auto& v, auto d) {  // may collide with a MAC in use: refused, nothing changes
        v.update_logical_ports(Json::array({Json{{"id", id}, {"mac_address", mac}}}), d);
      });
      what = "new MAC for " + id;
    }
    host_->update_switch(1, switch_view());
    check("step " + std::to_string(step) + ": " + what);
    if (HasFailure()) return;
  }
}

TEST_P(EveryApp, IncrementalUpdatesEqualAFullRecomputeThroughARandomHistory) {
  random_history([&](const std::string& step) {
    expect_recompute_baseline(step);
    expect_declared_registers(step);
  });
  if (HasFailure()) return;
  EXPECT_GT(host_->counters(*app_).incremental + host_->counters(*app_).recompute, 0u);
  RecordProperty("max_flows", static_cast<int>(max_flows_));
  std::printf("%s: at most %zu flows, %lu partitions recomputed, %lu changes incremental, %lu by recompute\n",
              app_->name().c_str(), max_flows_, static_cast<unsigned long>(host_->counters(*app_).partitions),
              static_cast<unsigned long>(host_->counters(*app_).incremental),
              static_cast<unsigned long>(host_->counters(*app_).recompute));
  // A restart: a new node reconciles against the switch and sends nothing.
  size_t mods = sw_.flow_mods + sw_.group_mods;
  Desired before = host_->flow_owner(1)->desired();
  start_node();
  host_->update_switch(1, switch_view());
  host_->attach(1, &sw_);
  expect_recompute_baseline("restart");
  EXPECT_EQ(sw_.flow_mods + sw_.group_mods, mods) << "a restart sent FLOW_MODs or GROUP_MODs";
  EXPECT_TRUE(host_->flow_owner(1)->desired() == before);
}

TEST_P(EveryApp, EveryFlowIsExplained) {
  random_history([&](const std::string& step) {
    ASSERT_NO_FATAL_FAILURE(settle(step));
    expect_explained(step);
  });
  std::printf(
      "%s: %zu flows checked, %zu named a model object, %zu a rule of the app (the rest table defaults)\n",
      app_->name().c_str(), flows_checked_, flows_explained_, flows_rules_);
}

// What a change touches beyond its own network: a router brings every network of it to a switch
// that has a port in one of them, and a static route goes through a port of another network. A
// port bound before it exists, created, its MAC changed, deleted: after each step every app's
// incremental flows are its full recompute (a missing dependency in an app's on_model fails here).
TEST_P(EveryApp, ChangesReachTheNetworksARouterJoins) {
  auto ok = [](const Result<Json>& r) { return r.ok(); };
  auto step = [&](const std::string& what, std::function<void(model::ViperFlow&, model::Done)> fn) {
    ASSERT_TRUE(ok(call(std::move(fn)))) << what;
    host_->update_switch(1, switch_view());
    expect_recompute_baseline(what);
  };
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.create_physical_networks(Json::parse(R"([{"id":"vx","type":"vxlan","vnirange":[[100,200]]}])"), d);
  })));
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.create_physical_ports(Json::parse(R"([{"name":"vxlan0","physicalnetwork":"vx"}])"), d);
  })));
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.create_logical_networks(
        Json::parse(R"([{"id":"na","physicalnetwork":"vx"},{"id":"nb","physicalnetwork":"vx"}])"), d);
  })));
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.create_subnets(
        Json::parse(R"([{"id":"s0","logicalnetwork":"na","cidr":"10.0.0.0/24","gateway":"10.0.0.1"},
      {"id":"s1","logicalnetwork":"nb","cidr":"10.1.0.0/24","gateway":"10.1.0.1"}])"),
        d);
  })));
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.create_routers(Json::parse(R"([{"id":"r","routes":[["192.168.0.0/24","10.1.0.5"]]}])"), d);
  })));
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.add_router_interfaces(Json::parse(R"([{"router":"r","subnet":"s0"},{"router":"r","subnet":"s1"}])"), d);
  })));
  // pb: in nb, on another node, the route's nexthop.
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.create_logical_ports(Json::parse(R"([{"id":"pb","logicalnetwork":"nb","subnet":"s1",
      "mac_address":"02:00:00:00:0b:01","ip_address":"10.1.0.5"}])"),
                           d);
  })));
  put("viperflow.logicalportvxlaninfo.pb", Json{{"id", "pb"},
                                                {"endpoints", Json::array({Json{{"systemid", "other"},
                                                                                {"bridge", "br-int"},
                                                                                {"tunnel_src", "192.168.0.2"},
                                                                                {"updated_time", 1}}})}});
  bound_["pa"] = 10;  // bound here before the model has it
  start_node();
  host_->update_switch(1, switch_view());
  host_->attach(1, &sw_);
  ASSERT_TRUE(run_until([&] { return model_->loaded(); }));
  expect_recompute_baseline("start: pa bound, not in the model");
  step("pa created in na: the router now serves this switch", [](auto& v, auto d) {
    v.create_logical_ports(Json::parse(R"([{"id":"pa","logicalnetwork":"na","subnet":"s0",
      "mac_address":"02:00:00:00:0a:01","ip_address":"10.0.0.5"}])"),
                           d);
  });
  step("the nexthop pb gets a new MAC", [](auto& v, auto d) {
    v.update_logical_ports(Json::parse(R"([{"id":"pb","mac_address":"02:00:00:00:0b:02"}])"), d);
  });
  step("pa deleted: the router no longer serves this switch",
       [](auto& v, auto d) { v.delete_logical_ports(Json::parse(R"([{"id":"pa"}])"), d); });
}

INSTANTIATE_TEST_SUITE_P(Registered, EveryApp, ::testing::ValuesIn(registered_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vlcp::apps
