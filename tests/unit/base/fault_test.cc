// Fault points (base/fault.h): the names round-trip, hit() does nothing unless its point is
// armed, and then the process ends with 137; VLCP_FAULT is read at start (a re-executed child),
// and a name that is no point ends the process with 2.
#include "base/fault.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <string>

namespace vlcp::fault {
namespace {

TEST(Fault, NamesAreUniqueAndRoundTrip) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kPointCount; ++i) {
    Point p = static_cast<Point>(i);
    EXPECT_TRUE(names.insert(point_name(p)).second) << point_name(p);
    EXPECT_EQ(parse_point(point_name(p)), p);
    EXPECT_FALSE(point_where(p).empty());
  }
  EXPECT_EQ(parse_point("containers.after_veth"), Point::kContainersAfterVeth);
  EXPECT_EQ(parse_point("containers.delete_after_ovsdb"), Point::kContainersDeleteAfterOvsdb);
  EXPECT_EQ(parse_point("containers.after"), std::nullopt);
  EXPECT_EQ(parse_point(""), std::nullopt);
}

TEST(Fault, UnarmedHitDoesNothing) {
  ASSERT_EQ(std::getenv("VLCP_FAULT"), nullptr) << "run the test without VLCP_FAULT";
  EXPECT_EQ(armed(), std::nullopt);
  for (size_t i = 0; i < kPointCount; ++i) hit(static_cast<Point>(i));
  arm(Point::kContainersAfterModel);
  hit(Point::kContainersAfterVeth);  // another point: nothing
  arm(std::nullopt);
  hit(Point::kContainersAfterModel);
  SUCCEED();
}

TEST(FaultDeathTest, TheArmedPointEndsTheProcessWith137) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        arm(Point::kContainersAfterOvsdb);
        hit(Point::kContainersAfterModel);
        hit(Point::kContainersAfterOvsdb);
        std::exit(0);
      },
      ::testing::ExitedWithCode(137), "dying at containers.after_ovsdb");
}

TEST(FaultDeathTest, VlcpFaultIsReadAtStart) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // the child re-executes: VLCP_FAULT read anew
  ::setenv("VLCP_FAULT", "containers.after_veth", 1);
  EXPECT_EXIT(
      {
        if (armed() != Point::kContainersAfterVeth) std::exit(1);
        hit(Point::kContainersAfterVeth);
        std::exit(0);
      },
      ::testing::ExitedWithCode(137), "");
  ::setenv("VLCP_FAULT", "containers.nowhere", 1);
  EXPECT_EXIT({ std::exit(0); }, ::testing::ExitedWithCode(2), "names no fault point");
  ::unsetenv("VLCP_FAULT");
  EXPECT_EQ(armed(), std::nullopt);  // this process read it at its own start
}

}  // namespace
}  // namespace vlcp::fault
