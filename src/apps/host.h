// The app platform on a node: every registered flow app driven the same way. It follows the
// node's model view and each switch's view (from OVSDB), keeps one flow owner per switch (every
// app registered with it by name and cookie app ids), and once per loop turn recomputes what
// changed: for each app the partitions its changes named, or the whole switch when it asked.
// A switch is reconciled only once the model is loaded and its view is known. Counters per app
// (changes handled incrementally or by recompute, partitions recomputed, time spent) are kept
// here for every app alike.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
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
  // A switch's ports as OVSDB reports them (replaces the previous view).
  void update_switch(uint64_t dpid, SwitchView view);
  void remove_switch(uint64_t dpid);
  // Every bridge OVSDB has now (switch_views()): updated, and the ones gone removed.
  void update_switches(std::map<uint64_t, SwitchView> views);
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

 private:
  struct Switch {
    SwitchView view;
    bool have_view = false;
    std::unique_ptr<flows::FlowOwner> owner;
    flows::SwitchLink* link = nullptr;
    bool attached = false;       // reconciles only once the model and the view are known
    std::set<size_t> all_dirty;  // apps (by index) to recompute on this switch
  };
  Switch& switch_of(uint64_t dpid);
  SwitchContext context_of(uint64_t dpid, const Switch& sw) const;
  void on_change(const ModelChange& c);
  void all_dirty(size_t app);  // on every switch
  void maybe_attach(uint64_t dpid, Switch& sw);
  void schedule();
  void round();
  void set_all(size_t app, uint64_t dpid, Switch& sw);

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
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vlcp::apps
