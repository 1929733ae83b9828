// The dockerplugin module (see docker_module.h).
#include "containers/docker_module.h"

#include "api/http_client.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <utility>

#include "base/log.h"
#include "io/listener.h"
#include "model/address.h"

namespace vlcp::containers {

using Json = nlohmann::json;

namespace {

struct DockerPluginKeys {
  VLCP_DOCKERPLUGIN_KEYS(VLCP_KEYS_FIELD)
};

std::chrono::nanoseconds seconds(double s) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(s));
}

}  // namespace

Result<DockerPluginSettings> read_dockerplugin_settings(const Config& config) {
  DockerPluginKeys keys;
  VLCP_DOCKERPLUGIN_KEYS(VLCP_KEYS_READ)
  DockerPluginSettings s;
  for (const auto& key : config.keys())
    if (key.rfind("module.dockerplugin.", 0) == 0) s.requested = true;
  // The socket.
  if (keys.url.rfind("unix://", 0) != 0)
    return config.error_at("module.dockerplugin.url",
                           "module.dockerplugin.url: expected unix:///PATH, got '" + keys.url + "'");
  auto l = io::parse_listener(keys.url);
  if (!l.ok() || l->path.empty() || l->path[0] != '/')
    return config.error_at(
        "module.dockerplugin.url",
        "module.dockerplugin.url: " + (l.ok() ? "expected an absolute path" : l.error().message()));
  s.unix_path = l->path;
  {
    const std::string& m = keys.socketmode;
    unsigned mode = 0;
    bool ok = !m.empty() && m.size() <= 4;
    for (char c : m) {
      if (c < '0' || c > '7') ok = false;
      mode = mode * 8 + static_cast<unsigned>(c - '0');
    }
    if (!ok || mode > 0777)
      return config.error_at(
          "module.dockerplugin.socketmode",
          "module.dockerplugin.socketmode: expected an octal mode like '0660', got '" + m + "'");
    if (mode & 07)  // whoever connects plugs and unplugs ports
      return config.error_at(
          "module.dockerplugin.socketmode",
          "module.dockerplugin.socketmode: refused, the socket would be open to every user (o+rwx)");
    s.socket_mode = mode;
  }
  if (keys.scope != "local" && keys.scope != "global")
    return config.error_at(
        "module.dockerplugin.scope",
        "module.dockerplugin.scope: expected 'local' or 'global', got '" + keys.scope + "'");
  s.driver.identity.scope = keys.scope;
  // The bridge: an OVS name (no '/', no spaces, at most 15 bytes: a system device).
  if (keys.ovsbridge.empty() || keys.ovsbridge.size() > 15 ||
      keys.ovsbridge.find_first_of("/ \t\n") != std::string::npos)
    return config.error_at(
        "module.dockerplugin.ovsbridge",
        "module.dockerplugin.ovsbridge: expected a bridge name (1-15 bytes), got '" + keys.ovsbridge + "'");
  s.driver.bridge = keys.ovsbridge;
  // The reconcile (design §4).
  if (auto u = api::parse_http_url(keys.dockerurl); !u.ok())
    return config.error_at("module.dockerplugin.dockerurl",
                           "module.dockerplugin.dockerurl: " + u.error().message());
  s.docker_url = keys.dockerurl;
  s.driver_name = keys.drivername;
  constexpr double kWeek = 7 * 86400.0;  // also keeps the conversions below defined (no inf, nan)
  if (!(keys.reconcileinterval >= 0 && keys.reconcileinterval <= kWeek))
    return config.error_at(
        "module.dockerplugin.reconcileinterval",
        "module.dockerplugin.reconcileinterval: expected seconds 0..604800 (0: at start only)");
  if (!(keys.reconcilegrace >= 0 && keys.reconcilegrace <= kWeek))
    return config.error_at("module.dockerplugin.reconcilegrace",
                           "module.dockerplugin.reconcilegrace: expected seconds 0..604800");
  s.reconcile.bridge = keys.ovsbridge;
  s.reconcile.veth_prefix = keys.vethprefix;
  // Rounded up: 0.5 s is 1 s, never 0 ("at start only", "no grace").
  s.reconcile.interval = std::chrono::seconds(static_cast<int64_t>(std::ceil(keys.reconcileinterval)));
  s.reconcile.grace = std::chrono::seconds(static_cast<int64_t>(std::ceil(keys.reconcilegrace)));
  s.reconcile.foreign_grace_us = static_cast<int64_t>(keys.iptimeout * 1e6);
  if (!docker::valid_veth_prefix(keys.vethprefix))
    return config.error_at(
        "module.dockerplugin.vethprefix",
        "module.dockerplugin.vethprefix: expected 1-4 of [a-z0-9], got '" + keys.vethprefix + "'");
  s.driver.veth_prefix = s.plug.veth_prefix = keys.vethprefix;
  if (keys.dstprefix.empty() || keys.dstprefix.size() > 12 ||
      keys.dstprefix.find_first_of("/ \t\n:") != std::string::npos)
    return config.error_at(
        "module.dockerplugin.dstprefix",
        "module.dockerplugin.dstprefix: expected an interface name prefix, got '" + keys.dstprefix + "'");
  s.driver.dst_prefix = keys.dstprefix;
  if (!model::random_mac(keys.mactemplate, 0))
    return config.error_at(
        "module.dockerplugin.mactemplate",
        "module.dockerplugin.mactemplate: expected a MAC address, got '" + keys.mactemplate + "'");
  s.driver.mac_template = keys.mactemplate;
  if (keys.mtu < 68 || keys.mtu > 65535)
    return config.error_at("module.dockerplugin.mtu",
                           "module.dockerplugin.mtu: expected 68..65535, got " + std::to_string(keys.mtu));
  s.driver.mtu = static_cast<uint32_t>(keys.mtu);
  s.driver.auto_remove_ports = keys.autoremoveports;
  for (auto [value, key, lo, hi] :
       {std::tuple{keys.pooltimeout, "module.dockerplugin.pooltimeout", 1.0, 86400.0},
        std::tuple{keys.iptimeout, "module.dockerplugin.iptimeout", 1.0, 86400.0},
        std::tuple{keys.ofportwait, "module.dockerplugin.ofportwait", 0.01, 600.0},
        std::tuple{keys.stepdeadline, "module.dockerplugin.stepdeadline", 0.01, 600.0}})
    if (!(value >= lo && value <= hi))  // (NaN fails too)
      return config.error_at(key, std::string(key) + ": expected " + std::to_string(lo) + ".." +
                                      std::to_string(hi) + " seconds, got " + std::to_string(value));
  s.driver.pool_timeout_us = static_cast<int64_t>(keys.pooltimeout * 1e6);
  s.driver.ip_timeout_us = static_cast<int64_t>(keys.iptimeout * 1e6);
  s.plug.ofport_wait = seconds(keys.ofportwait);
  s.plug.step_deadline = seconds(keys.stepdeadline);
  {
    // The range's form; the model checks it again when it takes a /24 from it.
    const std::string& r = keys.cidrrange;
    auto slash = r.find('/');
    bool ok = slash != std::string::npos && model::detail::parse_ip(r.substr(0, slash)) &&
              slash + 1 < r.size() && r.size() - slash <= 3 &&
              r.find_first_not_of("0123456789", slash + 1) == std::string::npos &&
              std::stoi(r.substr(slash + 1)) <= 24;
    if (!ok)
      return config.error_at(
          "module.dockerplugin.cidrrange",
          "module.dockerplugin.cidrrange: expected an IPv4 CIDR of /24 or wider, got '" + r + "'");
    s.driver.cidr_range = r;
  }
  for (auto [value, key] : {std::pair{&keys.vhostbind, "module.dockerplugin.vhostbind"},
                            std::pair{&keys.ipcommand, "module.dockerplugin.ipcommand"},
                            std::pair{&keys.ovscommand, "module.dockerplugin.ovscommand"}})
    if (!value->is_null()) s.ignored.push_back(key);
  return s;
}

DockerPluginModule::DockerPluginModule(io::ControlLoop& loop, DockerPluginSettings settings,
                                       DockerPluginDeps deps)
    : loop_(loop), settings_(std::move(settings)), deps_(std::move(deps)) {}

DockerPluginModule::~DockerPluginModule() {
  stop();
}

Status DockerPluginModule::init() {
  for (const auto& key : settings_.ignored)
    VLCP_LOG(kWarn, "docker") << key << " is VLCP's and is ignored by vlcpd";
  return {};
}

Status DockerPluginModule::start() {
  db_ = deps_.objectdb ? deps_.objectdb() : nullptr;
  if (!db_) return make_error(Errc::kUnavailable, "dockerplugin: the object database is not open");
  containers_ = std::make_unique<model::Containers>(*db_);
  endpoints_ = std::make_unique<ModelEndpoints>(*containers_);
  ports_ = std::make_unique<OvsdbPorts>(deps_.ovsdb);
  auto links = link::LinkExecutor::start(loop_);
  if (!links.ok()) {
    stop();
    return make_error(links.error().code(), "dockerplugin: the link thread: " + links.error().message());
  }
  links_ = std::move(*links);
  plugger_ = std::make_unique<Plugger>(loop_, *endpoints_, *links_, *ports_, settings_.plug);
  if (deps_.flows) plugger_->set_flows_wait(deps_.flows());
  // Docker's view for the reconcile, listed by the plugin's name in Docker: drivername, else the
  // socket's base name — but only where that IS Docker's name (a socket in /run/docker/plugins).
  // A wrong name makes Docker list no network and the reconcile would remove every endpoint, so
  // with a socket elsewhere (Docker finds it through a spec file we cannot see) and no
  // drivername, the reconcile stays off and says why.
  std::filesystem::path sock(settings_.unix_path);
  std::string driver = settings_.driver_name;
  reconcile_off.clear();
  if (driver.empty()) {
    if (sock.parent_path() == "/run/docker/plugins" || sock.parent_path() == "/var/run/docker/plugins")
      driver = sock.stem().string();
    else
      reconcile_off =
          "module.dockerplugin.drivername is not set and the socket is not in /run/docker/plugins: "
          "Docker's name for the plugin is unknown";
  }
  if (!reconcile_off.empty()) {
    VLCP_LOG(kWarn, "docker") << "reconcile off: " << reconcile_off;
    driver = "vlcp";  // the engine is made but never used
  }
  auto engine = HttpDockerEngine::make(loop_, settings_.docker_url, driver);
  if (!engine.ok()) {
    stop();
    return engine.error();
  }
  engine_ = std::move(*engine);
  attempts_ = 0;
  try_listen();
  return {};
}

void DockerPluginModule::stop() {
  if (timer_) loop_.cancel(timer_);
  timer_ = 0;
  reconciler_.reset();  // before the parts it runs on
  engine_.reset();
  in_flight_ = InFlightTracker{};  // callbacks of a stopped driver never release theirs
  server_.reset();                 // (removes the socket file: Docker sees nobody, and retries)
  driver_.reset();
  plugger_.reset();
  links_.reset();
  ports_.reset();
  endpoints_.reset();
  containers_.reset();
  db_.reset();
  waiting_for.clear();
}

void DockerPluginModule::try_listen() {
  timer_ = 0;
  ++attempts_;
  auto again = [this](std::string why) {
    // Said once, then every ~30 s while it lasts.
    if (why != waiting_for || attempts_ % 60 == 0) {
      VLCP_LOG(kWarn, "docker") << "plugin socket unix://" << settings_.unix_path << " not yet: " << why;
    }
    waiting_for = std::move(why);
    timer_ = loop_.after(std::chrono::milliseconds(500), [this] { try_listen(); });
  };
  ovsdb::OvsdbClient* ovs = deps_.ovsdb ? deps_.ovsdb() : nullptr;
  if (!ovs) return again("the OVSDB client is not running");
  if (!ovs->connected()) return again("OVSDB is not connected");
  const ovsdb::Replica& replica = ovs->replica();
  if (!replica.bridges.count(settings_.driver.bridge))
    return again("bridge " + settings_.driver.bridge + " does not exist (module.dockerplugin.ovsbridge)");
  if (!driver_) {
    DockerDriverSettings ds = settings_.driver;
    ds.systemid = replica.system_id;
    if (ds.systemid.empty()) {
      char host[256] = {};
      gethostname(host, sizeof host - 1);
      ds.systemid = host;
    }
    driver_ = std::make_unique<DockerDriver>(loop_, *db_, *containers_, *plugger_, std::move(ds));
  }
  if (!reconciler_ && reconcile_off.empty()) {
    ReconcilerSettings rs = settings_.reconcile;
    rs.systemid = driver_->settings().systemid;
    reconciler_ = std::make_unique<DockerReconciler>(
        ReconcilerParts{loop_,
                        *db_,
                        *containers_,
                        *plugger_,
                        *ports_,
                        *links_,
                        *engine_,
                        [this]() -> std::shared_ptr<const ovsdb::Replica> {
                          ovsdb::OvsdbClient* c = deps_.ovsdb ? deps_.ovsdb() : nullptr;
                          return c && c->connected() ? c->replica_ptr() : nullptr;
                        },
                        [this] { return in_flight_.snapshot(); },
                        {}},
        std::move(rs));
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(settings_.unix_path).parent_path(), ec);
  api::HttpSettings hs;
  hs.unix_path = settings_.unix_path;
  hs.unix_mode = settings_.socket_mode;
  auto server = api::HttpServer::start(
      loop_.context(), hs, [this](const api::HttpRequest& r, api::HttpResponder respond) {
        if (!driver_) return respond(api::HttpResponse{503, R"({"Err":"the Docker plugin is stopping"})"});
        std::string path = r.target.substr(0, r.target.find('?'));
        driver_->handle(path, r.body, in_flight_.track(path, r.body, [respond](docker::Reply reply) {
          respond(api::HttpResponse{reply.status, std::move(reply.body), "application/json"});
        }));
      });
  if (!server.ok()) return again(server.error().message());
  server_ = std::move(*server);
  waiting_for.clear();
  VLCP_LOG(kInfo, "docker") << "Docker plugin on unix://" << settings_.unix_path << " (bridge "
                            << settings_.driver.bridge << ", system id " << driver_->settings().systemid
                            << ")";
  if (reconciler_) reconciler_->start();  // the first reconcile now, then every reconcileinterval
}

Json DockerPluginModule::status() const {
  Json j = driver_ ? driver_->status() : Json::object();
  j["socket"] = settings_.unix_path;
  j["listening"] = server_ != nullptr;
  if (!waiting_for.empty()) j["waiting_for"] = waiting_for;
  if (reconciler_) j["reconcile"] = reconciler_->status();
  if (!reconcile_off.empty()) j["reconcile_off"] = reconcile_off;
  if (plugger_) {
    Json plug = Json::object();
    for (const auto& [name, value] : plugger_->metrics()) plug[name] = value;
    j["plug"] = plug;
  }
  return j;
}

std::vector<api::BoardValue> DockerPluginModule::metrics() const {
  std::vector<api::BoardValue> v;
  v.push_back({"vlcp_docker_plugin_listening",
               "1 when the Docker plugin's socket is bound.",
               {},
               server_ ? 1.0 : 0.0});
  if (driver_) {
    const auto& c = driver_->counters();
    for (const auto& [key, n] : c.requests)
      v.push_back({"vlcp_docker_requests_total",
                   "Docker plugin requests answered, by method and HTTP status.",
                   {{"method", key.first}, {"status", std::to_string(key.second)}},
                   static_cast<double>(n)});
    for (const auto& [m, s] : c.seconds)
      v.push_back({"vlcp_docker_request_seconds_total",
                   "Time spent answering Docker plugin requests, by method.",
                   {{"method", m}},
                   s});
    for (const auto& [m, s] : c.max_seconds)
      v.push_back({"vlcp_docker_request_seconds_max",
                   "The longest Docker plugin answer, by method.",
                   {{"method", m}},
                   s});
    v.push_back({"vlcp_docker_requests_in_flight",
                 "Docker plugin requests being answered.",
                 {},
                 static_cast<double>(c.in_flight)});
    v.push_back({"vlcp_container_endpoints",
                 "Container endpoints this node has plugged, by kind.",
                 {{"kind", "docker"}},
                 static_cast<double>(driver_->endpoints())});
  }
  if (reconciler_) {
    const auto& rc = reconciler_->counters();
    for (size_t i = 0; i < kReconcileResultCount; ++i)
      v.push_back({"vlcp_container_reconcile_runs_total",
                   "Reconciles against Docker's view, by result.",
                   {{"result", std::string(reconcile_result_label(static_cast<ReconcileResult>(i)))}},
                   static_cast<double>(rc.runs[i])});
    for (size_t i = 0; i < kReconcileWhatCount; ++i) {
      std::string what(reconcile_what_label(static_cast<ReconcileWhat>(i)));
      v.push_back({"vlcp_container_reconcile_removed_total",
                   "What the reconcile removed (actions that succeeded), by what.",
                   {{"what", what}},
                   static_cast<double>(rc.removed[i])});
      v.push_back({"vlcp_container_reconcile_repaired_total",
                   "What the reconcile made again (actions that succeeded), by what.",
                   {{"what", what}},
                   static_cast<double>(rc.repaired[i])});
    }
  }
  if (plugger_)
    for (const auto& [name, value] : plugger_->metrics())
      v.push_back({name, "The plug machine (docs/CONTAINERS_DESIGN.md §3).", {{"server", "docker"}}, value});
  return v;
}

void DockerPluginModule::docker_info(const std::vector<std::string>& port_ids,
                                     std::function<void(Result<Json>)> done) {
  if (!db_) return done(make_error(Errc::kUnavailable, "module dockerplugin is not running"));
  std::vector<std::string> keys;
  for (const auto& id : port_ids) keys.push_back(model::docker_info_key(id));
  if (keys.empty()) return done(Json::array());
  db_->get(keys, [keys, done = std::move(done)](Result<std::map<std::string, db::Record>> got) {
    if (!got.ok()) return done(got.error());
    Json out = Json::array();
    for (const auto& k : keys) {
      auto it = got->find(k);
      if (it == got->end() || !it->second.value) continue;
      Json v = *it->second.value;
      v["_key"] = k;
      v["_type"] = "vlcp_docker.dockerplugin.DockerInfo";
      out.push_back(std::move(v));
    }
    done(out);
  });
}

void add_dockerplugin_api(api::WebApi& api, std::function<DockerPluginModule*()> module) {
  api.add("dockerplugin", "getdockerinfo",
          "portid: a logical port id (or a list of them): the DockerInfo of each (Docker's endpoint, "
          "network, veth)",
          [module](const Json& params, api::ApiDone done) {
            DockerPluginModule* m = module();
            if (!m) return done(make_error(Errc::kUnavailable, "module dockerplugin is not loaded"));
            auto it = params.find("portid");
            if (it == params.end()) return done(make_error(Errc::kInvalidArgument, "portid is required"));
            std::vector<std::string> ids;
            if (it->is_string()) {
              ids.push_back(it->get<std::string>());
            } else if (it->is_array()) {
              for (const auto& x : *it) {
                if (!x.is_string())
                  return done(make_error(Errc::kInvalidArgument, "portid: a list of strings"));
                ids.push_back(x.get<std::string>());
              }
            } else {
              return done(make_error(Errc::kInvalidArgument, "portid: a string or a list of strings"));
            }
            m->docker_info(ids, std::move(done));
          });
  api.add("dockerplugin", "status",
          "the plugin's socket, settings, endpoints, and requests by method and status",
          [module](const Json&, api::ApiDone done) {
            DockerPluginModule* m = module();
            if (!m) return done(make_error(Errc::kUnavailable, "module dockerplugin is not loaded"));
            done(m->status());
          });
  api.add(
      "dockerplugin", "reconcile",
      "runs the reconcile against Docker's view now (after the one running, if any) and answers "
      "its summary: result, the plan, what was removed and repaired, failures",
      [module](const Json&, api::ApiDone done) {
        DockerPluginModule* m = module();
        if (!m) return done(make_error(Errc::kUnavailable, "module dockerplugin is not loaded"));
        DockerReconciler* r = m->reconciler();
        if (!r)
          return done(make_error(Errc::kUnavailable,
                                 m->reconcile_off_reason().empty()
                                     ? "the Docker plugin is not ready (OVSDB connected, the bridge present)"
                                     : "reconcile off: " + m->reconcile_off_reason()));
        r->run_now([done](const Json& summary) { done(summary); });
      });
}

}  // namespace vlcp::containers
