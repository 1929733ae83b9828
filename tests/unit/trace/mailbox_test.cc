// The trace's ObjectDB mailbox (docs/TRACE_DESIGN.md §7, §13.1 trace_mailbox_test): two nodes with
// different system ids over one embedded-store ObjectDB, time on a ManualClock. Node records and
// liveness, round 0 to every live peer, a hop request to one, a stale answer ignored on slot reuse,
// a peer that never answers (missing at the deadline), busy slots, the sweeper, and the key count
// bounded over 1,000 traces.
#include "trace/mailbox.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "base/clock.h"
#include "db/embedded.h"
#include "schema/kinds.h"

namespace vlcp::trace {
namespace {

using namespace std::chrono_literals;
using db::Json;

class MailboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("vlcp-mailbox-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    auto s = db::EmbeddedStore::open(loop_, db::EmbeddedOptions{(dir_ / "db").string(), 64, false});
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(*s);
    db_ = std::make_unique<db::ObjectDb>(loop_, *store_);
  }
  void TearDown() override {
    nodes_.clear();
    db_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Runs the loop (the store answers on its own thread) until `done`, at most 10 s of real time.
  bool run_until(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      if (!loop_.run_pending()) std::this_thread::sleep_for(100us);
    }
    return true;
  }
  void settle() {
    auto until = std::chrono::steady_clock::now() + 50ms;
    while (std::chrono::steady_clock::now() < until)
      if (!loop_.run_pending()) std::this_thread::sleep_for(100us);
  }
  // A node answering with its id and the request (or not at all when `silent`).
  Mailbox& node(const std::string& id, bool silent = false, MailboxOptions options = {}) {
    auto m = std::make_unique<Mailbox>(loop_, *db_, id, options);
    Mailbox* raw = m.get();
    raw->start(
        [id] {
          return Json{{"bridges", Json::array()}, {"tunnel_ips", {"192.168.99." + id}}};
        },
        [raw, silent](const std::string& requester, const Json& req, Mailbox::Reply reply) {
          if (!silent) reply(Json{{"by", raw->system_id()}, {"to", requester}, {"echo", req}});
        });
    nodes_.push_back(std::move(m));
    return *raw;
  }
  size_t keys(std::string_view prefix) {
    std::optional<size_t> n;
    db_->list(std::string(prefix), [&](Result<std::vector<std::string>> k) { n = k.ok() ? k->size() : 0; });
    EXPECT_TRUE(run_until([&] { return n.has_value(); }));
    return n.value_or(0);
  }
  // How many keys under `prefix` hold a live value (not an ended request, not a swept answer).
  size_t live_values(std::string_view prefix) {
    std::optional<std::vector<std::string>> ks;
    db_->list(std::string(prefix),
              [&](Result<std::vector<std::string>> k) { ks = k.ok() ? *k : std::vector<std::string>{}; });
    EXPECT_TRUE(run_until([&] { return ks.has_value(); }));
    std::optional<std::map<std::string, db::Record>> recs;
    db_->get(*ks, [&](Result<std::map<std::string, db::Record>> r) {
      recs = r.ok() ? *r : std::map<std::string, db::Record>{};
    });
    EXPECT_TRUE(run_until([&] { return recs.has_value(); }));
    size_t n = 0;
    for (const auto& [k, r] : *recs)
      n += r.value && !r.value->contains("ended") && !r.value->contains("swept");
    return n;
  }
  // Asks and waits for the answer.
  Answers ask(Mailbox& m, int slot, const std::string& target, Json req, std::chrono::milliseconds d = 5s) {
    std::optional<Answers> got;
    m.ask(slot, target, std::move(req), d, [&](Answers a) { got = std::move(a); });
    EXPECT_TRUE(run_until([&] { return got.has_value(); }));
    return got.value_or(Answers{});
  }

  ManualClock clock_;
  io::ControlLoop loop_{clock_};
  std::filesystem::path dir_;
  std::unique_ptr<db::EmbeddedStore> store_;
  std::unique_ptr<db::ObjectDb> db_;
  std::vector<std::unique_ptr<Mailbox>> nodes_;
};

TEST_F(MailboxTest, SingleNodeWritesNoMailboxKey) {
  Mailbox& a = node("hv1");
  ASSERT_TRUE(run_until([&] { return a.record_written() && a.nodes().size() == 1; }));
  EXPECT_TRUE(a.live_peers().empty());
  auto slot = a.open();
  ASSERT_TRUE(slot.ok());
  Answers r = ask(a, *slot, "*", Json{{"round", 0}});
  EXPECT_TRUE(r.by_node.empty());
  EXPECT_TRUE(r.missing.empty());
  a.close(*slot);
  settle();
  EXPECT_EQ(keys(schema::kTraceRequestPrefix), 0u);
  EXPECT_EQ(keys(schema::kTraceAnswerPrefix), 0u);
  EXPECT_EQ(keys(schema::kNodePrefix), 1u);
}

TEST_F(MailboxTest, RecordsRoundZeroAndAHopRequest) {
  Mailbox& a = node("hv1");
  Mailbox& b = node("hv2");
  Mailbox& c = node("hv3");
  ASSERT_TRUE(run_until([&] { return a.live_peers().size() == 2 && b.live_peers().size() == 2; }));
  EXPECT_EQ(a.node("hv2")->value["tunnel_ips"][0], "192.168.99.hv2");
  auto slot = a.open();
  ASSERT_TRUE(slot.ok());
  Answers r0 = ask(a, *slot, "*", Json{{"round", 0}, {"ports", {"a1", "a3"}}});
  ASSERT_EQ(r0.by_node.size(), 2u);
  EXPECT_TRUE(r0.missing.empty());
  EXPECT_EQ(r0.by_node["hv2"]["by"], "hv2");
  EXPECT_EQ(r0.by_node["hv3"]["to"], "hv1");
  EXPECT_EQ(r0.by_node["hv2"]["echo"]["ports"][1], "a3");
  // A hop: only hv3 is asked, only hv3 answers.
  uint64_t served_b = b.stats().served;
  Answers r1 = ask(a, *slot, "hv3", Json{{"hop", 2}});
  ASSERT_EQ(r1.by_node.size(), 1u);
  EXPECT_EQ(r1.by_node["hv3"]["echo"]["hop"], 2);
  EXPECT_EQ(b.stats().served, served_b);
  (void)c;
  a.close(*slot);
}

TEST_F(MailboxTest, APeerThatNeverAnswersIsMissingAtTheDeadline) {
  Mailbox& a = node("hv1");
  node("hv2", /*silent=*/true);
  ASSERT_TRUE(run_until([&] { return a.live_peers().size() == 1; }));
  auto slot = a.open();
  ASSERT_TRUE(slot.ok());
  std::optional<Answers> got;
  a.ask(*slot, "hv2", Json{{"hop", 2}}, 5s, [&](Answers x) { got = std::move(x); });
  settle();
  EXPECT_FALSE(got.has_value());  // (4.9 s of the clock: still waiting)
  clock_.advance(4900ms);
  settle();
  EXPECT_FALSE(got.has_value());
  clock_.advance(200ms);
  ASSERT_TRUE(run_until([&] { return got.has_value(); }));
  EXPECT_TRUE(got->by_node.empty());
  EXPECT_EQ(got->missing, std::vector<std::string>{"hv2"});
  EXPECT_EQ(a.stats().timeouts, 1u);
  a.close(*slot);
}

TEST_F(MailboxTest, AStaleAnswerIsIgnoredOnSlotReuse) {
  Mailbox& a = node("hv1");
  Mailbox& b = node("hv2");
  ASSERT_TRUE(run_until([&] { return a.live_peers().size() == 1; }));
  // hv2's answer to the first use of slot 0, written late (after the slot was closed and reused).
  auto s1 = a.open();
  ASSERT_TRUE(s1.ok());
  Answers first = ask(a, *s1, "hv2", Json{{"n", 1}});
  ASSERT_EQ(first.by_node.size(), 1u);
  a.close(*s1);
  auto s2 = a.open();
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(*s2, *s1);  // the same slot, a new id
  std::optional<Answers> got;
  a.ask(*s2, "hv2", Json{{"n", 2}}, 5s, [&](Answers x) { got = std::move(x); });
  // An answer with the old use's id lands in the slot's answer key first.
  uint64_t stale = a.stats().stale;
  std::string key = std::string(schema::kTraceAnswerPrefix) + "hv1." + std::to_string(*s2) + ".hv2";
  bool wrote = false;
  db_->writewalk(
      {key},
      [&](db::TxnContext& t) -> Status {
        t.write(key, Json{{"id", "0000000000000bad"}, {"round", 1}, {"answer", {{"echo", {{"n", 1}}}}}});
        return {};
      },
      [&](Result<db::TxnResult>) { wrote = true; });
  bool ok = run_until([&] { return got.has_value(); });
  ASSERT_TRUE(ok);
  ASSERT_TRUE(wrote);
  EXPECT_EQ(got->by_node["hv2"]["echo"]["n"], 2);  // only the current use's answer counts
  EXPECT_GE(a.stats().stale, stale);
  (void)b;
  a.close(*s2);
}

TEST_F(MailboxTest, SlotsExhaustedGiveBusy) {
  Mailbox& a = node("hv1");
  std::vector<int> used;
  for (int i = 0; i < 4; ++i) {
    auto s = a.open();
    ASSERT_TRUE(s.ok());
    used.push_back(*s);
  }
  auto fifth = a.open();
  ASSERT_FALSE(fifth.ok());
  EXPECT_EQ(fifth.error().code(), Errc::kConflict);
  EXPECT_NE(fifth.error().message().find("busy"), std::string::npos);
  EXPECT_EQ(a.stats().busy, 1u);
  a.close(used[2]);
  EXPECT_TRUE(a.open().ok());
}

TEST_F(MailboxTest, TheSweeperEmptiesOrphanedAnswers) {
  Mailbox& a = node("hv1");
  Mailbox& b = node("hv2");
  ASSERT_TRUE(run_until([&] { return a.live_peers().size() == 1 && b.live_peers().size() == 1; }));
  auto s = a.open();
  ASSERT_TRUE(s.ok());
  ask(a, *s, "*", Json{{"round", 0}});
  settle();
  EXPECT_EQ(keys(std::string(schema::kTraceAnswerPrefix) + "hv1."), 1u);
  a.close(*s);  // the request ended: hv2's answer is an orphan
  ASSERT_TRUE(run_until([&] {
    const db::Record* r = db_->mirrored(std::string(schema::kTraceRequestPrefix) + "hv1.0");
    return r && r->value && r->value->contains("ended");
  }));
  b.refresh();  // (its refresh runs the sweeper)
  ASSERT_TRUE(run_until([&] { return live_values(std::string(schema::kTraceAnswerPrefix) + "hv1.") == 0; }));
  EXPECT_EQ(b.stats().swept, 1u);
  EXPECT_EQ(keys(std::string(schema::kTraceAnswerPrefix) + "hv1."), 1u);  // (kept, small: never deleted)
}

TEST_F(MailboxTest, AnExpiredRecordIsNotAPeer) {
  // (no refresh of hv1's own record meanwhile: its estimate of server time moves with the clock)
  MailboxOptions slow;
  slow.refresh = std::chrono::hours(1);
  Mailbox& a = node("hv1", false, slow);
  auto b = std::make_unique<Mailbox>(loop_, *db_, "hv2");
  b->start([] { return Json::object(); }, [](const std::string&, const Json&, Mailbox::Reply) {});
  ASSERT_TRUE(run_until([&] { return a.live_peers().size() == 1; }));
  b->stop();  // hv2's vlcpd stops refreshing
  b.reset();
  clock_.advance(60s);
  settle();
  EXPECT_EQ(a.live_peers().size(), 1u);  // 60 s after: still within 90 s
  clock_.advance(40s);
  settle();
  EXPECT_TRUE(a.live_peers().empty());
  EXPECT_FALSE(a.node("hv2")->live);
}

TEST_F(MailboxTest, KeyCountBoundedOverAThousandTraces) {
  Mailbox& a = node("hv1");
  Mailbox& b = node("hv2");
  Mailbox& c = node("hv3");
  ASSERT_TRUE(run_until([&] { return a.live_peers().size() == 2 && b.live_peers().size() == 2; }));
  for (int i = 0; i < 1000; ++i) {
    Mailbox& req = i % 3 == 0 ? a : (i % 3 == 1 ? b : c);
    auto s = req.open();
    ASSERT_TRUE(s.ok()) << i;
    Answers r = ask(req, *s, "*", Json{{"i", i}});
    ASSERT_EQ(r.by_node.size(), 2u) << i;
    if (i % 2) ask(req, *s, i % 3 == 0 ? "hv2" : "hv1", Json{{"hop", 2}});
    req.close(*s);
  }
  settle();
  // 3 records; at most one request per (requester, slot), all ended; at most one answer per
  // (requester, slot, answerer).
  EXPECT_EQ(keys(schema::kNodePrefix), 3u);
  EXPECT_LE(keys(schema::kTraceRequestPrefix), 3u * 4u);
  EXPECT_EQ(live_values(schema::kTraceRequestPrefix), 0u);
  EXPECT_LE(keys(schema::kTraceAnswerPrefix), 3u * 4u * 2u);
  for (auto* m : {&a, &b, &c}) m->refresh();
  ASSERT_TRUE(run_until([&] { return live_values(schema::kTraceAnswerPrefix) == 0; }));
}

}  // namespace
}  // namespace vlcp::trace
