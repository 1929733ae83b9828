// vlcpd's modules (see modules.h).
#include "daemon/modules.h"

#include "api/introspect.h"
#include "api/manager_api.h"
#include "api/objectdb_api.h"
#include "api/switch_api.h"
#include "api/viperflow_api.h"
#include "base/log.h"
#include "db/settings.h"
#include "model/viperflow.h"
#include "ofp/errors.h"
#include "trace/service.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>

namespace vlcp::daemon {

namespace {

class SchedModule final : public io::Module {
 public:
  explicit SchedModule(Runtime& rt) : rt_(rt) {}
  std::string name() const override { return "sched"; }
  bool unloadable() const override { return false; }
  Status init() override {
    auto& in = rt_.placement_in;
    VLCP_ASSIGN_OR_RETURN(in.allowed, sched::process_affinity());
    in.isolated = sched::isolated_cpus();
    in.smt_cores = sched::smt_cores();  // workers on separate physical cores while there are any
    if (!rt_.settings.sched.cores.empty()) in.configured = *sched::parse_cpu_list(rt_.settings.sched.cores);
    in.workers = static_cast<unsigned>(rt_.settings.sched.workers);
    in.io_threads = rt_.settings.openflow.iothreads;
    in.share_io_core = rt_.settings.sched.share_io_core;
    std::lock_guard<std::mutex> lock(rt_.placement_mu);
    rt_.placement = sched::plan_placement(in);
    for (auto& note : rt_.placement.notes) VLCP_LOG(kInfo, "sched") << note;
    return {};
  }
  Status start() override {
    if (rt_.placement.worker_cpus.empty() || rt_.lcores) return {};
    VLCP_ASSIGN_OR_RETURN(rt_.lcores, sched::Lcores::start(rt_.settings.sched, rt_.placement));
    return {};
  }
  void stop() override { rt_.lcores.reset(); }

 private:
  Runtime& rt_;
};

// Packet-in handlers by app (switch/packet_in.h): the fallback module.openflowserver.packetin
// selects (the hub), and every running app's declared handlers — on the workers its own pure
// function, on the control thread its FlowApp::packet_in through the host (once ioprocessing runs).
Result<std::shared_ptr<const sw::PacketInTable>> packet_in_table(Runtime& rt) {
  auto table = sw::make_packet_in_table(rt.settings.openflow);
  for (const auto& app : rt.settings.apps) {
    if (!app.spec) continue;
    for (auto& h : app.spec->packet_ins()) {
      sw::PacketInFn fn = std::move(h.worker);
      if (!h.on_workers)
        fn = [&rt, id = h.app_id](uint64_t dpid, ByteSpan message, Buffer& answers) {
          if (rt.host) rt.host->packet_in(id, dpid, message, answers);  // (else ioprocessing is not running)
        };
      VLCP_RETURN_IF_ERROR(table->add(
          h.app_id,
          {h.name, h.on_workers ? sw::PacketInSide::kWorkers : sw::PacketInSide::kControl, std::move(fn)}));
    }
  }
  return std::shared_ptr<const sw::PacketInTable>(std::move(table));
}

class OpenflowModule final : public io::Module {
 public:
  explicit OpenflowModule(Runtime& rt) : rt_(rt) {}
  std::string name() const override { return "openflowserver"; }
  std::vector<std::string> dependencies() const override { return {"sched"}; }
  Status init() override { return {}; }
  Status start() override {
    VLCP_ASSIGN_OR_RETURN(auto packet_ins, packet_in_table(rt_));
    rt_.switches = std::make_unique<sw::SwitchManager>(rt_.loop, rt_.settings.openflow, &rt_.counters,
                                                       std::move(packet_ins));
    {
      // Where the I/O threads run and how idle workers wait, from the plan (sched/placement.h).
      std::lock_guard<std::mutex> lock(rt_.placement_mu);
      rt_.switches->set_threads(rt_.placement.io_cpus, sched::poll_config(rt_.settings.sched, rt_.placement));
    }
    return rt_.switches->start(rt_.lcores.get());
  }
  void stop() override { rt_.switches.reset(); }

 private:
  Runtime& rt_;
};

class OvsdbModule final : public io::Module {
 public:
  explicit OvsdbModule(Runtime& rt) : rt_(rt) {}
  std::string name() const override { return "ovsdbmanager"; }
  std::vector<std::string> dependencies() const override { return {"sched"}; }
  Status init() override { return {}; }
  Status start() override {
    rt_.ovsdb = std::make_unique<ovsdb::OvsdbClient>(rt_.loop, rt_.settings.ovsdb);
    replan_ =
        rt_.loop.subscribe<ovsdb::OvsdbUpdated>([this](const ovsdb::OvsdbUpdated& u) { replan(*u.replica); });
    return rt_.ovsdb->start();
  }
  void stop() override {
    replan_.reset();
    rt_.ovsdb.reset();
  }

 private:
  // OVS-DPDK's PMD and lcore masks changed: a new plan, and the workers move to it.
  void replan(const ovsdb::Replica& replica) {
    sched::DatapathCpus dp = replica.datapath_cpus();
    auto& in = rt_.placement_in;
    if (dp.dpdk_initialized == in.datapath.dpdk_initialized && dp.pmd_cpus == in.datapath.pmd_cpus &&
        dp.lcore_cpus == in.datapath.lcore_cpus)
      return;
    in.datapath = dp;
    sched::Placement next = sched::plan_placement(in);
    for (auto& note : next.notes) VLCP_LOG(kInfo, "sched") << "re-plan: " << note;
    // The EAL's worker lcores are fixed at start: a new plan moves them, never adds any.
    std::vector<int> cpus = next.worker_cpus;
    for (size_t w = cpus.size(); rt_.lcores && w < rt_.lcores->workers(); ++w) {
      VLCP_LOG(kWarn, "sched") << "worker " << w
                               << " has no core outside the PMD set; it shares control cores";
      if (!next.control_cpus.empty()) cpus.push_back(*next.control_cpus.begin());
    }
    if (rt_.switches) rt_.switches->repin_workers(cpus);
    std::lock_guard<std::mutex> lock(rt_.placement_mu);
    rt_.placement = next;
  }
  Runtime& rt_;
  io::Subscription replan_;
};

class MetricsModule final : public io::Module {
 public:
  explicit MetricsModule(Runtime& rt) : rt_(rt) {}
  std::string name() const override { return "metrics"; }
  // It reads their counters from the exporter's thread: it must stop before they go.
  std::vector<std::string> dependencies() const override { return {"openflowserver", "ovsdbmanager"}; }
  Status init() override { return {}; }
  Status start() override {
    api::MetricSources sources;
    sources.openflow = &rt_.counters;
    sources.switches = rt_.switches.get();
    sources.loop = &rt_.loop;
    sources.placement = [rt = &rt_] { return rt->current_placement(); };
    if (rt_.ovsdb) {
      sources.ovsdb = [c = rt_.ovsdb.get()] { return c->metrics(); };
      sources.managed_bridges = [c = rt_.ovsdb.get()] { return c->managed_bridges(); };
    }
    sources.board = &rt_.board;
    VLCP_ASSIGN_OR_RETURN(rt_.metrics, api::Metrics::start(rt_.settings.metrics, sources));
    if (rt_.metrics->port()) {
      VLCP_LOG(kInfo, "api") << "metrics on port " << rt_.metrics->port();
    }
    publish();
    return {};
  }
  void stop() override {
    if (timer_) rt_.loop.cancel(timer_);
    timer_ = 0;
    rt_.metrics.reset();
  }

 private:
  // Every second, the control thread's counters go to the board the exporter reads.
  void publish() {
    std::vector<api::BoardValue> v;
    if (auto* db = rt_.objectdb.get()) {
      const db::ObjectDbStats& s = db->stats();
      for (auto [name, help, value] : std::initializer_list<std::tuple<const char*, const char*, uint64_t>>{
               {"vlcp_objectdb_transactions_total", "ObjectDB transactions committed.", s.transactions},
               {"vlcp_objectdb_conflicts_total",
                "ObjectDB commit attempts that met a conflict (and retried).", s.conflicts},
               {"vlcp_objectdb_aborted_total", "ObjectDB transactions their body refused.", s.aborted},
               {"vlcp_objectdb_failed_total",
                "ObjectDB transactions that failed (store errors, retries exhausted).", s.failed},
               {"vlcp_objectdb_walks_total", "ObjectDB walks.", s.walks},
               {"vlcp_objectdb_stale_walks_total",
                "Walks answered from this node's mirror (store unreachable).", s.stale_walks},
               {"vlcp_objectdb_notifications_total", "Key updates delivered to watches.", s.notifications},
               {"vlcp_objectdb_restores_total", "Times the change feed was lost and watches re-read.",
                s.restores},
               {"vlcp_objectdb_caller_exceptions_total",
                "Transaction bodies, walkers and watch callbacks that threw on stored data (answered "
                "as internal errors).",
                s.caller_exceptions}})
        v.push_back({name, help, {}, static_cast<double>(value)});
      v.push_back(
          {"vlcp_objectdb_mirrored_keys",
           "Keys this node mirrors (what its watches hold: with interest-based sync, what its ports need).",
           {},
           static_cast<double>(db->mirror_size())});
      if (auto* zk = dynamic_cast<db::ZkStore*>(rt_.store.get()); zk && zk->follows()) {
        db::ZkFollowStats f = zk->follow_stats();
        v.push_back({"vlcp_zookeeper_followed_keys",
                     "Keys this node holds a ZooKeeper watch on.",
                     {},
                     static_cast<double>(f.keys)});
        v.push_back({"vlcp_zookeeper_followed_parents",
                     "Parent nodes whose children this node watches (its prefix watches).",
                     {},
                     static_cast<double>(f.parents)});
        v.push_back({"vlcp_zookeeper_watch_events_total",
                     "ZooKeeper watch notifications this node received.",
                     {},
                     static_cast<double>(f.events)});
      }
      v.push_back({"vlcp_objectdb_store_connected",
                   "1 when the store is reachable.",
                   {{"store", rt_.store->describe()}},
                   rt_.store->connected() ? 1.0 : 0.0});
    }
    for (const auto& [key, n] : rt_.api_counters.requests)
      v.push_back({"vlcp_api_requests_total",
                   "WebAPI requests answered, by module and HTTP status.",
                   {{"module", key.first}, {"code", std::to_string(key.second)}},
                   static_cast<double>(n)});
    for (const auto& [module, secs] : rt_.api_counters.seconds)
      v.push_back({"vlcp_api_request_seconds_total",
                   "Time spent answering WebAPI requests, by module.",
                   {{"module", module}},
                   secs});
    v.push_back({"vlcp_api_requests_in_flight",
                 "WebAPI requests being answered.",
                 {},
                 static_cast<double>(rt_.api_counters.in_flight)});
    for (const auto& [module, source] : rt_.board_sources)
      if (rt_.modules.running(module))
        for (auto& b : source()) v.push_back(std::move(b));
    if (auto* host = rt_.host.get())  // every app's figures (declared beside it) and each flow owner's
      for (auto& m : host->metrics())
        v.push_back({std::move(m.name), std::move(m.help), std::move(m.labels), m.value});
    rt_.board.publish(std::move(v));
    timer_ = rt_.loop.after(std::chrono::seconds(1), [this] { publish(); });
  }
  Runtime& rt_;
  io::TimerId timer_ = 0;
};

class ObjectDbModule final : public io::Module {
 public:
  explicit ObjectDbModule(Runtime& rt) : rt_(rt) {}
  std::string name() const override { return "objectdb"; }
  Status init() override { return {}; }
  Status start() override {
    VLCP_ASSIGN_OR_RETURN(rt_.store, db::open_store(rt_.loop, rt_.settings.db));
    rt_.objectdb = std::make_shared<db::ObjectDb>(rt_.loop, *rt_.store);
    model::declare_indices(*rt_.objectdb);
    VLCP_LOG(kInfo, "db") << "ObjectDB on " << rt_.store->describe();
    return {};
  }
  void stop() override {
    rt_.objectdb.reset();
    rt_.store.reset();
  }

 private:
  Runtime& rt_;
};

class HttpModule final : public io::Module {
 public:
  explicit HttpModule(Runtime& rt) : rt_(rt) {}
  std::string name() const override { return "httpserver"; }
  Status init() override { return {}; }
  Status start() override {
    VLCP_ASSIGN_OR_RETURN(
        rt_.http, api::HttpServer::start(rt_.loop.context(), rt_.settings.http,
                                         [rt = &rt_](const api::HttpRequest& r, api::HttpResponder respond) {
                                           handle_request(*rt, r, std::move(respond));
                                         }));
    return {};
  }
  void stop() override { rt_.http.reset(); }

 private:
  Runtime& rt_;
};

// The installer's view of one switch, over the switch manager.
class ManagedLink final : public flows::SwitchLink {
 public:
  ManagedLink(Runtime& rt, uint64_t dpid) : rt_(rt), dpid_(dpid) {}
  void send_batch(std::vector<std::vector<uint8_t>> messages, std::function<void(Outcome)> done) override {
    if (!rt_.switches) return done(Outcome{});
    for (auto& m : messages)
      if (!rt_.switches->send(dpid_, std::move(m)).ok()) return done(Outcome{});
    Status st = rt_.switches->barrier(dpid_, [done](const sw::BatchResult& r) {
      Outcome o;
      o.completed = r.completed;
      for (const auto& [xid, e] : r.errors) o.errors.push_back(ofp::error_name(e));
      done(std::move(o));
    });
    if (!st.ok()) done(Outcome{});
  }
  void request(std::vector<uint8_t> message,
               std::function<void(Result<std::vector<uint8_t>>)> done) override {
    if (!rt_.switches) return done(make_error(Errc::kUnavailable, "no switch manager"));
    Status st = rt_.switches->request(dpid_, std::move(message), [done](Result<sw::Reply> r) {
      if (!r.ok()) return done(r.error());
      if (r->error)
        return done(make_error(Errc::kInternal, "the switch answered " + ofp::error_name(*r->error)));
      done(std::move(r->body));
    });
    if (!st.ok()) done(st);
  }
  void after(std::chrono::milliseconds delay, std::function<void()> fn) override {
    rt_.loop.after(delay, std::move(fn));
  }

 private:
  Runtime& rt_;
  uint64_t dpid_;
};

// The flow apps (VLCP's ioprocessing, l2switch, vxlancast, ...: apps/registry.h): each switch's
// flows from the network model.
class IoProcessingModule final : public io::Module {
 public:
  explicit IoProcessingModule(Runtime& rt) : rt_(rt) {}
  std::string name() const override { return "ioprocessing"; }
  std::vector<std::string> dependencies() const override {
    return {"openflowserver", "ovsdbmanager", "objectdb"};
  }
  Status init() override { return {}; }
  Status start() override {
    auto after = [loop = &rt_.loop](std::chrono::milliseconds d, std::function<void()> fn) {
      loop->after(d, std::move(fn));
    };
    // Every app the pipeline runs (apps/registry.h), on one model view that watches what they
    // read (the host adds their kinds): by interest unless configured otherwise or an app serves
    // every network.
    apps::ModelSync sync = rt_.settings.modelview.sync;
    for (const auto& app : rt_.settings.apps)
      if (app.spec && app.spec->whole_model()) sync = apps::ModelSync::kAll;
    rt_.model = std::make_unique<apps::ModelView>(*rt_.objectdb, after, std::set<schema::Kind>{}, sync);
    rt_.model->set_linger(rt_.settings.modelview.linger);
    apps::AppEnv env{*rt_.model, *rt_.objectdb, rt_.settings.pipeline.tables, after,
                     [rt = &rt_] { return rt->host.get(); }};
    std::vector<apps::FlowApp*> running;
    for (const auto& app : rt_.settings.apps)
      if (app.spec) running.push_back(rt_.apps.emplace_back(app.spec->make(env)).get());
    rt_.host = std::make_unique<apps::AppHost>(*rt_.model, std::move(running), rt_.loop.clock(), after);
    // A round runs on the next turn of the loop (posted: no timer).
    rt_.host->post = [ctx = &rt_.loop.context()](std::function<void()> fn) {
      boost::asio::post(*ctx, std::move(fn));
    };
    up_ = rt_.loop.subscribe<sw::SwitchUp>([this](const sw::SwitchUp& e) { attach(e.dpid); });
    down_ = rt_.loop.subscribe<sw::SwitchDown>([this](const sw::SwitchDown& e) {
      if (rt_.host) rt_.host->detach(e.dpid);
      rt_.links.erase(e.dpid);
    });
    ovsdb_ = rt_.loop.subscribe<ovsdb::OvsdbUpdated>(
        [this](const ovsdb::OvsdbUpdated& u) { replica(*u.replica); });
    ports_ = rt_.loop.subscribe<sw::PortChanged>([this](const sw::PortChanged& e) {
      if (rt_.host) rt_.host->port_status(e.dpid, e.port.name, e.reason == 1 ? -1 : e.port.port_no);
    });
    rt_.host->start();
    rt_.model->start();
    if (rt_.ovsdb && rt_.ovsdb->connected()) replica(rt_.ovsdb->replica());
    for (const auto& [dpid, info] : rt_.switches->switches())
      if (info.connected) attach(dpid);
    return {};
  }
  void stop() override {
    up_.reset();
    down_.reset();
    ovsdb_.reset();
    ports_.reset();
    rt_.host.reset();
    rt_.apps.clear();
    rt_.model.reset();
    rt_.links.clear();
  }

 private:
  void attach(uint64_t dpid) {
    auto& link = rt_.links[dpid];
    link = std::make_unique<ManagedLink>(rt_, dpid);
    rt_.host->attach(dpid, link.get());
  }
  // The bridges' ports as OVSDB has them (ofport, iface-id, tunnel address).
  void replica(const ovsdb::Replica& r) {
    std::string sid = r.system_id;
    if (sid.empty()) {
      char host[256] = {};
      gethostname(host, sizeof host - 1);
      sid = host;
      VLCP_LOG_RL(kWarn, "l2", 2, 1) << "Open_vSwitch has no external_ids:system-id; using the host name '"
                                     << sid << "' to name this node";
    }
    rt_.host->set_system_id(sid);
    rt_.host->update_switches(apps::switch_views(r), apps::ViewStamps{r.seen, r.built, r.delivered});
  }
  Runtime& rt_;
  io::Subscription up_, down_, ovsdb_, ports_;
};

}  // namespace

void make_modules(Runtime& rt) {
  rt.modules.declare(std::make_unique<SchedModule>(rt));
  rt.modules.declare(std::make_unique<OpenflowModule>(rt));
  rt.modules.declare(std::make_unique<OvsdbModule>(rt));
  rt.modules.declare(std::make_unique<MetricsModule>(rt));
  rt.modules.declare(std::make_unique<ObjectDbModule>(rt));
  // Every module's WebAPI methods live beside it in src/api; the daemon only wires them.
  api::add_viperflow(rt.webapi, [r = &rt] { return r->objectdb; });
  api::add_ovsdbmanager(rt.webapi, [r = &rt] { return r->ovsdb.get(); });
  api::add_manager(rt.webapi, rt.modules, "httpserver");
  api::add_openflowmanager(rt.webapi, rt.settings.pipeline.tables.to_json());
  rt.modules.declare(std::make_unique<IoProcessingModule>(rt));
  api::add_ioprocessing(rt.webapi, [r = &rt]() -> std::optional<nlohmann::json> {
    if (!r->host) return std::nullopt;
    return r->host->status();
  });
  rt.modules.declare(std::make_unique<HttpModule>(rt));
  // vlcpctl trace (issue 21): module trace, and its WebAPI methods beside it (src/trace).
  trace::TraceDeps trace_deps;
  trace_deps.objectdb = [r = &rt] { return r->objectdb; };
  trace_deps.ovsdb = [r = &rt] { return r->ovsdb.get(); };
  trace_deps.host = [r = &rt]() -> const apps::AppHost* { return r->host.get(); };
  trace_deps.switches = [r = &rt]() -> const sw::SwitchManager* { return r->switches.get(); };
  trace_deps.send = [r = &rt](uint64_t dpid, std::vector<uint8_t> message) -> Status {
    if (!r->switches) return make_error(Errc::kUnavailable, "module openflowserver is not loaded");
    return r->switches->send(dpid, std::move(message));
  };
  trace_deps.model = [r = &rt]() -> const apps::ModelView* { return r->model.get(); };
  trace_deps.tables = &rt.settings.pipeline.tables;
  trace_deps.ovsdb_settings = rt.settings.ovsdb;
  auto trace_module = std::make_unique<trace::TraceModule>(rt.loop, std::move(trace_deps));
  trace::add_trace_api(rt.webapi, [r = &rt, t = trace_module.get()]() -> trace::TraceModule* {
    return r->modules.running("trace") ? t : nullptr;
  });
  rt.modules.declare(std::move(trace_module));
  // A container endpoint answers Docker or CNI once its port's flows are confirmed (the host's
  // when_bound; no host running, or its bridge not connected to it: at once). A wait outliving a
  // host reload is answered by the plug machine's bound (ids are unique in the process).
  struct HostFlowsWait final : containers::FlowsWait {
    Runtime& rt;
    explicit HostFlowsWait(Runtime& r) : rt(r) {}
    uint64_t wait_flows(const std::string& bridge, const std::string& iface,
                        std::function<void(bool)> done) override {
      if (!rt.host) {
        done(false);
        return 0;
      }
      return rt.host->when_bound(bridge, iface, std::move(done));
    }
    void cancel(uint64_t id) override {
      if (rt.host) rt.host->cancel_bound_wait(id);
    }
  };
  rt.flows_wait = std::make_unique<HostFlowsWait>(rt);
  // Docker's plugin: only when asked for (a vlcpd without Docker must not take Docker's socket).
  const auto& startup = rt.settings.server.startup;
  if (rt.settings.dockerplugin.requested ||
      std::find(startup.begin(), startup.end(), "dockerplugin") != startup.end()) {
    containers::DockerPluginDeps deps;
    deps.objectdb = [r = &rt] { return r->objectdb; };
    deps.ovsdb = [r = &rt] { return r->ovsdb.get(); };
    deps.flows = [r = &rt] { return r->flows_wait.get(); };
    auto module = std::make_unique<containers::DockerPluginModule>(rt.loop, rt.settings.dockerplugin, deps);
    rt.dockerplugin = module.get();
    rt.modules.declare(std::move(module));
    rt.board_sources["dockerplugin"] = [r = &rt] { return r->dockerplugin->metrics(); };
  }
  // The CNI server: only when asked for, as the Docker plugin (its default socket is VLCP's
  // host-wide /var/run/vlcp-k8s-cni).
  if (rt.settings.cniserver.requested ||
      std::find(startup.begin(), startup.end(), "cniserver") != startup.end()) {
    containers::CniServerDeps deps;
    deps.objectdb = [r = &rt] { return r->objectdb; };
    deps.ovsdb = [r = &rt] { return r->ovsdb.get(); };
    deps.flows = [r = &rt] { return r->flows_wait.get(); };
    auto module = std::make_unique<containers::CniServerModule>(rt.loop, rt.settings.cniserver, deps);
    rt.cniserver = module.get();
    rt.modules.declare(std::move(module));
    rt.board_sources["cniserver"] = [r = &rt] { return r->cniserver->metrics(); };
  }
  containers::add_dockerplugin_api(rt.webapi, [r = &rt]() -> containers::DockerPluginModule* {
    return r->dockerplugin && r->modules.running("dockerplugin") ? r->dockerplugin : nullptr;
  });
  containers::add_cniserver_api(rt.webapi, [r = &rt]() -> containers::CniServerModule* {
    return r->cniserver && r->modules.running("cniserver") ? r->cniserver : nullptr;
  });
}

namespace {
api::HttpResponse handle_sync(Runtime& rt, const api::HttpRequest& req);
}  // namespace

void handle_request(Runtime& rt, const api::HttpRequest& req, api::HttpResponder respond_to) {
  std::string path = req.target.substr(0, req.target.find('?'));
  // Counted for /metrics: by the path's first part (the module), status and time.
  std::string module = path.substr(1, path.find('/', 1) - 1);  // (npos - 1: the rest)
  if (!rt.webapi.serves(path) && module != "objectdb" && module != "introspect") module = "other";
  ++rt.api_counters.in_flight;
  auto started = std::chrono::steady_clock::now();
  api::HttpResponder respond = [r = &rt, module, started,
                                respond_to = std::move(respond_to)](api::HttpResponse out) {
    --r->api_counters.in_flight;
    ++r->api_counters.requests[{module, out.status}];
    r->api_counters.seconds[module] +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    respond_to(std::move(out));
  };
  if (path.rfind("/objectdb/", 0) == 0)
    return api::handle_objectdb(rt.objectdb, rt.loop, req, std::move(respond));
  if (rt.webapi.serves(path)) return rt.webapi.handle(req, std::move(respond));
  respond(handle_sync(rt, req));
}

namespace {
api::HttpResponse handle_sync(Runtime& rt, const api::HttpRequest& req) {
  std::string path = req.target.substr(0, req.target.find('?'));
  api::IntrospectSources src;
  src.switches = rt.switches.get();
  src.placement = [&rt] { return rt.current_placement(); };
  src.ovsdb = [&rt]() -> nlohmann::json {
    if (!rt.ovsdb) return {{"error", "module ovsdbmanager is not loaded"}};
    nlohmann::json j = ovsdb::replica_to_json(rt.ovsdb->replica());
    j["connected"] = rt.ovsdb->connected();
    return j;
  };
  return api::introspect(src, req);
}
}  // namespace

}  // namespace vlcp::daemon
