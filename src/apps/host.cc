#include "apps/host.h"

#include <cmath>
#include <cstdio>

#include "base/log.h"
#include "db/store.h"

namespace vlcp::apps {

using Json = nlohmann::json;

namespace {

class Timer {  // adds the time it lives to `into`
 public:
  explicit Timer(double& into) : into_(into), start_(std::chrono::steady_clock::now()) {}
  ~Timer() { into_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  double& into_;
  std::chrono::steady_clock::time_point start_;
};

// A logical port's interface with a valid ofport (a VM's port, bound).
bool bound_port(const SwitchPortInfo& p) {
  return !p.iface_id.empty() && p.ofport > 0 && p.ofport < 0xff00;
}
// An interface without an iface-id that OpenFlow can use: a tunnel or an uplink.
bool physical_port(const SwitchPortInfo& p) {
  return p.iface_id.empty() && p.ofport > 0 && p.ofport < 0xff00;
}

double seconds(Clock::Monotonic from, Clock::Monotonic to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

std::optional<std::set<std::string>> binding_networks(const ModelView& model, const SwitchContext& sw) {
  if (!sw.change || sw.change->bridge) return std::nullopt;
  std::set<std::string> nets;
  for (const PortChange& c : sw.change->ports)
    for (const auto* side : {&c.before, &c.after}) {
      if (!*side) continue;
      if (physical_port(**side)) return std::nullopt;
      if (!bound_port(**side)) continue;
      auto it = model.logical_ports().find(db::escape_key_part((*side)->iface_id));
      if (it != model.logical_ports().end() && !it->second.network.empty()) nets.insert(it->second.network);
    }
  return nets;
}

AppHost::AppHost(ModelView& model, std::vector<FlowApp*> apps, const Clock& clock, After after)
    : model_(model),
      apps_(std::move(apps)),
      counters_(apps_.size()),
      dirty_(apps_.size()),
      clock_(clock),
      after_(std::move(after)) {
  for (FlowApp* app : apps_) model_.watch(app->reads());
}

AppHost::~AppHost() {
  *alive_ = false;
}

void AppHost::start() {
  model_.subscribe([this, alive = alive_](const ModelChange& c) {
    if (*alive) on_change(c);
  });
  model_.on_loaded.push_back([this, alive = alive_] {
    if (!*alive) return;
    for (size_t a = 0; a < apps_.size(); ++a) all_dirty(a);
    schedule();
  });
  model_.on_ready.push_back([this, alive = alive_] {
    if (*alive) schedule();  // (a round attaches the switches the model is now ready for)
  });
  if (model_.loaded()) schedule();
}

const AppCounters& AppHost::counters(const FlowApp& app) const {
  for (size_t a = 0; a < apps_.size(); ++a)
    if (apps_[a] == &app) return counters_[a];
  static const AppCounters kNone;
  return kNone;
}

void AppHost::all_dirty(size_t app) {
  for (auto& [dpid, sw] : switches_) sw.all_dirty.insert(app);
}

void AppHost::on_change(const ModelChange& c) {
  for (size_t a = 0; a < apps_.size(); ++a) {
    if (!apps_[a]->reads().count(c.kind)) continue;
    Dirty d;
    {
      Timer t(counters_[a].seconds);
      d = apps_[a]->on_model(model_, c);
    }
    apply(a, d);
  }
  schedule();
}

void AppHost::apply(size_t a, const Dirty& d) {
  if (d.all) {
    ++counters_[a].recompute;
    all_dirty(a);
  } else if (!d.partitions.empty()) {
    ++counters_[a].incremental;
    dirty_[a].insert(d.partitions.begin(), d.partitions.end());
  }
}

void AppHost::dirty(const FlowApp& app, const Dirty& d) {
  for (size_t a = 0; a < apps_.size(); ++a)
    if (apps_[a] == &app) apply(a, d);
  schedule();
}

void AppHost::when_confirmed(uint64_t dpid, std::function<void()> fn) {
  auto it = switches_.find(dpid);
  if (it == switches_.end() || !it->second.owner) return;
  Switch& sw = it->second;
  const flows::FlowOwner& o = *sw.owner;
  if (sw.attached && o.confirmed_generation() >= o.generation()) {
    after_(std::chrono::milliseconds(0), [alive = std::weak_ptr<bool>(alive_), fn = std::move(fn)] {
      if (auto a = alive.lock(); a && *a) fn();
    });
    return;
  }
  // (Not attached: the next batch is the reconcile's, which confirms everything.)
  if (sw.confirm_waits.size() >= kConfirmWaits) sw.confirm_waits.erase(sw.confirm_waits.begin());
  sw.confirm_waits.emplace(o.generation(), std::move(fn));
}

void AppHost::set_system_id(const std::string& id) {
  if (id == system_id_) return;
  system_id_ = id;
  for (size_t a = 0; a < apps_.size(); ++a) {
    ++counters_[a].recompute;
    all_dirty(a);
  }
  schedule();
}

AppHost::Switch& AppHost::switch_of(uint64_t dpid) {
  Switch& sw = switches_[dpid];
  if (!sw.owner) {
    sw.owner = std::make_unique<flows::FlowOwner>(clock_);
    for (FlowApp* app : apps_) {
      Status st = sw.owner->add_app(app->name(), app->cookie_ids());
      if (!st.ok()) {  // (two apps claiming one cookie app id: a programming error, named)
        VLCP_LOG(kError, "apps") << "app " << app->name()
                                 << " cannot register with the flow owner of datapath " << dpid << ": "
                                 << st.message();
      }
    }
    sw.owner->on_batch = [this, dpid](const flows::BatchDone& b) { batch_done(dpid, b); };
  }
  return sw;
}

SwitchContext AppHost::context_of(uint64_t dpid, const Switch& sw) const {
  return SwitchContext{dpid, &sw.view, &system_id_};
}

std::optional<SwitchContext> AppHost::context(uint64_t dpid) const {
  auto it = switches_.find(dpid);
  if (it == switches_.end() || !it->second.have_view) return std::nullopt;
  return context_of(dpid, it->second);
}

void AppHost::update_switch(uint64_t dpid, SwitchView view, const ViewStamps& stamps) {
  Switch& sw = switch_of(dpid);
  fill_ofports(sw, view);
  if (sw.have_view && sw.view == view) return;
  std::optional<SwitchChange> change;
  if (sw.have_view) change = changed_ports(sw.view, view);
  sw.view = std::move(view);
  sw.have_view = true;
  if (change && sw.attached) note_binds(sw, *change, stamps);
  SwitchContext ctx = context_of(dpid, sw);
  ctx.change = change ? &*change : nullptr;
  for (size_t a = 0; a < apps_.size(); ++a) {
    Dirty d = apps_[a]->on_switch(model_, ctx);
    if (d.all) {
      ++counters_[a].recompute;
      sw.all_dirty.insert(a);
    } else if (!d.partitions.empty()) {
      ++counters_[a].incremental;
      dirty_[a].insert(d.partitions.begin(), d.partitions.end());
    }
  }
  want_ports();
  maybe_attach(dpid, sw);
  schedule();
}

void AppHost::want_ports() {
  std::set<std::string> ids;
  for (const auto& [dpid, sw] : switches_)
    if (sw.have_view)
      for (const SwitchPortInfo& p : sw.view.ports)
        if (!p.iface_id.empty()) ids.insert(p.iface_id);
  model_.want_ports("switches", std::move(ids));
}

void AppHost::remove_switch(uint64_t dpid) {
  auto it = switches_.find(dpid);
  if (it == switches_.end()) return;
  it->second.have_view = false;
  want_ports();
  schedule();  // (apps publish from the switches whose view is known: this one no longer is)
}

void AppHost::update_switches(std::map<uint64_t, SwitchView> views, const ViewStamps& stamps) {
  for (auto& [dpid, sw] : switches_)
    if (sw.have_view && !views.count(dpid)) remove_switch(dpid);
  for (auto& [dpid, view] : views) update_switch(dpid, std::move(view), stamps);
}

// The ports a change binds (an iface-id with a valid ofport, new or different): their bring-up
// is timed until the barrier that confirms the round computing them.
void AppHost::note_binds(Switch& sw, const SwitchChange& change, const ViewStamps& stamps) {
  Clock::Monotonic now = clock_.now();
  ViewStamps st = stamps;
  if (st.delivered == Clock::Monotonic{}) st.seen = st.built = st.delivered = now;
  for (const PortChange& c : change.ports) {
    if (!c.after) {
      sw.waiting_ofport.erase(c.before->name);
      sw.port_status.erase(c.before->name);
      continue;
    }
    const SwitchPortInfo& p = *c.after;
    if (!p.iface_id.empty() && !bound_port(p)) sw.waiting_ofport.emplace(p.name, st.seen);
    if (!bound_port(p) || (c.before && bound_port(*c.before) && c.before->iface_id == p.iface_id &&
                           c.before->ofport == p.ofport))
      continue;
    PendingBind b;
    b.port = p.name;
    b.iface_id = p.iface_id;
    b.ofport = p.ofport;
    b.stamps = st;
    b.viewed = now;
    if (auto w = sw.waiting_ofport.find(p.name); w != sw.waiting_ofport.end()) {
      b.first_seen = w->second;
      sw.waiting_ofport.erase(w);
    }
    if (auto ps = sw.port_status.find(p.name); ps != sw.port_status.end()) {
      b.port_status = ps->second;
      sw.port_status.erase(ps);
    }
    if (sw.binds.size() >= 4 * kRecentBinds) sw.binds.erase(sw.binds.begin());  // (bounded)
    sw.binds.push_back(std::move(b));
  }
}

// OVSDB shows a new interface's iface-id in one update and its ofport in a later one; the switch's
// PORT_STATUS(add) carries the ofport in between. A port OVSDB names with an iface-id but no
// ofport takes the switch's: the bind does not wait for OVSDB's second update (which then
// changes nothing). The switch speaks only for its own ports, by the name OVSDB gave them.
void AppHost::fill_ofports(Switch& sw, SwitchView& view) {
  if (sw.switch_ofport.empty()) return;
  for (SwitchPortInfo& p : view.ports) {
    auto it = sw.switch_ofport.find(p.name);
    if (it == sw.switch_ofport.end()) continue;
    if (p.ofport > 0 && p.ofport < 0xff00)
      sw.switch_ofport.erase(it);  // OVSDB caught up
    else if (!p.iface_id.empty())
      p.ofport = it->second;
  }
}

void AppHost::port_status(uint64_t dpid, const std::string& name, int64_t ofport) {
  auto it = switches_.find(dpid);
  if (it == switches_.end()) return;
  Switch& sw = it->second;
  if (ofport <= 0 || ofport >= 0xff00) {  // deleted (or not a port): forget what the switch said
    sw.switch_ofport.erase(name);
    sw.port_status.erase(name);
    return;
  }
  if (sw.port_status.size() >= 1024) sw.port_status.clear();  // (names OVSDB never binds: bounded)
  if (sw.switch_ofport.size() >= 1024) sw.switch_ofport.clear();
  sw.port_status.emplace(name, clock_.now());
  sw.switch_ofport[name] = ofport;
  if (!sw.have_view) return;
  for (const SwitchPortInfo& p : sw.view.ports)
    if (p.name == name && !p.iface_id.empty() && !bound_port(p)) {
      update_switch(dpid, sw.view);  // fill_ofports binds it
      return;
    }
}

// A batch the switch confirmed: the binds whose round it covers are up.
void AppHost::batch_done(uint64_t dpid, const flows::BatchDone& batch) {
  auto it = switches_.find(dpid);
  if (it == switches_.end()) return;
  Switch& sw = it->second;
  std::vector<std::function<void()>> confirmed;  // (run from the loop, as bound()'s waits)
  while (!sw.confirm_waits.empty() && sw.confirm_waits.begin()->first <= batch.generation) {
    confirmed.push_back(std::move(sw.confirm_waits.begin()->second));
    sw.confirm_waits.erase(sw.confirm_waits.begin());
  }
  if (!confirmed.empty())
    after_(std::chrono::milliseconds(0),
           [alive = std::weak_ptr<bool>(alive_), confirmed = std::move(confirmed)] {
             auto a = alive.lock();
             if (!a || !*a) return;
             for (const auto& fn : confirmed) fn();
           });
  std::vector<PendingBind> left;
  for (auto& b : sw.binds) {
    if (b.in_round && b.generation <= batch.generation)
      bound(sw, b, std::max(batch.started, b.round_end), batch.handed, batch.confirmed, batch.messages);
    else
      left.push_back(std::move(b));
  }
  sw.binds = std::move(left);
}

void AppHost::bound(Switch& sw, const PendingBind& b, Clock::Monotonic started, Clock::Monotonic handed,
                    Clock::Monotonic confirmed, size_t messages) {
  BindStages r;
  r.port = b.port;
  r.ofport = b.ofport;
  r.messages = messages;
  handed = std::max(handed, started);
  r.stages = {{"ovsdb", seconds(b.stamps.seen, b.stamps.built)},
              {"ring", seconds(b.stamps.built, b.stamps.delivered)},
              {"dispatch", seconds(b.stamps.delivered, b.viewed)},
              {"queue", seconds(b.viewed, b.round_start)},
              {"compute", seconds(b.round_start, b.round_end)},
              {"wait", seconds(b.round_end, started)},
              {"diff", seconds(started, handed)},
              {"barrier", seconds(handed, std::max(confirmed, handed))},
              {"total", seconds(b.stamps.seen, std::max(confirmed, handed))}};
  if (b.first_seen) r.ofport_wait = seconds(*b.first_seen, b.stamps.seen);
  if (b.port_status) r.port_status_lead = seconds(*b.port_status, b.viewed);
  auto observe = [this](const std::string& stage, double v) {
    Histogram& h = stages_[stage];
    size_t i = 0;
    while (i < kStageBuckets.size() && v > kStageBuckets[i]) ++i;
    ++h.buckets[i];
    h.sum += v;
    ++h.count;
  };
  for (const auto& [stage, v] : r.stages) observe(stage, v);
  if (r.ofport_wait) observe("ofport_wait", *r.ofport_wait);
  if (sw.recent.size() >= kRecentBinds) sw.recent.pop_front();
  sw.recent.push_back(std::move(r));
  // The waits for this port: taken out first (a waiter may wait again or cancel others).
  std::vector<std::function<void(bool)>> ready;
  for (auto it = bound_waits_.begin(); it != bound_waits_.end();) {
    if (it->second.name == b.port) {
      ready.push_back(std::move(it->second.done));
      it = bound_waits_.erase(it);
    } else {
      ++it;
    }
  }
  // Answered from the loop, not from inside the caller's walk over the switch's binds (nor a
  // round's over the switches): a waiter may wait again, or change what those walks hold.
  if (ready.empty()) return;
  after_(std::chrono::milliseconds(0),
         [alive = std::weak_ptr<bool>(alive_), ready = std::move(ready)]() mutable {
           auto a = alive.lock();
           if (!a || !*a) return;
           for (auto& done : ready) done(true);
         });
}

uint64_t AppHost::when_bound(const std::string& bridge, const std::string& name,
                             std::function<void(bool)> done) {
  static uint64_t next_id = 0;  // (control thread; unique across hosts, so a cancel never hits another's)
  uint64_t id = ++next_id;
  bool pending = false, bound_now = false, confirmable = bridge.empty();
  for (const auto& [dpid, sw] : switches_) {
    if (sw.attached && sw.have_view && sw.owner && sw.view.bridge == bridge) confirmable = true;
    for (const PendingBind& b : sw.binds) pending = pending || b.port == name;
    if (!sw.attached || !sw.have_view || !sw.owner) continue;
    for (const SwitchPortInfo& p : sw.view.ports)
      if (p.name == name && bound_port(p)) bound_now = true;
  }
  // Bound in a view with no bind pending: its bind was confirmed already (or it was bound before
  // the switch attached, and the attach's reconcile confirmed it).
  if (!confirmable) {
    done(false);
    return id;
  }
  if (bound_now && !pending) {
    done(true);
    return id;
  }
  bound_waits_.emplace(id, BoundWait{name, std::move(done)});
  return id;
}

void AppHost::cancel_bound_wait(uint64_t id) {
  bound_waits_.erase(id);
}

std::vector<BindStages> AppHost::recent_binds(uint64_t dpid) const {
  auto it = switches_.find(dpid);
  if (it == switches_.end()) return {};
  return {it->second.recent.begin(), it->second.recent.end()};
}

void AppHost::attach(uint64_t dpid, flows::SwitchLink* link) {
  Switch& sw = switch_of(dpid);
  // A new connection for the datapath (a takeover comes without a SwitchDown): the owner lets
  // go of the old link, whose callbacks may still be pending, before it gets the new one.
  if (sw.link && sw.owner) sw.owner->detach();
  sw.link = link;
  sw.attached = false;
  maybe_attach(dpid, sw);
}

void AppHost::set_all(size_t a, uint64_t dpid, Switch& sw) {
  std::map<std::string, flows::Desired> all;
  {
    Timer t(counters_[a].seconds);
    all = apps_[a]->compute(model_, context_of(dpid, sw));
  }
  counters_[a].partitions += all.size();
  (void)sw.owner->set_all(apps_[a]->name(), std::move(all));  // (refusals: counted, logged by the owner)
}

void AppHost::maybe_attach(uint64_t dpid, Switch& sw) {
  if (sw.attached || !sw.link || !sw.have_view || !model_.loaded()) return;
  // Every port bound on it known absent or in a network read whole: a reconcile never deletes
  // the flows of a port whose network is still loading.
  std::set<std::string> ids;
  for (const SwitchPortInfo& p : sw.view.ports)
    if (!p.iface_id.empty()) ids.insert(p.iface_id);
  if (!model_.ready_for(ids)) return;
  for (size_t a = 0; a < apps_.size(); ++a) set_all(a, dpid, sw);
  sw.all_dirty.clear();
  sw.attached = true;
  VLCP_LOG(kInfo, "apps") << "switch " << sw.view.bridge << " (dpid " << dpid << "): reconciling "
                          << sw.owner->desired().flows.size() << " flows of " << apps_.size() << " apps";
  sw.owner->attach(sw.link);
}

void AppHost::detach(uint64_t dpid) {
  auto it = switches_.find(dpid);
  if (it == switches_.end()) return;
  it->second.link = nullptr;
  it->second.attached = false;
  if (it->second.owner) it->second.owner->detach();
}

const flows::FlowOwner* AppHost::flow_owner(uint64_t dpid) const {
  auto it = switches_.find(dpid);
  return it == switches_.end() ? nullptr : it->second.owner.get();
}

std::vector<std::tuple<uint64_t, std::string, flows::FlowOwnerStats>> AppHost::flow_owners() const {
  std::vector<std::tuple<uint64_t, std::string, flows::FlowOwnerStats>> out;
  for (const auto& [dpid, sw] : switches_)  // (bridges that never connected: not ours)
    if (sw.owner && (sw.link || sw.owner->stats().reconciles))
      out.emplace_back(dpid, sw.view.bridge, sw.owner->stats());
  return out;
}

void AppHost::schedule() {
  if (scheduled_ || !model_.loaded()) return;
  scheduled_ = true;
  auto run = [this, alive = alive_] {
    if (!*alive) return;
    scheduled_ = false;
    round();
  };
  if (post)
    post(std::move(run));
  else
    after_(std::chrono::milliseconds(0), std::move(run));
}

// One round: every attached switch gets each app's dirty partitions (and the ones it always
// recomputes), or all of them where the app asked; switches not attached yet may attach now.
void AppHost::round() {
  ++rounds_;
  for (auto& [dpid, sw] : switches_) {
    if (!sw.attached) {
      maybe_attach(dpid, sw);
      continue;
    }
    Clock::Monotonic start = clock_.now();
    // Every app's changes to this switch go as one batch (not the first change alone and the
    // rest after its barrier).
    sw.owner->hold();
    SwitchContext ctx = context_of(dpid, sw);
    for (size_t a = 0; a < apps_.size(); ++a) {
      if (sw.all_dirty.count(a)) {
        set_all(a, dpid, sw);
        continue;
      }
      std::set<std::string> parts = dirty_[a];
      for (const auto& p : apps_[a]->always()) parts.insert(p);
      std::map<std::string, flows::Desired> computed;
      {
        Timer t(counters_[a].seconds);
        computed = apps_[a]->compute(model_, ctx, parts);
      }
      for (const auto& p : parts) {  // (a partition the app left out: it has nothing)
        auto it = computed.find(p);
        ++counters_[a].partitions;
        (void)sw.owner->set(apps_[a]->name(), p,
                            it == computed.end() ? flows::Desired{} : std::move(it->second));
      }
    }
    sw.all_dirty.clear();
    Clock::Monotonic end = clock_.now();
    bool timed = false;
    // A bind whose logical port the model does not have yet (OVSDB was faster than the model's
    // push) got no flow from this round: the round after the model's change covers it.
    for (auto& b : sw.binds)
      if (!b.in_round && model_.logical_ports().count(db::escape_key_part(b.iface_id))) {
        b.in_round = timed = true;
        b.round_start = start;
        b.round_end = end;
        b.generation = sw.owner->generation();
      }
    sw.owner->release();
    // Binds that changed no flow (or whose batch completed at once) are up now.
    if (timed && sw.owner->confirmed_generation() >= sw.owner->generation())
      batch_done(dpid, flows::BatchDone{sw.owner->generation(), end, end, end, 0});
  }
  for (auto& d : dirty_) d.clear();
  std::vector<SwitchContext> known;
  for (const auto& [dpid, sw] : switches_)
    if (sw.have_view) known.push_back(context_of(dpid, sw));
  for (FlowApp* app : apps_) app->after_round(known);
  if (on_round) on_round();
}

bool AppHost::packet_in(flows::AppId app_id, uint64_t dpid, ByteSpan packet_in, Buffer& answers) {
  auto ctx = context(dpid);
  if (!ctx) return false;
  for (FlowApp* app : apps_)
    if (app->cookie_ids().count(app_id)) {
      app->packet_in(app_id, *ctx, packet_in, answers);
      return true;
    }
  return false;
}

Json AppHost::status() const {
  Json out = Json::object();
  out["system_id"] = system_id_;
  out["model_loaded"] = model_.loaded();
  out["versions_kept"] = model_.versions_kept();
  if (model_.sync() == ModelSync::kInterest) {
    InterestStats st = model_.interest_stats();
    out["model_interest"] = {{"ports_bound", st.ports_bound},
                             {"networks_wanted", st.networks_wanted},
                             {"networks_lingering", st.networks_lingering},
                             {"networks_ready", st.networks_ready},
                             {"networks_published", st.networks_published},
                             {"ports_published", st.ports_published},
                             {"keys_watched", st.keys_watched},
                             {"prefixes_watched", st.prefixes_watched}};
  }
  out["model_sync"] = model_.sync() == ModelSync::kInterest ? "interest" : "all";
  out["rounds"] = rounds_;
  Json apps = Json::object();
  for (size_t a = 0; a < apps_.size(); ++a) {
    const AppCounters& c = counters_[a];
    apps[apps_[a]->name()] = {{"changes_incremental", c.incremental},
                              {"changes_recompute", c.recompute},
                              {"partitions_recomputed", c.partitions},
                              {"compute_seconds", c.seconds}};
    out.update(apps_[a]->status(model_));
  }
  out["apps"] = std::move(apps);
  Json sws = Json::array();
  for (const auto& [dpid, sw] : switches_) {
    const flows::FlowOwnerStats& s = sw.owner->stats();
    Json per_app = Json::object();  // each app's share of the switch (cookie app ids)
    for (const auto& [name, a] : s.apps)
      per_app[name] = {{"installed_flows", a.installed_flows},
                       {"installed_groups", a.installed_groups},
                       {"reconcile_found_flows", a.reconcile_found_flows},
                       {"refused", a.refused}};
    Json j = {{"dpid", dpid},
              {"bridge", sw.view.bridge},
              {"connected", sw.link != nullptr},
              {"attached", sw.attached},
              {"synced", s.synced},
              {"installed_flows", s.installed_flows},
              {"installed_groups", s.installed_groups},
              {"flow_mods", s.flow_mods},
              {"group_mods", s.group_mods},
              {"bundles", s.bundles},
              {"reconciles", s.reconciles},
              {"last_reconcile_seconds", s.last_reconcile_seconds},
              {"last_reconcile_flow_mods", s.last_reconcile_flow_mods},
              {"errors", s.errors},
              {"refused", s.refused},
              {"reconcile_unowned_flows", s.reconcile_unowned_flows},
              {"apps", std::move(per_app)}};
    if (!sw.recent.empty()) {  // the bring-up stages (ms), the last port bound and the ones before
      auto ms = [](double s) { return std::round(s * 1e6) / 1e3; };
      auto bind_json = [&](const BindStages& b) {
        Json stages = Json::object();
        for (const auto& [stage, v] : b.stages) stages[stage] = ms(v);
        Json out = {{"port", b.port}, {"ofport", b.ofport}, {"messages", b.messages}, {"stages_ms", stages}};
        if (b.ofport_wait) out["ofport_wait_ms"] = ms(*b.ofport_wait);
        if (b.port_status_lead) out["port_status_lead_ms"] = ms(*b.port_status_lead);
        return out;
      };
      j["last_bind"] = bind_json(sw.recent.back());
      Json recent = Json::array();
      for (const auto& b : sw.recent) recent.push_back(bind_json(b));
      j["recent_binds"] = std::move(recent);
    }
    SwitchContext ctx = context_of(dpid, sw);
    for (FlowApp* app : apps_) j.update(app->switch_status(model_, ctx));
    sws.push_back(std::move(j));
  }
  out["switches"] = std::move(sws);
  return out;
}

std::vector<AppMetric> AppHost::metrics() const {
  std::vector<AppMetric> v;
  for (size_t a = 0; a < apps_.size(); ++a) {
    const AppCounters& c = counters_[a];
    std::vector<std::pair<std::string, std::string>> app = {{"app", apps_[a]->name()}};
    auto with = [&](const char* how) {
      auto l = app;
      l.emplace_back("how", how);
      return l;
    };
    v.push_back({"vlcp_app_changes_total",
                 "Model and switch changes an app handled, incrementally or by recompute.",
                 with("incremental"), static_cast<double>(c.incremental)});
    v.push_back({"vlcp_app_changes_total",
                 "Model and switch changes an app handled, incrementally or by recompute.", with("recompute"),
                 static_cast<double>(c.recompute)});
    v.push_back({"vlcp_app_partitions_recomputed_total", "Partitions an app recomputed (all switches).", app,
                 static_cast<double>(c.partitions)});
    v.push_back({"vlcp_app_compute_seconds_total", "Time an app spent computing flows and following changes.",
                 app, c.seconds});
    for (auto& m : apps_[a]->metrics()) v.push_back(std::move(m));
  }
  // The bring-up stages as a Prometheus histogram's series (_bucket with le, cumulative; _sum;
  // _count).
  for (const auto& [stage, h] : stages_) {
    static const char* kHelp = "A port's bring-up, stage by stage: OVSDB change to flows confirmed.";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.buckets.size(); ++i) {
      cumulative += h.buckets[i];
      char le[32];
      if (i < kStageBuckets.size())
        std::snprintf(le, sizeof le, "%g", kStageBuckets[i]);
      else
        std::snprintf(le, sizeof le, "+Inf");
      v.push_back({"vlcp_bringup_stage_seconds_bucket",
                   kHelp,
                   {{"stage", stage}, {"le", le}},
                   static_cast<double>(cumulative)});
    }
    v.push_back({"vlcp_bringup_stage_seconds_sum", kHelp, {{"stage", stage}}, h.sum});
    v.push_back(
        {"vlcp_bringup_stage_seconds_count", kHelp, {{"stage", stage}}, static_cast<double>(h.count)});
  }
  v.push_back({"vlcp_app_rounds_total",
               "Coalesced rounds of recomputation (at most one per loop turn).",
               {},
               static_cast<double>(rounds_)});
  for (const auto& [dpid, bridge, st] : flow_owners()) {
    // The datapath id as vlcp_switch_connected spells it (16 hex digits): the two join on dpid.
    char hex[20];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(dpid));
    std::vector<std::pair<std::string, std::string>> labels{{"dpid", hex}, {"bridge", bridge}};
    for (auto [name, help, value] : std::initializer_list<std::tuple<const char*, const char*, double>>{
             {"vlcp_flow_owner_flows", "Flows the flow owner keeps on the switch.",
              static_cast<double>(st.installed_flows)},
             {"vlcp_flow_owner_groups", "Groups the flow owner keeps on the switch.",
              static_cast<double>(st.installed_groups)},
             {"vlcp_flow_owner_flow_mods_total", "FLOW_MODs the flow owner sent.",
              static_cast<double>(st.flow_mods)},
             {"vlcp_flow_owner_group_mods_total", "GROUP_MODs the flow owner sent.",
              static_cast<double>(st.group_mods)},
             {"vlcp_flow_owner_reconciles_total",
              "Reconciliations against the switch's tables (connects, resyncs).",
              static_cast<double>(st.reconciles)},
             {"vlcp_flow_owner_last_reconcile_seconds", "Connect to in-sync time of the last reconciliation.",
              st.last_reconcile_seconds},
             {"vlcp_flow_owner_last_reconcile_flow_mods", "FLOW_MODs the last reconciliation needed.",
              static_cast<double>(st.last_reconcile_flow_mods)},
             {"vlcp_flow_owner_bundles_total", "Batches sent as one atomic ONF bundle (state replaced).",
              static_cast<double>(st.bundles)},
             {"vlcp_flow_owner_batch_errors_total",
              "Errors the switch reported for the flow owner's batches.", static_cast<double>(st.errors)},
             {"vlcp_flow_owner_refused_total", "Partitions refused (a clash between apps, a foreign cookie).",
              static_cast<double>(st.refused)},
             {"vlcp_flow_owner_in_sync", "1 when the switch holds every desired flow.",
              st.synced ? 1.0 : 0.0}})
      v.push_back({name, help, labels, value});
    for (const auto& [app, a] : st.apps) {
      auto l = labels;
      l.emplace_back("app", app);
      v.push_back({"vlcp_app_flows_installed", "Flows on the switch attributed to an app (by cookie).", l,
                   static_cast<double>(a.installed_flows)});
    }
  }
  return v;
}

}  // namespace vlcp::apps
