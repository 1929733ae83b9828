// vlcpd's OVSDB client: libopenvswitch's IDL (the typed bindings generated from
// vswitch.ovsschema, what ovn-controller uses), driven by its own thread and feeding the control
// thread through a ring. It monitors Open_vSwitch, Bridge, Port, Interface and Controller into
// a typed replica, reconnects with a full resync by itself, and runs transactions that verify
// what they change (OVSDB "wait") and retry on conflict. When configured, it makes vlcpd the
// controller of its bridges with fail_mode=secure.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
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
#define VLCP_OVSDB_KEYS(X)                                                              \
  X(url, "module.ovsdbmanager.url", std::string, "unix:///var/run/openvswitch/db.sock", \
    "the OVSDB server: unix:///PATH or tcp://IP:PORT (empty string: no OVSDB client)")  \
  X(controller, "module.ovsdbmanager.controller", std::string, "",                      \
    "when set, the controller target vlcpd gives its bridges, e.g. tcp:127.0.0.1:6653") \
  X(bridges, "module.ovsdbmanager.bridges", std::vector<std::string>, {},               \
    "the bridges vlcpd takes over (default: all)")                                      \
  X(fail_mode_secure, "module.ovsdbmanager.fail_mode_secure", bool, true,               \
    "set fail_mode=secure on the bridges it takes over")                                \
  X(probe_interval, "module.ovsdbmanager.probe_interval", double, 5.0, "seconds between OVSDB echo probes")

struct OvsdbSettings {
  std::string remote;  // in OVS syntax ("unix:PATH", "tcp:IP:PORT"); empty: disabled
  std::string controller;
  std::vector<std::string> bridges;
  bool fail_mode_secure = true;
  int probe_interval_ms = 5000;
};
Result<OvsdbSettings> read_ovsdb_settings(const Config& config);

// Events on the control loop.
struct OvsdbUpdated {
  std::shared_ptr<const Replica> replica;
};
struct OvsdbConnection {
  bool connected;
};

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

  // --- any thread (metrics) ---------------------------------------------------------------------
  uint64_t updates() const { return updates_.load(std::memory_order_relaxed); }
  uint64_t connects() const { return connects_.load(std::memory_order_relaxed); }
  uint64_t transactions() const { return transactions_.load(std::memory_order_relaxed); }
  uint64_t transaction_failures() const { return transaction_failures_.load(std::memory_order_relaxed); }
  std::vector<std::pair<std::string, double>> metrics() const;

 private:
  struct Event;
  struct Command;
  class FdWaker;

  void thread_main();
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
  std::map<std::string, bool> taking_over_;  // bridge -> transaction in flight
};

}  // namespace vlcp::ovsdb
