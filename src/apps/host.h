// The app platform on a node: every registered flow app driven the same way. It follows the
// node's model view and each switch's view (from OVSDB), keeps one flow owner per switch (every
// app registered with it by name and cookie app ids), and once per loop turn recomputes what
// changed: for each app the partitions its changes named, or the whole switch when it asked.
// A switch is reconciled only once the model is loaded, its view is known and the model view is
// ready for every port bound on it (the interest model: their networks read whole); the model
// view is told which ports the switches bind (ModelView::want_ports). Counters per app
// (changes handled incrementally or by recompute, partitions recomputed, time spent) are kept
// here for every app alike.
#pragma once

#include <array>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "apps/app.h"
#include "flows/owner.h"

namespace vlcp::apps {

struct AppCounters {
  uint64_t incremental = 0;  // changes the app handled by naming partitions
  uint64_t recompute = 0;    // changes that made it recompute whole switches
  uint64_t partitions = 0;   // partitions recomputed
  double seconds = 0;        // time spent computing
};

// When a switch's view reached the platform (the bring-up stage timings): the OVSDB thread woke
// to the change and built its replica; the control thread took it from the ring (unset: unknown,
// the view's arrival is used).
struct ViewStamps {
  Clock::Monotonic seen{}, built{}, delivered{};
};

// A port's bring-up on one switch, stage by stage (seconds), from the OVSDB change that bound it
// (iface-id and a valid ofport) to the barrier that confirmed its flows. Stages, in order:
//   ovsdb     the OVSDB thread: change seen -> replica built (IDL, JSON snapshot, parse)
//   ring      replica built -> taken by the control thread
//   dispatch  taken -> the platform has the switch's view (event dispatch, switch_views)
//   queue     view -> the round starts (the scheduled turn)
//   compute   the round: every dirty partition of every app computed and stated to the owner
//   wait      round end -> the owner starts the batch (a batch in flight ahead of it)
//   diff      the owner's difference, encoding, handed to the switch connection
//   barrier   handed -> the barrier's answer
// total is seen -> barrier; ofport_wait, when OVSDB showed the iface-id before the ofport, the
// time between the two (the change that bound it is the second).
struct BindStages {
  std::string port;
  int64_t ofport = -1;
  std::vector<std::pair<const char*, double>> stages;  // in order, then total
  std::optional<double> ofport_wait;
  // The switch's PORT_STATUS for it came this long before OVSDB's change (negative: after).
  std::optional<double> port_status_lead;
  size_t messages = 0;  // in the batch that confirmed it
};

class AppHost {
 public:
  using After = std::function<void(std::chrono::milliseconds, std::function<void()>)>;
  // `apps` outlive the host; each registers with every switch's flow owner, and the model view
  // watches what each reads (construct the host before starting the view).
  AppHost(ModelView& model, std::vector<FlowApp*> apps, const Clock& clock, After after);
  ~AppHost();
  AppHost(const AppHost&) = delete;
  AppHost& operator=(const AppHost&) = delete;

  void start();  // follows the model view (start the view after)
  void set_system_id(const std::string& id);
  // A switch's ports as OVSDB reports them (replaces the previous view): each app follows what
  // changed (FlowApp::on_switch, SwitchContext::change).
  void update_switch(uint64_t dpid, SwitchView view, const ViewStamps& stamps = {});
  void remove_switch(uint64_t dpid);
  // Every bridge OVSDB has now (switch_views()): updated, and the ones gone removed.
  void update_switches(std::map<uint64_t, SwitchView> views, const ViewStamps& stamps = {});
  // The switch announced port `name` with `ofport` (PORT_STATUS): noted for the bring-up timings.
  void port_status(uint64_t dpid, const std::string& name, int64_t ofport);
  // The last port bring-ups on a switch, oldest first (at most kRecentBinds).
  static constexpr size_t kRecentBinds = 64;
  std::vector<BindStages> recent_binds(uint64_t dpid) const;
  // `done(true)` once the port named `name` (an OVS interface with an iface-id) is bound on a
  // switch and the flows of the round that bound it are confirmed by the switch — at once when it
  // already is. A port whose bind is never confirmed never answers: callers bound the wait and
  // cancel it (the container plug machine answers Docker and CNI only once the first packets of a
  // new endpoint meet its flows). Returns the id for cancel_bound_wait.
  // `done(false)` at once when no switch of bridge `bridge` is attached (nothing here can confirm
  // its flows; "" = any bridge). Ids are unique in the process (hosts are replaced on reload).
  uint64_t when_bound(const std::string& bridge, const std::string& name, std::function<void(bool)> done);
  void cancel_bound_wait(uint64_t id);
  size_t bound_waits() const { return bound_waits_.size(); }
  // `fn` runs (from the loop) once every change stated so far on switch `dpid` is confirmed by
  // its flow owner's barrier: at once when it is; when the switch is not attached, after its
  // reconcile. A switch never seen: never (at most kConfirmWaits per switch, the oldest dropped).
  static constexpr size_t kConfirmWaits = 64;
  void when_confirmed(uint64_t dpid, std::function<void()> fn);
  // What an app's own source of change (not the model view's kinds: the tracer's live sessions
  // in ObjectDB) dirties, on every switch, in the next round.
  void dirty(const FlowApp& app, const Dirty& d);
  // The switch's OpenFlow connection is up (reconcile) / down.
  void attach(uint64_t dpid, flows::SwitchLink* link);
  void detach(uint64_t dpid);

  const std::string& system_id() const { return system_id_; }
  // The switch as apps see it (null: no view known).
  std::optional<SwitchContext> context(uint64_t dpid) const;
  const flows::FlowOwner* flow_owner(uint64_t dpid) const;
  // Every switch that connected: dpid, bridge, its flow owner's figures.
  std::vector<std::tuple<uint64_t, std::string, flows::FlowOwnerStats>> flow_owners() const;
  const std::vector<FlowApp*>& apps() const { return apps_; }
  const AppCounters& counters(const FlowApp& app) const;
  uint64_t rounds() const { return rounds_; }
  const ModelView& model() const { return model_; }

  // A PACKET_IN for a control-thread handler (PacketInDecl, apps/registry.h) of the app owning
  // cookie app id `app_id`: the app's packet_in with the switch's view (a switch with no known
  // view, or an id no app owns, is not answered: false).
  bool packet_in(flows::AppId app_id, uint64_t dpid, ByteSpan packet_in, Buffer& answers);

  // ioprocessing/status: the model, each app's figures, each switch with its owner and apps.
  nlohmann::json status() const;
  // /metrics: every app's generic counters and its own figures, and each switch's owner.
  std::vector<AppMetric> metrics() const;
  // Runs after each round (tests).
  std::function<void()> on_round;
  // How a round is scheduled (default: the `after` timer with 0 ms); the daemon posts it.
  std::function<void(std::function<void()>)> post;

  // The bring-up stages' histogram (vlcp_bringup_stage_seconds): upper bounds, seconds.
  static constexpr std::array<double, 14> kStageBuckets{0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01,
                                                        0.02,   0.05,    0.1,    0.25,  0.5,   1,     5};

 private:
  struct PendingBind {
    std::string port;
    std::string iface_id;  // its logical port: a round covers the bind only once the model has it
    int64_t ofport = -1;
    ViewStamps stamps;
    Clock::Monotonic viewed{}, round_start{}, round_end{};
    std::optional<Clock::Monotonic> first_seen, port_status;
    bool in_round = false;
    uint64_t generation = 0;  // the owner's, after the round that computed it
  };
  struct Histogram {
    std::array<uint64_t, kStageBuckets.size() + 1> buckets{};
    double sum = 0;
    uint64_t count = 0;
  };
  struct Switch {
    SwitchView view;
    bool have_view = false;
    std::vector<PendingBind> binds;                          // waiting for their flows
    std::map<std::string, Clock::Monotonic> waiting_ofport;  // iface-id, no ofport yet: since
    std::map<std::string, Clock::Monotonic> port_status;     // PORT_STATUS seen (by name)
    std::map<std::string, int64_t> switch_ofport;            // PORT_STATUS's ofport, OVSDB not yet
    std::deque<BindStages> recent;
    std::unique_ptr<flows::FlowOwner> owner;
    flows::SwitchLink* link = nullptr;
    bool attached = false;       // reconciles only once the model and the view are known
    std::set<size_t> all_dirty;  // apps (by index) to recompute on this switch
    std::multimap<uint64_t, std::function<void()>> confirm_waits;  // when_confirmed's, by generation
  };
  Switch& switch_of(uint64_t dpid);
  SwitchContext context_of(uint64_t dpid, const Switch& sw) const;
  void on_change(const ModelChange& c);
  void apply(size_t app, const Dirty& d);  // what a change dirties, on every switch
  void all_dirty(size_t app);              // on every switch
  void maybe_attach(uint64_t dpid, Switch& sw);
  void want_ports();  // the iface-ids of every known switch's interfaces, to the model view
  void schedule();
  void round();
  void set_all(size_t app, uint64_t dpid, Switch& sw);
  void note_binds(Switch& sw, const SwitchChange& change, const ViewStamps& stamps);
  void fill_ofports(Switch& sw, SwitchView& view);
  void batch_done(uint64_t dpid, const flows::BatchDone& batch);
  void bound(Switch& sw, const PendingBind& b, Clock::Monotonic started, Clock::Monotonic handed,
             Clock::Monotonic confirmed, size_t messages);

  ModelView& model_;
  std::vector<FlowApp*> apps_;
  std::vector<AppCounters> counters_;
  std::vector<std::set<std::string>> dirty_;  // per app: partitions dirty on every switch
  const Clock& clock_;
  After after_;
  std::string system_id_;
  std::map<uint64_t, Switch> switches_;
  bool scheduled_ = false;
  uint64_t rounds_ = 0;
  std::map<std::string, Histogram> stages_;  // by stage name
  struct BoundWait {
    std::string name;
    std::function<void(bool)> done;
  };
  std::map<uint64_t, BoundWait> bound_waits_;  // when_bound's, by id
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vlcp::apps
