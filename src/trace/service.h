// vlcpd's module `trace` (docs/TRACE_DESIGN.md §3, §10): `/trace/packet` answers "why can't A
// reach B?" on this node. It resolves FROM and TO in the model (its own model view, so that it
// answers with module ioprocessing unloaded), builds the packet (trace/packet_spec), runs
// `ofproto/trace BRIDGE FLOW` through ovs-vswitchd's control socket (ovsdb/unixctl: no packet, no
// side effects), parses and annotates every step (trace/parse, trace/annotate, apps/explain) and
// gives one verdict (trace/verdict). Single node so far (§15 step 6): a hop that leaves this
// server by a tunnel or uplink is not followed yet (node records and the ObjectDB mailbox are
// step 7).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/webapi.h"
#include "apps/host.h"
#include "apps/model_view.h"
#include "db/objectdb.h"
#include "io/control_loop.h"
#include "io/modules.h"
#include "ovsdb/client.h"
#include "ovsdb/unixctl.h"
#include "pipeline/tables.h"
#include "switch/manager.h"

namespace vlcp::trace {

// What the module reads from the rest of vlcpd, at call time (null: that module is not loaded).
struct TraceDeps {
  std::function<std::shared_ptr<db::ObjectDb>()> objectdb;
  std::function<const ovsdb::OvsdbClient*()> ovsdb;
  std::function<const apps::AppHost*()> host;  // ioprocessing: the flow owners and the apps
  std::function<const sw::SwitchManager*()> switches;
  std::function<const apps::ModelView*()> model;  // ioprocessing's (the apps')
  const pipeline::TableMap* tables = nullptr;
  ovsdb::OvsdbSettings ovsdb_settings;  // the control socket's key and the OVSDB socket's directory
};

class TraceModule final : public io::Module {
 public:
  TraceModule(io::ControlLoop& loop, TraceDeps deps) : loop_(loop), deps_(std::move(deps)) {}
  ~TraceModule() override;
  std::string name() const override { return "trace"; }
  std::vector<std::string> dependencies() const override { return {"objectdb", "ovsdbmanager"}; }
  Status init() override { return {}; }
  Status start() override;
  void stop() override;

  // /trace/packet (§10): params from, to, proto, dport, sport, ttl, raw.
  void packet(const nlohmann::json& params, api::ApiDone done);
  // /trace/status: the traces answered and running.
  nlohmann::json status() const;

 private:
  struct Run;
  const apps::ModelView* model_now();  // a loaded model view, or null
  void when_model(std::chrono::steady_clock::time_point deadline,
                  std::function<void(const apps::ModelView*)> fn);
  void packet(const apps::ModelView& model, const nlohmann::json& params, api::ApiDone done);
  void finish(const std::shared_ptr<Run>& run, Result<std::string> text);
  void answer(const std::shared_ptr<Run>& run);  // the verdict, and the result to the caller

  io::ControlLoop& loop_;
  TraceDeps deps_;
  std::unique_ptr<apps::ModelView> model_;  // its own, only while ioprocessing's is not there
  std::unique_ptr<ovsdb::UnixctlClient> unixctl_;
  std::shared_ptr<bool> alive_;
  int running_ = 0;
  std::map<std::string, uint64_t> verdicts_;  // by code
  uint64_t unixctl_errors_ = 0;
  std::map<uint8_t, std::string> app_names_;  // by cookie app id, as the host last had them
};

// The WebAPI methods of module `trace`; `module` gives it at call time (null: not running -> 503).
void add_trace_api(api::WebApi& api, std::function<TraceModule*()> module);

}  // namespace vlcp::trace
