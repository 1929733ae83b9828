// The `dockerplugin` module (docs/CONTAINERS_DESIGN.md §2.1): Docker's libnetwork remote
// NetworkDriver + IpamDriver on a unix socket, run by DockerDriver on the model and the plug
// machine. The socket appears only when the module is ready — ObjectDB open, OVSDB connected,
// the bridge present — so that Docker's ~15 s connection retry covers a vlcpd start; a stale
// socket file is unlinked after a connect test finds nobody answering (HttpServer's unix
// socket); a bind that fails is a clear warning, retried, never a failed vlcpd.
//
// The module is declared by the daemon only when it is asked for: listed in server.startup, or
// any module.dockerplugin.* key set (its default socket is Docker's host-wide directory, which a
// vlcpd without Docker must not take).
//
// WebAPI (VLCP's): dockerplugin/getdockerinfo?portid=<logical port id> (the DockerInfo objects),
// dockerplugin/status (settings, endpoints, requests by method and status).
// Metrics: vlcp_docker_requests_total{method,status}, vlcp_docker_request_seconds_total{method},
// vlcp_docker_request_seconds_max{method}, vlcp_container_endpoints{kind="docker"}, vlcp_plug_*.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/http.h"
#include "api/metrics.h"
#include "api/webapi.h"
#include "base/config.h"
#include "base/result.h"
#include "containers/adapters.h"
#include "containers/docker_driver.h"
#include "containers/docker_reconciler.h"
#include "containers/plug.h"
#include "db/objectdb.h"
#include "io/control_loop.h"
#include "io/modules.h"
#include "link/executor.h"
#include "model/containers.h"
#include "ovsdb/client.h"

namespace vlcp::containers {

// X(field, key, C++ type, default, help)
// clang-format off
#define VLCP_DOCKERPLUGIN_KEYS(X)                                                                   \
  X(url, "module.dockerplugin.url", std::string, "unix:///run/docker/plugins/vlcp.sock",            \
    "the plugin's socket, unix:///PATH (Docker's driver name is the file's base name)")            \
  X(socketmode, "module.dockerplugin.socketmode", std::string, "0660",                              \
    "the socket file's mode, octal text")                                                           \
  X(scope, "module.dockerplugin.scope", std::string, "local",                                       \
    "the driver's scope: 'local' (networks span servers through ObjectDB), or 'global' (a dockerd " \
    "with a working cluster store only)")                                                           \
  X(ovsbridge, "module.dockerplugin.ovsbridge", std::string, "dockerbr0",                           \
    "the OVS bridge containers are plugged into (vlcpd must control it)")                           \
  X(vethprefix, "module.dockerplugin.vethprefix", std::string, "vlcp",                              \
    "the veth names' prefix, 1-4 of [a-z0-9]")                                                      \
  X(dstprefix, "module.dockerplugin.dstprefix", std::string, "eth",                                 \
    "the container interfaces' name prefix Docker numbers (eth0, eth1, ...)")                      \
  X(mactemplate, "module.dockerplugin.mactemplate", std::string, "02:00:00:00:00:00",               \
    "the MAC template (XOR hash(subnet) << 8 XOR the address), when Docker gives no MAC")          \
  X(mtu, "module.dockerplugin.mtu", int64_t, 1500,                                                  \
    "the veth's MTU when neither the subnet nor the logical network has one")                       \
  X(autoremoveports, "module.dockerplugin.autoremoveports", bool, true,                             \
    "a stale port of this node with the endpoint's id (a crashed run's) is replaced, not a 409")    \
  X(pooltimeout, "module.dockerplugin.pooltimeout", double, 60.0,                                   \
    "seconds an IPAM pool may wait for its network before the reconcile removes it")                \
  X(iptimeout, "module.dockerplugin.iptimeout", double, 60.0,                                       \
    "seconds a reserved address may wait for its endpoint before the reconcile removes it")         \
  X(cidrrange, "module.dockerplugin.cidrrange", std::string, "10.0.0.0/8",                          \
    "where a network without --subnet gets its /24")                                                \
  X(ofportwait, "module.dockerplugin.ofportwait", double, 2.0,                                      \
    "seconds to wait for OVS to give a plugged port its ofport")                                    \
  X(stepdeadline, "module.dockerplugin.stepdeadline", double, 10.0,                                 \
    "seconds one plug step (model commit, veth, OVSDB) may take before the request fails (504)")   \
  X(vhostbind, "module.dockerplugin.vhostbind", nlohmann::json, nullptr,                            \
    "VLCP's; accepted and ignored (the socket is module.dockerplugin.url)")                         \
  X(ipcommand, "module.dockerplugin.ipcommand", nlohmann::json, nullptr,                            \
    "VLCP's; accepted and ignored (vlcpd uses rtnetlink, never ip)")                                \
  X(ovscommand, "module.dockerplugin.ovscommand", nlohmann::json, nullptr,                          \
    "VLCP's; accepted and ignored (vlcpd uses its OVSDB client, never ovs-vsctl)")                \
  X(dockerurl, "module.dockerplugin.dockerurl", std::string, "unix:///var/run/docker.sock",         \
    "Docker's Engine API, read by the reconcile: unix:///PATH, tcp://IP:PORT or http://IP[:PORT]")  \
  X(reconcileinterval, "module.dockerplugin.reconcileinterval", double, 300.0,                      \
    "seconds between two reconciles against Docker's view (0: at start only)")                     \
  X(reconcilegrace, "module.dockerplugin.reconcilegrace", double, 30.0,                             \
    "seconds an endpoint's artifacts must be old before the reconcile may remove or repair them") \
  X(drivername, "module.dockerplugin.drivername", std::string, "",                                  \
    "the plugin's name in Docker (docker network create -d NAME), which the reconcile lists "      \
    "networks by: the spec file's base name when Docker finds the socket through one; '' = the "    \
    "socket's base name")
// clang-format on

struct DockerPluginSettings {
  bool requested = false;  // any module.dockerplugin.* key set (the daemon declares the module)
  std::string unix_path;   // from url
  unsigned socket_mode = 0660;
  DockerDriverSettings driver;
  PlugSettings plug;
  std::string docker_url = "unix:///var/run/docker.sock";  // dockerurl
  std::string driver_name;                                 // drivername ('' = the socket's stem)
  ReconcilerSettings reconcile;
  std::vector<std::string> ignored;  // VLCP's keys that were set (warned about at start)
};
Result<DockerPluginSettings> read_dockerplugin_settings(const Config& config);

// What the module takes from the daemon (asked at start and on each use: modules reload).
struct DockerPluginDeps {
  std::function<std::shared_ptr<db::ObjectDb>()> objectdb;
  std::function<ovsdb::OvsdbClient*()> ovsdb;
  std::function<FlowsWait*()> flows;  // the plug machine's step 5 (unset or null: none)
};

class DockerPluginModule final : public io::Module {
 public:
  DockerPluginModule(io::ControlLoop& loop, DockerPluginSettings settings, DockerPluginDeps deps);
  ~DockerPluginModule() override;
  std::string name() const override { return "dockerplugin"; }
  std::vector<std::string> dependencies() const override { return {"objectdb", "ovsdbmanager"}; }
  Status init() override;
  Status start() override;
  void stop() override;

  // Running and its socket bound.
  bool listening() const { return server_ != nullptr; }
  DockerDriver* driver() { return driver_.get(); }
  // Null until the module is ready (OVSDB connected, the bridge there).
  DockerReconciler* reconciler() { return reconciler_.get(); }
  const std::string& reconcile_off_reason() const { return reconcile_off; }
  nlohmann::json status() const;
  std::vector<api::BoardValue> metrics() const;
  // The DockerInfo of each logical port id (dumped), for getdockerinfo.
  void docker_info(const std::vector<std::string>& port_ids,
                   std::function<void(Result<nlohmann::json>)> done);

 private:
  // Binds the socket once the module is ready; else tries again shortly.
  void try_listen();

  io::ControlLoop& loop_;
  DockerPluginSettings settings_;
  DockerPluginDeps deps_;
  std::shared_ptr<db::ObjectDb> db_;
  std::unique_ptr<model::Containers> containers_;
  std::unique_ptr<ModelEndpoints> endpoints_;
  std::unique_ptr<OvsdbPorts> ports_;
  std::unique_ptr<link::LinkExecutor> links_;
  std::unique_ptr<Plugger> plugger_;
  std::unique_ptr<DockerDriver> driver_;
  std::unique_ptr<api::HttpServer> server_;
  std::unique_ptr<HttpDockerEngine> engine_;
  std::unique_ptr<DockerReconciler> reconciler_;
  InFlightTracker in_flight_;
  io::TimerId timer_ = 0;
  std::string waiting_for;  // why the socket is not there yet ("" once listening)
  // Why the reconcile does not run ("" when it does): Docker's name for the plugin is unknown.
  std::string reconcile_off;
  int attempts_ = 0;
};

// dockerplugin/getdockerinfo and dockerplugin/status, on whichever module instance `module` gives
// (null: not loaded, answered 503).
void add_dockerplugin_api(api::WebApi& api, std::function<DockerPluginModule*()> module);

}  // namespace vlcp::containers
