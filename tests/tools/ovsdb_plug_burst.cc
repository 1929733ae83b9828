// ovsdb_plug_burst DB_SOCKET BRIDGE COUNT: drives vlcpd's own OVSDB client (OvsdbClient, the
// group commit of CONTAINERS_DESIGN §3.2) against a real ovsdb-server + ovs-vswitchd, as the
// container plugger will. Expects a port `pbother` on BRIDGE owned by someone else
// (external_ids:vlcp-owner=other:1). Phases, each printed as one JSON line on stdout:
//   burst    COUNT internal ports plugged in one burst, plus `pbother` again with our owner (must
//            be refused, kConflict, alone); then an ofport wait for every port.
//   split    8 more ports in one burst, one with mtu_request=-5 (OVSDB refuses it): the batch's
//            transaction fails, the commands are retried one at a time, only that one fails.
//   replace  the first port plugged again with the same owner: replaced (ok), ofport again.
//   unplug   `pbother` with our owner (refused, kConflict, it stays), then every port of ours
//            and one that never existed (ok: idempotent) in one burst.
//   serial   the peer for the ratio: COUNT ports plugged one after another (each sent when the
//            previous one is answered: one transaction each, no group commit), then unplugged.
// Exit 0 when every expectation held; the script checks OVS's own view (ovs-vsctl).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "io/control_loop.h"
#include "ovsdb/client.h"

using namespace vlcp;
using Ms = std::chrono::duration<double, std::milli>;

namespace {

constexpr const char* kOwner = "burst:test";

struct Runner {
  io::ControlLoop& loop;
  ovsdb::OvsdbClient& client;
  int failures = 0;

  void fail(const std::string& what) {
    std::fprintf(stderr, "ovsdb_plug_burst: %s\n", what.c_str());
    ++failures;
  }
  // Runs the loop until `done()` holds or `seconds` passed.
  bool run_until(const std::function<bool()>& done, double seconds) {
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
    auto work = boost::asio::make_work_guard(loop.context());
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      if (loop.context().stopped()) loop.context().restart();
      loop.context().run_one_for(std::chrono::milliseconds(20));
      loop.run_pending();
    }
    return done();
  }
};

std::string stats_json(const ovsdb::PortBatchStats& s) {
  std::string sizes;
  for (size_t i = 0; i < s.sizes.size(); ++i) sizes += (i ? "," : "") + std::to_string(s.sizes[i]);
  return "\"batches\": " + std::to_string(s.batches) + ", \"commands\": " + std::to_string(s.commands) +
         ", \"max_batch\": " + std::to_string(s.max_size) + ", \"splits\": " + std::to_string(s.splits) +
         ", \"size_buckets\": [" + sizes + "]";
}

ovsdb::PortBatchStats minus(ovsdb::PortBatchStats a, const ovsdb::PortBatchStats& b) {
  a.batches -= b.batches;
  a.commands -= b.commands;
  a.splits -= b.splits;
  for (size_t i = 0; i < a.sizes.size(); ++i) a.sizes[i] -= b.sizes[i];
  return a;  // (max_size stays the run's maximum)
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: ovsdb_plug_burst DB_SOCKET BRIDGE COUNT\n");
    return 2;
  }
  std::string bridge = argv[2];
  int count = std::atoi(argv[3]);
  io::ControlLoop loop(RealClock::instance());
  ovsdb::OvsdbSettings settings;
  settings.remote = std::string("unix:") + argv[1];
  ovsdb::OvsdbClient client(loop, settings);
  if (auto st = client.start(); !st.ok()) return std::fprintf(stderr, "%s\n", st.message().c_str()), 1;
  Runner run{loop, client};
  if (!run.run_until([&] { return client.replica().bridges.count(bridge) > 0; }, 20))
    return std::fprintf(stderr, "ovsdb_plug_burst: bridge %s never appeared\n", bridge.c_str()), 1;

  auto name = [](const char* prefix, int i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%s%d", prefix, i);
    return std::string(buf);
  };
  auto spec = [&](const std::string& n) {
    ovsdb::PortSpec s;
    s.name = n;
    s.type = "internal";
    s.owner = kOwner;
    s.external_ids = {{"iface-id", "docker-" + n}, {"attached-mac", "02:00:00:00:00:01"}};
    return s;
  };

  // --- burst ---------------------------------------------------------------------------------------
  auto before = client.port_batch_stats();
  int answered = 0, ok = 0;
  Status conflict;
  auto t0 = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point t_committed, t_bound;
  for (int i = 0; i < count; ++i)
    client.plug_port(bridge, spec(name("pb", i)), [&, i](Status st) {
      ++answered;
      if (st.ok())
        ++ok;
      else
        run.fail("plug pb" + std::to_string(i) + ": " + st.to_string());
      if (answered == count + 1) t_committed = std::chrono::steady_clock::now();
    });
  client.plug_port(bridge, spec("pbother"), [&](Status st) {
    ++answered;
    conflict = st;
    if (answered == count + 1) t_committed = std::chrono::steady_clock::now();
  });
  if (!run.run_until([&] { return answered == count + 1; }, 30)) run.fail("plugs unanswered");
  if (conflict.code() != Errc::kConflict)
    run.fail("pbother (another owner's) not refused: " + conflict.to_string());
  int bound = 0, wait_failed = 0;
  for (int i = 0; i < count; ++i)
    client.wait_ofport(name("pb", i), std::chrono::seconds(20), [&, i](Result<int64_t> r) {
      if (r.ok() && *r > 0) {
        if (++bound == count) t_bound = std::chrono::steady_clock::now();
      } else {
        ++wait_failed;
        run.fail("ofport of pb" + std::to_string(i) + ": " + (r.ok() ? "<= 0" : r.error().to_string()));
      }
    });
  run.run_until([&] { return bound + wait_failed == count; }, 30);
  auto burst = minus(client.port_batch_stats(), before);
  std::printf(
      "{\"phase\": \"burst\", \"ports\": %d, \"plugged\": %d, \"conflict\": \"%s\", \"bound\": %d, "
      "\"commit_ms\": %.1f, \"bound_ms\": %.1f, %s}\n",
      count, ok, std::string(errc_text(conflict.code())).c_str(), bound, Ms(t_committed - t0).count(),
      bound == count ? Ms(t_bound - t0).count() : -1.0, stats_json(burst).c_str());
  std::fflush(stdout);

  // --- split: one bad command fails alone ---------------------------------------------------------
  before = client.port_batch_stats();
  int split_answered = 0, split_ok = 0;
  Status bad;
  for (int i = 0; i < 8; ++i) {
    auto s = spec(name("pbs", i));
    if (i == 3) s.mtu_request = -5;  // (Interface.mtu_request's minimum is 1)
    client.plug_port(bridge, s, [&, i](Status st) {
      ++split_answered;
      if (i == 3)
        bad = st;
      else if (st.ok())
        ++split_ok;
      else
        run.fail("split: pbs" + std::to_string(i) + ": " + st.to_string());
    });
  }
  run.run_until([&] { return split_answered == 8; }, 30);
  auto split = minus(client.port_batch_stats(), before);
  if (bad.code() != Errc::kInvalidArgument)
    run.fail("the bad mtu_request was not refused alone: " + bad.to_string());
  if (split.splits < 1) run.fail("no batch was split");
  std::printf("{\"phase\": \"split\", \"ok\": %d, \"bad\": \"%s\", %s}\n", split_ok,
              std::string(errc_text(bad.code())).c_str(), stats_json(split).c_str());
  std::fflush(stdout);

  // --- replace: the same owner plugs the same name again ------------------------------------------
  Status replaced = make_error(Errc::kInternal, "unanswered");
  bool replace_done = false;
  client.plug_port(bridge, spec(name("pb", 0)), [&](Status st) {
    replaced = st;
    replace_done = true;
  });
  run.run_until([&] { return replace_done; }, 20);
  Result<int64_t> reofport = make_error(Errc::kInternal, "unanswered");
  bool reofport_done = false;
  client.wait_ofport(name("pb", 0), std::chrono::seconds(10), [&](Result<int64_t> r) {
    reofport = std::move(r);
    reofport_done = true;
  });
  run.run_until([&] { return reofport_done; }, 20);
  if (!replaced.ok()) run.fail("replace with the same owner: " + replaced.to_string());
  if (!reofport.ok()) run.fail("ofport after replace: " + reofport.error().to_string());
  std::printf("{\"phase\": \"replace\", \"status\": \"%s\", \"ofport\": %lld}\n",
              std::string(errc_text(replaced.code())).c_str(),
              static_cast<long long>(reofport.ok() ? *reofport : -1));
  std::fflush(stdout);

  // --- a wait that ends by its deadline -----------------------------------------------------------
  Result<int64_t> never = make_error(Errc::kInternal, "unanswered");
  bool never_done = false;
  client.wait_ofport("pbnonexistent", std::chrono::milliseconds(200), [&](Result<int64_t> r) {
    never = std::move(r);
    never_done = true;
  });
  run.run_until([&] { return never_done; }, 5);
  if (never.ok() || never.error().code() != Errc::kTimeout)
    run.fail("the wait for an interface that never comes did not time out");

  // --- unplug -------------------------------------------------------------------------------------
  before = client.port_batch_stats();
  int unplugged = 0, unplug_answered = 0;
  Status refused;
  auto t1 = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point t_unplugged;
  std::vector<std::string> mine;
  for (int i = 0; i < count; ++i) mine.push_back(name("pb", i));
  for (int i = 0; i < 8; ++i) mine.push_back(name("pbs", i));
  mine.push_back("pbnever");
  int expect = static_cast<int>(mine.size()) + 1;
  client.unplug_port(
      bridge, "pbother",
      [&](Status st) {
        refused = st;
        if (++unplug_answered == expect) t_unplugged = std::chrono::steady_clock::now();
      },
      kOwner);
  for (auto& n : mine)
    client.unplug_port(
        bridge, n,
        [&, n](Status st) {
          if (st.ok())
            ++unplugged;
          else
            run.fail("unplug " + n + ": " + st.to_string());
          if (++unplug_answered == expect) t_unplugged = std::chrono::steady_clock::now();
        },
        kOwner);
  run.run_until([&] { return unplug_answered == expect; }, 30);
  if (refused.code() != Errc::kConflict)
    run.fail("unplug of another owner's port not refused: " + refused.to_string());
  auto unplug = minus(client.port_batch_stats(), before);
  std::printf("{\"phase\": \"unplug\", \"unplugged\": %d, \"refused\": \"%s\", \"commit_ms\": %.1f, %s}\n",
              unplugged, std::string(errc_text(refused.code())).c_str(), Ms(t_unplugged - t1).count(),
              stats_json(unplug).c_str());
  std::fflush(stdout);
  // --- the peer: the same ports one transaction each (no group commit), for the ratio ---------------
  before = client.port_batch_stats();
  int serial_done = 0;
  bool serial_failed = false;
  auto t2 = std::chrono::steady_clock::now();
  std::function<void()> next = [&] {
    client.plug_port(bridge, spec(name("pq", serial_done)), [&](Status st) {
      if (!st.ok()) serial_failed = true, run.fail("serial plug: " + st.to_string());
      if (++serial_done < count && !serial_failed) next();
    });
  };
  next();
  run.run_until([&] { return serial_done == count || serial_failed; }, 120);
  double serial_ms = Ms(std::chrono::steady_clock::now() - t2).count();
  auto serial = minus(client.port_batch_stats(), before);
  int serial_unplugged = 0;
  for (int i = 0; i < count; ++i)
    client.unplug_port(
        bridge, name("pq", i), [&](Status st) { serial_unplugged += st.ok() ? 1 : 0; }, kOwner);
  run.run_until([&] { return serial_unplugged == count; }, 30);
  if (serial_unplugged != count) run.fail("serial ports not all unplugged");
  std::printf("{\"phase\": \"serial\", \"ports\": %d, \"commit_ms\": %.1f, %s}\n", serial_done, serial_ms,
              stats_json(serial).c_str());
  std::fflush(stdout);
  client.stop();
  return run.failures == 0 ? 0 : 1;
}
