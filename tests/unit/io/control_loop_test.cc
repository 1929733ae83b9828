// The control loop: typed events with matchers, timers on a manual clock, coroutines, rings.
#include "io/control_loop.h"

#include <gtest/gtest.h>

#include <thread>

#include "sched/ring.h"
#include "sched/task_ring.h"

namespace vlcp::io {
namespace {

using namespace std::chrono_literals;

struct SwitchUp {
  uint64_t dpid;
};
struct PortAdded {
  uint64_t dpid;
  uint32_t port;
};

TEST(ControlLoop, EventsReachMatchingSubscribersInOrder) {
  ManualClock clock;
  ControlLoop loop(clock);
  std::vector<std::string> log;
  auto all =
      loop.subscribe<SwitchUp>([&](const SwitchUp& e) { log.push_back("up" + std::to_string(e.dpid)); });
  auto only2 =
      loop.subscribe<SwitchUp>([&](const SwitchUp& e) { log.push_back("two" + std::to_string(e.dpid)); },
                               [](const SwitchUp& e) { return e.dpid == 2; });
  auto ports = loop.subscribe<PortAdded>([&](const PortAdded& e) {
    log.push_back("port" + std::to_string(e.port));
    loop.publish(SwitchUp{9});  // published from a handler: delivered after this one
  });
  loop.publish(SwitchUp{1});
  loop.publish(PortAdded{1, 5});
  loop.publish(SwitchUp{2});
  EXPECT_TRUE(log.empty());  // nothing runs inside publish
  loop.run_pending();
  EXPECT_EQ(log, (std::vector<std::string>{"up1", "port5", "up2", "two2", "up9"}));
  only2.reset();
  log.clear();
  loop.publish(SwitchUp{2});
  loop.run_pending();
  EXPECT_EQ(log, std::vector<std::string>{"up2"});
}

TEST(ControlLoop, HandlersMayUnsubscribeAndSubscribeWhileDelivering) {
  ManualClock clock;
  ControlLoop loop(clock);
  int first = 0, late = 0;
  Subscription self, added;
  self = loop.subscribe<SwitchUp>([&](const SwitchUp&) {
    ++first;
    self.reset();
    added = loop.subscribe<SwitchUp>([&](const SwitchUp&) { ++late; });
  });
  loop.publish(SwitchUp{1});
  loop.publish(SwitchUp{2});
  loop.run_pending();
  EXPECT_EQ(first, 1);
  EXPECT_EQ(late, 1);  // saw the second event only
}

TEST(ControlLoop, TimersFollowTheManualClock) {
  ManualClock clock;
  ControlLoop loop(clock);
  std::vector<int> fired;
  loop.after(30ms, [&] { fired.push_back(30); });
  loop.after(10ms, [&] { fired.push_back(10); });
  TimerId cancelled = loop.after(20ms, [&] { fired.push_back(20); });
  loop.cancel(cancelled);
  loop.run_pending();
  EXPECT_TRUE(fired.empty());
  clock.advance(10ms);
  loop.run_pending();
  EXPECT_EQ(fired, std::vector<int>{10});
  clock.advance(25ms);
  loop.run_pending();
  EXPECT_EQ(fired, (std::vector<int>{10, 30}));
  EXPECT_EQ(loop.timers(), 0u);
}

TEST(ControlLoop, CoroutinesWaitForEventsOrTimeOut) {
  ManualClock clock;
  ControlLoop loop(clock);
  std::vector<std::string> log;
  loop.spawn([&]() -> asio::awaitable<void> {
    auto up = co_await loop.next<SwitchUp>([](const SwitchUp& e) { return e.dpid == 7; }, 1s);
    log.push_back(up ? "got " + std::to_string(up->dpid) : "timeout");
    co_await loop.sleep(100ms);
    log.push_back("slept");
    auto none = co_await loop.next<SwitchUp>({}, 500ms);
    log.push_back(none ? "unexpected" : "timeout");
  });
  loop.run_pending();
  loop.publish(SwitchUp{3});  // not matched
  loop.publish(SwitchUp{7});
  loop.run_pending();
  ASSERT_EQ(log, std::vector<std::string>{"got 7"});
  clock.advance(100ms);
  loop.run_pending();
  ASSERT_EQ(log.size(), 2u);
  clock.advance(499ms);
  loop.run_pending();
  EXPECT_EQ(log.size(), 2u);
  clock.advance(1ms);
  loop.run_pending();
  EXPECT_EQ(log, (std::vector<std::string>{"got 7", "slept", "timeout"}));
}

TEST(ControlLoop, DestroyingTheLoopEndsSuspendedCoroutines) {
  ManualClock clock;
  bool finished = false;
  {
    ControlLoop loop(clock);
    loop.spawn([&]() -> asio::awaitable<void> {
      co_await loop.next<SwitchUp>({}, 10s);
      finished = true;
    });
    loop.run_pending();
  }  // frames, subscriptions and timers go away together (ASan checks the order)
  EXPECT_FALSE(finished);
}

struct Ev {
  uint32_t n;
};

TEST(ControlLoop, RingsFromOtherThreadsAreDrainedOnTheLoop) {
  const RealClock& clock = RealClock::instance();
  ControlLoop loop(clock);
  auto ring = sched::Ring<Ev>::create("to-control", 1023, &loop.waker());
  ASSERT_TRUE(ring.ok());
  uint64_t sum = 0;
  uint32_t count = 0;
  std::thread::id loop_thread;
  loop.add_source([&] {
    Ev out[32];
    unsigned n = (*ring)->pop(out);
    for (unsigned i = 0; i < n; ++i) sum += out[i].n;
    count += n;
    loop_thread = std::this_thread::get_id();
    if (count == 10000) loop.stop();
    return n;
  });
  std::thread producer([&] {
    for (uint32_t i = 1; i <= 10000;) {
      if ((*ring)->push(Ev{i}))
        ++i;
      else
        std::this_thread::yield();
    }
  });
  loop.after(30s, [&] { loop.stop(); });  // a lost wake-up fails instead of hanging
  loop.run();
  producer.join();
  EXPECT_EQ(count, 10000u);
  EXPECT_EQ(sum, 10000ull * 10001 / 2);
  EXPECT_EQ(loop_thread, std::this_thread::get_id());
}

}  // namespace
}  // namespace vlcp::io

namespace vlcp::io {
namespace {

// A loop first driven by run_pending() (which may poll Asio dry) still runs afterwards, and a
// TaskRing carries closures from another thread onto it in order.
TEST(ControlLoop, RunsAfterRunPendingAndTakesClosuresFromATaskRing) {
  ControlLoop loop(RealClock::instance());
  auto ring = sched::TaskRing::create("closures", 63, &loop.waker());
  ASSERT_TRUE(ring.ok());
  loop.add_source([&] { return (*ring)->run(); });
  loop.run_pending();
  std::vector<int> seen;
  std::thread producer([&] {
    for (int i = 0; i < 500; ++i)  // more than the ring holds: the producer waits for room
      (*ring)->post([&seen, &loop, i] {
        seen.push_back(i);
        if (i == 499) loop.stop();
      });
  });
  loop.run();
  producer.join();
  ASSERT_EQ(seen.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(seen[i], i);
}

}  // namespace
}  // namespace vlcp::io
