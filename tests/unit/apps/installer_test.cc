// The installer against a fake switch that applies FLOW_MODs and GROUP_MODs as OVS does and
// reports its tables through the real codec: reconnecting to a switch that has what is wanted
// sends nothing; one that lost or gained flows gets exactly the difference; learned flows
// (dynamic cookies) are left alone; changes during a batch are merged into the next; a batch
// the switch refused makes it read the switch again.
#include "apps/installer.h"

#include <gtest/gtest.h>

#include "fake_switch.h"
#include "ofp/actions.h"

namespace vlcp::apps {
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

class InstallerTest : public ::testing::Test {
 protected:
  ManualClock clock;
  FakeSwitch sw;
  Installer inst{clock};
};

TEST_F(InstallerTest, FirstConnectInstallsEverythingThenReconnectSendsNothing) {
  inst.set("a", partition(10, 20));
  inst.set("b", partition(50, 30));
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

TEST_F(InstallerTest, ReconnectSendsExactlyWhatTheSwitchLostOrGainedAndSparesLearnedFlows) {
  inst.set("a", partition(10, 20));
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

TEST_F(InstallerTest, ChangesDuringABatchAreMergedIntoTheNext) {
  inst.attach(&sw);
  sw.deliver();                     // reads: empty switch, nothing wanted
  inst.set("a", partition(10, 5));  // batch 1 in flight
  EXPECT_FALSE(inst.stats().synced);
  inst.set("a", partition(10, 8));  // while it flies
  inst.set("b", partition(30, 2));
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
  inst.set_all({{"a", a}, {"b", b}});
  sw.deliver();
  EXPECT_EQ(sw.flows.size(), 10u);
  EXPECT_TRUE(sw.flows.count(moved.first));
  // Emptying a partition removes its flows and groups.
  inst.set("b", Desired{});
  sw.deliver();
  EXPECT_EQ(sw.flows.size(), 7u);
  EXPECT_EQ(sw.groups.size(), 1u);
}

TEST_F(InstallerTest, ARefusedBatchMakesItReadTheSwitchAgain) {
  inst.attach(&sw);
  sw.deliver();
  sw.refuse_next = true;
  inst.set("a", partition(10, 3));
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
TEST_F(InstallerTest, ASwitchAnsweringGarbageIsReadAgainNotGuessed) {
  inst.set("a", partition(10, 3));
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

TEST_F(InstallerTest, AnswersOfAnOldConnectionAreIgnored) {
  inst.set("a", partition(10, 3));
  inst.attach(&sw);
  inst.detach();  // before the reads are answered
  inst.attach(&sw);
  sw.deliver();
  sw.deliver();
  EXPECT_EQ(sw.flows.size(), 3u);
  EXPECT_EQ(inst.stats().flow_mods, 3u);
}

}  // namespace
}  // namespace vlcp::apps
