// Message framing, decoders and encoders. Decoders run only on Frames (header and length
// already checked) and check each inner length before reading what it covers.
#include "ofp/message.h"

#include "ofp/bodies.h"

namespace vlcp::ofp {
namespace {

using namespace errors;

struct MsgInfo {
  uint16_t min_length;
  Tail tail;
  std::string_view name;
};

constexpr std::array<MsgInfo, 30> kMessages = [] {
  std::array<MsgInfo, 30> t{};
#define VLCP_MSG_INFO(e, code, min, tail, name) t[code] = MsgInfo{min, Tail::tail, name};
  VLCP_OFP_MESSAGES(VLCP_MSG_INFO)
#undef VLCP_MSG_INFO
  return t;
}();

constexpr size_t kHeaderSize = 8;

}  // namespace

std::string_view message_name(MsgType type) {
  auto i = static_cast<size_t>(type);
  return i < kMessages.size() ? kMessages[i].name : std::string_view{};
}

std::string_view multipart_name(MultipartType type) {
  switch (type) {
#define VLCP_MP_NAME(e, code, name) \
  case MultipartType::e:            \
    return name;
    VLCP_OFP_MULTIPART_TYPES(VLCP_MP_NAME)
#undef VLCP_MP_NAME
  }
  return {};
}

uint16_t message_min_length(uint8_t type) {
  return type < kMessages.size() ? kMessages[type].min_length : 0;
}

size_t frame_length(ByteSpan stream) {
  if (stream.size() < kHeaderSize) return 0;
  size_t len = load_be16(stream.data() + 2);
  return len < kHeaderSize ? kHeaderSize : len;
}

Decoded<Frame> decode_frame(ByteSpan m) {
  if (m.size() < kHeaderSize) return kBadRequest_BAD_LEN;
  Frame f;
  f.header.version = m[0];
  f.header.length = load_be16(m.data() + 2);
  f.header.xid = load_be32(m.data() + 4);
  if (f.header.version != kOfp13 && f.header.version != kOfp14) return kBadRequest_BAD_VERSION;
  if (f.header.length != m.size()) return kBadRequest_BAD_LEN;
  uint16_t min = message_min_length(m[1]);
  Tail tail = min ? kMessages[m[1]].tail : Tail::kAny;
  if (f.header.version == kOfp14) {
    switch (m[1]) {
#define VLCP_MSG14_RULE(code, len, t, name) \
  case code:                                \
    min = len;                              \
    tail = Tail::t;                         \
    break;
      VLCP_OFP14_MESSAGES(VLCP_MSG14_RULE)
#undef VLCP_MSG14_RULE
      default:
        break;
    }
  }
  if (min == 0) return kBadRequest_BAD_TYPE;
  if (f.header.length < min || (tail == Tail::kFixed && f.header.length != min) ||
      (tail == Tail::kAligned8 && (f.header.length - min) % 8 != 0))
    return kBadRequest_BAD_LEN;
  f.header.type = static_cast<MsgType>(m[1]);
  f.bytes = m;
  f.body = m.subspan(kHeaderSize);
  return f;
}

size_t begin_message(Buffer& out, MsgType type, uint32_t xid) {
  size_t start = out.size();
  out.put_u8(kOfp13);
  out.put_u8(static_cast<uint8_t>(type));
  out.put_be16(0);
  out.put_be32(xid);
  return start;
}

void finish_message(Buffer& out, size_t start) {
  out.patch_be16(start + 2, static_cast<uint16_t>(out.size() - start));
}

// --- HELLO -----------------------------------------------------------------------------------

Decoded<Hello> decode_hello(const Frame& f) {
  Hello h;
  // Without a bitmap the header's version is the highest offered: versions 1 up to it.
  h.version_bitmap = ((2u << f.header.version) - 1) & ~1u;
  ByteReader r(f.body);
  while (!r.at_end()) {
    uint16_t type = 0, len = 0;
    ByteSpan element;
    // An element counts only when it and its padding to 8 bytes are all there.
    if (!r.read_be16(&type) || !r.read_be16(&len) || len < 4 || r.remaining() < (len + 7u) / 8 * 8 - 4 ||
        !r.take(len - 4u, &element) || !r.skip((8 - len % 8) % 8)) {
      h.malformed = true;
      break;
    }
    if (type != 1 || element.empty() || element.size() % 4 != 0) {  // OFPHET_VERSIONBITMAP
      h.malformed = true;
      continue;
    }
    // Versions 1-31 (there is no version 0); a bitmap offering none is ignored, as by OVS.
    uint32_t bitmap = load_be32(element.data()) & ~1u;
    if (bitmap)
      h.version_bitmap = bitmap;
    else
      h.malformed = true;
  }
  return h;
}

void encode_hello(Buffer& out, uint32_t xid, const Hello& h) {
  size_t start = begin_message(out, MsgType::kHello, xid);
  out.put_be16(1);
  out.put_be16(8);
  out.put_be32(h.version_bitmap);
  finish_message(out, start);
}

uint8_t negotiate_version(uint32_t ours, uint32_t theirs) {
  uint32_t common = ours & theirs;
  for (int v = 31; v >= 0; --v)
    if (common & (1u << v)) return static_cast<uint8_t>(v);
  return 0;
}

// --- ERROR, simple messages -------------------------------------------------------------------

Decoded<ErrorMsg> decode_error(const Frame& f) {
  ErrorMsg e;
  e.error = OfpError(load_be16(f.body.data()), load_be16(f.body.data() + 2));
  e.data = f.body.subspan(4);
  return e;
}

void encode_error(Buffer& out, uint32_t xid, OfpError error, ByteSpan offending) {
  size_t start = begin_message(out, MsgType::kError, xid);
  out.put_be16(error.type);
  out.put_be16(error.code);
  out.append(offending.first(std::min<size_t>(offending.size(), 64)));
  finish_message(out, start);
}

void encode_simple(Buffer& out, MsgType type, uint32_t xid, ByteSpan data) {
  size_t start = begin_message(out, type, xid);
  out.append(data);
  finish_message(out, start);
}

// --- FEATURES, CONFIG, ROLE -------------------------------------------------------------------

Decoded<FeaturesReply> decode_features_reply(const Frame& f) {
  const uint8_t* p = f.body.data();
  FeaturesReply r;
  r.datapath_id = load_be64(p);
  r.n_buffers = load_be32(p + 8);
  r.n_tables = p[12];
  r.auxiliary_id = p[13];
  r.capabilities = load_be32(p + 16);
  return r;
}

void encode_features_reply(Buffer& out, uint32_t xid, const FeaturesReply& r) {
  size_t start = begin_message(out, MsgType::kFeaturesReply, xid);
  out.put_be64(r.datapath_id);
  out.put_be32(r.n_buffers);
  out.put_u8(r.n_tables);
  out.put_u8(r.auxiliary_id);
  out.put_zeros(2);
  out.put_be32(r.capabilities);
  out.put_be32(0);  // reserved
  finish_message(out, start);
}

Decoded<SwitchConfig> decode_switch_config(const Frame& f) {
  if (f.body.size() != 4) return kBadRequest_BAD_LEN;
  SwitchConfig c{load_be16(f.body.data()), load_be16(f.body.data() + 2)};
  // A controller may only ask for the fragment modes (bits 0-1); a switch's reply is read leniently.
  if (f.header.type == MsgType::kSetConfig && (c.flags & ~3u)) return kSwitchConfigFailed_BAD_FLAGS;
  return c;
}

void encode_switch_config(Buffer& out, MsgType type, uint32_t xid, const SwitchConfig& c) {
  size_t start = begin_message(out, type, xid);
  out.put_be16(c.flags);
  out.put_be16(c.miss_send_len);
  finish_message(out, start);
}

Decoded<RoleMsg> decode_role(const Frame& f) {
  if (f.body.size() != 16) return kBadRequest_BAD_LEN;
  uint32_t role = load_be32(f.body.data());
  if (role > 3) return kRoleRequestFailed_BAD_ROLE;
  return RoleMsg{static_cast<Role>(role), load_be64(f.body.data() + 8)};
}

void encode_role(Buffer& out, MsgType type, uint32_t xid, const RoleMsg& r) {
  size_t start = begin_message(out, type, xid);
  out.put_be32(static_cast<uint32_t>(r.role));
  out.put_zeros(4);
  out.put_be64(r.generation_id);
  finish_message(out, start);
}

// --- PACKET_IN / PACKET_OUT -------------------------------------------------------------------

Decoded<PacketInView> decode_packet_in(const Frame& f) {
  ByteReader r(f.body);
  PacketInView p;
  r.read_be32(&p.buffer_id);
  r.read_be16(&p.total_len);
  r.read_u8(&p.reason);
  r.read_u8(&p.table_id);
  r.read_be64(&p.cookie);
  auto match = MatchView::decode(r, MatchMode::kLoose);
  if (!match.ok()) return match.error();
  p.match = *match;
  if (!r.skip(2)) return kBadRequest_BAD_LEN;
  p.data = r.rest();
  return p;
}

void encode_packet_in(Buffer& out, uint32_t xid, const PacketInView& p, ByteSpan match_oxms) {
  size_t start = begin_message(out, MsgType::kPacketIn, xid);
  out.put_be32(p.buffer_id);
  out.put_be16(p.total_len);
  out.put_u8(p.reason);
  out.put_u8(p.table_id);
  out.put_be64(p.cookie);
  encode_match(match_oxms, out);
  out.put_zeros(2);
  out.append(p.data);
  finish_message(out, start);
}

Decoded<PacketOut> decode_packet_out(const Frame& f) {
  const uint8_t* b = f.body.data();
  PacketOut p;
  p.buffer_id = load_be32(b);
  p.in_port = load_be32(b + 4);
  uint16_t actions_len = load_be16(b + 8);
  if (actions_len > f.body.size() - 16) return kBadRequest_BAD_LEN;
  ByteSpan actions = f.body.subspan(16, actions_len);
  if (auto err = validate_actions(actions)) return *err;
  if (!port_in_range(p.in_port)) return kBadAction_BAD_OUT_PORT;  // as OVS reports it
  if (p.in_port >= 0xff00 && p.in_port != kPortLocal && p.in_port != kPortAny && p.in_port != kPortController)
    return kBadRequest_BAD_PORT;
  p.actions = ActionList(actions);
  p.data = f.body.subspan(16 + actions_len);
  return p;
}

void encode_packet_out(Buffer& out, uint32_t xid, const PacketOut& p) {
  size_t start = begin_message(out, MsgType::kPacketOut, xid);
  out.put_be32(p.buffer_id);
  out.put_be32(p.in_port);
  out.put_be16(static_cast<uint16_t>(p.actions.bytes().size()));
  out.put_zeros(6);
  out.append(p.actions.bytes());
  out.append(p.data);
  finish_message(out, start);
}

// --- FLOW_MOD / FLOW_REMOVED ------------------------------------------------------------------

Decoded<FlowMod> decode_flow_mod(const Frame& f) {
  ByteReader r(f.body);
  FlowMod m;
  uint8_t command = 0;
  r.read_be64(&m.cookie);
  r.read_be64(&m.cookie_mask);
  r.read_u8(&m.table_id);
  r.read_u8(&command);
  r.read_be16(&m.idle_timeout);
  r.read_be16(&m.hard_timeout);
  r.read_be16(&m.priority);
  r.read_be32(&m.buffer_id);
  r.read_be32(&m.out_port);
  r.read_be32(&m.out_group);
  r.read_be16(&m.flags);
  r.skip(2);
  const bool deleting = command == 3 || command == 4;
  // OpenFlow 1.2+ allows "all tables" only for deletes.
  if (m.table_id == 0xff && !deleting) return kFlowModFailed_BAD_TABLE_ID;
  if (command > 4) {
    // OVS looks at the match and instructions first; keep its order of complaints.
    auto match = MatchView::decode(r);
    if (!match.ok()) return match.error();
    return kFlowModFailed_BAD_COMMAND;
  }
  m.command = static_cast<FlowModCommand>(command);
  if (m.flags & ~0x1fu) return kFlowModFailed_BAD_FLAGS;
  if (!port_in_range(m.out_port)) return kBadAction_BAD_OUT_PORT;
  auto match = MatchView::decode(r);
  if (!match.ok()) return match.error();
  m.match = Match(*match);
  ByteSpan instructions = r.rest();
  if (auto err = validate_instructions(instructions)) return *err;
  if (auto err = check_instructions_consistent(instructions, match_facts(match->oxms()))) return *err;
  std::optional<OfpError> goto_error;
  for_each_instruction(instructions, [&](const InstructionView& i) {
    // Pipelines only go forward.
    if (i.type == InstructionType::kGotoTable && m.table_id != 0xff && i.bytes[4] <= m.table_id)
      goto_error = kBadInstruction_BAD_TABLE_ID;
  });
  if (goto_error) return *goto_error;
  m.instructions = InstructionList(instructions);
  return m;
}

void encode_flow_mod(Buffer& out, uint32_t xid, const FlowMod& m) {
  size_t start = begin_message(out, MsgType::kFlowMod, xid);
  out.put_be64(m.cookie);
  out.put_be64(m.cookie_mask);
  out.put_u8(m.table_id);
  out.put_u8(static_cast<uint8_t>(m.command));
  out.put_be16(m.idle_timeout);
  out.put_be16(m.hard_timeout);
  out.put_be16(m.priority);
  out.put_be32(m.buffer_id);
  out.put_be32(m.out_port);
  out.put_be32(m.out_group);
  out.put_be16(m.flags);
  out.put_zeros(2);
  m.match.encode(out);
  out.append(m.instructions.bytes());
  finish_message(out, start);
}

Decoded<FlowRemoved> decode_flow_removed(const Frame& f) {
  ByteReader r(f.body);
  FlowRemoved m;
  r.read_be64(&m.cookie);
  r.read_be16(&m.priority);
  r.read_u8(&m.reason);
  r.read_u8(&m.table_id);
  r.read_be32(&m.duration_sec);
  r.read_be32(&m.duration_nsec);
  r.read_be16(&m.idle_timeout);
  r.read_be16(&m.hard_timeout);
  r.read_be64(&m.packet_count);
  r.read_be64(&m.byte_count);
  auto match = MatchView::decode(r);
  if (!match.ok()) return match.error();
  m.match = Match(*match);  // bytes after the match are ignored, as OVS does
  return m;
}

void encode_flow_removed(Buffer& out, uint32_t xid, const FlowRemoved& m) {
  size_t start = begin_message(out, MsgType::kFlowRemoved, xid);
  out.put_be64(m.cookie);
  out.put_be16(m.priority);
  out.put_u8(m.reason);
  out.put_u8(m.table_id);
  out.put_be32(m.duration_sec);
  out.put_be32(m.duration_nsec);
  out.put_be16(m.idle_timeout);
  out.put_be16(m.hard_timeout);
  out.put_be64(m.packet_count);
  out.put_be64(m.byte_count);
  m.match.encode(out);
  finish_message(out, start);
}

// --- ports ------------------------------------------------------------------------------------

Decoded<Port> decode_port(ByteSpan b) {
  if (b.size() < kPortWireSize) return kBadRequest_BAD_LEN;
  const uint8_t* p = b.data();
  Port port;
  port.port_no = load_be32(p);
  if (!port_in_range(port.port_no)) return kBadAction_BAD_OUT_PORT;  // OVS's report for it
  std::copy(p + 8, p + 14, port.hw_addr.begin());
  const char* name = reinterpret_cast<const char*>(p + 16);
  port.name.assign(name, strnlen(name, 15));  // the 16th byte is the terminator
  port.config = load_be32(p + 32);
  port.state = load_be32(p + 36);
  port.curr = load_be32(p + 40);
  port.advertised = load_be32(p + 44);
  port.supported = load_be32(p + 48);
  port.peer = load_be32(p + 52);
  port.curr_speed = load_be32(p + 56);
  port.max_speed = load_be32(p + 60);
  return port;
}

void encode_port(Buffer& out, const Port& port) {
  out.put_be32(port.port_no);
  out.put_zeros(4);
  out.append(ByteSpan(port.hw_addr.data(), 6));
  out.put_zeros(2);
  uint8_t* name = out.extend(16);
  std::memset(name, 0, 16);
  std::memcpy(name, port.name.data(), std::min<size_t>(port.name.size(), 15));
  for (uint32_t v : {port.config, port.state, port.curr, port.advertised, port.supported, port.peer,
                     port.curr_speed, port.max_speed})
    out.put_be32(v);
}

Decoded<Port> decode_port14(ByteSpan b, size_t* used) {
  if (b.size() < 40) return kBadRequest_BAD_LEN;
  const uint8_t* p = b.data();
  size_t length = load_be16(p + 4);
  if (length < 40 || length > b.size() || length % 8 != 0) return kBadRequest_BAD_LEN;
  Port port;
  port.port_no = load_be32(p);
  if (!port_in_range(port.port_no)) return kBadAction_BAD_OUT_PORT;
  std::copy(p + 8, p + 14, port.hw_addr.begin());
  const char* name = reinterpret_cast<const char*>(p + 16);
  port.name.assign(name, strnlen(name, 15));
  port.config = load_be32(p + 32);
  port.state = load_be32(p + 36);
  // Properties: type, length (covering the 4-byte header), padded to 8.
  for (size_t off = 40; off < length;) {
    if (length - off < 4) return kBadRequest_BAD_LEN;
    uint16_t type = load_be16(p + off), plen = load_be16(p + off + 2);
    size_t padded = (plen + 7u) / 8 * 8;
    if (plen < 4 || padded > length - off) return kBadRequest_BAD_LEN;
    if (type == 0) {  // OFPPDPT_ETHERNET
      if (plen != 32) return kBadRequest_BAD_LEN;
      const uint8_t* e = p + off + 8;
      port.curr = load_be32(e);
      port.advertised = load_be32(e + 4);
      port.supported = load_be32(e + 8);
      port.peer = load_be32(e + 12);
      port.curr_speed = load_be32(e + 16);
      port.max_speed = load_be32(e + 20);
    }
    off += padded;
  }
  *used = length;
  return port;
}

void encode_port14(Buffer& out, const Port& port) {
  out.put_be32(port.port_no);
  out.put_be16(72);  // 40 bytes and the Ethernet property
  out.put_zeros(2);
  out.append(ByteSpan(port.hw_addr.data(), port.hw_addr.size()));
  out.put_zeros(2);
  char name[16] = {};
  std::memcpy(name, port.name.data(), std::min<size_t>(port.name.size(), 15));
  out.append(ByteSpan(reinterpret_cast<const uint8_t*>(name), sizeof name));
  out.put_be32(port.config);
  out.put_be32(port.state);
  out.put_be16(0);
  out.put_be16(32);
  out.put_zeros(4);
  for (uint32_t v : {port.curr, port.advertised, port.supported, port.peer, port.curr_speed, port.max_speed})
    out.put_be32(v);
}

Decoded<PortStatus> decode_port_status(const Frame& f) {
  if (f.body.size() < 8) return kBadRequest_BAD_LEN;
  if (f.body[0] > 2) return kBadRequest_BAD_TYPE;  // reason: add, delete or modify only
  if (f.header.version == kOfp14) {
    size_t used = 0;
    auto port = decode_port14(f.body.subspan(8), &used);
    if (!port.ok()) return port.error();
    if (used != f.body.size() - 8) return kBadRequest_BAD_LEN;
    return PortStatus{f.body[0], std::move(*port)};
  }
  if (f.body.size() != 8 + kPortWireSize) return kBadRequest_BAD_LEN;
  auto port = decode_port(f.body.subspan(8));
  if (!port.ok()) return port.error();
  return PortStatus{f.body[0], std::move(*port)};
}

void encode_port_status(Buffer& out, uint32_t xid, const PortStatus& s) {
  size_t start = begin_message(out, MsgType::kPortStatus, xid);
  out.put_u8(s.reason);
  out.put_zeros(7);
  encode_port(out, s.port);
  finish_message(out, start);
}

// --- GROUP_MOD --------------------------------------------------------------------------------

Decoded<std::vector<Bucket>> decode_buckets(ByteSpan bytes) {
  std::vector<Bucket> out;
  ByteReader r(bytes);
  while (!r.at_end()) {
    uint16_t len = 0;
    if (!r.read_be16(&len)) return kGroupModFailed_BAD_BUCKET;
    if (len < 16 || len % 8 != 0 || len - 2u > r.remaining()) return kGroupModFailed_BAD_BUCKET;
    Bucket bucket;
    r.read_be16(&bucket.weight);
    r.read_be32(&bucket.watch_port);
    r.read_be32(&bucket.watch_group);
    r.skip(4);
    ByteSpan actions;
    r.take(len - 16u, &actions);
    if (auto err = validate_actions(actions)) return *err;
    if (!port_in_range(bucket.watch_port)) return kGroupModFailed_BAD_WATCH;
    bucket.actions = ActionList(actions);
    out.push_back(std::move(bucket));
  }
  return out;
}

Decoded<GroupMod> decode_group_mod(const Frame& f) {
  const uint8_t* b = f.body.data();
  GroupMod g;
  g.command = load_be16(b);
  g.type = b[2];
  g.group_id = load_be32(b + 4);
  if (g.command > 2) return kGroupModFailed_BAD_COMMAND;
  if (g.type > 3) return kGroupModFailed_BAD_TYPE;
  auto buckets = decode_buckets(f.body.subspan(8));
  if (!buckets.ok()) return buckets.error();
  g.buckets = std::move(*buckets);
  // What each group type allows (OpenFlow 1.3 §5.6.1, as OVS checks it).
  enum : uint8_t { kAll = 0, kSelect = 1, kIndirect = 2, kFastFailover = 3 };
  if (g.command == 2 && !g.buckets.empty())
    return kGroupModFailed_INVALID_GROUP;  // OF1.3.5: a delete has none
  if (g.type == kIndirect && g.command != 2 && g.buckets.size() != 1) return kGroupModFailed_INVALID_GROUP;
  for (const Bucket& b : g.buckets) {
    const bool liveness = b.watch_port != kPortAny || b.watch_group != kGroupAny;
    if (b.weight && g.type != kSelect) return kGroupModFailed_INVALID_GROUP;
    if ((g.type == kAll || g.type == kIndirect) && liveness) return kGroupModFailed_WATCH_UNSUPPORTED;
    if (g.type == kFastFailover && !liveness) return kGroupModFailed_INVALID_GROUP;
  }
  return g;
}

namespace {
void encode_buckets(Buffer& out, const std::vector<Bucket>& buckets) {
  for (const Bucket& b : buckets) {
    out.put_be16(static_cast<uint16_t>(16 + b.actions.bytes().size()));
    out.put_be16(b.weight);
    out.put_be32(b.watch_port);
    out.put_be32(b.watch_group);
    out.put_zeros(4);
    out.append(b.actions.bytes());
  }
}
}  // namespace

void encode_group_mod(Buffer& out, uint32_t xid, const GroupMod& g) {
  size_t start = begin_message(out, MsgType::kGroupMod, xid);
  out.put_be16(g.command);
  out.put_u8(g.type);
  out.put_u8(0);
  out.put_be32(g.group_id);
  encode_buckets(out, g.buckets);
  finish_message(out, start);
}

// --- MULTIPART --------------------------------------------------------------------------------

Decoded<MultipartHeader> decode_multipart(const Frame& f) {
  return MultipartHeader{static_cast<MultipartType>(load_be16(f.body.data())), load_be16(f.body.data() + 2),
                         f.body.subspan(8)};
}

void encode_multipart_request(Buffer& out, uint32_t xid, MultipartType type, ByteSpan body, uint16_t flags) {
  size_t start = begin_message(out, MsgType::kMultipartRequest, xid);
  out.put_be16(static_cast<uint16_t>(type));
  out.put_be16(flags);
  out.put_zeros(4);
  out.append(body);
  finish_message(out, start);
}

void encode_flow_stats_request(Buffer& out, uint32_t xid, const FlowStatsRequest& q) {
  size_t start = begin_message(out, MsgType::kMultipartRequest, xid);
  out.put_be16(static_cast<uint16_t>(MultipartType::kFlow));
  out.put_be16(0);
  out.put_zeros(4);
  out.put_u8(q.table_id);
  out.put_zeros(3);
  out.put_be32(q.out_port);
  out.put_be32(q.out_group);
  out.put_zeros(4);
  out.put_be64(q.cookie);
  out.put_be64(q.cookie_mask);
  q.match.encode(out);
  finish_message(out, start);
}

void encode_flow_stats_entry(Buffer& out, const FlowStats& s) {
  size_t start = out.size();
  out.put_be16(0);  // length, patched
  out.put_u8(s.table_id);
  out.put_u8(0);
  out.put_be32(s.duration_sec);
  out.put_be32(s.duration_nsec);
  out.put_be16(s.priority);
  out.put_be16(s.idle_timeout);
  out.put_be16(s.hard_timeout);
  out.put_be16(s.flags);
  out.put_zeros(4);
  out.put_be64(s.cookie);
  out.put_be64(s.packet_count);
  out.put_be64(s.byte_count);
  s.match.encode(out);
  out.append(s.instructions.bytes());
  out.patch_be16(start, static_cast<uint16_t>(out.size() - start));
}

void encode_group_desc_entry(Buffer& out, const GroupMod& g) {
  size_t start = out.size();
  GroupDescHeader{0, g.type, g.group_id}.encode(out);  // length patched below
  encode_buckets(out, g.buckets);
  out.patch_be16(start, static_cast<uint16_t>(out.size() - start));
}

Decoded<std::vector<FlowStats>> decode_flow_stats_reply(ByteSpan body) {
  std::vector<FlowStats> out;
  ByteReader r(body);
  while (!r.at_end()) {
    ByteSpan entry_start = r.rest();
    uint16_t len = 0;
    if (!r.read_be16(&len) || len < 56 || len > entry_start.size()) return kBadRequest_BAD_LEN;
    ByteReader e(entry_start.first(len));
    e.skip(2);
    FlowStats s;
    e.read_u8(&s.table_id);
    e.skip(1);
    e.read_be32(&s.duration_sec);
    e.read_be32(&s.duration_nsec);
    e.read_be16(&s.priority);
    e.read_be16(&s.idle_timeout);
    e.read_be16(&s.hard_timeout);
    e.read_be16(&s.flags);
    e.skip(4);
    e.read_be64(&s.cookie);
    e.read_be64(&s.packet_count);
    e.read_be64(&s.byte_count);
    auto match = MatchView::decode(e);
    if (!match.ok()) return match.error();
    s.match = Match(*match);
    if (auto err = validate_instructions(e.rest())) return *err;
    s.instructions = InstructionList(e.rest());
    out.push_back(std::move(s));
    r.skip(len - 2u);
  }
  return out;
}

Decoded<std::vector<Port>> decode_port_desc_reply(ByteSpan body, uint8_t version) {
  std::vector<Port> ports;
  if (version == kOfp14) {
    for (size_t off = 0; off < body.size();) {
      size_t used = 0;
      auto p = decode_port14(body.subspan(off), &used);
      if (!p.ok()) return p.error();
      ports.push_back(std::move(*p));
      off += used;
    }
    return ports;
  }
  if (body.size() % kPortWireSize != 0) return kBadRequest_BAD_LEN;
  for (size_t i = 0; i < body.size(); i += kPortWireSize) {
    auto p = decode_port(body.subspan(i, kPortWireSize));
    if (!p.ok()) return p.error();
    ports.push_back(std::move(*p));
  }
  return ports;
}

}  // namespace vlcp::ofp

namespace vlcp::ofp {

std::optional<OfpError> validate_message(ByteSpan message) {
  auto frame = decode_frame(message);
  if (!frame.ok()) return frame.error();
  auto check = [](const auto& decoded) -> std::optional<OfpError> {
    if (decoded.ok()) return std::nullopt;
    return decoded.error();
  };
  const Frame& f = *frame;
  if (f.header.version == kOfp14) {
    switch (static_cast<uint8_t>(f.header.type)) {
      case 16:  // PORT_MOD, TABLE_MOD, the async config and 1.4's new messages: properties
      case 17:  // after fixed parts whose lengths decode_frame checked
      case 27:
      case 28:
      case 30:
      case 31:
      case 32:
      case 33:
      case 34:
        return std::nullopt;
      default:
        break;
    }
  }
  switch (f.header.type) {
    case MsgType::kHello:
      return check(decode_hello(f));
    case MsgType::kError:
      return check(decode_error(f));
    case MsgType::kFeaturesReply:
      return check(decode_features_reply(f));
    case MsgType::kGetConfigReply:
    case MsgType::kSetConfig:
      return check(decode_switch_config(f));
    case MsgType::kPacketIn:
      return check(decode_packet_in(f));
    case MsgType::kFlowRemoved:
      return check(decode_flow_removed(f));
    case MsgType::kPortStatus:
      return check(decode_port_status(f));
    case MsgType::kPacketOut:
      return check(decode_packet_out(f));
    case MsgType::kFlowMod:
      return check(decode_flow_mod(f));
    case MsgType::kGroupMod:
      return check(decode_group_mod(f));
    case MsgType::kRoleRequest:
    case MsgType::kRoleReply:
      return check(decode_role(f));
    case MsgType::kMultipartRequest:
    case MsgType::kMultipartReply: {
      auto mp = decode_multipart(f);
      if (!mp.ok()) return mp.error();
      bool reply = f.header.type == MsgType::kMultipartReply;
      if (f.header.version == kOfp14) {
        // 1.4 changed the port, port stats and queue records (properties) and added types; the
        // others keep 1.3's layout.
        if (mp->type == MultipartType::kPortDesc && reply)
          return check(decode_port_desc_reply(mp->body, kOfp14));
        switch (mp->type) {
          case MultipartType::kDesc:
          case MultipartType::kFlow:
          case MultipartType::kAggregate:
          case MultipartType::kTable:
          case MultipartType::kGroup:
          case MultipartType::kGroupDesc:
          case MultipartType::kGroupFeatures:
          case MultipartType::kMeter:
          case MultipartType::kMeterConfig:
          case MultipartType::kMeterFeatures:
          case MultipartType::kPortDesc:
            break;
          default:
            return std::nullopt;
        }
      }
      return validate_multipart_body(mp->type, reply, mp->body);
    }
    case MsgType::kGetAsyncReply:
    case MsgType::kSetAsync: {
      AsyncConfig c;
      return AsyncConfig::decode(f.body, &c) ? std::nullopt : std::optional<OfpError>(kBadRequest_BAD_LEN);
    }
    case MsgType::kTableMod:
    case MsgType::kPortMod:
      return std::nullopt;  // fixed lengths, checked by decode_frame
    case MsgType::kQueueGetConfigRequest: {
      // A physical port or ANY (OpenFlow 1.3 §7.3.6); OVS's errors for the others.
      uint32_t port = load_be32(f.body.data());
      if (port < 0xff00 || port == kPortAny) return std::nullopt;
      return port >= 0xffffff00 ? errors::kQueueOpFailed_BAD_PORT : errors::kBadAction_BAD_OUT_PORT;
    }
    case MsgType::kMeterMod:
      return validate_meter_mod(f);
    case MsgType::kQueueGetConfigReply:
      return validate_queue_get_config_reply(f);
    case MsgType::kExperimenter:
      return validate_experimenter(f);
    default:
      return std::nullopt;
  }
}

}  // namespace vlcp::ofp
