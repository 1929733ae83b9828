// Differential tests against Open vSwitch's own codec (libopenvswitch, the oracle):
// - flows that OVS encodes decode in ours, print identically, and re-encode byte for byte;
// - messages that we encode are accepted by OVS's decoders and print identically.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "ofp/message.h"
#include "ofp/print.h"
#include "oracle/ovs_oracle.h"

namespace vlcp::ofp {
namespace {

struct Freed {
  void operator()(void* p) const { std::free(p); }
};

std::string ovs_print(ByteSpan msg) {
  std::unique_ptr<char, Freed> text(ovs_oracle_print(msg.data(), msg.size()));
  std::string s(text.get());
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

std::string ovs_decode_error(ByteSpan msg) {
  char* name = nullptr;
  int rc = ovs_oracle_decode(msg.data(), msg.size(), &name);
  std::unique_ptr<char, Freed> owned(name);
  return rc == 0 ? "" : (name ? name : "error");
}

// OVS encodes these; we must decode, print the same text and re-encode the same bytes.
const char* const kOvsFlows[] = {
    "actions=drop",
    "priority=1,in_port=1,actions=output:2",
    "table=3,priority=100,in_port=LOCAL,actions=NORMAL",
    "priority=10,ip,nw_src=10.0.0.0/8,nw_dst=192.168.1.1,actions=output:3",
    "tcp,tp_dst=80,actions=CONTROLLER:65535",
    "udp,tp_src=68,tp_dst=67,actions=CONTROLLER:128",
    "arp,arp_op=1,arp_tpa=10.0.0.1,actions=LOCAL",
    "dl_src=02:00:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,actions=FLOOD",
    "dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=drop",
    "dl_vlan=100,actions=pop_vlan,output:1",
    "vlan_tci=0x0000,actions=push_vlan:0x8100,set_field:4196->vlan_vid,output:2",
    "reg0=0x5,reg1=0x10/0xff,actions=resubmit(,2)",
    "metadata=0x1/0xff,actions=goto_table:4",
    "tun_id=0x1388,actions=output:1",
    "in_port=1,actions=set_field:0x1388->tun_id,output:100",
    "in_port=1,actions=load:0x1->NXM_NX_REG0[0..15],resubmit(,1)",
    "actions=move:NXM_OF_IN_PORT[]->NXM_NX_REG1[0..15],resubmit(,5)",
    "actions=output:NXM_NX_REG1[0..15]",
    "ip,actions=set_field:02:00:00:00:00:fe->eth_src,set_field:10.0.0.254->ip_src",
    "icmp,icmp_type=8,actions=dec_ttl,output:4",
    "ipv6,ipv6_src=fe80::1,actions=drop",
    "priority=5,cookie=0x10,idle_timeout=30,hard_timeout=60,actions=output:1",
    "conj_id=7,actions=output:9",
    "ip,nw_src=10.0.0.1,actions=conjunction(7,1/2)",
    "actions=group:5",
    "actions=note:01.02.03.04.05.06",
    "actions=write_metadata:0x10/0xff,goto_table:2",
    "actions=clear_actions,write_actions(output:3)",
    "actions=learn(table=10,idle_timeout=300,priority=100,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],"
    "load:NXM_OF_IN_PORT[]->NXM_NX_REG1[0..15]),resubmit(,11)",
    "actions=set_queue:3,output:1",
    "ip,nw_tos=32,nw_ecn=1,actions=drop",
    "tcp6,tp_src=1000,actions=drop",
    "tun_src=192.168.99.1,tun_dst=192.168.99.2,actions=output:1",
    "pkt_mark=0x5,actions=drop",
    // Issue 14: an ARP responder. OVS writes its moves with NXM headers (NXM_NX_ARP_SHA).
    "table=2,priority=32769,arp,reg4=0x1,arp_tpa=10.0.0.5,arp_op=1 actions=move:NXM_OF_ETH_SRC[]->"
    "NXM_OF_ETH_DST[],set_field:02:00:00:00:00:05->eth_src,set_field:2->arp_op,move:NXM_NX_ARP_SHA[]->"
    "NXM_NX_ARP_THA[],set_field:02:00:00:00:00:05->arp_sha,move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],"
    "set_field:10.0.0.5->arp_spa,IN_PORT",
    "rarp,arp_spa=10.0.0.1,actions=set_field:3->arp_op,move:NXM_NX_ARP_SHA[0..23]->NXM_NX_ARP_THA[24..47]",
    "icmp6,icmp_type=135,nd_target=fe80::1,actions=move:NXM_NX_ND_TARGET[]->NXM_NX_IPV6_SRC[],"
    "move:NXM_NX_IPV6_LABEL[]->NXM_NX_REG0[0..19],load:0x1->NXM_NX_IP_ECN[]",
    "vlan_tci=0x1000/"
    "0x1000,actions=load:0x5->OXM_OF_VLAN_VID[],move:NXM_OF_IN_PORT[0..11]->OXM_OF_VLAN_VID[]",
};

TEST(OvsDifferential, FlowsEncodedByOvsDecodePrintAndReencodeIdentically) {
  for (const char* flow : kOvsFlows) {
    SCOPED_TRACE(flow);
    size_t len = 0;
    char* error = nullptr;
    std::unique_ptr<uint8_t, Freed> bytes(ovs_oracle_encode_flow(flow, 0, &len, &error));
    std::unique_ptr<char, Freed> owned_error(error);
    ASSERT_TRUE(bytes) << error;
    ByteSpan msg(bytes.get(), len);
    auto frame = decode_frame(msg);
    ASSERT_TRUE(frame.ok()) << error_name(frame.error());
    auto fm = decode_flow_mod(*frame);
    ASSERT_TRUE(fm.ok()) << error_name(fm.error()) << " " << to_hex(msg);
    EXPECT_EQ(print_message(msg), ovs_print(msg));
    InlineBuffer<512> again;
    encode_flow_mod(again, frame->header.xid, *fm);
    EXPECT_EQ(to_hex(again.span()), to_hex(msg));
  }
}

// The same ARP responder as a switch reports it in a flow stats reply: it decodes.
TEST(OvsDifferential, ArpResponderReadBackFromFlowStats) {
  const char* flow = kOvsFlows[std::size(kOvsFlows) - 4];
  size_t len = 0;
  char* error = nullptr;
  std::unique_ptr<uint8_t, Freed> bytes(ovs_oracle_encode_flow(flow, 0, &len, &error));
  std::unique_ptr<char, Freed> owned_error(error);
  ASSERT_TRUE(bytes) << error;
  auto frame = decode_frame(ByteSpan(bytes.get(), len));
  ASSERT_TRUE(frame.ok());
  auto fm = decode_flow_mod(*frame);
  ASSERT_TRUE(fm.ok()) << error_name(fm.error());
  FlowStats s;
  s.table_id = fm->table_id;
  s.priority = fm->priority;
  s.match = fm->match;
  s.instructions = fm->instructions;
  InlineBuffer<512> body;
  encode_flow_stats_entry(body, s);
  auto stats = decode_flow_stats_reply(body.span());
  ASSERT_TRUE(stats.ok()) << error_name(stats.error());
  ASSERT_EQ(stats->size(), 1u);
  EXPECT_EQ(to_hex((*stats)[0].instructions.bytes()), to_hex(fm->instructions.bytes()));
}

// Built with our encoders; OVS must accept them and print what we print.
std::vector<FlowMod> our_flow_mods() {
  std::vector<FlowMod> out;
  auto add = [&](auto&& build) {
    FlowMod m;
    build(m);
    out.push_back(std::move(m));
  };
  add([](FlowMod& m) {
    m.priority = 100;
    m.table_id = 1;
    m.match.add(Field::kInPort, 3)
        .add(Field::kEthType, 0x0800)
        .add(Field::kIpProto, 6)
        .add(Field::kTcpDst, 22);
    m.instructions.apply_actions(ActionList().output(4));
  });
  add([](FlowMod& m) {
    m.match.add(Field::kReg0, 7).add_masked(Field::kMetadata, 0x100, 0xff00);
    m.instructions.apply_actions(ActionList().set_field(Field::kReg1, 9).resubmit(0xfff8, 5)).goto_table(6);
  });
  add([](FlowMod& m) {
    m.match.add(Field::kVlanVid, 0x1000 | 42);
    m.instructions.apply_actions(ActionList().pop_vlan().output(kPortNormal));
  });
  add([](FlowMod& m) {
    m.match.add(Field::kEthType, 0x0806)
        .add(Field::kArpOp, 1)
        .add_masked(Field::kArpTpa, 0x0a000000, 0xff000000);
    m.instructions.apply_actions(ActionList().controller());
  });
  add([](FlowMod& m) {
    m.command = FlowModCommand::kDeleteStrict;
    m.cookie = 0x1234;
    m.cookie_mask = 0xffff;
    m.priority = 7;
    m.match.add(Field::kTunnelId, 5001);
  });
  add([](FlowMod& m) {
    m.idle_timeout = 10;
    m.flags = kFlowSendFlowRem;
    m.match.add(Field::kInPort, 1).add(Field::kEthType, 0x0800);
    m.instructions.apply_actions(ActionList()
                                     .reg_load(Subfield{Field::kReg2, 0, 16}, 0x99)
                                     .reg_move(Subfield{Field::kReg2, 0, 16}, Subfield{Field::kReg3, 16, 16})
                                     .output_reg(Subfield{Field::kReg3, 16, 16})
                                     .dec_ttl()
                                     .group(3));
  });
  add([](FlowMod& m) {
    LearnHeader h;
    h.table_id = 20;
    h.idle_timeout = 300;
    h.priority = 10;
    m.instructions.apply_actions(ActionList().learn(
        h,
        {LearnSpec{
             LearnSpec::Kind::kMatch, 48, false, {Field::kNxmEthSrc, 0, 48}, {}, {Field::kNxmEthDst, 0, 48}},
         LearnSpec{
             LearnSpec::Kind::kLoad, 16, false, {Field::kNxmInPort, 0, 16}, {}, {Field::kReg1, 0, 16}}}));
  });
  add([](FlowMod& m) {
    m.match.add(Field::kEthType, 0x86dd).add(Field::kIpProto, 58).add(Field::kIcmpv6Type, 135);
    m.instructions.apply_actions(ActionList().conjunction(9, 2, 3).conjunction(10, 1, 2));
  });
  add([](FlowMod& m) {
    m.instructions.write_metadata(0x5, 0xf).meter(2).clear_actions().write_actions(ActionList().output(2));
  });
  return out;
}

TEST(OvsDifferential, MessagesWeEncodeAreAcceptedByOvsAndPrintTheSame) {
  uint32_t xid = 1;
  for (const FlowMod& m : our_flow_mods()) {
    InlineBuffer<512> msg;
    encode_flow_mod(msg, xid++, m);
    SCOPED_TRACE(to_hex(msg.span()));
    EXPECT_EQ(ovs_decode_error(msg.span()), "");
    EXPECT_EQ(print_message(msg.span()), ovs_print(msg.span()));
  }
}

}  // namespace
}  // namespace vlcp::ofp

namespace vlcp::ofp {
namespace {

// Messages a switch sends or a controller asks for, printed by both.
TEST(OvsDifferential, OtherMessagesPrintTheSame) {
  std::vector<std::vector<uint8_t>> messages;
  auto add = [&](auto&& encode) {
    InlineBuffer<512> b;
    encode(b);
    messages.emplace_back(b.data(), b.data() + b.size());
  };
  add([](Buffer& b) {
    FlowRemoved r;
    r.cookie = 0x42;
    r.priority = 100;
    r.reason = 0;
    r.table_id = 3;
    r.duration_sec = 12;
    r.duration_nsec = 345000000;
    r.idle_timeout = 30;
    r.packet_count = 7;
    r.byte_count = 700;
    r.match.add(Field::kInPort, 2).add(Field::kEthType, 0x0800).add(Field::kIpv4Src, 0x0a000001);
    encode_flow_removed(b, 1, r);
  });
  add([](Buffer& b) {
    FlowRemoved r;
    r.reason = 2;
    r.table_id = 0xff;
    r.duration_nsec = 1234;
    r.hard_timeout = 60;
    encode_flow_removed(b, 2, r);
  });
  add([](Buffer& b) { encode_role(b, MsgType::kRoleRequest, 3, RoleMsg{Role::kMaster, 7}); });
  add([](Buffer& b) { encode_role(b, MsgType::kRoleReply, 4, RoleMsg{Role::kSlave, ~uint64_t{0}}); });
  add([](Buffer& b) { encode_switch_config(b, MsgType::kSetConfig, 5, SwitchConfig{2, 0xffe5}); });
  add([](Buffer& b) { encode_simple(b, MsgType::kBarrierReply, 6); });
  add([](Buffer& b) { encode_features_reply(b, 7, FeaturesReply{0xabcdef, 0, 254, 0, 0x147}); });
  for (const auto& m : messages) {
    SCOPED_TRACE(to_hex(ByteSpan(m)));
    EXPECT_EQ(print_message(ByteSpan(m)), ovs_print(ByteSpan(m)));
  }
}

}  // namespace
}  // namespace vlcp::ofp
