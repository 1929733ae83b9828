// What the scale simulator's tools share (perf/scale/): flags, the layout from them, a node's
// ObjectDB on its own ZooKeeper session with the model's indices, driving the control loop from
// main, and the process's own cost (RSS, threads, CPU) from /proc.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "db/objectdb.h"
#include "db/zookeeper.h"
#include "io/control_loop.h"
#include "model/viperflow.h"
#include "perf/scale/layout.h"

namespace vlcp::perf::scale {

using Json = nlohmann::json;

// --name value flags; a flag without a value (or followed by another flag) is "1".
class Args {
 public:
  Args(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--", 0) != 0) continue;
      bool has_value = i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0;
      values_[a.substr(2)] = has_value ? argv[++i] : "1";
    }
  }
  std::string str(const std::string& name, const std::string& fallback = "") const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  int num(const std::string& name, int fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : std::atoi(it->second.c_str());
  }

 private:
  std::map<std::string, std::string> values_;
};

inline Layout layout_from(const Args& a) {
  Layout l;
  l.ports = a.num("ports", l.ports);
  l.servers = a.num("servers", l.servers);
  l.per_network = a.num("ports-per-network", l.per_network);
  l.measured_share = a.num("measured-share", l.measured_share);
  l.router_groups = a.num("router-networks", l.router_groups);
  return l;
}

[[noreturn]] inline void die(const std::string& what) {
  std::fprintf(stderr, "%s\n", what.c_str());
  std::exit(2);
}

inline void emit(const Json& j) {
  std::fputs((j.dump() + "\n").c_str(), stdout);
  std::fflush(stdout);
}

inline double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The control loop, run from main between checks.
struct Env {
  RealClock clock;
  io::ControlLoop loop{clock};
  // Runs the loop (asleep in it while nothing happens, as vlcpd's does: an idle node costs no
  // CPU) until done() or `limit` passes, checking every `every`; false on timeout.
  bool wait(const std::function<bool()>& done, std::chrono::milliseconds limit,
            std::chrono::milliseconds every = std::chrono::milliseconds(1)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    std::function<void()> check = [&] {
      if (done() || std::chrono::steady_clock::now() > deadline)
        loop.stop();  // (the last check: no timer is left behind holding these references)
      else
        loop.after(every, check);
    };
    check();
    if (!done() && std::chrono::steady_clock::now() <= deadline) loop.run();
    return done();
  }
};

// ZooKeeper's feed (log: the cluster-wide change log; watch: ZooKeeper watches on what ObjectDB
// follows, issue 20) where this build's store has the choice; false when it cannot have `feed`.
template <class O>
bool set_feed(O& options, const std::string& feed) {
  if (feed != "log" && feed != "watch") return false;
  if constexpr (requires { options.follow = true; }) {
    options.follow = feed == "watch";
    return true;
  } else {
    return feed == "log";  // the only feed a store without the option has
  }
}
// What the store's targeted feed follows (keys, prefixes, parents, events), where it has one.
template <class S>
Json follow_stats(const S& store) {
  if constexpr (requires { store.follow_stats(); }) {
    auto f = store.follow_stats();
    return Json{{"keys", f.keys}, {"prefixes", f.prefixes}, {"parents", f.parents}, {"events", f.events}};
  } else {
    return nullptr;
  }
}

// One node's database: its own ZooKeeper session, ObjectDB with the model's indices.
struct Db {
  std::unique_ptr<db::ZkStore> store;
  std::unique_ptr<db::ObjectDb> db;
};
inline Db open_db(io::ControlLoop& loop, const Args& a) {
  db::ZkOptions o;
  o.hosts = a.str("zk", "127.0.0.1:2181");
  o.root = a.str("root", "/vlcp");
  o.session_timeout_ms = a.num("session-timeout-ms", 30000);
  if (!set_feed(o, a.str("feed", "log")))
    die("--feed " + a.str("feed") + ": this build's ZkStore has no feed option");
  auto s = db::ZkStore::connect(loop, o);
  if (!s.ok()) die("zookeeper: " + s.status().to_string());
  Db d;
  d.store = std::move(*s);
  d.db = std::make_unique<db::ObjectDb>(loop, *d.store);
  model::declare_indices(*d.db);
  return d;
}

// Runs one model call to completion on the loop.
inline Result<Json> call(Env& env, const std::function<void(model::Done)>& fn,
                         std::chrono::milliseconds limit = std::chrono::minutes(5)) {
  std::optional<Result<Json>> r;
  fn([&](Result<Json> x) { r = std::move(x); });
  if (!env.wait([&] { return r.has_value(); }, limit)) return Status(Errc::kUnavailable, "no answer in time");
  return std::move(*r);
}

// This process: a field of /proc/self/status in kB or a count ("VmRSS", "Threads").
inline long proc_status(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line, want = std::string(field) + ":";
  while (std::getline(f, line))
    if (line.rfind(want, 0) == 0) return std::atol(line.c_str() + want.size());
  return -1;
}
// This process's CPU time (user + system), ms.
inline double cpu_ms() {
  std::ifstream f("/proc/self/stat");
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::istringstream rest(all.substr(all.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; rest >> field; ++i) {
    if (i == 14) utime = std::atol(field.c_str());
    if (i == 15) {
      stime = std::atol(field.c_str());
      break;
    }
  }
  return (utime + stime) * 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace vlcp::perf::scale
