// Writes the seed corpora of the fuzz targets: OpenFlow messages from our encoders and from
// OVS's (through the oracle) into DIR/ofp, frames from the packet builders into DIR/packet.
// Run by hand when the codecs grow: ofp_corpus_gen tests/fuzz/corpus
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <tuple>

#include "ofp/bodies.h"
#include "ofp/match.h"
#include "ofp/message.h"
#include "ofp/packet.h"
#include "oracle/ovs_oracle.h"

using namespace vlcp::ofp;

namespace {
int n = 0;
std::string dir;
void save(vlcp::ByteSpan bytes, const char* sub = "/ofp") {
  char name[32];
  std::snprintf(name, sizeof name, "/seed-%03d", n++);
  std::ofstream(dir + sub + name, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}
// Saves a multipart reply with the given body.
void save_reply_body(vlcp::Buffer& b, uint32_t xid, MultipartType type, vlcp::ByteSpan body) {
  size_t start = begin_message(b, MsgType::kMultipartReply, xid);
  b.put_be16(static_cast<uint16_t>(type));
  b.put_be16(0);
  b.put_be32(0);
  b.append(body);
  finish_message(b, start);
  save(b.span());
}
// Saves a multipart reply whose body is one fixed layout.
template <typename Body>
void save_reply(vlcp::Buffer& b, uint32_t xid, MultipartType type, const Body& body) {
  vlcp::InlineBuffer<Body::kSize> bytes;
  body.encode(bytes);
  save_reply_body(b, xid, type, bytes.span());
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  dir = argv[1];
  const char* flows[] = {
      "priority=1,in_port=1,actions=output:2",
      "tcp,nw_src=10.0.0.0/8,tp_dst=80,actions=CONTROLLER:65535",
      "arp,arp_tpa=10.0.0.1,actions=load:0x1->NXM_NX_REG0[0..15],resubmit(,1)",
      "dl_vlan=100,dl_src=02:00:00:00:00:01,actions=pop_vlan,group:5",
      "reg0=0x5,metadata=0x1/0xff,actions=move:NXM_OF_IN_PORT[]->NXM_NX_REG1[0..15],goto_table:4",
      "tun_id=0x1388,ipv6,actions=write_actions(output:3),write_metadata:0x10/0xff",
      "actions=learn(table=10,idle_timeout=300,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],"
      "load:NXM_OF_IN_PORT[]->NXM_NX_REG1[0..15]),note:01.02.03",
      "ip,nw_src=10.0.0.1,actions=conjunction(7,1/2)",
      "ip,actions=ct(commit,zone=5,exec(set_field:0x1->ct_mark)),dec_ttl",
  };
  for (const char* f : flows) {
    size_t len = 0;
    char* error = nullptr;
    uint8_t* bytes = ovs_oracle_encode_flow(f, 0, &len, &error);
    if (!bytes) {
      std::fprintf(stderr, "%s: %s\n", f, error);
      return 1;
    }
    save(vlcp::ByteSpan(bytes, len));
    std::free(bytes);
  }
  vlcp::InlineBuffer<512> b;
  encode_hello(b, 1, Hello{});
  save(b.span());
  b.clear();
  encode_simple(b, MsgType::kEchoRequest, 2, vlcp::ByteSpan(reinterpret_cast<const uint8_t*>("ping"), 4));
  save(b.span());
  b.clear();
  PacketOut po;
  po.in_port = kPortController;
  po.actions.output(1).set_field(Field::kReg0, 1);
  const uint8_t frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06};
  po.data = vlcp::ByteSpan(frame, sizeof frame);
  encode_packet_out(b, 3, po);
  save(b.span());
  b.clear();
  PacketInView pin;
  pin.total_len = 60;
  pin.data = vlcp::ByteSpan(frame, sizeof frame);
  Match m;
  m.add(Field::kInPort, 3).add(Field::kReg0, 9);
  encode_packet_in(b, 4, pin, m.oxms());
  save(b.span());
  b.clear();
  GroupMod g;
  g.group_id = 7;
  g.buckets.push_back(Bucket{0, kPortAny, kGroupAny, ActionList().output(1)});
  g.buckets.push_back(Bucket{0, kPortAny, kGroupAny, ActionList().output(2)});
  encode_group_mod(b, 5, g);
  save(b.span());
  b.clear();
  encode_features_reply(b, 6, FeaturesReply{0x1234, 0, 254, 0, 0x4f});
  save(b.span());
  // Frames for the packet parser.
  using namespace vlcp::ofp::pkt;
  const Mac a = {2, 0, 0, 0, 0, 1}, bcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  b.clear();
  build_arp(b, 1, a, 0x0a000001, Mac{}, 0x0a000002, bcast);
  save(b.span(), "/packet");
  b.clear();
  Dhcp fixed;
  fixed.op = 1;
  fixed.htype = 1;
  fixed.hlen = 6;
  fixed.chaddr = a;
  DhcpBuilder dhcp(fixed);
  vlcp::ByteSpan body =
      dhcp.option_u8(DhcpOption::kMessageType, 1).option_ip(DhcpOption::kRequestedIp, 0x0a000005).finish();
  build_udp(b, a, bcast, 0, 0xffffffff, kDhcpClientPort, kDhcpServerPort, body);
  save(b.span(), "/packet");
  b.clear();
  const uint8_t ping[16] = {};
  build_icmp(b, a, bcast, 0x0a000001, 0x0a000002, 8, 0, 0x00010001, vlcp::ByteSpan(ping, sizeof ping));
  save(b.span(), "/packet");
  // Bodies declared in ofp/bodies.h (appended, so earlier seeds keep their names).
  b.clear();
  encode_body_message(b, MsgType::kSetAsync, 7, AsyncConfig{7, 1, 7, 7, 15, 0});
  save(b.span());
  b.clear();
  encode_body_message(b, MsgType::kGetAsyncReply, 8, AsyncConfig{3, 0, 5, 0, 0x30, 1});
  save(b.span());
  b.clear();
  encode_body_message(b, MsgType::kTableMod, 9, TableMod{3, 0});
  save(b.span());
  b.clear();
  encode_body_message(b, MsgType::kPortMod, 10, PortMod{2, {2, 0, 0, 0, 0, 2}, 0x61, 0x65, 0x2840});
  save(b.span());
  b.clear();
  encode_body_message(b, MsgType::kQueueGetConfigRequest, 11, QueueGetConfigRequest{kPortAny});
  save(b.span());
  b.clear();
  encode_multipart_body(b, 12, MultipartType::kPortStats, PortStatsRequest{kPortAny});
  save(b.span());
  b.clear();
  {
    DescReply d{};
    std::snprintf(d.mfr_desc.data(), d.mfr_desc.size(), "Nicira, Inc.");
    std::snprintf(d.sw_desc.data(), d.sw_desc.size(), "3.1.0");
    std::snprintf(d.dp_desc.data(), d.dp_desc.size(), "br-int");
    save_reply(b, 13, MultipartType::kDesc, d);
  }
  b.clear();
  { save_reply(b, 14, MultipartType::kAggregate, AggregateReply{100, 6400, 3}); }
  b.clear();
  {
    size_t start = begin_message(b, MsgType::kMeterMod, 15);
    MeterModHeader{0, 1 | 4 | 8, 1}.encode(b);
    MeterBand{1, 16, 1000, 100, 0}.encode(b);
    MeterBand{2, 16, 2000, 200, 1}.encode(b);
    finish_message(b, start);
    save(b.span());
  }
  b.clear();
  save_reply(b, 16, MultipartType::kMeterFeatures, MeterFeatures{4096, 6, 0xf, 2, 0});
  b.clear();
  encode_multipart_body(b, 18, MultipartType::kQueue, QueueStatsRequest{1, 0xffffffff});
  save(b.span());
  b.clear();
  encode_multipart_body(b, 19, MultipartType::kGroup, GroupStatsRequest{0xfffffffc});
  save(b.span());
  b.clear();
  encode_multipart_body(b, 20, MultipartType::kMeterConfig, MeterStatsRequest{0xffffffff});
  save(b.span());
  b.clear();
  save_reply(b, 21, MultipartType::kQueue, QueueStats{2, 1, 6400, 100, 0, 3, 0});
  b.clear();
  {
    // A group with two buckets' counters, then a meter with one band.
    vlcp::InlineBuffer<256> body;
    GroupStats{72, 5, 1, 10, 640, 7, 0}.encode(body);
    BucketCounter{6, 384}.encode(body);
    BucketCounter{4, 256}.encode(body);
    save_reply_body(b, 22, MultipartType::kGroup, body.span());
    b.clear();
    body.clear();
    MeterStats{1, 56, 2, 30, 1920, 9, 0}.encode(body);
    MeterBandStats{3, 192}.encode(body);
    save_reply_body(b, 23, MultipartType::kMeter, body.span());
  }
  b.clear();
  {
    // Two groups: a select group with weighted buckets, an all group with a watch port.
    vlcp::InlineBuffer<512> body;
    for (auto [id, type, weight] : {std::tuple<uint32_t, uint8_t, uint16_t>{1, 1, 3}, {2, 0, 0}}) {
      vlcp::InlineBuffer<128> buckets;
      for (uint32_t port = 1; port <= 2; ++port) {
        ActionList list = ActionList().output(port);
        size_t start = buckets.size();
        buckets.put_be16(0);
        buckets.put_be16(weight);
        buckets.put_be32(type == 0 ? port : kPortAny);
        buckets.put_be32(kGroupAny);
        buckets.put_zeros(4);
        buckets.append(list.bytes());
        buckets.patch_be16(start, static_cast<uint16_t>(buckets.size() - start));
      }
      GroupDescHeader{static_cast<uint16_t>(GroupDescHeader::kSize + buckets.size()), type, id}.encode(body);
      body.append(buckets.span());
    }
    save_reply_body(b, 24, MultipartType::kGroupDesc, body.span());
  }
  b.clear();
  {
    // Two queues on port 2 (min/max rate properties), one on port 1 without properties.
    size_t start = begin_message(b, MsgType::kQueueGetConfigReply, 25);
    QueueGetConfigReplyHeader{kPortAny}.encode(b);
    auto queue = [&b](uint32_t id, uint32_t port,
                      std::initializer_list<std::pair<uint16_t, uint16_t>> props) {
      PacketQueue{id, port, static_cast<uint16_t>(PacketQueue::kSize + 16 * props.size())}.encode(b);
      for (auto [type, rate] : props) {
        b.put_be16(type);
        b.put_be16(16);
        b.put_zeros(4);
        b.put_be16(rate);
        b.put_zeros(6);
      }
    };
    queue(7, 2, {{1, 250}, {2, 2000}});
    queue(3, 2, {{1, 1000}});
    queue(1, 1, {});
    finish_message(b, start);
    save(b.span());
  }
  b.clear();
  save_reply(b, 26, MultipartType::kGroupFeatures,
             GroupFeatures{0xb, 0x5, 16, 8, 0, 4, 0x03e60001, 0x00400001, 0, (1u << 11) | (1u << 12)});
  b.clear();
  {
    // Six tables: 0 and 1 differ, 2-4 repeat 1 (a ditto run), 5 differs.
    vlcp::InlineBuffer<256> body;
    TableStats{0, 5, 100, 90}.encode(body);
    for (uint8_t t = 1; t <= 4; ++t) TableStats{t, 0, 7, 0}.encode(body);
    TableStats{5, 1, 7, 1}.encode(body);
    save_reply_body(b, 27, MultipartType::kTable, body.span());
  }
  b.clear();
  {
    // A switch's error echoing the first 64 bytes of a FLOW_MOD (truncated) and a whole BARRIER.
    FlowMod fm;
    fm.priority = 7;
    fm.match.add(Field::kInPort, 1).add(Field::kEthType, 0x0800).add(Field::kIpProto, 6);
    fm.instructions.apply_actions(ActionList().output(2).output(3));
    vlcp::InlineBuffer<256> offending;
    encode_flow_mod(offending, 40, fm);
    encode_error(b, 40, errors::kBadMatch_BAD_PREREQ, offending.span());
    save(b.span());
    b.clear();
    offending.clear();
    encode_simple(offending, MsgType::kBarrierRequest, 41);
    encode_error(b, 41, errors::kBadRequest_EPERM, offending.span());
    save(b.span());
  }
  b.clear();
  {
    // ONF bundles as OVS speaks them to OpenFlow 1.3 switches: a FLOW_MOD added, then a commit.
    FlowMod fm;
    fm.table_id = 2;
    fm.match.add(Field::kEthType, 0x0806);
    fm.instructions.apply_actions(ActionList().output(kPortController));
    vlcp::InlineBuffer<256> inner;
    encode_flow_mod(inner, 42, fm);
    size_t start = begin_message(b, MsgType::kExperimenter, 42);
    ExperimenterHeader{kOnfExperimenter, kOnfBundleAdd}.encode(b);
    BundleAddHeader{9, kBundleAtomic}.encode(b);
    b.append(inner.span());
    finish_message(b, start);
    save(b.span());
    b.clear();
    start = begin_message(b, MsgType::kExperimenter, 43);
    ExperimenterHeader{kOnfExperimenter, kOnfBundleControl}.encode(b);
    BundleControl{9, static_cast<uint16_t>(BundleCtrlType::kCommitRequest), kBundleAtomic | kBundleOrdered}
        .encode(b);
    finish_message(b, start);
    save(b.span());
  }
  b.clear();
  save_reply(b, 17, MultipartType::kPortStats,
             PortStats{3, 10, 20, 1500, 3000, 0, 1, 0, 0, 0, 0, 0, ~uint64_t{0}, 12, 500000000});
  b.clear();
  {
    // TABLE_FEATURES as a pipeline's switch reports it: a named first table, two tables that
    // repeat it (a ditto run), one whose table-miss instructions differ, a named last table.
    using P = TableFeatureProp;
    auto oxm = [](Field f, bool masked) {
      const FieldInfo& i = field_info(f);
      return uint64_t{oxm_header(i.oxm_class, i.number, masked, masked ? i.bytes * 2 : i.bytes)};
    };
    std::vector<uint64_t> match = {
        oxm(Field::kInPort, false),
        oxm(Field::kMetadata, true),
        oxm(Field::kEthDst, true),
        oxm(Field::kEthSrc, true),
        oxm(Field::kEthType, false),
        oxm(Field::kVlanVid, true),
        oxm(Field::kIpProto, false),
        oxm(Field::kIpv4Src, true),
        oxm(Field::kIpv4Dst, true),
        oxm(Field::kTcpSrc, false),
        oxm(Field::kTunIpv4Dst, true),
        oxm(Field::kInPhyPort, false),
        uint64_t{kOnfOxmExperimenter} << 32 | oxm_header(kOxmClassExperimenter, 42, true, 8)};
    for (int r = 0; r < 16; ++r)
      match.push_back(oxm(static_cast<Field>(static_cast<int>(Field::kReg0) + r), true));
    std::vector<uint64_t> set_fields = {oxm(Field::kEthDst, false), oxm(Field::kEthSrc, false),
                                        oxm(Field::kVlanVid, false), oxm(Field::kNxTunId, false)};
    for (int r = 0; r < 8; ++r)
      set_fields.push_back(oxm(static_cast<Field>(static_cast<int>(Field::kReg0) + r), false));
    auto table = [&](uint8_t id, const char* name, std::vector<uint64_t> insts,
                     std::vector<uint64_t> actions) {
      TableFeatures t;
      t.table_id = id;
      t.name = name;
      t.metadata_match = ~uint64_t{0};
      t.metadata_write = 0xffff;
      t.max_entries = 1000000;
      t.props[P::kInstructions] = std::move(insts);
      for (int n = id + 1; n < 6; ++n) t.props[P::kNextTables].push_back(n);
      t.props[P::kNextTables];  // present (empty for the last table): OpenFlow 1.3 requires it
      t.props[P::kWriteActions] = actions;
      t.props[P::kApplyActions] = actions;
      t.props[P::kMatch] = match;
      t.props[P::kWildcards] = {oxm(Field::kInPort, false), oxm(Field::kEthType, false)};
      t.props[P::kWriteSetfield] = set_fields;
      t.props[P::kApplySetfield] = set_fields;
      return t;
    };
    std::vector<uint64_t> all_insts = {1, 2, 3, 4, 5, 6}, all_actions = {0, 11, 15, 17, 18, 22, 23, 24, 25};
    vlcp::InlineBuffer<4096> body;
    encode_table_features(body, table(0, "classifier", all_insts, all_actions));
    for (uint8_t id = 1; id <= 3; ++id) encode_table_features(body, table(id, "", all_insts, all_actions));
    TableFeatures miss = table(4, "", {1, 4}, {0});
    miss.props[P::kInstructionsMiss] = {4};
    miss.props[P::kApplyActionsMiss] = {0, 25};
    miss.max_entries = 10;
    encode_table_features(body, miss);
    encode_table_features(body, table(5, "egress", all_insts, {0, 22}));
    save_reply_body(b, 44, MultipartType::kTableFeatures, body.span());
    b.clear();
    // A request asking for the switch's tables (no body), flagged as OVS sends it in parts.
    size_t start = begin_message(b, MsgType::kMultipartRequest, 45);
    b.put_be16(static_cast<uint16_t>(MultipartType::kTableFeatures));
    b.put_be16(1);
    b.put_zeros(4);
    finish_message(b, start);
    save(b.span());
  }
  std::printf("%d seeds written to %s\n", n, dir.c_str());
  return 0;
}
