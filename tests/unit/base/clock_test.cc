#include "base/clock.h"

#include <gtest/gtest.h>

namespace vlcp {
namespace {

using namespace std::chrono_literals;

TEST(ManualClock, MovesOnlyWhenAdvanced) {
  ManualClock clock;
  const Clock& c = clock;
  auto t0 = c.now();
  auto w0 = c.wall();
  EXPECT_EQ(c.now(), t0);
  clock.advance(1500ms);
  EXPECT_EQ(c.now() - t0, 1500ms);
  EXPECT_EQ(c.wall() - w0, 1500ms);
  clock.set_wall(std::chrono::system_clock::time_point(std::chrono::seconds(42)));
  EXPECT_EQ(c.wall().time_since_epoch(), 42s);
  EXPECT_EQ(c.now() - t0, 1500ms);  // monotonic time is unaffected by setting wall time
}

TEST(RealClock, IsMonotonic) {
  const Clock& c = RealClock::instance();
  auto a = c.now();
  auto b = c.now();
  EXPECT_LE(a, b);
}

}  // namespace
}  // namespace vlcp
