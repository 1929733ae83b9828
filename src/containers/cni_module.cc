#include "containers/cni_module.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "containers/adapters.h"
#include "containers/docker_protocol.h"
#include "containers/docker_reconciler.h"
#include "model/viperflow.h"
#include "schema/container_ids.h"
#include "schema/kinds.h"

namespace vlcp::containers {

namespace {

std::chrono::nanoseconds seconds(double s) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(s));
}

std::string str_of(const Json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A CNI info as the server reads it (nullopt: not one of ours, no container id).
std::optional<CniAttachment> attachment_of(const Json& info) {
  CniAttachment a;
  a.container_id = str_of(info, "container_id");
  if (a.container_id.empty()) return std::nullopt;
  a.ifname = str_of(info, "ifname");
  a.lognet_id = str_of(info, "network");
  a.netns = str_of(info, "netns");
  a.cni_network = str_of(info, "cni_network");
  if (auto it = info.find("created"); it != info.end() && it->is_number_integer())
    a.created_us = it->get<int64_t>();
  a.port_id = schema::cni_port_id(a.container_id, a.ifname);
  return a;
}

}  // namespace

Result<CniModuleSettings> read_cniserver_settings(const Config& config) {
  CniServerKeys keys;
  VLCP_CNISERVER_KEYS(VLCP_KEYS_READ)
  CniModuleSettings s;
  if (!keys.url.empty()) {
    if (keys.url.rfind("unix://", 0) != 0 || keys.url.size() <= 8 || keys.url[7] != '/')
      return config.error_at("module.cniserver.url", "expected unix:///PATH, got '" + keys.url + "'");
    s.socket_path = keys.url.substr(7);
  }
  if (keys.socketmode < 0 || keys.socketmode > 0777)
    return config.error_at("module.cniserver.socketmode", "expected a file mode 0..0777");
  if (keys.socketmode & 07)  // whoever connects plugs and unplugs ports
    return config.error_at("module.cniserver.socketmode",
                           "refused: the socket would be open to every user (o+rwx)");
  s.socket_mode = static_cast<unsigned>(keys.socketmode);
  if (keys.bridge.empty()) return config.error_at("module.cniserver.bridge", "expected a bridge name");
  if (keys.mtu < 68 || keys.mtu > 65535)
    return config.error_at("module.cniserver.mtu",
                           "expected an MTU of 68..65535, got " + std::to_string(keys.mtu));
  if (!model::random_mac(keys.mactemplate, 0))
    return config.error_at("module.cniserver.mactemplate",
                           "expected a MAC address, got '" + keys.mactemplate + "'");
  if (!docker::valid_veth_prefix(keys.vethprefix))
    return config.error_at("module.cniserver.vethprefix",
                           "expected 1-4 of [a-z0-9], got '" + keys.vethprefix + "'");
  if (!(keys.ofportwait > 0) || keys.ofportwait > 3600)
    return config.error_at("module.cniserver.ofportwait", "expected seconds > 0");
  if (!(keys.stepdeadline > 0) || keys.stepdeadline > 3600)
    return config.error_at("module.cniserver.stepdeadline", "expected seconds > 0");
  if (!(keys.grace >= 0) || keys.grace > 86400)
    return config.error_at("module.cniserver.grace", "expected seconds >= 0");
  if (keys.txchecksum != "auto" && keys.txchecksum != "on" && keys.txchecksum != "off")
    return config.error_at("module.cniserver.txchecksum", "expected 'auto', 'on' or 'off'");
  s.server.bridge = keys.bridge;
  s.server.mtu = static_cast<uint32_t>(keys.mtu);
  s.server.logical_network = keys.logicalnetwork;
  s.server.subnet = keys.subnet;
  s.server.mac_template = keys.mactemplate;
  s.plug.veth_prefix = keys.vethprefix;
  s.plug.ofport_wait = seconds(keys.ofportwait);
  s.plug.step_deadline = seconds(keys.stepdeadline);
  // 'auto' is off: always correct (the userspace datapath needs it), a little slower on the kernel's.
  s.plug.tx_checksum_off = keys.txchecksum != "on";
  s.grace = seconds(keys.grace);
  s.requested = !config.keys_under("module.cniserver").empty();
  return s;
}

std::vector<api::BoardValue> cni_board_values(const CniCounters& c, const Plugger* plugger) {
  std::vector<api::BoardValue> v;
  for (const auto& [key, n] : c.requests)
    v.push_back({"vlcp_cni_requests_total",
                 "CNI requests answered, by command and CNI code (0: success).",
                 {{"command", key.first}, {"code", std::to_string(key.second)}},
                 static_cast<double>(n)});
  for (const auto& [command, secs] : c.seconds)
    v.push_back({"vlcp_cni_request_seconds_total",
                 "Time spent answering CNI requests, by command.",
                 {{"command", command}},
                 secs});
  v.push_back(
      {"vlcp_cni_requests_in_flight", "CNI requests being answered.", {}, static_cast<double>(c.in_flight)});
  if (plugger)
    for (auto& [name, value] : plugger->metrics())
      v.push_back(
          {name, "The plug machine's figures (docs/CONTAINERS_DESIGN.md §3).", {{"kind", "cni"}}, value});
  return v;
}

// ---- lookups -------------------------------------------------------------------------------------

void DaemonCniLookups::resolve_subnet(const std::string& lognet, const std::string& subnet,
                                      std::function<void(Result<CniSubnet>)> done) {
  std::shared_ptr<db::ObjectDb> db = objectdb_();
  if (!db) return done(make_error(Errc::kUnavailable, "module objectdb is not running"));
  auto vf = std::make_shared<model::ViperFlow>(*db);
  vf->list_logical_networks(Json{{"id", lognet}}, [db, vf, lognet, subnet, done](Result<Json> nets) {
    if (!nets.ok()) return done(nets.error());
    if (!nets->is_array() || nets->empty())
      return done(make_error(Errc::kNotFound, "no logical network '" + lognet + "'"));
    vf->list_subnets(Json{{"logicalnetwork", lognet}}, [db, vf, lognet, subnet, done](Result<Json> subnets) {
      if (!subnets.ok()) return done(subnets.error());
      CniSubnet out;
      out.lognet_id = lognet;
      std::vector<Json> found;
      if (subnets->is_array())
        for (const auto& s : *subnets)
          if (subnet.empty() || str_of(s, "id") == subnet) found.push_back(s);
      if (!subnet.empty() && found.empty())
        return done(
            make_error(Errc::kNotFound, "no subnet '" + subnet + "' in logical network '" + lognet + "'"));
      if (found.size() > 1)
        return done(make_error(Errc::kInvalidArgument,
                               "logical network '" + lognet + "' has " + std::to_string(found.size()) +
                                   " subnets: name one (CNI_ARGS subnet, the config's \"subnet\", "
                                   "module.cniserver.subnet)"));
      if (!found.empty()) {
        out.subnet_id = str_of(found.front(), "id");
        out.subnet = found.front();
      }
      done(std::move(out));
    });
  });
}

void DaemonCniLookups::get_port(const std::string& port_id,
                                std::function<void(Result<std::optional<Json>>)> done) {
  std::shared_ptr<db::ObjectDb> db = objectdb_();
  if (!db) return done(make_error(Errc::kUnavailable, "module objectdb is not running"));
  auto vf = std::make_shared<model::ViperFlow>(*db);
  vf->list_logical_ports(Json{{"id", port_id}}, [db, vf, done](Result<Json> ports) {
    if (!ports.ok()) return done(ports.error());
    if (!ports->is_array() || ports->empty()) return done(std::optional<Json>());
    done(std::optional<Json>(ports->front()));
  });
}

void DaemonCniLookups::attachments(const std::string& lognet,
                                   std::function<void(Result<std::vector<CniAttachment>>)> done) {
  std::shared_ptr<db::ObjectDb> db = objectdb_();
  if (!db) return done(make_error(Errc::kUnavailable, "module objectdb is not running"));
  auto containers = std::make_shared<model::Containers>(*db);
  std::string me = systemid();
  containers->list(schema::Kind::kCniInfo, [db, containers, lognet, me, done](Result<Json> infos) {
    if (!infos.ok()) return done(infos.error());
    std::vector<CniAttachment> out;
    if (infos->is_object())
      for (const auto& [key, info] : infos->items()) {
        if (str_of(info, "systemid") != me || (!lognet.empty() && str_of(info, "network") != lognet))
          continue;
        if (auto a = attachment_of(info)) out.push_back(std::move(*a));
      }
    done(std::move(out));
  });
}

void DaemonCniLookups::attachment(const std::string& port_id,
                                  std::function<void(Result<std::optional<CniAttachment>>)> done) {
  std::shared_ptr<db::ObjectDb> db = objectdb_();
  if (!db) return done(make_error(Errc::kUnavailable, "module objectdb is not running"));
  std::string key = model::cni_info_key(port_id);
  db->get({key}, [db, key, done](Result<std::map<std::string, db::Record>> got) {
    if (!got.ok()) return done(got.error());
    auto it = got->find(key);
    if (it == got->end() || !it->second.value) return done(std::optional<CniAttachment>());
    done(attachment_of(*it->second.value));
  });
}

std::optional<OvsdbView> DaemonCniLookups::ovsdb_view(const std::string& bridge) {
  ovsdb::OvsdbClient* client = ovsdb_();
  if (!client || !client->connected() || !client->replica_ptr()) return std::nullopt;
  return ovsdb_view_of(*client->replica_ptr(), bridge);
}

bool DaemonCniLookups::netns_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 || errno != ENOENT;
}

std::optional<CniOvsInterface> DaemonCniLookups::ovs_interface(const std::string& bridge,
                                                               const std::string& name) {
  ovsdb::OvsdbClient* client = ovsdb_();
  if (!client || !client->connected() || !client->replica_ptr()) return std::nullopt;
  const ovsdb::Replica& r = *client->replica_ptr();
  const ovsdb::Bridge* b = r.bridge_of_port(name);
  auto it = r.interfaces.find(name);
  if (!b || b->name != bridge || it == r.interfaces.end()) return std::nullopt;
  CniOvsInterface out;
  out.external_ids =
      std::map<std::string, std::string>(it->second.external_ids.begin(), it->second.external_ids.end());
  out.ofport = it->second.ofport;
  return out;
}

Status DaemonCniLookups::ready(const std::string& bridge) {
  if (!objectdb_()) return make_error(Errc::kUnavailable, "module objectdb is not running");
  ovsdb::OvsdbClient* client = ovsdb_();
  if (!client) return make_error(Errc::kUnavailable, "module ovsdbmanager is not running");
  if (!client->connected() || !client->replica_ptr())
    return make_error(Errc::kUnavailable, "OVSDB is not connected");
  if (!client->replica_ptr()->bridges.count(bridge))
    return make_error(Errc::kUnavailable, "bridge " + bridge + " is not in OVSDB");
  return {};
}

std::string DaemonCniLookups::systemid() const {
  if (ovsdb::OvsdbClient* client = ovsdb_();
      client && client->replica_ptr() && !client->replica_ptr()->system_id.empty())
    return client->replica_ptr()->system_id;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host;
}

// ---- the module ----------------------------------------------------------------------------------

CniServerModule::CniServerModule(io::ControlLoop& loop, const CniModuleSettings& settings, CniServerDeps deps)
    : loop_(loop), settings_(settings), deps_(std::move(deps)) {}

CniServerModule::~CniServerModule() {
  stop();
}

Status CniServerModule::start() {
  const CniModuleSettings& s = settings_;
  if (s.socket_path.empty()) return {};  // url '': off
  std::shared_ptr<db::ObjectDb> db = deps_.objectdb ? deps_.objectdb() : nullptr;
  if (!db) return make_error(Errc::kUnavailable, "cniserver needs module objectdb");
  containers_ = std::make_unique<model::Containers>(*db);
  store_ = std::make_unique<ModelEndpoints>(*containers_);
  ports_ = std::make_unique<OvsdbPorts>(deps_.ovsdb);
  VLCP_ASSIGN_OR_RETURN(links_, link::LinkExecutor::start(loop_));
  lookups_ = std::make_unique<DaemonCniLookups>(deps_.objectdb, deps_.ovsdb);
  plugger_ = std::make_unique<Plugger>(loop_, *store_, *links_, *ports_, s.plug);
  if (deps_.flows) plugger_->set_flows_wait(deps_.flows());
  server_ = std::make_unique<CniServer>(loop_, *plugger_, *links_, *lookups_, s.server);
  // The socket's directory (VLCP's /var/run/vlcp-k8s-cni) is ours to make.
  std::string dir = s.socket_path.substr(0, s.socket_path.rfind('/'));
  if (!dir.empty() && ::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    Status st =
        make_error(Errc::kIo, "module.cniserver.url: cannot make " + dir + ": " + std::strerror(errno));
    stop();
    return st;
  }
  api::HttpSettings hs;
  hs.unix_path = s.socket_path;
  hs.unix_mode = s.socket_mode;
  auto handler = [this](const api::HttpRequest& req, api::HttpResponder respond) {
    if (!server_) return respond(api::HttpResponse{503, "{}", "application/json"});
    cni::HeaderLookup header = [&req](std::string_view name) -> std::optional<std::string> {
      for (const auto& [k, v] : req.headers)
        if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a)) ==
                     std::tolower(static_cast<unsigned char>(b));
            }))
          return v;
      return std::nullopt;
    };
    server_->handle(req.method, req.target, header, req.body, [respond](cni::Answer a) {
      respond(api::HttpResponse{a.status, std::move(a.body), std::move(a.content_type)});
    });
  };
  auto http = api::HttpServer::start(loop_.context(), hs, handler);
  if (!http.ok()) {
    stop();
    return http.status();
  }
  http_ = std::move(http).value();
  VLCP_LOG(kInfo, "cni") << "CNI server on unix://" << s.socket_path << ", bridge " << s.server.bridge;
  cleaned_ = false;
  cleanup_backoff_ = std::chrono::nanoseconds(0);
  clean_up(std::chrono::nanoseconds(0));
  return {};
}

void CniServerModule::clean_up(std::chrono::nanoseconds delay) {
  cleanup_timer_ = loop_.after(delay, [this] {
    cleanup_timer_ = 0;
    if (!server_ || cleaned_) return;
    if (Status ready = lookups_->ready(settings_.server.bridge); !ready.ok()) {
      if (cleanup_waiting_ != ready.message()) {
        VLCP_LOG(kInfo, "cni") << "start-up clean-up waits: " << ready.message();
      }
      cleanup_waiting_ = ready.message();
      return clean_up(std::chrono::milliseconds(500));
    }
    cleanup_waiting_.clear();
    server_->clean_up_at_start(
        std::chrono::duration_cast<std::chrono::microseconds>(loop_.clock().wall().time_since_epoch())
            .count(),
        std::chrono::duration_cast<std::chrono::microseconds>(settings_.grace).count(),
        [this, server = server_.get()](const Json& summary) {
          if (server != server_.get()) return;  // stopped (and maybe started) since
          if (summary.value("result", "") == "ok") {
            cleaned_ = true;
            VLCP_LOG(kInfo, "cni") << "start-up clean-up: " << summary["plan"].size()
                                   << " attachment(s) removed of " << summary["attachments"] << " ("
                                   << summary["removed"].dump() << ")";
            return;
          }
          // Again with backoff: 1 s doubling up to a minute, until one succeeds.
          cleanup_backoff_ =
              cleanup_backoff_.count() == 0
                  ? std::chrono::nanoseconds(std::chrono::seconds(1))
                  : std::min<std::chrono::nanoseconds>(cleanup_backoff_ * 2, std::chrono::minutes(1));
          VLCP_LOG(kWarn, "cni") << "start-up clean-up failed (" << summary.value("error", "")
                                 << "); again in "
                                 << std::chrono::duration_cast<std::chrono::seconds>(cleanup_backoff_).count()
                                 << " s";
          clean_up(cleanup_backoff_);
        });
  });
}

void CniServerModule::stop() {
  if (cleanup_timer_) loop_.cancel(cleanup_timer_);
  cleanup_timer_ = 0;
  http_.reset();
  server_.reset();
  plugger_.reset();
  lookups_.reset();
  links_.reset();
  ports_.reset();
  store_.reset();
  containers_.reset();
}

std::vector<api::BoardValue> CniServerModule::metrics() const {
  if (!server_) return {};
  return cni_board_values(server_->counters(), plugger_.get());
}

Json CniServerModule::status() const {
  Json j = {{"socket", settings_.socket_path},
            {"bridge", settings_.server.bridge},
            {"running", server_ != nullptr}};
  if (!server_) return j;
  Json list = server_->attachments();
  j["attachments"] = {{"count", list.size()}, {"list", std::move(list)}};
  j["last_gc"] = server_->last_gc();
  j["cleanup"] = server_->last_cleanup();
  if (!cleanup_waiting_.empty()) j["cleanup"]["waiting_for"] = cleanup_waiting_;
  Json requests = Json::object();
  for (const auto& [key, n] : server_->counters().requests)
    requests[key.first][std::to_string(key.second)] = n;
  j["requests"] = std::move(requests);
  return j;
}

void add_cniserver_api(api::WebApi& api, std::function<CniServerModule*()> module) {
  api.add("cniserver", "status",
          "the CNI server's socket and bridge, this process's attachments (count, list), the last GC, "
          "the start-up clean-up, and requests by command and CNI code",
          [module](const Json&, api::ApiDone done) {
            CniServerModule* m = module();
            if (!m) return done(make_error(Errc::kUnavailable, "module cniserver is not loaded"));
            done(m->status());
          });
}

}  // namespace vlcp::containers
