// One installer per switch: apps state the flows and groups they want, by partition; the
// installer keeps what the switch has and sends only the difference — groups added or changed,
// then flows added or changed, then flows deleted, then groups deleted — followed by a barrier
// that confirms the batch. On (re)connection it reads the switch's flows and groups and
// reconciles against them instead of flushing: a switch that already has what is wanted gets
// no FLOW_MOD at all, and traffic never sees an empty table. Changes that arrive while a batch
// is in flight are merged into the next one. A batch the switch refused part of (errors before
// the barrier) makes the installer read the switch again and reconcile, with backoff.
//
// A batch that deletes and adds (state replaced) goes as one atomic ONF bundle.
//
// Flows whose cookie carries kCookieDynamic (learned by OVS's learn action or by the controller)
// are not the installer's: reconciling neither deletes nor counts them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "apps/l2.h"
#include "base/clock.h"
#include "base/result.h"

namespace vlcp::apps {

// What the installer needs of a switch connection (implemented over the switch manager).
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

struct InstallerStats {
  uint64_t flow_mods = 0, group_mods = 0, batches = 0, reconciles = 0, errors = 0, resyncs = 0, bundles = 0;
  double last_reconcile_seconds = 0;  // connect -> switch matches the desired state
  uint64_t last_reconcile_flow_mods = 0;
  size_t installed_flows = 0, installed_groups = 0;
  bool synced = false;  // the switch has everything desired (no batch pending or in flight)
};

class Installer {
 public:
  explicit Installer(const Clock& clock);
  ~Installer();

  // A partition's desired flows and groups (replacing what it wanted before).
  void set(const std::string& partition, Desired desired);
  // Every partition at once: those not named are emptied (a full recompute).
  void set_all(std::map<std::string, Desired> partitions);
  // The switch is there (again): read it and reconcile. The link stays valid until detach().
  void attach(SwitchLink* link);
  void detach();

  const InstallerStats& stats() const { return stats_; }
  // Called after each completed batch (tests, benchmarks).
  std::function<void()> on_synced;
  // Batches that replace state go to the switch as one atomic ONF bundle (OVS 2.4 and later).
  bool bundles = true;

  // What the installer believes the switch has (installed partitions merged).
  Desired installed() const;
  Desired desired() const;

 private:
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
  std::map<std::string, Desired> desired_, installed_;
  std::set<std::string> dirty_;
  Clock::Monotonic connected_at_{};
  bool reconcile_pending_ = false;  // the first batch after attach: its time is the reconcile's
  std::chrono::milliseconds backoff_{0};
  InstallerStats stats_;
  uint32_t bundle_id_ = 0;
  bool resync_scheduled_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Wraps messages (encoded, any xid) in one atomic, ordered ONF bundle: OPEN, an ADD per
// message, COMMIT. The session gives each inner message its outer message's version and xid.
std::vector<std::vector<uint8_t>> bundled(uint32_t id, std::vector<std::vector<uint8_t>> messages);

}  // namespace vlcp::apps
