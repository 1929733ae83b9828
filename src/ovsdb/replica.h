// The typed local replica of the Open_vSwitch database vlcpd keeps (what ovn-controller calls
// its IDL view): system-id, DPDK settings, bridges with datapath ids and controllers, ports and
// interfaces with ofport, external_ids (iface-id) and options (a tunnel's local_ip).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/result.h"
#include "sched/placement.h"

namespace vlcp::ovsdb {

using StringMap = std::map<std::string, std::string>;

struct Controller {
  std::string target;
  bool is_connected = false;
  std::string role;
};
struct Bridge {
  std::string name;
  std::optional<uint64_t> datapath_id;  // once the switch reports it
  std::string datapath_type;            // "netdev" for userspace and DPDK
  std::string fail_mode;
  std::vector<std::string> protocols, ports;
  std::vector<Controller> controllers;
};
struct Port {
  std::string name;
  std::vector<std::string> interfaces;
  StringMap external_ids;
  int64_t tag = -1;
};
struct Interface {
  std::string name, type;
  int64_t ofport = -1;  // -1: not assigned (yet), or failed
  StringMap external_ids, options;
  std::string admin_state, link_state, error, mac_in_use;

  bool is_tunnel() const { return type == "vxlan" || type == "geneve" || type == "gre" || type == "stt"; }
  std::string iface_id() const {
    auto it = external_ids.find("iface-id");
    return it == external_ids.end() ? "" : it->second;
  }
};

struct Replica {
  std::string system_id, ovs_version, dpdk_version;
  bool dpdk_initialized = false;
  StringMap other_config;
  std::map<std::string, Bridge> bridges;
  std::map<std::string, Port> ports;
  std::map<std::string, Interface> interfaces;
  // When this state reached vlcpd (the bring-up stage timings; unset in a replica read from
  // JSON): the OVSDB thread woke to the change, built this replica from it, and the control
  // thread took it from the ring.
  Clock::Monotonic seen{}, built{}, delivered{};

  // The bridge holding port `port`, or nullptr.
  const Bridge* bridge_of_port(const std::string& port) const;
  // OVS-DPDK's CPU settings, for worker placement.
  sched::DatapathCpus datapath_cpus() const;
};

// From the glue's JSON snapshot; a malformed snapshot is an error, never a partial replica.
Result<Replica> replica_from_json(const nlohmann::json& j);
nlohmann::json replica_to_json(const Replica& r);

}  // namespace vlcp::ovsdb
