// What an app wants on a switch for one partition: flows keyed as the switch keys them (table,
// priority, match) and groups by id. Header only (apps' pure flow functions use it without
// linking the flow owner).
#pragma once

#include "pipeline/flowset.h"

namespace vlcp::flows {

struct Desired {
  pipeline::FlowSet flows;
  pipeline::GroupSet groups;
  bool operator==(const Desired&) const = default;
  bool empty() const { return flows.empty() && groups.empty(); }
};

}  // namespace vlcp::flows
