// The L2 apps' flows (VLCP's ioprocessing, l2switch and vxlancast) for one switch, as a pure
// function of what the switch has (bound logical ports, physical ports, its VXLAN port) and of
// the network model (networks, remote ports and their nodes). Flows are grouped in partitions —
// "base" (table defaults, drops, the tunnel's output) and one per logical network with a port
// on the switch — so a change recomputes only the partitions it touches; `all()` recomputes
// everything and is the baseline incremental updates are tested against.
//
// Register convention (VLCP's, with Nicira registers; docs/ARCHITECTURE.md §10):
//   REG4  input logical network (its netid)      REG5  output logical network
//   REG6  output port (ofport); 0: not resolved, i.e. flood in the output network
//   REG7  flags: 0x4000 came in on a logical port; 0x8000 may leave through its input port
// Group ids: netid floods a network from a logical port (its local ports, the physical port,
// the VXLAN nodes with ports in it); netid | 0x1000000 from the outside (local ports only);
// netid | 0x2000000 sends unknown unicast of a VXLAN network to its nodes only
// (module.vxlancast.unknownunicast = tunnels).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.h"
#include "base/result.h"
#include "flows/cookie.h"
#include "flows/desired.h"
#include "model/address.h"
#include "ofp/oxm_fields.h"
#include "pipeline/flowset.h"
#include "pipeline/registers.h"
#include "pipeline/tables.h"

namespace vlcp::apps {

// Addresses are parsed by the model's helpers (one spelling for the whole node).
using model::detail::Mac;
using model::detail::parse_ip;  // IPv4 text -> host order
using model::detail::parse_mac;

// The registers are declared once (flowtables/registers.def, pipeline/registers.h).
inline constexpr ofp::Field kRegInNet = pipeline::reg::in_network;
inline constexpr ofp::Field kRegOutNet = pipeline::reg::out_network;
inline constexpr ofp::Field kRegOutPort = pipeline::reg::out_port;
inline constexpr ofp::Field kRegFlags = pipeline::reg::flags;
inline constexpr uint32_t kFlagFromLogical = pipeline::reg_flag::from_logical_port;
inline constexpr uint32_t kFlagHairpin = pipeline::reg_flag::hairpin;
inline constexpr uint32_t kGroupFromOutside = 0x1000000;
inline constexpr uint32_t kGroupTunnels = 0x2000000;
// The cookie layout is flows/cookie.h's: the L2 apps' flows carry app << 48 | netid (VLCP's
// ingress cookie is 1 << 48 | netid); the table defaults carry kBase. The L2 app registers all
// four ids with each switch's flow owner.
using flows::kCookieDynamic;
using flows::kCookieToWorkers;
enum class App : flows::AppId { kBase = 0, kIo = 1, kL2 = 2, kVxlan = 3 };
inline constexpr uint64_t cookie(App app, uint32_t netid = 0) {
  return flows::cookie(static_cast<flows::AppId>(app), netid);
}

// How unicast destinations are found (VLCP's run strategies).
enum class L2Strategy { kPrepush, kLearn, kControllerLearn };  // l2switch
// Where a VXLAN network's unicast to a MAC no port here and no pushed location claims goes
// (docs/PACKET_IN_DESIGN.md §3.2-3.3). kFlood: everywhere, as broadcast (VLCP's behaviour).
// kTunnels: only where every local port's MAC is in the model under pre-push, to the network's
// nodes only, and dropped when it arrives through the tunnel (the far server has no port for it
// either: a bound port's MAC has its own flow there); a destination bound nowhere then costs one
// encapsulation per node instead of a copy to every port of the network on every server.
enum class UnknownUnicast { kFlood, kTunnels };

// vxlancast's two keys, as VLCP combines them: prepush and learning together (VLCP's default:
// learning then covers MACs the model does not know), either alone, or neither: first-packet
// upload (unknown unicast to the controller, which looks the MAC up in the model).
struct L2Settings {
  L2Strategy l2 = L2Strategy::kPrepush;
  bool vxlan_prepush = true;     // every remote port's MAC -> its node, as flows
  bool vxlan_learn = true;       // remote MACs learned from tunnelled traffic (vxlanlearning)
  uint16_t learn_timeout = 300;  // seconds an l2learning entry lives
  uint16_t vxlan_timeout = 300;  // seconds a vxlanlearning entry lives
  uint16_t push_timeout = 300;   // idle seconds of a first-packet flow
  UnknownUnicast unknown_unicast = UnknownUnicast::kTunnels;
  bool vxlan_first_packet() const { return !vxlan_prepush && !vxlan_learn; }
};

// X(field, key, C++ type, default, help): VLCP's names.
#define VLCP_L2_KEYS(X)                                                                                   \
  X(learning, "module.l2switch.learning", bool, false,                                                    \
    "learn MAC addresses instead of pushing every local port's (pre-push)")                               \
  X(nxlearn, "module.l2switch.nxlearn", bool, true,                                                       \
    "with learning: OVS learns (Nicira learn action); false: the controller learns from packet-ins")      \
  X(learntimeout, "module.l2switch.learntimeout", int64_t, 300, "seconds a learned MAC address lives")    \
  X(vxlan_prepush, "module.vxlancast.prepush", bool, true, "push every remote port's location as flows")  \
  X(vxlan_learning, "module.vxlancast.learning", bool, true,                                              \
    "learn remote MACs from tunnelled traffic into vxlanlearning (with prepush too: MACs the model does " \
    "not know); with neither, a first packet goes to the controller")                                     \
  X(vxlan_learntimeout, "module.vxlancast.learntimeout", int64_t, 300,                                    \
    "seconds a MAC learned from tunnelled traffic lives")                                                 \
  X(pushtimeout, "module.vxlancast.pushtimeout", int64_t, 300,                                            \
    "idle seconds of a flow installed for a first packet")                                                \
  X(unknownunicast, "module.vxlancast.unknownunicast", std::string, "tunnels",                            \
    "unicast to a MAC bound nowhere: tunnels (to the network's nodes only, dropped on arrival; where "    \
    "every local port's MAC is known under pre-push) or flood (to every port, as broadcast)")
Result<L2Settings> read_l2_settings(const Config& config);

struct Network {    // a logical network, as a switch needs it
  std::string key;  // viperflow.logicnetwork.<id>
  uint32_t netid = 0;
  std::string type;      // vlan, vxlan, native, local
  uint32_t segment = 0;  // VLAN id or VNI
  std::string physnet;   // its physical network's key
};
struct LocalPort {  // a logical port bound on this switch
  std::string id, network;
  uint32_t ofport = 0;
  std::optional<Mac> mac;
};
struct RemotePort {        // a logical port bound on another node (VXLAN)
  std::optional<Mac> mac;  // none: its node still gets floods, no unicast flow
  uint32_t vtep = 0;       // the node's tunnel address
};

struct Inputs {
  std::map<std::string, Network> networks;  // the model's networks, by key
  std::map<uint32_t, LocalPort> ports;      // by ofport
  // Physical network key -> its physical port's ofport on this switch: the uplink of a VLAN or
  // native network, the tunnel (remote_ip=flow, key=flow) of a VXLAN one. Bound by the model's
  // physical port rules only: a deleted physical port takes its flows with it.
  std::map<std::string, uint32_t> uplinks;
  std::map<std::string, std::vector<RemotePort>> remote;  // network key -> its remote ports
  // Networks with no port here that a router with an interface on one of this switch's networks
  // reaches: routing happens on the sender's server, so their output flows are needed here
  // (VLCP's ioprocessing walks port -> subnet -> router -> every interface's network too).
  std::set<std::string> routed;

  // The networks this switch gets flows for: those with a port here, and the routed ones.
  std::set<std::string> active_networks() const;
  // The nodes (tunnel addresses) with ports in a network, sorted.
  std::set<uint32_t> remote_vteps(const std::string& network) const;
};

using flows::Desired;
inline constexpr const char* kBasePartition = "base";

class L2Flows {
 public:
  L2Flows(const pipeline::TableMap& tables, L2Settings settings);

  Desired base(const Inputs& in) const;
  // vxlanoutput's flow for a remote MAC of network `netid`: to node `vtep` through the tunnel
  // (pre-pushed for every remote port; installed on demand by first-packet upload).
  ofp::FlowMod remote_mac_flow(uint32_t netid, const Mac& mac, uint32_t vtep, uint32_t tunnel_ofport) const;
  // Every flow and group of one network on this switch (empty when it has no port here).
  Desired network(const Inputs& in, const std::string& key) const;
  // Every partition, recomputed: partition name -> its flows.
  std::map<std::string, Desired> all(const Inputs& in) const;

  const L2Settings& settings() const { return settings_; }
  const pipeline::TableMap& tables() const { return tables_; }

 private:
  std::optional<uint8_t> t(const char* name) const { return tables_.id(name); }
  const pipeline::TableMap& tables_;
  L2Settings settings_;
};

}  // namespace vlcp::apps
