// OpenFlow 1.3 messages. VLCP_OFP_MESSAGES declares every message type once (code, minimum
// length, name); decode_frame checks the header and lengths of any message centrally before a
// per-message decoder runs. Decoders take a Frame (a validated span) and return views or
// owning structs; encoders append to a caller's Buffer.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/buffer.h"
#include "ofp/actions.h"
#include "ofp/errors.h"
#include "ofp/match.h"

namespace vlcp::ofp {

inline constexpr uint8_t kOfp13 = 0x04;
inline constexpr uint8_t kOfp14 = 0x05;
inline constexpr uint32_t kNoBuffer = 0xffffffff;
inline constexpr uint32_t kGroupAny = 0xffffffff;
inline constexpr uint32_t kGroupAll = 0xfffffffc;

// How a message may grow past its declared length: not at all, by any number of bytes, or by
// whole 8-byte units (bodies made of 8-aligned structures; OVS enforces this too).
enum class Tail : uint8_t { kFixed, kAny, kAligned8 };

// X(Enum, type code, length including the header (the minimum unless kFixed), tail, name)
#define VLCP_OFP_MESSAGES(X)                                                 \
  X(kHello, 0, 8, kAny, "OFPT_HELLO")                                        \
  X(kError, 1, 12, kAny, "OFPT_ERROR")                                       \
  X(kEchoRequest, 2, 8, kAny, "OFPT_ECHO_REQUEST")                           \
  X(kEchoReply, 3, 8, kAny, "OFPT_ECHO_REPLY")                               \
  X(kExperimenter, 4, 16, kAny, "OFPT_EXPERIMENTER")                         \
  X(kFeaturesRequest, 5, 8, kFixed, "OFPT_FEATURES_REQUEST")                 \
  X(kFeaturesReply, 6, 32, kFixed, "OFPT_FEATURES_REPLY")                    \
  X(kGetConfigRequest, 7, 8, kFixed, "OFPT_GET_CONFIG_REQUEST")              \
  X(kGetConfigReply, 8, 12, kFixed, "OFPT_GET_CONFIG_REPLY")                 \
  X(kSetConfig, 9, 12, kFixed, "OFPT_SET_CONFIG")                            \
  X(kPacketIn, 10, 34, kAny, "OFPT_PACKET_IN")                               \
  X(kFlowRemoved, 11, 56, kAligned8, "OFPT_FLOW_REMOVED")                    \
  X(kPortStatus, 12, 80, kFixed, "OFPT_PORT_STATUS")                         \
  X(kPacketOut, 13, 24, kAny, "OFPT_PACKET_OUT")                             \
  X(kFlowMod, 14, 56, kAligned8, "OFPT_FLOW_MOD")                            \
  X(kGroupMod, 15, 16, kAligned8, "OFPT_GROUP_MOD")                          \
  X(kPortMod, 16, 40, kFixed, "OFPT_PORT_MOD")                               \
  X(kTableMod, 17, 16, kFixed, "OFPT_TABLE_MOD")                             \
  X(kMultipartRequest, 18, 16, kAny, "OFPST_REQUEST")                        \
  X(kMultipartReply, 19, 16, kAny, "OFPST_REPLY")                            \
  X(kBarrierRequest, 20, 8, kFixed, "OFPT_BARRIER_REQUEST")                  \
  X(kBarrierReply, 21, 8, kFixed, "OFPT_BARRIER_REPLY")                      \
  X(kQueueGetConfigRequest, 22, 16, kFixed, "OFPT_QUEUE_GET_CONFIG_REQUEST") \
  X(kQueueGetConfigReply, 23, 16, kAligned8, "OFPT_QUEUE_GET_CONFIG_REPLY")  \
  X(kRoleRequest, 24, 24, kFixed, "OFPT_ROLE_REQUEST")                       \
  X(kRoleReply, 25, 24, kFixed, "OFPT_ROLE_REPLY")                           \
  X(kGetAsyncRequest, 26, 8, kFixed, "OFPT_GET_ASYNC_REQUEST")               \
  X(kGetAsyncReply, 27, 32, kFixed, "OFPT_GET_ASYNC_REPLY")                  \
  X(kSetAsync, 28, 32, kFixed, "OFPT_SET_ASYNC")                             \
  X(kMeterMod, 29, 16, kAligned8, "OFPT_METER_MOD")

enum class MsgType : uint8_t {
#define VLCP_MSG_ENUM(e, code, min, tail, name) e = code,
  VLCP_OFP_MESSAGES(VLCP_MSG_ENUM)
#undef VLCP_MSG_ENUM
};

// OpenFlow 1.4 (wire version 5) messages whose layout differs from 1.3's, and 1.4's new ones.
// Everything else has the same layout in both versions, so one decoder serves both; a 1.4
// session speaks them with the header's version byte set to 5.
// X(type code, length including the header (the minimum unless kFixed), tail, name)
#define VLCP_OFP14_MESSAGES(X)                \
  X(12, 56, kAligned8, "OFPT_PORT_STATUS")    \
  X(16, 32, kAligned8, "OFPT_PORT_MOD")       \
  X(17, 16, kAligned8, "OFPT_TABLE_MOD")      \
  X(27, 8, kAny, "OFPT_GET_ASYNC_REPLY")      \
  X(28, 8, kAny, "OFPT_SET_ASYNC")            \
  X(30, 24, kAligned8, "OFPT_ROLE_STATUS")    \
  X(31, 24, kAligned8, "OFPT_TABLE_STATUS")   \
  X(32, 16, kAny, "OFPT_REQUESTFORWARD")      \
  X(33, 16, kAligned8, "OFPT_BUNDLE_CONTROL") \
  X(34, 24, kAny, "OFPT_BUNDLE_ADD_MESSAGE")

std::string_view message_name(MsgType type);
// The minimum length of a message of this type, 0 for an unknown type.
uint16_t message_min_length(uint8_t type);

struct Header {
  uint8_t version = kOfp13;
  MsgType type = MsgType::kHello;
  uint16_t length = 0;
  uint32_t xid = 0;
};

// A message whose header and length were checked.
struct Frame {
  Header header;
  ByteSpan bytes;  // the whole message
  ByteSpan body;   // after the header
};

// How many bytes the message at the front of a stream occupies, once its header has arrived
// (0 when fewer than 8 bytes are buffered). Lengths below 8 are reported as 8 so the caller
// hands the message to decode_frame, which rejects it.
size_t frame_length(ByteSpan stream);

// Checks any message: at least a header, version 1.3 or 1.4, declared length equal to the span,
// a type known in that version, at least the type's minimum length (1.4's where it differs).
Decoded<Frame> decode_frame(ByteSpan message);

// Decodes a whole message with the decoder for its type, keeping nothing: the check a switch
// session runs on every message before acting on it. nullopt when it is well formed.
std::optional<OfpError> validate_message(ByteSpan message);

// Appends a header with a zero length; finish_message() fills the length in.
size_t begin_message(Buffer& out, MsgType type, uint32_t xid);
void finish_message(Buffer& out, size_t start);

// --- HELLO, ERROR, ECHO, BARRIER, FEATURES, CONFIG, ROLE -----------------------------------

struct Hello {
  uint32_t version_bitmap = 1u << kOfp13;  // bit n: OpenFlow wire version n
  // Elements were truncated or unknown. Like OVS, the handshake goes on with what could be
  // read (the header's version at least): the session logs it, rate-limited.
  bool malformed = false;
};
Decoded<Hello> decode_hello(const Frame& frame);
void encode_hello(Buffer& out, uint32_t xid, const Hello& hello);
// The highest version both sides offer, or 0 when none.
uint8_t negotiate_version(uint32_t ours, uint32_t theirs);

struct ErrorMsg {
  OfpError error;
  ByteSpan data;  // at most the first 64 bytes of the offending message
};
Decoded<ErrorMsg> decode_error(const Frame& frame);
// Replies to `offending` (may be empty) with `error`, echoing its first 64 bytes and its xid.
void encode_error(Buffer& out, uint32_t xid, OfpError error, ByteSpan offending);

// Messages whose whole body is opaque data or nothing.
void encode_simple(Buffer& out, MsgType type, uint32_t xid, ByteSpan data = {});

struct FeaturesReply {
  uint64_t datapath_id = 0;
  uint32_t n_buffers = 0;
  uint8_t n_tables = 0;
  uint8_t auxiliary_id = 0;
  uint32_t capabilities = 0;
};
Decoded<FeaturesReply> decode_features_reply(const Frame& frame);
void encode_features_reply(Buffer& out, uint32_t xid, const FeaturesReply& f);

struct SwitchConfig {
  uint16_t flags = 0;
  uint16_t miss_send_len = 128;
};
Decoded<SwitchConfig> decode_switch_config(const Frame& frame);
void encode_switch_config(Buffer& out, MsgType type, uint32_t xid, const SwitchConfig& c);

enum class Role : uint32_t { kNoChange = 0, kEqual = 1, kMaster = 2, kSlave = 3 };
struct RoleMsg {
  Role role = Role::kNoChange;
  uint64_t generation_id = 0;
};
Decoded<RoleMsg> decode_role(const Frame& frame);
void encode_role(Buffer& out, MsgType type, uint32_t xid, const RoleMsg& r);

// --- PACKET_IN, PACKET_OUT -------------------------------------------------------------------

// A PACKET_IN as a view into the received bytes: decoding allocates nothing.
struct PacketInView {
  uint32_t buffer_id = kNoBuffer;
  uint16_t total_len = 0;
  uint8_t reason = 0;
  uint8_t table_id = 0;
  uint64_t cookie = 0;
  MatchView match;
  ByteSpan data;
};
Decoded<PacketInView> decode_packet_in(const Frame& frame);
void encode_packet_in(Buffer& out, uint32_t xid, const PacketInView& p, ByteSpan match_oxms);

struct PacketOut {
  uint32_t buffer_id = kNoBuffer;
  uint32_t in_port = kPortController;
  ActionList actions;
  ByteSpan data;  // not owned
};
Decoded<PacketOut> decode_packet_out(const Frame& frame);
void encode_packet_out(Buffer& out, uint32_t xid, const PacketOut& p);

// --- FLOW_MOD, FLOW_REMOVED ------------------------------------------------------------------

enum class FlowModCommand : uint8_t {
  kAdd = 0,
  kModify = 1,
  kModifyStrict = 2,
  kDelete = 3,
  kDeleteStrict = 4
};

enum : uint16_t {
  kFlowSendFlowRem = 1 << 0,
  kFlowCheckOverlap = 1 << 1,
  kFlowResetCounts = 1 << 2,
  kFlowNoPktCounts = 1 << 3,
  kFlowNoBytCounts = 1 << 4,
};

struct FlowMod {
  uint64_t cookie = 0;
  uint64_t cookie_mask = 0;
  uint8_t table_id = 0;
  FlowModCommand command = FlowModCommand::kAdd;
  uint16_t idle_timeout = 0;
  uint16_t hard_timeout = 0;
  uint16_t priority = 0x8000;
  uint32_t buffer_id = kNoBuffer;
  uint32_t out_port = kPortAny;
  uint32_t out_group = kGroupAny;
  uint16_t flags = 0;
  Match match;
  InstructionList instructions;
};
Decoded<FlowMod> decode_flow_mod(const Frame& frame);
void encode_flow_mod(Buffer& out, uint32_t xid, const FlowMod& f);

struct FlowRemoved {
  uint64_t cookie = 0;
  uint16_t priority = 0;
  uint8_t reason = 0;
  uint8_t table_id = 0;
  uint32_t duration_sec = 0;
  uint32_t duration_nsec = 0;
  uint16_t idle_timeout = 0;
  uint16_t hard_timeout = 0;
  uint64_t packet_count = 0;
  uint64_t byte_count = 0;
  Match match;
};
Decoded<FlowRemoved> decode_flow_removed(const Frame& frame);
void encode_flow_removed(Buffer& out, uint32_t xid, const FlowRemoved& f);

// --- ports -----------------------------------------------------------------------------------

struct Port {
  uint32_t port_no = 0;
  std::array<uint8_t, 6> hw_addr{};
  std::string name;  // up to 15 characters
  uint32_t config = 0;
  uint32_t state = 0;
  uint32_t curr = 0, advertised = 0, supported = 0, peer = 0;
  uint32_t curr_speed = 0, max_speed = 0;
};
inline constexpr size_t kPortWireSize = 64;
Decoded<Port> decode_port(ByteSpan sixty_four_bytes);
// An OpenFlow 1.4 port (40 bytes and properties; the Ethernet property carries the features and
// speeds) at the front of `bytes`; *used receives its length.
Decoded<Port> decode_port14(ByteSpan bytes, size_t* used);
void encode_port14(Buffer& out, const Port& p);
void encode_port(Buffer& out, const Port& p);

struct PortStatus {
  uint8_t reason = 0;  // 0 add, 1 delete, 2 modify
  Port port;
};
Decoded<PortStatus> decode_port_status(const Frame& frame);
void encode_port_status(Buffer& out, uint32_t xid, const PortStatus& s);

// --- GROUP_MOD -------------------------------------------------------------------------------

struct Bucket {
  uint16_t weight = 0;
  uint32_t watch_port = kPortAny;
  uint32_t watch_group = kGroupAny;
  ActionList actions;
};
struct GroupMod {
  uint16_t command = 0;  // 0 add, 1 modify, 2 delete
  uint8_t type = 0;      // 0 all, 1 select, 2 indirect, 3 fast failover
  uint32_t group_id = 0;
  std::vector<Bucket> buckets;
};
Decoded<GroupMod> decode_group_mod(const Frame& frame);
// A sequence of buckets (GROUP_MOD, GROUP_DESC), each checked with its actions.
Decoded<std::vector<Bucket>> decode_buckets(ByteSpan bytes);
void encode_group_mod(Buffer& out, uint32_t xid, const GroupMod& g);

// --- MULTIPART -------------------------------------------------------------------------------

// X(Enum, type, name as ovs-ofctl prints it: "OFPST_<name> request|reply")
#define VLCP_OFP_MULTIPART_TYPES(X)       \
  X(kDesc, 0, "DESC")                     \
  X(kFlow, 1, "FLOW")                     \
  X(kAggregate, 2, "AGGREGATE")           \
  X(kTable, 3, "TABLE")                   \
  X(kPortStats, 4, "PORT")                \
  X(kQueue, 5, "QUEUE")                   \
  X(kGroup, 6, "GROUP")                   \
  X(kGroupDesc, 7, "GROUP_DESC")          \
  X(kGroupFeatures, 8, "GROUP_FEATURES")  \
  X(kMeter, 9, "METER")                   \
  X(kMeterConfig, 10, "METER_CONFIG")     \
  X(kMeterFeatures, 11, "METER_FEATURES") \
  X(kTableFeatures, 12, "TABLE_FEATURES") \
  X(kPortDesc, 13, "PORT_DESC")           \
  X(kExperimenter, 0xffff, "EXPERIMENTER")

enum class MultipartType : uint16_t {
#define VLCP_MP_ENUM(e, code, name) e = code,
  VLCP_OFP_MULTIPART_TYPES(VLCP_MP_ENUM)
#undef VLCP_MP_ENUM
};
std::string_view multipart_name(MultipartType type);  // "" when unknown
inline constexpr uint16_t kMultipartMore = 1;

struct MultipartHeader {
  MultipartType type;
  uint16_t flags;
  ByteSpan body;
};
Decoded<MultipartHeader> decode_multipart(const Frame& frame);
void encode_multipart_request(Buffer& out, uint32_t xid, MultipartType type, ByteSpan body,
                              uint16_t flags = 0);

struct FlowStatsRequest {
  uint8_t table_id = 0xff;  // all tables
  uint32_t out_port = kPortAny;
  uint32_t out_group = kGroupAny;
  uint64_t cookie = 0;
  uint64_t cookie_mask = 0;
  Match match;
};
void encode_flow_stats_request(Buffer& out, uint32_t xid, const FlowStatsRequest& r);

struct FlowStats {
  uint8_t table_id = 0;
  uint32_t duration_sec = 0, duration_nsec = 0;
  uint16_t priority = 0, idle_timeout = 0, hard_timeout = 0, flags = 0;
  uint64_t cookie = 0, packet_count = 0, byte_count = 0;
  Match match;
  InstructionList instructions;
};
// One entry of a flow stats reply body (what a switch sends; fakes and tools use it).
void encode_flow_stats_entry(Buffer& out, const FlowStats& s);
// One entry of a GROUP_DESC reply body: the group's type, id and buckets (command unused).
void encode_group_desc_entry(Buffer& out, const GroupMod& g);
// Every entry of a flow stats reply body.
Decoded<std::vector<FlowStats>> decode_flow_stats_reply(ByteSpan body);
// Every port of a port description reply body (1.4 ports when version is kOfp14).
Decoded<std::vector<Port>> decode_port_desc_reply(ByteSpan body, uint8_t version = kOfp13);

}  // namespace vlcp::ofp
