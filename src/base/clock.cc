// Real and manual clocks.
#include "base/clock.h"

namespace vlcp {

const RealClock& RealClock::instance() {
  static const RealClock clock;
  return clock;
}

namespace {
// 2020-01-01T00:00:00Z: a fixed, recognisable start for manual wall time.
constexpr std::chrono::nanoseconds::rep kManualWallStartNs = 1577836800LL * 1000000000LL;
// Far from zero so that "now - timeout" never underflows in code under test.
constexpr std::chrono::nanoseconds::rep kManualMonoStartNs = 1000LL * 1000000000LL;
}  // namespace

ManualClock::ManualClock() : mono_ns_(kManualMonoStartNs), wall_ns_(kManualWallStartNs) {}

Clock::Monotonic ManualClock::now() const {
  return Monotonic(std::chrono::duration_cast<Monotonic::duration>(
      std::chrono::nanoseconds(mono_ns_.load(std::memory_order_acquire))));
}

Clock::Wall ManualClock::wall() const {
  return Wall(std::chrono::duration_cast<Wall::duration>(
      std::chrono::nanoseconds(wall_ns_.load(std::memory_order_acquire))));
}

void ManualClock::advance(std::chrono::nanoseconds by) {
  mono_ns_.fetch_add(by.count(), std::memory_order_acq_rel);
  wall_ns_.fetch_add(by.count(), std::memory_order_acq_rel);
}

void ManualClock::set_wall(Wall wall) {
  wall_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(wall.time_since_epoch()).count(),
                 std::memory_order_release);
}

}  // namespace vlcp
