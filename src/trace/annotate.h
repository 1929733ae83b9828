// A node annotates its own hop (docs/TRACE_DESIGN.md §6): each parsed step gets its table's
// name from the node's TableMap, its owner from the cookie (the app) and the flow owner's
// records (the partition, by table, priority and cookie, the candidates told apart by comparing
// our printer's match text with OVS's), and the registers it writes decoded through
// flowtables/registers.def. The model objects (apps/explain, §6.3) come on top of this.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "flows/owner.h"
#include "pipeline/tables.h"
#include "trace/parse.h"

namespace vlcp::trace {

// X(enum, name)
#define VLCP_TRACE_OWNERSHIPS(X)                                                                \
  X(kOwned, "owned")         /* one partition states exactly this flow */                       \
  X(kAmbiguous, "ambiguous") /* several candidates and no match text equal: their partitions */ \
  X(kNotOwned, "not_owned")  /* the switch has a flow the flow owner does not know */           \
  X(kDynamic, "dynamic")     /* learned by OVS or installed for a first packet: not kept */     \
  X(kDefault, "default")     /* a table's priority-0 default goto (or drop) */                  \
  X(kNoOwner, "no_owner")    /* no flow owner on this node (module ioprocessing not loaded) */

enum class Ownership : uint8_t {
#define VLCP_TRACE_OWNERSHIP_ENUM(e, name) e,
  VLCP_TRACE_OWNERSHIPS(VLCP_TRACE_OWNERSHIP_ENUM)
#undef VLCP_TRACE_OWNERSHIP_ENUM
};
std::string_view ownership_name(Ownership o);

struct RegisterWrite {
  std::string name;       // the pipeline's name: "in_network"
  std::string ovs_name;   // "reg4"
  uint32_t value = 0;     // after the write (a bit load changes only its bits)
  std::string described;  // "netid 1", "from_logical_port"
};

struct Annotation {
  std::string table_name;  // "" when the node's pipeline has no such table
  uint8_t app_id = 0;      // cookie bits 48..55
  std::string app;         // the flow owner's app of that id ("" when unknown)
  uint64_t own_bits = 0;   // the cookie's bits 0..47 (L2 and L3: a netid)
  Ownership ownership = Ownership::kNotOwned;
  std::vector<std::string> partitions;  // namespaced ("l2/<network>")
  std::vector<RegisterWrite> writes;    // set_field / load into declared registers, in order
};

// `owner` may be null (no flow owner). `app_name` maps an app id to a name when the owner does
// not know it (the registry's static table), may be empty.
Annotation annotate_step(const Step& step, const pipeline::TableMap& tables, const flows::FlowOwner* owner,
                         const std::function<std::string(uint8_t)>& app_name = {});

// OVS's text of a flow owner's match, as ofproto/trace prints a rule's match (no priority).
std::string match_text(const pipeline::FlowKey& key);

}  // namespace vlcp::trace
