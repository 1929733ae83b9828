// Desired versus installed flows: a switch's flows as a set keyed the way the switch keys
// them (table, priority, match), and the smallest FLOW_MOD batch that turns what is installed
// into what is desired. Matches are compared in a canonical form (OXM TLVs sorted), so the
// order a switch reports fields in never makes a difference; nothing changed, nothing sent.
// The installer (per switch) keeps the installed set, the apps the desired one; a full
// recompute of the desired set diffed against the installed one is the baseline.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "ofp/message.h"

namespace vlcp::pipeline {

struct FlowKey {
  uint8_t table = 0;
  uint16_t priority = 0;
  std::string match;  // canonical OXM TLVs
  auto operator<=>(const FlowKey&) const = default;
};

// What else must be equal for a flow to be the one wanted.
struct FlowBody {
  uint64_t cookie = 0;
  uint16_t idle_timeout = 0, hard_timeout = 0, flags = 0;
  std::string instructions;  // as encoded
  bool operator==(const FlowBody&) const = default;
};

using FlowSet = std::map<FlowKey, FlowBody>;

// The OXM TLVs sorted, an all-ones mask made exact and an all-zeros one dropped (as switches
// report them): the same match however it was spelled.
std::string canonical_match(ByteSpan oxms);
// Adds (or replaces) a flow.
void put_flow(FlowSet& set, const ofp::FlowMod& flow);
// What a switch reports (a flow stats reply), as a set.
FlowSet from_stats(const std::vector<ofp::FlowStats>& stats);

struct FlowDiff {
  std::vector<ofp::FlowMod> mods;  // adds and modifies first, then deletes
  size_t adds = 0, modifies = 0, deletes = 0;
  bool empty() const { return mods.empty(); }
};
// Flows only desired: ADD. Same key, other instructions only: MODIFY_STRICT (keeps the
// counters). Same key, another cookie, timeout or flag: ADD (replaces it whole, as OpenFlow 1.3
// defines for an identical match and priority). Only installed: DELETE_STRICT.
FlowDiff diff(const FlowSet& desired, const FlowSet& installed);

// Groups the same way: by id, equal when their type and buckets encode alike.
struct GroupBody {
  uint8_t type = 0;
  std::vector<ofp::Bucket> buckets;
  std::string encoded;  // the buckets as encoded: what is compared
  bool operator==(const GroupBody& o) const { return type == o.type && encoded == o.encoded; }
};
using GroupSet = std::map<uint32_t, GroupBody>;

void put_group(GroupSet& set, uint32_t group_id, uint8_t type, std::vector<ofp::Bucket> buckets);
// A GROUP_DESC reply body as a set; a malformed body is an error (nothing is trusted half).
Result<GroupSet> groups_from_desc(ByteSpan body);

struct GroupDiff {
  std::vector<ofp::GroupMod> add_modify;  // sent before the flows that use them
  std::vector<ofp::GroupMod> deletes;     // after the flows that used them are gone
  bool empty() const { return add_modify.empty() && deletes.empty(); }
};
GroupDiff diff_groups(const GroupSet& desired, const GroupSet& installed);

}  // namespace vlcp::pipeline
