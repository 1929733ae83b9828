// vlcpd's module `trace` (docs/TRACE_DESIGN.md §3, §10): `/trace/packet` answers "why can't A
// reach B?" on this node. It resolves FROM and TO in the model (its own model view, so that it
// answers with module ioprocessing unloaded), builds the packet (trace/packet_spec), runs
// `ofproto/trace BRIDGE FLOW` through ovs-vswitchd's control socket (ovsdb/unixctl: no packet, no
// side effects), parses and annotates every step (trace/parse, trace/annotate, apps/explain) and
// gives one verdict (trace/verdict). Across servers (§7, step 7): round 0 asks every live node
// (trace/mailbox: node records and bounded slots in ObjectDB) where FROM and TO are bound; each
// hop runs on the server the packet is on (this one, or a peer asked through the mailbox, which
// answers with its own annotated hop), following tunnel and uplink outputs toward TO (hop limit
// 4, loop detection, 5 s per hop, --timeout in all).
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
#include "trace/hop.h"
#include "trace/mailbox.h"
#include "trace/verdict.h"

namespace vlcp::trace {

// What the module reads from the rest of vlcpd, at call time (null: that module is not loaded).
struct TraceDeps {
  std::function<std::shared_ptr<db::ObjectDb>()> objectdb;
  std::function<const ovsdb::OvsdbClient*()> ovsdb;
  std::function<const apps::AppHost*()> host;  // ioprocessing: the flow owners and the apps
  std::function<const sw::SwitchManager*()> switches;
  // --live (§9): one encoded OpenFlow message to a switch of this node (SwitchManager::send).
  std::function<Status(uint64_t dpid, std::vector<uint8_t> message)> send;
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

  // /trace/packet (§10): params from, to, proto, dport, sport, ttl, server, timeout, raw; for a
  // physical FROM (SERVER/INTERFACE, an uplink or tunnel) network, src_mac, src_ip, tun_src.
  void packet(const nlohmann::json& params, api::ApiDone done);
  // /trace/status: the traces answered and running, the mailbox's counters.
  nlohmann::json status() const;
  // /trace/nodes: the node records, each with `live`.
  nlohmann::json nodes() const;

 private:
  struct Run;
  struct Hop {  // one hop run on this node
    std::string system_id;
    std::map<uint64_t, apps::SwitchView> views;
    Entry entry;
    uint32_t in_port = 0;
    bool raw = false;
    nlohmann::json json;
  };
  std::string system_id() const;
  void start_mailbox();
  nlohmann::json node_record() const;
  void with_model(const std::string& source, std::set<std::string> ids,
                  std::chrono::steady_clock::time_point deadline,
                  std::function<void(const apps::ModelView*)> fn);
  void wait_model(std::set<std::string> ids, std::chrono::steady_clock::time_point deadline,
                  std::function<void(const apps::ModelView*)> fn);
  void release_model(const std::string& source);
  void resolve(const std::shared_ptr<Run>& run, const apps::ModelView& m, const nlohmann::json& params);
  void physical_from(const std::shared_ptr<Run>& run, const std::string& server, const std::string& iface);
  void round0(const std::shared_ptr<Run>& run, std::vector<std::string> ports,
              std::optional<std::pair<std::string, std::string>> iface);
  void ask_round0(const std::shared_ptr<Run>& run, const nlohmann::json& req,
                  const std::function<void(const std::string&, const nlohmann::json&)>& merge);
  nlohmann::json bindings(const nlohmann::json& req) const;
  void after_round0(const std::shared_ptr<Run>& run);
  void after_iface(const std::shared_ptr<Run>& run);
  nlohmann::json outside_hop(const std::shared_ptr<Run>& run);
  void hop(const std::shared_ptr<Run>& run, const std::string& server, nlohmann::json req);
  void next(const std::shared_ptr<Run>& run, nlohmann::json hop);
  std::string node_with_vtep(const std::string& vtep) const;
  void serve(const std::string& requester, const nlohmann::json& req, Mailbox::Reply reply);
  void run_hop(const nlohmann::json& req, std::function<void(nlohmann::json)> done);
  void annotate(Hop& hop, const std::string& text);
  void fail(const std::shared_ptr<Run>& run, Status error);
  void answer(const std::shared_ptr<Run>& run);
  void live(const std::shared_ptr<Run>& run);     // --live after the simulation (§9.2)
  void release(const std::shared_ptr<Run>& run);  // the run's slot, model interest and count  // the verdict,
                                                  // and the result to the caller

  io::ControlLoop& loop_;
  TraceDeps deps_;
  // Its own (interest-based) view: for ports the apps' view does not follow, or no apps' view.
  std::unique_ptr<apps::ModelView> model_;
  std::unique_ptr<ovsdb::UnixctlClient> unixctl_;
  std::unique_ptr<Mailbox> mailbox_;
  std::shared_ptr<bool> alive_;
  int running_ = 0;
  std::map<std::string, uint64_t> verdicts_;  // by code
  uint64_t unixctl_errors_ = 0, peer_timeouts_ = 0;
  std::map<uint8_t, std::string> app_names_;  // by cookie app id, as the host last had them
};

// The facts the verdict rules read from a hop as answered (by this node or a peer): its server,
// bridge, OpenFlow health, steps, outputs and drop.
void hop_facts(const nlohmann::json& hop, VerdictInput& vi);

// The WebAPI methods of module `trace`; `module` gives it at call time (null: not running -> 503).
void add_trace_api(api::WebApi& api, std::function<TraceModule*()> module);

}  // namespace vlcp::trace
