// The `cniserver` module (docs/CONTAINERS_DESIGN.md §5, §6.2, §6.3): vlcpd's end of vlcp-cni,
// an HTTP server on a unix socket (module.cniserver.url) feeding the CNI server
// (containers/cni_server.h), which plugs through the plug machine over the daemon's ObjectDB,
// OVSDB client and its own link thread. The daemon declares CniServerModule
// and reads its keys with read_cniserver_settings; metrics() gives its vlcp_cni_* figures.
// Once the model and OVSDB (with the bridge) are ready it runs the start-up clean-up
// (CniServer::clean_up_at_start, module.cniserver.grace), retried with backoff until it succeeds.
//
// WebAPI: cniserver/status (socket, bridge, attachments: count and list, the last GC, the
// start-up clean-up, requests by command and code).
//
// Threads: the control thread (metrics() and status() too: the daemon's publish runs there).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/http.h"
#include "api/metrics.h"
#include "api/webapi.h"
#include "base/config.h"
#include "base/result.h"
#include "containers/cni_server.h"
#include "containers/plug.h"
#include "db/objectdb.h"
#include "io/control_loop.h"
#include "io/modules.h"
#include "link/executor.h"
#include "model/containers.h"
#include "ovsdb/client.h"

namespace vlcp::containers {

// X(field, key, C++ type, default, help)
#define VLCP_CNISERVER_KEYS(X)                                                                               \
  X(url, "module.cniserver.url", std::string, "unix:///var/run/vlcp-k8s-cni/vlcp-k8s-cni.sock",              \
    "where vlcp-cni reaches vlcpd: unix:///PATH (the CNI config's \"socket\"); '': the module does nothing") \
  X(socketmode, "module.cniserver.socketmode", int64_t, 0660, "the socket file's mode")                      \
  X(bridge, "module.cniserver.bridge", std::string, "br0", "the OVS bridge pods' ports are plugged into")    \
  X(mtu, "module.cniserver.mtu", int64_t, 1500,                                                              \
    "the pod interface's MTU when neither the CNI config, the subnet nor the network has one")               \
  X(logicalnetwork, "module.cniserver.logicalnetwork", std::string, "",                                      \
    "the logical network when neither CNI_ARGS nor the config names one ('': the config's name)")            \
  X(subnet, "module.cniserver.subnet", std::string, "",                                                      \
    "the subnet when neither CNI_ARGS nor the config names one ('': the network's only subnet)")             \
  X(mactemplate, "module.cniserver.mactemplate", std::string, "02:77:00:00:00:00",                           \
    "pods' MACs: this template with random low 24 bits (unless CNI_ARGS MAC or runtimeConfig.mac)")          \
  X(vethprefix, "module.cniserver.vethprefix", std::string, "vlcp",                                          \
    "the host ends' name prefix, 1-4 of [a-z0-9] (names fit 15 bytes)")                                      \
  X(ofportwait, "module.cniserver.ofportwait", double, 2.0,                                                  \
    "seconds to wait for OVS to give a pod's interface its ofport")                                          \
  X(stepdeadline, "module.cniserver.stepdeadline", double, 10.0, "seconds a plug step may take")             \
  X(txchecksum, "module.cniserver.txchecksum", std::string, "auto",                                          \
    "TX checksum offload on the veths: 'off', 'on', or 'auto' (off: the userspace datapath needs it)")       \
  X(grace, "module.cniserver.grace", double, 30.0,                                                           \
    "seconds an attachment must be old before the start-up clean-up may remove it")

struct CniServerKeys {
  VLCP_CNISERVER_KEYS(VLCP_KEYS_FIELD)
};

struct CniModuleSettings {
  bool requested = false;   // any module.cniserver.* key set (the daemon declares the module)
  std::string socket_path;  // "": off
  unsigned socket_mode = 0660;
  CniServerSettings server;
  PlugSettings plug;
  std::chrono::nanoseconds grace = std::chrono::seconds(30);
};
// The module.cniserver.* keys, checked (each error at its key's file:line).
Result<CniModuleSettings> read_cniserver_settings(const Config& config);

// vlcp_cni_requests_total{command,code}, vlcp_cni_request_seconds_total{command},
// vlcp_cni_requests_in_flight, and the plug machine's vlcp_plug_* with kind="cni".
std::vector<api::BoardValue> cni_board_values(const CniCounters& counters, const Plugger* plugger);

// The CNI server's model and OVSDB lookups over the daemon's parts (asked at every call: the
// modules they belong to can be reloaded).
class DaemonCniLookups final : public CniLookups {
 public:
  DaemonCniLookups(std::function<std::shared_ptr<db::ObjectDb>()> objectdb,
                   std::function<ovsdb::OvsdbClient*()> ovsdb)
      : objectdb_(std::move(objectdb)), ovsdb_(std::move(ovsdb)) {}
  void resolve_subnet(const std::string& lognet, const std::string& subnet,
                      std::function<void(Result<CniSubnet>)> done) override;
  void get_port(const std::string& port_id, std::function<void(Result<std::optional<Json>>)> done) override;
  void attachments(const std::string& lognet,
                   std::function<void(Result<std::vector<CniAttachment>>)> done) override;
  void attachment(const std::string& port_id,
                  std::function<void(Result<std::optional<CniAttachment>>)> done) override;
  std::optional<OvsdbView> ovsdb_view(const std::string& bridge) override;
  bool netns_exists(const std::string& path) override;
  std::optional<CniOvsInterface> ovs_interface(const std::string& bridge, const std::string& name) override;
  Status ready(const std::string& bridge) override;
  // This node's name: Open_vSwitch external_ids:system-id, else the host name (as the L2 app).
  std::string systemid() const override;

 private:
  std::function<std::shared_ptr<db::ObjectDb>()> objectdb_;
  std::function<ovsdb::OvsdbClient*()> ovsdb_;
};

// What the module takes from the daemon (the Runtime's parts, as functions: they come and go
// with their own modules).
struct CniServerDeps {
  std::function<std::shared_ptr<db::ObjectDb>()> objectdb;
  std::function<ovsdb::OvsdbClient*()> ovsdb;
  std::function<FlowsWait*()> flows;  // the plug machine's step 5 (unset or null: none)
};

// The module `cniserver`, after objectdb and ovsdbmanager. Unloading it closes the socket
// (vlcp-cni then answers "try again later", STATUS "not available").
class CniServerModule final : public io::Module {
 public:
  CniServerModule(io::ControlLoop& loop, const CniModuleSettings& settings, CniServerDeps deps);
  ~CniServerModule() override;
  std::string name() const override { return "cniserver"; }
  std::vector<std::string> dependencies() const override { return {"objectdb", "ovsdbmanager"}; }
  Status init() override { return {}; }
  Status start() override;
  void stop() override;

  // For /metrics (cni_board_values of the running server; empty when stopped).
  std::vector<api::BoardValue> metrics() const;
  // {"socket", "bridge", "running", "attachments": {"count", "list": this process's}, "last_gc",
  // "cleanup": the start-up clean-up's last summary (or "waiting_for"), "requests": by command
  // and code}.
  Json status() const;
  CniServer* server() { return server_.get(); }

 private:
  // The start-up clean-up once the lookups are ready; again with backoff until it succeeds.
  void clean_up(std::chrono::nanoseconds delay);

  io::ControlLoop& loop_;
  const CniModuleSettings& settings_;
  CniServerDeps deps_;
  std::unique_ptr<model::Containers> containers_;
  std::unique_ptr<EndpointStore> store_;
  std::unique_ptr<PortOps> ports_;
  std::unique_ptr<link::LinkExecutor> links_;
  std::unique_ptr<DaemonCniLookups> lookups_;
  std::unique_ptr<Plugger> plugger_;
  std::unique_ptr<CniServer> server_;
  std::unique_ptr<api::HttpServer> http_;
  io::TimerId cleanup_timer_ = 0;
  std::chrono::nanoseconds cleanup_backoff_{0};
  bool cleaned_ = false;
  std::string cleanup_waiting_;  // why the clean-up has not run yet
};

// cniserver/status on whichever module instance `module` gives (null: not loaded, unavailable).
void add_cniserver_api(api::WebApi& api, std::function<CniServerModule*()> module);

}  // namespace vlcp::containers
