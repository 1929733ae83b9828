// The plug machine (docs/CONTAINERS_DESIGN.md §3): a container's endpoint (a Docker endpoint or
// a CNI attachment) made in steps, each asynchronous and each with its undo —
//   1 model: the logical port and its info in one commit             (EndpointStore)
//   2 veth pair, the peer in the pod's netns for CNI (2b: address,    (link::LinkOps)
//     routes, MTU inside it)
//   3 OVSDB port on the bridge with iface-id / attached-mac / owner   (PortOps)
//   4 the interface's ofport, within ofport_wait                      (PortOps)
//   5 the port's flows confirmed by its switch, within flows_wait     (FlowsWait, optional)
// A step that succeeded pushes its undo on the request's StepJournal; a failure, or a step past
// its deadline, runs the undos last-first and answers the error. Unplug runs 3, 2, 1, best
// effort. Requests for one endpoint are serialised by a keyed queue; different endpoints run
// concurrently. Everything a step makes carries the endpoint's owner mark (veth alias, OVSDB
// vlcp-owner, the model info's systemid), so what a crash or a failed undo leaves is found by
// the reconcile (§4).
//
// The three seams are interfaces so the machine is tested with fakes (tests/unit/containers/
// plug_test.cc); the daemon adapts OvsdbClient and model::Containers to them.
//
// Threads: the control thread only. Every seam answers through its callback on that thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "io/control_loop.h"
#include "link/executor.h"

namespace vlcp::containers {

using Json = nlohmann::json;

// ---- names -------------------------------------------------------------------------------------

enum class EndpointKind : uint8_t { kDocker, kCni };

struct EndpointIdentity {
  EndpointKind kind = EndpointKind::kDocker;
  std::string id;      // Docker: the EndpointID (64 hex); CNI: CNI_CONTAINERID
  std::string ifname;  // CNI: CNI_IFNAME ("" means eth0); Docker: unused
  friend bool operator==(const EndpointIdentity&, const EndpointIdentity&) = default;
};

// Every name an endpoint's artifacts carry, derived from its identity alone (so a replayed or
// retried request, and the reconcile, find them again).
struct EndpointNames {
  std::string port_id;    // docker-<EID> | k8s-<cid> | k8s-<cid>-<ifname> (ifname != eth0)
  std::string owner;      // OVSDB external_ids:vlcp-owner: docker:<EID> | cni:<cid>:<ifname>
  std::string alias;      // the veth's IFLA_IFALIAS: "vlcp:" + owner
  std::string host_veth;  // <prefix><10 hex>: Docker the id's first 10, CNI a hash of the owner
  std::string peer_veth;  // Docker: host_veth + "c" (Join's SrcName); CNI: ifname (in the netns)
  friend bool operator==(const EndpointNames&, const EndpointNames&) = default;
};

// kInvalidArgument for an id or ifname of the wrong form or a bad prefix (1-4 of [a-z0-9]).
Result<EndpointNames> endpoint_names(const EndpointIdentity& endpoint, std::string_view veth_prefix);

// ---- requests and answers ----------------------------------------------------------------------

struct PlugRequest {
  EndpointIdentity endpoint;
  std::string bridge;  // the OVS bridge (module.dockerplugin.ovsbridge / module.cniserver.bridge)
  std::string netns;   // CNI: CNI_NETNS (the peer is made there, 2b runs there); Docker: ""
  uint32_t mtu = 0;    // used when the model step resolves none
  // The model step's parameters, opaque here: the EndpointStore adapter reads them (the Docker
  // network, ip, mac, info and port attributes of model::EndpointRequest).
  Json model = Json::object();
  friend bool operator==(const PlugRequest&, const PlugRequest&) = default;
};

// What step 1 answers: the port as committed.
struct EndpointRecord {
  link::Mac mac{};
  std::optional<link::Ipv4Prefix> address;  // none: a port without an address
  std::optional<link::Ipv4> gateway;        // CNI 2b: the default route's next hop
  std::vector<link::Route> routes;          // the subnet's host_routes (CNI 2b)
  uint32_t mtu = 0;                         // subnet -> network; 0: PlugRequest::mtu
  Json port = Json::object();               // the port (and info) as dumped, for the answers
  friend bool operator==(const EndpointRecord&, const EndpointRecord&) = default;
};

struct PlugResult {
  EndpointNames names;
  EndpointRecord record;
  uint32_t mtu = 0;  // as applied to the veth and the OVSDB interface
  int64_t ofport = 0;
  friend bool operator==(const PlugResult&, const PlugResult&) = default;
};

struct UnplugRequest {
  EndpointIdentity endpoint;
  std::string bridge;
  std::string netns;  // CNI (informative: deleting the host end takes the peer with it)
};

// ---- the seams ---------------------------------------------------------------------------------

// Step 1 (model/containers' endpoint transactions).
class EndpointStore {
 public:
  virtual ~EndpointStore() = default;
  // The port `names.port_id` and its info in one commit (consuming its reservation). A port of
  // that id this node owns (a crash, a replay) is replaced in the same commit; another's is
  // kAlreadyExists. Nothing is written on any error.
  virtual void create_endpoint(const PlugRequest& request, const EndpointNames& names,
                               std::function<void(Result<EndpointRecord>)> done) = 0;
  // The port and (cascade) its info. A port that does not exist is ok.
  virtual void delete_endpoint(const std::string& port_id, std::function<void(Status)> done) = 0;
};

// Step 3 and 4 (ovsdb::OvsdbClient's port commands: the adapter copies OvsPortSpec into
// ovsdb::PortSpec with type "").
struct OvsPortSpec {
  std::string name;                                 // Port and Interface name: the host end of the veth
  std::string owner;                                // external_ids:vlcp-owner
  std::map<std::string, std::string> external_ids;  // iface-id, attached-mac
  int64_t mtu_request = 0;
  friend bool operator==(const OvsPortSpec&, const OvsPortSpec&) = default;
};

class PortOps {
 public:
  virtual ~PortOps() = default;
  // Interface + Port on `bridge`. A port of that name with our owner is replaced; with another
  // owner (or none) kConflict or kAlreadyExists; no such bridge kNotFound.
  virtual void plug_port(const std::string& bridge, OvsPortSpec spec, std::function<void(Status)> done) = 0;
  // A port that does not exist is ok; one with another owner is refused (kConflict) and stays.
  virtual void unplug_port(const std::string& bridge, const std::string& name, const std::string& owner,
                           std::function<void(Status)> done) = 0;
  // The interface's ofport (> 0), or kUnavailable (its error), or kTimeout past `timeout`.
  virtual void wait_ofport(const std::string& iface, std::chrono::nanoseconds timeout,
                           std::function<void(Result<int64_t>)> done) = 0;
};

// Step 5: the flows of a port confirmed by its switch (the daemon adapts the app host's
// when_bound). Answering Docker or CNI before them lets the container's first packet (its ARP)
// meet no flow: the kernel retries an ARP only after 1 s. Never fails a plug: past flows_wait the
// plug answers anyway (counted), the flows follow.
class FlowsWait {
 public:
  virtual ~FlowsWait() = default;
  // `done(true)` once the interface's flows are confirmed; `done(false)` when this node cannot
  // tell (no app host, or no switch of `bridge` connected to it): the plug answers at once.
  // Returns an id for cancel.
  virtual uint64_t wait_flows(const std::string& bridge, const std::string& iface,
                              std::function<void(bool)> done) = 0;
  virtual void cancel(uint64_t id) = 0;
};

// ---- the journal -------------------------------------------------------------------------------

struct RetryPolicy {
  unsigned attempts = 3;                 // per undo, the first included
  std::chrono::milliseconds delay{100};  // before the second; doubled after each
};

// The undos of the steps a request has done. unwind() runs them last-first; each is idempotent
// and tried up to `attempts` times (kNotFound counts as done); one that still fails is counted
// and the rest still run. Owned through a shared_ptr while unwinding.
class StepJournal {
 public:
  using Undo = std::function<void(std::function<void(Status)>)>;
  struct Outcome {
    size_t undone = 0;
    std::vector<std::pair<std::string, Status>> failed;  // step, its last error
  };
  void push(std::string step, Undo undo) { entries_.push_back({std::move(step), std::move(undo)}); }
  size_t size() const { return entries_.size(); }
  std::vector<std::string> steps() const;
  // Empties the journal; `done` once every undo ended (on the loop).
  void unwind(io::ControlLoop& loop, RetryPolicy policy, std::function<void(Outcome)> done);

 private:
  struct Entry {
    std::string step;
    Undo undo;
  };
  std::vector<Entry> entries_;
};

// Runs `op` until it answers ok or kNotFound, at most policy.attempts times, waiting
// policy.delay (doubling) on the loop between tries; answers the last status (kNotFound -> ok).
void with_retries(io::ControlLoop& loop, RetryPolicy policy, StepJournal::Undo op,
                  std::function<void(Status)> done);

// ---- the machine -------------------------------------------------------------------------------

// X(enumerator, metric label). The steps, for deadlines, failures and counters.
#define VLCP_PLUG_STEPS(X) \
  X(kModel, "model")       \
  X(kVeth, "veth")         \
  X(kNetns, "netns")       \
  X(kOvsdb, "ovsdb")       \
  X(kOfport, "ofport")

enum class PlugStep : uint8_t {
#define VLCP_PLUG_STEP_ENUM(name, label) name,
  VLCP_PLUG_STEPS(VLCP_PLUG_STEP_ENUM)
#undef VLCP_PLUG_STEP_ENUM
};
inline constexpr size_t kPlugStepCount = 0
#define VLCP_PLUG_STEP_COUNT(name, label) +1
    VLCP_PLUG_STEPS(VLCP_PLUG_STEP_COUNT)
#undef VLCP_PLUG_STEP_COUNT
    ;
std::string_view plug_step_label(PlugStep step);

struct PlugSettings {
  std::string veth_prefix = "vlcp";
  std::chrono::nanoseconds step_deadline = std::chrono::seconds(10);  // stepdeadline
  std::chrono::nanoseconds ofport_wait = std::chrono::seconds(2);     // ofportwait
  std::chrono::nanoseconds flows_wait = std::chrono::seconds(1);      // step 5's bound
  bool tx_checksum_off = true;  // txchecksum (the module resolves 'auto' by the bridge's datapath)
  RetryPolicy undo;
};

struct PlugCounters {
  uint64_t plugs = 0;          // plugs answered ok (replays included)
  uint64_t plug_failures = 0;  // plugs answered with an error
  uint64_t replays = 0;        // a plug equal to the endpoint's last successful one: its answer again
  uint64_t replaced = 0;       // a veth of our name (ours, or unmarked) found and replaced
  uint64_t unplugs = 0;
  uint64_t unplug_step_failures = 0;  // unplug steps that still failed (left for the reconcile)
  uint64_t timeouts = 0;              // steps past their deadline
  uint64_t late_answers = 0;          // a step answering after its deadline (its undo runs again)
  uint64_t undos = 0;                 // undos that ran to success
  uint64_t undo_failures = 0;         // undos that still failed (left for the reconcile)
  uint64_t flows_confirmed = 0;       // plugs answered after their flows were confirmed
  uint64_t flows_wait_timeouts = 0;   // plugs answered past flows_wait, flows not confirmed yet
  std::array<uint64_t, kPlugStepCount> step_failures{};  // plug failures by step
};

class Plugger {
 public:
  Plugger(io::ControlLoop& loop, EndpointStore& store, link::LinkOps& links, PortOps& ports,
          PlugSettings settings);
  ~Plugger();  // answers still to come are dropped
  Plugger(const Plugger&) = delete;
  Plugger& operator=(const Plugger&) = delete;

  // Steps 1, 2 (2b for CNI), 3, 4. Errors: kInvalidArgument (names), the model's (kAlreadyExists
  // 409 for an address/MAC/port held, ...), kAlreadyExists for a veth or OVSDB port of our name
  // with another owner (nothing of theirs touched), kTimeout for a step past its deadline (504),
  // the seams' own codes otherwise. A request equal to the endpoint's last successful plug
  // answers that plug's result without touching anything.
  void plug(PlugRequest request, std::function<void(Result<PlugResult>)> done);
  // Steps 3, 2, 1, each retried, going on past a failure; answers the model step's status.
  void unplug(UnplugRequest request, std::function<void(Status)> done);

  // Step 5's seam (null: plugs answer after step 4). Not owned; cleared before it goes.
  void set_flows_wait(FlowsWait* wait) { flows_ = wait; }

  // `fn` runs after every unplug (whoever asked: a driver's delete, the reconcile), with the
  // endpoint, before its answer: a caller keeping its own view of endpoints drops it there.
  // The id is for unwatch_unplugs (which the watcher calls before it goes).
  uint64_t watch_unplugs(std::function<void(const EndpointIdentity&)> fn);
  void unwatch_unplugs(uint64_t id) { unplug_watchers_.erase(id); }

  // True while a request for the endpoint runs or waits (the reconcile leaves it alone).
  bool busy(const EndpointNames& names) const { return queues_.count(names.owner) != 0; }
  size_t endpoints_busy() const { return queues_.size(); }
  const PlugCounters& counters() const { return counters_; }
  // vlcp_plug_* name/value pairs (as OvsdbClient::metrics()).
  std::vector<std::pair<std::string, double>> metrics() const;

 private:
  struct Op;
  using Task = std::function<void(std::function<void()> finished)>;
  void enqueue(const std::string& key, Task task);
  void run_plug(std::shared_ptr<Op> op);
  void step_veth(std::shared_ptr<Op> op, bool retried);
  void resolve_veth_conflict(std::shared_ptr<Op> op, Status conflict);
  void step_netns(std::shared_ptr<Op> op);
  void step_ovsdb(std::shared_ptr<Op> op);
  void step_ofport(std::shared_ptr<Op> op);
  void step_flows(std::shared_ptr<Op> op);
  void fail(std::shared_ptr<Op> op, PlugStep step, Status status);
  void succeed(std::shared_ptr<Op> op);
  // Runs `start` with a deadline: `answer` gets the seam's answer, or nothing when the deadline
  // passed first (then the step fails with kTimeout and `undo`, when set, is queued behind it).
  template <typename R>
  void timed(std::shared_ptr<Op> op, PlugStep step, std::chrono::nanoseconds deadline,
             std::function<void(std::function<void(R)>)> start, StepJournal::Undo undo,
             std::function<void(R)> answer);
  StepJournal::Undo undo_model(const std::string& port_id);
  StepJournal::Undo undo_veth(const EndpointNames& names);
  StepJournal::Undo undo_ovsdb(const std::string& bridge, const EndpointNames& names);

  io::ControlLoop& loop_;
  EndpointStore& store_;
  link::LinkOps& links_;
  PortOps& ports_;
  FlowsWait* flows_ = nullptr;
  std::map<uint64_t, io::TimerId> flow_waits_;  // step 5's waits still open: their timers
  PlugSettings settings_;
  PlugCounters counters_;
  // Per endpoint (owner mark): the tasks waiting behind the running one.
  std::map<std::string, std::deque<Task>> queues_;
  // Per endpoint: its last successful plug (replays), dropped by an unplug.
  std::map<std::string, std::pair<PlugRequest, PlugResult>> plugged_;
  std::map<uint64_t, std::function<void(const EndpointIdentity&)>> unplug_watchers_;
  uint64_t next_watcher_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vlcp::containers
