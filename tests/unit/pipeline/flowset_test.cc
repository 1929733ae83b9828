// Desired versus installed flows: nothing changed means nothing sent (whatever order the
// switch reports match fields in), and each kind of difference becomes the one FLOW_MOD
// OpenFlow 1.3 defines for it.
#include "pipeline/flowset.h"

#include <gtest/gtest.h>

namespace vlcp::pipeline {
namespace {

using ofp::Field;
using ofp::FlowModCommand;

ofp::FlowMod flow(uint8_t table, uint16_t priority, uint32_t in_port, uint64_t reg0, uint32_t out,
                  uint64_t cookie = 0x10) {
  ofp::FlowMod f;
  f.table_id = table;
  f.priority = priority;
  f.cookie = cookie;
  f.match.add(Field::kInPort, in_port).add(Field::kReg0, reg0);
  ofp::ActionList a;
  a.output(out);
  f.instructions.apply_actions(a);
  return f;
}

TEST(FlowSet, NothingChangedSendsNothingWhateverTheFieldOrder) {
  FlowSet desired, installed;
  for (uint32_t p = 1; p <= 50; ++p) put_flow(desired, flow(0, 100, p, p * 7, p + 100));
  // The switch reports the same flows with the match fields the other way round.
  for (uint32_t p = 1; p <= 50; ++p) {
    ofp::FlowMod f = flow(0, 100, p, p * 7, p + 100);
    f.match = ofp::Match();
    f.match.add(Field::kReg0, p * 7).add(Field::kInPort, p);
    put_flow(installed, f);
  }
  FlowDiff d = diff(desired, installed);
  EXPECT_TRUE(d.empty()) << d.mods.size() << " flow mods for identical tables";
}

TEST(FlowSet, MasksThatMeanExactOrNothingCompareAsSwitchesReportThem) {
  ofp::Match exact, all_ones, with_zero_mask;
  exact.add(Field::kInPort, 3).add(Field::kReg0, 0x1234);
  all_ones.add(Field::kInPort, 3).add_masked(Field::kReg0, 0x1234, 0xffffffff);
  with_zero_mask.add(Field::kInPort, 3).add(Field::kReg0, 0x1234).add_masked(Field::kReg1, 0, 0);
  EXPECT_EQ(canonical_match(all_ones.oxms()), canonical_match(exact.oxms()));
  EXPECT_EQ(canonical_match(with_zero_mask.oxms()), canonical_match(exact.oxms()));
  ofp::Match partial;
  partial.add(Field::kInPort, 3).add_masked(Field::kReg0, 0x1234, 0xffff);
  EXPECT_NE(canonical_match(partial.oxms()), canonical_match(exact.oxms()));
}

TEST(FlowSet, EachDifferenceIsTheRightFlowMod) {
  FlowSet desired, installed;
  put_flow(installed, flow(0, 100, 1, 1, 11));  // kept
  put_flow(installed, flow(0, 100, 2, 2, 12));  // new output: modify
  put_flow(installed, flow(1, 50, 3, 3, 13));   // new cookie: replaced by an add
  put_flow(installed, flow(2, 10, 4, 4, 14));   // gone: delete
  put_flow(desired, flow(0, 100, 1, 1, 11));
  put_flow(desired, flow(0, 100, 2, 2, 99));
  put_flow(desired, flow(1, 50, 3, 3, 13, 0x20));
  put_flow(desired, flow(3, 100, 5, 5, 15));  // new: add
  FlowDiff d = diff(desired, installed);
  EXPECT_EQ(d.adds, 1u);
  EXPECT_EQ(d.modifies, 2u);
  EXPECT_EQ(d.deletes, 1u);
  ASSERT_EQ(d.mods.size(), 4u);
  auto find = [&](uint8_t table) -> const ofp::FlowMod& {
    for (const auto& m : d.mods)
      if (m.table_id == table) return m;
    static ofp::FlowMod none;
    return none;
  };
  EXPECT_EQ(find(0).command, FlowModCommand::kModifyStrict);
  EXPECT_EQ(find(1).command, FlowModCommand::kAdd);
  EXPECT_EQ(find(1).cookie, 0x20u);
  EXPECT_EQ(find(3).command, FlowModCommand::kAdd);
  EXPECT_EQ(find(2).command, FlowModCommand::kDeleteStrict);
  EXPECT_EQ(d.mods.back().command, FlowModCommand::kDeleteStrict) << "deletes go last";
  // Applying the diff to the installed set gives the desired set.
  FlowSet after = installed;
  for (const auto& m : d.mods) {
    if (m.command == FlowModCommand::kDeleteStrict)
      after.erase(FlowKey{m.table_id, m.priority, canonical_match(m.match.oxms())});
    else
      put_flow(after, m);
  }
  EXPECT_EQ(after, desired);
  EXPECT_TRUE(diff(desired, after).empty());
}

TEST(FlowSet, FlowModsRoundTripThroughTheCodec) {
  // What the diff sends decodes to the same flow (the installer's FLOW_MODs are real ones).
  FlowSet desired;
  put_flow(desired, flow(4, 200, 7, 9, 3));
  FlowDiff d = diff(desired, {});
  ASSERT_EQ(d.mods.size(), 1u);
  Buffer wire;
  ofp::encode_flow_mod(wire, 1, d.mods[0]);
  auto frame = ofp::decode_frame(wire.span());
  ASSERT_TRUE(frame.ok());
  auto back = ofp::decode_flow_mod(*frame);
  ASSERT_TRUE(back.ok());
  FlowSet seen;
  put_flow(seen, *back);
  EXPECT_EQ(seen, desired);
}

}  // namespace
}  // namespace vlcp::pipeline
