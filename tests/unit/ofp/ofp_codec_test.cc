// The codec on its own: every message round-trips byte for byte, hostile input gets the
// typed error OpenFlow prescribes (never a crash or an over-read), and a typical FLOW_MOD is
// encoded without touching the heap.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "ofp/message.h"
#include "ofp/print.h"

// Counts heap allocations made by this test binary (for the no-allocation guarantees). g++ 12
// cannot see that these new/delete replacements pair with each other.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
static std::atomic<long> g_allocations{0};
void* operator new(size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

namespace vlcp::ofp {
namespace {

using namespace errors;

template <typename Encode>
std::vector<uint8_t> bytes_of(Encode&& encode) {
  InlineBuffer<1024> b;
  encode(b);
  return {b.data(), b.data() + b.size()};
}

Frame frame_of(const std::vector<uint8_t>& bytes) {
  auto f = decode_frame(ByteSpan(bytes));
  EXPECT_TRUE(f.ok()) << error_name(f.error());
  return *f;
}

FlowMod typical_flow_mod() {
  FlowMod m;
  m.table_id = 3;
  m.priority = 100;
  m.cookie = 0x1234;
  m.match.add(Field::kInPort, 5)
      .add(Field::kReg0, 17)
      .add_masked(Field::kMetadata, 0x10, 0xff)
      .add(Field::kEthType, 0x0800)
      .add(Field::kIpv4Dst, 0x0a000002);
  m.instructions
      .apply_actions(ActionList()
                         .set_field(Field::kReg1, 42)
                         .reg_load(Subfield{Field::kReg2, 0, 16}, 7)
                         .set_field(Field::kTunnelId, 5001)
                         .resubmit(0xfff8, 7))
      .goto_table(4);
  return m;
}

TEST(Codec, FlowModRoundTripsByteForByte) {
  auto bytes = bytes_of([](Buffer& b) { encode_flow_mod(b, 9, typical_flow_mod()); });
  auto m = decode_flow_mod(frame_of(bytes));
  ASSERT_TRUE(m.ok()) << error_name(m.error());
  EXPECT_EQ(m->priority, 100);
  EXPECT_EQ(m->match.find(Field::kReg0)->value_u64(), 17u);
  EXPECT_EQ(m->match.find(Field::kMetadata)->mask_u64(), 0xffu);
  auto again = bytes_of([&](Buffer& b) { encode_flow_mod(b, 9, *m); });
  EXPECT_EQ(again, bytes);
}

TEST(Codec, TypicalFlowModEncodesWithoutAllocating) {
  FlowMod m = typical_flow_mod();  // building may allocate nothing either: inline storage
  EXPECT_FALSE(m.match.on_heap());
  EXPECT_FALSE(m.instructions.on_heap());
  InlineBuffer<512> out;
  long before = g_allocations.load();
  for (uint32_t xid = 0; xid < 100; ++xid) {
    out.clear();
    encode_flow_mod(out, xid, m);
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_FALSE(out.on_heap());
}

// Found by the exhaustive field test (issue 14): the first bytes put into a Match, ActionList or
// InstructionList that did not fit its inline storage were written past it (the heap copy was
// only made when something was already held). A decoded FLOW_MOD with a long match or long
// instructions is exactly that first append.
TEST(Codec, LongFirstAppendGoesToTheHeap) {
  std::vector<uint8_t> oxms;
  for (int i = 0; i < 16; ++i) {  // 16 masked registers: 192 bytes of TLVs, over Match's 128
    uint32_t h = oxm_header(Field::kReg0, true) + (static_cast<uint32_t>(i) << 9);
    for (int k = 3; k >= 0; --k) oxms.push_back(static_cast<uint8_t>(h >> (8 * k)));
    for (int k = 0; k < 8; ++k) oxms.push_back(static_cast<uint8_t>(k < 4 ? 0 : 0xff));
  }
  Match m = Match::from_oxms(ByteSpan(oxms.data(), oxms.size()));
  EXPECT_TRUE(m.on_heap());
  EXPECT_EQ(to_hex(m.oxms()), to_hex(ByteSpan(oxms.data(), oxms.size())));
  ActionList long_actions;
  for (int i = 0; i < 20; ++i) long_actions.output(static_cast<uint32_t>(i + 1));  // 320 bytes
  InstructionList ins;
  ins.apply_actions(long_actions);
  FlowMod fm;
  fm.match = m;
  fm.instructions = InstructionList(ins.bytes());  // one append of 328 bytes, over 192
  EXPECT_TRUE(fm.instructions.on_heap());
  auto bytes = bytes_of([&](Buffer& b) { encode_flow_mod(b, 3, fm); });
  auto back = decode_flow_mod(frame_of(bytes));
  ASSERT_TRUE(back.ok()) << error_name(back.error());
  EXPECT_TRUE(back->match.on_heap());
  EXPECT_TRUE(back->instructions.on_heap());
  EXPECT_EQ(bytes_of([&](Buffer& b) { encode_flow_mod(b, 3, *back); }), bytes);
}

TEST(Codec, PacketInDecodesWithoutAllocatingAndPointsIntoTheInput) {
  const uint8_t frame[42] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06};
  Match m;
  m.add(Field::kInPort, 3).add(Field::kReg5, 0x99);
  PacketInView in;
  in.buffer_id = kNoBuffer;
  in.total_len = sizeof frame;
  in.reason = 1;
  in.table_id = 2;
  in.cookie = 0xabc;
  in.data = ByteSpan(frame, sizeof frame);
  auto bytes = bytes_of([&](Buffer& b) { encode_packet_in(b, 1, in, m.oxms()); });
  Frame f = frame_of(bytes);
  long before = g_allocations.load();
  auto p = decode_packet_in(f);
  auto port = p->match.find(Field::kInPort);
  EXPECT_EQ(g_allocations.load() - before, 0);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(port->value_u64(), 3u);
  EXPECT_EQ(p->table_id, 2);
  EXPECT_EQ(p->cookie, 0xabcu);
  EXPECT_EQ(p->data.size(), sizeof frame);
  EXPECT_EQ(p->data.data(), bytes.data() + bytes.size() - sizeof frame);  // a view, not a copy
  auto again = bytes_of([&](Buffer& b) { encode_packet_in(b, 1, *p, p->match.oxms()); });
  EXPECT_EQ(again, bytes);
}

TEST(Codec, EveryMessageKindRoundTrips) {
  std::vector<std::vector<uint8_t>> messages;
  messages.push_back(bytes_of([](Buffer& b) { encode_hello(b, 1, Hello{(1u << kOfp13) | (1u << kOfp14)}); }));
  messages.push_back(bytes_of([](Buffer& b) { encode_simple(b, MsgType::kEchoRequest, 2); }));
  messages.push_back(bytes_of([](Buffer& b) { encode_simple(b, MsgType::kBarrierRequest, 3); }));
  messages.push_back(bytes_of([](Buffer& b) {
    encode_features_reply(b, 4, FeaturesReply{0x1234, 256, 254, 0, 0x4f});
  }));
  messages.push_back(bytes_of([](Buffer& b) {
    encode_switch_config(b, MsgType::kSetConfig, 5, SwitchConfig{0, 0xffff});
  }));
  messages.push_back(bytes_of([](Buffer& b) {
    encode_role(b, MsgType::kRoleRequest, 6, RoleMsg{Role::kMaster, 42});
  }));
  messages.push_back(bytes_of([](Buffer& b) {
    PacketOut p;
    p.in_port = kPortController;
    p.actions.output(2).group(7);
    static const uint8_t data[60] = {1, 2, 3};
    p.data = ByteSpan(data, sizeof data);
    encode_packet_out(b, 7, p);
  }));
  messages.push_back(bytes_of([](Buffer& b) {
    FlowRemoved r;
    r.cookie = 1;
    r.priority = 5;
    r.reason = 1;
    r.packet_count = 10;
    r.match.add(Field::kInPort, 1);
    encode_flow_removed(b, 8, r);
  }));
  messages.push_back(bytes_of([](Buffer& b) {
    PortStatus s;
    s.reason = 2;
    s.port.port_no = 3;
    s.port.name = "veth3";
    s.port.hw_addr = {2, 0, 0, 0, 0, 3};
    s.port.curr_speed = 10000000;
    encode_port_status(b, 9, s);
  }));
  messages.push_back(bytes_of([](Buffer& b) {
    GroupMod g;
    g.type = 1;
    g.group_id = 10;
    g.buckets.push_back(Bucket{1, kPortAny, kGroupAny, ActionList().output(1)});
    g.buckets.push_back(Bucket{1, kPortAny, kGroupAny, ActionList().output(2)});
    encode_group_mod(b, 10, g);
  }));
  messages.push_back(bytes_of([](Buffer& b) { encode_error(b, 11, kBadRequest_BAD_TYPE, ByteSpan()); }));
  messages.push_back(bytes_of([](Buffer& b) {
    FlowStatsRequest q;
    q.match.add(Field::kInPort, 1);
    encode_flow_stats_request(b, 12, q);
  }));
  for (const auto& bytes : messages) {
    SCOPED_TRACE(to_hex(ByteSpan(bytes)));
    EXPECT_EQ(validate_message(ByteSpan(bytes)), std::nullopt);
    Frame f = frame_of(bytes);
    std::vector<uint8_t> again;
    switch (f.header.type) {
      case MsgType::kHello:
        again = bytes_of([&](Buffer& b) { encode_hello(b, f.header.xid, *decode_hello(f)); });
        break;
      case MsgType::kEchoRequest:
      case MsgType::kBarrierRequest:
        again = bytes_of([&](Buffer& b) { encode_simple(b, f.header.type, f.header.xid, f.body); });
        break;
      case MsgType::kFeaturesReply:
        again =
            bytes_of([&](Buffer& b) { encode_features_reply(b, f.header.xid, *decode_features_reply(f)); });
        break;
      case MsgType::kSetConfig:
        again = bytes_of([&](Buffer& b) {
          encode_switch_config(b, f.header.type, f.header.xid, *decode_switch_config(f));
        });
        break;
      case MsgType::kRoleRequest:
        again = bytes_of([&](Buffer& b) { encode_role(b, f.header.type, f.header.xid, *decode_role(f)); });
        break;
      case MsgType::kPacketOut:
        again = bytes_of([&](Buffer& b) { encode_packet_out(b, f.header.xid, *decode_packet_out(f)); });
        break;
      case MsgType::kFlowRemoved:
        again = bytes_of([&](Buffer& b) { encode_flow_removed(b, f.header.xid, *decode_flow_removed(f)); });
        break;
      case MsgType::kPortStatus:
        again = bytes_of([&](Buffer& b) { encode_port_status(b, f.header.xid, *decode_port_status(f)); });
        break;
      case MsgType::kGroupMod:
        again = bytes_of([&](Buffer& b) { encode_group_mod(b, f.header.xid, *decode_group_mod(f)); });
        break;
      case MsgType::kError: {
        auto e = decode_error(f);
        again = bytes_of([&](Buffer& b) { encode_error(b, f.header.xid, e->error, e->data); });
        break;
      }
      case MsgType::kMultipartRequest: {
        auto mp = decode_multipart(f);
        again = bytes_of(
            [&](Buffer& b) { encode_multipart_request(b, f.header.xid, mp->type, mp->body, mp->flags); });
        break;
      }
      default:
        ADD_FAILURE() << "no round trip for " << message_name(f.header.type);
    }
    EXPECT_EQ(again, bytes);
  }
}

// --- hostile input ----------------------------------------------------------------------------

std::vector<uint8_t> valid_flow_mod() {
  return bytes_of([](Buffer& b) { encode_flow_mod(b, 1, typical_flow_mod()); });
}

TEST(CodecErrors, HeaderLevelProblemsAreCaughtCentrally) {
  auto m = valid_flow_mod();
  EXPECT_EQ(decode_frame(ByteSpan(m.data(), 7)).error(), kBadRequest_BAD_LEN);  // shorter than a header
  auto wrong_version = m;
  wrong_version[0] = 0x01;
  EXPECT_EQ(decode_frame(ByteSpan(wrong_version)).error(), kBadRequest_BAD_VERSION);
  auto unknown_type = m;
  unknown_type[1] = 200;
  EXPECT_EQ(decode_frame(ByteSpan(unknown_type)).error(), kBadRequest_BAD_TYPE);
  auto truncated = m;
  truncated.pop_back();  // the length field now claims one byte more than there is
  EXPECT_EQ(decode_frame(ByteSpan(truncated)).error(), kBadRequest_BAD_LEN);
  auto over_long = m;
  over_long.push_back(0);
  EXPECT_EQ(decode_frame(ByteSpan(over_long)).error(), kBadRequest_BAD_LEN);
  auto below_minimum = bytes_of([](Buffer& b) { encode_simple(b, MsgType::kFlowMod, 1); });
  EXPECT_EQ(decode_frame(ByteSpan(below_minimum)).error(), kBadRequest_BAD_LEN);
  auto fixed_size_with_tail = bytes_of([](Buffer& b) {
    encode_simple(b, MsgType::kBarrierRequest, 1, ByteSpan(reinterpret_cast<const uint8_t*>("xxxxxxxx"), 8));
  });
  EXPECT_EQ(decode_frame(ByteSpan(fixed_size_with_tail)).error(), kBadRequest_BAD_LEN);
}

// Offsets into the encoded typical FLOW_MOD: header 8 + fixed part 40, then the match.
constexpr size_t kMatchAt = 48;

TEST(CodecErrors, InnerLengthsAreChecked) {
  auto m = valid_flow_mod();
  auto bad_match_len = m;
  store_be16(bad_match_len.data() + kMatchAt + 2, 2000);  // ofp_match longer than the message
  EXPECT_EQ(validate_message(ByteSpan(bad_match_len)), kBadMatch_BAD_LEN);

  auto bad_oxm_len = m;
  bad_oxm_len[kMatchAt + 4 + 3] = 5;  // in_port TLV claiming 5 bytes
  EXPECT_EQ(validate_message(ByteSpan(bad_oxm_len)), kBadMatch_BAD_LEN);

  FlowMod f = typical_flow_mod();
  size_t instructions_at = kMatchAt + f.match.wire_size();
  auto bad_instruction_len = m;
  store_be16(bad_instruction_len.data() + instructions_at + 2, 12);  // not a multiple of 8
  EXPECT_EQ(validate_message(ByteSpan(bad_instruction_len)), kBadInstruction_BAD_LEN);

  auto bad_action_len = m;
  store_be16(bad_action_len.data() + instructions_at + 8 + 2, 0x400);  // first action overruns
  EXPECT_EQ(validate_message(ByteSpan(bad_action_len)), kBadAction_BAD_LEN);

  GroupMod g;
  g.buckets.push_back(Bucket{0, kPortAny, kGroupAny, ActionList().output(1)});
  auto group = bytes_of([&](Buffer& b) { encode_group_mod(b, 1, g); });
  store_be16(group.data() + 16, 8);  // bucket shorter than its header
  EXPECT_EQ(validate_message(ByteSpan(group)), kGroupModFailed_BAD_BUCKET);
}

TEST(CodecErrors, MatchSemanticsAreChecked) {
  auto encode_match_only = [](Match m) {
    FlowMod f;
    f.match = m;
    return bytes_of([&](Buffer& b) { encode_flow_mod(b, 1, f); });
  };
  // tcp_dst without eth_type/ip_proto before it.
  EXPECT_EQ(validate_message(ByteSpan(encode_match_only(Match().add(Field::kTcpDst, 80)))),
            kBadMatch_BAD_PREREQ);
  EXPECT_EQ(validate_message(ByteSpan(encode_match_only(
                Match().add(Field::kTcpDst, 80).add(Field::kEthType, 0x0800).add(Field::kIpProto, 6)))),
            kBadMatch_BAD_PREREQ);  // prerequisites must come first
  EXPECT_EQ(validate_message(ByteSpan(encode_match_only(Match().add(Field::kReg0, 1).add(Field::kReg0, 2)))),
            kBadMatch_DUP_FIELD);
  EXPECT_EQ(validate_message(ByteSpan(encode_match_only(Match().add(Field::kInPort, 0x12345678)))),
            kBadMatch_BAD_VALUE);
  // 1-bits in the value outside the mask: value 0x000000ff under mask 0x0000000f.
  auto m = encode_match_only(Match().add_masked(Field::kReg0, 0x0f, 0xff));
  const size_t value_at = kMatchAt + 4 + 4;  // ofp_match header, OXM header
  m[value_at + 3] = 0xff;
  m[value_at + 4 + 3] = 0x0f;
  EXPECT_EQ(validate_message(ByteSpan(m)), kBadMatch_BAD_WILDCARDS);
}

TEST(CodecErrors, ActionsAreCheckedAgainstTheMatch) {
  FlowMod f;
  f.instructions.apply_actions(ActionList().dec_ttl());  // needs IP
  auto bytes = bytes_of([&](Buffer& b) { encode_flow_mod(b, 1, f); });
  EXPECT_EQ(validate_message(ByteSpan(bytes)), kBadAction_MATCH_INCONSISTENT);
  f.match.add(Field::kEthType, 0x0800);
  bytes = bytes_of([&](Buffer& b) { encode_flow_mod(b, 1, f); });
  EXPECT_EQ(validate_message(ByteSpan(bytes)), std::nullopt);

  FlowMod g;
  g.instructions.apply_actions(ActionList().output(0xfffff000));  // not a port OVS can have
  bytes = bytes_of([&](Buffer& b) { encode_flow_mod(b, 1, g); });
  EXPECT_EQ(validate_message(ByteSpan(bytes)), kBadAction_BAD_OUT_PORT);
}

// Whether a VLAN header is there after a write into NXM vlan_tci, as OVS's ofpacts_check
// decides it (check_SET_FIELD: the loaded value, placed at its offset, becomes the whole TCI,
// whatever bits the load covers; a reg_move leaves it as it was). So a reg_load into
// vlan_tci[0..11] drops the header even though it does not cover bit 12 (CFI), and a VLAN
// action after it is inconsistent. ofp_field_exhaustive_test sweeps every bit range against OVS.
TEST(CodecErrors, VlanPresenceAfterAWriteIntoVlanTciIsDecidedAsOvsDoes) {
  auto verdict = [](bool vlan_matched, const ActionList& a) {
    FlowMod f;
    if (vlan_matched) f.match.add(Field::kVlanVid, 0x1005);
    f.instructions.apply_actions(a);
    auto bytes = bytes_of([&](Buffer& b) { encode_flow_mod(b, 1, f); });
    return validate_message(ByteSpan(bytes));
  };
  const Subfield vid_bits{Field::kNxmVlanTci, 0, 12}, cfi{Field::kNxmVlanTci, 12, 1};
  EXPECT_EQ(verdict(true, ActionList().pop_vlan()), std::nullopt);
  EXPECT_EQ(verdict(false, ActionList().pop_vlan()), kBadAction_MATCH_INCONSISTENT);
  // reg_load:5->NXM_OF_VLAN_TCI[0..11]: the TCI becomes 0x0005, no CFI: OVS refuses the pop.
  EXPECT_EQ(verdict(true, ActionList().reg_load(vid_bits, 5)), std::nullopt);
  EXPECT_EQ(verdict(true, ActionList().reg_load(vid_bits, 5).pop_vlan()), kBadAction_MATCH_INCONSISTENT);
  // reg_load:1->NXM_OF_VLAN_TCI[12] adds it; reg_load:0->NXM_OF_VLAN_TCI[12] drops it.
  EXPECT_EQ(verdict(false, ActionList().reg_load(cfi, 1).pop_vlan()), std::nullopt);
  EXPECT_EQ(verdict(true, ActionList().reg_load(cfi, 0).pop_vlan()), kBadAction_MATCH_INCONSISTENT);
  // A move into vlan_tci, even over bit 12, leaves presence as the match said.
  const Subfield reg0{Field::kReg0, 0, 16}, tci{Field::kNxmVlanTci, 0, 16};
  EXPECT_EQ(verdict(true, ActionList().reg_move(reg0, tci).pop_vlan()), std::nullopt);
  EXPECT_EQ(verdict(false, ActionList().reg_move(reg0, tci).pop_vlan()), kBadAction_MATCH_INCONSISTENT);
}

TEST(CodecErrors, ErrorsBecomeOfptErrorReplies) {
  auto m = valid_flow_mod();
  m[0] = 0x06;
  auto err = validate_message(ByteSpan(m));
  ASSERT_TRUE(err.has_value());
  auto reply = bytes_of([&](Buffer& b) { encode_error(b, 1, *err, ByteSpan(m)); });
  auto e = decode_error(frame_of(reply));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->error, kBadRequest_BAD_VERSION);
  EXPECT_EQ(e->data.size(), 64u);  // the first 64 bytes of the offending message
  // As ovs-ofctl prints it: the error, then the echoed bytes (cut at 64, version 6 unknown to
  // both: no header line) with the truncation mark and a hex dump.
  std::string text = print_message(ByteSpan(reply));
  EXPECT_EQ(text.substr(0, text.find('\n')), "OFPT_ERROR (OF1.3) (xid=0x1): OFPBRC_BAD_VERSION");
  EXPECT_NE(text.find("\n(***truncated to 64 bytes from 192***)\n00000000  06 0e 00 c0"), std::string::npos);
}

TEST(Codec, HelloNegotiationAndLenientElements) {
  EXPECT_EQ(negotiate_version((1u << 4) | (1u << 5), (1u << 1) | (1u << 4)), 4);
  EXPECT_EQ(negotiate_version(1u << 4, 1u << 1), 0);
  // A bare OF1.3 header offers every version up to 1.3; junk elements are flagged, not fatal
  // (as OVS does).
  auto bare = bytes_of([](Buffer& b) { encode_simple(b, MsgType::kHello, 1); });
  auto h = decode_hello(frame_of(bare));
  EXPECT_EQ(h->version_bitmap, 0x1eu);
  EXPECT_FALSE(h->malformed);
  auto junk = bytes_of([](Buffer& b) {
    encode_simple(b, MsgType::kHello, 1, ByteSpan(reinterpret_cast<const uint8_t*>("\x00\x09\x00\x02"), 4));
  });
  h = decode_hello(frame_of(junk));
  EXPECT_TRUE(h->malformed);
  EXPECT_EQ(h->version_bitmap, 0x1eu);
}

TEST(Codec, StreamFraming) {
  auto m = valid_flow_mod();
  EXPECT_EQ(frame_length(ByteSpan(m.data(), 7)), 0u);
  EXPECT_EQ(frame_length(ByteSpan(m)), m.size());
  uint8_t tiny[8] = {4, 0, 0, 2, 0, 0, 0, 0};  // length 2: reported as 8 so it gets rejected, not waited on
  EXPECT_EQ(frame_length(ByteSpan(tiny, 8)), 8u);
}

}  // namespace
}  // namespace vlcp::ofp

namespace vlcp::ofp {
namespace {

// OpenFlow 1.4 frames: the layouts that changed have their own length rules, the new types
// exist only in 1.4, and other versions are refused.
TEST(OpenFlow14, FramesFollowTheirOwnLengthRules) {
  InlineBuffer<256> b;
  size_t start = begin_message(b, MsgType::kPortStatus, 1);
  b.put_u8(0);
  b.put_zeros(7);
  Port p;
  p.port_no = 7;
  p.name = "vm7";
  p.curr_speed = 1000000;
  encode_port14(b, p);
  finish_message(b, start);
  b.data()[0] = kOfp14;
  auto f = decode_frame(b.span());
  ASSERT_TRUE(f.ok());
  auto ps = decode_port_status(*f);
  ASSERT_TRUE(ps.ok());
  EXPECT_EQ(ps->port.name, "vm7");
  EXPECT_EQ(ps->port.curr_speed, 1000000u);
  EXPECT_FALSE(validate_message(b.span()).has_value());
  b.data()[0] = kOfp13;  // the same bytes are not a 1.3 PORT_STATUS (80 bytes fixed)
  EXPECT_EQ(validate_message(b.span()), errors::kBadRequest_BAD_LEN);

  const uint8_t role_status[24] = {kOfp14, 30, 0, 24, 0, 0, 0, 9};
  EXPECT_FALSE(validate_message(ByteSpan(role_status, sizeof role_status)).has_value());
  uint8_t as13[24];
  std::memcpy(as13, role_status, sizeof as13);
  as13[0] = kOfp13;
  EXPECT_EQ(validate_message(ByteSpan(as13, sizeof as13)), errors::kBadRequest_BAD_TYPE);
  const uint8_t v15[8] = {6, 2, 0, 8, 0, 0, 0, 1};
  EXPECT_EQ(validate_message(ByteSpan(v15, sizeof v15)), errors::kBadRequest_BAD_VERSION);
}

TEST(OpenFlow14, PortPropertiesAreCheckedAndUnknownOnesSkipped) {
  InlineBuffer<256> b;
  Port p;
  p.port_no = 3;
  encode_port14(b, p);
  std::vector<uint8_t> port(b.data(), b.data() + b.size());
  size_t used = 0;
  ASSERT_TRUE(decode_port14(port, &used).ok());
  EXPECT_EQ(used, 72u);
  // An unknown property (type 0xffff, 8 bytes) is skipped.
  std::vector<uint8_t> more = port;
  more.insert(more.end(), {0xff, 0xff, 0, 8, 0, 0, 0, 0});
  store_be16(more.data() + 4, static_cast<uint16_t>(more.size()));
  EXPECT_TRUE(decode_port14(more, &used).ok());
  // A property longer than the port: an error, not an over-read.
  std::vector<uint8_t> bad = port;
  store_be16(bad.data() + 42, 200);
  EXPECT_FALSE(decode_port14(bad, &used).ok());
  // Two ports in a 1.4 PORT_DESC body.
  std::vector<uint8_t> two = port;
  two.insert(two.end(), port.begin(), port.end());
  auto ports = decode_port_desc_reply(two, kOfp14);
  ASSERT_TRUE(ports.ok());
  EXPECT_EQ(ports->size(), 2u);
  EXPECT_FALSE(decode_port_desc_reply(ByteSpan(two.data(), two.size() - 8), kOfp14).ok());
}

}  // namespace
}  // namespace vlcp::ofp
