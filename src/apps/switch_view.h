// A switch as the apps see it: its bridge's interfaces as OVSDB has them (name, type, iface-id,
// ofport, the tunnel's local_ip, the MAC in use), and their translation from the OVSDB replica,
// beside the view.
#pragma once

#include <cstdint>
#include <map>
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

// Every bridge with a datapath id, by datapath id.
std::map<uint64_t, SwitchView> switch_views(const ovsdb::Replica& replica);

}  // namespace vlcp::apps
