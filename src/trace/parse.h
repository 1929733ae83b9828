// `ofproto/trace` output parsed into steps (docs/TRACE_DESIGN.md §5). OVS 3.1's text, as
// ofproto-dpif-trace.c prints it: "Flow:", one or more bridge("NAME") sections whose lines are a
// tree told by indentation (table lines "%2d. ", actions, " -> " details, " >> " warnings,
// " >>>> " errors, "bucket N", a nested bridge under a tunnel or patch output), then "Final
// flow:", "Megaflow:", "Datapath actions:" and notes. The parser keeps a stack of indent columns
// and never computes levels; a line shape it does not know is kept as a note, never an error.
// Pure (base only), so that trace_parse_fuzz builds in the libFuzzer tree.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace vlcp::trace {

// X(enum, name)
// clang-format off
#define VLCP_TRACE_NODE_KINDS(X) \
  X(kTable, "table")             \
  X(kAction, "action")           \
  X(kDetail, "detail")           \
  X(kWarn, "warn")               \
  X(kError, "error")             \
  X(kBucket, "bucket")           \
  X(kBridge, "bridge")           \
  X(kNote, "note")
// clang-format on

enum class NodeKind : uint8_t {
#define VLCP_TRACE_NODE_ENUM(e, name) e,
  VLCP_TRACE_NODE_KINDS(VLCP_TRACE_NODE_ENUM)
#undef VLCP_TRACE_NODE_ENUM
};
std::string_view node_kind_name(NodeKind k);

struct Node {
  NodeKind kind = NodeKind::kNote;
  std::string text;  // the line without its indentation (and without " -> ", " >> " for details and warnings)
  int column = 0;    // the indentation as the tree uses it
  // kTable only:
  int table = -1;
  int priority = -1;  // -1: "No match."
  uint64_t cookie = 0;
  std::string match;      // the text before ", priority " (empty for a match-all flow)
  bool no_match = false;  // "No match." (or "No match, and a "packet-in" is called for.")
  std::string bridge;     // kBridge: its name
  std::vector<Node> children;
};

struct Bridge {
  std::string name;
  std::vector<Node> nodes;
};

// One hop's trace text, as a tree.
struct ParsedTrace {
  std::string flow;  // the "Flow:" line's flow
  std::vector<Bridge> bridges;
  std::string final_flow;  // "unchanged" when OVS says so
  std::string megaflow;
  std::string datapath_actions;
  std::optional<std::string> translation_error;  // "Translation failed (...), packet is dropped."
  std::vector<std::string> notes;                // lines of no known shape, in order
};

// Never fails on odd lines (they become notes); fails (kMalformed) only when there is no
// "Flow:" line or no bridge section at all, or the text is over 4 MiB.
Result<ParsedTrace> parse_trace(std::string_view text);

// "k=v,k=v,proto" as a map ("" holds the bare protocol word, e.g. "icmp").
std::map<std::string, std::string> flow_fields(std::string_view flow);

// The packet as it is along one path: the "Flow:" fields with the actions applied so far.
struct PacketState {
  std::map<std::string, std::string> fields;  // OVS flow_format names: dl_src, nw_ttl, reg6, tun_dst...
  bool approximate = false;                   // an action changed something the tracker does not model
};

// A table node on the walk.
struct Step {
  std::string bridge;
  bool underlay = false;  // in a bridge reached through a tunnel or patch port (br-phy)
  int table = -1, priority = -1;
  uint64_t cookie = 0;
  std::string match;
  bool no_match = false;
  std::vector<std::string> actions, details, warnings;
  int depth = 0;       // tables it is nested in (resubmit)
  std::string branch;  // "group 2, bucket 1" when under a group bucket
};

// X(enum, name)
#define VLCP_TRACE_OUTPUT_KINDS(X) \
  X(kPort, "port")                 \
  X(kInPort, "in_port")            \
  X(kController, "controller") X(kNormal, "normal") X(kFlood, "flood") X(kLocal, "local")

enum class OutputKind : uint8_t {
#define VLCP_TRACE_OUTPUT_ENUM(e, name) e,
  VLCP_TRACE_OUTPUT_KINDS(VLCP_TRACE_OUTPUT_ENUM)
#undef VLCP_TRACE_OUTPUT_ENUM
};
std::string_view output_kind_name(OutputKind k);

struct Output {
  OutputKind kind = OutputKind::kPort;
  uint32_t ofport = 0;  // kPort; kInPort: the packet's in_port
  std::string action;   // as printed ("output:100", "IN_PORT", "CONTROLLER:65535")
  std::string bridge;
  bool underlay = false;
  std::string branch;
  int step = -1;  // index into Walk::steps of the table that output it
  PacketState packet;
  std::vector<std::string> details, warnings;
  // False when OVS said it did not happen: "skipping output to input port", "Nonexistent output
  // port", "native tunnel routing failed", ...
  bool effective = true;
};

// Where a path ends without an output.
struct Drop {
  int step = -1;  // index into Walk::steps (the last table), -1 when none
  // "no_match", "drop_action" (an explicit drop or no actions), "warning" (e.g. a TTL exception,
  // a nonexistent port) or "translation_error".
  std::string reason;
  std::string text;  // the warning's or error's text, when there is one
};

struct Walk {
  std::vector<Step> steps;
  std::vector<Output> outputs;
  std::optional<Drop> drop;  // set when no effective output leaves the first bridge
};

// The steps, outputs (with the packet at each) and the drop point of a parsed trace.
Walk walk_trace(const ParsedTrace& trace);

}  // namespace vlcp::trace
