// The slot pool of the packet-in path: what it hands out, what comes home, and the loan rule
// (out through one SPSC ring of pointers, back through another) across two real threads.
#include "sched/pool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <thread>
#include <vector>

#include "sched/ring.h"

namespace vlcp::sched {
namespace {

struct Slot {
  uint64_t seq;
  uint64_t answer;
  uint8_t bytes[4080];
};

TEST(SlotPool, HandsOutEverySlotOnceAlignedThenRunsDry) {
  SlotPool<Slot> pool(16);
  std::set<Slot*> seen;
  for (int i = 0; i < 16; ++i) {
    Slot* s = pool.take();
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(s) % 64, 0u);
    EXPECT_TRUE(pool.owns(s));
    EXPECT_TRUE(seen.insert(s).second);
  }
  EXPECT_EQ(pool.take(), nullptr);  // dry: the caller sheds
  EXPECT_EQ(pool.loaned(), 16u);
  for (Slot* s : seen) pool.give(s);
  EXPECT_EQ(pool.loaned(), 0u);
  EXPECT_EQ(pool.available(), 16u);
  Slot other{};
  EXPECT_FALSE(pool.owns(&other));
}

// The owner loans slots to a borrower thread through one ring and gets each back through
// another, as an I/O thread and a worker do; every slot comes home with the borrower's answer.
TEST(SlotPool, EverySlotComesHomeThroughTwoRings) {
  constexpr uint64_t kTotal = 200000;
  SlotPool<Slot> pool(64);
  auto to = Ring<Slot*>::create("to", 63);
  auto back = Ring<Slot*>::create("back", 64);  // room for the whole pool: returns never fail
  ASSERT_TRUE(to.ok() && back.ok());
  Ring<Slot*>& out = **to;
  Ring<Slot*>& home = **back;
  std::thread borrower([&] {
    uint64_t done = 0;
    Slot* got[16];
    while (done < kTotal) {
      unsigned n = out.pop(got);
      for (unsigned i = 0; i < n; ++i) got[i]->answer = got[i]->seq * 2 + 1;
      if (n) {
        ASSERT_EQ(home.push(std::span<Slot* const>(got, n)), n);
      }
      done += n;
    }
  });
  uint64_t sent = 0, answered = 0, wrong = 0;
  Slot* got[16];
  while (answered < kTotal) {
    while (sent < kTotal) {
      Slot* s = pool.take();
      if (!s) break;
      s->seq = sent;
      if (!out.push(s)) {
        pool.give(s);
        break;
      }
      ++sent;
    }
    unsigned n = home.pop(got);
    for (unsigned i = 0; i < n; ++i) {
      if (got[i]->answer != got[i]->seq * 2 + 1) ++wrong;
      pool.give(got[i]);
    }
    answered += n;
  }
  borrower.join();
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(pool.loaned(), 0u);
}

}  // namespace
}  // namespace vlcp::sched
