// vlcpd's modules, declared once in one list (make_modules) with their dependencies:
//   sched           placement and the EAL's worker lcores (cannot unload: the EAL starts once)
//   openflowserver  listeners, I/O threads, switch sessions, packet-in workers   <- sched
//   ovsdbmanager    the OVSDB client: replica, bridge take-over, PMD-aware re-plan <- sched
//   metrics         /metrics                                     <- openflowserver, ovsdbmanager
//   objectdb        the object database: the embedded store or a ZooKeeper ensemble
//   httpserver      the WebAPI: introspection, /objectdb and /manager (load, unload)
//   dockerplugin    Docker's remote network + IPAM driver on a unix socket <- objectdb, ovsdbmanager
//                   (declared only when server.startup names it or a module.dockerplugin.* key
//                   is set: its default socket is Docker's host-wide directory)
// They share the Runtime; a module's absent parts read as null (introspection says so).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "api/http.h"
#include "api/metrics.h"
#include "api/webapi.h"
#include "apps/host.h"
#include "apps/registry.h"
#include "containers/cni_module.h"
#include "containers/docker_module.h"
#include "daemon/options.h"
#include "db/objectdb.h"
#include "io/control_loop.h"
#include "io/modules.h"
#include "ovsdb/client.h"
#include "sched/lcores.h"
#include "switch/manager.h"

namespace vlcp::daemon {

struct Runtime {
  Runtime(io::ControlLoop& l, Settings s) : loop(l), settings(std::move(s)) {}
  io::ControlLoop& loop;
  Settings settings;
  io::ModuleManager modules;

  // sched
  std::mutex placement_mu;  // the plan is read by the metrics thread
  sched::PlacementInput placement_in;
  sched::Placement placement;
  std::unique_ptr<sched::Lcores> lcores;
  sched::Placement current_placement() {
    std::lock_guard<std::mutex> lock(placement_mu);
    return placement;
  }

  // openflowserver, ovsdbmanager, metrics, httpserver
  sw::SessionCounters counters;  // outlive sessions and reloads
  std::unique_ptr<sw::SwitchManager> switches;
  std::unique_ptr<ovsdb::OvsdbClient> ovsdb;
  std::unique_ptr<api::Metrics> metrics;
  std::unique_ptr<api::HttpServer> http;
  api::WebApi webapi;  // VLCP's /<module>/<method> (viperflow, ...)
  // The WebAPI's requests (control thread): by module and status, and their time.
  struct ApiCounters {
    std::map<std::pair<std::string, int>, uint64_t> requests;
    std::map<std::string, double> seconds;
    uint64_t in_flight = 0;
  } api_counters;
  // What the control thread publishes for /metrics each second (ObjectDB, the WebAPI).
  api::MetricBoard board;
  // More figures for the board, by the module that has them (the container servers).
  std::map<std::string, std::function<std::vector<api::BoardValue>()>> board_sources;

  // dockerplugin (owned by rt.modules; null when not declared)
  containers::DockerPluginModule* dockerplugin = nullptr;
  // cniserver (owned by rt.modules; null when not declared)
  containers::CniServerModule* cniserver = nullptr;

  // objectdb (the API holds the database weakly: unloading it is safe mid-request)
  std::unique_ptr<db::Store> store;
  std::shared_ptr<db::ObjectDb> objectdb;

  // ioprocessing: the flow apps the pipeline runs (settings.apps) and their switch links
  std::unique_ptr<apps::ModelView> model;  // the network model every app on this node reads
  std::vector<std::unique_ptr<apps::FlowApp>> apps;
  std::unique_ptr<apps::AppHost> host;  // the app platform: every flow app, each switch's flow owner
  std::map<uint64_t, std::unique_ptr<flows::SwitchLink>> links;

  // The container plug machines' step 5 (containers::FlowsWait) over whichever host runs now.
  std::unique_ptr<containers::FlowsWait> flows_wait;
};

// Declares every module into rt.modules.
void make_modules(Runtime& rt);

// The WebAPI's routes: /introspect/* (read-only), /objectdb/* and /manager/* (module control).
void handle_request(Runtime& rt, const api::HttpRequest& request, api::HttpResponder respond);

}  // namespace vlcp::daemon
