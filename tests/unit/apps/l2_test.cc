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

// --- unknown unicast (module.vxlancast.unknownunicast) ---------------------------------------
// A packet walked through the flows as OVS would (the fields the L2 flows match and set):
// where copies of it leave the switch. "port N" for a port, "node A.B.C.D" for the tunnel to
// that node, "controller".
struct Walk {
  const Desired& d;
  uint32_t tunnel;
  std::map<ofp::Field, uint64_t> fields;
  std::set<std::string> out;
  int depth = 0;

  uint64_t get(ofp::Field f) const {
    auto it = fields.find(f);
    return it == fields.end() ? 0 : it->second;
  }
  static uint64_t be(ByteSpan b) {
    uint64_t v = 0;
    for (uint8_t x : b) v = v << 8 | x;
    return v;
  }
  bool matches(const std::string& match) const {
    bool ok = true;
    ofp::for_each_oxm(span(match), [&](const ofp::OxmEntry& e) {
      uint64_t all = e.info->bytes >= 8 ? ~0ull : (1ull << (8 * e.info->bytes)) - 1;
      uint64_t mask = e.masked() ? be(e.mask) : all;
      ok = ok && (get(e.info->field) & mask) == (be(e.value) & mask);
    });
    return ok;
  }
  void output(uint32_t port) {
    if (port == ofp::kPortController)
      out.insert("controller");
    else if (port == ofp::kPortInPort)
      out.insert("port " + std::to_string(get(ofp::Field::kInPort)));
    else if (port == tunnel) {
      uint32_t a = static_cast<uint32_t>(get(ofp::Field::kTunIpv4Dst));
      out.insert("node " + std::to_string(a >> 24) + "." + std::to_string(a >> 16 & 255) + "." +
                 std::to_string(a >> 8 & 255) + "." + std::to_string(a & 255));
    } else if (port != get(ofp::Field::kInPort))  // OVS drops output to the in_port
      out.insert("port " + std::to_string(port));
  }
  void actions(ByteSpan list) {
    ofp::for_each_action(list, [&](const ofp::ActionView& a) {
      ASSERT_NE(a.info, nullptr);
      ByteSpan b = a.bytes;
      switch (a.info->type) {
        case ofp::ActionType::kOutput:
          output(load_be32(b.data() + 4));
          break;
        case ofp::ActionType::kNxController:
          out.insert("controller");
          break;
        case ofp::ActionType::kGroup: {
          auto g = d.groups.find(load_be32(b.data() + 4));
          ASSERT_NE(g, d.groups.end()) << "no group " << load_be32(b.data() + 4);
          for (const auto& bucket : g->second.buckets) {
            Walk copy = *this;
            copy.out.clear();
            copy.actions(bucket.actions.bytes());
            out.insert(copy.out.begin(), copy.out.end());
          }
          break;
        }
        case ofp::ActionType::kSetField: {
          uint32_t h = load_be32(b.data() + 4);
          ofp::for_each_oxm(b.subspan(4, 4 + (h & 0xff)),
                            [&](const ofp::OxmEntry& e) { fields[e.info->field] = be(e.value); });
          break;
        }
        case ofp::ActionType::kNxResubmitTable:
          ASSERT_LT(depth, 8);
          ++depth;
          table(b[12]);
          --depth;
          break;
        default:  // learn, VLAN tags: nothing that decides where the packet goes here
          break;
      }
    });
  }
  void table(uint8_t id) {
    const pipeline::FlowBody* best = nullptr;
    int best_priority = -1;
    for (const auto& [k, body] : d.flows)
      if (k.table == id && k.priority > best_priority && matches(k.match)) {
        best = &body;
        best_priority = k.priority;
      }
    if (!best) return;  // a miss drops (or returns from a resubmit)
    std::optional<uint8_t> next;
    ofp::for_each_instruction(span(best->instructions), [&](const ofp::InstructionView& i) {
      if (i.type == ofp::InstructionType::kApplyActions) actions(i.actions);
      if (i.type == ofp::InstructionType::kGotoTable) next = i.bytes[4];
    });
    if (next) table(*next);
  }
};

// Where a frame to `dst` entering on `in_port` (the tunnel: with VNI `vni`) leaves the switch.
std::set<std::string> deliver(const L2Flows& flows, const Inputs& in, uint32_t in_port,
                              const std::string& dst, uint32_t vni = 0) {
  Desired d;
  for (const auto& [p, part] : flows.all(in)) {
    d.flows.insert(part.flows.begin(), part.flows.end());
    d.groups.insert(part.groups.begin(), part.groups.end());
  }
  uint32_t tunnel = 0;
  for (const auto& [physnet, ofport] : in.uplinks)
    for (const auto& [key, n] : in.networks)
      if (n.physnet == physnet && n.type == "vxlan") tunnel = ofport;
  Walk w{d, tunnel, {}, {}};
  Mac mac = *parse_mac(dst);
  w.fields[ofp::Field::kInPort] = in_port;
  w.fields[ofp::Field::kEthDst] = Walk::be(ByteSpan(reinterpret_cast<const uint8_t*>(mac.data()), 6));
  w.fields[ofp::Field::kEthSrc] = 0x020000000099;
  w.fields[ofp::Field::kTunnelId] = vni;
  w.table(0);
  return w.out;
}

using Where = std::set<std::string>;

// Two local ports (3, 5) and two remote nodes on VXLAN network vx (VNI 5001, tunnel ofport 1).
Inputs vxlan_network() {
  Inputs in = two_networks();
  in.ports[5] = LocalPort{"c", "viperflow.logicnetwork.vx", 5, parse_mac("02:00:00:00:00:05")};
  return in;
}
L2Settings unknown_unicast(UnknownUnicast u) {
  L2Settings s;
  s.unknown_unicast = u;
  return s;
}
const std::string kUnbound = "02:00:00:00:00:77";  // a MAC no port is bound with
const Where kNodes = {"node 192.168.0.2", "node 192.168.0.3"};

TEST(L2Flows, UnknownUnicastGoesToTheNodesOnlyAndIsDroppedOnArrival) {
  auto tables = vlcp_tables();
  Inputs in = vxlan_network();
  L2Flows flows(tables, unknown_unicast(UnknownUnicast::kTunnels));
  // From a port: to every node with ports in the network, to no local port.
  EXPECT_EQ(deliver(flows, in, 3, kUnbound), kNodes);
  // Through the tunnel: nowhere (the node that has its port would have its MAC's flow).
  EXPECT_EQ(deliver(flows, in, 1, kUnbound, 5001), Where{});
  // Broadcast and multicast still flood: every other local port and every node; from the
  // tunnel, the local ports.
  Where flood = {"port 5", "node 192.168.0.2", "node 192.168.0.3"};
  EXPECT_EQ(deliver(flows, in, 3, "ff:ff:ff:ff:ff:ff"), flood);
  EXPECT_EQ(deliver(flows, in, 3, "01:00:5e:00:00:01"), flood);
  EXPECT_EQ(deliver(flows, in, 1, "ff:ff:ff:ff:ff:ff", 5001), (Where{"port 3", "port 5"}));
  // Known destinations as before: a local port, a remote port's node, from either side.
  EXPECT_EQ(deliver(flows, in, 3, "02:00:00:00:00:05"), Where{"port 5"});
  EXPECT_EQ(deliver(flows, in, 1, "02:00:00:00:00:05", 5001), Where{"port 5"});
  EXPECT_EQ(deliver(flows, in, 3, "02:00:00:00:00:09"), Where{"node 192.168.0.2"});
  // The VLAN network is untouched: unknown unicast goes to its physical port.
  EXPECT_EQ(deliver(flows, in, 4, kUnbound), Where{"port 2"});
  // A network with no remote node: unknown unicast from a port goes nowhere.
  in.remote.clear();
  EXPECT_EQ(deliver(flows, in, 3, kUnbound), Where{});
  EXPECT_EQ(deliver(flows, in, 3, "ff:ff:ff:ff:ff:ff"), Where{"port 5"});
}

// Where a local port may use a MAC the model does not know, nothing is assumed: unknown
// unicast floods again (from a port and from the tunnel), as with the learning strategies and
// with `flood`, which keeps VLCP's flows exactly.
TEST(L2Flows, UnknownUnicastFloodsWhereAPortsMacIsUnknown) {
  auto tables = vlcp_tables();
  Where everywhere = {"port 5", "node 192.168.0.2", "node 192.168.0.3"};
  {
    Inputs in = vxlan_network();
    in.ports[5].mac.reset();  // a port with no MAC in the model
    L2Flows flows(tables, unknown_unicast(UnknownUnicast::kTunnels));
    EXPECT_EQ(deliver(flows, in, 3, kUnbound), everywhere);
    EXPECT_EQ(deliver(flows, in, 1, kUnbound, 5001), (Where{"port 3", "port 5"}));
    in.ports[5].mac = parse_mac("02:00:00:00:00:05");  // known again: tunnels only
    EXPECT_EQ(deliver(flows, in, 3, kUnbound), kNodes);
  }
  {
    Inputs in = vxlan_network();
    L2Flows flood(tables, unknown_unicast(UnknownUnicast::kFlood));
    EXPECT_EQ(deliver(flood, in, 3, kUnbound), everywhere);
    EXPECT_EQ(deliver(flood, in, 1, kUnbound, 5001), (Where{"port 3", "port 5"}));
    // `flood` is the flows without the tunnels-only ones: no third group, nothing else added.
    Desired with =
        L2Flows(tables, unknown_unicast(UnknownUnicast::kTunnels)).network(in, "viperflow.logicnetwork.vx");
    Desired without = flood.network(in, "viperflow.logicnetwork.vx");
    EXPECT_EQ(without.groups.count(7 | kGroupTunnels), 0u);
    EXPECT_EQ(with.groups.count(7 | kGroupTunnels), 1u);
    EXPECT_EQ(with.flows.size(), without.flows.size() + 2);
    for (const auto& [k, b] : without.flows) EXPECT_TRUE(with.flows.count(k) && with.flows.at(k) == b);
  }
  for (L2Strategy learning : {L2Strategy::kLearn, L2Strategy::kControllerLearn}) {
    Inputs in = vxlan_network();
    L2Settings s = unknown_unicast(UnknownUnicast::kTunnels);
    s.l2 = learning;
    EXPECT_EQ(L2Flows(tables, s).network(in, "viperflow.logicnetwork.vx").groups.count(7 | kGroupTunnels),
              0u);
  }
}

TEST(L2Settings, UnknownUnicastKey) {
  auto read = [](const std::string& text) {
    auto c = Config::parse(text, "v.conf");
    EXPECT_TRUE(c.ok());
    return read_l2_settings(*c);
  };
  EXPECT_EQ(read("")->unknown_unicast, UnknownUnicast::kTunnels);
  EXPECT_EQ(read("module.vxlancast.unknownunicast = 'flood'\n")->unknown_unicast, UnknownUnicast::kFlood);
  EXPECT_EQ(read("module.vxlancast.unknownunicast = 'tunnels'\n")->unknown_unicast, UnknownUnicast::kTunnels);
  auto bad = read("\nmodule.vxlancast.unknownunicast = 'drop'\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("v.conf:2"), std::string::npos) << bad.error().message();
  EXPECT_NE(bad.error().message().find("flood or tunnels"), std::string::npos) << bad.error().message();
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
  void start_app(ModelSync sync = ModelSync::kAll) {
    release();
    model_ = std::make_unique<ModelView>(*db_, after(), L2App::kinds(), sync);
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
  // ingress by VNI, vxlaninput learn, vxlanoutput pushed MAC, egress, and egress's drop of
  // unknown unicast arriving through it (unknownunicast = tunnels)
  EXPECT_EQ(with_tunnel, 5u);
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

// Issue 20: a node whose view follows only its ports' networks (interest) still finds, after a
// restart, the endpoint it published for a port unplugged while it was down, in a network it no
// longer follows, and withdraws it (the hosted-ports index); the index holds only what is
// published (a port deleted while plugged: its entry goes when it is unplugged).
TEST_F(L2AppTest, ARestartWithdrawsWhatItPublishedForPortsUnpluggedWhileDown) {
  auto ok = [](const Result<Json>& r) { return r.ok(); };
  ASSERT_NO_FATAL_FAILURE(physical_networks());
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.create_physical_ports(Json::parse(R"([{"name":"vxlan0","physicalnetwork":"vx"}])"), d);
  })));
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.create_logical_networks(
        Json::parse(R"([{"id":"n","physicalnetwork":"vx"},{"id":"m","physicalnetwork":"vx"}])"), d);
  })));
  ASSERT_TRUE(ok(call([](auto& v, auto d) {
    v.create_logical_ports(
        Json::parse(R"([{"id":"p","logicalnetwork":"n"},{"id":"q","logicalnetwork":"m"}])"), d);
  })));
  auto value = [&](const std::string& key) {
    std::optional<std::optional<Json>> v;
    db_->get({key}, [&](Result<std::map<std::string, db::Record>> r) {
      v = r.ok() && r->count(key) ? r->at(key).value : std::nullopt;
    });
    run_until([&] { return v.has_value(); });
    return v.value_or(std::nullopt);
  };
  auto located_here = [&](const std::string& pid) {
    auto loc = value("viperflow.logicalportvxlaninfo." + pid);
    if (!loc || !loc->contains("endpoints")) return false;
    for (const auto& e : (*loc)["endpoints"])
      if (e.value("systemid", "") == "me") return true;
    return false;
  };
  auto indexed = [&](const std::string& pid) {
    return value(std::string(schema::kHostedPrefix) + "me." + pid).has_value();
  };
  SwitchPortInfo tunnel{"vxlan0", "vxlan", "", "192.168.0.1", 1}, tap_p{"tapp", "", "p", "", 10},
      tap_q{"tapq", "", "q", "", 11};
  start_app(ModelSync::kInterest);
  host_->update_switch(1, SwitchView{"br-int", {tap_p, tap_q, tunnel}});
  host_->attach(1, &sw_);
  ASSERT_TRUE(run_until([&] { return located_here("p") && located_here("q"); }));
  EXPECT_TRUE(indexed("p"));
  EXPECT_TRUE(indexed("q"));
  // vlcpd stops; q is unplugged meanwhile; vlcpd starts again: its view never reads network m.
  start_app(ModelSync::kInterest);
  host_->update_switch(1, SwitchView{"br-int", {tap_p, tunnel}});
  host_->attach(1, &sw_);
  EXPECT_TRUE(run_until([&] { return !located_here("q"); })) << "q's location still names this node";
  EXPECT_FALSE(indexed("q"));
  EXPECT_TRUE(located_here("p"));
  EXPECT_TRUE(indexed("p"));
  EXPECT_EQ(model_->logical_ports().count("q"), 0u) << "the view followed a network no bound port is in";
  // p deleted while plugged: its location goes with it, its index entry once it is unplugged.
  ASSERT_TRUE(ok(call([](auto& v, auto d) { v.delete_logical_ports(Json::parse(R"([{"id":"p"}])"), d); })));
  EXPECT_TRUE(run_until([&] { return !located_here("p"); }));
  host_->update_switch(1, SwitchView{"br-int", {tunnel}});
  EXPECT_TRUE(run_until([&] { return !indexed("p"); })) << "the index kept an entry for a deleted port";
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
