// /metrics for Prometheus, on its own port (localhost by default; a password is required to
// bind anywhere else). Everything is read at scrape time from counters and snapshots the
// running parts keep anyway: atomics, ring statistics, the switch snapshot, the placement.
// Names follow Prometheus conventions: vlcp_ prefix, base units, _total for counters.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/config.h"
#include "base/result.h"
#include "io/control_loop.h"
#include "sched/placement.h"
#include "switch/manager.h"
#include "switch/session.h"

namespace vlcp::api {

// X(field, key, C++ type, default, help)
#define VLCP_METRICS_KEYS(X)                                                                         \
  X(url, "module.metrics.url", std::string, "tcp://127.0.0.1:9464",                                  \
    "where /metrics listens (tcp://IP:PORT; empty string: disabled)")                                \
  X(user, "module.metrics.user", std::string, "vlcp", "HTTP basic-auth user when a password is set") \
  X(password, "module.metrics.password", std::string, "",                                            \
    "HTTP basic-auth password; required when the address is not a loopback one")

struct MetricsSettings {
  std::string bind;  // "IP:PORT" for the exposer; empty: disabled
  std::string user, password;
};
Result<MetricsSettings> read_metrics_settings(const Config& config);

// Values the control thread publishes for the exporter's thread (the parts whose counters are
// not atomics: ObjectDB, the WebAPI): a snapshot replaced as a whole, read under a lock.
struct BoardValue {
  std::string name, help;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;  // a name ending in _total is a counter, any other a gauge
};
class MetricBoard {
 public:
  void publish(std::vector<BoardValue> values) {
    std::lock_guard<std::mutex> lock(mu_);
    values_ = std::move(values);
  }
  std::vector<BoardValue> snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return values_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<BoardValue> values_;
};

// What the exporter reads; any pointer may be null (the family is then absent).
struct MetricSources {
  const sw::SessionCounters* openflow = nullptr;
  const sw::SwitchManager* switches = nullptr;
  const io::ControlLoop* loop = nullptr;
  std::function<sched::Placement()> placement;                         // the current plan
  std::function<std::vector<std::pair<std::string, double>>()> ovsdb;  // name -> value gauges
  // The datapath ids of the bridges vlcpd controls (nullopt: not reported by OVS yet).
  std::function<std::vector<std::optional<uint64_t>>()> managed_bridges;
  const MetricBoard* board = nullptr;
};

class Metrics {
 public:
  static Result<std::unique_ptr<Metrics>> start(const MetricsSettings& settings, MetricSources sources);
  ~Metrics();
  int port() const { return port_; }
  // The exposition text, as a scrape returns it (for tests and `vlcpctl`).
  std::string render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace vlcp::api
