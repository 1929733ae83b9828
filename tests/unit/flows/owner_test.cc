// The flow owner against a fake switch that applies FLOW_MODs and GROUP_MODs as OVS does and
// reports its tables through the real codec: reconnecting to a switch that has what is wanted
// sends nothing; one that lost or gained flows gets exactly the difference; learned flows
// (dynamic cookies) are left alone; changes during a batch are merged into the next; a batch
// the switch refused makes it read the switch again. Several apps: their partitions merged into
// one switch, attributed by the cookie's app id; a clash between two apps or a flow with another
// app's cookie is refused, naming both, and leaves everything else as it was.
#include "flows/owner.h"

#include <gtest/gtest.h>

#include "fake_switch.h"
#include "ofp/actions.h"
#include "switch/packet_in.h"

namespace vlcp::flows {
namespace {

using ofp::Field;

ofp::FlowMod flow(uint8_t table, uint32_t in_port, uint32_t out, uint64_t cookie = 1) {
  ofp::FlowMod f;
  f.table_id = table;
  f.priority = 100;
  f.cookie = cookie;
  f.match.add(Field::kInPort, in_port).add(Field::kReg5, in_port * 3);
  f.instructions.apply_actions(ofp::ActionList().output(out));
  return f;
}

Desired partition(uint32_t base, int n) {
  Desired d;
  for (int i = 0; i < n; ++i) pipeline::put_flow(d.flows, flow(0, base + i, base + i + 100));
  ofp::Bucket b;
  b.actions.output(base);
  pipeline::put_group(d.groups, base, 0, {b});
  return d;
}

class FlowOwnerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(inst.add_app("t", {0}).ok()); }
  ManualClock clock;
  FakeSwitch sw;
  FlowOwner inst{clock};
};

TEST_F(FlowOwnerTest, FirstConnectInstallsEverythingThenReconnectSendsNothing) {
  ASSERT_TRUE(inst.set("t", "a", partition(10, 20)).ok());
  ASSERT_TRUE(inst.set("t", "b", partition(50, 30)).ok());
  inst.attach(&sw);
  sw.deliver();  // the reads, then the batch's barrier
  sw.deliver();
  EXPECT_EQ(sw.flows.size(), 50u);
  EXPECT_EQ(sw.groups.size(), 2u);
  EXPECT_EQ(inst.stats().last_reconcile_flow_mods, 50u);
  EXPECT_TRUE(inst.stats().synced);
  // The connection drops and comes back: the switch still has everything.
  inst.detach();
  size_t mods = sw.flow_mods + sw.group_mods;
  inst.attach(&sw);
  sw.deliver();
  sw.deliver();
  EXPECT_EQ(sw.flow_mods + sw.group_mods, mods) << "a reconnect with nothing changed sent messages";
  EXPECT_EQ(inst.stats().last_reconcile_flow_mods, 0u);
  EXPECT_TRUE(inst.stats().synced);
}

TEST_F(FlowOwnerTest, ReconnectSendsExactlyWhatTheSwitchLostOrGainedAndSparesLearnedFlows) {
  ASSERT_TRUE(inst.set("t", "a", partition(10, 20)).ok());
  inst.attach(&sw);
  sw.deliver();
  sw.deliver();
  inst.detach();
  // While disconnected: the switch lost two flows, gained a stray one and a learned one.
  sw.flows.erase(sw.flows.begin());
  sw.flows.erase(sw.flows.begin());
  pipeline::put_flow(sw.flows, flow(3, 999, 1));
  pipeline::put_flow(sw.flows, flow(5, 777, 1, kCookieDynamic | 5));
  size_t before = sw.flow_mods;
  inst.attach(&sw);
  sw.deliver();
  sw.deliver();
  EXPECT_EQ(sw.flow_mods - before, 3u);  // two adds, one delete
  EXPECT_EQ(sw.bundle_messages, 1u);     // state replaced: one atomic bundle
  EXPECT_EQ(inst.stats().bundles, 1u);
  EXPECT_EQ(sw.flows.size(), 21u);  // the 20 wanted and the learned one
  pipeline::FlowSet want = inst.desired().flows;
  for (const auto& [k, b] : want) EXPECT_TRUE(sw.flows.count(k));
}

TEST_F(FlowOwnerTest, ChangesDuringABatchAreMergedIntoTheNext) {
  inst.attach(&sw);
  sw.deliver();                                            // reads: empty switch, nothing wanted
  ASSERT_TRUE(inst.set("t", "a", partition(10, 5)).ok());  // batch 1 in flight
  EXPECT_FALSE(inst.stats().synced);
  ASSERT_TRUE(inst.set("t", "a", partition(10, 8)).ok());  // while it flies
  ASSERT_TRUE(inst.set("t", "b", partition(30, 2)).ok());
  sw.deliver();  // batch 1 confirmed; batch 2 sent with the rest
  sw.deliver();
  EXPECT_EQ(sw.flows.size(), 10u);
  EXPECT_EQ(inst.stats().batches, 2u);
  EXPECT_TRUE(inst.stats().synced);
  // A flow moving between partitions (same key, new owner) is not deleted by its old owner.
  Desired a = partition(10, 8), b = partition(30, 2);
  auto moved = *a.flows.begin();
  a.flows.erase(a.flows.begin());
  b.flows.insert(moved);
  ASSERT_TRUE(inst.set_all("t", {{"a", a}, {"b", b}}).ok());
  sw.deliver();
  EXPECT_EQ(sw.flows.size(), 10u);
  EXPECT_TRUE(sw.flows.count(moved.first));
  // Emptying a partition removes its flows and groups.
  ASSERT_TRUE(inst.set("t", "b", Desired{}).ok());
  sw.deliver();
  EXPECT_EQ(sw.flows.size(), 7u);
  EXPECT_EQ(sw.groups.size(), 1u);
}

// What one caller states in a row while it holds the owner (one round of the app platform) goes
// as one batch, not the first change alone and the rest after its barrier; every batch the
// switch confirms reports which changes it covered and when it was handed over and confirmed.
TEST_F(FlowOwnerTest, ChangesStatedWhileHeldGoAsOneBatchAndEachBatchReportsWhatItCovered) {
  std::vector<BatchDone> done;
  inst.on_batch = [&](const BatchDone& b) { done.push_back(b); };
  inst.attach(&sw);
  sw.deliver();  // reads: empty switch, nothing wanted (a batch with nothing to send)
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].messages, 0u);
  inst.hold();
  ASSERT_TRUE(inst.set("t", "a", partition(10, 5)).ok());
  ASSERT_TRUE(inst.set("t", "b", partition(30, 2)).ok());
  EXPECT_EQ(inst.stats().batches, 0u) << "a batch was sent while held";
  EXPECT_EQ(inst.generation(), 2u);
  EXPECT_EQ(inst.confirmed_generation(), 0u);
  clock.advance(std::chrono::milliseconds(1));
  inst.release();
  EXPECT_EQ(inst.stats().batches, 1u);
  clock.advance(std::chrono::milliseconds(2));
  sw.deliver();  // its barrier
  EXPECT_EQ(inst.stats().batches, 1u) << "the second change waited for the first's barrier";
  EXPECT_EQ(sw.flows.size(), 7u);
  EXPECT_TRUE(inst.stats().synced);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[1].generation, 2u);
  EXPECT_EQ(inst.confirmed_generation(), 2u);
  EXPECT_EQ(done[1].messages, 9u);  // 7 flows, 2 groups
  EXPECT_EQ(done[1].confirmed - done[1].handed, std::chrono::milliseconds(2));
  // Without holding, the first change goes at once and the next waits for its barrier.
  ASSERT_TRUE(inst.set("t", "a", partition(10, 6)).ok());
  ASSERT_TRUE(inst.set("t", "b", partition(30, 3)).ok());
  sw.deliver();
  sw.deliver();
  EXPECT_EQ(inst.stats().batches, 3u);
  EXPECT_EQ(done.back().generation, 4u);
  // Nested holds: sent once the outer one is released.
  inst.hold();
  inst.hold();
  ASSERT_TRUE(inst.set("t", "a", partition(10, 2)).ok());
  inst.release();
  EXPECT_EQ(inst.stats().batches, 3u);
  inst.release();
  EXPECT_EQ(inst.stats().batches, 4u);
}

TEST_F(FlowOwnerTest, ARefusedBatchMakesItReadTheSwitchAgain) {
  inst.attach(&sw);
  sw.deliver();
  sw.refuse_next = true;
  ASSERT_TRUE(inst.set("t", "a", partition(10, 3)).ok());
  sw.deliver();  // refused: a re-read is scheduled
  EXPECT_EQ(inst.stats().errors, 3u);
  EXPECT_EQ(sw.flows.size(), 0u);
  ASSERT_EQ(sw.timers.size(), 1u);
  sw.timers[0]();
  sw.deliver();  // reads
  sw.deliver();  // the reconcile's batch
  EXPECT_EQ(sw.flows.size(), 3u);
  EXPECT_TRUE(inst.stats().synced);
  EXPECT_EQ(inst.stats().resyncs, 1u);
}

// A switch whose tables do not decode: nothing is sent on a guess; it is read again later.
TEST_F(FlowOwnerTest, ASwitchAnsweringGarbageIsReadAgainNotGuessed) {
  ASSERT_TRUE(inst.set("t", "a", partition(10, 3)).ok());
  sw.garble_reads = true;
  inst.attach(&sw);
  sw.deliver();
  EXPECT_EQ(sw.flow_mods + sw.group_mods, 0u);
  EXPECT_FALSE(inst.stats().synced);
  ASSERT_EQ(sw.timers.size(), 1u);  // both reads failed: one resync
  sw.garble_reads = false;
  sw.timers.back()();
  sw.deliver();
  sw.deliver();
  EXPECT_EQ(sw.flows.size(), 3u);
  EXPECT_TRUE(inst.stats().synced);
}

TEST_F(FlowOwnerTest, AnswersOfAnOldConnectionAreIgnored) {
  ASSERT_TRUE(inst.set("t", "a", partition(10, 3)).ok());
  inst.attach(&sw);
  inst.detach();  // before the reads are answered
  inst.attach(&sw);
  sw.deliver();
  sw.deliver();
  EXPECT_EQ(sw.flows.size(), 3u);
  EXPECT_EQ(inst.stats().flow_mods, 3u);
}

// The packet-in dispatch (switch/packet_in.h) reads the app id where the cookie layout puts it.
static_assert(sw::packet_in_app_id(cookie(7, 0xffffffffffff) | kCookieDynamic | kCookieToWorkers) == 7);
static_assert(cookie_app(cookie(0xff, ~uint64_t{0})) == 0xff && !cookie_dynamic(cookie(0xff, ~uint64_t{0})));

// Two apps on one switch: "l2" owns cookie app ids 2 and 3, "l3" owns 4.
class TwoAppsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(owner.add_app("l2", {2, 3}).ok());
    ASSERT_TRUE(owner.add_app("l3", {4}).ok());
  }
  // n flows of app id `app` in table `table`, in_port from `base`; a group `group` (0: none).
  static Desired part(AppId app, uint8_t table, uint32_t base, int n, uint32_t group = 0) {
    Desired d;
    for (int i = 0; i < n; ++i)
      pipeline::put_flow(d.flows, flow(table, base + i, base + i + 100, cookie(app, base)));
    if (group) {
      ofp::Bucket b;
      b.actions.output(base);
      pipeline::put_group(d.groups, group, 0, {b});
    }
    return d;
  }
  void connect() {
    owner.attach(&sw);
    sw.deliver();
    sw.deliver();
    ASSERT_TRUE(owner.stats().synced);
  }
  static bool has_all(const pipeline::FlowSet& on, const Desired& d) {
    for (const auto& [k, b] : d.flows)
      if (auto it = on.find(k); it == on.end() || !(it->second == b)) return false;
    return true;
  }
  ManualClock clock;
  FakeSwitch sw;
  FlowOwner owner{clock};
};

TEST_F(TwoAppsTest, PartitionsOfTwoAppsAreMergedIntoOneSwitchAndAttributedByCookie) {
  Desired base = part(2, 0, 10, 3), net = part(3, 1, 20, 4, 7), r1 = part(4, 2, 30, 5, 8);
  ASSERT_TRUE(owner.set("l2", "base", base).ok());
  ASSERT_TRUE(owner.set("l2", "net1", net).ok());
  ASSERT_TRUE(owner.set("l3", "r1", r1).ok());
  // A partition of the same name in another app is another partition.
  Desired l3net = part(4, 2, 60, 2);
  ASSERT_TRUE(owner.set("l3", "net1", l3net).ok());
  connect();
  EXPECT_EQ(sw.flows.size(), 14u);
  EXPECT_EQ(sw.groups.size(), 2u);
  EXPECT_TRUE(has_all(sw.flows, base) && has_all(sw.flows, net) && has_all(sw.flows, r1) &&
              has_all(sw.flows, l3net));
  EXPECT_EQ(owner.stats().apps.at("l2").installed_flows, 7u);
  EXPECT_EQ(owner.stats().apps.at("l2").installed_groups, 1u);
  EXPECT_EQ(owner.stats().apps.at("l3").installed_flows, 7u);
  EXPECT_EQ(owner.stats().apps.at("l3").installed_groups, 1u);
  EXPECT_EQ(owner.desired("l3").flows.size(), 7u);

  // Reconnect with nothing changed: zero FLOW_MODs and GROUP_MODs; what the switch has is
  // attributed to each app by its cookie.
  owner.detach();
  size_t mods = sw.flow_mods + sw.group_mods;
  connect();
  EXPECT_EQ(sw.flow_mods + sw.group_mods, mods) << "a reconnect with nothing changed sent messages";
  EXPECT_EQ(owner.stats().last_reconcile_flow_mods, 0u);
  EXPECT_EQ(owner.stats().apps.at("l2").reconcile_found_flows, 7u);
  EXPECT_EQ(owner.stats().apps.at("l3").reconcile_found_flows, 7u);
  EXPECT_EQ(owner.stats().reconcile_unowned_flows, 0u);

  // A full recompute of one app empties only that app's partitions not named.
  ASSERT_TRUE(owner.set_all("l2", {{"base", base}}).ok());
  sw.deliver();
  EXPECT_EQ(sw.flows.size(), 10u);
  EXPECT_TRUE(has_all(sw.flows, r1) && has_all(sw.flows, l3net) && has_all(sw.flows, base));
  EXPECT_EQ(sw.groups.size(), 1u);
  EXPECT_EQ(owner.stats().apps.at("l2").installed_flows, 3u);
  EXPECT_EQ(owner.stats().apps.at("l3").installed_flows, 7u);
}

TEST_F(TwoAppsTest, AClashBetweenAppsIsRefusedNamingBothAndLeavesEverythingElse) {
  Desired net = part(3, 1, 20, 4, 7);
  ASSERT_TRUE(owner.set("l2", "net1", net).ok());
  ASSERT_TRUE(owner.set("l3", "r2", part(4, 2, 80, 2)).ok());
  connect();
  auto before = sw.flows;
  size_t mods = sw.flow_mods + sw.group_mods;

  // l3 states one of l2's (table, priority, match), with its own cookie and other actions.
  Desired r1 = part(4, 2, 30, 5);
  auto taken = *net.flows.begin();
  pipeline::FlowBody other = taken.second;
  other.cookie = cookie(4);
  r1.flows[taken.first] = other;
  Status st = owner.set("l3", "r1", r1);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Errc::kConflict);
  EXPECT_NE(st.message().find("l2/net1"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("l3/r1"), std::string::npos) << st.message();
  sw.deliver();
  EXPECT_EQ(sw.flow_mods + sw.group_mods, mods) << "a refused partition was half applied";
  EXPECT_EQ(sw.flows, before);  // the first claim keeps the flow; none of r1's went in
  EXPECT_EQ(owner.stats().refused, 1u);
  EXPECT_EQ(owner.stats().apps.at("l3").refused, 1u);
  EXPECT_EQ(owner.stats().apps.at("l2").refused, 0u);
  EXPECT_TRUE(owner.stats().synced);

  // A group id claimed by two apps: the same.
  st = owner.set("l3", "r1", part(4, 2, 30, 5, 7));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("group 7"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("l2/net1"), std::string::npos) << st.message();
  EXPECT_EQ(sw.flows, before);

  // In a full recompute, the clashing partition is refused and the app's others applied.
  Status all = owner.set_all("l3", {{"r1", r1}, {"r2", part(4, 2, 80, 3)}, {"r3", part(4, 2, 90, 1)}});
  ASSERT_FALSE(all.ok());
  EXPECT_NE(all.message().find("l3/r1"), std::string::npos) << all.message();
  sw.deliver();
  EXPECT_EQ(sw.flows.size(), before.size() + 2);  // r2 grew by one, r3 came
  EXPECT_TRUE(has_all(sw.flows, net));
  EXPECT_TRUE(has_all(sw.flows, part(4, 2, 80, 3)));
  EXPECT_EQ(owner.stats().apps.at("l3").refused, 3u);

  // Once l2 lets the flow go, l3 may state it.
  Desired rest = net;
  rest.flows.erase(taken.first);
  ASSERT_TRUE(owner.set("l2", "net1", rest).ok());
  sw.deliver();
  ASSERT_TRUE(owner.set("l3", "r1", r1).ok());
  sw.deliver();
  EXPECT_TRUE(sw.flows.at(taken.first) == other);
}

TEST_F(TwoAppsTest, AFlowWithAnotherAppsCookieIsRefused) {
  connect();
  Status st = owner.set("l3", "r1", part(2, 2, 30, 2));  // l2's app id
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("l3/r1"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("app l2"), std::string::npos) << st.message();
  st = owner.set("l3", "r1", part(9, 2, 30, 2));  // nobody's
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("no app"), std::string::npos) << st.message();
  Desired learned = part(4, 2, 30, 1);
  learned.flows.begin()->second.cookie |= kCookieDynamic;  // the switch's, never stated
  EXPECT_FALSE(owner.set("l3", "r1", learned).ok());
  EXPECT_FALSE(owner.set("l4", "x", part(4, 2, 30, 1)).ok());  // not registered
  EXPECT_FALSE(owner.set_all("l4", {}).ok());
  sw.deliver();
  EXPECT_EQ(sw.flows.size(), 0u);
  EXPECT_EQ(sw.flow_mods, 0u);
  EXPECT_EQ(owner.stats().apps.at("l3").refused, 3u);
}

TEST_F(TwoAppsTest, RegisteringAnAppIdTwiceIsAnErrorNamingBoth) {
  Status st = owner.add_app("arp", {5, 3});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("arp"), std::string::npos);
  EXPECT_NE(st.message().find("l2"), std::string::npos);
  EXPECT_FALSE(owner.add_app("l3", {6}).ok());
  EXPECT_FALSE(owner.add_app("a/b", {6}).ok());
  EXPECT_FALSE(owner.add_app("", {6}).ok());
  EXPECT_TRUE(owner.add_app("arp", {5}).ok());  // nothing of the refused one stayed
  EXPECT_EQ(owner.app_of(5), "arp");
  EXPECT_EQ(owner.app_of(3), "l2");
  EXPECT_EQ(owner.app_of(9), "");
}

TEST_F(TwoAppsTest, WithinOneAppAFlowMovesBetweenPartitionsAsOneFlow) {
  Desired a = part(2, 1, 20, 3), b = part(2, 1, 40, 2);
  ASSERT_TRUE(owner.set("l2", "a", a).ok());
  ASSERT_TRUE(owner.set("l2", "b", b).ok());
  connect();
  auto moved = *a.flows.begin();
  moved.second.cookie = cookie(2, 40);  // its new partition's cookie: a modify in place... or an add
  Desired a2 = a, b2 = b;
  a2.flows.erase(moved.first);
  b2.flows.insert(moved);
  // Stated by b first, then dropped by a: never deleted, never refused.
  ASSERT_TRUE(owner.set("l2", "b", b2).ok());
  sw.deliver();
  ASSERT_TRUE(sw.flows.count(moved.first));
  ASSERT_TRUE(owner.set("l2", "a", a2).ok());
  sw.deliver();
  EXPECT_TRUE(sw.flows.at(moved.first) == moved.second);
  EXPECT_EQ(sw.flows.size(), 5u);
  // Moved back unchanged, in two batches again: the switch already has it, nothing is sent.
  size_t mods = sw.flow_mods;
  ASSERT_TRUE(owner
                  .set("l2", "a",
                       [&] {
                         Desired d = a2;
                         d.flows.insert(moved);
                         return d;
                       }())
                  .ok());
  sw.deliver();
  ASSERT_TRUE(owner.set("l2", "b", b).ok());
  sw.deliver();
  EXPECT_EQ(sw.flow_mods, mods);
  EXPECT_TRUE(sw.flows.at(moved.first) == moved.second);
  // Another app still may not take it: the error names its current partition.
  Desired r;
  auto body = moved.second;
  body.cookie = cookie(4);
  r.flows[moved.first] = body;
  Status st = owner.set("l3", "r", r);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("l2/a"), std::string::npos) << st.message();
}

// The trace's owner lookup (docs/TRACE_DESIGN.md §6.2): by (table, priority, cookie) among the
// flows the switch has, with the partitions that state each; only the match tells apart flows
// of one app at one priority.
TEST_F(FlowOwnerTest, FindGivesTheInstalledFlowsOfATablePriorityAndCookieWithTheirPartitions) {
  ASSERT_TRUE(inst.set("t", "a", partition(10, 3)).ok());
  ASSERT_TRUE(inst.set("t", "b", partition(50, 2)).ok());
  EXPECT_TRUE(inst.find(0, 100, 1).empty()) << "nothing installed before the switch confirms";
  inst.attach(&sw);
  sw.deliver();
  sw.deliver();
  auto all = inst.find(0, 100, 1);
  ASSERT_EQ(all.size(), 5u);
  std::map<std::string, int> by_partition;
  for (const auto& f : all) {
    EXPECT_EQ(f.key.table, 0);
    EXPECT_EQ(f.key.priority, 100);
    EXPECT_EQ(f.body.cookie, 1u);
    ASSERT_EQ(f.partitions.size(), 1u);
    ++by_partition[f.partitions[0]];
  }
  EXPECT_EQ(by_partition, (std::map<std::string, int>{{"t/a", 3}, {"t/b", 2}}));
  EXPECT_TRUE(inst.find(0, 100, 2).empty()) << "another cookie";
  EXPECT_TRUE(inst.find(0, 99, 1).empty()) << "another priority";
  EXPECT_TRUE(inst.find(1, 100, 1).empty()) << "another table";
  // The flow moves to another partition: found under it.
  Desired moved;
  pipeline::put_flow(moved.flows, flow(0, 10, 110));
  ASSERT_TRUE(inst.set("t", "c", std::move(moved)).ok());
  ASSERT_TRUE(inst.set("t", "a", partition(11, 2)).ok());
  sw.deliver();
  sw.deliver();
  int in_c = 0;
  for (const auto& f : inst.find(0, 100, 1))
    for (const auto& p : f.partitions) in_c += p == "t/c";
  EXPECT_EQ(in_c, 1);
}

TEST_F(TwoAppsTest, ReconcileDeletesUnownedAndUndesiredFlowsAndSparesLearnedOnes) {
  Desired base = part(2, 0, 10, 3), r1 = part(4, 2, 30, 2);
  ASSERT_TRUE(owner.set("l2", "base", base).ok());
  ASSERT_TRUE(owner.set("l3", "r1", r1).ok());
  // The switch, from an earlier run: one of l2's flows is gone, l3's are there, a flow with an
  // app id nobody owns, one of l2's no longer wanted and a learned one.
  for (const auto& f : base.flows) sw.flows.insert(f);
  sw.flows.erase(sw.flows.begin());
  for (const auto& f : r1.flows) sw.flows.insert(f);
  pipeline::put_flow(sw.flows, flow(5, 999, 1, cookie(9, 1)));
  pipeline::put_flow(sw.flows, flow(5, 998, 1, cookie(3, 1)));
  pipeline::put_flow(sw.flows, flow(5, 997, 1, kCookieDynamic | cookie(2)));
  connect();
  EXPECT_EQ(owner.stats().reconcile_unowned_flows, 1u);
  EXPECT_EQ(owner.stats().apps.at("l2").reconcile_found_flows, 3u);  // two wanted, one not
  EXPECT_EQ(owner.stats().apps.at("l3").reconcile_found_flows, 2u);
  EXPECT_EQ(owner.stats().last_reconcile_flow_mods, 3u);  // one add, two deletes
  EXPECT_EQ(owner.stats().bundles, 1u);                   // state replaced: one bundle
  EXPECT_EQ(sw.bundle_messages, 1u);
  EXPECT_EQ(sw.flows.size(), 6u);  // five wanted and the learned one
  EXPECT_TRUE(has_all(sw.flows, base) && has_all(sw.flows, r1));
}

TEST_F(TwoAppsTest, ReplacingStateIsOneBundleWhateverTheApps) {
  ASSERT_TRUE(owner.set("l2", "net1", part(3, 1, 20, 4, 7)).ok());
  ASSERT_TRUE(owner.set("l3", "r1", part(4, 2, 30, 2)).ok());
  connect();
  size_t bundles = sw.bundle_messages;
  // Adds only: no bundle.
  ASSERT_TRUE(owner.set("l3", "r2", part(4, 2, 50, 2)).ok());
  sw.deliver();
  EXPECT_EQ(sw.bundle_messages, bundles);
  // l2's network replaced (its flows and group deleted, others added): one bundle. l3's change,
  // made while that batch flies, goes with the next one.
  ASSERT_TRUE(owner.set("l2", "net1", part(3, 1, 120, 3, 17)).ok());
  ASSERT_TRUE(owner.set("l3", "r1", part(4, 2, 130, 1)).ok());
  sw.deliver();
  sw.deliver();
  EXPECT_EQ(sw.bundle_messages, bundles + 2);
  EXPECT_EQ(owner.stats().bundles, 2u);
  EXPECT_EQ(sw.flows.size(), 6u);
  EXPECT_EQ(sw.groups.size(), 1u);
  EXPECT_TRUE(sw.groups.count(17));
  EXPECT_TRUE(owner.stats().synced);
}

}  // namespace
}  // namespace vlcp::flows
