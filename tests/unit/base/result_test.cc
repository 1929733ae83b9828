#include "base/result.h"

#include <gtest/gtest.h>

#include <memory>

namespace vlcp {
namespace {

Result<int> half(int x) {
  if (x % 2) return make_error(Errc::kInvalidArgument, std::to_string(x) + " is odd");
  return x / 2;
}

Result<int> quarter(int x) {
  VLCP_ASSIGN_OR_RETURN(int h, half(x));
  VLCP_ASSIGN_OR_RETURN(int q, half(h));
  return q;
}

Status check_positive(int x) {
  if (x <= 0) return make_error(Errc::kOutOfRange, "not positive");
  return {};
}

Status both_positive(int a, int b) {
  VLCP_RETURN_IF_ERROR(check_positive(a));
  VLCP_RETURN_IF_ERROR(check_positive(b));
  return {};
}

TEST(Result, CarriesValueOrError) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "3 is odd");
  EXPECT_EQ(r.status().to_string(), "invalid argument: 3 is odd");
  EXPECT_EQ(r.value_or(-1), -1);
}

TEST(Result, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(Status, ReturnIfErrorStopsAtFirstFailure) {
  EXPECT_TRUE(both_positive(1, 2).ok());
  Status s = both_positive(1, -2);
  EXPECT_EQ(s.code(), Errc::kOutOfRange);
  EXPECT_EQ(s.with_context("checking b").message(), "checking b: not positive");
  EXPECT_EQ(Status().to_string(), "ok");
  EXPECT_TRUE(Status().with_context("x").ok());
}

TEST(Status, EveryCodeHasText) {
  for (Errc c : {Errc::kOk, Errc::kNotFound, Errc::kConflict, Errc::kInternal}) {
    EXPECT_FALSE(errc_text(c).empty());
  }
  EXPECT_EQ(errc_text(Errc::kTimeout), "timed out");
}

}  // namespace
}  // namespace vlcp
