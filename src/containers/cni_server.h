// vlcpd's CNI server (docs/CONTAINERS_DESIGN.md §5): the requests vlcp-cni forwards (POST
// /add|/del|/check|/status|/gc, the runtime's CNI_* variables in X-CNI-* headers, the network
// configuration as the body; src/cni/wire.h) run through the plug machine (containers/plug.h)
// and answered with a result in the configuration's cniVersion or a CNI error object (§5.5).
// Transport-free: the module (containers/cni_module.h) feeds it from its unix socket, the tests
// call handle() directly with fakes behind every seam.
//
//   ADD    network: CNI_ARGS network -> config logicalnetwork -> module logicalnetwork -> the
//          config's name; subnet likewise, else the network's only one (several: code 7).
//          Address: CNI_ARGS IP, else runtimeConfig.ips, else allocated; MAC: CNI_ARGS MAC,
//          else runtimeConfig.mac, else mactemplate with random low bits. The same ADD again
//          answers the same result; a different one for an attached (containerid, ifname) 100.
//   DEL    idempotent (nothing there, the netns gone: success).
//   CHECK  the model port (105), the OVSDB interface (104), the interface in the netns (103).
//   STATUS 0, or 50 with the reason.
//   GC     this node's attachments on the network not in cni.dev/valid-attachments removed.
// Requests for one (network, containerid, ifname) run one after the other. Which network an
// attachment is on comes from its CNI info in the model (it survives a restart), so a DEL naming
// another network leaves it alone after a restart too.
//
// At start (clean_up_at_start, design §4's last paragraph): CNI has no runtime to ask, so this
// node's attachments older than the grace whose network namespace is gone, or that no veth
// carries, are unplugged (plan_cni_startup over the link dump, the bridge's OVSDB interfaces and
// the model's CNI infos, in reconcile.h's snapshot order).
//
// Threads: the control thread only; every seam answers through its callback on that thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "cni/spec.h"
#include "cni/wire.h"
#include "containers/plug.h"
#include "containers/reconcile.h"
#include "io/control_loop.h"
#include "link/executor.h"

namespace vlcp::containers {

// ---- what the server reads besides the plug machine's seams ------------------------------------

// A logical network's subnet, as the model has it.
struct CniSubnet {
  std::string lognet_id;
  std::string subnet_id;         // "": the network has no subnet (ports without an address)
  Json subnet = Json::object();  // the subnet as dumped (dns_nameservers, domain_name, ...)
};

// One of this node's CNI attachments (a CNI info in the model).
struct CniAttachment {
  std::string port_id;
  std::string container_id;
  std::string ifname;
  std::string lognet_id;
  std::string netns;
  std::string cni_network;  // the CNI configuration's name it was added under ("" unknown)
  int64_t created_us = 0;   // the info's "created" (µs, the model's clock; 0 unknown)
};

// An OVSDB interface, as the replica shows it.
struct CniOvsInterface {
  std::map<std::string, std::string> external_ids;
  int64_t ofport = 0;  // <= 0: none (yet), or an error
};

// The model and OVSDB lookups of ADD, CHECK, STATUS and GC (the module adapts ObjectDB and the
// OVSDB client's replica; the tests fake it).
class CniLookups {
 public:
  virtual ~CniLookups() = default;
  // The network `lognet` and its subnet `subnet` ("" : its only one). kNotFound: no such network
  // or subnet (or the subnet is another network's); kInvalidArgument: several subnets and none
  // named; kUnavailable: the store cannot be read.
  virtual void resolve_subnet(const std::string& lognet, const std::string& subnet,
                              std::function<void(Result<CniSubnet>)> done) = 0;
  // The logical port as dumped (ip_address, mac_address, ...), or nullopt when there is none.
  virtual void get_port(const std::string& port_id,
                        std::function<void(Result<std::optional<Json>>)> done) = 0;
  // This node's CNI attachments on `lognet` ("": on every network).
  virtual void attachments(const std::string& lognet,
                           std::function<void(Result<std::vector<CniAttachment>>)> done) = 0;
  // The attachment whose port is `port_id` (any node's CNI info), or nullopt when there is none.
  virtual void attachment(const std::string& port_id,
                          std::function<void(Result<std::optional<CniAttachment>>)> done) = 0;
  // The interfaces on `bridge` with their owner marks now; nullopt while OVSDB is not connected.
  virtual std::optional<OvsdbView> ovsdb_view(const std::string& bridge) = 0;
  // False only when the path is known not to exist (a namespace deleted).
  virtual bool netns_exists(const std::string& path) = 0;
  // The interface `name` on `bridge` now, or nullopt.
  virtual std::optional<CniOvsInterface> ovs_interface(const std::string& bridge,
                                                       const std::string& name) = 0;
  // Ok when the model is loaded, ObjectDB reachable, OVSDB connected and `bridge` present; else
  // why not (STATUS's code 50 details).
  virtual Status ready(const std::string& bridge) = 0;
  // This node's name (the infos' systemid) when the settings give none.
  virtual std::string systemid() const { return {}; }
};

// ---- the server ----------------------------------------------------------------------------------

struct CniServerSettings {
  std::string bridge = "br0";
  uint32_t mtu = 1500;          // when neither the config, the subnet nor the network has one
  std::string logical_network;  // module.cniserver.logicalnetwork
  std::string subnet;           // module.cniserver.subnet
  std::string mac_template = "02:77:00:00:00:00";
  std::string systemid;         // this node (the infos' owner); "": CniLookups::systemid()
  unsigned mac_candidates = 4;  // random MACs offered to the model per ADD without one
};

// Requests answered, by command and CNI code (0: success), and their time (for
// vlcp_cni_requests_total and vlcp_cni_request_seconds).
struct CniCounters {
  std::map<std::pair<std::string, int>, uint64_t> requests;  // (command, code)
  std::map<std::string, double> seconds;                     // command -> seconds answering
  std::map<std::string, uint64_t> answered;                  // command -> requests answered
  uint64_t in_flight = 0;
};

// The CNI error code for a failed step (one function, §5.5): refused input 7, an address in use
// 101, a MAC in use 102, another conflict 100, unreachable 11, a deadline 110, else 111.
cni::ErrorCode cni_code_of(const Status& status);

class CniServer {
 public:
  using Respond = std::function<void(cni::Answer)>;
  CniServer(io::ControlLoop& loop, Plugger& plugger, link::LinkOps& links, CniLookups& lookups,
            CniServerSettings settings);
  ~CniServer();  // answers still to come are dropped
  CniServer(const CniServer&) = delete;
  CniServer& operator=(const CniServer&) = delete;

  // One request as the HTTP server parsed it; `respond` is called exactly once (on the loop).
  void handle(std::string_view method, std::string_view target, const cni::HeaderLookup& header,
              std::string body, Respond respond);

  const CniCounters& counters() const { return counters_; }
  // The attachments this process made and has not removed, {owner: {network, netns, ...}}.
  Json attachments() const;

  // The start-up clean-up: snapshots (now_us first, then the link dump, the OVSDB view, the
  // model's infos), plan_cni_startup (grace_us; attachments with a request running or made by
  // this process are left alone), then each unplug in its attachment's queue. `done` gets the
  // summary {started_us, result ("ok" | "failed"), error, attachments, plan [...], removed {what:
  // n}, failures [...]}, also kept as last_cleanup().
  void clean_up_at_start(int64_t now_us, int64_t grace_us, std::function<void(const Json&)> done);
  const Json& last_cleanup() const { return last_cleanup_; }
  // The last GC request: {at_us, network, config, removed, failures} ({} before the first).
  const Json& last_gc() const { return last_gc_; }

 private:
  struct Call;
  struct AddParams {
    std::string lognet, subnet, ip, mac, netns;
    uint32_t mtu = 0;
    friend bool operator==(const AddParams&, const AddParams&) = default;
  };
  struct Attached {
    AddParams params;
    cni::AddResult result;
  };
  using Task = std::function<void(std::function<void()> finished)>;
  void enqueue(const std::string& key, Task task);
  void finish(const std::shared_ptr<Call>& call, cni::Answer answer, int code);
  void fail(const std::shared_ptr<Call>& call, cni::Error error);
  void run_add(std::shared_ptr<Call> call, std::function<void()> finished);
  void run_del(std::shared_ptr<Call> call, std::function<void()> finished);
  void run_check(std::shared_ptr<Call> call, std::function<void()> finished);
  void run_status(std::shared_ptr<Call> call);
  void run_gc(std::shared_ptr<Call> call);
  void unplug_for_del(std::shared_ptr<Call> call, std::function<void()> finished);
  std::string network_of(const Call& call) const;
  std::string subnet_of(const Call& call) const;

  io::ControlLoop& loop_;
  Plugger& plugger_;
  link::LinkOps& links_;
  CniLookups& lookups_;
  CniServerSettings settings_;
  CniCounters counters_;
  std::map<std::string, std::deque<Task>> queues_;  // by network|containerid|ifname
  std::map<std::string, Attached> attached_;        // by the endpoint's owner mark
  Json last_cleanup_ = Json::object();
  Json last_gc_ = Json::object();
  uint64_t mac_seed_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace vlcp::containers
