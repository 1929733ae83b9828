// Bounded store growth (issue 20): logical ports created and deleted through the model (the
// calls behind vlcpd's WebAPI, ViperFlow on ObjectDB) leave nothing behind once compaction has
// run: the store holds the live model and a documented constant. Runs on the embedded store
// (unit), and on ZooKeeper when VLCP_ZK_HOSTS names one (the system test objectdb_growth starts
// a real one and asks for 10,000 cycles with VLCP_GROWTH_CYCLES). Prints what it measured:
// nodes per live port and per create/delete cycle before compaction, by kind.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "base/clock.h"
#include "db/embedded.h"
#include "db/objectdb.h"
#include "db/zookeeper.h"
#include "model/viperflow.h"

namespace vlcp::db {
namespace {

using namespace std::chrono_literals;
using Counts = std::map<std::string, size_t>;

bool run_until(io::ControlLoop& loop, const std::function<bool()>& done, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    if (!loop.run_pending()) std::this_thread::sleep_for(100us);
  }
  return true;
}

size_t env_number(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? static_cast<size_t>(std::strtoull(v, nullptr, 10)) : fallback;
}

constexpr size_t kLivePorts = 100, kLogKeep = 1000;

class Growth : public ::testing::TestWithParam<std::string> {
 protected:
  bool zk() const { return GetParam() == "zookeeper"; }

  // A fresh store (ZooKeeper: under its own root, compacting tombstones older than
  // `compact_after_ms` on its own, 0: only when asked).
  void open(const std::string& name, int64_t compact_after_ms) {
    vf_.reset();
    db_.reset();
    store_.reset();
    std::string ns = name + "-" + std::to_string(::getpid());
    if (zk()) {
      ZkOptions o;
      o.hosts = std::getenv("VLCP_ZK_HOSTS");
      o.root = "/growth-" + ns;
      o.log_keep = kLogKeep;
      o.compact_after_ms = compact_after_ms;
      auto s = ZkStore::connect(loop_, o);
      ASSERT_TRUE(s.ok()) << s.status().to_string();
      zk_ = s->get();
      store_ = std::move(*s);
      ASSERT_TRUE(run_until(
          loop_, [&] { return store_->connected(); }, 20s));
    } else {
      auto dir = std::filesystem::temp_directory_path() / ("vlcp-growth-" + ns);
      std::filesystem::remove_all(dir);
      auto s = EmbeddedStore::open(loop_, EmbeddedOptions{(dir / "db").string(), 256, false});
      ASSERT_TRUE(s.ok()) << s.status().to_string();
      embedded_ = s->get();
      store_ = std::move(*s);
    }
    db_ = std::make_unique<ObjectDb>(loop_, *store_);
    model::declare_indices(*db_);
    vf_ = std::make_unique<model::ViperFlow>(*db_);
  }

  Result<Json> call(std::function<void(model::Done)> fn) {
    std::optional<Result<Json>> r;
    fn([&](Result<Json> x) { r = std::move(x); });
    if (!run_until(
            loop_, [&] { return r.has_value(); }, 60s))
      return make_error(Errc::kTimeout, "no answer");
    return std::move(*r);
  }

  // Physical network pn (VLAN), logical network ln, subnet s (a /16: room for every port).
  void model_base() {
    auto one = [](Json spec) { return Json::array({std::move(spec)}); };
    ASSERT_TRUE(call([&](model::Done d) {
                  vf_->create_physical_networks(one({{"id", "pn"}, {"vlanrange", Json::parse("[[10,20]]")}}),
                                                std::move(d));
                }).ok());
    ASSERT_TRUE(call([&](model::Done d) {
                  vf_->create_logical_networks(one({{"id", "ln"}, {"physicalnetwork", "pn"}}), std::move(d));
                }).ok());
    auto s = call([&](model::Done d) {
      vf_->create_subnets(
          one({{"id", "s"}, {"logicalnetwork", "ln"}, {"cidr", "10.0.0.0/16"}, {"gateway", "10.0.0.1"}}),
          std::move(d));
    });
    ASSERT_TRUE(s.ok()) << s.status().to_string();
  }

  static Json port_spec(const std::string& id, size_t n) {
    char mac[32];
    std::snprintf(mac, sizeof mac, "02:00:%02x:%02x:%02x:%02x", static_cast<unsigned>(n >> 24 & 0xff),
                  static_cast<unsigned>(n >> 16 & 0xff), static_cast<unsigned>(n >> 8 & 0xff),
                  static_cast<unsigned>(n & 0xff));
    return Json::array({Json{{"id", id}, {"logicalnetwork", "ln"}, {"subnet", "s"}, {"mac_address", mac}}});
  }

  void live_ports() {
    for (size_t i = 0; i < kLivePorts; ++i) {
      auto r = call([&](model::Done d) {
        vf_->create_logical_ports(port_spec("live" + std::to_string(i), i), std::move(d));
      });
      ASSERT_TRUE(r.ok()) << r.status().to_string();
    }
  }

  // One cycle, compacted: the classes' parent nodes a port's delete reads under (its cascaded
  // children's: location, Docker and CNI info) exist from then on, whatever the churn.
  void warm_up() {
    ASSERT_EQ(cycles(1, 1), 0u);
    ASSERT_TRUE(compact().ok());
  }

  // `n` create+delete cycles of distinct ports, `parallel` at a time; returns the failures.
  size_t cycles(size_t n, size_t parallel) {
    size_t started = 0, finished = 0, failed = 0;
    std::function<void()> next = [&] {
      if (started == n) return;
      size_t i = started++;
      std::string id = "c" + std::to_string(i);
      vf_->create_logical_ports(port_spec(id, 1'000'000 + i), [&, id](Result<Json> r) {
        if (!r.ok()) {
          ++failed, ++finished;
          ADD_FAILURE() << "create " << id << ": " << r.status().to_string();
          return next();
        }
        vf_->delete_logical_ports(Json::array({Json{{"id", id}}}), [&, id](Result<Json> r) {
          if (!r.ok()) {
            ++failed;
            ADD_FAILURE() << "delete " << id << ": " << r.status().to_string();
          }
          ++finished;
          next();
        });
      });
    };
    for (size_t i = 0; i < parallel; ++i) next();
    EXPECT_TRUE(run_until(
        loop_, [&] { return finished == n; }, 1200s))
        << finished << " of " << n;
    return failed;
  }

  // The store's contents by kind: ZooKeeper's nodes (ZkStore::census), the embedded store's
  // records (as kv.keys).
  Counts census() {
    Counts c;
    if (embedded_) {
      auto n = embedded_->records();
      EXPECT_TRUE(n.ok());
      c["kv.keys"] = n.ok() ? *n : 0;
      return c;
    }
    std::optional<Result<Counts>> r;
    zk_->census([&](Result<Counts> x) { r = std::move(x); });
    EXPECT_TRUE(run_until(
        loop_, [&] { return r.has_value(); }, 120s));
    if (r && r->ok()) c = **r;
    size_t total = 0;
    for (const auto& [k, v] : c) total += v;
    c["nodes"] = total;
    return c;
  }

  static void print(const char* what, const Counts& c) {
    std::printf("growth %s:", what);
    for (const auto& [k, v] : c) std::printf(" %s=%zu", k.c_str(), v);
    std::printf("\n");
    std::fflush(stdout);
  }
  static void print_rate(const char* what, const Counts& before, const Counts& after, size_t per) {
    std::printf("growth %s:", what);
    for (const auto& [k, v] : after) {
      auto b = before.find(k);
      double d = static_cast<double>(v) - static_cast<double>(b == before.end() ? 0 : b->second);
      std::printf(" %s=%.2f", k.c_str(), d / static_cast<double>(per));
    }
    std::printf("\n");
    std::fflush(stdout);
  }

  Status compact() {
    std::optional<Result<size_t>> r;
    store_->compact([&](Result<size_t> x) { r = std::move(x); });
    if (!run_until(
            loop_, [&] { return r.has_value(); }, 300s))
      return make_error(Errc::kTimeout, "no answer");
    if (!r->ok()) return r->status();
    std::printf("growth compaction removed %zu tombstones\n", **r);
    return {};
  }

  RealClock clock_;
  io::ControlLoop loop_{clock_};
  std::unique_ptr<Store> store_;
  ZkStore* zk_ = nullptr;
  EmbeddedStore* embedded_ = nullptr;
  std::unique_ptr<ObjectDb> db_;
  std::unique_ptr<model::ViperFlow> vf_;
};

// What a live port and a create/delete cycle cost before compaction, and that compaction
// takes the store back to the live model.
TEST_P(Growth, NodesPerLivePortAndPerCycleBeforeCompaction) {
  open("measure", 0);
  ASSERT_NO_FATAL_FAILURE(model_base());
  ASSERT_NO_FATAL_FAILURE(warm_up());
  Counts base = census();
  ASSERT_NO_FATAL_FAILURE(live_ports());
  Counts live = census();
  size_t n = std::min<size_t>(env_number("VLCP_GROWTH_MEASURE", 300), 1000);
  EXPECT_EQ(cycles(n, 4), 0u);
  Counts churned = census();
  ASSERT_TRUE(compact().ok());
  Counts compacted = census();
  print("base", base);
  print("live", live);
  print_rate("per-live-port", base, live, kLivePorts);
  print_rate("per-cycle-before-compaction", live, churned, n);
  print("after-compaction", compacted);
  EXPECT_EQ(compacted["kv.keys"], live["kv.keys"]);
  EXPECT_EQ(compacted["kv.tombstones"], 0u);
  EXPECT_EQ(compacted["kv.parents"], live["kv.parents"]);
  EXPECT_EQ(compacted["tomb.markers"], 0u);
}

// After many create+delete cycles (10,000 in the system test) with compaction on its own (a
// 1 s horizon), the store holds the live model, the change log and fences of at most two
// epochs, and the fixed nodes: nothing grows with the cycles.
TEST_P(Growth, ManyCyclesLeaveOnlyTheLiveModel) {
  open("cycles", 1000);
  ASSERT_NO_FATAL_FAILURE(model_base());
  ASSERT_NO_FATAL_FAILURE(warm_up());
  ASSERT_NO_FATAL_FAILURE(live_ports());
  Counts live = census();
  size_t n = env_number("VLCP_GROWTH_CYCLES", 300);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(cycles(n, 8), 0u);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("growth %zu cycles in %.1f s (%.0f/s)\n", n, secs, static_cast<double>(n) / secs);
  Counts now;
  bool settled = run_until(
      loop_,
      [&] {
        now = census();
        if (now["kv.tombstones"] == 0 && now["tomb.markers"] == 0) return true;
        run_until(
            loop_, [] { return false; }, 1s);
        return false;
      },
      120s);
  print("live", live);
  print("after-cycles", now);
  EXPECT_TRUE(settled) << now["kv.tombstones"] << " tombstones, " << now["tomb.markers"] << " markers left";
  EXPECT_EQ(now["kv.keys"], live["kv.keys"]);
  if (!zk()) return;
  EXPECT_TRUE(zk_->compacting());
  EXPECT_EQ(now["kv.parents"], live["kv.parents"]);
  // The documented constant: the log and the fences of the current and the previous epoch,
  // each at most log_keep entries (and the few a race past a full epoch adds).
  EXPECT_LE(now["log.entries"], 2 * kLogKeep + 64);
  EXPECT_LE(now["txn.fences"], 2 * kLogKeep + 64);
  EXPECT_LE(now["nodes"], live["nodes"] - live["log.entries"] - live["txn.fences"] + 4 * kLogKeep + 128 + 8);
}

std::vector<std::string> backends() {
  std::vector<std::string> out{"embedded"};
  if (std::getenv("VLCP_ZK_HOSTS")) out.push_back("zookeeper");
  return out;
}

INSTANTIATE_TEST_SUITE_P(Backends, Growth, ::testing::ValuesIn(backends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vlcp::db
