// The parser of `ofproto/trace` (docs/TRACE_DESIGN.md §5) over REAL OVS 3.1 output: the goldens
// in golden/ were captured by tests/system/trace_goldens.sh from a sandboxed userspace OVS that
// carries VLCP's L3 pipeline (tests/system/l3_flows_proof). For each: the table steps, the
// outputs with the packet at each, and where a path that leaves nothing is dropped. Then
// hand-edited variants: an unknown line kept as a note, CRLF, truncated and hostile text.
#include "trace/parse.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace vlcp::trace {
namespace {

std::string golden(const std::string& name) {
  std::ifstream f(std::string(VLCP_TRACE_GOLDEN_DIR) + "/" + name + ".txt", std::ios::binary);
  EXPECT_TRUE(f.good()) << name;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

ParsedTrace parsed(const std::string& name) {
  auto r = parse_trace(golden(name));
  EXPECT_TRUE(r.ok()) << name << ": " << r.status().to_string();
  return r.ok() ? *r : ParsedTrace{};
}

// "table:priority" for each step of the first bridge (underlay steps after a '|').
std::string tables(const Walk& w) {
  std::string out;
  for (const Step& s : w.steps) {
    if (!out.empty()) out += ' ';
    if (s.underlay) out += s.bridge + ":";
    out += std::to_string(s.table) + (s.no_match ? "!" : "") + ":" + std::to_string(s.priority);
  }
  return out;
}

const Output* only_effective(const Walk& w) {
  const Output* found = nullptr;
  for (const Output& o : w.outputs)
    if (o.effective && !o.underlay) {
      if (found) return nullptr;
      found = &o;
    }
  return found;
}

TEST(TraceParse, RoutedOverVxlanWithTheUnderlayBridge) {
  ParsedTrace t = parsed("routed-vxlan");
  EXPECT_EQ(t.flow.substr(0, 20), "icmp,in_port=1,vlan_");
  ASSERT_EQ(t.bridges.size(), 2u);
  EXPECT_EQ(t.bridges[0].name, "br-int");
  EXPECT_EQ(t.bridges[1].name, "br-phy");
  EXPECT_NE(t.final_flow.find("tun_dst=192.168.99.2"), std::string::npos);
  EXPECT_EQ(t.megaflow.substr(0, 20), "recirc_id=0,eth,icmp");
  EXPECT_NE(t.datapath_actions.find("tnl_push("), std::string::npos);
  Walk w = walk_trace(t);
  EXPECT_EQ(tables(w), "0:32768 1:0 2:0 3:0 4:32768 5:32792 6:32769 7:0 9:32777 11:32768 br-phy:0:0");
  // The steps as the annotator needs them: match text, cookie (app << 48 | netid), actions.
  EXPECT_EQ(w.steps[0].match, "in_port=1");
  EXPECT_EQ(w.steps[0].cookie, 0x1000000000001u);
  EXPECT_EQ(w.steps[0].actions, (std::vector<std::string>{"set_field:0x1->reg4", "set_field:0x1->reg5",
                                                          "set_field:0x4000->reg7", "goto_table:1"}));
  EXPECT_EQ(w.steps[1].match, "");
  EXPECT_EQ(w.steps[1].cookie, 0u);
  EXPECT_EQ(w.steps[5].match, "ip,reg4=0x1,nw_dst=10.2.0.0/24");
  EXPECT_EQ(w.steps[8].match, "reg5=0x2,reg6=0,dl_dst=02:00:0a:02:00:0d");
  EXPECT_EQ(w.steps[8].cookie, 0x3000000000002u);
  // One output: the tunnel port, with the packet as it leaves (rewritten MACs, TTL 63, VNI, VTEP).
  const Output* o = only_effective(w);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->kind, OutputKind::kPort);
  EXPECT_EQ(o->ofport, 100u);
  EXPECT_EQ(o->step, 9);
  EXPECT_FALSE(o->packet.approximate);
  EXPECT_EQ(o->packet.fields.at("dl_src"), "f8:e2:e6:be:09:4f");
  EXPECT_EQ(o->packet.fields.at("dl_dst"), "02:00:0a:02:00:0d");
  EXPECT_EQ(o->packet.fields.at("nw_ttl"), "63");
  EXPECT_EQ(o->packet.fields.at("tun_id"), "0x138a");
  EXPECT_EQ(o->packet.fields.at("tun_dst"), "192.168.99.2");
  EXPECT_EQ(o->packet.fields.at("reg5"), "0x2");
  EXPECT_EQ(o->packet.fields.at("reg6"), "0x64");
  ASSERT_EQ(o->details.size(), 3u);
  EXPECT_EQ(o->details[0], "output to native tunnel");
  EXPECT_EQ(o->details[1], "tunneling to 192.168.99.2 via br-phy");
  // br-phy's NORMAL is the underlay's, not a delivery on br-int.
  ASSERT_EQ(w.outputs.size(), 2u);
  EXPECT_TRUE(w.outputs[1].underlay);
  EXPECT_EQ(w.outputs[1].kind, OutputKind::kNormal);
  EXPECT_FALSE(w.drop);
}

TEST(TraceParse, VxlanArrivalDeliveredToTheLocalPort) {
  Walk w = walk_trace(parsed("vxlan-arrival"));
  EXPECT_EQ(tables(w), "0:32768 1:0 2:0 3:0 4:0 7:32770 9:0 11:32768");
  // OVS's "Flow:" line leaves tun_id out (it prints the other tunnel fields); table 0 matched it.
  EXPECT_EQ(w.steps[0].match, "tun_id=0x138a,in_port=100");
  const Output* o = only_effective(w);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->ofport, 1u);
  EXPECT_EQ(o->packet.fields.at("nw_ttl"), "63");
  EXPECT_EQ(o->packet.fields.at("tun_src"), "192.168.99.1");
}

TEST(TraceParse, RoutedOnOneServer) {
  Walk w = walk_trace(parsed("routed-local"));
  const Output* o = only_effective(w);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->ofport, 2u);
  EXPECT_EQ(o->packet.fields.at("dl_src"), "1a:23:67:59:63:33");
  EXPECT_EQ(o->packet.fields.at("dl_dst"), "02:00:0a:02:00:0c");
  EXPECT_EQ(o->packet.fields.at("nw_ttl"), "63");
}

TEST(TraceParse, FloodThroughAGroupsBuckets) {
  Walk w = walk_trace(parsed("flood-group"));
  EXPECT_EQ(tables(w), "0:32768 1:0 2:0 3:0 4:0 7:32778 9:0 11:32768 br-phy:0:0");
  ASSERT_EQ(w.outputs.size(), 3u);
  // Bucket 0: back to the input port, which OVS skips.
  EXPECT_EQ(w.outputs[0].branch, "group 2, bucket 0");
  EXPECT_EQ(w.outputs[0].ofport, 2u);
  EXPECT_FALSE(w.outputs[0].effective);
  EXPECT_EQ(w.outputs[0].warnings, std::vector<std::string>{"skipping output to input port"});
  EXPECT_EQ(w.outputs[0].packet.fields.count("tun_dst"), 0u) << "bucket 1's writes do not leak into bucket 0";
  // Bucket 1: the tunnel, with its own writes, then the underlay bridge nested under it.
  EXPECT_EQ(w.outputs[1].branch, "group 2, bucket 1");
  EXPECT_EQ(w.outputs[1].ofport, 100u);
  EXPECT_TRUE(w.outputs[1].effective);
  EXPECT_EQ(w.outputs[1].packet.fields.at("tun_id"), "0x138a");
  EXPECT_EQ(w.outputs[1].packet.fields.at("tun_dst"), "192.168.99.2");
  EXPECT_TRUE(w.outputs[2].underlay);
  EXPECT_EQ(w.outputs[2].bridge, "br-phy");
  EXPECT_EQ(w.steps.back().bridge, "br-phy");
  EXPECT_EQ(w.steps.back().branch, "group 2, bucket 1");
  EXPECT_FALSE(w.drop);
}

TEST(TraceParse, AnsweredByFlowsBackOutOfTheInputPort) {
  for (const char* name : {"arp-router", "icmp-router"}) {
    SCOPED_TRACE(name);
    ParsedTrace t = parsed(name);
    Walk w = walk_trace(t);
    const Output* o = only_effective(w);
    ASSERT_NE(o, nullptr);
    EXPECT_EQ(o->kind, OutputKind::kInPort);
    EXPECT_EQ(o->ofport, 1u);
    EXPECT_EQ(o->packet.fields.at("dl_dst"), "02:00:0a:01:00:0b") << "from the move's detail line";
    EXPECT_EQ(o->packet.fields.at("dl_src"), "1a:23:67:59:63:33");
    EXPECT_EQ(o->packet.fields.at("reg6"), "0x1") << "move:OXM_OF_IN_PORT[]->NXM_NX_REG6[]";
    EXPECT_EQ(o->packet.fields.at("reg7"), "0xc000") << "load:0x1->NXM_NX_REG7[15] over 0x4000";
    // The trailing "This flow is handled by the userspace slow path because it:" lines are notes.
    EXPECT_EQ(t.notes.size(), 2u);
  }
  Walk arp = walk_trace(parsed("arp-router"));
  const Output* o = only_effective(arp);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->packet.fields.at("arp_op"), "2");
  EXPECT_EQ(o->packet.fields.at("arp_spa"), "10.1.0.1");
  EXPECT_EQ(o->packet.fields.at("arp_tpa"), "10.1.0.11");
  EXPECT_EQ(o->packet.fields.at("arp_tha"), "02:00:0a:01:00:0b");
  Walk icmp = walk_trace(parsed("icmp-router"));
  EXPECT_EQ(only_effective(icmp)->packet.fields.at("icmp_type"), "0");
  EXPECT_EQ(only_effective(icmp)->packet.fields.at("nw_dst"), "10.1.0.11");
}

TEST(TraceParse, PuntsToTheController) {
  Walk dhcp = walk_trace(parsed("dhcp-punt"));
  EXPECT_EQ(tables(dhcp), "0:32768 1:0 2:0 3:0 4:32770");
  ASSERT_NE(only_effective(dhcp), nullptr);
  EXPECT_EQ(only_effective(dhcp)->kind, OutputKind::kController);
  EXPECT_EQ(only_effective(dhcp)->action, "CONTROLLER:65535");
  EXPECT_EQ(dhcp.steps.back().cookie, 0x4007000000000001u) << "bit 62 (to workers) | dhcp | netid 1";
  Walk miss = walk_trace(parsed("l3output-miss"));
  ASSERT_NE(only_effective(miss), nullptr);
  EXPECT_EQ(only_effective(miss)->kind, OutputKind::kController);
  EXPECT_EQ(miss.steps.back().table, 6);
  EXPECT_EQ(miss.steps.back().priority, 0);
  EXPECT_EQ(miss.steps.back().cookie, 0x4006000000000000u);
}

TEST(TraceParse, DropPoints) {
  struct Case {
    const char* name;
    int table;
    const char* reason;
    const char* text;
  };
  for (const Case& c : {Case{"ingress-drop", 0, "drop_action", ""}, Case{"no-route", 5, "drop_action", ""},
                        Case{"ttl-expired", 6, "warning", "IPv4 decrement TTL exception"},
                        Case{"tunnel-no-route", 11, "warning", "native tunnel routing failed"},
                        Case{"unknown-unicast", 11, "warning", "skipping output to input port"},
                        Case{"resubmit-chain", 5, "warning", "Nonexistent output port"}}) {
    SCOPED_TRACE(c.name);
    Walk w = walk_trace(parsed(c.name));
    EXPECT_EQ(only_effective(w), nullptr);
    ASSERT_TRUE(w.drop.has_value());
    ASSERT_GE(w.drop->step, 0);
    EXPECT_EQ(w.steps[w.drop->step].table, c.table);
    EXPECT_EQ(w.drop->reason, c.reason);
    EXPECT_EQ(w.drop->text, c.text);
  }
  Walk ttl = walk_trace(parsed("ttl-expired"));
  EXPECT_EQ(ttl.steps.back().warnings, std::vector<std::string>{"IPv4 decrement TTL exception"});
}

TEST(TraceParse, ResubmitsNestAndAThreeDigitTable) {
  ParsedTrace t = parsed("resubmit-chain");
  Walk w = walk_trace(t);
  // Table 0 resubmits to 3, which resubmits to 4; then 0 resubmits to 200 (no flow); goto 5.
  EXPECT_EQ(tables(w), "0:10 3:10 4:10 200!:-1 5:5");
  EXPECT_EQ(w.steps[1].depth, 1);
  EXPECT_EQ(w.steps[2].depth, 2);
  EXPECT_EQ(w.steps[3].depth, 1);
  EXPECT_EQ(w.steps[4].depth, 0);
  EXPECT_EQ(w.steps[1].match, "ip");
  EXPECT_EQ(w.steps[3].actions, std::vector<std::string>{"drop"});
  ASSERT_EQ(w.outputs.size(), 1u);
  EXPECT_EQ(w.outputs[0].ofport, 77u);
  EXPECT_FALSE(w.outputs[0].effective);
  EXPECT_EQ(w.outputs[0].packet.fields.at("reg6"), "0x7") << "written in the resubmitted table 3";
  // The tree: table 3 and 200 are children of table 0, table 4 of table 3.
  const Node& t0 = t.bridges[0].nodes[0];
  ASSERT_EQ(t0.kind, NodeKind::kTable);
  int tables_under_0 = 0;
  for (const Node& c : t0.children) tables_under_0 += c.kind == NodeKind::kTable;
  EXPECT_EQ(tables_under_0, 2);
  EXPECT_EQ(t.bridges[0].nodes.size(), 2u);
}

TEST(TraceParse, EveryGoldenAlsoParsesWithCrlf) {
  for (const char* name : {"routed-vxlan", "flood-group", "resubmit-chain", "arp-router"}) {
    SCOPED_TRACE(name);
    std::string text = golden(name), crlf;
    for (char c : text) {
      if (c == '\n') crlf += '\r';
      crlf += c;
    }
    auto a = parse_trace(text), b = parse_trace(crlf);
    ASSERT_TRUE(a.ok() && b.ok());
    Walk wa = walk_trace(*a), wb = walk_trace(*b);
    EXPECT_EQ(tables(wa), tables(wb));
    ASSERT_EQ(wa.outputs.size(), wb.outputs.size());
    for (size_t i = 0; i < wa.outputs.size(); ++i)
      EXPECT_EQ(wa.outputs[i].packet.fields, wb.outputs[i].packet.fields);
    EXPECT_EQ(a->final_flow, b->final_flow);
  }
}

TEST(TraceParse, UnknownLinesAreNotesNotErrors) {
  std::string text = golden("routed-local");
  // A line of a shape this parser has never seen, at the top of the bridge section, and one in
  // the trailer (a newer OVS's addition).
  size_t at = text.find(" 1. priority 0");
  ASSERT_NE(at, std::string::npos);
  text.insert(at, "Some new top-level remark\n");
  text += "Extra trailer: something\n";
  auto r = parse_trace(text);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->notes, std::vector<std::string>{"Extra trailer: something"});
  int notes_in_bridge = 0;
  for (const Node& n : r->bridges[0].nodes) notes_in_bridge += n.kind == NodeKind::kNote;
  EXPECT_EQ(notes_in_bridge, 1);
  Walk w = walk_trace(*r);
  ASSERT_NE(only_effective(w), nullptr);
  EXPECT_EQ(only_effective(w)->ofport, 2u) << "the note changes nothing of the walk";
}

TEST(TraceParse, TranslationErrorIsTheDropReason) {
  std::string text = golden("ingress-drop");
  text += "Translation failed (Recursion too deep), packet is dropped.\n";
  auto r = parse_trace(text);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->translation_error.has_value());
  Walk w = walk_trace(*r);
  ASSERT_TRUE(w.drop);
  EXPECT_EQ(w.drop->reason, "translation_error");
}

TEST(TraceParse, MalformedTextIsAClearError) {
  EXPECT_EQ(parse_trace("").status().code(), Errc::kMalformed);
  EXPECT_EQ(parse_trace("garbage\n\n\n").status().code(), Errc::kMalformed);
  EXPECT_EQ(parse_trace("Flow: icmp,in_port=1\n").status().code(), Errc::kMalformed) << "no bridge section";
  EXPECT_EQ(parse_trace(std::string((4u << 20) + 1, ' ')).status().code(), Errc::kResourceExhausted);
  // Truncated anywhere: never a crash, and a prefix with a bridge still parses.
  std::string text = golden("flood-group");
  for (size_t n = 0; n < text.size(); n += 7) {
    auto r = parse_trace(text.substr(0, n));
    if (r.ok()) (void)walk_trace(*r);
  }
  // Odd indentation and odd table lines: no crash, kept.
  auto r = parse_trace(
      "Flow: icmp\nbridge(\"b\")\n---\n 0. \n   999. x\n 1. priority x, cookie zz\n        deep\n  -> d\n >> "
      "w\n"
      ">>>> e <<<<\n    bucket 1\n      bridge(\"n\")\n");
  ASSERT_TRUE(r.ok());
  (void)walk_trace(*r);
}

TEST(TraceParse, FlowFields) {
  auto f = flow_fields("icmp,in_port=1,dl_src=02:00:00:00:00:01,tun_ipv6_src=::");
  EXPECT_EQ(f[""], "icmp");
  EXPECT_EQ(f["in_port"], "1");
  EXPECT_EQ(f["dl_src"], "02:00:00:00:00:01");
  EXPECT_EQ(f["tun_ipv6_src"], "::");
}

}  // namespace
}  // namespace vlcp::trace
