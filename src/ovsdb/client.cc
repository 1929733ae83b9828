// The OVSDB client (see client.h).
#include "ovsdb/client.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
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
struct OvsdbClient::Command {
  uint64_t token;
  SetController* payload;  // owned by the receiver
};

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
  if (source_) loop_.remove_source(source_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

Status OvsdbClient::start() {
  if (settings_.remote.empty()) return {};
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return make_error(Errc::kResourceExhausted, "eventfd failed");
  waker_ = std::make_unique<FdWaker>(wake_fd_);
  VLCP_ASSIGN_OR_RETURN(events_, sched::Ring<Event>::create("ovsdb-to-control", 1023, &loop_.waker()));
  VLCP_ASSIGN_OR_RETURN(commands_, sched::Ring<Command>::create("control-to-ovsdb", 255, waker_.get()));
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
    if (changed && now_connected) {
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
    }
    Command cmds[16];
    while (unsigned n = commands_->pop(cmds)) {
      for (unsigned i = 0; i < n; ++i) {
        std::unique_ptr<SetController> c(cmds[i].payload);
        char* error = nullptr;
        int r = vlcp_idl_set_controller(idl, c->bridge.c_str(), c->target.c_str(), c->secure, 1000, &error);
        auto* status = new Status();
        if (r != 0) {
          *status =
              make_error(Errc::kUnavailable, "set controller of " + c->bridge + ": " + (error ? error : "?"));
          std::free(error);
        }
        emit(Event{Event::kTxnDone, 0, cmds[i].token, status});
      }
    }
    while (!overflow.empty() && events_->push(overflow.front())) overflow.pop_front();
    vlcp_idl_block(idl, wake_fd_, overflow.empty() ? 1000 : 1);
  }
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
        break;
      }
      case Event::kTxnDone: {
        std::unique_ptr<Status> status(static_cast<Status*>(e.payload));
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
  if (!commands_) {  // no OVSDB configured (module.ovsdbmanager.url = '')
    done(make_error(Errc::kUnavailable, "no OVSDB server is configured"));
    return;
  }
  uint64_t token = ++next_token_;
  pending_[token] = std::move(done);
  Command c{token, new SetController{bridge, target, secure}};
  if (!commands_->push(c)) {
    delete c.payload;
    auto cb = std::move(pending_[token]);
    pending_.erase(token);
    cb(make_error(Errc::kResourceExhausted, "OVSDB command ring full"));
  }
}

void OvsdbClient::take_over_bridges() {
  if (settings_.controller.empty()) return;
  for (auto& [name, b] : replica_->bridges) {
    if (!settings_.bridges.empty() &&
        std::find(settings_.bridges.begin(), settings_.bridges.end(), name) == settings_.bridges.end())
      continue;
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
}

std::vector<std::pair<std::string, double>> OvsdbClient::metrics() const {
  return {{"vlcp_ovsdb_connected", connected() ? 1.0 : 0.0},
          {"vlcp_ovsdb_connects_total", static_cast<double>(connects())},
          {"vlcp_ovsdb_updates_total", static_cast<double>(updates())},
          {"vlcp_ovsdb_transactions_total", static_cast<double>(transactions())},
          {"vlcp_ovsdb_transaction_failures_total", static_cast<double>(transaction_failures())}};
}

}  // namespace vlcp::ovsdb
