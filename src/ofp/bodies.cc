// Validation of the message bodies declared in bodies.h: fixed parts through their layouts,
// variable parts as records whose own length fields are checked against what holds them.
#include "ofp/bodies.h"

namespace vlcp::ofp {
namespace {

using namespace errors;

// Walks records whose 16-bit length is at `len_at` in each: every length at least `min`, a
// multiple of 8, and inside the buffer; fn(record) may reject one.
template <typename Fn>
std::optional<OfpError> for_each_record(ByteSpan b, size_t len_at, size_t min, OfpError bad, Fn&& fn) {
  size_t pos = 0;
  while (pos < b.size()) {
    if (b.size() - pos < std::max(min, len_at + 2)) return bad;
    size_t len = load_be16(b.data() + pos + len_at);
    if (len < min || len % 8 != 0 || len > b.size() - pos) return bad;
    if (auto err = fn(b.subspan(pos, len))) return err;
    pos += len;
  }
  return std::nullopt;
}

std::optional<OfpError> validate_bands(ByteSpan bands) {
  return for_each_record(bands, 2, MeterBand::kSize, kMeterModFailed_BAD_BAND,
                         [](ByteSpan band) -> std::optional<OfpError> {
                           uint16_t type = load_be16(band.data());
                           if (type != 1 && type != 2 && type != 0xffff) return kMeterModFailed_BAD_BAND;
                           if (type != 0xffff && band.size() != MeterBand::kSize)
                             return kMeterModFailed_BAD_BAND;
                           return std::nullopt;
                         });
}

std::optional<OfpError> validate_buckets(ByteSpan buckets) {
  return for_each_record(buckets, 0, 16, kGroupModFailed_BAD_BUCKET,
                         [](ByteSpan bucket) { return validate_actions(bucket.subspan(16)); });
}

// A body that must be exactly one layout, or a whole number of them.
std::optional<OfpError> exactly(ByteSpan body, size_t size) {
  return body.size() == size ? std::nullopt : std::optional<OfpError>(kBadRequest_BAD_LEN);
}
std::optional<OfpError> multiple_of(ByteSpan body, size_t size) {
  return body.size() % size == 0 ? std::nullopt : std::optional<OfpError>(kBadRequest_BAD_LEN);
}

}  // namespace

std::optional<OfpError> validate_meter_mod(const Frame& f) {
  MeterModHeader h;
  if (!MeterModHeader::decode(f.body, &h)) return kBadRequest_BAD_LEN;
  if (h.command > 2) return kMeterModFailed_BAD_COMMAND;
  if (h.flags & ~0xfu) return kMeterModFailed_BAD_FLAGS;
  // kbps and pktps exclude each other (OVS refuses both; a delete's flags are ignored).
  if (h.command != 2 && (h.flags & 3) == 3) return kMeterModFailed_BAD_FLAGS;
  return validate_bands(f.body.subspan(MeterModHeader::kSize));
}

std::optional<OfpError> validate_queue_get_config_reply(const Frame& f) {
  // The reply's port applies to its queues; OVS refuses one outside its port space.
  uint32_t port = load_be32(f.body.data());
  if (f.body.size() > QueueGetConfigReplyHeader::kSize && port >= 0xff00 && port < 0xffffff00)
    return kBadAction_BAD_OUT_PORT;
  return for_each_record(f.body.subspan(QueueGetConfigReplyHeader::kSize), 8, PacketQueue::kSize,
                         kBadRequest_BAD_LEN, [](ByteSpan queue) {
                           // Properties: 16-bit type, 16-bit length at 2, at least 8 bytes.
                           return for_each_record(queue.subspan(PacketQueue::kSize), 2, 8,
                                                  kBadRequest_BAD_LEN,
                                                  [](ByteSpan) { return std::optional<OfpError>(); });
                         });
}

std::optional<OfpError> validate_experimenter(const Frame& f) {
  ExperimenterHeader h;
  if (!ExperimenterHeader::decode(f.body, &h)) return kBadRequest_BAD_LEN;
  if (h.experimenter == kOnfExperimenter && h.exp_type == kOnfBundleControl) {
    BundleControl c;
    if (!BundleControl::decode(f.body.subspan(8), &c)) return kBadRequest_BAD_LEN;
    if (c.type > 7) return kBadRequest_BAD_EXP_TYPE;
    return for_each_record(f.body.subspan(16), 2, 4, kBadRequest_BAD_LEN,
                           [](ByteSpan) { return std::optional<OfpError>(); });
  }
  if (h.experimenter == kOnfExperimenter && h.exp_type == kOnfBundleAdd) {
    ByteSpan inner = f.body.subspan(std::min<size_t>(f.body.size(), 16));
    if (f.body.size() < 16) return kBadRequest_BAD_LEN;
    size_t len = frame_length(inner);
    if (len == 0 || len > inner.size()) return kBadRequest_BAD_LEN;
    return validate_message(inner.first(len));
  }
  return std::nullopt;  // other experimenters' payloads are theirs
}

std::optional<OfpError> validate_multipart_body(MultipartType type, bool reply, ByteSpan b) {
  switch (type) {
    case MultipartType::kDesc:
      return reply ? exactly(b, DescReply::kSize) : exactly(b, 0);
    case MultipartType::kFlow:
    case MultipartType::kAggregate:
      if (reply) {
        if (type == MultipartType::kAggregate) return exactly(b, AggregateReply::kSize);
        auto flows = decode_flow_stats_reply(b);
        return flows.ok() ? std::nullopt : std::optional<OfpError>(flows.error());
      } else {
        if (b.size() < 32) return kBadRequest_BAD_LEN;
        ByteReader r(b.subspan(32));
        auto match = MatchView::decode(r);
        if (!match.ok()) return match.error();
        return r.at_end() ? std::nullopt : std::optional<OfpError>(kBadRequest_BAD_LEN);
      }
    case MultipartType::kTable:
      return reply ? multiple_of(b, TableStats::kSize) : exactly(b, 0);
    case MultipartType::kPortStats:
      return reply ? multiple_of(b, PortStats::kSize) : exactly(b, PortStatsRequest::kSize);
    case MultipartType::kQueue:
      return reply ? multiple_of(b, QueueStats::kSize) : exactly(b, QueueStatsRequest::kSize);
    case MultipartType::kGroup:
      if (!reply) return exactly(b, GroupStatsRequest::kSize);
      return for_each_record(b, 0, GroupStats::kSize, kBadRequest_BAD_LEN, [](ByteSpan g) {
        return (g.size() - GroupStats::kSize) % BucketCounter::kSize
                   ? std::optional<OfpError>(kBadRequest_BAD_LEN)
                   : std::nullopt;
      });
    case MultipartType::kGroupDesc:
      if (!reply) return exactly(b, 0);
      return for_each_record(b, 0, GroupDescHeader::kSize, kBadRequest_BAD_LEN,
                             [](ByteSpan g) { return validate_buckets(g.subspan(GroupDescHeader::kSize)); });
    case MultipartType::kGroupFeatures:
      return reply ? exactly(b, GroupFeatures::kSize) : exactly(b, 0);
    case MultipartType::kMeter:
      if (!reply) return exactly(b, MeterStatsRequest::kSize);
      return for_each_record(b, 4, MeterStats::kSize, kBadRequest_BAD_LEN, [](ByteSpan m) {
        return (m.size() - MeterStats::kSize) % MeterBandStats::kSize
                   ? std::optional<OfpError>(kBadRequest_BAD_LEN)
                   : std::nullopt;
      });
    case MultipartType::kMeterConfig:
      if (!reply) return exactly(b, MeterStatsRequest::kSize);
      return for_each_record(b, 0, MeterConfigHeader::kSize, kBadRequest_BAD_LEN,
                             [](ByteSpan m) { return validate_bands(m.subspan(MeterConfigHeader::kSize)); });
    case MultipartType::kMeterFeatures:
      return reply ? exactly(b, MeterFeatures::kSize) : exactly(b, 0);
    case MultipartType::kTableFeatures:
      return for_each_record(b, 0, kTableFeaturesMinLength, kTableFeaturesFailed_BAD_LEN, [](ByteSpan t) {
        // Properties: type, length (at 2, at least 4), padded to 8.
        ByteSpan props = t.subspan(kTableFeaturesMinLength);
        size_t pos = 0;
        while (pos < props.size()) {
          if (props.size() - pos < 4) return std::optional<OfpError>(kTableFeaturesFailed_BAD_LEN);
          size_t len = load_be16(props.data() + pos + 2);
          size_t padded = (len + 7) / 8 * 8;
          if (len < 4 || padded > props.size() - pos)
            return std::optional<OfpError>(kTableFeaturesFailed_BAD_LEN);
          pos += padded;
        }
        return std::optional<OfpError>();
      });
    case MultipartType::kPortDesc:
      return reply ? multiple_of(b, kPortWireSize) : exactly(b, 0);
    case MultipartType::kExperimenter:
      return b.size() >= 8 ? std::nullopt : std::optional<OfpError>(kBadRequest_BAD_LEN);
  }
  return kBadRequest_BAD_MULTIPART;
}

}  // namespace vlcp::ofp
