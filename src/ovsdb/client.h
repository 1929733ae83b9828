// vlcpd's OVSDB client: libopenvswitch's IDL (the typed bindings generated from
// vswitch.ovsschema, what ovn-controller uses), driven by its own thread and feeding the control
// thread through a ring. It monitors Open_vSwitch, Bridge, Port, Interface and Controller into
// a typed replica, reconnects with a full resync by itself, and runs transactions that verify
// what they change (OVSDB "wait") and retry on conflict. When configured, it makes vlcpd the
// controller of its bridges with fail_mode=secure.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/config.h"
#include "base/result.h"
#include "io/control_loop.h"
#include "ovsdb/replica.h"
#include "sched/ring.h"

namespace vlcp::ovsdb {

// X(field, key, C++ type, default, help)
#define VLCP_OVSDB_KEYS(X)                                                                                  \
  X(url, "module.ovsdbmanager.url", std::string, "unix:///var/run/openvswitch/db.sock",                     \
    "the OVSDB server: unix:///PATH or tcp://IP:PORT (empty string: no OVSDB client)")                      \
  X(controller, "module.ovsdbmanager.controller", std::string, "",                                          \
    "when set, the controller target vlcpd gives its bridges, e.g. tcp:127.0.0.1:6653")                     \
  X(bridges, "module.ovsdbmanager.bridges", std::vector<std::string>, {},                                   \
    "the bridges vlcpd takes over (default: all)")                                                          \
  X(fail_mode_secure, "module.ovsdbmanager.fail_mode_secure", bool, true,                                   \
    "set fail_mode=secure on the bridges it takes over")                                                    \
  X(probe_interval, "module.ovsdbmanager.probe_interval", double, 5.0, "seconds between OVSDB echo probes") \
  X(vswitchd_ctl, "module.ovsdbmanager.vswitchd_ctl", std::string, "",                                      \
    "ovs-vswitchd's control socket (unixctl, for vlcpctl trace); empty: found in the run directory of "     \
    "module.ovsdbmanager.url's socket (ovs-vswitchd.<pid>.ctl, else ovs-vswitchd.ctl)")

struct OvsdbSettings {
  std::string remote;  // in OVS syntax ("unix:PATH", "tcp:IP:PORT"); empty: disabled
  std::string controller;
  std::vector<std::string> bridges;
  bool fail_mode_secure = true;
  int probe_interval_ms = 5000;
  std::string vswitchd_ctl;  // empty: ovsdb::find_vswitchd_ctl looks beside the OVSDB socket
};
Result<OvsdbSettings> read_ovsdb_settings(const Config& config);

// Events on the control loop.
struct OvsdbUpdated {
  std::shared_ptr<const Replica> replica;
};
struct OvsdbConnection {
  bool connected;
};

// A port to plug: one Port with one Interface of the same name, on a bridge (CONTAINERS_DESIGN
// §3 step 3). The owner mark makes a crash's leftovers recognisable: an existing port of that
// name with another owner (or none) is refused (kConflict), one with the same owner is replaced.
struct PortSpec {
  std::string name;         // Port and Interface name (a system device's name: at most 15 bytes)
  std::string type;         // Interface.type: "" (a system device, e.g. a veth's host end), "internal", "tap"
  std::string owner;        // external_ids:vlcp-owner on both rows ("docker:<EID>", "cni:<id>:<ifname>")
  StringMap external_ids;   // more Interface external_ids ("iface-id", "attached-mac")
  int64_t mtu_request = 0;  // Interface.mtu_request; 0: leave unset
};

// The port commands the OVSDB thread has run, for the batch-size figures (any thread).
struct PortBatchStats {
  // Batch sizes in buckets 1, 2, 3-4, 5-8, ..., 257-512 (bucket i holds sizes in (2^(i-1), 2^i]).
  static constexpr size_t kBuckets = 10;
  uint64_t batches = 0;   // group transactions (one per batch, whatever its size)
  uint64_t commands = 0;  // port commands taken into them
  uint64_t max_size = 0;  // the largest batch
  uint64_t splits = 0;    // batches whose transaction failed and were retried one command at a time
  std::array<uint64_t, kBuckets> sizes{};
};

// How an ofport wait ends (pure; the client applies it to each replica it receives).
enum class OfportState { kPending, kReady, kFailed };
OfportState ofport_state(const Replica& r, const std::string& iface, int64_t* ofport, std::string* error);

// The OVSDB thread's batching rule: the longest prefix of `queue` (at most `max`) whose names are
// distinct — a second command for one name waits for the next transaction, so each batch is one
// transaction whose commands do not interact, and commands for one name keep their order.
size_t port_batch_prefix(const std::deque<std::string>& names, size_t max);

class OvsdbClient {
 public:
  OvsdbClient(io::ControlLoop& loop, OvsdbSettings settings);
  ~OvsdbClient();
  Status start();
  void stop();

  // --- control thread ---------------------------------------------------------------------------
  const Replica& replica() const { return *replica_; }
  std::shared_ptr<const Replica> replica_ptr() const { return replica_; }
  bool connected() const { return connected_.load(std::memory_order_relaxed); }
  // Makes `target` the only controller of `bridge` (fail_mode=secure when `secure`).
  void set_controller(const std::string& bridge, const std::string& target, bool secure,
                      std::function<void(Status)> done);
  // Plugs `spec` into `bridge` (Interface + Port inserted, Bridge.ports += by mutation). Every
  // port command queued when the OVSDB thread looks goes into ONE transaction (group commit);
  // when that transaction fails its commands are retried one at a time, so a bad one fails alone.
  // `done` on this thread: ok; kConflict (the name has another owner); kNotFound (no such
  // bridge); kInvalidArgument (OVSDB refused the values, e.g. a constraint); kUnavailable (not
  // connected, or the transaction failed).
  void plug_port(const std::string& bridge, PortSpec spec, std::function<void(Status)> done);
  // Removes port `name` (Bridge.ports -= by mutation; its Port and Interface rows go with it)
  // from whichever bridge holds it (`bridge` names the expected one, for messages). A port that
  // does not exist is success (undos are idempotent). With `owner` set, a port with another
  // owner is refused (kConflict) and stays.
  void unplug_port(const std::string& bridge, const std::string& name, std::function<void(Status)> done,
                   const std::string& owner = "");
  // Answers when a replica shows interface `iface` with an ofport > 0 (the value), or with its
  // `error` set (kUnavailable with OVS's text), or after `timeout` (kTimeout). Checked at once
  // against the current replica, then on every replica received.
  void wait_ofport(const std::string& iface, std::chrono::nanoseconds timeout,
                   std::function<void(Result<int64_t>)> done);
  size_t ofport_waits() const { return ofport_waits_.size(); }

  // --- any thread (metrics) ---------------------------------------------------------------------
  uint64_t updates() const { return updates_.load(std::memory_order_relaxed); }
  uint64_t connects() const { return connects_.load(std::memory_order_relaxed); }
  uint64_t transactions() const { return transactions_.load(std::memory_order_relaxed); }
  uint64_t transaction_failures() const { return transaction_failures_.load(std::memory_order_relaxed); }
  // The datapath ids of the bridges vlcpd controls (nullopt for one OVS has not given an id
  // yet): the metrics count those without a connected switch. Any thread.
  std::vector<std::optional<uint64_t>> managed_bridges() const;
  std::vector<std::pair<std::string, double>> metrics() const;
  PortBatchStats port_batch_stats() const;

 private:
  struct Event;
  struct Command;
  struct PortCommand;
  class FdWaker;
  struct OfportWait {
    uint64_t id;
    std::function<void(Result<int64_t>)> done;
    uint64_t timer;
  };

  void thread_main();
  void submit(Command c, std::function<void(Status)> done);
  void check_ofport_waits();
  void record_batch(size_t size, bool split);
  unsigned drain_events();
  void take_over_bridges();

  io::ControlLoop& loop_;
  OvsdbSettings settings_;
  int wake_fd_ = -1;
  std::unique_ptr<FdWaker> waker_;
  std::unique_ptr<sched::Ring<Event>> events_;
  std::unique_ptr<sched::Ring<Command>> commands_;
  std::thread thread_;
  uint64_t source_ = 0;
  std::atomic<bool> stop_{false};
  std::shared_ptr<const Replica> replica_;
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> updates_{0}, connects_{0}, transactions_{0}, transaction_failures_{0};
  uint64_t next_token_ = 0;
  std::map<uint64_t, std::function<void(Status)>> pending_;
  std::map<std::string, bool> taking_over_;              // bridge -> transaction in flight
  std::multimap<std::string, OfportWait> ofport_waits_;  // by interface name
  uint64_t next_wait_ = 0;
  std::atomic<uint64_t> port_batches_{0}, port_commands_{0}, port_batch_max_{0}, port_splits_{0};
  // The bridges vlcpd controls (module.ovsdbmanager.bridges, or all, when a controller is set):
  // each should have a connected switch (the VlcpSwitchMissing alert compares the two).
  std::atomic<uint64_t> bridges_managed_{0};
  mutable std::mutex managed_mu_;
  std::vector<std::optional<uint64_t>> managed_dpids_;  // (under managed_mu_) nullopt: not reported yet
  std::array<std::atomic<uint64_t>, PortBatchStats::kBuckets> port_batch_sizes_{};
};

}  // namespace vlcp::ovsdb
