// The worker loop's poll policies: the spin-or-sleep decision with fake times, and the loop itself
// (pure polling never sleeps and still stops and moves; adaptive spinning catches work without a
// wake-up; idle adaptive and sleep policies sleep and lose no wake-up). No sleeps, no timing
// assertions: the test thread waits on the loop's counters.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "sched/lcores.h"
#include "sched/placement.h"
#include "sched/worker.h"

namespace vlcp::sched {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::nanoseconds;

constexpr IdleStep kSleep{true, nanoseconds::zero()};

IdleStep spin(nanoseconds n) {
  return {false, n};
}

TEST(PollPolicy, NamesAndDefaults) {
  for (PollPolicy p : {PollPolicy::kSleep, PollPolicy::kAdaptive, PollPolicy::kPure})
    EXPECT_EQ(*parse_poll_policy(poll_policy_name(p)), p);
  EXPECT_FALSE(parse_poll_policy("auto").ok());  // the setting's, resolved by poll_config
  EXPECT_FALSE(parse_poll_policy("Pure").ok());
  EXPECT_EQ(default_poll_policy(true), PollPolicy::kPure);
  EXPECT_EQ(default_poll_policy(false), PollPolicy::kAdaptive);
  EXPECT_EQ(PollConfig{}.policy, PollPolicy::kSleep);  // a bare WorkerLoop behaves as before
}

TEST(PollPolicy, SleepSleepsAtOnce) {
  PollConfig c{PollPolicy::kSleep, microseconds(100)};
  EXPECT_EQ(idle_step(c, nanoseconds::zero()), kSleep);
  EXPECT_EQ(idle_step(c, microseconds(5)), kSleep);
  EXPECT_EQ(idle_step(c, hours(1)), kSleep);
}

TEST(PollPolicy, AdaptiveSpinsUntilSpinUsSinceTheLastWork) {
  PollConfig c{PollPolicy::kAdaptive, microseconds(100)};
  EXPECT_EQ(idle_step(c, nanoseconds::zero()), spin(microseconds(100)));
  EXPECT_EQ(idle_step(c, microseconds(40)), spin(microseconds(60)));
  EXPECT_EQ(idle_step(c, microseconds(100) - nanoseconds(1)), spin(nanoseconds(1)));
  EXPECT_EQ(idle_step(c, microseconds(100)), kSleep);
  EXPECT_EQ(idle_step(c, hours(1)), kSleep);
  EXPECT_EQ(idle_step(c, microseconds(-5)), spin(microseconds(100)));  // never more than spin_us
  c.spin = microseconds(0);
  EXPECT_EQ(idle_step(c, nanoseconds::zero()), kSleep);  // spin_us = 0 is the sleep policy
}

TEST(PollPolicy, PureNeverSleeps) {
  PollConfig c{PollPolicy::kPure, microseconds(100)};
  EXPECT_EQ(idle_step(c, nanoseconds::zero()), spin(nanoseconds::max()));
  EXPECT_EQ(idle_step(c, hours(1)), spin(nanoseconds::max()));
}

// A source fed by the test thread: a counter of pending events.
struct Feed {
  std::atomic<unsigned> pending{0};
  std::atomic<unsigned> done{0};
  WorkerLoop::Source source() {
    return {[this] {
              unsigned n = pending.exchange(0, std::memory_order_acquire);
              done.fetch_add(n, std::memory_order_release);
              return n;
            },
            [this] { return pending.load(std::memory_order_acquire) > 0; }};
  }
  void push(WorkerLoop& loop) {
    pending.fetch_add(1, std::memory_order_release);
    loop.waker().notify();  // as Ring::push does after publishing
  }
};

template <typename F>
void wait_until(F&& cond) {
  while (!cond()) std::this_thread::yield();
}

// Pure polling: the loop never sleeps, so producers never write the eventfd; it still stops and
// moves when asked. (The idle tick is an hour: a loop that slept would hang here.)
TEST(WorkerLoop, PurePollingNeverSleepsAndStillStopsAndMoves) {
  WorkerLoop loop("pure", std::chrono::hours(1));
  loop.set_poll({PollPolicy::kPure, microseconds(100)});
  Feed feed;
  loop.add_source(feed.source());
  std::thread t([&] { loop.run(); });
  for (unsigned i = 1; i <= 100; ++i) {
    feed.push(loop);
    wait_until([&] { return feed.done.load(std::memory_order_acquire) == i; });
  }
  auto allowed = process_affinity();
  ASSERT_TRUE(allowed.ok());
  int target = *allowed->begin();
  loop.repin(target);
  wait_until([&] { return loop.cpu() == target; });
  loop.stop();
  t.join();
  EXPECT_EQ(loop.handled(), 100u);
  EXPECT_EQ(loop.sleeps(), 0u);
  EXPECT_EQ(loop.waker().wakeups(), 0u);
  EXPECT_GT(loop.spins(), 0u);
}

// Pure polling still runs the idle tick (timers, stats flushes) between its spins.
TEST(WorkerLoop, PurePollingStillTicks) {
  WorkerLoop loop("pure", std::chrono::milliseconds(1));
  loop.set_poll({PollPolicy::kPure, microseconds(100)});
  Feed feed;
  loop.add_source(feed.source());
  std::atomic<unsigned> ticks{0};
  loop.on_tick([&] { ticks.fetch_add(1, std::memory_order_relaxed); });
  std::thread t([&] { loop.run(); });
  wait_until([&] { return ticks.load(std::memory_order_relaxed) >= 3; });
  loop.stop();
  t.join();
  EXPECT_EQ(loop.sleeps(), 0u);
  EXPECT_EQ(loop.handled(), 0u);
}

// Adaptive with a spin longer than the test: work that arrives while the loop spins is taken
// without a sleep or an eventfd wake-up, each time.
TEST(WorkerLoop, AdaptiveSpinningCatchesWorkWithoutAWakeUp) {
  WorkerLoop loop("adaptive", std::chrono::hours(1));
  loop.set_poll({PollPolicy::kAdaptive, std::chrono::duration_cast<microseconds>(hours(1))});
  Feed feed;
  loop.add_source(feed.source());
  std::thread t([&] { loop.run(); });
  for (unsigned i = 1; i <= 100; ++i) {
    wait_until([&] { return loop.spins() == i; });  // the loop is in its i-th spin
    feed.push(loop);
    wait_until([&] { return feed.done.load(std::memory_order_acquire) == i; });
  }
  loop.stop();
  t.join();
  EXPECT_EQ(loop.handled(), 100u);
  EXPECT_EQ(loop.sleeps(), 0u);
  EXPECT_EQ(loop.waker().wakeups(), 0u);
  EXPECT_EQ(loop.spin_hits(), 100u);  // every spin but the one stop() ended found work
}

// Adaptive with a short spin: once idle past it the loop sleeps, and a push wakes it (the idle
// tick is an hour: a lost wake-up would hang the test).
TEST(WorkerLoop, AdaptiveSleepsOnceIdleAndIsWoken) {
  WorkerLoop loop("adaptive", std::chrono::hours(1));
  loop.set_poll({PollPolicy::kAdaptive, microseconds(50)});
  Feed feed;
  loop.add_source(feed.source());
  std::thread t([&] { loop.run(); });
  for (unsigned i = 1; i <= 200; ++i) {
    uint64_t slept = loop.sleeps();
    feed.push(loop);
    wait_until([&] { return feed.done.load(std::memory_order_acquire) == i; });
    wait_until([&] { return loop.sleeps() > slept; });  // idle past the spin: asleep (or about to be)
  }
  loop.stop();
  t.join();
  EXPECT_EQ(loop.handled(), 200u);
  EXPECT_GE(loop.sleeps(), 200u);
}

// The sleep policy (a bare WorkerLoop): no spinning at all, every idle turn sleeps.
TEST(WorkerLoop, SleepPolicyNeverSpins) {
  WorkerLoop loop("sleep", std::chrono::hours(1));
  Feed feed;
  loop.add_source(feed.source());
  std::thread t([&] { loop.run(); });
  for (unsigned i = 1; i <= 200; ++i) {
    uint64_t slept = loop.sleeps();
    feed.push(loop);
    wait_until([&] { return feed.done.load(std::memory_order_acquire) == i; });
    wait_until([&] { return loop.sleeps() > slept; });
  }
  loop.stop();
  t.join();
  EXPECT_EQ(loop.handled(), 200u);
  EXPECT_GE(loop.sleeps(), 200u);
  EXPECT_EQ(loop.spins(), 0u);
}

}  // namespace
}  // namespace vlcp::sched
