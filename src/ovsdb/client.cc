// The OVSDB client (see client.h).
#include "ovsdb/client.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>

#include "base/log.h"
#include "ovsdb/idl_glue.h"

namespace vlcp::ovsdb {

// ---- settings ----------------------------------------------------------------------------------

namespace {
struct OvsdbKeys {
  VLCP_OVSDB_KEYS(VLCP_KEYS_FIELD)
};
}  // namespace

Result<OvsdbSettings> read_ovsdb_settings(const Config& config) {
  OvsdbKeys keys;
  VLCP_OVSDB_KEYS(VLCP_KEYS_READ)
  OvsdbSettings s;
  if (!keys.url.empty()) {
    // VLCP's URL syntax to OVS's remote syntax.
    if (keys.url.rfind("unix://", 0) == 0 && keys.url.size() > 7 && keys.url[7] == '/') {
      s.remote = "unix:" + keys.url.substr(7);
    } else if (keys.url.rfind("tcp://", 0) == 0) {
      std::string hostport = keys.url.substr(6);
      while (!hostport.empty() && hostport.back() == '/') hostport.pop_back();
      if (hostport.find(':') == std::string::npos) hostport += ":6640";
      s.remote = "tcp:" + hostport;
    } else {
      return config.error_at("module.ovsdbmanager.url",
                             "expected unix:///PATH or tcp://IP[:PORT], got '" + keys.url + "'");
    }
  }
  s.controller = keys.controller;
  s.bridges = keys.bridges;
  s.fail_mode_secure = keys.fail_mode_secure;
  if (keys.probe_interval < 0 || keys.probe_interval > 3600)
    return config.error_at("module.ovsdbmanager.probe_interval", "must be 0..3600 seconds");
  s.probe_interval_ms = static_cast<int>(keys.probe_interval * 1000);
  s.vswitchd_ctl = keys.vswitchd_ctl;
  return s;
}

// ---- rings ---------------------------------------------------------------------------------------

struct OvsdbClient::Event {
  enum Kind : uint32_t { kSnapshot, kConnection, kTxnDone } kind;
  uint32_t flag;   // kConnection: connected
  uint64_t token;  // kTxnDone
  void* payload;   // kSnapshot: Replica*; kTxnDone: Status* (owned by the receiver)
};
struct SetController {
  std::string bridge, target;
  bool secure;
};
struct OvsdbClient::PortCommand {
  int kind;  // VLCP_PORT_PLUG / VLCP_PORT_UNPLUG
  std::string bridge;
  PortSpec spec;  // unplug: name and owner only
};
struct OvsdbClient::Command {
  uint64_t token;
  SetController* payload;  // owned by the receiver (set_controller), or null
  PortCommand* port;       // owned by the receiver (plug_port, unplug_port), or null
};

// ---- pure rules ----------------------------------------------------------------------------------

OfportState ofport_state(const Replica& r, const std::string& iface, int64_t* ofport, std::string* error) {
  auto it = r.interfaces.find(iface);
  if (it == r.interfaces.end()) return OfportState::kPending;
  if (it->second.ofport > 0) {
    if (ofport) *ofport = it->second.ofport;
    return OfportState::kReady;
  }
  if (!it->second.error.empty()) {
    if (error) *error = it->second.error;
    return OfportState::kFailed;
  }
  return OfportState::kPending;
}

size_t port_batch_prefix(const std::deque<std::string>& names, size_t max) {
  size_t n = 0;
  while (n < names.size() && n < max) {
    if (std::find(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(n), names[n]) !=
        names.begin() + static_cast<std::ptrdiff_t>(n))
      break;
    ++n;
  }
  return n;
}

namespace {
constexpr size_t kMaxPortBatch = 512;

Status port_status(const vlcp_port_result& r, const std::string& name) {
  std::string what = r.error ? r.error : "?";
  switch (r.code) {
    case VLCP_PORT_OK:
      return {};
    case VLCP_PORT_CONFLICT:
      return make_error(Errc::kConflict, what);
    case VLCP_PORT_NO_BRIDGE:
      return make_error(Errc::kNotFound, what);
    default:
      // OVSDB's own refusals of the values (RFC 7047 error strings) are the request's fault.
      for (const char* refusal : {"constraint violation", "syntax error", "referential integrity violation"})
        if (what.find(refusal) != std::string::npos)
          return make_error(Errc::kInvalidArgument, "port " + name + ": " + what);
      return make_error(Errc::kUnavailable, "port " + name + ": " + what);
  }
}
}  // namespace

// Wakes the OVSDB thread, which sleeps in OVS's poll loop on an eventfd.
class OvsdbClient::FdWaker final : public sched::Waker {
 public:
  explicit FdWaker(int fd) : fd_(fd) {}
  void notify() override {
    uint64_t one = 1;
    while (write(fd_, &one, sizeof one) < 0 && errno == EINTR) {
    }
  }

 private:
  int fd_;
};

OvsdbClient::OvsdbClient(io::ControlLoop& loop, OvsdbSettings settings)
    : loop_(loop), settings_(std::move(settings)), replica_(std::make_shared<Replica>()) {}

OvsdbClient::~OvsdbClient() {
  stop();
  for (auto& [name, w] : ofport_waits_) loop_.cancel(w.timer);
  if (source_) loop_.remove_source(source_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

Status OvsdbClient::start() {
  if (settings_.remote.empty()) return {};
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return make_error(Errc::kResourceExhausted, "eventfd failed");
  waker_ = std::make_unique<FdWaker>(wake_fd_);
  VLCP_ASSIGN_OR_RETURN(events_, sched::Ring<Event>::create("ovsdb-to-control", 1023, &loop_.waker()));
  VLCP_ASSIGN_OR_RETURN(commands_, sched::Ring<Command>::create("control-to-ovsdb", 4095, waker_.get()));
  source_ = loop_.add_source([this] { return drain_events(); });
  thread_ = std::thread([this] { thread_main(); });
  VLCP_LOG(kInfo, "ovsdb") << "OVSDB client for " << settings_.remote;
  return {};
}

void OvsdbClient::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  waker_->notify();
  thread_.join();
}

// ---- the OVSDB thread ----------------------------------------------------------------------------

void OvsdbClient::thread_main() {
  vlcp_idl* idl = vlcp_idl_create(settings_.remote.c_str(), settings_.probe_interval_ms);
  std::deque<Event> overflow;  // waits for room in the ring: counted back-pressure, never lost
  auto emit = [&](Event e) {
    if (overflow.empty() && events_->push(e)) return;
    overflow.push_back(e);
  };
  bool was_connected = false;
  const Clock& clock = loop_.clock();  // (thread-safe: the stage timings of a port's bring-up)
  std::deque<std::pair<uint64_t, std::unique_ptr<PortCommand>>> port_queue;  // taken, not yet run
  std::deque<std::string> port_names;                                        // (their names)
  while (!stop_.load()) {
    Clock::Monotonic seen = clock.now();
    uint64_t drained;
    while (read(wake_fd_, &drained, sizeof drained) > 0) {
    }
    bool changed = vlcp_idl_run(idl);
    bool now_connected = vlcp_idl_connected(idl);
    if (now_connected != was_connected) {
      was_connected = now_connected;
      emit(Event{Event::kConnection, now_connected, 0, nullptr});
      changed = changed || now_connected;
    }
    auto snapshot = [&] {
      char* text = vlcp_idl_snapshot(idl);
      auto parsed = nlohmann::json::parse(text, nullptr, false);
      std::free(text);
      auto replica = replica_from_json(parsed);
      if (replica.ok()) {
        replica->seen = seen;
        replica->built = clock.now();
        emit(Event{Event::kSnapshot, 0, 0, new Replica(std::move(*replica))});
      } else {
        VLCP_LOG_RL(kError, "ovsdb", 10, 2) << "unreadable OVSDB snapshot: " << replica.error().message();
      }
    };
    if (changed && now_connected) snapshot();
    auto answer = [&](uint64_t token, Status st) {
      emit(Event{Event::kTxnDone, 0, token, new Status(std::move(st))});
    };
    Command cmds[64];
    auto take_commands = [&] {
      while (unsigned n = commands_->pop(cmds)) {
        for (unsigned i = 0; i < n; ++i) {
          if (cmds[i].port) {
            port_queue.push_back({cmds[i].token, std::unique_ptr<PortCommand>(cmds[i].port)});
            port_names.push_back(cmds[i].port->spec.name);
            continue;
          }
          std::unique_ptr<SetController> c(cmds[i].payload);
          char* error = nullptr;
          int r = vlcp_idl_set_controller(idl, c->bridge.c_str(), c->target.c_str(), c->secure, 1000, &error);
          Status status;
          if (r != 0) {
            status = make_error(Errc::kUnavailable,
                                "set controller of " + c->bridge + ": " + (error ? error : "?"));
            std::free(error);
          }
          answer(cmds[i].token, std::move(status));
        }
      }
    };
    take_commands();
    // Port commands: all that are queued go into one transaction; those that come meanwhile wait
    // in the ring and make the next one (group commit).
    while (!port_queue.empty()) {
      size_t n = port_batch_prefix(port_names, kMaxPortBatch);
      std::vector<vlcp_port_op> ops(n);
      std::vector<std::vector<const char*>> keys(n), values(n);
      for (size_t k = 0; k < n; ++k) {
        const PortCommand& pc = *port_queue[k].second;
        for (auto& [key, value] : pc.spec.external_ids) {
          keys[k].push_back(key.c_str());
          values[k].push_back(value.c_str());
        }
        ops[k] = vlcp_port_op{pc.kind,
                              pc.bridge.c_str(),
                              pc.spec.name.c_str(),
                              pc.spec.type.c_str(),
                              pc.spec.owner.c_str(),
                              keys[k].data(),
                              values[k].data(),
                              keys[k].size(),
                              pc.spec.mtu_request};
      }
      std::vector<vlcp_port_result> results(n, vlcp_port_result{VLCP_PORT_OK, nullptr});
      bool split = false;
      if (!vlcp_idl_connected(idl)) {
        for (auto& r : results) r = {VLCP_PORT_FAILED, strdup("not connected to OVSDB")};
      } else if (vlcp_idl_port_batch(idl, ops.data(), n, results.data()) != 0 && n > 1) {
        split = true;  // one at a time: a bad command fails alone
        for (size_t k = 0; k < n; ++k) {
          std::free(results[k].error);
          results[k] = {VLCP_PORT_OK, nullptr};
          (void)vlcp_idl_port_batch(idl, &ops[k], 1, &results[k]);
        }
      }
      record_batch(n, split);
      // The replica the answers are read against shows the transaction's effect.
      if (vlcp_idl_run(idl)) snapshot();
      for (size_t k = 0; k < n; ++k) {
        answer(port_queue.front().first, port_status(results[k], port_queue.front().second->spec.name));
        std::free(results[k].error);
        port_queue.pop_front();
        port_names.pop_front();
      }
      take_commands();
    }
    while (!overflow.empty() && events_->push(overflow.front())) overflow.pop_front();
    vlcp_idl_block(idl, wake_fd_, overflow.empty() ? 1000 : 1);
  }
  Command left[64];
  while (unsigned n = commands_->pop(left))
    for (unsigned i = 0; i < n; ++i) delete left[i].payload, delete left[i].port;
  for (auto& e : overflow) {
    if (e.kind == Event::kSnapshot) delete static_cast<Replica*>(e.payload);
    if (e.kind == Event::kTxnDone) delete static_cast<Status*>(e.payload);
  }
  vlcp_idl_destroy(idl);
}

// ---- the control thread --------------------------------------------------------------------------

unsigned OvsdbClient::drain_events() {
  Event batch[16];
  unsigned n = events_->pop(batch);
  for (unsigned i = 0; i < n; ++i) {
    Event& e = batch[i];
    switch (e.kind) {
      case Event::kConnection:
        connected_.store(e.flag != 0);
        if (e.flag) connects_.fetch_add(1);
        VLCP_LOG(kInfo, "ovsdb") << (e.flag ? "connected to " : "disconnected from ") << settings_.remote;
        loop_.publish(OvsdbConnection{e.flag != 0});
        break;
      case Event::kSnapshot: {
        auto* r = static_cast<Replica*>(e.payload);
        r->delivered = loop_.clock().now();
        replica_ = std::shared_ptr<const Replica>(r);
        updates_.fetch_add(1);
        loop_.publish(OvsdbUpdated{replica_});
        take_over_bridges();
        check_ofport_waits();
        break;
      }
      case Event::kTxnDone: {
        std::unique_ptr<Status> status(static_cast<Status*>(e.payload));
        if (!status)
          status = std::make_unique<Status>(make_error(Errc::kUnavailable, "the OVSDB client stopped"));
        transactions_.fetch_add(1);
        if (!status->ok()) transaction_failures_.fetch_add(1);
        auto it = pending_.find(e.token);
        if (it != pending_.end()) {
          auto done = std::move(it->second);
          pending_.erase(it);
          done(*status);
        }
        break;
      }
    }
  }
  return n;
}

void OvsdbClient::set_controller(const std::string& bridge, const std::string& target, bool secure,
                                 std::function<void(Status)> done) {
  submit(Command{0, new SetController{bridge, target, secure}, nullptr}, std::move(done));
}

void OvsdbClient::submit(Command c, std::function<void(Status)> done) {
  if (!commands_) {  // no OVSDB configured (module.ovsdbmanager.url = '')
    delete c.payload;
    delete c.port;
    done(make_error(Errc::kUnavailable, "no OVSDB server is configured"));
    return;
  }
  c.token = ++next_token_;
  pending_[c.token] = std::move(done);
  if (!commands_->push(c)) {
    delete c.payload;
    delete c.port;
    auto cb = std::move(pending_[c.token]);
    pending_.erase(c.token);
    cb(make_error(Errc::kResourceExhausted, "OVSDB command ring full"));
  }
}

void OvsdbClient::plug_port(const std::string& bridge, PortSpec spec, std::function<void(Status)> done) {
  submit(Command{0, nullptr, new PortCommand{VLCP_PORT_PLUG, bridge, std::move(spec)}}, std::move(done));
}

void OvsdbClient::unplug_port(const std::string& bridge, const std::string& name,
                              std::function<void(Status)> done, const std::string& owner) {
  PortSpec spec;
  spec.name = name;
  spec.owner = owner;
  submit(Command{0, nullptr, new PortCommand{VLCP_PORT_UNPLUG, bridge, std::move(spec)}}, std::move(done));
}

void OvsdbClient::wait_ofport(const std::string& iface, std::chrono::nanoseconds timeout,
                              std::function<void(Result<int64_t>)> done) {
  if (!commands_) {
    done(make_error(Errc::kUnavailable, "no OVSDB server is configured"));
    return;
  }
  int64_t ofport = -1;
  std::string error;
  switch (ofport_state(*replica_, iface, &ofport, &error)) {
    case OfportState::kReady:
      return done(ofport);
    case OfportState::kFailed:
      return done(make_error(Errc::kUnavailable, "interface " + iface + ": " + error));
    case OfportState::kPending:
      break;
  }
  uint64_t id = ++next_wait_;
  uint64_t timer = loop_.after(timeout, [this, iface, id] {
    auto [lo, hi] = ofport_waits_.equal_range(iface);
    for (auto it = lo; it != hi; ++it) {
      if (it->second.id != id) continue;
      auto cb = std::move(it->second.done);
      ofport_waits_.erase(it);
      cb(make_error(Errc::kTimeout, "interface " + iface + " got no ofport in time"));
      return;
    }
  });
  ofport_waits_.emplace(iface, OfportWait{id, std::move(done), timer});
}

void OvsdbClient::check_ofport_waits() {
  for (auto it = ofport_waits_.begin(); it != ofport_waits_.end();) {
    int64_t ofport = -1;
    std::string error;
    OfportState st = ofport_state(*replica_, it->first, &ofport, &error);
    if (st == OfportState::kPending) {
      ++it;
      continue;
    }
    std::string name = it->first;
    auto cb = std::move(it->second.done);
    loop_.cancel(it->second.timer);
    it = ofport_waits_.erase(it);
    // (a callback may add or answer waits: `it` is already past this one)
    if (st == OfportState::kReady)
      cb(ofport);
    else
      cb(make_error(Errc::kUnavailable, "interface " + name + ": " + error));
  }
}

void OvsdbClient::record_batch(size_t size, bool split) {
  port_batches_.fetch_add(1);
  port_commands_.fetch_add(size);
  if (split) port_splits_.fetch_add(1);
  uint64_t max = port_batch_max_.load();
  while (size > max && !port_batch_max_.compare_exchange_weak(max, size)) {
  }
  size_t bucket = 0;
  while (bucket + 1 < PortBatchStats::kBuckets && (size_t{1} << bucket) < size) ++bucket;
  port_batch_sizes_[bucket].fetch_add(1);
}

PortBatchStats OvsdbClient::port_batch_stats() const {
  PortBatchStats s;
  s.batches = port_batches_.load();
  s.commands = port_commands_.load();
  s.max_size = port_batch_max_.load();
  s.splits = port_splits_.load();
  for (size_t i = 0; i < s.sizes.size(); ++i) s.sizes[i] = port_batch_sizes_[i].load();
  return s;
}

void OvsdbClient::take_over_bridges() {
  if (settings_.controller.empty()) return;
  uint64_t managed = 0;
  std::vector<std::optional<uint64_t>> dpids;
  for (auto& [name, b] : replica_->bridges) {
    if (!settings_.bridges.empty() &&
        std::find(settings_.bridges.begin(), settings_.bridges.end(), name) == settings_.bridges.end())
      continue;
    ++managed;
    dpids.push_back(b.datapath_id);
    bool ours = b.controllers.size() == 1 && b.controllers[0].target == settings_.controller;
    bool mode_ok = !settings_.fail_mode_secure || b.fail_mode == "secure";
    if ((ours && mode_ok) || taking_over_[name]) continue;
    taking_over_[name] = true;
    VLCP_LOG(kInfo, "ovsdb") << "taking over bridge " << name << ": controller " << settings_.controller
                             << (settings_.fail_mode_secure ? ", fail_mode=secure" : "");
    set_controller(name, settings_.controller, settings_.fail_mode_secure, [this, name = name](Status s) {
      taking_over_[name] = false;
      if (!s.ok()) {
        VLCP_LOG(kWarn, "ovsdb") << s.message();
      }
    });
  }
  bridges_managed_ = managed;
  std::lock_guard<std::mutex> lock(managed_mu_);
  managed_dpids_ = std::move(dpids);
}

std::vector<std::optional<uint64_t>> OvsdbClient::managed_bridges() const {
  std::lock_guard<std::mutex> lock(managed_mu_);
  return managed_dpids_;
}

std::vector<std::pair<std::string, double>> OvsdbClient::metrics() const {
  return {{"vlcp_ovsdb_connected", connected() ? 1.0 : 0.0},
          {"vlcp_ovsdb_connects_total", static_cast<double>(connects())},
          {"vlcp_ovsdb_updates_total", static_cast<double>(updates())},
          {"vlcp_ovsdb_transactions_total", static_cast<double>(transactions())},
          {"vlcp_ovsdb_transaction_failures_total", static_cast<double>(transaction_failures())},
          {"vlcp_ovsdb_port_batches_total", static_cast<double>(port_batches_.load())},
          {"vlcp_ovsdb_port_commands_total", static_cast<double>(port_commands_.load())},
          {"vlcp_ovsdb_port_batch_max", static_cast<double>(port_batch_max_.load())},
          {"vlcp_ovsdb_port_batch_splits_total", static_cast<double>(port_splits_.load())},
          {"vlcp_ovsdb_bridges_managed", static_cast<double>(bridges_managed_.load())}};
}

}  // namespace vlcp::ovsdb
