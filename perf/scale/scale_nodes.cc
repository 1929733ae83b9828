// scale_nodes: M simulated vlcpd nodes in one process on one control loop, each with what a real
// node holds of the cluster: its own ZooKeeper session, ObjectDB (the model's indices) and the
// apps' model view (apps/model_view.h, the L2 app's kinds), bound to the ports of the server it
// plays (perf/scale/layout.h) as OVS would report them. No OVS, no flows: a node is "ready" when
// its view holds every port bound on it (sync all: the whole model loaded; sync interest: the
// view says so, ModelView::ready_for). JSON lines on stdout:
//   node     per node once ready: ms from its start, mirror size, ports in its view
//   ready    all ready: p50/p99/max, process RSS, threads, CPU
//   probes   (--probes K) K ports created through a separate session, one at a time, in network
//            --probe-network: ms from the create call to each interested node's view reporting
//            it, p50/p99, and how many never did (this process's nodes only)
//   probe    per probe: its key, the create call's time and the commit's (t_us, commit_us:
//            CLOCK_REALTIME, µs) and the servers of its network
//   seen     per probe port a node's view first shows (key "probe..."): node, server, t_us
//            (CLOCK_REALTIME, µs): with several processes the driver matches them to the probes
//   stats    on SIGUSR1 and at exit (SIGTERM/SIGINT, with --hold): CPU, RSS, notifications
//
//   scale_nodes --zk HOST:PORT [--root /vlcp] [layout flags as scale_build] [--nodes 1]
//               [--first-server 0] [--sync all|interest] [--feed log|watch] [--start-rate 0]
//               [--start-interval-ms 0] [--start-delay-ms 0] [--probes 0] [--probe-network 0]
//               [--probe-hold-ms 0] [--probe-on-signal] [--hold] [--ready-timeout-s 600]
// --probe-on-signal: the probes start on SIGUSR2; --hold: run until SIGTERM (stats on SIGUSR1).
// --start-interval-ms (or 1000 / --start-rate) between node starts, the first after
// --start-delay-ms. --probe-hold-ms: a probe port lives at least this long before its delete (for
// nodes in other processes, which this one does not wait for). --nodes 0 --probes K: a process that
// only creates the probes.
#include <algorithm>
#include <csignal>
#include <optional>
#include <set>

#include "apps/l2/l2app.h"
#include "apps/model_view.h"
#include "db/store.h"
#include "perf/scale/sim.h"

using namespace vlcp;
using namespace vlcp::perf::scale;
using SteadyClock = std::chrono::steady_clock;

namespace {

volatile std::sig_atomic_t g_stop = 0, g_stats = 0, g_probe = 0;

// The interest-based view (issue 20), where this build's ModelView has it: made with a sync mode
// (the type of V::sync()), told its bound ports, asked whether they are ready.
template <class V>
std::unique_ptr<V> make_view(db::ObjectDb& db, typename V::After after, bool interest) {
  if constexpr (requires(V & v) { v.sync(); }) {
    using Sync = decltype(std::declval<V&>().sync());
    return std::make_unique<V>(db, std::move(after), apps::L2App::kinds(),
                               interest ? Sync::kInterest : Sync::kAll);
  } else {
    if (interest) die("--sync interest: this build's ModelView has no interest mode");
    return std::make_unique<V>(db, std::move(after), apps::L2App::kinds());
  }
}
template <class V>
void on_ready(V& view, std::function<void()> fn) {
  if constexpr (requires { view.on_ready.push_back(fn); }) view.on_ready.push_back(std::move(fn));
}
template <class V>
Json interest_stats(const V& view) {
  if constexpr (requires { view.interest_stats(); }) {
    auto i = view.interest_stats();
    return Json{{"networks_wanted", i.networks_wanted},
                {"networks_published", i.networks_published},
                {"ports_published", i.ports_published},
                {"keys_watched", i.keys_watched},
                {"prefixes_watched", i.prefixes_watched}};
  } else {
    return nullptr;
  }
}
template <class V>
bool want_ports(V& view, const std::set<std::string>& ids) {
  if constexpr (requires { view.want_ports(std::string("ovsdb"), ids); }) {
    view.want_ports(std::string("ovsdb"), ids);
    return true;
  } else {
    return false;
  }
}
template <class V>
std::optional<bool> view_ready_for(const V& view, const std::set<std::string>& ids) {
  if constexpr (requires { view.ready_for(ids); })
    return view.ready_for(ids);
  else
    return std::nullopt;
}

struct Node {
  int server = 0;
  Db db;
  std::unique_ptr<apps::ModelView> view;
  std::set<std::string> bound;      // key parts of the ports bound here
  std::set<std::string> iface_ids;  // the same as OVSDB names them
  SteadyClock::time_point started;
  std::optional<double> ready_ms;
  std::set<std::string> probes_seen;
};

// CLOCK_REALTIME in µs: comparable across the simulator's processes (and with ovs-ofctl's
// timestamps).
int64_t realtime_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

class Sim {
 public:
  Sim(Env& env, const Args& a, Layout l) : env_(env), a_(a), l_(l) {
    sync_ = a.str("sync", "all");
    if (sync_ != "all" && sync_ != "interest") die("--sync all|interest");
  }

  void start_node(int i) {
    auto& n = *nodes_[i];
    n.started = SteadyClock::now();
    n.db = open_db(env_.loop, a_);
    auto after = [loop = &env_.loop](std::chrono::milliseconds d, std::function<void()> fn) {
      loop->after(d, std::move(fn));
    };
    n.view = make_view<apps::ModelView>(*n.db.db, after, sync_ == "interest");
    std::set<std::string> ids;  // as OVSDB reports them (iface-ids)
    for (const auto& [net, on_net] : l_.ports_on(n.server))
      for (const auto& id : on_net) {
        ids.insert(id);
        n.bound.insert(db::escape_key_part(id));
      }
    n.iface_ids = ids;
    if (sync_ == "interest" && !want_ports(*n.view, ids))
      die("--sync interest: this build's ModelView has no want_ports");
    n.view->on_loaded.push_back([this, i] { check(i); });
    on_ready(*n.view, [this, i] { check(i); });
    n.view->subscribe([this, i](const apps::ModelChange& c) {
      check(i);
      if (c.kind == schema::Kind::kLogicalPort && c.key.rfind("probe", 0) == 0) seen(i, c.key);
    });
    n.view->start();
  }

  bool ready(const Node& n) const {
    // The view's own verdict where it has one (interest: every bound port published with its
    // network), the model loaded where not; and in both, every bound port in the view.
    if (auto r = view_ready_for(*n.view, n.iface_ids); r ? !*r : !n.view->loaded()) return false;
    for (const auto& p : n.bound)
      if (!n.view->logical_ports().count(p)) return false;
    return true;
  }
  void check(int i) {
    auto& n = *nodes_[i];
    if (n.ready_ms || !ready(n)) return;
    n.ready_ms = ms_since(n.started);
    ++ready_count_;
    emit(Json{{"event", "node"},
              {"node", i},
              {"server", n.server},
              {"ready_ms", *n.ready_ms},
              {"mirror", n.db.db->mirror_size()},
              {"ports", n.view->logical_ports().size()},
              {"bound", n.bound.size()},
              {"interest", interest_stats(*n.view)},
              {"follows", follow_stats(*n.db.store)}});
  }

  int run() {
    int m = a_.num("nodes", 1), first = a_.num("first-server", 0), rate = a_.num("start-rate", 0);
    for (int i = 0; i < m; ++i) {
      nodes_.push_back(std::make_unique<Node>());
      nodes_.back()->server = (first + i) % l_.server_count();
    }
    auto t0 = SteadyClock::now();
    int interval = a_.num("start-interval-ms", rate > 0 ? 1000 / rate : 0),
        delay = a_.num("start-delay-ms", 0);
    for (int i = 0; i < m; ++i) {
      if (interval > 0 || delay > 0)
        env_.loop.after(std::chrono::milliseconds(delay + i * interval), [this, i] { start_node(i); });
      else
        start_node(i);
    }
    // Nodes whose readiness no change reports (a view that loads nothing new) are checked now and then.
    std::function<void()> poll = [&] {
      for (size_t i = 0; i < nodes_.size(); ++i)
        if (nodes_[i]->view) check(static_cast<int>(i));
      if (ready_count_ < nodes_.size()) env_.loop.after(std::chrono::milliseconds(200), poll);
    };
    env_.loop.after(std::chrono::milliseconds(200), poll);
    bool all = env_.wait([&] { return ready_count_ == nodes_.size() || g_stop; },
                         std::chrono::seconds(a_.num("ready-timeout-s", 600)));
    std::vector<double> ready_ms;
    size_t mirror = 0;
    for (const auto& n : nodes_) {
      if (n->ready_ms) ready_ms.push_back(*n->ready_ms);
      if (n->db.db) mirror += n->db.db->mirror_size();
    }
    emit(Json{{"event", "ready"},
              {"nodes", m},
              {"ready", ready_ms.size()},
              {"complete", all},
              {"sync", sync_},
              {"feed", a_.str("feed", "log")},
              {"model_ports", l_.ports},
              {"wall_ms", ms_since(t0)},
              {"ready_ms_p50", pct(ready_ms, 0.5)},
              {"ready_ms_p99", pct(ready_ms, 0.99)},
              {"ready_ms_max", pct(ready_ms, 1.0)},
              {"mirror_per_node", m ? mirror / m : 0},
              {"rss_mb", proc_status("VmRSS") / 1024.0},
              {"threads", proc_status("Threads")},
              {"cpu_ms", cpu_ms()}});
    if (!all && !a_.num("hold", 0)) return 1;
    if (a_.num("probes", 0) > 0) {
      // (--probe-on-signal: after SIGUSR2, so the driver can read ZooKeeper's counters first)
      if (a_.num("probe-on-signal", 0))
        env_.wait([] { return g_probe || g_stop; }, std::chrono::hours(24), std::chrono::milliseconds(100));
      if (!g_stop) probes(a_.num("probes", 0), a_.num("probe-network", 0));
    }
    if (a_.num("hold", 0)) {
      while (!g_stop) {
        env_.wait([] { return g_stop || g_stats; }, std::chrono::hours(24), std::chrono::milliseconds(100));
        if (g_stats) {
          g_stats = 0;
          stats("stats");
        }
      }
      stats("exit");
    }
    return 0;
  }

 private:
  struct Probe {
    std::string key;
    SteadyClock::time_point t0;
    std::set<int> waiting;  // interested nodes that have not seen it yet
    std::vector<double> seen_ms;
  };

  void seen(int i, const std::string& key) {
    auto& n = *nodes_[i];
    if (!n.view->logical_ports().count(key) || !n.probes_seen.insert(key).second) return;
    emit(Json{{"event", "seen"}, {"key", key}, {"node", i}, {"server", n.server}, {"t_us", realtime_us()}});
    if (probe_ && key == probe_->key && probe_->waiting.erase(i))
      probe_->seen_ms.push_back(ms_since(probe_->t0));
  }

  // Nodes whose view should show a port of network `net`.
  std::set<int> interested(int net) const {
    std::set<int> out;
    auto servers = l_.servers_of(net);
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (sync_ == "all" || std::count(servers.begin(), servers.end(), nodes_[i]->server))
        out.insert(static_cast<int>(i));
    return out;
  }

  void probes(int count, int net) {
    Db api = open_db(env_.loop, a_);
    env_.wait([&] { return api.store->connected(); }, std::chrono::seconds(30));
    model::ViperFlow vf(*api.db);
    std::vector<double> seen, commit;
    size_t missed = 0, interested_total = 0;
    double cpu0 = cpu_ms();
    auto hold = std::chrono::milliseconds(a_.num("probe-hold-ms", 0));
    for (int k = 0; k < count; ++k) {
      std::string id = "probe" + std::to_string(k);
      int64_t t_us = realtime_us();
      probe_.emplace(Probe{db::escape_key_part(id), SteadyClock::now(), interested(net), {}});
      interested_total += probe_->waiting.size();
      auto r = call(env_, [&](model::Done done) {
        vf.create_logical_ports(Json::array({Json{{"id", id},
                                                  {"logicalnetwork", Layout::network_id(net)},
                                                  {"subnet", Layout::subnet_id(net)}}}),
                                done);
      });
      if (!r.ok()) die("probe create: " + r.status().to_string());
      commit.push_back(ms_since(probe_->t0));
      emit(Json{{"event", "probe"},
                {"key", probe_->key},
                {"t_us", t_us},
                {"commit_us", realtime_us()},
                {"network", net},
                {"servers", l_.servers_of(net)}});
      env_.wait([&] { return probe_->waiting.empty(); }, std::chrono::seconds(10));
      auto held = SteadyClock::now() - probe_->t0;
      if (held < hold)
        env_.wait([] { return false; }, std::chrono::duration_cast<std::chrono::milliseconds>(hold - held));
      missed += probe_->waiting.size();
      seen.insert(seen.end(), probe_->seen_ms.begin(), probe_->seen_ms.end());
      probe_.reset();
      r = call(env_, [&](model::Done done) {
        vf.delete_logical_ports(Json::array({Json{{"id", id}}}), done);
      });
      if (!r.ok()) die("probe delete: " + r.status().to_string());
      env_.wait([] { return false; }, std::chrono::milliseconds(100));  // the delete reaches every node
    }
    emit(Json{{"event", "probes"},
              {"probes", count},
              {"network", net},
              {"nodes", nodes_.size()},
              {"interested_per_probe", count ? interested_total / count : 0},
              {"seen", seen.size()},
              {"missed", missed},
              {"seen_ms_p50", pct(seen, 0.5)},
              {"seen_ms_p99", pct(seen, 0.99)},
              {"seen_ms_max", pct(seen, 1.0)},
              {"commit_ms_p50", pct(commit, 0.5)},
              {"cpu_ms_per_probe", (cpu_ms() - cpu0) / count}});
  }

  void stats(const char* event) {
    uint64_t notifications = 0;
    size_t mirror = 0;
    for (const auto& n : nodes_) {
      notifications += n->db.db->stats().notifications;
      mirror += n->db.db->mirror_size();
    }
    emit(Json{{"event", event},
              {"cpu_ms", cpu_ms()},
              {"rss_mb", proc_status("VmRSS") / 1024.0},
              {"threads", proc_status("Threads")},
              {"notifications", notifications},
              {"mirror", mirror}});
  }

  Env& env_;
  const Args& a_;
  Layout l_;
  std::string sync_;
  std::vector<std::unique_ptr<Node>> nodes_;
  size_t ready_count_ = 0;
  std::optional<Probe> probe_;
};

}  // namespace

int main(int argc, char** argv) {
  Args a(argc, argv);
  Layout l = layout_from(a);
  if (auto why = l.problem(); !why.empty()) die("scale_nodes: " + why);
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGUSR1, [](int) { g_stats = 1; });
  std::signal(SIGUSR2, [](int) { g_probe = 1; });
  Env env;
  Sim sim(env, a, l);
  int rc = sim.run();
  // Without closing a thousand sessions one by one (each waits for its threads): ZooKeeper
  // expires them, and the driver stops it next.
  std::fflush(stdout);
  std::_Exit(rc);
}
