// The one verdict line of a trace (docs/TRACE_DESIGN.md §8): rules over what a hop did and what
// the model says, tried in trace/verdicts.def's order; the first that holds gives the code, the
// outcome and the text (the .def's template filled with the rule's values). Pure: verdict_test
// drives it with one case per code.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trace/parse.h"

namespace vlcp::trace {

enum class VerdictCode : uint8_t {
#define VLCP_VERDICT(e, code, outcome, text) e,
#include "trace/verdicts.def"
#undef VLCP_VERDICT
};
// X(enum, name)
// clang-format off
#define VLCP_TRACE_OUTCOMES(X)      \
  X(kDelivered, "delivered")        \
  X(kAnswered, "answered")          \
  X(kToController, "to_controller") \
  X(kDropped, "dropped")            \
  X(kLeft, "left")                  \
  X(kIncomplete, "incomplete")      \
  X(kNotStarted, "not_started")
// clang-format on
enum class Outcome : uint8_t {
#define VLCP_TRACE_OUTCOME_ENUM(e, name) e,
  VLCP_TRACE_OUTCOMES(VLCP_TRACE_OUTCOME_ENUM)
#undef VLCP_TRACE_OUTCOME_ENUM
};
std::string_view outcome_name(Outcome o);

struct VerdictDecl {
  VerdictCode code;
  std::string_view name;
  Outcome outcome;
  std::string_view text;  // the template
};
// Every verdict in rule order.
const std::vector<VerdictDecl>& verdict_decls();
const VerdictDecl& verdict_decl(VerdictCode code);

// A table step of the hop, annotated.
struct StepView {
  int table = -1;
  std::string table_name;
  std::string app;    // the owner app ("" unknown)
  std::string owner;  // "l2 / network na / port a2" (explain_text), "" unknown
  bool table_default = false;
  std::vector<std::string> warnings;
};
// An output of the hop, with what the node knows of its port.
struct OutputView {
  OutputKind kind = OutputKind::kPort;
  uint32_t ofport = 0;
  int step = -1;  // into steps
  bool effective = true;
  std::string port;   // the logical port bound at ofport ("" none)
  std::string iface;  // the switch's interface at ofport ("" none: the bridge has no such port)
  std::string iface_type;
  std::vector<std::string> details, warnings;
  std::map<std::string, std::string> packet;  // the packet state's fields at the output
  bool followed = false;                      // to the next server (a hop of its own)
};

struct VerdictInput {
  std::string server, bridge;              // this node's system id, FROM's bridge
  std::vector<std::string> servers_asked;  // the servers whose bindings are known
  bool all_answered = false;               // every live node answered round 0 (false: one node only)
  // Across servers (§7): a peer that did not answer a hop (and how long it was waited for, what its
  // node record says), a VXLAN output to an address no node has, a peer without the tunnel or
  // uplink an arrival names (its text), a hop seen twice (the server and how it came back).
  std::string peer_no_answer, peer_waited, peer_record;
  std::string peer_unknown;
  std::string peer_no_entry;
  std::string loop, loop_via;
  std::string orphan_iface, orphan_iface_id;  // a physical FROM whose iface-id names no port
  std::string hops_note;                      // "1 VXLAN hop": how the packet crossed servers
  // FROM
  std::string from;
  bool from_exists = true, from_bound = true;
  std::string from_network;  // its id
  std::string offer;         // DHCP: what its subnet would give it ("10.1.0.11/24, router 10.1.0.1")
  // TO ("" none: DHCP)
  std::string to;
  std::string to_port;                // the logical port TO is or names ("" none)
  std::optional<uint32_t> to_ofport;  // where TO's port is bound on this server
  bool to_bound = false;              // TO's port is bound on some server that answered
  bool to_unknown = false;            // TO's MAC or IP names no port or interface
  std::string to_what, to_value;      // "MAC"/"IP" and the value, when to_unknown
  std::string dst_mac, dst_ip;        // the packet's
  bool dst_router_mac = false;        // dst_mac is the router MAC
  bool network_routed = true;         // FROM's network has a router interface
  std::string router;                 // the router of FROM's network ("" none)
  std::string no_route_why;           // ": it has no interface on subnet ..." ("" unknown)
  uint8_t ttl = 64;                   // as sent
  // The hop (empty when ofproto/trace did not run)
  bool openflow_connected = true;
  std::vector<StepView> steps;
  std::vector<OutputView> outputs;
  std::optional<Drop> drop;
};

struct Verdict {
  VerdictCode code = VerdictCode::kDropped;
  std::string code_name, outcome, text;
  std::map<std::string, std::string> values;  // the template's
};

// The first rule that holds (the last, `dropped`, always does).
Verdict decide(const VerdictInput& in);
// A template with its {names} filled ("{x}" left as is when x has no value).
std::string fill(std::string_view text, const std::map<std::string, std::string>& values);

}  // namespace vlcp::trace
