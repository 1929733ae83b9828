// The fixed parts of the remaining OpenFlow 1.3 message bodies, declared once as layouts
// (layout.h): asynchronous configuration, TABLE_MOD, PORT_MOD, METER_MOD and its bands,
// QUEUE_GET_CONFIG, EXPERIMENTER, the ONF bundle extension (as OVS implements it for 1.3), and
// every multipart request and reply body. Offsets count from the start of the body (after the
// 8-byte header, or after the 8-byte multipart header for multipart bodies).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/buffer.h"
#include "ofp/errors.h"
#include "ofp/layout.h"
#include "ofp/message.h"

namespace vlcp::ofp {

using HwAddr = std::array<uint8_t, 6>;
using DescString = std::array<char, 256>;
using SerialString = std::array<char, 32>;

// clang-format off: field tables read best one declaration per line group, as written.
// --- messages ---------------------------------------------------------------------------------
#define VLCP_OFP_ASYNC_CONFIG(X)     \
  X(uint32_t, packet_in_master, 0)   \
  X(uint32_t, packet_in_slave, 4)    \
  X(uint32_t, port_status_master, 8) \
  X(uint32_t, port_status_slave, 12) X(uint32_t, flow_removed_master, 16) X(uint32_t, flow_removed_slave, 20)
VLCP_LAYOUT(AsyncConfig, VLCP_OFP_ASYNC_CONFIG, 24)

#define VLCP_OFP_TABLE_MOD(X) X(uint8_t, table_id, 0) X(uint32_t, config, 4)
VLCP_LAYOUT(TableMod, VLCP_OFP_TABLE_MOD, 8)

#define VLCP_OFP_PORT_MOD(X) \
  X(uint32_t, port_no, 0)    \
  X(HwAddr, hw_addr, 8) X(uint32_t, config, 16) X(uint32_t, mask, 20) X(uint32_t, advertise, 24)
VLCP_LAYOUT(PortMod, VLCP_OFP_PORT_MOD, 32)

#define VLCP_OFP_METER_MOD(X) X(uint16_t, command, 0) X(uint16_t, flags, 2) X(uint32_t, meter_id, 4)
VLCP_LAYOUT(MeterModHeader, VLCP_OFP_METER_MOD, 8)  // followed by bands

// A meter band: drop (1), dscp_remark (2, prec_level), experimenter (0xffff).
#define VLCP_OFP_METER_BAND(X) \
  X(uint16_t, type, 0)         \
  X(uint16_t, len, 2) X(uint32_t, rate, 4) X(uint32_t, burst_size, 8) X(uint8_t, prec_level, 12)
VLCP_LAYOUT(MeterBand, VLCP_OFP_METER_BAND, 16)

#define VLCP_OFP_QUEUE_GET_CONFIG_REQUEST(X) X(uint32_t, port, 0)
VLCP_LAYOUT(QueueGetConfigRequest, VLCP_OFP_QUEUE_GET_CONFIG_REQUEST, 8)
#define VLCP_OFP_QUEUE_GET_CONFIG_REPLY(X) X(uint32_t, port, 0)
VLCP_LAYOUT(QueueGetConfigReplyHeader, VLCP_OFP_QUEUE_GET_CONFIG_REPLY, 8)  // followed by queues
#define VLCP_OFP_PACKET_QUEUE(X) X(uint32_t, queue_id, 0) X(uint32_t, port, 4) X(uint16_t, len, 8)
VLCP_LAYOUT(PacketQueue, VLCP_OFP_PACKET_QUEUE, 16)  // followed by properties

#define VLCP_OFP_EXPERIMENTER(X) X(uint32_t, experimenter, 0) X(uint32_t, exp_type, 4)
VLCP_LAYOUT(ExperimenterHeader, VLCP_OFP_EXPERIMENTER, 8)

// ONF bundles in OpenFlow 1.3 (experimenter 0x4f4e4600, exp_type 2300 control / 2301 add).
inline constexpr uint32_t kOnfExperimenter = 0x4f4e4600;
inline constexpr uint32_t kOnfBundleControl = 2300;
inline constexpr uint32_t kOnfBundleAdd = 2301;
#define VLCP_OFP_BUNDLE_CTRL(X) X(uint32_t, bundle_id, 0) X(uint16_t, type, 4) X(uint16_t, flags, 6)
VLCP_LAYOUT(BundleControl, VLCP_OFP_BUNDLE_CTRL, 8)  // after the experimenter header
#define VLCP_OFP_BUNDLE_ADD(X) X(uint32_t, bundle_id, 0) X(uint16_t, flags, 6)
VLCP_LAYOUT(BundleAddHeader, VLCP_OFP_BUNDLE_ADD, 8)  // after the experimenter header; then a message
enum class BundleCtrlType : uint16_t {
  kOpenRequest = 0,
  kOpenReply = 1,
  kCloseRequest = 2,
  kCloseReply = 3,
  kCommitRequest = 4,
  kCommitReply = 5,
  kDiscardRequest = 6,
  kDiscardReply = 7,
};
inline constexpr uint16_t kBundleAtomic = 1, kBundleOrdered = 2;

// --- multipart bodies ---------------------------------------------------------------------------
#define VLCP_OFP_DESC(X)      \
  X(DescString, mfr_desc, 0)  \
  X(DescString, hw_desc, 256) \
  X(DescString, sw_desc, 512) X(SerialString, serial_num, 768) X(DescString, dp_desc, 800)
VLCP_LAYOUT(DescReply, VLCP_OFP_DESC, 1056)

#define VLCP_OFP_AGGREGATE(X) \
  X(uint64_t, packet_count, 0) X(uint64_t, byte_count, 8) X(uint32_t, flow_count, 16)
VLCP_LAYOUT(AggregateReply, VLCP_OFP_AGGREGATE, 24)

#define VLCP_OFP_TABLE_STATS(X) \
  X(uint8_t, table_id, 0)       \
  X(uint32_t, active_count, 4) X(uint64_t, lookup_count, 8) X(uint64_t, matched_count, 16)
VLCP_LAYOUT(TableStats, VLCP_OFP_TABLE_STATS, 24)

#define VLCP_OFP_PORT_STATS_REQUEST(X) X(uint32_t, port_no, 0)
VLCP_LAYOUT(PortStatsRequest, VLCP_OFP_PORT_STATS_REQUEST, 8)
#define VLCP_OFP_PORT_STATS(X)  \
  X(uint32_t, port_no, 0)       \
  X(uint64_t, rx_packets, 8)    \
  X(uint64_t, tx_packets, 16)   \
  X(uint64_t, rx_bytes, 24)     \
  X(uint64_t, tx_bytes, 32)     \
  X(uint64_t, rx_dropped, 40)   \
  X(uint64_t, tx_dropped, 48)   \
  X(uint64_t, rx_errors, 56)    \
  X(uint64_t, tx_errors, 64)    \
  X(uint64_t, rx_frame_err, 72) \
  X(uint64_t, rx_over_err, 80)  \
  X(uint64_t, rx_crc_err, 88)   \
  X(uint64_t, collisions, 96) X(uint32_t, duration_sec, 104) X(uint32_t, duration_nsec, 108)
VLCP_LAYOUT(PortStats, VLCP_OFP_PORT_STATS, 112)

#define VLCP_OFP_QUEUE_STATS_REQUEST(X) X(uint32_t, port_no, 0) X(uint32_t, queue_id, 4)
VLCP_LAYOUT(QueueStatsRequest, VLCP_OFP_QUEUE_STATS_REQUEST, 8)
#define VLCP_OFP_QUEUE_STATS(X) \
  X(uint32_t, port_no, 0)       \
  X(uint32_t, queue_id, 4)      \
  X(uint64_t, tx_bytes, 8)      \
  X(uint64_t, tx_packets, 16)   \
  X(uint64_t, tx_errors, 24) X(uint32_t, duration_sec, 32) X(uint32_t, duration_nsec, 36)
VLCP_LAYOUT(QueueStats, VLCP_OFP_QUEUE_STATS, 40)

#define VLCP_OFP_GROUP_STATS_REQUEST(X) X(uint32_t, group_id, 0)
VLCP_LAYOUT(GroupStatsRequest, VLCP_OFP_GROUP_STATS_REQUEST, 8)
#define VLCP_OFP_GROUP_STATS(X) \
  X(uint16_t, length, 0)        \
  X(uint32_t, group_id, 4)      \
  X(uint32_t, ref_count, 8)     \
  X(uint64_t, packet_count, 16) \
  X(uint64_t, byte_count, 24) X(uint32_t, duration_sec, 32) X(uint32_t, duration_nsec, 36)
VLCP_LAYOUT(GroupStats, VLCP_OFP_GROUP_STATS, 40)  // followed by bucket counters
#define VLCP_OFP_BUCKET_COUNTER(X) X(uint64_t, packet_count, 0) X(uint64_t, byte_count, 8)
VLCP_LAYOUT(BucketCounter, VLCP_OFP_BUCKET_COUNTER, 16)

#define VLCP_OFP_GROUP_DESC(X) X(uint16_t, length, 0) X(uint8_t, type, 2) X(uint32_t, group_id, 4)
VLCP_LAYOUT(GroupDescHeader, VLCP_OFP_GROUP_DESC, 8)  // followed by buckets

#define VLCP_OFP_GROUP_FEATURES(X)     \
  X(uint32_t, types, 0)                \
  X(uint32_t, capabilities, 4)         \
  X(uint32_t, max_groups_all, 8)       \
  X(uint32_t, max_groups_select, 12)   \
  X(uint32_t, max_groups_indirect, 16) \
  X(uint32_t, max_groups_ff, 20)       \
  X(uint32_t, actions_all, 24)         \
  X(uint32_t, actions_select, 28) X(uint32_t, actions_indirect, 32) X(uint32_t, actions_ff, 36)
VLCP_LAYOUT(GroupFeatures, VLCP_OFP_GROUP_FEATURES, 40)

#define VLCP_OFP_METER_STATS_REQUEST(X) X(uint32_t, meter_id, 0)
VLCP_LAYOUT(MeterStatsRequest, VLCP_OFP_METER_STATS_REQUEST, 8)  // also METER_CONFIG requests
#define VLCP_OFP_METER_STATS(X)    \
  X(uint32_t, meter_id, 0)         \
  X(uint16_t, len, 4)              \
  X(uint32_t, flow_count, 12)      \
  X(uint64_t, packet_in_count, 16) \
  X(uint64_t, byte_in_count, 24) X(uint32_t, duration_sec, 32) X(uint32_t, duration_nsec, 36)
VLCP_LAYOUT(MeterStats, VLCP_OFP_METER_STATS, 40)  // followed by band counters
#define VLCP_OFP_METER_BAND_STATS(X) X(uint64_t, packet_band_count, 0) X(uint64_t, byte_band_count, 8)
VLCP_LAYOUT(MeterBandStats, VLCP_OFP_METER_BAND_STATS, 16)
#define VLCP_OFP_METER_CONFIG(X) X(uint16_t, length, 0) X(uint16_t, flags, 2) X(uint32_t, meter_id, 4)
VLCP_LAYOUT(MeterConfigHeader, VLCP_OFP_METER_CONFIG, 8)  // followed by bands
#define VLCP_OFP_METER_FEATURES(X) \
  X(uint32_t, max_meter, 0)        \
  X(uint32_t, band_types, 4) X(uint32_t, capabilities, 8) X(uint8_t, max_bands, 12) X(uint8_t, max_color, 13)
VLCP_LAYOUT(MeterFeatures, VLCP_OFP_METER_FEATURES, 16)

// clang-format on

// TABLE_FEATURES records (length at 0, at least 64 bytes, then properties) are checked as records.
inline constexpr size_t kTableFeaturesMinLength = 64;
using TableName = std::array<char, 32>;
#define VLCP_OFP_TABLE_FEATURES(X) \
  X(uint16_t, length, 0)           \
  X(uint8_t, table_id, 2)          \
  X(TableName, name, 8)            \
  X(uint64_t, metadata_match, 40)  \
  X(uint64_t, metadata_write, 48) X(uint32_t, config, 56) X(uint32_t, max_entries, 60)
VLCP_LAYOUT(TableFeaturesHeader, VLCP_OFP_TABLE_FEATURES, 64)  // followed by properties

// The property types (OpenFlow 1.3 §7.3.5.5.2): X(Enum, type, what its payload lists)
#define VLCP_OFP_TABLE_FEATURE_PROPS(X)    \
  X(kInstructions, 0, kInstructionIds)     \
  X(kInstructionsMiss, 1, kInstructionIds) \
  X(kNextTables, 2, kTableIds)             \
  X(kNextTablesMiss, 3, kTableIds)         \
  X(kWriteActions, 4, kActionIds)          \
  X(kWriteActionsMiss, 5, kActionIds)      \
  X(kApplyActions, 6, kActionIds)          \
  X(kApplyActionsMiss, 7, kActionIds)      \
  X(kMatch, 8, kOxmIds)                    \
  X(kWildcards, 10, kOxmIds)               \
  X(kWriteSetfield, 12, kOxmIds)           \
  X(kWriteSetfieldMiss, 13, kOxmIds)       \
  X(kApplySetfield, 14, kOxmIds)           \
  X(kApplySetfieldMiss, 15, kOxmIds)       \
  X(kExperimenter, 0xfffe, kOpaque)        \
  X(kExperimenterMiss, 0xffff, kOpaque)

enum class TableFeatureProp : uint16_t {
#define VLCP_TFP_ENUM(e, code, ids) e = code,
  VLCP_OFP_TABLE_FEATURE_PROPS(VLCP_TFP_ENUM)
#undef VLCP_TFP_ENUM
};

// One table's features as typed views: each property's ids, in wire order. Instruction and
// action ids are their types (experimenter ones also carry their experimenter id, high 32 bits
// set); OXM ids are 32-bit headers (an experimenter OXM's id in the high 32 bits).
struct TableFeatures {
  uint8_t table_id = 0;
  std::string name;
  uint64_t metadata_match = 0, metadata_write = 0;
  uint32_t config = 0, max_entries = 0;
  std::map<TableFeatureProp, std::vector<uint64_t>> props;  // absent: not reported
};
// Every table of a TABLE_FEATURES reply (or request) body.
Decoded<std::vector<TableFeatures>> decode_table_features(ByteSpan body);
void encode_table_features(Buffer& out, const TableFeatures& t);

// Appends a message made of a header and a fixed body.
template <typename Body>
void encode_body_message(Buffer& out, MsgType type, uint32_t xid, const Body& body) {
  size_t start = begin_message(out, type, xid);
  body.encode(out);
  finish_message(out, start);
}
// Appends a multipart request of a type whose body is a fixed layout (or empty).
template <typename Body>
void encode_multipart_body(Buffer& out, uint32_t xid, MultipartType type, const Body& body) {
  InlineBuffer<Body::kSize> b;
  body.encode(b);
  encode_multipart_request(out, xid, type, b.span());
}

// Checks a multipart body of the given type and direction: fixed parts whole, every record's
// own length consistent with what holds it, nested buckets and bands well formed.
std::optional<OfpError> validate_multipart_body(MultipartType type, bool reply, ByteSpan body);
// Checks the bodies of the messages declared here.
std::optional<OfpError> validate_meter_mod(const Frame& frame);
std::optional<OfpError> validate_queue_get_config_reply(const Frame& frame);
std::optional<OfpError> validate_experimenter(const Frame& frame);

}  // namespace vlcp::ofp
