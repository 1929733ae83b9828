// Rings and wakers: by-value events, counted back-pressure, and no lost wake-ups across threads
// (this test also runs under TSan and ASan: make tsan / make asan).
#include <gtest/gtest.h>

#include <thread>

#include "sched/ring.h"
#include "sched/waker.h"
#include "sched/worker.h"

namespace vlcp::sched {
namespace {

struct Event {
  uint32_t seq;
  uint32_t kind;
  uint8_t payload[24];
};

TEST(Ring, CapacityIsRoundedAndElementsTravelByValue) {
  auto ring = Ring<Event>::create("t", 5);
  ASSERT_TRUE(ring.ok()) << ring.error().message();
  Ring<Event>& r = **ring;
  EXPECT_EQ(r.capacity(), 7u);  // next power of two minus one
  Event e{1, 2, {}};
  e.payload[23] = 0xab;
  EXPECT_TRUE(r.push(e));
  e.payload[23] = 0;  // the ring holds its own copy
  Event out[4];
  ASSERT_EQ(r.pop(out), 1u);
  EXPECT_EQ(out[0].seq, 1u);
  EXPECT_EQ(out[0].payload[23], 0xab);
  EXPECT_EQ(r.pop(out), 0u);
}

TEST(Ring, FullRingIsCountedBackPressure) {
  auto ring = Ring<Event>::create("full", 3);
  ASSERT_TRUE(ring.ok());
  Ring<Event>& r = **ring;
  Event batch[5] = {{1, 0, {}}, {2, 0, {}}, {3, 0, {}}, {4, 0, {}}, {5, 0, {}}};
  EXPECT_EQ(r.push(batch), 3u);
  EXPECT_EQ(r.stats().enqueued.load(), 3u);
  EXPECT_EQ(r.stats().full.load(), 2u);
  EXPECT_FALSE(r.push(batch[3]));
  EXPECT_EQ(r.stats().full.load(), 3u);
  EXPECT_EQ(r.stats().high_water.load(), 3u);
  Event out[8];
  ASSERT_EQ(r.pop(out), 3u);
  EXPECT_EQ(out[2].seq, 3u);  // nothing reordered, nothing overwritten
  EXPECT_EQ(r.stats().dequeued.load(), 3u);
}

TEST(Ring, RejectsBadGeometry) {
  EXPECT_FALSE(RawRing::create("x", 0, 8).ok());
  EXPECT_FALSE(RawRing::create("x", 8, 6).ok());
  EXPECT_FALSE(RawRing::create("x", 1u << 29, 8).ok());
}

// A producer thread pushes N sequenced events with retry on back-pressure; the consumer sleeps
// whenever the ring is empty. Every event arrives once, in order, and the consumer never
// oversleeps a pending event (the test would hang on a lost wake-up: the idle tick is 10 s).
TEST(Ring, ProducerAndSleepingConsumerLoseNothing) {
  constexpr uint32_t kEvents = 200000;
  WorkerLoop loop("consumer", std::chrono::seconds(10));
  auto ring = Ring<Event>::create("p2c", 63, &loop.waker());
  ASSERT_TRUE(ring.ok());
  Ring<Event>& r = **ring;
  uint32_t next = 0;
  bool in_order = true;
  loop.add_source({[&] {
                     Event out[32];
                     unsigned n = r.pop(out);
                     for (unsigned i = 0; i < n; ++i) in_order &= out[i].seq == next++;
                     if (next == kEvents) loop.stop();
                     return n;
                   },
                   [&] { return !r.empty(); }});
  std::thread consumer([&] { loop.run(); });
  uint64_t retries = 0;
  for (uint32_t seq = 0; seq < kEvents;) {
    Event burst[8];
    uint32_t n = 0;
    for (; n < 8 && seq + n < kEvents; ++n) burst[n] = Event{seq + n, 0, {}};
    unsigned sent = r.push(std::span<const Event>(burst, n));
    seq += sent;
    if (sent < n) {
      ++retries;
      std::this_thread::yield();
    }
    if ((seq & 1023) == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));  // let it sleep
  }
  consumer.join();
  EXPECT_TRUE(in_order);
  EXPECT_EQ(next, kEvents);
  EXPECT_EQ(r.stats().enqueued.load(), kEvents);
  EXPECT_EQ(r.stats().dequeued.load(), kEvents);
  EXPECT_EQ(r.stats().full.load() > 0, retries > 0);
  EXPECT_GT(loop.sleeps(), 0u);
}

TEST(Waker, CallbackWakerSchedulesOncePerDrain) {
  int scheduled = 0;
  CallbackWaker w([&] { ++scheduled; });
  w.notify();
  w.notify();
  EXPECT_EQ(scheduled, 1);
  w.begin_drain();
  w.notify();
  EXPECT_EQ(scheduled, 2);
}

TEST(Waker, EventFdWakerTimesOutWithoutWork) {
  EventFdWaker w;
  EXPECT_FALSE(w.sleep_unless([] { return false; }, std::chrono::milliseconds(1)));
  EXPECT_TRUE(w.sleep_unless([] { return true; }, std::chrono::seconds(10)));
}

}  // namespace
}  // namespace vlcp::sched
