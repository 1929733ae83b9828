// The L2 app on a node: keeps its view of the network model from ObjectDB (prefix watches on
// logical and physical networks, logical and physical ports, and the ports' VXLAN locations),
// learns each switch's ports from OVSDB (through update_switch), binds logical ports by
// `external_ids:iface-id` whichever of the port or the object appears first, publishes where its
// VXLAN ports are (viperflow.logicalportvxlaninfo.<port>: this node's endpoint with its tunnel
// address), and keeps its partitions ("l2/base", "l2/<network key>") in each switch's flow owner
// (flows/owner.h) up to date — recomputing only the networks a change touches, coalesced per
// loop turn. It registers with the owner as app "l2", owning the cookie app ids of ioprocessing,
// l2switch and vxlancast and that of the table defaults (App::kBase).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/l2.h"
#include "apps/model_view.h"
#include "db/objectdb.h"
#include "flows/owner.h"

namespace vlcp::apps {

struct SwitchPortInfo {  // one OVSDB interface of a bridge
  std::string name, type, iface_id, local_ip;
  int64_t ofport = -1;
};
struct SwitchView {
  std::string bridge;
  std::vector<SwitchPortInfo> ports;
};

struct L2AppStats {
  uint64_t recomputes = 0, partitions_recomputed = 0, location_writes = 0, location_failures = 0;
  uint64_t first_packets = 0, first_packet_misses = 0;
};

using flows::SwitchLink;

class L2App {
 public:
  static constexpr const char* kAppName = "l2";
  using After = std::function<void(std::chrono::milliseconds, std::function<void()>)>;
  // The model kinds the L2 apps read (the node's ModelView watches at least these).
  static std::set<schema::Kind> reads() {
    using schema::Kind;
    return {Kind::kPhysicalNetwork, Kind::kLogicalNetwork, Kind::kPhysicalPort, Kind::kLogicalPort,
            Kind::kLocation};
  }
  // `model`: the node's shared model view; `db` for the locations this node publishes.
  L2App(ModelView& model, db::ObjectDb& db, const pipeline::TableMap& tables, L2Settings settings,
        const Clock& clock, After after);
  ~L2App();

  void start();  // follows the model view (start the view too)
  void set_system_id(const std::string& id);
  // A switch's ports as OVSDB reports them (replaces the previous view).
  void update_switch(uint64_t dpid, SwitchView view);
  void remove_switch(uint64_t dpid);
  // The switch's OpenFlow connection is up (reconcile) / down.
  void attach(uint64_t dpid, SwitchLink* link);
  void detach(uint64_t dpid);

  // A PACKET_IN the control thread gets (first-packet upload): the FLOW_MOD and PACKET_OUT
  // that answer it, encoded (none when the destination is unknown or it is not ours).
  std::vector<std::vector<uint8_t>> packet_in(uint64_t dpid, ByteSpan message);

  const flows::FlowOwner* flow_owner(uint64_t dpid) const;
  // Every switch: dpid, bridge, its flow owner's figures.
  std::vector<std::tuple<uint64_t, std::string, flows::FlowOwnerStats>> flow_owners() const;
  Inputs inputs(uint64_t dpid) const;
  const L2Flows& flows() const { return flows_; }
  const L2AppStats& stats() const { return stats_; }
  // Whether the model has been read once (every prefix listed and loaded).
  bool model_loaded() const;
  nlohmann::json status() const;
  // Runs after each recompute (tests).
  std::function<void()> on_recomputed;

 private:
  struct Switch {
    SwitchView view;
    bool have_view = false;
    std::unique_ptr<flows::FlowOwner> owner;
    SwitchLink* link = nullptr;
    bool attached = false;         // the owner reconciles only once the model and the view are known
    std::set<std::string> active;  // networks it had flows for
    bool all_dirty = true;
  };
  Switch& switch_of(uint64_t dpid);  // made (with its flow owner) on first use
  void on_change(const ModelChange& c);
  void maybe_attach(uint64_t dpid, Switch& sw);
  void network_dirty(const std::string& net);
  void schedule();
  void recompute();
  void write_locations();
  void write_location(const std::string& port_id, std::optional<nlohmann::json> endpoint);
  std::optional<Network> network_of(const std::string& key) const;
  // The switch's physical ports by physical network, bound by the model's physical port rules:
  // the uplink of a VLAN or native network, the tunnel of a VXLAN one.
  std::map<std::string, const SwitchPortInfo*> uplinks(const Switch& sw) const;
  // Where port `pid` is bound on another node: the tunnel address of its latest endpoint that
  // is not this node's (a port being moved has two for a moment).
  std::optional<uint32_t> remote_vtep(const std::string& pid) const;

  ModelView& model_;
  db::ObjectDb& db_;
  L2Flows flows_;
  const Clock& clock_;
  After after_;
  std::string system_id_;
  std::map<uint64_t, Switch> switches_;
  std::set<std::string> dirty_nets_;
  bool scheduled_ = false;
  // Locations this node has written (port id -> endpoint) and writes in flight.
  std::map<std::string, nlohmann::json> written_;
  std::set<std::string> writing_;
  L2AppStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vlcp::apps
