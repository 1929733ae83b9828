#include "base/log.h"

#include <gtest/gtest.h>

namespace vlcp::log {
namespace {

using namespace std::chrono_literals;

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = current_settings();
    Settings s;
    s.level = Level::kInfo;
    s.to_stderr = false;
    configure(s);
  }
  void TearDown() override { configure(saved_); }
  Settings saved_;
};

int evaluations = 0;
int counted() {
  return ++evaluations;
}

TEST_F(LogTest, FiltersByLevelWithoutEvaluatingArguments) {
  Capture capture;
  evaluations = 0;
  VLCP_LOG(kDebug, "test") << "hidden " << counted();
  VLCP_LOG(kWarn, "test") << "shown " << counted();
  EXPECT_EQ(evaluations, 1);
  std::string text = capture.text();
  EXPECT_EQ(text.find("hidden"), std::string::npos);
  EXPECT_NE(text.find("|test|WARN|shown 1\n"), std::string::npos) << text;
}

TEST_F(LogTest, ParsesLevels) {
  EXPECT_EQ(*parse_level("WARNING"), Level::kWarn);
  EXPECT_EQ(*parse_level("debug"), Level::kDebug);
  EXPECT_FALSE(parse_level("loud").ok());
}

TEST(RateLimiter, AllowsBurstThenRateAndCountsSuppressed) {
  RateLimiter rl(60, 3);  // one a second on average, three at once
  auto t = std::chrono::steady_clock::time_point(100s);
  uint64_t suppressed = 99;
  EXPECT_TRUE(rl.allow(t, &suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_TRUE(rl.allow(t, &suppressed));
  EXPECT_TRUE(rl.allow(t, &suppressed));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(rl.allow(t + 100ms, &suppressed));
  EXPECT_TRUE(rl.allow(t + 1100ms, &suppressed));
  EXPECT_EQ(suppressed, 5u);
  EXPECT_FALSE(rl.allow(t + 1200ms, &suppressed));
}

TEST_F(LogTest, RateLimitedCallSiteReportsSuppressedCount) {
  Capture capture;
  for (int i = 0; i < 50; ++i) {
    VLCP_LOG_RL(kWarn, "test", 1, 2) << "flood " << i;
  }
  std::string text = capture.text();
  EXPECT_NE(text.find("flood 0"), std::string::npos);
  EXPECT_NE(text.find("flood 1"), std::string::npos);
  EXPECT_EQ(text.find("flood 2"), std::string::npos);
}

}  // namespace
}  // namespace vlcp::log
