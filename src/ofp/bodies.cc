// Validation of the message bodies declared in bodies.h: fixed parts through their layouts,
// variable parts as records whose own length fields are checked against what holds them.
#include "ofp/bodies.h"

#include <cstring>

#include "ofp/match.h"

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

namespace {
enum class IdKind { kInstructionIds, kTableIds, kActionIds, kOxmIds, kOpaque };
std::optional<IdKind> prop_kind(uint16_t type) {
  switch (type) {
#define VLCP_TFP_KIND(e, code, ids) \
  case code:                        \
    return IdKind::ids;
    VLCP_OFP_TABLE_FEATURE_PROPS(VLCP_TFP_KIND)
#undef VLCP_TFP_KIND
    default:
      return std::nullopt;
  }
}
}  // namespace

Decoded<std::vector<TableFeatures>> decode_table_features(ByteSpan body) {
  if (auto bad = validate_multipart_body(MultipartType::kTableFeatures, true, body)) return *bad;
  std::vector<TableFeatures> out;
  for (size_t off = 0; off < body.size();) {
    TableFeaturesHeader h;
    TableFeaturesHeader::decode(body.subspan(off), &h);
    TableFeatures t;
    t.table_id = h.table_id;
    t.name.assign(h.name.data(), strnlen(h.name.data(), h.name.size()));
    t.metadata_match = h.metadata_match;
    t.metadata_write = h.metadata_write;
    t.config = h.config;
    t.max_entries = h.max_entries;
    ByteSpan props = body.subspan(off + kTableFeaturesMinLength, h.length - kTableFeaturesMinLength);
    for (size_t pos = 0; pos < props.size();) {
      uint16_t type = load_be16(props.data() + pos), len = load_be16(props.data() + pos + 2);
      ByteSpan payload = props.subspan(pos + 4, len - 4u);
      pos += (len + 7u) / 8 * 8;
      auto kind = prop_kind(type);
      if (!kind) continue;  // a newer switch's property: skipped, as validation allows
      std::vector<uint64_t>& ids = t.props[static_cast<TableFeatureProp>(type)];
      ByteReader r(payload);
      while (!r.at_end()) {
        switch (*kind) {
          case IdKind::kTableIds: {
            uint8_t id = 0;
            r.read_u8(&id);
            ids.push_back(id);
            break;
          }
          case IdKind::kInstructionIds:
          case IdKind::kActionIds: {
            // type, length (4, or 8 with an experimenter id)
            uint16_t id_type = 0, id_len = 0;
            if (!r.read_be16(&id_type) || !r.read_be16(&id_len) || (id_len != 4 && id_len != 8))
              return kTableFeaturesFailed_BAD_ARGUMENT;
            uint32_t experimenter = 0;
            if (id_len == 8 && !r.read_be32(&experimenter)) return kTableFeaturesFailed_BAD_ARGUMENT;
            ids.push_back(uint64_t{experimenter} << 32 | id_type);
            break;
          }
          case IdKind::kOxmIds: {
            uint32_t header = 0;
            if (!r.read_be32(&header)) return kTableFeaturesFailed_BAD_ARGUMENT;
            uint64_t id = header;
            if (oxm_class(header) == kOxmClassExperimenter) {
              uint32_t experimenter = 0;
              if (!r.read_be32(&experimenter)) return kTableFeaturesFailed_BAD_ARGUMENT;
              id |= uint64_t{experimenter} << 32;
            }
            ids.push_back(id);
            break;
          }
          case IdKind::kOpaque:
            r.skip(r.remaining());
            break;
        }
      }
    }
    out.push_back(std::move(t));
    off += h.length;
  }
  return out;
}

void encode_table_features(Buffer& out, const TableFeatures& t) {
  size_t start = out.size();
  TableFeaturesHeader h{};
  h.table_id = t.table_id;
  std::memcpy(h.name.data(), t.name.data(), std::min(t.name.size(), h.name.size() - 1));
  h.metadata_match = t.metadata_match;
  h.metadata_write = t.metadata_write;
  h.config = t.config;
  h.max_entries = t.max_entries;
  h.encode(out);
  for (const auto& [type, ids] : t.props) {
    size_t prop = out.size();
    out.put_be16(static_cast<uint16_t>(type));
    out.put_be16(0);
    IdKind kind = prop_kind(static_cast<uint16_t>(type)).value_or(IdKind::kOpaque);
    for (uint64_t id : ids) {
      uint32_t experimenter = static_cast<uint32_t>(id >> 32);
      switch (kind) {
        case IdKind::kTableIds:
          out.put_u8(static_cast<uint8_t>(id));
          break;
        case IdKind::kInstructionIds:
        case IdKind::kActionIds:
          out.put_be16(static_cast<uint16_t>(id));
          out.put_be16(experimenter ? 8 : 4);
          if (experimenter) out.put_be32(experimenter);
          break;
        case IdKind::kOxmIds:
          out.put_be32(static_cast<uint32_t>(id));
          if (oxm_class(static_cast<uint32_t>(id)) == kOxmClassExperimenter) out.put_be32(experimenter);
          break;
        case IdKind::kOpaque:
          break;
      }
    }
    out.patch_be16(prop + 2, static_cast<uint16_t>(out.size() - prop));
    out.put_zeros((8 - (out.size() - prop) % 8) % 8);
  }
  out.patch_be16(start, static_cast<uint16_t>(out.size() - start));
}

}  // namespace vlcp::ofp
