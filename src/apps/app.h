// The flow-app contract: what every app that programs switches declares and computes. The
// platform (apps/host.h) keeps the node's model view and each switch's view and flow owner, and
// drives every registered app the same way; an app is only this interface (docs/ARCHITECTURE.md
// "Adding an app").
//
//   declares   name, the cookie app ids it owns, the model kinds it reads (its VLCP modules,
//              keys and packet-in handlers are declared where it registers: apps/registry.h)
//   computes   its desired flows and groups per partition, from the model view and a switch's
//              view: every partition (the full recompute, always available) or one
//   follows    a model change or a switch change by naming the partitions it dirties, or
//              asking for a recompute of the switch
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/model_view.h"
#include "apps/switch_view.h"
#include "base/buffer.h"
#include "flows/cookie.h"
#include "flows/desired.h"

namespace vlcp::apps {

// What an app is given about one switch.
struct SwitchContext {
  uint64_t dpid = 0;
  const SwitchView* view = nullptr;
  const std::string* system_id = nullptr;  // this node's (Open_vSwitch external_ids:system-id)
  // In on_switch: what changed since the switch's previous view (null: its first view).
  const SwitchChange* change = nullptr;
};

// The logical networks whose ports a switch change binds or unbinds: the model's network of each
// iface-id with a valid ofport before or after the change (an interface waiting for its ofport
// touches nothing). nullopt when the change is more than bindings — another bridge, an interface
// without an iface-id that has a valid ofport (a tunnel or an uplink: physical ports serve whole
// physical networks, their MAC and local_ip feed routers) — or unknown: recompute.
std::optional<std::set<std::string>> binding_networks(const ModelView& model, const SwitchContext& sw);

// What a change means to an app: the partitions it dirties (on every switch), or a recompute.
struct Dirty {
  std::set<std::string> partitions;
  bool all = false;
  static Dirty everything() { return Dirty{{}, true}; }
  static Dirty nothing() { return Dirty{}; }
  // The partitions named after the logical networks a change touches (ModelChange::parents),
  // each as prefix + network key.
  static Dirty networks(const std::set<std::string>& parents, const std::string& prefix = "") {
    Dirty d;
    for (const auto& net : parents)
      if (!net.empty()) d.partitions.insert(prefix + net);
    return d;
  }
};

// A figure for /metrics, declared next to what it measures (the daemon only publishes them).
struct AppMetric {
  std::string name, help;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

// A model object behind a flow (the trace's explanation, apps/explain.h).
struct ObjectRef {
  // "logicalport", "logicalnetwork", "subnet", "router", "routerinterface", "physicalport",
  // "physicalnetwork", "node"; "interface": a switch's, no model object's; "rule": the app's own
  // policy, which no object is behind (its detail says what it does).
  std::string kind;
  std::string id;           // as the user named it
  std::string role = {};    // how the flow names it: "in_port", "out_port", "dl_dst", ... ("" none)
  std::string detail = {};  // "10.2.0.0/24", "router MAC", ... ("" none)
  bool in_model = true;
  bool operator==(const ObjectRef&) const = default;
};
struct FlowFacts;  // apps/explain.h

class FlowApp {
 public:
  virtual ~FlowApp() = default;
  virtual std::string name() const = 0;  // partitions are "<name>/<partition>"
  virtual std::set<flows::AppId> cookie_ids() const = 0;
  virtual std::set<schema::Kind> reads() const = 0;

  // Every partition of one switch (the baseline incremental updates are tested against).
  virtual std::map<std::string, flows::Desired> compute(const ModelView& model,
                                                        const SwitchContext& sw) const = 0;
  // The named partitions only, each present in the answer (empty: it has nothing on this switch,
  // or no longer exists); what they share is computed once.
  virtual std::map<std::string, flows::Desired> compute(const ModelView& model, const SwitchContext& sw,
                                                        const std::set<std::string>& partitions) const = 0;
  // Partitions recomputed with every round, whatever changed (cheap ones: table defaults).
  virtual std::set<std::string> always() const { return {}; }

  // A model change: what it dirties.
  virtual Dirty on_model(const ModelView& model, const ModelChange& change) const = 0;
  // A switch's view (its ports) changed (SwitchContext::change says how): by default, recompute
  // it. (This node's system id changing recomputes every switch without asking.)
  virtual Dirty on_switch(const ModelView&, const SwitchContext&) const { return Dirty::everything(); }
  // After each round of recomputes, with every switch whose view is known (side effects: what
  // this node publishes about itself).
  virtual void after_round(const std::vector<SwitchContext>&) {}

  // A PACKET_IN for one of its control-thread handlers (PacketInDecl, apps/registry.h), with the
  // switch's view: whole OpenFlow messages (xid 0) appended to `answers`.
  virtual void packet_in(flows::AppId, const SwitchContext&, ByteSpan, Buffer&) {}
  // What the app adds to ioprocessing/status: its own figures, and per switch.
  virtual nlohmann::json status(const ModelView&) const { return nlohmann::json::object(); }
  virtual nlohmann::json switch_status(const ModelView&, const SwitchContext&) const {
    return nlohmann::json::object();
  }
  // Its own figures for /metrics (the platform adds every app's generic ones).
  virtual std::vector<AppMetric> metrics() const { return {}; }

  // The trace (docs/TRACE_DESIGN.md §6.3). The model objects behind one of its flows beyond what
  // the generic resolver (apps/explain.h) finds; and the MAC a host of `network` (a logical
  // network's key) sends routed traffic to (the router MAC), when this app routes it.
  virtual std::vector<ObjectRef> explain(const ModelView&, const SwitchContext&, const FlowFacts&) const {
    return {};
  }
  virtual std::optional<model::detail::Mac> gateway_mac(const ModelView&,
                                                        const std::string& /*network*/) const {
    return std::nullopt;
  }
};

}  // namespace vlcp::apps
