// A trace's continuation across servers (docs/TRACE_DESIGN.md §7.3), the parts that need no
// transport: what an output to a tunnel or an uplink tells the next server (the arrival — by
// VXLAN: physical network, VNI, tun_src, tun_dst; by VLAN or native: physical network, VLAN id —
// and the packet as it left), and how that server finds its own bridge and in_port for it. Pure
// over the model view and the switch views; the node records and the ObjectDB mailbox that
// carry them between servers are not built yet (step 7's rest).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "apps/model_view.h"
#include "apps/switch_view.h"
#include "base/result.h"
#include "trace/packet_spec.h"
#include "trace/parse.h"

namespace vlcp::trace {

struct Arrival {
  std::string via;                // "vxlan", "vlan" or "native"
  std::string physicalnetwork;    // the physical network's id
  uint32_t vni = 0;               // vxlan
  std::optional<uint16_t> vlan;   // vlan
  Ipv4 tun_src = 0, tun_dst = 0;  // vxlan
  bool operator==(const Arrival&) const = default;
};
// The form nodes exchange (§7.3 "arrival"), validated field by field on the way in.
nlohmann::json arrival_to_json(const Arrival& a);
Result<Arrival> arrival_from_json(const nlohmann::json& j);

// The arrival an output of this server's bridge (`view`) makes on the next server: the output's
// interface is a physical port of a VXLAN network (the VNI and tun_dst from the packet state at
// the output, tun_src the tunnel's local_ip) or of a VLAN or native one. nullopt when the output
// is no physical port's (a logical port, the controller, IN_PORT).
std::optional<Arrival> arrival_of(const apps::ModelView& model, const apps::SwitchView& view,
                                  const std::string& system_id, const Output& output);

// Where an arrival enters this server: the bridge and its in_port (a VXLAN arrival: the tunnel
// interface of that physical network whose local_ip is tun_dst, or has none; VLAN or native: the
// uplink of that physical network). An error `no-tunnel` or `no-uplink` (kNotFound) otherwise.
// With `iface` (a physical FROM, SERVER/INTERFACE): only that interface, and when it is not the
// arrival's tunnel or uplink an error `not-entry` (kInvalidArgument) that says what it is.
struct Entry {
  uint64_t dpid = 0;
  std::string bridge, iface;
  uint32_t in_port = 0;
};
Result<Entry> find_entry(const apps::ModelView& model, const std::map<uint64_t, apps::SwitchView>& views,
                         const std::string& system_id, const Arrival& arrival, const std::string& iface = "");

// The packet as it left (the packet state at an output) as the next hop's PacketSpec, with the
// arrival's metadata (in_port, tunnel fields, VLAN).
Result<PacketSpec> next_packet(const PacketState& state, Proto proto, const Arrival& arrival,
                               uint32_t in_port);

}  // namespace vlcp::trace
