#include "pipeline/flowset.h"

#include <algorithm>

#include "base/buffer.h"
#include "ofp/bodies.h"
#include "ofp/oxm_fields.h"

namespace vlcp::pipeline {

namespace {

std::string bytes_of(ByteSpan b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}
ByteSpan span_of(const std::string& s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

ofp::FlowMod flow_mod(const FlowKey& k, const FlowBody& b, ofp::FlowModCommand command) {
  ofp::FlowMod f;
  f.table_id = k.table;
  f.priority = k.priority;
  f.command = command;
  f.match = ofp::Match::from_oxms(span_of(k.match));  // the same TLVs, in canonical order
  if (command != ofp::FlowModCommand::kDeleteStrict) {
    f.cookie = b.cookie;
    f.idle_timeout = b.idle_timeout;
    f.hard_timeout = b.hard_timeout;
    f.flags = b.flags;
    f.instructions = ofp::InstructionList(span_of(b.instructions));
  }
  return f;
}

}  // namespace

std::string canonical_match(ByteSpan oxms) {
  std::vector<std::string> tlvs;
  for (size_t pos = 0; pos + 4 <= oxms.size();) {
    uint32_t header = (uint32_t{oxms[pos]} << 24) | (uint32_t{oxms[pos + 1]} << 16) |
                      (uint32_t{oxms[pos + 2]} << 8) | oxms[pos + 3];
    size_t len = 4 + ofp::oxm_length(header);
    if (pos + len > oxms.size()) break;  // (validated matches never end short)
    std::string tlv = bytes_of(oxms.subspan(pos, len));
    pos += len;
    // Masked (not an experimenter's, whose payload starts with its id): an all-ones mask is an
    // exact match, an all-zeros one no match at all.
    if ((header & 0x100) && (header >> 16) != 0xffff) {
      size_t half = (len - 4) / 2;
      std::string value = tlv.substr(4, half), mask = tlv.substr(4 + half);
      if (mask.find_first_not_of('\0') == std::string::npos) continue;
      if (mask.find_first_not_of('\xff') == std::string::npos) {
        uint32_t exact = (header & ~uint32_t{0x1ff}) | static_cast<uint32_t>(half);
        tlv = std::string{static_cast<char>(exact >> 24), static_cast<char>(exact >> 16),
                          static_cast<char>(exact >> 8), static_cast<char>(exact)} +
              value;
      }
    }
    tlvs.push_back(std::move(tlv));
  }
  std::sort(tlvs.begin(), tlvs.end());
  std::string out;
  for (const auto& t : tlvs) out += t;
  return out;
}

void put_flow(FlowSet& set, const ofp::FlowMod& f) {
  set[FlowKey{f.table_id, f.priority, canonical_match(f.match.oxms())}] =
      FlowBody{f.cookie, f.idle_timeout, f.hard_timeout, f.flags, bytes_of(f.instructions.bytes())};
}

FlowSet from_stats(const std::vector<ofp::FlowStats>& stats) {
  FlowSet set;
  for (const auto& s : stats)
    set[FlowKey{s.table_id, s.priority, canonical_match(s.match.oxms())}] =
        FlowBody{s.cookie, s.idle_timeout, s.hard_timeout, s.flags, bytes_of(s.instructions.bytes())};
  return set;
}

FlowDiff diff(const FlowSet& desired, const FlowSet& installed) {
  FlowDiff d;
  for (const auto& [key, body] : desired) {
    auto it = installed.find(key);
    if (it == installed.end()) {
      d.mods.push_back(flow_mod(key, body, ofp::FlowModCommand::kAdd));
      ++d.adds;
    } else if (it->second != body) {
      bool only_instructions = it->second.cookie == body.cookie &&
                               it->second.idle_timeout == body.idle_timeout &&
                               it->second.hard_timeout == body.hard_timeout && it->second.flags == body.flags;
      d.mods.push_back(flow_mod(
          key, body, only_instructions ? ofp::FlowModCommand::kModifyStrict : ofp::FlowModCommand::kAdd));
      ++d.modifies;
    }
  }
  for (const auto& [key, body] : installed)
    if (!desired.count(key)) {
      d.mods.push_back(flow_mod(key, body, ofp::FlowModCommand::kDeleteStrict));
      ++d.deletes;
    }
  return d;
}

namespace {
constexpr size_t kGroupModFixed = 16;  // header (8) and command, type, pad, group_id (8)
}

void put_group(GroupSet& set, uint32_t group_id, uint8_t type, std::vector<ofp::Bucket> buckets) {
  ofp::GroupMod g;
  g.type = type;
  g.group_id = group_id;
  g.buckets = std::move(buckets);
  Buffer b;
  ofp::encode_group_mod(b, 0, g);
  GroupBody body;
  body.type = type;
  body.encoded = bytes_of(b.span().subspan(kGroupModFixed));
  body.buckets = std::move(g.buckets);
  set[group_id] = std::move(body);
}

Result<GroupSet> groups_from_desc(ByteSpan body) {
  GroupSet set;
  for (size_t pos = 0; pos < body.size();) {
    ofp::GroupDescHeader head;
    if (!ofp::GroupDescHeader::decode(body.subspan(pos), &head) ||
        head.length < ofp::GroupDescHeader::kSize || pos + head.length > body.size())
      return make_error(Errc::kMalformed, "a group description whose length is wrong");
    auto buckets = ofp::decode_buckets(
        body.subspan(pos + ofp::GroupDescHeader::kSize, head.length - ofp::GroupDescHeader::kSize));
    if (!buckets.ok())
      return make_error(Errc::kMalformed, "group " + std::to_string(head.group_id) +
                                              ": buckets do not decode (" + ofp::error_name(buckets.error()) +
                                              ")");
    put_group(set, head.group_id, head.type, std::move(*buckets));
    pos += head.length;
  }
  return set;
}

GroupDiff diff_groups(const GroupSet& desired, const GroupSet& installed) {
  GroupDiff d;
  for (const auto& [id, body] : desired) {
    auto it = installed.find(id);
    if (it != installed.end() && it->second == body) continue;
    ofp::GroupMod g;
    g.command = it == installed.end() ? 0 : (it->second.type == body.type ? 1 : 2);
    g.type = body.type;
    g.group_id = id;
    g.buckets = body.buckets;
    if (g.command == 2) {  // a group cannot change its type: delete, then add
      d.add_modify.push_back(ofp::GroupMod{2, it->second.type, id, {}});
      g.command = 0;
    }
    d.add_modify.push_back(std::move(g));
  }
  for (const auto& [id, body] : installed)
    if (!desired.count(id)) d.deletes.push_back(ofp::GroupMod{2, body.type, id, {}});
  return d;
}

}  // namespace vlcp::pipeline
