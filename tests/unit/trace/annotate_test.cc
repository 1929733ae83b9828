// The annotation of a hop's steps (docs/TRACE_DESIGN.md §6.1, §6.2, §6.4) over a REAL trace
// (golden/routed-vxlan.txt, OVS 3.1 over VLCP's L3 pipeline): table names from the node's
// TableMap, the owner from the cookie and the flow owner's records — one candidate, several told
// apart by our printer's match text against OVS's, none (not owned), table defaults, dynamic
// cookies, no flow owner — and the registers each step writes, decoded through registers.def.
#include "trace/annotate.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "../flows/fake_switch.h"
#include "flows/cookie.h"

namespace vlcp::trace {
namespace {

using ofp::Field;

Walk routed_vxlan() {
  std::ifstream f(std::string(VLCP_TRACE_GOLDEN_DIR) + "/routed-vxlan.txt");
  std::stringstream ss;
  ss << f.rdbuf();
  auto r = parse_trace(ss.str());
  EXPECT_TRUE(r.ok());
  return walk_trace(*r);
}

pipeline::TableMap l3_tables() {
  auto req = pipeline::requests_of(
      {"ioprocessing", "l2switch", "vxlancast", "arpresponder", "dhcpserver", "icmpresponder", "l3router"});
  EXPECT_TRUE(req.ok());
  auto t = pipeline::allocate(*req);
  EXPECT_TRUE(t.ok());
  return *t;
}

ofp::FlowMod fm(uint8_t table, uint16_t priority, uint64_t cookie, ofp::Match match) {
  ofp::FlowMod f;
  f.table_id = table;
  f.priority = priority;
  f.cookie = cookie;
  f.match = std::move(match);
  f.instructions.goto_table(table + 1);
  return f;
}

class AnnotateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(owner.add_app("l2", {1, 2, 3}).ok());
    ASSERT_TRUE(owner.add_app("l3", {6}).ok());
    // The flows of the golden's steps, in the partitions the apps would state them in; at
    // l3router and l3output a second flow of the same (table, priority, cookie) in another
    // partition, so that only the match text tells them apart.
    flows::Desired a, b_hosts, b_hosts2, r1, r1b, vx;
    pipeline::put_flow(a.flows, fm(0, 32768, flows::cookie(1, 1), ofp::Match().add(Field::kInPort, 1)));
    pipeline::put_flow(r1.flows, fm(5, 32792, flows::cookie(6, 1),
                                    ofp::Match()
                                        .add(Field::kEthType, 0x0800)
                                        .add(Field::kReg4, 1)
                                        .add_masked(Field::kIpv4Dst, 0x0a020000, 0xffffff00)));
    pipeline::put_flow(r1b.flows, fm(5, 32792, flows::cookie(6, 1),
                                     ofp::Match()
                                         .add(Field::kEthType, 0x0800)
                                         .add(Field::kReg4, 1)
                                         .add_masked(Field::kIpv4Dst, 0x0a030000, 0xffffff00)));
    pipeline::put_flow(
        b_hosts.flows,
        fm(6, 32769, flows::cookie(6, 2),
           ofp::Match().add(Field::kEthType, 0x0800).add(Field::kReg5, 2).add(Field::kIpv4Dst, 0x0a02000d)));
    pipeline::put_flow(
        b_hosts2.flows,
        fm(6, 32769, flows::cookie(6, 2),
           ofp::Match().add(Field::kEthType, 0x0800).add(Field::kReg5, 2).add(Field::kIpv4Dst, 0x0a02000c)));
    // At vxlanoutput: two flows whose match text differs from OVS's only in a field the trace
    // does not show would be ambiguous; here the one candidate is found whatever the text.
    pipeline::put_flow(
        vx.flows, fm(9, 32777, flows::cookie(3, 2), ofp::Match().add(Field::kReg5, 2).add(Field::kReg6, 0)));
    ASSERT_TRUE(owner.set("l2", "A", std::move(a)).ok());
    ASSERT_TRUE(owner.set("l3", "net/A", std::move(r1)).ok());
    ASSERT_TRUE(owner.set("l3", "net/A2", std::move(r1b)).ok());
    ASSERT_TRUE(owner.set("l3", "hosts/B", std::move(b_hosts)).ok());
    ASSERT_TRUE(owner.set("l3", "hosts/B2", std::move(b_hosts2)).ok());
    ASSERT_TRUE(owner.set("l2", "vx/B", std::move(vx)).ok());
    owner.attach(&sw);
    sw.deliver();
    sw.deliver();
    ASSERT_TRUE(owner.stats().synced);
  }
  ManualClock clock;
  flows::FakeSwitch sw;
  flows::FlowOwner owner{clock};
  pipeline::TableMap tables = l3_tables();
  Walk w = routed_vxlan();
};

TEST_F(AnnotateTest, TablesOwnersAndRegistersOfARealTrace) {
  ASSERT_EQ(w.steps.size(), 11u);
  std::vector<std::string> names;
  for (const Step& s : w.steps)
    if (!s.underlay) names.push_back(annotate_step(s, tables, &owner).table_name);
  EXPECT_EQ(names, (std::vector<std::string>{"ingress", "l2input", "vxlaninput", "arp", "l3input", "l3router",
                                             "l3output", "l2output", "vxlanoutput", "egress"}));
  // ingress: one candidate, l2's partition; it writes in_network, out_network and the flags.
  Annotation in = annotate_step(w.steps[0], tables, &owner);
  EXPECT_EQ(in.ownership, Ownership::kOwned);
  EXPECT_EQ(in.app_id, 1);
  EXPECT_EQ(in.app, "l2");
  EXPECT_EQ(in.own_bits, 1u);
  EXPECT_EQ(in.partitions, std::vector<std::string>{"l2/A"});
  ASSERT_EQ(in.writes.size(), 3u);
  EXPECT_EQ(in.writes[0].name, "in_network");
  EXPECT_EQ(in.writes[0].described, "netid 1");
  EXPECT_EQ(in.writes[1].name, "out_network");
  EXPECT_EQ(in.writes[2].name, "flags");
  EXPECT_EQ(in.writes[2].described, "from_logical_port");
  // The table defaults on the way.
  EXPECT_EQ(annotate_step(w.steps[1], tables, &owner).ownership, Ownership::kDefault);
  EXPECT_EQ(annotate_step(w.steps[7], tables, &owner).ownership, Ownership::kDefault);
  // l3router and l3output: two candidates each; our printer's text equals OVS's for one.
  Annotation route = annotate_step(w.steps[5], tables, &owner);
  EXPECT_EQ(route.ownership, Ownership::kOwned) << "our match text differs from OVS's: " << w.steps[5].match;
  EXPECT_EQ(route.partitions, std::vector<std::string>{"l3/net/A"});
  ASSERT_EQ(route.writes.size(), 1u);
  EXPECT_EQ(route.writes[0].name, "out_network");
  EXPECT_EQ(route.writes[0].described, "netid 2");
  Annotation host = annotate_step(w.steps[6], tables, &owner);
  EXPECT_EQ(host.ownership, Ownership::kOwned) << "our match text differs from OVS's: " << w.steps[6].match;
  EXPECT_EQ(host.partitions, std::vector<std::string>{"l3/hosts/B"});
  EXPECT_EQ(host.app, "l3");
  // vxlanoutput: one candidate (its match is not the trace's, but nothing else could be it).
  Annotation vx = annotate_step(w.steps[8], tables, &owner);
  EXPECT_EQ(vx.ownership, Ownership::kOwned);
  EXPECT_EQ(vx.partitions, std::vector<std::string>{"l2/vx/B"});
  ASSERT_EQ(vx.writes.size(), 1u);
  EXPECT_EQ(vx.writes[0].name, "out_port");
  EXPECT_EQ(vx.writes[0].described, "ofport 100");
  // l3input and egress: the switch has flows the owner does not know.
  EXPECT_EQ(annotate_step(w.steps[4], tables, &owner).ownership, Ownership::kNotOwned);
  EXPECT_EQ(annotate_step(w.steps[9], tables, &owner).ownership, Ownership::kNotOwned);
}

TEST_F(AnnotateTest, OurMatchTextIsOvssForTheStatedFlows) {
  // Risk 2 of the design, measured on the flows stated here: format_match prints what
  // ofproto/trace prints for the same rule.
  auto text = [&](uint8_t t, uint16_t p, uint64_t c) {
    std::vector<std::string> out;
    for (const auto& f : owner.find(t, p, c)) out.push_back(match_text(f.key));
    return out;
  };
  EXPECT_EQ(text(0, 32768, flows::cookie(1, 1)), std::vector<std::string>{w.steps[0].match});
  auto hosts = text(6, 32769, flows::cookie(6, 2));
  EXPECT_NE(std::find(hosts.begin(), hosts.end(), w.steps[6].match), hosts.end()) << w.steps[6].match;
  auto routes = text(5, 32792, flows::cookie(6, 1));
  EXPECT_NE(std::find(routes.begin(), routes.end(), w.steps[5].match), routes.end()) << w.steps[5].match;
}

TEST_F(AnnotateTest, AmbiguousDynamicAndNoOwner) {
  Step s = w.steps[6];
  s.match = "ip,reg5=0x2,nw_dst=10.2.0.99";  // a text neither candidate prints
  Annotation amb = annotate_step(s, tables, &owner);
  EXPECT_EQ(amb.ownership, Ownership::kAmbiguous);
  EXPECT_EQ(amb.partitions, (std::vector<std::string>{"l3/hosts/B", "l3/hosts/B2"}));
  Step d = w.steps[6];
  d.cookie = flows::kCookieDynamic | flows::cookie(6, 2);
  EXPECT_EQ(annotate_step(d, tables, &owner).ownership, Ownership::kDynamic);
  Annotation none =
      annotate_step(w.steps[0], tables, nullptr, [](uint8_t id) { return id == 1 ? "io" : ""; });
  EXPECT_EQ(none.ownership, Ownership::kNoOwner);
  EXPECT_EQ(none.app, "io");
  EXPECT_EQ(none.writes.size(), 3u) << "registers are decoded without an owner";
  Step nm;
  nm.table = 200;
  nm.no_match = true;
  Annotation n = annotate_step(nm, tables, &owner);
  EXPECT_EQ(n.table_name, "");
  EXPECT_EQ(n.ownership, Ownership::kNotOwned);
}

TEST(AnnotateRegisters, BitLoadsChangeOnlyTheirBits) {
  Step s;
  s.table = 3;
  s.priority = 1;
  s.actions = {"set_field:0x4000->reg7", "load:0x1->NXM_NX_REG7[15]", "load:0x5->NXM_NX_REG3[]",
               "set_field:0x1->reg9", "move:OXM_OF_IN_PORT[]->NXM_NX_REG6[]"};
  Annotation a = annotate_step(s, pipeline::TableMap{}, nullptr);
  ASSERT_EQ(a.writes.size(), 3u) << "reg9 is not declared; a move has no value to decode";
  EXPECT_EQ(a.writes[1].value, 0xc000u);
  EXPECT_EQ(a.writes[1].described, "from_logical_port|hairpin");
  EXPECT_EQ(a.writes[2].name, "nexthop");
  EXPECT_EQ(a.writes[2].described, "0.0.0.5");
}

}  // namespace
}  // namespace vlcp::trace
