#include "trust/rate_window.hpp"

#include <gtest/gtest.h>

namespace lb::trust {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using time_point = rate_window::time_point;

const time_point t0 = time_point{} + 1000h;

TEST(RateWindow, AtMostCallsInAnyWindowOfPer) {
  struct step {
    milliseconds at;  // since t0
    bool taken;
    milliseconds retry_after;  // after the attempt
  };
  // 3 calls per 10 s.
  const std::vector<step> table{
      {0ms, true, 0ms},        {1000ms, true, 0ms},
      {2000ms, true, 8000ms},                            // full: the take at 0 leaves the window at 10 s
      {2500ms, false, 7500ms},                           // refused, and the refusal is not counted
      {9999ms, false, 1ms},    {10000ms, true, 1000ms},  // exactly `per` after the first: allowed
      {10500ms, false, 500ms}, {11000ms, true, 1000ms},
      {12000ms, true, 8000ms}, {40000ms, true, 0ms},  // long after: the window is empty again
  };
  rate_window w(tools::rate_limit{3, 10s});
  for (std::size_t i = 0; i < table.size(); ++i) {
    const auto& s = table[i];
    EXPECT_EQ(w.try_take(t0 + s.at), s.taken) << "step " << i;
    EXPECT_EQ(w.retry_after(t0 + s.at), s.retry_after) << "step " << i;
  }
}

TEST(RateWindow, RetryAfterRoundsUpSoThatWaitingItIsEnough) {
  rate_window w(tools::rate_limit{1, 1s});
  ASSERT_TRUE(w.try_take(t0));
  const auto now = t0 + std::chrono::microseconds(1500);
  const auto wait = w.retry_after(now);
  EXPECT_EQ(wait, 999ms);
  EXPECT_FALSE(w.try_take(now + wait - 1ms));
  EXPECT_TRUE(w.try_take(now + wait));
}

TEST(RateWindow, SlidesRatherThanResettingOnFixedBoundaries) {
  // With fixed 10 s buckets, 2 at 9 s and 2 at 11 s would pass; a sliding window refuses the third.
  rate_window w(tools::rate_limit{2, 10s});
  EXPECT_TRUE(w.try_take(t0 + 9s));
  EXPECT_TRUE(w.try_take(t0 + 9s));
  EXPECT_FALSE(w.try_take(t0 + 11s));
  EXPECT_EQ(w.retry_after(t0 + 11s), 8s);
  EXPECT_TRUE(w.try_take(t0 + 19s));
  EXPECT_TRUE(w.try_take(t0 + 19s));
  EXPECT_FALSE(w.try_take(t0 + 19s));
}

TEST(RateWindow, ZeroCallsAllowsNothingAndZeroPerLimitsNothing) {
  rate_window none(tools::rate_limit{0, 10s});
  EXPECT_FALSE(none.try_take(t0));
  EXPECT_FALSE(none.try_take(t0 + 1h));
  EXPECT_EQ(none.retry_after(t0), 10s);
  rate_window any(tools::rate_limit{1, 0ms});
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(any.try_take(t0));
  EXPECT_EQ(any.retry_after(t0), 0ms);
}

TEST(RateWindow, RefusedCallsAreNotCounted) {
  rate_window w(tools::rate_limit{5, 1min});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(w.try_take(t0));
  // An automation loop keeps asking for 30 s; counted, its calls would still fill the window at 1 min.
  for (int i = 0; i < 10000; ++i) ASSERT_FALSE(w.try_take(t0 + std::chrono::milliseconds(3 * i)));
  EXPECT_TRUE(w.try_take(t0 + 1min));
}

}  // namespace
}  // namespace lb::trust
