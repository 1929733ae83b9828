// The router's ARP resolution bookkeeping (apps/l3/resolver.h): what is kept, when it asks again,
// when it gives up, and that nothing an untrusted sender controls grows without bound.
#include <gtest/gtest.h>

#include "apps/l3/resolver.h"

namespace vlcp::apps {
namespace {

using std::chrono::milliseconds;
using Clock = Neighbours::Clock;

Neighbours::Limits limits() {
  Neighbours::Limits l;
  l.retry = milliseconds(1000);
  l.give_up = milliseconds(5000);
  l.keep = milliseconds(3000);
  l.negative = milliseconds(2000);
  l.per_address = 3;
  l.addresses = 2;
  return l;
}
Neighbours::Kept packet(uint8_t tag) {
  return Neighbours::Kept{7, 1, 0x4000, false, {tag}, {}};
}

TEST(NeighboursTest, FirstMissAsksLaterOnesWaitThenAskAgainAfterRetry) {
  Neighbours n(limits());
  auto t = Clock::now();
  EXPECT_EQ(n.miss({2, 10}, packet(1), t), Neighbours::Verdict::kAsk);
  EXPECT_EQ(n.miss({2, 10}, packet(2), t + milliseconds(100)), Neighbours::Verdict::kWait);
  EXPECT_EQ(n.miss({2, 10}, packet(3), t + milliseconds(1100)), Neighbours::Verdict::kAsk);
  EXPECT_EQ(n.pending(), 1u);
  EXPECT_EQ(n.kept(), 3u);
}

TEST(NeighboursTest, AnswerReleasesEveryKeptPacketInOrderOnce) {
  Neighbours n(limits());
  auto t = Clock::now();
  n.miss({2, 10}, packet(1), t);
  n.miss({2, 10}, packet(2), t);
  n.miss({2, 11}, packet(9), t);
  auto kept = n.answer({2, 10}, t + milliseconds(10));
  ASSERT_TRUE(kept);
  ASSERT_EQ(kept->size(), 2u);
  EXPECT_EQ((*kept)[0].data[0], 1);
  EXPECT_EQ((*kept)[1].data[0], 2);
  EXPECT_EQ((*kept)[0].in_port, 7u);
  EXPECT_FALSE(n.answer({2, 10}, t + milliseconds(20))) << "a second answer is unsolicited";
  EXPECT_EQ(n.kept(), 1u);
}

TEST(NeighboursTest, UnsolicitedAnswersTeachNothing) {
  Neighbours n(limits());
  EXPECT_FALSE(n.answer({2, 10}, Clock::now()));
  n.miss({2, 10}, packet(1), Clock::now());
  EXPECT_FALSE(n.answer({3, 10}, Clock::now())) << "the same address on another network";
}

TEST(NeighboursTest, KeptPacketsAreBoundedPerAddressAndAddressesInAll) {
  Neighbours n(limits());
  auto t = Clock::now();
  for (uint8_t i = 0; i < 3; ++i) n.miss({2, 10}, packet(i), t);
  EXPECT_EQ(n.miss({2, 10}, packet(4), t), Neighbours::Verdict::kDropped);
  EXPECT_EQ(n.kept(), 3u);
  EXPECT_EQ(n.miss({2, 11}, packet(5), t), Neighbours::Verdict::kAsk);
  EXPECT_EQ(n.miss({3, 12}, packet(6), t), Neighbours::Verdict::kRefused) << "two addresses at most";
  EXPECT_EQ(n.pending(), 2u);
}

TEST(NeighboursTest, OneNetworkCannotTakeEveryAddressNorTheBytes) {
  auto l = limits();
  l.addresses = 10;
  l.per_network = 2;
  l.bytes = 5;
  Neighbours n(l);
  auto t = Clock::now();
  EXPECT_EQ(n.miss({2, 10}, packet(1), t), Neighbours::Verdict::kAsk);
  EXPECT_EQ(n.miss({2, 11}, packet(2), t), Neighbours::Verdict::kAsk);
  EXPECT_EQ(n.miss({2, 12}, packet(3), t), Neighbours::Verdict::kRefused) << "network 2 has its two";
  EXPECT_EQ(n.miss({3, 12}, packet(4), t), Neighbours::Verdict::kAsk) << "another network still can";
  Neighbours::Kept big{7, 1, 0x4000, false, std::vector<uint8_t>(3, 0), {}};
  EXPECT_EQ(n.miss({2, 10}, big, t), Neighbours::Verdict::kDropped) << "5 bytes kept at most";
  EXPECT_EQ(n.kept_bytes(), 3u);
  n.answer({2, 10}, t);
  EXPECT_EQ(n.kept_bytes(), 2u);
  EXPECT_EQ(n.miss({2, 12}, packet(5), t), Neighbours::Verdict::kAsk) << "a slot of network 2 freed";
}

TEST(NeighboursTest, KeptPacketsExpire) {
  Neighbours n(limits());
  auto t = Clock::now();
  n.miss({2, 10}, packet(1), t);
  n.miss({2, 10}, packet(2), t + milliseconds(2000));
  n.expire(t + milliseconds(3500));
  EXPECT_EQ(n.kept(), 1u);
  auto kept = n.answer({2, 10}, t + milliseconds(3600));
  ASSERT_TRUE(kept);
  ASSERT_EQ(kept->size(), 1u);
  EXPECT_EQ((*kept)[0].data[0], 2);
}

TEST(NeighboursTest, GivesUpThenRefusesForTheNegativeTimeThenAsksAgain) {
  Neighbours n(limits());
  auto t = Clock::now();
  n.miss({2, 10}, packet(1), t);
  EXPECT_EQ(n.miss({2, 10}, packet(2), t + milliseconds(5000)), Neighbours::Verdict::kRefused);
  EXPECT_EQ(n.kept(), 0u) << "what was kept for it is dropped";
  EXPECT_EQ(n.miss({2, 10}, packet(3), t + milliseconds(6000)), Neighbours::Verdict::kRefused);
  // Past give_up + negative it is forgotten: asked again.
  EXPECT_EQ(n.miss({2, 10}, packet(4), t + milliseconds(7100)), Neighbours::Verdict::kAsk);
}

}  // namespace
}  // namespace vlcp::apps
