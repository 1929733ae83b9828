// The Docker plugin's reconcile, run (docs/CONTAINERS_DESIGN.md §4, step 8 of §10): snapshots in
// the order containers/reconcile.h relies on — now, the link dump, the OVSDB replica's interfaces
// on the plugin's bridge, the model's four Docker kinds, then Docker's view through the Engine
// API — then plan_reconcile (grace, the driver's requests in flight), then the plan's actions in
// its order: endpoints unplugged through the plug machine, orphan veths through LinkOps, orphan
// OVSDB rows through PortOps, mappings / pools / reservations through model::Containers, repairs
// (a missing veth re-made, a missing OVSDB row re-plugged with the port's MAC). It runs at start,
// every `reconcileinterval` (0: start only — until one run succeeds) and on demand; while Docker
// cannot be reached it removes nothing; a run that did not succeed (Docker unreachable, a snapshot
// or an action failed) is tried again with backoff (5 s doubling, at most the interval or 300 s).
//
// Seams: DockerEngine (Docker's view; HttpDockerEngine over api/http_client, tests use a fake),
// the plug machine's PortOps and link::LinkOps, a replica provider (the OVSDB client's, asked at
// each run: the ovsdbmanager module may come and go), an InFlight provider (the driver's).
//
// Threads: the control thread (every seam answers on it).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "containers/docker_engine.h"
#include "containers/docker_protocol.h"
#include "containers/plug.h"
#include "containers/reconcile.h"
#include "db/objectdb.h"
#include "io/control_loop.h"
#include "link/executor.h"
#include "model/containers.h"
#include "ovsdb/replica.h"

namespace vlcp::containers {

// ---- Docker's view -----------------------------------------------------------------------------

class DockerEngine {
 public:
  virtual ~DockerEngine() = default;
  // Docker's view now: reachable with its networks inspected, or reachable == false. `log` gets
  // one line per network left uninspected (and why Docker was unreachable). Answers once, on the
  // control thread, never inside the call.
  virtual void fetch_view(
      std::function<void(docker::DockerView view, std::vector<std::string> log)> done) = 0;
};

// GET /v1.41/networks?filters=..., then GET /v1.41/networks/<id> for each, one at a time, over
// the HTTP client (unix:///var/run/docker.sock, tcp://, http://).
class HttpDockerEngine final : public DockerEngine {
 public:
  // kInvalidArgument for a url parse_http_url refuses.
  static Result<std::unique_ptr<HttpDockerEngine>> make(
      io::ControlLoop& loop, const std::string& url, std::string driver = "vlcp",
      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpDockerEngine() override;
  void fetch_view(std::function<void(docker::DockerView, std::vector<std::string>)> done) override;

 private:
  struct Impl;
  explicit HttpDockerEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---- snapshots from the daemon's shapes (pure) -------------------------------------------------

// The links of a dump that carry an alias (the planner picks our marks).
LinkView link_view_of(const std::vector<link::LinkInfo>& links);
// The interfaces of `bridge`'s ports, with external_ids:vlcp-owner ("" none). An unknown bridge
// gives none.
OvsdbView ovsdb_view_of(const ovsdb::Replica& replica, const std::string& bridge);

// ---- requests in flight ------------------------------------------------------------------------

// The ids of Docker's requests running now (plan_reconcile leaves their objects alone): the
// module wraps each request's answer with track() before handing it to the driver. Endpoints:
// CreateEndpoint, DeleteEndpoint, Join, EndpointOperInfo; networks: CreateNetwork,
// DeleteNetwork; pools: ReleasePool, RequestAddress, ReleaseAddress. An answer dropped unrun
// (the driver destroyed) leaves its ids until the tracker goes, with the module.
class InFlightTracker {
 public:
  using Answer = std::function<void(docker::Reply)>;
  // Holds the ids `call` names until the returned answer runs (it then runs `done`).
  Answer track(const docker::Call& call, Answer done);
  // The same from the request as the socket got it (decoded with docker::dispatch; a request
  // that decodes to no call names nothing and `done` comes back as it was).
  Answer track(std::string_view path, std::string_view body, Answer done);
  InFlight snapshot() const;
  size_t size() const { return state_->held; }

 private:
  struct State {
    std::multiset<std::string> endpoints, networks, pools;
    size_t held = 0;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// ---- the reconciler ----------------------------------------------------------------------------

// X(enumerator, label): how a run ended (vlcp_container_reconcile_runs_total{result}).
#define VLCP_RECONCILE_RESULTS(X)             \
  X(kOk, "ok")                                \
  X(kDockerUnreachable, "docker_unreachable") \
  X(kFailed, "failed")

enum class ReconcileResult : uint8_t {
#define VLCP_RECONCILE_RESULT_ENUM(name, label) name,
  VLCP_RECONCILE_RESULTS(VLCP_RECONCILE_RESULT_ENUM)
#undef VLCP_RECONCILE_RESULT_ENUM
};
inline constexpr size_t kReconcileResultCount = 0
#define VLCP_RECONCILE_RESULT_COUNT(name, label) +1
    VLCP_RECONCILE_RESULTS(VLCP_RECONCILE_RESULT_COUNT)
#undef VLCP_RECONCILE_RESULT_COUNT
    ;
std::string_view reconcile_result_label(ReconcileResult result);

struct ReconcilerSettings {
  std::string bridge = "dockerbr0";       // ovsbridge
  std::string veth_prefix = "vlcp";       // vethprefix
  std::string systemid;                   // this node
  std::chrono::seconds interval{300};     // reconcileinterval; 0: at start only
  std::chrono::seconds grace{30};         // reconcilegrace
  int64_t foreign_grace_us = 60'000'000;  // iptimeout
  // A run that did not succeed (Docker unreachable, a snapshot or an action failed) is retried
  // after backoff_first, doubling up to backoff_max (and the interval, if set), until one does —
  // with interval 0 too, where "at start only" means one run that succeeded.
  std::chrono::milliseconds backoff_first{std::chrono::seconds(5)};
  std::chrono::milliseconds backoff_max{std::chrono::seconds(300)};
};

struct ReconcilerParts {
  io::ControlLoop& loop;
  db::ObjectDb& db;  // the logical port's MAC for a repair
  model::Containers& containers;
  Plugger& plugger;
  PortOps& ports;
  link::LinkOps& links;
  DockerEngine& engine;
  // The OVSDB client's replica now; null: not connected (the run fails, nothing is planned).
  std::function<std::shared_ptr<const ovsdb::Replica>()> replica;
  // The requests running or queued (DockerDriver); unset: none.
  std::function<InFlight()> in_flight;
  // Microseconds on the model's clock (the records' created/expires); unset: the system clock.
  std::function<int64_t()> now_us;
};

struct ReconcilerCounters {
  std::array<uint64_t, kReconcileResultCount> runs{};
  std::array<uint64_t, kReconcileWhatCount> removed{};   // of actions that succeeded
  std::array<uint64_t, kReconcileWhatCount> repaired{};  // of actions that succeeded
  uint64_t action_failures = 0;
  uint64_t skipped_busy = 0;  // an endpoint that became busy between the plan and its action
  uint64_t run_of(ReconcileResult r) const { return runs[static_cast<size_t>(r)]; }
  uint64_t removed_of(ReconcileWhat w) const { return removed[static_cast<size_t>(w)]; }
  uint64_t repaired_of(ReconcileWhat w) const { return repaired[static_cast<size_t>(w)]; }
};

class DockerReconciler {
 public:
  using Done = std::function<void(const nlohmann::json& summary)>;
  // Every part outlives the reconciler.
  DockerReconciler(ReconcilerParts parts, ReconcilerSettings settings);
  ~DockerReconciler();  // timers cancelled; a run in progress is abandoned (its answers dropped)
  DockerReconciler(const DockerReconciler&) = delete;
  DockerReconciler& operator=(const DockerReconciler&) = delete;

  // The first run now (the module calls it once OVSDB and the bridge are there), then every
  // interval. Idempotent.
  void start();
  // One run as soon as possible (after the one in progress, if any); `done` gets its summary.
  void run_now(Done done);

  bool running() const { return running_; }
  const ReconcilerCounters& counters() const { return counters_; }
  // The last run's summary ({} before the first): started_us, seconds, result, error, docker
  // {reachable, complete, networks}, snapshot sizes, the plan (unplug, orphans, mappings, pools,
  // reservations, repair, notes), failures [{action, subject, error}], removed/repaired by what.
  const nlohmann::json& last() const { return last_; }
  // dockerplugin/status's "reconcile": settings, counters, running, last.
  nlohmann::json status() const;
  // vlcp_container_reconcile_* name/value pairs (labels in the names, as OvsdbClient::metrics()).
  std::vector<std::pair<std::string, double>> metrics() const;

 private:
  struct Run;
  void begin();
  void snapshot_links(std::shared_ptr<Run> run);
  void snapshot_model(std::shared_ptr<Run> run, size_t kind);
  void snapshot_docker(std::shared_ptr<Run> run);
  void execute(std::shared_ptr<Run> run, size_t step);
  void finish(std::shared_ptr<Run> run, ReconcileResult result, std::string error);
  void schedule(std::chrono::nanoseconds delay);

  ReconcilerParts parts_;
  ReconcilerSettings settings_;
  ReconcilerCounters counters_;
  nlohmann::json last_ = nlohmann::json::object();
  bool started_ = false, running_ = false, again_ = false;
  std::vector<Done> waiting_, next_waiting_;
  std::optional<io::TimerId> timer_;
  std::chrono::nanoseconds backoff_{0};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vlcp::containers
