// The L2 apps (VLCP's ioprocessing, l2switch and vxlancast) as one flow app on the platform
// (apps/app.h): their flows per network partition from the model view and a switch's view
// (apps/l2/l2.h), the partitions a change dirties, this node's VXLAN locations published after
// each round (viperflow.logicalportvxlaninfo.<port>: its endpoint with its tunnel address), and
// their packet-in handlers — controller learning on the workers, first-packet lookups on the
// control thread. Registered as app "l2" (modules ioprocessing, l2switch, vxlancast; keys
// VLCP_L2_KEYS) in l2app.cc.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/app.h"
#include "apps/l2/l2.h"
#include "apps/model_view.h"
#include "db/objectdb.h"
#include "flows/owner.h"

namespace vlcp::apps {

using flows::SwitchLink;

struct L2AppStats {
  uint64_t location_writes = 0, location_failures = 0;
  uint64_t first_packets = 0, first_packet_misses = 0;
};

// The switch's physical ports by physical network, bound by the model's physical port rules: the
// uplink of a VLAN or native network, the tunnel of a VXLAN one (an interface of the wrong kind is
// logged and not used). The L3 apps find each network's way out of a server here too.
std::map<std::string, const SwitchPortInfo*> physical_ports_on(const ModelView& model,
                                                               const SwitchContext& sw);

class L2App final : public FlowApp {
 public:
  static constexpr const char* kAppName = "l2";
  using After = std::function<void(std::chrono::milliseconds, std::function<void()>)>;
  // The model kinds the L2 apps read.
  static std::set<schema::Kind> kinds() {
    using schema::Kind;
    return {Kind::kPhysicalNetwork, Kind::kLogicalNetwork, Kind::kPhysicalPort, Kind::kLogicalPort,
            Kind::kLocation,        Kind::kSubnet,         Kind::kRouter,       Kind::kRouterInterface};
  }
  // `model`: the node's model view; `db` for the locations this node publishes.
  L2App(const ModelView& model, db::ObjectDb& db, const pipeline::TableMap& tables, L2Settings settings,
        After after);
  ~L2App() override;

  // --- the contract ---------------------------------------------------------------------------
  std::string name() const override { return kAppName; }
  std::set<flows::AppId> cookie_ids() const override;
  std::set<schema::Kind> reads() const override { return kinds(); }
  std::map<std::string, flows::Desired> compute(const ModelView& model,
                                                const SwitchContext& sw) const override;
  std::map<std::string, flows::Desired> compute(const ModelView& model, const SwitchContext& sw,
                                                const std::set<std::string>& partitions) const override;
  std::set<std::string> always() const override { return {kBasePartition}; }
  Dirty on_model(const ModelView& model, const ModelChange& change) const override;
  Dirty on_switch(const ModelView& model, const SwitchContext& sw) const override;
  void after_round(const std::vector<SwitchContext>& switches) override;
  void packet_in(flows::AppId app_id, const SwitchContext& sw, ByteSpan message, Buffer& answers) override;
  nlohmann::json status(const ModelView& model) const override;
  nlohmann::json switch_status(const ModelView& model, const SwitchContext& sw) const override;
  std::vector<AppMetric> metrics() const override;
  // Its base rules, which no model object is behind (the trace, docs/TRACE_DESIGN.md §6.3).
  std::vector<ObjectRef> explain(const ModelView& model, const SwitchContext& sw,
                                 const FlowFacts& facts) const override;

  // --- L2's own -----------------------------------------------------------------------------------
  // A first packet to a remote MAC (first-packet upload): the FLOW_MOD and PACKET_OUT that answer
  // it, encoded (none when the destination is unknown or it is not ours).
  std::vector<std::vector<uint8_t>> packet_in(const SwitchContext& sw, ByteSpan message);
  // What a switch's flows are computed from.
  Inputs inputs(const SwitchContext& sw) const;
  const L2Flows& flows() const { return flows_; }
  const L2AppStats& stats() const { return stats_; }

 private:
  void write_locations();
  void write_location(const std::string& port_id, std::optional<nlohmann::json> endpoint);
  // This node's entries of the hosted-ports index (schema::kHostedPrefix), read once its system id
  // is known: what it published, even in networks its view no longer follows.
  void list_hosted();
  std::string hosted_key(const std::string& port_id) const;
  std::optional<Network> network_of(const std::string& key) const;
  // The switch's physical ports by physical network, bound by the model's physical port rules:
  // the uplink of a VLAN or native network, the tunnel of a VXLAN one.
  std::map<std::string, const SwitchPortInfo*> uplinks(const SwitchContext& sw) const;
  // Where port `pid` is bound on another node: the tunnel address of its latest endpoint that
  // is not this node's (a port being moved has two for a moment).
  std::optional<uint32_t> remote_vtep(const std::string& system_id, const std::string& pid) const;

  const ModelView& model_;
  db::ObjectDb& db_;
  L2Flows flows_;
  After after_;
  // The switches whose view is known, as of the last round (locations are published from them).
  std::string system_id_;
  std::vector<std::pair<uint64_t, SwitchView>> views_;
  // Location writes in flight (port id).
  std::set<std::string> writing_;
  // The index entries naming this node (port id -> bridge), as listed at start and kept by every
  // location write since; `hosted_for_` is the system id they were listed for.
  std::map<std::string, std::string> hosted_;
  std::string hosted_for_;
  bool hosted_listing_ = false, hosted_listed_ = false;
  L2AppStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vlcp::apps
