// The registers declared once (flowtables/registers.def, pipeline/registers.h): the L2 and L3
// apps' constants are the table's, each register and flag is declared once, and the trace's
// decoding of values. (That no app writes an undeclared register, or the tracer's, over every flow
// the apps state through the platform's random history, is checked after each step of
// EveryApp.IncrementalUpdatesEqualAFullRecomputeThroughARandomHistory in apps_test.)
#include "pipeline/registers.h"

#include <gtest/gtest.h>

#include <set>

#include "apps/l2/l2.h"
#include "apps/l3/router.h"

namespace vlcp::pipeline {
namespace {

TEST(Registers, TheAppsConstantsAreTheDeclaredOnes) {
  // The values the L2 and L3 flows have always used (docs/L3_FLOWS.md §1): no behaviour change.
  EXPECT_EQ(apps::kRegInNet, ofp::Field::kReg4);
  EXPECT_EQ(apps::kRegOutNet, ofp::Field::kReg5);
  EXPECT_EQ(apps::kRegOutPort, ofp::Field::kReg6);
  EXPECT_EQ(apps::kRegFlags, ofp::Field::kReg7);
  EXPECT_EQ(apps::kFlagFromLogical, 0x4000u);
  EXPECT_EQ(apps::kFlagHairpin, 0x8000u);
  EXPECT_EQ(apps::kRegNextHop, ofp::Field::kReg3);
  // ... and they are the table's.
  EXPECT_EQ(find_register("in_network")->field, apps::kRegInNet);
  EXPECT_EQ(find_register("out_network")->field, apps::kRegOutNet);
  EXPECT_EQ(find_register("out_port")->field, apps::kRegOutPort);
  EXPECT_EQ(find_register("flags")->field, apps::kRegFlags);
  EXPECT_EQ(find_register("nexthop")->field, apps::kRegNextHop);
  EXPECT_EQ(find_register("trace")->field, ofp::Field::kReg2);
}

TEST(Registers, EachRegisterAndFlagIsDeclaredOnce) {
  std::set<ofp::Field> fields;
  std::set<std::string_view> names;
  for (const auto& r : kRegisters) {
    EXPECT_TRUE(fields.insert(r.field).second) << r.name;
    EXPECT_TRUE(names.insert(r.name).second) << r.name;
    EXPECT_EQ(ofp::field_info(r.field).name.substr(0, 3), "reg") << r.name;
    EXPECT_FALSE(r.meaning.empty()) << r.name;
    EXPECT_EQ(find_register_by_ovs_name(ofp::field_info(r.field).name), &r);
  }
  std::set<std::pair<ofp::Field, uint32_t>> bits;
  for (const auto& f : kRegisterFlags) {
    const auto* r = find_register(f.field);
    ASSERT_NE(r, nullptr) << f.name << ": a flag of an undeclared register";
    EXPECT_EQ(r->kind, RegisterKind::kFlags) << f.name;
    EXPECT_EQ(f.bit & (f.bit - 1), 0u) << f.name << ": one bit";
    EXPECT_TRUE(bits.insert({f.field, f.bit}).second) << f.name;
  }
  EXPECT_EQ(find_register(ofp::Field::kReg0), nullptr);
  EXPECT_EQ(find_register_by_ovs_name("reg9"), nullptr);
}

TEST(Registers, ValuesAreDescribedByTheirKind) {
  EXPECT_EQ(describe_register(*find_register("nexthop"), 0x0a010001), "10.1.0.1");
  EXPECT_EQ(describe_register(*find_register("in_network"), 7), "netid 7");
  EXPECT_EQ(describe_register(*find_register("out_port"), 0), "unresolved");
  EXPECT_EQ(describe_register(*find_register("out_port"), 100), "ofport 100");
  EXPECT_EQ(describe_register(*find_register("flags"), 0x4000), "from_logical_port");
  EXPECT_EQ(describe_register(*find_register("flags"), 0xc001), "from_logical_port|hairpin|0x1");
  EXPECT_EQ(describe_register(*find_register("flags"), 0), "0");
  EXPECT_EQ(describe_register(*find_register("trace"), 3), "0x3");
}

}  // namespace
}  // namespace vlcp::pipeline
