// The remaining message bodies: each one we encode is well formed by our own check, accepted by
// Open vSwitch's decoder and printed by it without decode errors; its layout round-trips; a
// truncated record inside it is caught.
#include "ofp/bodies.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "ofp/print.h"
#include "oracle/ovs_oracle.h"

namespace vlcp::ofp {
namespace {

using namespace errors;

struct Sample {
  std::string name;
  std::vector<uint8_t> bytes;
};

template <typename Encode>
Sample sample(std::string name, Encode&& encode) {
  InlineBuffer<2048> b;
  encode(b);
  return {std::move(name), {b.data(), b.data() + b.size()}};
}

void multipart_reply(Buffer& out, MultipartType type, ByteSpan body) {
  size_t start = begin_message(out, MsgType::kMultipartReply, 7);
  out.put_be16(static_cast<uint16_t>(type));
  out.put_be16(0);
  out.put_zeros(4);
  out.append(body);
  finish_message(out, start);
}

template <typename Layout>
std::vector<uint8_t> layout_bytes(const Layout& l) {
  InlineBuffer<2048> b;
  l.encode(b);
  return {b.data(), b.data() + b.size()};
}

std::vector<Sample> samples() {
  std::vector<Sample> out;
  out.push_back(sample("SET_ASYNC", [](Buffer& b) {
    encode_body_message(b, MsgType::kSetAsync, 1, AsyncConfig{7, 1, 7, 7, 15, 0});
  }));
  out.push_back(sample("TABLE_MOD", [](Buffer& b) {
    encode_body_message(b, MsgType::kTableMod, 2, TableMod{3, 0});
  }));
  out.push_back(sample("PORT_MOD", [](Buffer& b) {
    encode_body_message(b, MsgType::kPortMod, 3, PortMod{1, {2, 0, 0, 0, 0, 1}, 1, 1, 0});
  }));
  out.push_back(sample("QUEUE_GET_CONFIG_REQUEST", [](Buffer& b) {
    encode_body_message(b, MsgType::kQueueGetConfigRequest, 4, QueueGetConfigRequest{1});
  }));
  out.push_back(sample("METER_MOD", [](Buffer& b) {
    size_t start = begin_message(b, MsgType::kMeterMod, 5);
    MeterModHeader{0, 1 | 4, 9}.encode(b);  // add, kbps + burst
    MeterBand{1, 16, 1000, 100, 0}.encode(b);
    finish_message(b, start);
  }));
  out.push_back(sample("BUNDLE_OPEN", [](Buffer& b) {
    size_t start = begin_message(b, MsgType::kExperimenter, 6);
    ExperimenterHeader{kOnfExperimenter, kOnfBundleControl}.encode(b);
    BundleControl{1, static_cast<uint16_t>(BundleCtrlType::kOpenRequest), kBundleAtomic}.encode(b);
    finish_message(b, start);
  }));
  out.push_back(sample("BUNDLE_ADD", [](Buffer& b) {
    size_t start = begin_message(b, MsgType::kExperimenter, 8);
    ExperimenterHeader{kOnfExperimenter, kOnfBundleAdd}.encode(b);
    BundleAddHeader{1, kBundleAtomic}.encode(b);
    FlowMod m;
    m.match.add(Field::kInPort, 1);
    m.instructions.apply_actions(ActionList().output(2));
    encode_flow_mod(b, 8, m);
    finish_message(b, start);
  }));
  using T = MultipartType;
  for (T t : {T::kDesc, T::kTable, T::kGroupDesc, T::kGroupFeatures, T::kMeterFeatures, T::kPortDesc})
    out.push_back(sample("request " + std::to_string(static_cast<int>(t)),
                         [&](Buffer& b) { encode_multipart_request(b, 9, t, ByteSpan()); }));
  out.push_back(sample("PORT_STATS request", [](Buffer& b) {
    encode_multipart_body(b, 10, T::kPortStats, PortStatsRequest{kPortAny});
  }));
  out.push_back(sample("QUEUE request", [](Buffer& b) {
    encode_multipart_body(b, 11, T::kQueue, QueueStatsRequest{kPortAny, 0xffffffff});
  }));
  out.push_back(sample("GROUP request", [](Buffer& b) {
    encode_multipart_body(b, 12, T::kGroup, GroupStatsRequest{kGroupAll});
  }));
  out.push_back(sample("METER request", [](Buffer& b) {
    encode_multipart_body(b, 13, T::kMeter, MeterStatsRequest{0xffffffff});
  }));
  out.push_back(sample("METER_CONFIG request", [](Buffer& b) {
    encode_multipart_body(b, 14, T::kMeterConfig, MeterStatsRequest{0xffffffff});
  }));
  out.push_back(sample("DESC reply", [](Buffer& b) {
    DescReply d;
    std::snprintf(d.mfr_desc.data(), d.mfr_desc.size(), "VLCP");
    std::snprintf(d.dp_desc.data(), d.dp_desc.size(), "br0");
    multipart_reply(b, T::kDesc, ByteSpan(layout_bytes(d)));
  }));
  out.push_back(sample("AGGREGATE reply", [](Buffer& b) {
    multipart_reply(b, T::kAggregate, ByteSpan(layout_bytes(AggregateReply{10, 1000, 3})));
  }));
  out.push_back(sample("TABLE reply", [](Buffer& b) {
    auto one = layout_bytes(TableStats{0, 5, 100, 90});
    auto two = layout_bytes(TableStats{1, 2, 50, 50});
    one.insert(one.end(), two.begin(), two.end());
    multipart_reply(b, T::kTable, ByteSpan(one));
  }));
  out.push_back(sample("PORT_STATS reply", [](Buffer& b) {
    PortStats p;
    p.port_no = 1;
    p.rx_packets = 10;
    multipart_reply(b, T::kPortStats, ByteSpan(layout_bytes(p)));
  }));
  out.push_back(sample("GROUP_DESC reply", [](Buffer& b) {
    InlineBuffer<256> body;
    GroupDescHeader{8 + 16 + 16, 0, 5}.encode(body);
    body.put_be16(32);
    body.put_be16(0);
    body.put_be32(kPortAny);
    body.put_be32(kGroupAny);
    body.put_zeros(4);
    body.append(ActionList().output(1).bytes());
    multipart_reply(b, T::kGroupDesc, body.span());
  }));
  out.push_back(sample("GROUP_FEATURES reply", [](Buffer& b) {
    multipart_reply(b, T::kGroupFeatures,
                    ByteSpan(layout_bytes(GroupFeatures{0xf, 0x7, 65535, 65535, 65535, 65535, 1, 1, 1, 1})));
  }));
  out.push_back(sample("METER_FEATURES reply", [](Buffer& b) {
    multipart_reply(b, T::kMeterFeatures, ByteSpan(layout_bytes(MeterFeatures{1000, 2, 0xf, 1, 0})));
  }));
  return out;
}

std::string ovs_error(const std::vector<uint8_t>& m) {
  char* name = nullptr;
  int rc = ovs_oracle_decode(m.data(), m.size(), &name);
  std::string out = rc ? (name ? name : "rejected") : "";
  std::free(name);
  return out;
}

TEST(Bodies, EncodedMessagesAreWellFormedForUsAndForOvs) {
  for (const Sample& s : samples()) {
    SCOPED_TRACE(s.name + " " + to_hex(ByteSpan(s.bytes)));
    auto ours = validate_message(ByteSpan(s.bytes));
    EXPECT_FALSE(ours.has_value()) << error_name(*ours);
    EXPECT_EQ(ovs_error(s.bytes), "");
    char* text = ovs_oracle_print(s.bytes.data(), s.bytes.size());
    EXPECT_EQ(std::string(text).find("***"), std::string::npos) << text;
    std::free(text);
  }
}

// What OVS refuses in an ONF bundle add (another version or xid inside, a message a bundle may
// not carry) prints with OVS's own error names, as OVS's printer writes them.
TEST(Bodies, BundleAddRefusalsPrintAsOvs) {
  auto bundle_add = [](uint32_t xid, uint8_t inner_version, MsgType inner_type, uint32_t inner_xid) {
    InlineBuffer<128> b;
    size_t start = begin_message(b, MsgType::kExperimenter, xid);
    ExperimenterHeader{kOnfExperimenter, kOnfBundleAdd}.encode(b);
    BundleAddHeader{9, kBundleAtomic}.encode(b);
    size_t inner = begin_message(b, inner_type, inner_xid);
    if (inner_type == MsgType::kPortMod) PortMod{2, {2, 0, 0, 0, 0, 2}, 1, 1, 0}.encode(b);
    finish_message(b, inner);
    b.data()[inner] = inner_version;
    finish_message(b, start);
    return std::vector<uint8_t>(b.data(), b.data() + b.size());
  };
  struct Case {
    std::vector<uint8_t> bytes;
    const char* error;  // OVS's, or null when it is accepted
  } cases[] = {
      {bundle_add(5, kOfp13, MsgType::kPortMod, 5), nullptr},
      {bundle_add(5, kOfp13, MsgType::kPortMod, 6), "OFPBFC_MSG_BAD_XID"},
      {bundle_add(5, kOfp14, MsgType::kPortMod, 5), "OFPBFC_BAD_VERSION"},
      {bundle_add(5, kOfp13, MsgType::kBarrierRequest, 5), "OFPBFC_MSG_UNSUP"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(to_hex(ByteSpan(c.bytes)));
    char* text = ovs_oracle_print(c.bytes.data(), c.bytes.size());
    std::string theirs(text);
    std::free(text);
    while (!theirs.empty() && theirs.back() == '\n') theirs.pop_back();
    EXPECT_EQ(print_any(ByteSpan(c.bytes)), theirs);
    EXPECT_EQ(theirs.find(c.error ? c.error : "***") != std::string::npos, c.error != nullptr) << theirs;
  }
}

TEST(Bodies, LayoutsRoundTrip) {
  PortStats p;
  p.port_no = 3;
  p.rx_bytes = 1ULL << 40;
  p.duration_nsec = 5;
  auto bytes = layout_bytes(p);
  ASSERT_EQ(bytes.size(), PortStats::kSize);
  PortStats back;
  ASSERT_TRUE(PortStats::decode(ByteSpan(bytes), &back));
  EXPECT_EQ(back, p);
  EXPECT_FALSE(PortStats::decode(ByteSpan(bytes).first(PortStats::kSize - 1), &back));
  MeterBand band{2, 16, 500, 10, 3};
  auto b = layout_bytes(band);
  EXPECT_EQ(to_hex(ByteSpan(b)), "00020010000001f40000000a03000000");
}

TEST(Bodies, BrokenRecordsAreCaught) {
  auto all = samples();
  auto find = [&](const std::string& name) {
    for (auto& s : all)
      if (s.name == name) return s.bytes;
    ADD_FAILURE() << name;
    return std::vector<uint8_t>{};
  };
  auto meter = find("METER_MOD");
  store_be16(meter.data() + 16 + 2, 24);  // band claims more than the message holds
  EXPECT_EQ(validate_message(ByteSpan(meter)), kMeterModFailed_BAD_BAND);
  auto table = find("TABLE reply");
  table.pop_back();
  store_be16(table.data() + 2, static_cast<uint16_t>(table.size()));  // 47 bytes: not whole records
  EXPECT_EQ(validate_message(ByteSpan(table)), kBadRequest_BAD_LEN);
  auto desc = find("GROUP_DESC reply");
  store_be16(desc.data() + 16 + 8, 8);  // bucket shorter than its header
  EXPECT_EQ(validate_message(ByteSpan(desc)), kGroupModFailed_BAD_BUCKET);
  auto bundle = find("BUNDLE_ADD");
  bundle[16 + 8 + 1] = 99;  // the inner message's type
  EXPECT_EQ(validate_message(ByteSpan(bundle)), kBadRequest_BAD_TYPE);
  auto port_stats = find("PORT_STATS request");
  port_stats.push_back(0);
  store_be16(port_stats.data() + 2, static_cast<uint16_t>(port_stats.size()));
  EXPECT_EQ(validate_message(ByteSpan(port_stats)), kBadRequest_BAD_LEN);
}

}  // namespace
}  // namespace vlcp::ofp

namespace vlcp::ofp {
namespace {

// TABLE_FEATURES as typed views: every property's ids survive a round trip, OVS's decoder
// accepts what we encode, and broken properties are typed errors.
TEST(TableFeatures, TypedViewsRoundTripAndOvsAcceptsThem) {
  TableFeatures t;
  t.table_id = 3;
  t.name = "classifier";
  t.metadata_match = ~uint64_t{0};
  t.metadata_write = ~uint64_t{0};
  t.max_entries = 1000000;
  t.props[TableFeatureProp::kInstructions] = {1, 3, 4};  // goto_table, write_actions, apply_actions
  t.props[TableFeatureProp::kNextTables] = {4, 5, 6};
  t.props[TableFeatureProp::kApplyActions] = {0, 17, 18, 25, uint64_t{0x2320} << 32 | 0xffff};
  t.props[TableFeatureProp::kMatch] = {0x80000004, 0x80000606,
                                       0x8000080c};  // in_port, eth_dst, eth_src masked
  t.props[TableFeatureProp::kWildcards] = {0x80000004};
  InlineBuffer<1024> body;
  encode_table_features(body, t);
  TableFeatures u = t;
  u.table_id = 4;
  u.name = "l2";
  u.props.erase(TableFeatureProp::kWildcards);
  encode_table_features(body, u);
  auto decoded = decode_table_features(body.span());
  ASSERT_TRUE(decoded.ok()) << error_name(decoded.error());
  ASSERT_EQ(decoded->size(), 2u);
  const TableFeatures& d = (*decoded)[0];
  EXPECT_EQ(d.name, "classifier");
  EXPECT_EQ(d.max_entries, 1000000u);
  EXPECT_EQ(d.props, t.props);
  EXPECT_EQ((*decoded)[1].props.count(TableFeatureProp::kWildcards), 0u);

  // As a whole multipart reply, OVS's decoder takes it too.
  InlineBuffer<1100> msg;
  size_t start = begin_message(msg, MsgType::kMultipartReply, 1);
  msg.put_be16(static_cast<uint16_t>(MultipartType::kTableFeatures));
  msg.put_be16(0);
  msg.put_be32(0);
  msg.append(body.span());
  finish_message(msg, start);
  EXPECT_FALSE(validate_message(msg.span()).has_value());
  char* name = nullptr;
  EXPECT_EQ(ovs_oracle_decode(msg.data(), msg.size(), &name), 0) << (name ? name : "");
  std::free(name);
}

// TABLE_FEATURES text as ovs-ofctl prints it (the conformance test compares whole replies with
// the real ovs-ofctl): repeated tables fold into a ditto run, field lists are abbreviated, and
// what OVS refuses gets OVS's error name after the tables before it.
TEST(TableFeatures, PrintsAsOvsDoes) {
  auto table = [](uint8_t id) {
    TableFeatures t;
    t.table_id = id;
    for (auto p :
         {TableFeatureProp::kInstructions, TableFeatureProp::kNextTables, TableFeatureProp::kWriteActions,
          TableFeatureProp::kApplyActions, TableFeatureProp::kMatch, TableFeatureProp::kWildcards,
          TableFeatureProp::kWriteSetfield, TableFeatureProp::kApplySetfield})
      t.props[p];
    t.props[TableFeatureProp::kInstructions] = {1, 4};
    for (uint32_t r = 0; r < 16; ++r)
      t.props[TableFeatureProp::kMatch].push_back(0x00010000u | r << 9 | 0x100 | 8);
    t.props[TableFeatureProp::kMatch].push_back(0x80000606);  // eth_dst
    t.props[TableFeatureProp::kMatch].push_back(0x80000806);  // eth_src
    return t;
  };
  InlineBuffer<4096> body;
  for (uint8_t id = 0; id < 4; ++id) encode_table_features(body, table(id));
  std::string s;
  EXPECT_FALSE(format_table_features(s, 4, body.span()).has_value());
  EXPECT_NE(s.find("  table 0:\n    instructions (table miss and others):\n      instructions: apply_actions "
                   "goto_table\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("arbitrary mask: reg0...reg15\n      must exact match: eth_{src,dst}\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("tables 1...3: ditto"), std::string::npos) << s;

  TableFeatures missing = table(4);
  missing.props.erase(TableFeatureProp::kWildcards);
  encode_table_features(body, missing);
  s.clear();
  EXPECT_EQ(format_table_features(s, 4, body.span()), "OFPTFFC_BAD_FEATURES");
  EXPECT_NE(s.find("tables 1...3: ditto"), std::string::npos) << s;  // the tables before it

  InlineBuffer<512> masked;
  TableFeatures w = table(0);
  w.props[TableFeatureProp::kWildcards] = {0x8000090c};  // eth_src with the mask bit
  encode_table_features(masked, w);
  s.clear();
  EXPECT_EQ(format_table_features(s, 4, masked.span()), "OFPBMC_BAD_MASK");
}

TEST(TableFeatures, BrokenPropertiesAreTypedErrors) {
  TableFeatures t;
  t.props[TableFeatureProp::kApplyActions] = {0};
  InlineBuffer<256> body;
  encode_table_features(body, t);
  std::vector<uint8_t> bad(body.data(), body.data() + body.size());
  store_be16(bad.data() + 64 + 4 + 2, 6);  // an action id of length 6
  EXPECT_EQ(decode_table_features(bad).error(), errors::kTableFeaturesFailed_BAD_ARGUMENT);
  std::vector<uint8_t> unknown(body.data(), body.data() + body.size());
  store_be16(unknown.data() + 64, 9);  // property type 9 does not exist: skipped
  auto skipped = decode_table_features(unknown);
  ASSERT_TRUE(skipped.ok());
  EXPECT_TRUE((*skipped)[0].props.empty());
  std::vector<uint8_t> short_record(body.data(), body.data() + 40);
  EXPECT_FALSE(decode_table_features(short_record).ok());
}

}  // namespace
}  // namespace vlcp::ofp
