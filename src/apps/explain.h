// The model objects behind one flow (docs/TRACE_DESIGN.md §6.3): the generic resolver the trace
// annotates each step with. It reads the flow's facts — its table, its partition, the cookie's
// own bits, the fields its match names and the registers it writes — and finds them in the
// node's model view and the switch's view: ports by ofport and MAC, networks by netid, VNI and
// VLAN, addresses and subnets, tunnel destinations and nexthops. The owning app may add what
// only it knows (FlowApp::explain), and each app may name the MAC a network's hosts route to
// (FlowApp::gateway_mac: the router MAC). Pure reads; the platform's invariant
// (EveryApp.EveryFlowIsExplained) checks every app's every flow gets an object of the model.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apps/app.h"
#include "pipeline/registers.h"

namespace vlcp::apps {

// The registers a text writes (set_field:V->regN, load:V->NXM_NX_REGN[a..b], in order; the
// undeclared ones skipped), each with its value after the write: `regs` holds the values before
// (by OVS name, "reg4") and is updated. The text is one action or a whole action list.
struct RegisterWriteValue {
  const pipeline::RegisterDecl* reg = nullptr;
  std::string ovs_name;  // "reg4"
  uint32_t value = 0;
};
std::vector<RegisterWriteValue> register_writes(std::string_view text, std::map<std::string, uint32_t>& regs);

// A number as OVS prints one: decimal, or hexadecimal after "0x"; nullopt for anything else.
std::optional<uint64_t> parse_number(std::string_view text);

// The fields of a match as OVS prints it ("ip,reg4=0x1,nw_dst=10.2.0.0/24"): key=value pairs in
// order, a bare word (a protocol: "ip", "arp") with an empty value.
std::vector<std::pair<std::string, std::string>> match_fields(std::string_view match_text);

struct FlowFacts {
  std::string table;      // the table's name ("l2output")
  std::string partition;  // namespaced ("l2/viperflow.logicnetwork.A"); "" unknown
  uint64_t own_bits = 0;  // the cookie's bits 0..47 (most apps: a netid)
  std::vector<std::pair<std::string, std::string>> match;  // match_fields
  std::vector<std::pair<std::string, uint32_t>> writes;    // register writes: OVS name, value
  std::string actions;                                     // the actions' text (tun_dst writes)
  bool table_default = false;                              // a table's priority-0 default
};

// The objects behind a flow, most general first, each once (by kind and id): the generic resolver's,
// then `owner`'s own (FlowApp::explain; may be null). `apps` answer gateway_mac (router MAC).
std::vector<ObjectRef> explain_flow(const ModelView& model, const SwitchContext& sw, const FlowFacts& facts,
                                    const FlowApp* owner, const std::vector<const FlowApp*>& apps = {});

// "l3 / router r1 / subnet sb (10.2.0.0/24)": the app and the objects, as the trace prints them.
std::string explain_text(const std::string& app, const std::vector<ObjectRef>& refs);

// The router interface whose address (its own, else its subnet's gateway) is `ip`, or null.
const RouterInterfaceObj* interface_at(const ModelView& model, uint32_t ip);
// The router (its key) that a logical network's subnets attach to ("" none).
std::string router_of_network(const ModelView& model, const std::string& network);

// The logical network with this netid ("" none).
std::string network_of_netid(const ModelView& model, uint32_t netid);
// An object's id as the user named it (its stored "id"), else the key's last part.
std::string object_id(const std::string& key, const nlohmann::json& value);

}  // namespace vlcp::apps
