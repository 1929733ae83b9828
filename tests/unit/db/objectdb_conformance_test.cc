// One conformance suite for ObjectDB, run on every backend: the embedded store here (unit), and
// ZooKeeper when VLCP_ZK_HOSTS names a running ensemble (the system test objectdb_zk starts a
// real one and runs this binary against it). Two "clients" are two ObjectDb instances: on the
// embedded store they share one store, on ZooKeeper each has its own session.
#include "db/objectdb.h"

#include <cstring>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <random>
#include <thread>

#include "base/clock.h"
#include "db/embedded.h"
#include "db/zookeeper.h"

#define THREADED  // ZooKeeper's synchronous calls, to make a store from before markers
#include <zookeeper/zookeeper.h>

namespace vlcp::db {
namespace {

using namespace std::chrono_literals;

// Runs the loop on this thread until `done` or the deadline.
bool run_until(io::ControlLoop& loop, const std::function<bool()>& done, std::chrono::seconds limit = 30s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    if (!loop.run_pending()) std::this_thread::sleep_for(100us);
  }
  return true;
}

// Writes (or deletes) one key and waits for the answer.
Result<TxnResult> put_key(io::ControlLoop& loop, ObjectDb& db, const std::string& key,
                          std::optional<Json> value) {
  std::optional<Result<TxnResult>> r;
  db.writewalk(
      {key},
      [&](TxnContext& ctx) {
        ctx.write(key, value);
        return Status{};
      },
      [&](Result<TxnResult> x) { r = std::move(x); });
  EXPECT_TRUE(run_until(loop, [&] { return r.has_value(); }));
  return r ? std::move(*r) : Result<TxnResult>(make_error(Errc::kTimeout, "no answer"));
}

struct Backend {
  std::string name;
  // A store for client `i` (0 or 1) under a namespace fresh to this test.
  std::function<std::unique_ptr<Store>(io::ControlLoop&, const std::string& ns, int i)> make;
};

// A second client's handle on the first client's store (and the base of wrappers that change
// one call): everything else goes to the store beneath.
class Shared : public Store {
 public:
  explicit Shared(Store& s) : s_(s) {}
  void read(std::vector<std::string> k, bool t, std::function<void(Result<Snapshot>)> d) override {
    s_.read(std::move(k), t, std::move(d));
  }
  void commit(Commit c, std::function<void(Result<Committed>)> d) override {
    s_.commit(std::move(c), std::move(d));
  }
  void list(std::string p, std::function<void(Result<std::vector<std::string>>)> d) override {
    s_.list(std::move(p), std::move(d));
  }
  uint64_t watch(std::function<void(const Change&)> f) override { return s_.watch(std::move(f)); }
  void unwatch(uint64_t id) override { s_.unwatch(id); }
  bool follows() const override { return s_.follows(); }
  void follow(const std::vector<std::string>& k) override { s_.follow(k); }
  void unfollow(const std::vector<std::string>& k) override { s_.unfollow(k); }
  void follow_prefix(const std::string& p, bool c) override { s_.follow_prefix(p, c); }
  void unfollow_prefix(const std::string& p, bool c) override { s_.unfollow_prefix(p, c); }
  bool connected() const override { return s_.connected(); }
  std::string describe() const override { return s_.describe(); }
  void compact(std::function<void(Result<size_t>)> d) override { s_.compact(std::move(d)); }

 protected:
  Store& s_;
};

std::vector<Backend> backends() {
  std::vector<Backend> out;
  out.push_back(
      Backend{"embedded", [](io::ControlLoop& loop, const std::string& ns, int i) -> std::unique_ptr<Store> {
                static std::map<std::string, Store*> first;
                if (i == 1) return std::make_unique<Shared>(*first.at(ns));
                auto dir = std::filesystem::temp_directory_path() / ("vlcp-objectdb-" + ns);
                std::filesystem::remove_all(dir);
                auto s = EmbeddedStore::open(loop, EmbeddedOptions{(dir / "db").string(), 64, true});
                EXPECT_TRUE(s.ok()) << s.status().to_string();
                first[ns] = s->get();
                return std::move(*s);
              }});
  if (const char* hosts = std::getenv("VLCP_ZK_HOSTS")) {
    std::string h = hosts;
    out.push_back(Backend{"zookeeper",
                          [h](io::ControlLoop& loop, const std::string& ns, int) -> std::unique_ptr<Store> {
                            ZkOptions o;
                            o.hosts = h;
                            o.root = "/vlcp-test-" + ns;
                            auto s = ZkStore::connect(loop, o);
                            EXPECT_TRUE(s.ok()) << s.status().to_string();
                            return s.ok() ? std::move(*s) : nullptr;
                          }});
    // The same contract with the change feed read from the cluster-wide log.
    out.push_back(Backend{"zookeeper_log",
                          [h](io::ControlLoop& loop, const std::string& ns, int) -> std::unique_ptr<Store> {
                            ZkOptions o;
                            o.hosts = h;
                            o.root = "/vlcp-test-" + ns;
                            o.follow = false;
                            auto s = ZkStore::connect(loop, o);
                            EXPECT_TRUE(s.ok()) << s.status().to_string();
                            return s.ok() ? std::move(*s) : nullptr;
                          }});
  }
  return out;
}

class ObjectDbConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    static int counter = 0;
    std::string ns = std::to_string(::getpid()) + "-" + std::to_string(++counter);
    for (int i = 0; i < 2; ++i) {
      stores_[i] = GetParam().make(loop_, ns, i);
      ASSERT_TRUE(stores_[i]);
      dbs_[i] = std::make_unique<ObjectDb>(loop_, *stores_[i]);
    }
    if (GetParam().name.rfind("zookeeper", 0) == 0) {
      ASSERT_TRUE(run_until(loop_, [&] { return stores_[0]->connected() && stores_[1]->connected(); }));
    }
  }
  void TearDown() override {
    for (auto& d : dbs_) d.reset();
    stores_[1].reset();
    stores_[0].reset();
  }
  ObjectDb& a() { return *dbs_[0]; }
  ObjectDb& b() { return *dbs_[1]; }

  Result<TxnResult> put(ObjectDb& db, const std::string& key, std::optional<Json> value) {
    return put_key(loop_, db, key, std::move(value));
  }
  std::map<std::string, Record> get(ObjectDb& db, std::vector<std::string> keys) {
    std::optional<Result<std::map<std::string, Record>>> r;
    db.get(std::move(keys), [&](auto x) { r = std::move(x); });
    EXPECT_TRUE(run_until(loop_, [&] { return r.has_value(); }));
    EXPECT_TRUE(r && r->ok()) << (r ? r->status().to_string() : "");
    return r && r->ok() ? **r : std::map<std::string, Record>{};
  }
  std::vector<std::string> members(ObjectDb& db, const std::string& index_key) {
    std::optional<Result<std::vector<std::string>>> r;
    db.members(index_key, [&](auto x) { r = std::move(x); });
    EXPECT_TRUE(run_until(loop_, [&] { return r.has_value(); }));
    EXPECT_TRUE(r && r->ok()) << (r ? r->status().to_string() : "");
    return r && r->ok() ? **r : std::vector<std::string>{};
  }

  Status compact() {
    std::optional<Result<size_t>> r;
    stores_[0]->compact([&](Result<size_t> x) { r = std::move(x); });
    EXPECT_TRUE(run_until(loop_, [&] { return r.has_value(); }));
    return !r ? make_error(Errc::kTimeout, "no answer") : r->ok() ? Status{} : r->status();
  }
  // The records the store holds, deleted keys' included (none should be after compaction): the
  // embedded store's entries, ZooKeeper's key nodes (fails if any tombstone or marker is left).
  Result<size_t> store_size() {
    if (auto* e = dynamic_cast<EmbeddedStore*>(stores_[0].get())) return e->records();
    auto* z = dynamic_cast<ZkStore*>(stores_[0].get());
    if (!z) return make_error(Errc::kInternal, "an unknown store");
    std::optional<Result<std::map<std::string, size_t>>> r;
    z->census([&](auto x) { r = std::move(x); });
    EXPECT_TRUE(run_until(loop_, [&] { return r.has_value(); }));
    if (!r || !r->ok()) return make_error(Errc::kUnavailable, "no census");
    auto& c = **r;
    if (c["kv.tombstones"] || c["tomb.markers"])
      return make_error(Errc::kInternal, std::to_string(c["kv.tombstones"]) + " tombstones and " +
                                             std::to_string(c["tomb.markers"]) + " markers left");
    return c["kv.keys"];
  }

  RealClock clock_;
  io::ControlLoop loop_{clock_};
  std::unique_ptr<Store> stores_[2];
  std::unique_ptr<ObjectDb> dbs_[2];
};

TEST_P(ObjectDbConformance, WritesReadsVersionsAndDeletes) {
  auto before = get(a(), {"test.k"});
  EXPECT_FALSE(before["test.k"].exists());
  EXPECT_EQ(before["test.k"].version, 0u);

  auto w1 = put(a(), "test.k", Json{{"x", 1}});
  ASSERT_TRUE(w1.ok()) << w1.status().to_string();
  auto w2 = put(a(), "test.k", Json{{"x", 2}});
  ASSERT_TRUE(w2.ok());
  auto seen = get(b(), {"test.k"})["test.k"];
  EXPECT_EQ(seen.value, (Json{{"x", 2}}));
  EXPECT_EQ(seen.version, 2u);
  EXPECT_GT(seen.updated_us, 0);
  EXPECT_LE(seen.created_us, seen.updated_us);

  ASSERT_TRUE(put(b(), "test.k", std::nullopt).ok());
  auto gone = get(a(), {"test.k"})["test.k"];
  EXPECT_FALSE(gone.exists());
  EXPECT_EQ(gone.version, 3u);  // versions never go back, across deletions too

  EXPECT_EQ(put(a(), "bad key", Json(1)).status().code(), Errc::kInvalidArgument);
}

TEST_P(ObjectDbConformance, NoLostUpdatesBetweenConcurrentClients) {
  constexpr int kEach = 25;
  int done = 0, failed = 0;
  for (int i = 0; i < 2 * kEach; ++i) {
    ObjectDb& db = i % 2 ? b() : a();
    db.transact(
        {"test.counter"},
        [](const auto&, const std::vector<std::optional<Json>>& v, int64_t) {
          int n = v[0] ? v[0]->get<int>() : 0;
          return Result<std::vector<std::pair<std::string, std::optional<Json>>>>(
              {{"test.counter", Json(n + 1)}});
        },
        [&](Result<TxnResult> r) {
          ++done;
          if (!r.ok()) {
            ++failed;
            ADD_FAILURE() << r.status().to_string();
          }
        },
        TxnOptions{200});
  }
  ASSERT_TRUE(run_until(
      loop_, [&] { return done == 2 * kEach; }, 120s));
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(get(a(), {"test.counter"})["test.counter"].value, Json(2 * kEach));
  EXPECT_GT(a().stats().conflicts + b().stats().conflicts, 0u) << "the clients never contended";
}

// Transfers between accounts from both clients while walks read all of them: every walk sees
// one consistent total, every commit moved money whole.
TEST_P(ObjectDbConformance, SnapshotsStayConsistentUnderConcurrentMultiKeyWriters) {
  constexpr int kAccounts = 10;
  std::vector<std::string> keys;
  for (int i = 0; i < kAccounts; ++i) keys.push_back("test.account." + std::to_string(i));
  int setup = -1;
  a().writewalk(
      keys,
      [&](TxnContext& ctx) {
        for (const auto& k : keys) ctx.write(k, Json(100));
        return Status{};
      },
      [&](Result<TxnResult> r) { setup = r.ok(); });
  ASSERT_TRUE(run_until(loop_, [&] { return setup >= 0; }));
  ASSERT_EQ(setup, 1);

  int transfers = 0, walks = 0, bad_walks = 0, failed = 0;
  constexpr int kTransfers = 40, kWalks = 40;
  for (int i = 0; i < kTransfers; ++i) {
    ObjectDb& db = i % 2 ? b() : a();
    std::string from = keys[i % kAccounts], to = keys[(i * 7 + 3) % kAccounts];
    if (from == to) to = keys[(i + 1) % kAccounts];
    db.writewalk(
        {from, to},
        [from, to, i](TxnContext& ctx) {
          int f = ctx.get(from).value()->get<int>(), t = ctx.get(to).value()->get<int>();
          ctx.write(from, Json(f - (i % 9 + 1)));
          ctx.write(to, Json(t + (i % 9 + 1)));
          return Status{};
        },
        [&](Result<TxnResult> r) {
          ++transfers;
          if (!r.ok()) ++failed;
        },
        TxnOptions{200});
  }
  for (int i = 0; i < kWalks; ++i) {
    ObjectDb& db = i % 2 ? a() : b();
    db.walk(
        keys,
        [&keys](WalkContext& ctx) {
          for (const auto& k : keys)
            if (ctx.get(k).fetched) ctx.save(k);
        },
        [&](Result<WalkResult> r) {
          ++walks;
          if (!r.ok()) return;
          int total = 0;
          for (const auto& [k, rec] : r->saved) total += rec.value->get<int>();
          if (total != 100 * kAccounts) ++bad_walks;
        });
  }
  ASSERT_TRUE(run_until(
      loop_, [&] { return transfers == kTransfers && walks == kWalks; }, 120s));
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(bad_walks, 0);
  int total = 0;
  for (const auto& [k, rec] : get(b(), keys)) total += rec.value->get<int>();
  EXPECT_EQ(total, 100 * kAccounts);
}

TEST_P(ObjectDbConformance, UniqueIndexHoldsUnderRacesAndMultiIndexFollowsUpdates) {
  for (auto* db : {&a(), &b()}) {
    db->add_index(IndexRule{"test.port", "mac", {"network", "mac"}, true});
    db->add_index(IndexRule{"test.port", "bynetwork", {"network"}, false});
  }
  // Both clients create a port with the same MAC in the same network at once.
  std::optional<Result<TxnResult>> r1, r2;
  a().writewalk(
      {"test.port.p1"},
      [](TxnContext& ctx) {
        ctx.write("test.port.p1", Json{{"network", "n1"}, {"mac", "02:00:00:00:00:01"}});
        return Status{};
      },
      [&](Result<TxnResult> r) { r1 = std::move(r); });
  b().writewalk(
      {"test.port.p2"},
      [](TxnContext& ctx) {
        ctx.write("test.port.p2", Json{{"network", "n1"}, {"mac", "02:00:00:00:00:01"}});
        return Status{};
      },
      [&](Result<TxnResult> r) { r2 = std::move(r); });
  ASSERT_TRUE(run_until(loop_, [&] { return r1 && r2; }));
  ASSERT_NE(r1->ok(), r2->ok()) << "exactly one may win: " << r1->status().to_string() << " / "
                                << r2->status().to_string();
  const Result<TxnResult>& loser = r1->ok() ? *r2 : *r1;
  EXPECT_EQ(loser.status().code(), Errc::kAlreadyExists) << loser.status().to_string();
  std::string winner = r1->ok() ? "test.port.p1" : "test.port.p2";
  std::string other = r1->ok() ? "test.port.p2" : "test.port.p1";
  std::string mac_index = "indices.test.port.mac.n1.02:00:00:00:00:01";
  auto seen = get(a(), {mac_index, other});
  EXPECT_EQ(seen[mac_index].value, Json(winner));
  EXPECT_FALSE(seen[other].exists()) << "the loser left nothing behind";
  EXPECT_EQ(members(a(), "indices.test.port.bynetwork.n1"), std::vector<std::string>{winner});

  // A second port, another MAC: the multi index lists both; moving one to n2 moves its entries.
  ASSERT_TRUE(put(b(), other, Json{{"network", "n1"}, {"mac", "02:00:00:00:00:02"}}).ok());
  EXPECT_EQ(members(a(), "indices.test.port.bynetwork.n1"),
            (std::vector<std::string>{"test.port.p1", "test.port.p2"}));
  ASSERT_TRUE(put(a(), other, Json{{"network", "n2"}, {"mac", "02:00:00:00:00:02"}}).ok());
  seen =
      get(b(), {"indices.test.port.mac.n1.02:00:00:00:00:02", "indices.test.port.mac.n2.02:00:00:00:00:02"});
  EXPECT_EQ(members(b(), "indices.test.port.bynetwork.n1"), std::vector<std::string>{winner});
  EXPECT_EQ(members(b(), "indices.test.port.bynetwork.n2"), std::vector<std::string>{other});
  EXPECT_FALSE(seen["indices.test.port.mac.n1.02:00:00:00:00:02"].exists());
  EXPECT_EQ(seen["indices.test.port.mac.n2.02:00:00:00:00:02"].value, Json(other));
  // Deleting the winner frees its MAC for anyone.
  ASSERT_TRUE(put(a(), winner, std::nullopt).ok());
  EXPECT_FALSE(get(b(), {mac_index})[mac_index].exists());
  EXPECT_TRUE(put(b(), "test.port.p3", Json{{"network", "n1"}, {"mac", "02:00:00:00:00:01"}}).ok());
}

TEST_P(ObjectDbConformance, DeletesCascadeInTheSameTransaction) {
  a().add_cascade(CascadeRule{"test.lport", [](const std::string& key) {
                                return std::vector<std::string>{"test.lportinfo." + key.substr(11)};
                              }});
  ASSERT_TRUE(put(a(), "test.lport.x", Json{{"id", "x"}}).ok());
  ASSERT_TRUE(put(a(), "test.lportinfo.x", Json{{"where", "node1"}}).ok());
  auto r = put(a(), "test.lport.x", std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->written.size(), 2u);
  auto seen = get(b(), {"test.lport.x", "test.lportinfo.x"});
  EXPECT_FALSE(seen["test.lport.x"].exists());
  EXPECT_FALSE(seen["test.lportinfo.x"].exists());
}

TEST_P(ObjectDbConformance, AnAbortedTransactionWritesNothing) {
  std::optional<Result<TxnResult>> r;
  a().writewalk(
      {"test.a"},
      [](TxnContext& ctx) {
        ctx.write("test.a", Json(1));
        return make_error(Errc::kInvalidArgument, "changed my mind");
      },
      [&](Result<TxnResult> x) { r = std::move(x); });
  ASSERT_TRUE(run_until(loop_, [&] { return r.has_value(); }));
  EXPECT_EQ(r->status().code(), Errc::kInvalidArgument);
  EXPECT_FALSE(get(b(), {"test.a"})["test.a"].exists());
}

// Stored data is untrusted (a restore, another node): callers' code that throws on it ends that
// call with an internal error, never the daemon, and the next caller is served.
TEST_P(ObjectDbConformance, CallersThatThrowOnStoredDataGetAnInternalError) {
  ASSERT_TRUE(put(a(), "test.odd", Json(5)).ok());  // a number where an object is expected
  auto throwing = [](const Json& v) { return v.at("until_us").get<int64_t>(); };  // throws type_error
  std::optional<Result<TxnResult>> r;
  a().writewalk(
      {"test.odd"},
      [&](TxnContext& ctx) {
        Lookup l = ctx.get("test.odd");
        if (l.fetched && l.value()) (void)throwing(*l.value());
        return Status{};
      },
      [&](Result<TxnResult> x) { r = std::move(x); });
  ASSERT_TRUE(run_until(loop_, [&] { return r.has_value(); }));
  EXPECT_EQ(r->status().code(), Errc::kInternal);

  std::optional<Result<WalkResult>> w;
  a().walk(
      {"test.odd"},
      [&](WalkContext& ctx) {
        Lookup l = ctx.get("test.odd");
        if (l.fetched && l.value()) (void)throwing(*l.value());
      },
      [&](Result<WalkResult> x) { w = std::move(x); });
  ASSERT_TRUE(run_until(loop_, [&] { return w.has_value(); }));
  EXPECT_EQ(w->status().code(), Errc::kInternal);

  int calm = 0;
  WatchId bad = b().open_watch([&](const KeyUpdate& u) {
    if (u.record.value) (void)throwing(*u.record.value);
  });
  WatchId good = b().open_watch([&](const KeyUpdate&) { ++calm; });
  b().watch_keys(bad, {"test.odd"});
  b().watch_keys(good, {"test.odd"});
  ASSERT_TRUE(run_until(loop_, [&] { return b().mirrored("test.odd") != nullptr; }));
  ASSERT_TRUE(put(a(), "test.odd", Json(6)).ok());
  ASSERT_TRUE(run_until(loop_, [&] { return calm > 0; }));  // the other watch is still served
  EXPECT_GE(b().stats().caller_exceptions, 1u);
  EXPECT_EQ(a().stats().caller_exceptions, 2u);
  EXPECT_TRUE(put(a(), "test.after", Json(1)).ok());
}

// A write-walk follows a reference to a key it did not name at first.
TEST_P(ObjectDbConformance, WriteWalkDiscoversKeys) {
  ASSERT_TRUE(put(a(), "test.net.n1", Json{{"map", "test.netmap.n1"}}).ok());
  ASSERT_TRUE(put(a(), "test.netmap.n1", Json{{"ports", Json::array()}}).ok());
  std::optional<Result<TxnResult>> r;
  b().writewalk(
      {"test.net.n1"},
      [](TxnContext& ctx) {
        Lookup net = ctx.get("test.net.n1");
        std::string map = net.value()->at("map");
        Lookup m = ctx.get(map);
        if (!m.fetched) return Status{};  // runs again once it has been read
        Json v = *m.value();
        v["ports"].push_back("p1");
        ctx.write(map, v);
        ctx.write("test.port.p1", Json{{"network", "test.net.n1"}});
        return Status{};
      },
      [&](Result<TxnResult> x) { r = std::move(x); });
  ASSERT_TRUE(run_until(loop_, [&] { return r.has_value(); }));
  ASSERT_TRUE(r->ok()) << r->status().to_string();
  auto seen = get(a(), {"test.netmap.n1", "test.port.p1"});
  EXPECT_EQ(seen["test.netmap.n1"].value->at("ports"), Json::array({"p1"}));
  EXPECT_TRUE(seen["test.port.p1"].exists());
}

TEST_P(ObjectDbConformance, WalkFollowsReferencesAndWatchesWhatItSaved) {
  ASSERT_TRUE(put(a(), "test.w.a", Json{{"next", "test.w.b"}}).ok());
  ASSERT_TRUE(put(a(), "test.w.b", Json{{"next", "test.w.c"}}).ok());
  std::vector<KeyUpdate> updates;
  WatchId w = b().open_watch([&](const KeyUpdate& u) { updates.push_back(u); });
  std::optional<Result<WalkResult>> r;
  b().walk(
      {"test.w.a"},
      [](WalkContext& ctx) {
        std::string k = "test.w.a";
        for (;;) {
          Lookup l = ctx.get(k);
          if (!l.fetched) return;
          ctx.save(k);  // absent keys too: their creation will be seen
          if (!l.value()) return;
          k = l.value()->at("next");
        }
      },
      [&](Result<WalkResult> x) { r = std::move(x); }, w);
  ASSERT_TRUE(run_until(loop_, [&] { return r.has_value(); }));
  ASSERT_TRUE(r->ok()) << r->status().to_string();
  ASSERT_EQ((*r)->saved.size(), 3u);
  EXPECT_FALSE((*r)->saved["test.w.c"].exists());
  ASSERT_TRUE(put(a(), "test.w.c", Json{{"end", true}}).ok());
  ASSERT_TRUE(run_until(loop_, [&] { return !updates.empty(); }));
  EXPECT_EQ(updates[0].key, "test.w.c");
  EXPECT_EQ(updates[0].record.value, (Json{{"end", true}}));
  EXPECT_EQ(updates[0].reason, KeyUpdate::kUpdated);
}

// Another client's writes to a watched key arrive in commit order: versions only go up and the
// last one seen is the last one written.
TEST_P(ObjectDbConformance, NotificationsArriveInCommitOrderPerKey) {
  std::vector<uint64_t> versions;
  std::vector<Json> values;
  WatchId w = b().open_watch([&](const KeyUpdate& u) {
    versions.push_back(u.record.version);
    values.push_back(u.record.value.value_or(Json()));
  });
  b().watch_keys(w, {"test.seq", "test.absent"});
  ASSERT_TRUE(run_until(loop_, [&] { return b().mirrored("test.seq") != nullptr; }));
  constexpr int kWrites = 20;
  int acked = 0;
  for (int i = 1; i <= kWrites; ++i) {  // all in flight at once, committed in some order
    a().transact(
        {"test.seq"},
        [](const auto&, const std::vector<std::optional<Json>>& v, int64_t) {
          int n = v[0] ? v[0]->get<int>() : 0;
          return Result<std::vector<std::pair<std::string, std::optional<Json>>>>(
              {{"test.seq", Json(n + 1)}});
        },
        [&](Result<TxnResult> r) { acked += r.ok(); }, TxnOptions{200});
  }
  ASSERT_TRUE(run_until(
      loop_, [&] { return acked == kWrites && !values.empty() && values.back() == Json(kWrites); }));
  for (size_t i = 1; i < versions.size(); ++i) EXPECT_LT(versions[i - 1], versions[i]);
  for (size_t i = 1; i < values.size(); ++i) EXPECT_LT(values[i - 1].get<int>(), values[i].get<int>());
  b().close_watch(w);
}

TEST_P(ObjectDbConformance, WatchesOnAbsentKeysSeeTheirCreation) {
  std::vector<KeyUpdate> updates;
  WatchId w = b().open_watch([&](const KeyUpdate& u) { updates.push_back(u); });
  b().watch_keys(w, {"test.later"});
  ASSERT_TRUE(run_until(loop_, [&] { return b().mirrored("test.later") != nullptr; }));
  EXPECT_TRUE(updates.empty());
  ASSERT_TRUE(put(a(), "test.later", Json("here")).ok());
  ASSERT_TRUE(run_until(loop_, [&] { return !updates.empty(); }));
  EXPECT_EQ(updates[0].record.value, Json("here"));
  ASSERT_TRUE(put(a(), "test.later", std::nullopt).ok());
  ASSERT_TRUE(run_until(loop_, [&] { return updates.size() == 2; }));
  EXPECT_FALSE(updates[1].record.exists());
}

// A prefix watch reports what exists, then changes, then keys that appear later; keys outside
// the prefix (a longer class name sharing its start) never.
TEST_P(ObjectDbConformance, PrefixWatchesSeeExistingAndNewKeys) {
  ASSERT_TRUE(put(a(), "test.pw.a", Json(1)).ok());
  ASSERT_TRUE(put(a(), "test.pwx.z", Json(0)).ok());
  std::map<std::string, std::optional<Json>> seen;
  std::vector<std::string> order;
  WatchId w = b().open_watch([&](const KeyUpdate& u) {
    seen[u.key] = u.record.value;
    order.push_back(u.key);
  });
  b().watch_prefix(w, "test.pw.");
  ASSERT_TRUE(run_until(loop_, [&] { return seen.count("test.pw.a"); }));
  EXPECT_EQ(seen["test.pw.a"], Json(1));
  ASSERT_TRUE(put(a(), "test.pw.b", Json(2)).ok());
  ASSERT_TRUE(put(a(), "test.pw.a", Json(3)).ok());
  ASSERT_TRUE(put(a(), "test.pwx.y", Json(9)).ok());
  ASSERT_TRUE(run_until(loop_, [&] { return seen["test.pw.a"] == Json(3) && seen.count("test.pw.b"); }));
  EXPECT_EQ(seen["test.pw.b"], Json(2));
  ASSERT_TRUE(put(a(), "test.pw.b", std::nullopt).ok());
  ASSERT_TRUE(run_until(loop_, [&] { return !seen["test.pw.b"].has_value(); }));
  for (const auto& k : order) EXPECT_EQ(k.rfind("test.pw.", 0), 0u) << k;
  // A second watch on the same prefix starts from the mirror the first one keeps.
  std::map<std::string, std::optional<Json>> second;
  WatchId w2 = b().open_watch([&](const KeyUpdate& u) { second[u.key] = u.record.value; });
  b().watch_prefix(w2, "test.pw.");
  ASSERT_TRUE(run_until(loop_, [&] { return second.count("test.pw.a"); }));
  EXPECT_EQ(second["test.pw.a"], Json(3));
  b().close_watch(w);
  ASSERT_TRUE(put(a(), "test.pw.c", Json(4)).ok());
  ASSERT_TRUE(run_until(loop_, [&] { return second.count("test.pw.c"); }));
  EXPECT_FALSE(seen.count("test.pw.c"));
  b().close_watch(w2);
}

// A key another watch already mirrors (a `db watch` on a port id, say) and that this node then
// creates itself: its own commit updates the mirror before the feed brings the key, and the
// prefix watch, which meets the key only then, must still hear of it (it used to be skipped as
// "not newer than the mirror": the port never reached the L2 app until a restart).
TEST_P(ObjectDbConformance, APrefixWatchHearsOfAKeyAnotherWatchAlreadyMirrors) {
  ASSERT_TRUE(put(a(), "test.pk.a", Json(0)).ok());
  WatchId byname = b().open_watch([](const KeyUpdate&) {});
  b().watch_keys(byname, {"test.pk.x"});
  ASSERT_TRUE(run_until(loop_, [&] { return b().mirrored("test.pk.x") != nullptr; }));
  std::map<std::string, std::optional<Json>> seen;
  WatchId w = b().open_watch([&](const KeyUpdate& u) { seen[u.key] = u.record.value; });
  b().watch_prefix(w, "test.pk.");
  ASSERT_TRUE(run_until(loop_, [&] { return seen.count("test.pk.a"); }));
  ASSERT_TRUE(put(b(), "test.pk.x", Json("mine")).ok());   // this node's own commit
  ASSERT_TRUE(put(a(), "test.pk.z", Json("later")).ok());  // (the feed has moved past it)
  EXPECT_TRUE(run_until(
      loop_, [&] { return seen.count("test.pk.z") && seen.count("test.pk.x"); }, 5s));
  EXPECT_EQ(seen["test.pk.x"], Json("mine"));
  // And through the other path: the key deleted and created again while still watched by name.
  ASSERT_TRUE(put(b(), "test.pk.x", std::nullopt).ok());
  ASSERT_TRUE(run_until(
      loop_, [&] { return !seen["test.pk.x"].has_value(); }, 5s));
  ASSERT_TRUE(put(b(), "test.pk.x", Json("again")).ok());
  EXPECT_TRUE(run_until(
      loop_, [&] { return seen["test.pk.x"] == Json("again"); }, 5s));
  b().close_watch(w);
  b().close_watch(byname);
}

// Churn under a watched prefix: keys created and deleted (by either client, some ids reused)
// leave nothing behind in the mirror, each watch still hears every key that exists at the end
// with its last value, and a key watched by name stays mirrored after its deletion.
TEST_P(ObjectDbConformance, APrefixWatchMirrorsWhatExistsAfterChurn) {
  std::map<std::string, std::optional<Json>> seen;
  WatchId w = b().open_watch([&](const KeyUpdate& u) { seen[u.key] = u.record.value; });
  b().watch_prefix(w, "test.churn.");
  WatchId byname = b().open_watch([](const KeyUpdate&) {});
  b().watch_keys(byname, {"test.churn.k3"});
  ASSERT_TRUE(run_until(loop_, [&] { return b().mirrored("test.churn.k3") != nullptr; }));
  constexpr int kRounds = 4, kKeys = 12;
  for (int round = 0; round < kRounds; ++round)
    for (int i = 0; i < kKeys; ++i) {
      std::string k = "test.churn.k" + std::to_string(i);
      ObjectDb& writer = (i + round) % 2 ? a() : b();
      ASSERT_TRUE(put(writer, k, Json(round)).ok());
      ASSERT_TRUE(put(i % 3 ? b() : a(), k, std::nullopt).ok());
    }
  ASSERT_TRUE(put(a(), "test.churn.left", Json("a")).ok());
  ASSERT_TRUE(put(b(), "test.churn.k5", Json("back")).ok());
  ASSERT_TRUE(run_until(
      loop_, [&] { return seen["test.churn.left"] == Json("a") && seen["test.churn.k5"] == Json("back"); },
      10s))
      << "left: " << seen["test.churn.left"].value_or("(none)")
      << ", k5: " << seen["test.churn.k5"].value_or("(none)");
  for (int i = 0; i < kKeys; ++i) {
    std::string k = "test.churn.k" + std::to_string(i);
    if (i == 5) continue;
    EXPECT_FALSE(seen[k].has_value()) << k;
    if (i == 3)
      EXPECT_NE(b().mirrored(k), nullptr) << "watched by name: kept";
    else
      EXPECT_EQ(b().mirrored(k), nullptr) << k << ": deleted, held only by the prefix: dropped";
  }
  EXPECT_EQ(b().mirror_size(), 3u);  // left, k5, and k3 (by name)
  // The mirror equals a fresh listing.
  std::optional<Result<std::vector<std::string>>> listed;
  b().list("test.churn.", [&](auto x) { listed = std::move(x); });
  ASSERT_TRUE(run_until(loop_, [&] { return listed.has_value(); }));
  ASSERT_TRUE(listed->ok());
  std::vector<std::string> mirrored_existing;
  for (const auto& [k, v] : seen)
    if (v) mirrored_existing.push_back(k);
  EXPECT_EQ(**listed, mirrored_existing);
  b().close_watch(w);
  b().close_watch(byname);
  EXPECT_EQ(b().mirror_size(), 0u);
}

// Compaction forgets deleted keys; versions never go back across it: a key read after is absent
// at a version no lower than its tombstone's, and a key written again starts above every
// version it had, so a watch that kept the tombstone hears the new value.
TEST_P(ObjectDbConformance, CompactionForgetsDeletedKeysAndVersionsOnlyGrow) {
  std::vector<Record> heard;
  WatchId w = b().open_watch([&](const KeyUpdate& u) { heard.push_back(u.record); });
  b().watch_keys(w, {"test.gone"});
  ASSERT_TRUE(run_until(loop_, [&] { return b().mirrored("test.gone") != nullptr; }));
  ASSERT_TRUE(put(a(), "test.gone", Json(1)).ok());
  ASSERT_TRUE(put(a(), "test.gone", Json(2)).ok());
  auto deleted = put(a(), "test.gone", std::nullopt);
  ASSERT_TRUE(deleted.ok());
  uint64_t tombstone = (*deleted).written["test.gone"].version;
  ASSERT_TRUE(run_until(loop_, [&] { return !heard.empty() && heard.back().version == tombstone; }));
  ASSERT_TRUE(compact().ok());
  auto after = get(a(), {"test.gone"})["test.gone"];
  EXPECT_FALSE(after.exists());
  EXPECT_GE(after.version, tombstone);
  auto again = put(b(), "test.gone", Json("again"));
  ASSERT_TRUE(again.ok());
  EXPECT_GT((*again).written["test.gone"].version, tombstone);
  EXPECT_TRUE(run_until(
      loop_, [&] { return heard.back().value == Json("again"); }, 10s));
  for (size_t i = 1; i < heard.size(); ++i) EXPECT_LT(heard[i - 1].version, heard[i].version);
  b().close_watch(w);
}

// ABA: a transaction read a key (existing, or deleted), then the key was deleted, forgotten by
// compaction and written again as often as before (on ZooKeeper its new node reaches the data
// version the old read saw): the old read's commit is refused, not applied.
TEST_P(ObjectDbConformance, AnOldReadCannotCommitAfterCompactionAndRecreation) {
  for (bool read_deleted : {false, true}) {
    SCOPED_TRACE(read_deleted ? "read as deleted" : "read as existing");
    std::string key = read_deleted ? "test.aba.deleted" : "test.aba.live";
    ASSERT_TRUE(put(a(), key, Json("old")).ok());
    if (read_deleted) {
      ASSERT_TRUE(put(a(), key, std::nullopt).ok());
    }
    std::optional<Result<Snapshot>> snap;
    stores_[0]->read({key}, true, [&](Result<Snapshot> r) { snap = std::move(r); });
    ASSERT_TRUE(run_until(loop_, [&] { return snap.has_value(); }));
    ASSERT_TRUE(snap->ok());
    Snapshot old = std::move(**snap);
    if (!read_deleted) {
      ASSERT_TRUE(put(b(), key, std::nullopt).ok());
    }
    ASSERT_TRUE(compact().ok());
    uint64_t writes = old.records[key].version & 0xffffffffu;
    Record now;
    for (uint64_t i = 0; i < std::max<uint64_t>(writes, 1); ++i) {
      auto r = put(b(), key, Json("new"));
      ASSERT_TRUE(r.ok()) << r.status().to_string();
      now = (*r).written[key];
    }
    EXPECT_GT(now.version, old.records[key].version);
    Commit stale;
    stale.read = old.records;
    stale.writes[key] = Json("stale");
    stale.timestamp_us = old.timestamp_us;
    stale.guards = old.guards;
    std::optional<Result<Committed>> r;
    stores_[0]->commit(stale, [&](Result<Committed> x) { r = std::move(x); });
    ASSERT_TRUE(run_until(loop_, [&] { return r.has_value(); }));
    EXPECT_EQ(r->status().code(), Errc::kConflict) << r->status().to_string();
    EXPECT_EQ(get(a(), {key})[key].value, Json("new"));
  }
}

// Churn of indexed objects: after compaction the store holds the objects that exist and their
// index entries, nothing for the ones deleted.
TEST_P(ObjectDbConformance, DeletedKeysLeaveNothingAfterCompaction) {
  for (ObjectDb* db : {&a(), &b()}) {
    db->add_index(IndexRule{"test.obj", "mac", {"net", "mac"}, true});
    db->add_index(IndexRule{"test.obj", "net", {"net"}, false});
  }
  auto before = store_size();
  ASSERT_TRUE(before.ok()) << before.status().to_string();
  constexpr int kCycles = 60, kLive = 3;
  for (int i = 0; i < kCycles; ++i) {
    std::string k = "test.obj.o" + std::to_string(i);
    ASSERT_TRUE(put(i % 2 ? a() : b(), k, Json{{"net", "n1"}, {"mac", "m" + std::to_string(i)}}).ok());
    if (i >= kLive) {
      ASSERT_TRUE(put(i % 3 ? b() : a(), k, std::nullopt).ok());
    }
  }
  ASSERT_TRUE(compact().ok());
  auto after = store_size();
  ASSERT_TRUE(after.ok()) << after.status().to_string();
  // Each live object: itself, its unique index entry, its multi index member.
  EXPECT_EQ(*after, *before + 3 * kLive);
  EXPECT_EQ(members(a(), "indices.test.obj.net.n1"),
            (std::vector<std::string>{"test.obj.o0", "test.obj.o1", "test.obj.o2"}));
}

TEST_P(ObjectDbConformance, ListsKeysByPrefix) {
  ASSERT_TRUE(put(a(), "test.list.b", Json(2)).ok());
  ASSERT_TRUE(put(a(), "test.list.a", Json(1)).ok());
  ASSERT_TRUE(put(a(), "test.lisz", Json(3)).ok());
  ASSERT_TRUE(put(a(), "test.list.c", Json(3)).ok());
  ASSERT_TRUE(put(a(), "test.list.c", std::nullopt).ok());
  std::optional<Result<std::vector<std::string>>> r;
  b().list("test.list.", [&](auto x) { r = std::move(x); });
  ASSERT_TRUE(run_until(loop_, [&] { return r.has_value(); }));
  ASSERT_TRUE(r->ok());
  EXPECT_EQ(**r, (std::vector<std::string>{"test.list.a", "test.list.b"}));
  // Prefixes that end inside a key's part, keys at several depths, odd keys (ZooKeeper splits
  // keys into parent and leaf nodes: every shape must list the same).
  for (const char* k : {"testodd", "test.list.a.deep", "test.l", "test..x", "test.e."})
    ASSERT_TRUE(put(a(), k, Json(1)).ok()) << k;
  auto listed = [&](const char* prefix) {
    std::optional<Result<std::vector<std::string>>> out;
    b().list(prefix, [&](auto x) { out = std::move(x); });
    EXPECT_TRUE(run_until(loop_, [&] { return out.has_value(); }));
    return out && out->ok() ? **out : std::vector<std::string>{"(failed)"};
  };
  EXPECT_EQ(listed("test.lis"),
            (std::vector<std::string>{"test.list.a", "test.list.a.deep", "test.list.b", "test.lisz"}));
  EXPECT_EQ(listed("test.list.a"), (std::vector<std::string>{"test.list.a", "test.list.a.deep"}));
  EXPECT_EQ(listed("testo"), std::vector<std::string>{"testodd"});
  EXPECT_EQ(listed("test."), (std::vector<std::string>{"test..x", "test.e.", "test.l", "test.list.a",
                                                       "test.list.a.deep", "test.list.b", "test.lisz"}));
  EXPECT_EQ(get(b(), {"test.e.", "test..x", "testodd"}).size(), 3u);
  EXPECT_EQ(get(b(), {"test.e."})["test.e."].value, Json(1));
}

// A prefix watch hears every write of every key under it, whoever writes it: a key that existed
// before the watch rewritten (with a new value and with the same value again, as a node record's
// refresh does), a key that appears after the listing and is rewritten, and a key deleted and
// written again — for a class's children and for a whole subtree whose parents do not exist yet
// (on ZooKeeper's watch feed: each key's own exists watch, the parent's children, kv's children).
TEST_P(ObjectDbConformance, APrefixWatchHearsEveryWriteOfItsKeys) {
  for (bool children : {true, false}) {
    SCOPED_TRACE(children ? "children only" : "whole subtree");
    const std::string p = children ? "test.node." : "test.answer.A.";
    const std::string old_key = p + (children ? "old" : "0.old");
    const std::string new_key = p + (children ? "new" : "1.new");
    ASSERT_TRUE(put(a(), old_key, Json{{"n", 0}}).ok());
    std::map<std::string, std::vector<Record>> heard;
    WatchId w = b().open_watch([&](const KeyUpdate& u) { heard[u.key].push_back(u.record); });
    b().watch_prefix(w, p, children);
    auto hears = [&](const std::string& k, const std::optional<Json>& v, uint64_t version) {
      return run_until(
          loop_,
          [&] {
            auto& h = heard[k];
            return !h.empty() && h.back().value == v && h.back().version == version;
          },
          10s);
    };
    auto write = [&](ObjectDb& db, const std::string& k, std::optional<Json> v) {
      auto r = put(db, k, v);
      EXPECT_TRUE(r.ok()) << r.status().to_string();
      return r.ok() ? (*r).written[k].version : 0;
    };
    ASSERT_TRUE(run_until(loop_, [&] { return heard.count(old_key); }));
    // An existing key: new values, the same value again (a refresh), from either client.
    for (int i = 1; i <= 3; ++i) {
      Json v{{"n", i / 2}};
      uint64_t version = write(i == 2 ? b() : a(), old_key, v);
      EXPECT_TRUE(hears(old_key, v, version)) << old_key << " write " << i;
    }
    // A key that appears after the listing, then rewritten.
    for (int i = 1; i <= 3; ++i) {
      uint64_t version = write(a(), new_key, Json(i));
      EXPECT_TRUE(hears(new_key, Json(i), version)) << new_key << " write " << i;
    }
    // Deleted and written again, then rewritten, twice.
    for (int round = 0; round < 2; ++round) {
      uint64_t version = write(a(), new_key, std::nullopt);
      EXPECT_TRUE(hears(new_key, std::nullopt, version)) << "deletion " << round;
      EXPECT_EQ(b().mirrored(new_key), nullptr) << "deleted, held only by the prefix: dropped";
      for (int i = 1; i <= 2; ++i) {
        version = write(a(), new_key, Json(10 * round + i));
        EXPECT_TRUE(hears(new_key, Json(10 * round + i), version)) << "round " << round << " write " << i;
      }
    }
    for (const auto& [k, h] : heard)
      for (size_t i = 1; i < h.size(); ++i) EXPECT_LT(h[i - 1].version, h[i].version) << k;
    b().close_watch(w);
  }
}

// A store whose reads answer late (a busy link): the read runs at once, its answer comes
// `delay` later.
class SlowReads final : public Shared {
 public:
  SlowReads(io::ControlLoop& loop, Store& s, std::chrono::milliseconds delay)
      : Shared(s), loop_(loop), delay_(delay) {}
  void read(std::vector<std::string> k, bool t, std::function<void(Result<Snapshot>)> d) override {
    s_.read(std::move(k), t, [this, d = std::move(d)](Result<Snapshot> r) {
      auto held = std::make_shared<Result<Snapshot>>(std::move(r));
      loop_.after(delay_, [d, held] { d(std::move(*held)); });
    });
  }

 private:
  io::ControlLoop& loop_;
  std::chrono::milliseconds delay_;
};

// A key under a prefix watch deleted and written again while the watcher is still reading the
// deletion: the deletion drops the key (held only by the prefix), and the new value must still
// be heard (on a feed without records it came in as a change of a key still held, and the read
// for it found the key dropped: the key was lost until something else wrote it).
TEST_P(ObjectDbConformance, APrefixWatchHearsAKeyWrittenAgainWhileItsDeletionIsRead) {
  SlowReads slow(loop_, *stores_[1], 300ms);
  ObjectDb watcher(loop_, slow);  // (b() watches nothing here: one follower per store)
  for (bool children : {true, false}) {
    SCOPED_TRACE(children ? "children only" : "whole subtree");
    const std::string p = children ? "test.again." : "test.againsub.A.";
    const std::string key = p + (children ? "k" : "0.k");
    ASSERT_TRUE(put(a(), key, Json(0)).ok());
    std::vector<Record> heard;
    WatchId w = watcher.open_watch([&](const KeyUpdate& u) {
      if (u.key == key) heard.push_back(u.record);
    });
    watcher.watch_prefix(w, p, children);
    ASSERT_TRUE(run_until(loop_, [&] { return !heard.empty(); }));
    for (int round = 1; round <= 3; ++round) {
      ASSERT_TRUE(put(a(), key, std::nullopt).ok());
      // The deletion's read is under way (300 ms): write the key again.
      auto again = put(a(), key, Json(round));
      ASSERT_TRUE(again.ok());
      uint64_t version = (*again).written[key].version;
      EXPECT_TRUE(run_until(
          loop_, [&] { return heard.back().value == Json(round) && heard.back().version == version; }, 10s))
          << "round " << round << ": last heard " << heard.back().value.value_or("(deleted)");
      EXPECT_NE(watcher.mirrored(key), nullptr);
    }
    for (size_t i = 1; i < heard.size(); ++i) EXPECT_LT(heard[i - 1].version, heard[i].version);
    watcher.close_watch(w);
  }
}

// Random writes, rewrites (the same value too), deletions and re-creations under a children-only
// and a subtree prefix, by the other client and by the watcher itself, while the watcher's reads
// answer late: at the end the watch's view (each key's last update) is exactly what the store
// holds, and the mirror holds nothing deleted.
TEST_P(ObjectDbConformance, APrefixWatchEndsWithWhatTheStoreHoldsUnderChurnAndSlowReads) {
  SlowReads slow(loop_, *stores_[1], 40ms);
  ObjectDb watcher(loop_, slow);
  std::map<std::string, Record> view;
  WatchId w = watcher.open_watch([&](const KeyUpdate& u) {
    auto& r = view[u.key];
    // (a deletion of a key already absent may be reported again at the same version)
    if (u.record.exists() || r.exists())
      EXPECT_GT(u.record.version, r.version) << u.key;
    else
      EXPECT_GE(u.record.version, r.version) << u.key;
    r = u.record;
  });
  std::vector<std::string> keys;
  for (int i = 0; i < 4; ++i) {
    keys.push_back("test.sn." + std::to_string(i));
    keys.push_back("test.ss.A." + std::to_string(i % 2) + "." + std::to_string(i));
  }
  ASSERT_TRUE(put(a(), keys[0], Json("before")).ok());
  ASSERT_TRUE(put(a(), keys[1], Json("before")).ok());
  watcher.watch_prefix(w, "test.sn.", true);
  watcher.watch_prefix(w, "test.ss.A.");
  std::minstd_rand rng(7);
  int acked = 0, sent = 0;
  for (int step = 0; step < 120; ++step) {
    const std::string& k = keys[rng() % keys.size()];
    int op = static_cast<int>(rng() % 4);
    std::optional<Json> v = op == 0   ? std::nullopt
                            : op == 1 ? std::optional<Json>(Json("same"))
                                      : std::optional<Json>(Json(step));
    ObjectDb& db = rng() % 3 ? a() : watcher;
    ++sent;
    db.writewalk(
        {k},
        [k, v](TxnContext& t) {
          t.write(k, v);
          return Status{};
        },
        [&](Result<TxnResult> r) {
          EXPECT_TRUE(r.ok()) << r.status().to_string();
          ++acked;
        },
        TxnOptions{200});
    if (rng() % 3 == 0) run_until(loop_, [&] { return acked == sent; });
  }
  ASSERT_TRUE(run_until(
      loop_, [&] { return acked == sent; }, 60s));
  auto now = get(a(), keys);
  auto same = [&] {
    for (const auto& k : keys) {
      auto it = view.find(k);
      bool heard_exists = it != view.end() && it->second.exists();
      if (now[k].exists() != heard_exists) return false;
      if (heard_exists && (it->second.value != now[k].value || it->second.version != now[k].version))
        return false;
    }
    return true;
  };
  EXPECT_TRUE(run_until(loop_, same, 10s));
  for (const auto& k : keys) {
    EXPECT_EQ(now[k].value, view.count(k) ? view[k].value : std::nullopt) << k;
    if (!now[k].exists()) {
      EXPECT_EQ(watcher.mirrored(k), nullptr) << k << ": deleted, still mirrored";
    }
  }
  watcher.close_watch(w);
}

// Transactions on one key started together from one client, and from two (on the embedded
// store, two ObjectDbs on one store): each sees the other's write or conflicts and retries, so
// every increment counts. And the trace mailbox's pattern (a slot's key emptied for its old use
// and written for the next at once): whichever commits first, the new use's value stays.
TEST_P(ObjectDbConformance, ConcurrentTransactionsOnOneKeyFromOneClientAllCount) {
  auto increment = [](const auto&, const std::vector<std::optional<Json>>& v, int64_t) {
    int n = v[0] ? v[0]->get<int>() : 0;
    return Result<std::vector<std::pair<std::string, std::optional<Json>>>>({{"test.one", Json(n + 1)}});
  };
  constexpr int kRounds = 10, kTogether = 4;
  int done = 0, failed = 0;
  for (int round = 0; round < kRounds; ++round) {
    int before = done;
    for (int i = 0; i < kTogether; ++i)
      (i == kTogether - 1 && round % 2 ? b() : a())
          .transact(
              {"test.one"}, increment,
              [&](Result<TxnResult> r) {
                ++done;
                if (!r.ok()) ++failed;
              },
              TxnOptions{200});
    ASSERT_TRUE(run_until(
        loop_, [&] { return done == before + kTogether; }, 60s));
  }
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(get(a(), {"test.one"})["test.one"].value, Json(kRounds * kTogether));
  EXPECT_GT(a().stats().conflicts, 0u) << "the transactions never contended";

  for (int use = 1; use <= 10; ++use) {
    std::string old_id = "use" + std::to_string(use - 1), new_id = "use" + std::to_string(use);
    int finished = 0;
    a().writewalk(
        {"test.slot"},
        [&, old_id](TxnContext& t) {
          const Json* cur = t.get("test.slot").value();
          if (cur && cur->value("id", "") == old_id) t.write("test.slot", std::nullopt);
          return Status{};
        },
        [&](Result<TxnResult> r) { finished += r.ok(); });
    a().writewalk(
        {"test.slot"},
        [&, new_id](TxnContext& t) {
          t.write("test.slot", Json{{"id", new_id}});
          return Status{};
        },
        [&](Result<TxnResult> r) { finished += r.ok(); });
    ASSERT_TRUE(run_until(loop_, [&] { return finished == 2; }));
    EXPECT_EQ(get(b(), {"test.slot"})["test.slot"].value, (Json{{"id", new_id}})) << "use " << use;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ObjectDbConformance, ::testing::ValuesIn(backends()),
                         [](const auto& info) { return info.param.name; });

// ZooKeeper only (VLCP_ZK_HOSTS): a chroot, digest auth, and values over ZooKeeper's limit.
class ZkOnly : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* h = std::getenv("VLCP_ZK_HOSTS");
    if (!h) GTEST_SKIP() << "VLCP_ZK_HOSTS not set (the objectdb_zk system test sets it)";
    hosts_ = h;
    ns_ = std::to_string(::getpid());
  }
  std::unique_ptr<ZkStore> connect(ZkOptions o, bool wait = true) {
    auto s = ZkStore::connect(loop_, std::move(o));
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    if (!s.ok()) return nullptr;
    if (wait) {
      EXPECT_TRUE(run_until(
          loop_, [&] { return (*s)->connected(); }, 20s));
    }
    return std::move(*s);
  }
  // Waits until the store holds no tombstone and no marker (the lease holder compacts on its
  // own); returns its census.
  std::map<std::string, size_t> compacted(ZkStore& store) {
    std::map<std::string, size_t> counts;
    EXPECT_TRUE(run_until(
        loop_,
        [&] {
          std::optional<Result<std::map<std::string, size_t>>> r;
          store.census([&](auto x) { r = std::move(x); });
          if (!run_until(loop_, [&] { return r.has_value(); }) || !r->ok()) return false;
          counts = **r;
          if (counts["kv.tombstones"] == 0 && counts["tomb.markers"] == 0) return true;
          run_until(
              loop_, [] { return false; }, 1s);
          return false;
        },
        20s))
        << counts["kv.tombstones"] << " tombstones, " << counts["tomb.markers"] << " markers left";
    return counts;
  }
  // Two clients (two sessions) on one root.
  std::pair<std::unique_ptr<ZkStore>, std::unique_ptr<ZkStore>> two_clients(const ZkOptions& o) {
    auto first = connect(o);
    return {std::move(first), connect(o)};
  }
  Result<TxnResult> put(ObjectDb& db, const std::string& key, Json value) {
    return put_key(loop_, db, key, value);
  }
  std::optional<Json> value(ObjectDb& db, const std::string& key) {
    std::optional<Result<std::map<std::string, Record>>> r;
    db.get({key}, [&](auto x) { r = std::move(x); });
    EXPECT_TRUE(run_until(loop_, [&] { return r.has_value(); }));
    if (!r || !r->ok()) return std::nullopt;
    return (**r)[key].value;
  }
  // ZooKeeper's own client on the same ensemble (to change nodes behind the store's back),
  // connected or given up on after 10 s; the caller closes it.
  zhandle_t* raw_client() {
    zhandle_t* zh = zookeeper_init(hosts_.c_str(), nullptr, 10000, nullptr, nullptr, 0);
    for (int i = 0; zh && i < 100 && zoo_state(zh) != ZOO_CONNECTED_STATE; ++i)
      std::this_thread::sleep_for(100ms);
    return zh;
  }
  static ZkOptions zk(std::string hosts, std::string root, std::string auth = "") {
    ZkOptions o;
    o.hosts = std::move(hosts);
    o.root = std::move(root);
    o.auth = std::move(auth);
    return o;
  }
  std::string hosts_, ns_;
  RealClock clock_;
  io::ControlLoop loop_{clock_};
};

TEST_F(ZkOnly, AChrootedStoreIsTheSameDataUnderTheChroot) {
  std::string chroot = "/chroot-" + ns_;
  auto plain = connect(zk(hosts_, chroot + "/vlcp"));  // also creates the chroot
  auto chrooted = connect(zk(hosts_ + chroot, "/vlcp"));
  ASSERT_TRUE(plain && chrooted);
  ObjectDb a(loop_, *chrooted), b(loop_, *plain);
  ASSERT_TRUE(put(a, "test.chroot", Json("inside")).ok());
  EXPECT_EQ(value(b, "test.chroot"), Json("inside"));
}

// A node starting beside its store: what it asks before its first session is up waits for it
// (a vlcpd start would otherwise cost each caller its retry period); a store that never comes
// up answers "not reachable" once first_wait_ms has passed.
TEST_F(ZkOnly, CallsMadeBeforeTheFirstSessionWaitForIt) {
  auto store = connect(zk(hosts_, "/first-" + ns_), false);
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->connected());
  ObjectDb db(loop_, *store);
  auto w = put(db, "test.first", Json(1));  // its read and its commit, asked before the session
  EXPECT_TRUE(w.ok()) << w.status().to_string();
  EXPECT_EQ(value(db, "test.first"), Json(1));
  ZkOptions nowhere = zk("127.0.0.1:1", "/vlcp");
  nowhere.first_wait_ms = 200;
  auto none = connect(nowhere, false);
  ASSERT_TRUE(none);
  ObjectDb lost(loop_, *none);
  std::optional<Result<std::vector<std::string>>> listed;
  lost.list("test.", [&](auto r) { listed = std::move(r); });
  ASSERT_TRUE(run_until(
      loop_, [&] { return listed.has_value(); }, 10s));
  ASSERT_FALSE(listed->ok());
  EXPECT_EQ(listed->status().code(), Errc::kUnavailable);
}

TEST_F(ZkOnly, DigestAuthKeepsOthersOut) {
  std::string root = "/auth-" + ns_;
  auto owner = connect(zk(hosts_, root, "alice:secret"));
  ASSERT_TRUE(owner);
  ObjectDb db(loop_, *owner);
  ASSERT_TRUE(put(db, "test.secret", Json(42)).ok());
  for (const char* auth : {"", "alice:wrong"}) {
    SCOPED_TRACE(auth);
    auto other = connect(zk(hosts_, root, auth), false);
    ASSERT_TRUE(other);
    run_until(
        loop_, [] { return false; }, 2s);
    EXPECT_FALSE(other->connected());
    std::optional<Result<Snapshot>> r;
    other->read({"test.secret"}, false, [&](Result<Snapshot> x) { r = std::move(x); });
    ASSERT_TRUE(run_until(loop_, [&] { return r.has_value(); }));
    EXPECT_EQ(r->status().code(), Errc::kUnavailable);
    EXPECT_NE(r->status().message().find("authenticated"), std::string::npos) << r->status().to_string();
  }
  auto again = connect(zk(hosts_, root, "alice:secret"));
  ObjectDb db2(loop_, *again);
  EXPECT_EQ(value(db2, "test.secret"), Json(42));
}

TEST_F(ZkOnly, ValuesOverZooKeepersLimitAreRefusedClearly) {
  auto store = connect(zk(hosts_, "/big-" + ns_));
  ASSERT_TRUE(store);
  ObjectDb db(loop_, *store);
  auto r = put(db, "test.big", Json(std::string(2u << 20, 'x')));
  EXPECT_EQ(r.status().code(), Errc::kInvalidArgument);
  EXPECT_NE(r.status().message().find("1 MiB"), std::string::npos) << r.status().to_string();
  EXPECT_TRUE(put(db, "test.big", Json("small")).ok());  // and nothing is stuck
}

// The change log moves to a new epoch every log_keep commits and drops old ones; a watcher
// keeps up across the moves without a resync, and commits racing a move are retried.
TEST_F(ZkOnly, TheChangeLogRollsOverEpochs) {
  ZkOptions o = zk(hosts_, "/epochs-" + ns_);
  o.log_keep = 4;
  o.follow = false;  // (the log's reader is what rolls over)
  auto [sa, sb] = two_clients(o);
  ASSERT_TRUE(sa && sb);
  ObjectDb a(loop_, *sa), b(loop_, *sb);
  std::vector<Json> seen;
  WatchId w = b.open_watch([&](const KeyUpdate& u) { seen.push_back(u.record.value.value_or(Json())); });
  b.watch_keys(w, {"test.roll"});
  ASSERT_TRUE(run_until(loop_, [&] { return b.mirrored("test.roll") != nullptr; }));
  for (int i = 1; i <= 25; ++i) ASSERT_TRUE(put(a, "test.roll", Json(i)).ok()) << i;
  ASSERT_TRUE(run_until(loop_, [&] { return !seen.empty() && seen.back() == Json(25); }));
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_LT(seen[i - 1].get<int>(), seen[i].get<int>());
  EXPECT_EQ(b.stats().restores, 0u);
}

// The node holding the compaction lease (one of the two) removes old tombstones on its own.
TEST_F(ZkOnly, TheLeaseHolderCompactsOldTombstonesOnItsOwn) {
  ZkOptions o = zk(hosts_, "/compactor-" + ns_);
  o.compact_after_ms = 1000;
  auto [sa, sb] = two_clients(o);
  ASSERT_TRUE(sa && sb);
  ObjectDb a(loop_, *sa), b(loop_, *sb);
  for (int i = 0; i < 20; ++i) {
    std::string k = "test.tmp.k" + std::to_string(i);
    ASSERT_TRUE(put(i % 2 ? a : b, k, Json(i)).ok());
    ASSERT_TRUE(put_key(loop_, i % 3 ? a : b, k, std::nullopt).ok());
  }
  ASSERT_TRUE(put(a, "test.tmp.kept", Json("here")).ok());
  auto counts = compacted(*sa);
  EXPECT_EQ(counts["kv.keys"], 1u);
  EXPECT_NE(sa->compacting(), sb->compacting()) << "one node, and only one, holds the lease";
  EXPECT_EQ(sa->compacted() + sb->compacted(), 20u);
  EXPECT_EQ(value(b, "test.tmp.kept"), Json("here"));
}

// The lease goes with its holder's session: the other node takes it over and compacts.
TEST_F(ZkOnly, TheLeaseMovesWhenItsHolderGoes) {
  ZkOptions o = zk(hosts_, "/lease-" + ns_);
  o.compact_after_ms = 1000;
  auto [sa, sb] = two_clients(o);
  ASSERT_TRUE(sa && sb);
  ASSERT_TRUE(run_until(
      loop_, [&] { return sa->compacting() || sb->compacting(); }, 10s));
  auto& holder = sa->compacting() ? sa : sb;
  auto& other = sa->compacting() ? sb : sa;
  holder.reset();  // its session closes, and the ephemeral lease node with it
  ASSERT_TRUE(run_until(
      loop_, [&] { return other->compacting(); }, 20s));
  ObjectDb db(loop_, *other);
  for (int i = 0; i < 5; ++i) {
    std::string k = "test.lease.k" + std::to_string(i);
    ASSERT_TRUE(put(db, k, Json(i)).ok());
    ASSERT_TRUE(put_key(loop_, db, k, std::nullopt).ok());
  }
  EXPECT_EQ(compacted(*other)["kv.keys"], 0u);
  EXPECT_EQ(other->compacted(), 5u);
}

// A marker only names a node: a live key's node is never deleted by one, whatever version it
// names (an old marker processed late — a committing node's clock ahead, a pass interrupted —
// names a version the key, created anew, has reached again), nor a parent, nor a node outside
// kv/; and a record whose generation is not a number is an error, not a crash.
TEST_F(ZkOnly, MarkersNeverDeleteALiveKeyAParentOrAMalformedRecordsReader) {
  std::string root = "/markers-" + ns_;
  auto store = connect(zk(hosts_, root));  // compact_after_ms 0: only on request
  ASSERT_TRUE(store);
  ObjectDb db(loop_, *store);
  ASSERT_TRUE(put(db, "test.m.k", Json("live")).ok());   // data version 0
  ASSERT_TRUE(put(db, "test.m.k", Json("live2")).ok());  // data version 1
  ASSERT_TRUE(put(db, "test.m.gone", Json(1)).ok());
  ASSERT_TRUE(put_key(loop_, db, "test.m.gone", std::nullopt).ok());  // a real tombstone
  zhandle_t* zh = raw_client();
  ASSERT_NE(zh, nullptr);
  std::string bucket = root + "/tomb/000000000001";
  ASSERT_EQ(zoo_create(zh, bucket.c_str(), "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0), ZOK);
  std::string names = "[[\"" + root + "/kv/test.m/k\",1],[\"" + root + "/kv/test.m/k\",-7],[\"" + root +
                      "/kv/test.m\",0],[\"" + root + "/rev\",-1]]";
  ASSERT_EQ(zoo_create(zh, (bucket + "/stale").c_str(), names.data(), static_cast<int>(names.size()),
                       &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0),
            ZOK);
  std::optional<Result<size_t>> n;
  store->compact([&](auto x) { n = std::move(x); });
  ASSERT_TRUE(run_until(
      loop_, [&] { return n.has_value(); }, 10s));
  EXPECT_TRUE(n->ok()) << n->status().to_string();
  EXPECT_EQ(value(db, "test.m.k"), Json("live2")) << "a marker deleted a live key";
  EXPECT_EQ(zoo_exists(zh, (root + "/kv/test.m").c_str(), 0, nullptr), ZOK) << "a marker deleted a parent";
  EXPECT_EQ(zoo_exists(zh, (root + "/rev").c_str(), 0, nullptr), ZOK);
  EXPECT_EQ(zoo_exists(zh, (bucket + "/stale").c_str(), 0, nullptr), ZNONODE) << "the marker is consumed";
  // The real tombstone's own marker (this second's) goes with the next pass past the horizon:
  // not asserted here (horizon 0 = on request).

  const char* bad = R"({"v":1,"g":"x"})";
  ASSERT_EQ(zoo_set(zh, (root + "/kv/test.m/k").c_str(), bad, static_cast<int>(std::strlen(bad)), -1), ZOK);
  std::optional<Result<Snapshot>> r;
  store->read({"test.m.k"}, false, [&](auto x) { r = std::move(x); });
  ASSERT_TRUE(run_until(
      loop_, [&] { return r.has_value(); }, 10s));
  EXPECT_FALSE(r->ok()) << "a record whose generation is a string was read";
  zookeeper_close(zh);
}

// A parent node removed behind the store's back (an operator, a foreign tool) is made again by
// the next commit that needs it, not refused until a restart.
TEST_F(ZkOnly, AParentRemovedBehindTheStoresBackIsMadeAgain) {
  std::string root = "/parents-" + ns_;
  auto store = connect(zk(hosts_, root));
  ASSERT_TRUE(store);
  ObjectDb db(loop_, *store);
  ASSERT_TRUE(put(db, "test.q.k", Json(1)).ok());
  zhandle_t* zh = raw_client();
  ASSERT_NE(zh, nullptr);
  ASSERT_EQ(zoo_delete(zh, (root + "/kv/test.q/k").c_str(), -1), ZOK);
  ASSERT_EQ(zoo_delete(zh, (root + "/kv/test.q").c_str(), -1), ZOK);
  zookeeper_close(zh);
  auto again = put(db, "test.q.k2", Json(2));
  EXPECT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(value(db, "test.q.k2"), Json(2));
}

// A store from before markers: empty nodes (deleted keys, keys read absent) that no marker
// names, made here with ZooKeeper's own client, and no `swept`. A node that takes the
// compaction lease sweeps them, records `swept`, and a key written again is above its old
// versions.
TEST_F(ZkOnly, TombstonesFromBeforeMarkersAreSwept) {
  std::string root = "/sweep-" + ns_;
  {
    auto store = connect(zk(hosts_, root));
    ASSERT_TRUE(store);
    ObjectDb db(loop_, *store);
    ASSERT_TRUE(put(db, "test.old.keep", Json(1)).ok());
  }
  zhandle_t* zh = raw_client();
  ASSERT_NE(zh, nullptr);
  for (int i = 0; i < 10; ++i) {
    std::string node = root + "/kv/test.old/k" + std::to_string(i);
    ASSERT_EQ(zoo_create(zh, node.c_str(), "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0), ZOK);
    if (i % 2) {
      ASSERT_EQ(zoo_set(zh, node.c_str(), "", 0, -1), ZOK);  // written, then deleted
    }
  }
  ASSERT_EQ(zoo_delete(zh, (root + "/swept").c_str(), -1), ZOK);
  ZkOptions o = zk(hosts_, root);
  o.compact_after_ms = 1000;
  auto store = connect(o);
  ASSERT_TRUE(store);
  EXPECT_TRUE(run_until(
      loop_, [&] { return zoo_exists(zh, (root + "/swept").c_str(), 0, nullptr) == ZOK; }, 20s));
  zookeeper_close(zh);
  std::optional<Result<std::map<std::string, size_t>>> counts;
  store->census([&](auto x) { counts = std::move(x); });
  ASSERT_TRUE(run_until(loop_, [&] { return counts.has_value(); }));
  ASSERT_TRUE(counts->ok());
  EXPECT_EQ((**counts)["kv.tombstones"], 0u);
  EXPECT_EQ((**counts)["kv.keys"], 1u);
  ObjectDb db(loop_, *store);
  auto again = put(db, "test.old.k3", Json("again"));
  ASSERT_TRUE(again.ok());
  EXPECT_GT((*again).written["test.old.k3"].version, 2u);  // its old node was at version 2
}

// The embedded store keeps what it acknowledged across a restart (the kill -9 case is the
// system test objectdb_crash).
TEST(EmbeddedStore, ReopensWithItsDataAndVersions) {
  auto dir = std::filesystem::temp_directory_path() / ("vlcp-embedded-reopen-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  RealClock clock;
  io::ControlLoop loop(clock);
  for (int round = 0; round < 2; ++round) {
    auto store = EmbeddedStore::open(loop, EmbeddedOptions{(dir / "db").string(), 64, true});
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    ObjectDb db(loop, **store);
    std::optional<Result<TxnResult>> r;
    db.transact(
        {"test.persist"},
        [](const auto&, const std::vector<std::optional<Json>>& v, int64_t) {
          int n = v[0] ? v[0]->get<int>() : 0;
          return Result<std::vector<std::pair<std::string, std::optional<Json>>>>(
              {{"test.persist", Json(n + 1)}});
        },
        [&](Result<TxnResult> x) { r = std::move(x); });
    ASSERT_TRUE(run_until(loop, [&] { return r.has_value(); }));
    ASSERT_TRUE(r->ok());
    EXPECT_EQ((*r)->written["test.persist"].value, Json(round + 1));
    EXPECT_EQ((*r)->written["test.persist"].version, static_cast<uint64_t>(round + 1));
    EXPECT_EQ((*r)->revision, static_cast<uint64_t>(round + 1));
  }
  std::filesystem::remove_all(dir);
}

// The targeted feed: a node hears of the keys it follows and of keys appearing under its
// prefixes — a key by name, a parent's children, a whole subtree — and of nothing else: a
// thousand commits elsewhere cost it no notification.
TEST_F(ZkOnly, TheTargetedFeedHearsOnlyWhatANodeFollows) {
  auto [sa, sb] = two_clients(zk(hosts_, "/follow-" + ns_));
  ASSERT_TRUE(sa && sb);
  ASSERT_TRUE(sb->follows());
  ObjectDb a(loop_, *sa), b(loop_, *sb);
  ASSERT_TRUE(put(a, "test.net1.p0", Json("old")).ok());
  ASSERT_TRUE(put(a, "test.deep.x.y", Json("old")).ok());
  std::map<std::string, std::optional<Json>> seen;
  WatchId w = b.open_watch([&](const KeyUpdate& u) { seen[u.key] = u.record.value; });
  b.watch_keys(w, {"test.mine"});
  b.watch_prefix(w, "test.net1.", true);  // one parent's children
  b.watch_prefix(w, "test.deep.");        // a subtree: every parent under it
  ASSERT_TRUE(run_until(loop_, [&] { return seen.count("test.net1.p0") && seen.count("test.deep.x.y"); }));
  ASSERT_TRUE(run_until(loop_, [&] { return b.mirrored("test.mine") != nullptr; }));
  uint64_t events = sb->follow_stats().events;
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(put(a, "test.other.k" + std::to_string(i), Json(i)).ok());
  ASSERT_TRUE(put(a, "test.net2.p1", Json(1)).ok());    // a sibling parent of a children-only prefix
  ASSERT_TRUE(put(a, "test.net1.p1.z", Json(1)).ok());  // below the children: not one of them
  ASSERT_TRUE(put(a, "test.mine", Json("hello")).ok());
  ASSERT_TRUE(put(a, "test.net1.p1", Json("new")).ok());
  ASSERT_TRUE(put(a, "test.deep.n.m", Json("new")).ok());  // a parent that did not exist
  ASSERT_TRUE(put_key(loop_, a, "test.net1.p0", std::nullopt).ok());
  ASSERT_TRUE(run_until(loop_, [&] {
    return seen["test.mine"] == Json("hello") && seen["test.net1.p1"] == Json("new") &&
           seen["test.deep.n.m"] == Json("new") && seen.count("test.net1.p0") && !seen["test.net1.p0"];
  }));
  EXPECT_FALSE(seen.count("test.net2.p1"));
  EXPECT_FALSE(seen.count("test.net1.p1.z"));
  EXPECT_FALSE(seen.count("test.other.k0"));
  // What it heard: the key, the parents' children (twice for net1: p1.z's parent is another
  // node), kv's children (twice: deep.n and other's parents), the deletion — not 200 commits.
  uint64_t heard = sb->follow_stats().events - events;
  EXPECT_LE(heard, 12u) << heard;
  EXPECT_GE(heard, 4u) << heard;
  // A key let go is forgotten by the server too: writing it costs this node nothing.
  b.close_watch(w);
  EXPECT_EQ(sb->follow_stats().keys, 0u);
  ASSERT_TRUE(run_until(loop_, [&] { return sb->follow_stats().events >= events + heard; }));
  uint64_t after = sb->follow_stats().events;
  ASSERT_TRUE(put(a, "test.mine", Json("again")).ok());
  ASSERT_TRUE(put(a, "test.net1.p1", Json("again")).ok());
  EXPECT_EQ(value(b, "test.mine"), Json("again"));
  run_until(
      loop_, [] { return false; }, 1s);
  EXPECT_LE(sb->follow_stats().events, after + 1);  // (the parent's children watch fires once more)
}

}  // namespace
}  // namespace vlcp::db
