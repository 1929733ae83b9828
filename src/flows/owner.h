// One flow owner per switch: every app states the flows and groups it wants there, by partition,
// and the owner merges them into one desired state, keeps what the switch has and sends only the
// difference — groups added or changed, then flows added or changed, then flows deleted, then
// groups deleted — followed by a barrier that confirms the batch. On (re)connection it reads the
// switch's flows and groups and reconciles against them instead of flushing: a switch that
// already has what is wanted gets no FLOW_MOD at all, and traffic never sees an empty table.
// Changes that arrive while a batch is in flight are merged into the next one. A batch the switch
// refused part of (errors before the barrier) makes the owner read the switch again and
// reconcile, with backoff. A batch that deletes and adds (state replaced) goes as one atomic ONF
// bundle.
//
// Apps and their partitions. An app registers its name and the cookie app ids it owns
// (flows/cookie.h); its partitions are namespaced by it ("l2/base", "l3/router.1"). Every flow an
// app states must carry one of its app ids, and no (table, priority, match) or group id may be
// stated by two apps: a partition that breaks either rule is refused whole — an error naming both
// apps and partitions, counted, logged — and keeps what it had; the first claim keeps the flow,
// and the app's other partitions and every other app's are applied as usual. Within one app a
// flow may move between partitions (or be stated by two of them at once, for a moment): it stays
// one flow, modified in place.
//
// Reconcile attributes every flow the switch has to an app by its cookie's app id (stats().apps);
// a flow no app wants — whatever its app id, registered or not — is deleted. Flows whose cookie
// carries kCookieDynamic (learned by OVS's learn action or by the controller) are not the owner's:
// reconciling neither deletes nor counts them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "flows/cookie.h"
#include "flows/desired.h"

namespace vlcp::flows {

// What the owner needs of a switch connection (implemented over the switch manager).
class SwitchLink {
 public:
  struct Outcome {
    bool completed = false;           // false: the connection closed before the barrier's reply
    std::vector<std::string> errors;  // what the switch refused, described
  };
  virtual ~SwitchLink() = default;
  // Sends the messages in order, then a barrier; done once its reply (or the end) arrives.
  virtual void send_batch(std::vector<std::vector<uint8_t>> messages, std::function<void(Outcome)> done) = 0;
  // A multipart request; done with the joined reply bodies.
  virtual void request(std::vector<uint8_t> message,
                       std::function<void(Result<std::vector<uint8_t>>)> done) = 0;
  // Runs fn after a delay (the control loop's timer).
  virtual void after(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
};

// One app's share of a switch.
struct AppFlowStats {
  size_t installed_flows = 0, installed_groups = 0;  // confirmed on the switch, the app's partitions
  size_t reconcile_found_flows = 0;  // the last reconcile: flows the switch had with the app's ids
  uint64_t refused = 0;              // partitions refused (a clash, a foreign cookie)
};

struct FlowOwnerStats {
  uint64_t flow_mods = 0, group_mods = 0, batches = 0, reconciles = 0, errors = 0, resyncs = 0, bundles = 0;
  double last_reconcile_seconds = 0;  // connect -> switch matches the desired state
  uint64_t last_reconcile_flow_mods = 0;
  size_t installed_flows = 0, installed_groups = 0;
  bool synced = false;   // the switch has everything desired (no batch pending or in flight)
  uint64_t refused = 0;  // partitions refused, every app
  // The last reconcile: flows the switch had whose cookie's app id no registered app owns
  // (deleted, as is every flow not desired).
  size_t reconcile_unowned_flows = 0;
  std::map<std::string, AppFlowStats> apps;  // by app name, every registered app
};

// A batch the switch confirmed (its barrier answered): every change stated up to `generation`
// is on the switch. When it was handed to the link and confirmed (the bring-up stage timings).
struct BatchDone {
  uint64_t generation = 0;
  // The owner started computing it (the difference), handed it to the link, had the barrier's
  // answer.
  Clock::Monotonic started{}, handed{}, confirmed{};
  size_t messages = 0;  // 0: nothing to send (the switch had it already)
};

class FlowOwner {
 public:
  explicit FlowOwner(const Clock& clock);
  ~FlowOwner();
  FlowOwner(const FlowOwner&) = delete;
  FlowOwner& operator=(const FlowOwner&) = delete;

  // An app and the cookie app ids its flows carry. Its name is its partitions' namespace (no
  // '/', not empty). A second app of that name, or an id another app owns, is an error naming
  // both.
  Status add_app(const std::string& app, std::set<AppId> ids);
  // One of the app's partitions: its desired flows and groups (replacing what it wanted before).
  // Refused whole (an error naming both apps and partitions; the partition keeps what it had)
  // when the app is not registered, a flow's cookie is not the app's, or another app states one
  // of its flows or groups.
  Status set(const std::string& app, const std::string& partition, Desired desired);
  // Every partition of one app at once (a full recompute): the app's partitions not named are
  // emptied; other apps' are untouched. Each partition is accepted or refused as by set(); the
  // first refusal is returned (every one is counted and logged).
  Status set_all(const std::string& app, std::map<std::string, Desired> partitions);
  // The switch is there (again): read it and reconcile. The link stays valid until detach().
  void attach(SwitchLink* link);
  void detach();

  // Holds batches while a caller states several partitions (one round of the app platform): set
  // and set_all record, and release() sends what they stated together, as one batch (instead of
  // the first change alone, the rest after its barrier). Nests.
  void hold();
  void release();

  const FlowOwnerStats& stats() const { return stats_; }
  // Changes stated so far (each partition that changed counts one), and how many of them the
  // switch has confirmed.
  uint64_t generation() const { return generation_; }
  uint64_t confirmed_generation() const { return confirmed_; }
  // Called after each completed batch (tests, benchmarks).
  std::function<void()> on_synced;
  // Called with each batch the switch confirmed (before on_synced).
  std::function<void(const BatchDone&)> on_batch;
  // Batches that replace state go to the switch as one atomic ONF bundle (OVS 2.4 and later).
  bool bundles = true;

  // What the owner believes the switch has (installed partitions merged) and what is wanted.
  Desired installed() const;
  Desired desired() const;
  // One app's desired state (its partitions merged).
  Desired desired(const std::string& app) const;
  // The app that owns an app id, or "" for none.
  std::string app_of(AppId id) const;
  // The flows the switch has (installed partitions) at (table, priority) with this cookie, each
  // with the partitions (namespaced, "l2/<network>") that state it: the trace's owner lookup
  // (docs/TRACE_DESIGN.md §6.2). Several when only the match tells them apart. Read-only.
  struct OwnedFlow {
    pipeline::FlowKey key;
    pipeline::FlowBody body;
    std::vector<std::string> partitions;
  };
  std::vector<OwnedFlow> find(uint8_t table, uint16_t priority, uint64_t cookie) const;

 private:
  Status check(const std::string& app, const std::string& partition, const Desired& d) const;
  void put(const std::string& name, Desired desired);  // namespaced name; claims updated
  Status refuse(const std::string& app, Status why);
  void read_switch();
  void reconcile(pipeline::FlowSet flows, pipeline::GroupSet groups);
  void sync();
  void send(std::set<std::string> partitions, const pipeline::FlowSet& want_f,
            const pipeline::FlowSet& have_f, const pipeline::GroupSet& want_g,
            const pipeline::GroupSet& have_g, bool reconciling);
  void failed(const std::string& why);

  const Clock& clock_;
  SwitchLink* link_ = nullptr;
  uint64_t epoch_ = 0;  // bumped by attach/detach: callbacks of an older link are ignored
  enum class State { kDetached, kReading, kSending, kIdle } state_ = State::kDetached;
  std::map<std::string, std::set<AppId>> apps_;  // name -> its cookie app ids
  std::map<AppId, std::string> id_owner_;
  // Partitions by namespaced name ("app/partition").
  std::map<std::string, Desired> desired_, installed_;
  // Which partitions state each flow key and group id (namespaced names): one app's only.
  std::map<pipeline::FlowKey, std::set<std::string>> flow_claims_;
  std::map<uint32_t, std::set<std::string>> group_claims_;
  std::set<std::string> dirty_;
  Clock::Monotonic connected_at_{};
  bool reconcile_pending_ = false;  // the first batch after attach: its time is the reconcile's
  std::chrono::milliseconds backoff_{0};
  FlowOwnerStats stats_;
  uint32_t bundle_id_ = 0;
  bool resync_scheduled_ = false;
  int held_ = 0;
  Clock::Monotonic batch_started_{};  // sync() or reconcile() began the batch being built
  uint64_t generation_ = 0, confirmed_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Wraps messages (encoded, any xid) in one atomic, ordered ONF bundle: OPEN, an ADD per
// message, COMMIT. The session gives each inner message its outer message's version and xid.
std::vector<std::vector<uint8_t>> bundled(uint32_t id, std::vector<std::vector<uint8_t>> messages);

}  // namespace vlcp::flows
