// A switch as the apps see it: its bridge's interfaces as OVSDB has them (name, type, iface-id,
// ofport, the tunnel's local_ip, the MAC in use), and their translation from the OVSDB replica,
// beside the view.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ovsdb/replica.h"

namespace vlcp::apps {

struct SwitchPortInfo {  // one OVSDB interface of a bridge
  std::string name, type, iface_id, local_ip;
  int64_t ofport = -1;
  std::string mac = {};  // mac_in_use (a server's own router MAC derives from its way out)
  bool operator==(const SwitchPortInfo&) const = default;
};
struct SwitchView {  // a bridge as OVSDB has it (ports sorted by name)
  std::string bridge;
  std::vector<SwitchPortInfo> ports;
  bool operator==(const SwitchView&) const = default;
};

// One interface that differs between two views of a bridge (by name): added (no `before`),
// removed (no `after`), or changed in any field (a binding: iface-id, ofport).
struct PortChange {
  std::optional<SwitchPortInfo> before, after;
  bool operator==(const PortChange&) const = default;
};
// What changed from one view of a switch to the next.
struct SwitchChange {
  bool bridge = false;            // another bridge name: everything is new
  std::vector<PortChange> ports;  // by name
};
SwitchChange changed_ports(const SwitchView& old, const SwitchView& now);

// Every bridge with a datapath id, by datapath id.
std::map<uint64_t, SwitchView> switch_views(const ovsdb::Replica& replica);

}  // namespace vlcp::apps
