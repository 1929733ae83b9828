// The verdict rules (docs/TRACE_DESIGN.md §8), table-driven over trace/verdicts.def: one case per
// code — the facts of a hop and the model — with the code and the exact text it must give. A
// code in the .def without a case fails the test.
#include "trace/verdict.h"

#include <gtest/gtest.h>

#include <set>

namespace vlcp::trace {
namespace {

// A hop from a1 (ofport 1) on hv1 with the facts common to the cases.
VerdictInput base() {
  VerdictInput in;
  in.server = "hv1";
  in.bridge = "br-int";
  in.servers_asked = {"hv1"};
  in.from = "a1";
  in.from_network = "na";
  in.to = "a2";
  in.to_port = "a2";
  in.to_ofport = 2;
  in.dst_mac = "02:00:00:00:00:02";
  in.dst_ip = "10.1.0.12";
  in.router = "r1";
  in.steps = {{0, "ingress", "l2", "l2 / network na / port a1", false, {}}};
  return in;
}

OutputView out(OutputKind kind, uint32_t ofport, int step, std::string port = "", std::string iface = "") {
  OutputView o;
  o.kind = kind;
  o.ofport = ofport;
  o.step = step;
  o.port = std::move(port);
  o.iface = std::move(iface);
  return o;
}

struct Case {
  VerdictCode code;
  VerdictInput in;
  std::string text;
};

std::vector<Case> cases() {
  std::vector<Case> c;
  {
    auto in = base();
    in.from = "p9";
    in.from_exists = false;
    c.push_back({VerdictCode::kSourceUnknown, in, "logical port p9 does not exist"});
  }
  {
    auto in = base();
    in.from = "a4";
    in.from_bound = false;
    c.push_back({VerdictCode::kSourceNotBound, in,
                 "port a4 is not bound on any server that answered (hv1): no OVS interface has "
                 "external_ids:iface-id=a4"});
  }
  {
    auto in = base();
    in.server = "hv2";
    in.from = "hv2/vd1";
    in.orphan_iface = "vd1";
    in.orphan_iface_id = "d1";
    c.push_back({VerdictCode::kSourceIfaceOrphan, in,
                 "interface vd1 on hv2 has iface-id d1, which is no logical port (it, or its network, was "
                 "deleted): ingress drops everything it sends"});
  }
  {
    auto in = base();
    in.to = in.to_port = "a3";
    in.to_ofport.reset();
    in.peer_no_answer = "hv2";
    in.peer_waited = "5.0 s";
    in.peer_record = "expired 40 s ago";
    c.push_back(
        {VerdictCode::kPeerNoAnswer, in,
         "server hv2's vlcpd did not answer within 5.0 s (is it running? its node record expired 40 s "
         "ago); the trace stops at hv1's output to it"});
  }
  {
    auto in = base();
    in.to = in.to_port = "a3";
    in.to_ofport.reset();
    in.peer_unknown = "192.168.99.7";
    c.push_back({VerdictCode::kPeerUnknown, in,
                 "VXLAN from hv1 to 192.168.99.7: no live vlcpd node has that tunnel address"});
  }
  {
    auto in = base();
    in.server = "hv2";
    in.loop = "hv1";
    in.loop_via = "vxlan";
    c.push_back({VerdictCode::kLoop, in, "loop: the packet came back to hv1 by vxlan from hv2"});
  }
  {
    auto in = base();
    in.openflow_connected = false;
    in.steps.push_back({4, "l3input", "dhcp", "dhcp / network na", false, {}});
    in.outputs = {out(OutputKind::kController, 0, 1)};
    c.push_back({VerdictCode::kControllerNotConnected, in,
                 "sent to the controller by dhcp's flow in l3input, but br-int on hv1 is not connected to "
                 "vlcpd: nothing will answer"});
  }
  {
    auto in = base();
    in.ttl = 1;
    in.steps.push_back({6, "l3output", "l3", "l3 / network nb", false, {"IPv4 decrement TTL exception"}});
    in.drop = Drop{1, "warning", "IPv4 decrement TTL exception"};
    c.push_back(
        {VerdictCode::kTtlExpired, in, "TTL expired at l3output on hv1 (dec_ttl): the packet had TTL 1"});
  }
  {
    auto in = base();
    in.dst_router_mac = true;
    in.network_routed = false;
    in.dst_mac = "1a:23:67:59:63:33";
    in.steps.push_back({4, "l3input", "", "", true, {}});
    in.drop = Drop{1, "no_match", ""};
    c.push_back({VerdictCode::kNoRouterInterface, in,
                 "network na has no router interface: the packet to the router MAC 1a:23:67:59:63:33 has "
                 "nowhere to go"});
  }
  {
    auto in = base();
    in.dst_ip = "10.2.0.11";
    in.no_route_why = ": it has no interface on subnet sb (10.2.0.0/24) and no static route covers it";
    in.steps.push_back({5, "l3router", "", "", true, {}});
    in.drop = Drop{1, "drop_action", ""};
    c.push_back({VerdictCode::kNoRoute, in,
                 "router r1 has no route to 10.2.0.11: it has no interface on subnet sb (10.2.0.0/24) and no "
                 "static route covers it"});
  }
  {
    auto in = base();
    in.to = in.to_port = "a4";
    in.to_ofport.reset();
    in.dst_mac = "02:00:00:0a:00:0e";
    in.steps.push_back({7, "l2output", "", "", true, {}});
    in.drop = Drop{1, "drop_action", ""};
    c.push_back(
        {VerdictCode::kPortNotBound, in,
         "no flow for destination MAC 02:00:00:0a:00:0e in l2output: port a4 is not bound on any server "
         "that answered (hv1)"});
  }
  {
    auto in = base();
    in.to = "02:00:00:0a:00:99";
    in.to_port.clear();
    in.to_ofport.reset();
    in.to_unknown = true;
    in.to_what = "MAC";
    in.to_value = "02:00:00:0a:00:99";
    c.push_back(
        {VerdictCode::kUnknownDestination, in,
         "no flow for destination MAC 02:00:00:0a:00:99: no logical port of network na has this MAC"});
  }
  {
    auto in = base();
    in.to_ofport.reset();
    in.to_port.clear();
    in.outputs = {out(OutputKind::kPort, 100, 0)};
    c.push_back({VerdictCode::kNoTunnel, in,
                 "output to port 100 on hv1, which br-int does not have (a tunnel or uplink deleted?)"});
  }
  {
    auto in = base();
    in.to_ofport.reset();
    in.to_port.clear();
    auto o = out(OutputKind::kPort, 100, 0, "", "vxlan0");
    o.details = {"native tunnel routing failed"};
    o.packet = {{"tun_dst", "192.168.99.2"}};
    in.outputs = {o};
    c.push_back(
        {VerdictCode::kUnderlayNoRoute, in, "hv1 has no route to the VTEP 192.168.99.2 (underlay routing)"});
  }
  {
    auto in = base();
    in.to = "10.1.0.1";
    in.to_port.clear();
    in.to_ofport.reset();
    in.steps.push_back({3, "arp", "arp", "arp / network na / router r1", false, {}});
    auto o = out(OutputKind::kInPort, 1, 1, "a1", "tap-a1");
    o.packet = {{"arp_spa", "10.1.0.1"}, {"arp_sha", "1a:23:67:59:63:33"}};
    in.outputs = {o};
    c.push_back({VerdictCode::kAnsweredArp, in,
                 "answered by flows on hv1: 10.1.0.1 is-at 1a:23:67:59:63:33 (arp / network na / router r1), "
                 "back to port a1"});
  }
  {
    auto in = base();
    in.to = "10.1.0.1";
    in.to_port.clear();
    in.to_ofport.reset();
    in.steps.push_back({4, "l3input", "icmp", "icmp / router r1", false, {}});
    auto o = out(OutputKind::kInPort, 1, 1, "a1", "tap-a1");
    o.packet = {{"nw_src", "10.1.0.1"}};
    in.outputs = {o};
    c.push_back({VerdictCode::kAnsweredIcmp, in,
                 "answered by flows on hv1: echo reply from icmp / router r1 (10.1.0.1), back to port a1"});
  }
  {
    auto in = base();
    in.to.clear();
    in.to_port.clear();
    in.to_ofport.reset();
    in.offer = "10.1.0.11/24, router 10.1.0.1";
    in.steps.push_back({4, "l3input", "dhcp", "dhcp / network na", false, {}});
    in.outputs = {out(OutputKind::kController, 0, 1)};
    c.push_back(
        {VerdictCode::kToControllerDhcp, in,
         "answered by vlcpd's DHCP server on hv1: it offers 10.1.0.11/24, router 10.1.0.1 (port a1)"});
  }
  {
    auto in = base();
    in.dst_ip = "10.2.0.11";
    in.steps.push_back({6, "l3output", "l3", "l3 / network nb", false, {}});
    in.outputs = {out(OutputKind::kController, 0, 1)};
    c.push_back(
        {VerdictCode::kToControllerFirstPacket, in,
         "sent to vlcpd on hv1 by l3's flow in l3output to place 10.2.0.11 (first packet): vlcpd installs "
         "its flow and sends the packet on"});
  }
  {
    auto in = base();
    in.steps.push_back({7, "l2output", "l2", "l2 / network na / port a2", false, {}});
    in.outputs = {out(OutputKind::kPort, 2, 1, "a2", "tap-a2")};
    c.push_back({VerdictCode::kDelivered, in, "delivered to port a2 on server hv1"});
    auto routed = in;
    routed.outputs[0].packet = {{"nw_ttl", "63"}};
    c.push_back(
        {VerdictCode::kDelivered, routed, "delivered to port a2 on server hv1 (routed by r1, TTL 64 → 63)"});
  }
  {
    auto in = base();
    in.to = "a3";
    in.to_port = "a3";
    in.to_ofport = 3;
    in.outputs = {out(OutputKind::kPort, 2, 0, "a2", "tap-a2")};
    c.push_back({VerdictCode::kDeliveredElsewhere, in, "delivered to port a2 on hv1, not to a3"});
  }
  {
    auto in = base();
    in.to = "10.3.0.99";
    in.to_port.clear();
    in.to_ofport.reset();
    auto o = out(OutputKind::kPort, 100, 0, "", "vxlan0");
    o.iface_type = "vxlan";
    o.packet = {{"tun_dst", "192.168.99.2"}};
    in.outputs = {o};
    c.push_back({VerdictCode::kLeft, in, "left hv1 through vxlan0 (vxlan) to 192.168.99.2"});
  }
  {
    auto in = base();
    in.steps.push_back({11, "egress", "", "", true, {}});
    in.drop = Drop{1, "drop_action", ""};
    in.to_ofport.reset();
    in.to_port.clear();
    c.push_back({VerdictCode::kDropped, in,
                 "dropped at table 11 (egress) on hv1 by the table's default flow: drop_action"});
  }
  return c;
}

TEST(Verdict, EachCodeHasItsRuleAndText) {
  std::set<VerdictCode> covered;
  for (const auto& c : cases()) {
    Verdict v = decide(c.in);
    EXPECT_EQ(v.code_name, verdict_decl(c.code).name) << c.text;
    EXPECT_EQ(v.text, c.text) << verdict_decl(c.code).name;
    EXPECT_EQ(v.outcome, outcome_name(verdict_decl(c.code).outcome));
    covered.insert(c.code);
  }
  for (const auto& d : verdict_decls())
    EXPECT_TRUE(covered.count(d.code)) << "verdict " << d.name << " has no case in verdict_test";
}

TEST(Verdict, AnArpAnsweredByFlowsIsNotAnUnboundPort) {
  // trace a1 10.1.0.13 --proto arp: a3 is not bound here, but the ARP responder answers for it.
  VerdictInput in = base();
  in.to = "10.1.0.13";
  in.to_port = "a3";
  in.to_ofport.reset();
  in.steps.push_back({3, "arp", "arp", "arp / network na / port a3", false, {}});
  auto o = out(OutputKind::kInPort, 1, 1, "a1");
  o.packet = {{"arp_spa", "10.1.0.13"}, {"arp_sha", "02:00:00:00:00:03"}};
  in.outputs = {o};
  EXPECT_EQ(decide(in).code_name, "answered-arp");
}

TEST(Verdict, AnUnboundPortReachedThroughATunnelIsLeftNotUnbound) {
  // trace a1 a3 with a3 bound on hv2, which this node did not ask: the packet leaves by VXLAN.
  VerdictInput in = base();
  in.to = in.to_port = "a3";
  in.to_ofport.reset();
  auto o = out(OutputKind::kPort, 100, 0, "", "vxlan0");
  o.iface_type = "vxlan";
  o.packet = {{"tun_dst", "192.168.99.2"}};
  in.outputs = {o};
  Verdict v = decide(in);
  EXPECT_EQ(v.code_name, "left");
  EXPECT_EQ(v.text, "left hv1 through vxlan0 (vxlan) to 192.168.99.2 toward port a3");
}

// Across servers (§7): the cases a coordinator meets once every live node answered round 0.
TEST(Verdict, AcrossServers) {
  // Delivered on the remote server (the last hop's), after one VXLAN hop.
  VerdictInput in = base();
  in.server = "hv2";
  in.servers_asked = {"hv1", "hv2"};
  in.all_answered = true;
  in.to = in.to_port = "a3";
  in.to_ofport = 5;
  in.to_bound = true;
  in.hops_note = "1 VXLAN hop";
  in.outputs = {out(OutputKind::kPort, 5, 0, "a3", "tap-a3")};
  Verdict v = decide(in);
  EXPECT_EQ(v.code_name, "delivered");
  EXPECT_EQ(v.text, "delivered to port a3 on server hv2 (1 VXLAN hop)");
  // TO bound nowhere, every live node asked: flooded to a tunnel is still port-not-bound.
  VerdictInput unbound = base();
  unbound.servers_asked = {"hv1", "hv2"};
  unbound.all_answered = true;
  unbound.to = unbound.to_port = "a4";
  unbound.to_ofport.reset();
  auto o = out(OutputKind::kPort, 100, 0, "", "vxlan0");
  o.iface_type = "vxlan";
  unbound.outputs = {o};
  v = decide(unbound);
  EXPECT_EQ(v.code_name, "port-not-bound");
  EXPECT_NE(v.text.find("port a4 is not bound on any server that answered (hv1, hv2)"), std::string::npos);
  // TO bound on a server the packet did not reach: not port-not-bound.
  unbound.to_bound = true;
  EXPECT_EQ(decide(unbound).code_name, "left");
  // The peer has no tunnel for the arrival.
  VerdictInput tunnel = base();
  tunnel.server = "hv2";
  tunnel.to_ofport.reset();
  tunnel.to_bound = true;  // (on hv2: its arrival has no tunnel)
  tunnel.peer_no_entry = "hv2 has no tunnel for physical network vx";
  v = decide(tunnel);
  EXPECT_EQ(v.code_name, "no-tunnel");
  EXPECT_EQ(v.text, "hv2 has no tunnel for physical network vx (a tunnel or uplink deleted?)");
  // The controller not connected on the remote server that runs the hop.
  VerdictInput noctl = base();
  noctl.server = "hv2";
  noctl.openflow_connected = false;
  noctl.steps.push_back({4, "l3input", "dhcp", "", false, {}});
  noctl.outputs = {out(OutputKind::kController, 0, 1)};
  v = decide(noctl);
  EXPECT_EQ(v.code_name, "controller-not-connected");
  EXPECT_NE(v.text.find("br-int on hv2 is not connected"), std::string::npos);
}

TEST(Verdict, TemplatesKeepUnknownNames) {
  EXPECT_EQ(fill("a {x} b {y}", {{"x", "1"}}), "a 1 b {y}");
  EXPECT_EQ(fill("{", {}), "{");
}

}  // namespace
}  // namespace vlcp::trace
