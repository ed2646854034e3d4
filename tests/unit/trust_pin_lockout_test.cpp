#include "trust/pin_lockout.hpp"

#include <gtest/gtest.h>

namespace lb::trust {
namespace {

using namespace std::chrono_literals;
using time_point = pin_lockout::time_point;

const time_point t0 = time_point{} + 1000h;

TEST(PinLockout, WrongPinsInARowLockForAWhile) {
  enum class event { wrong, correct };
  struct step {
    std::chrono::milliseconds at;  // since t0
    event what;
    bool starts_lockout;  // on_wrong's answer (false for correct)
    std::size_t failures_after;
    bool locked_after;  // locked at `at`, after the event
  };
  const std::vector<step> table{
      {0s, event::wrong, false, 1, false},   {1s, event::wrong, false, 2, false},
      {2s, event::correct, false, 0, false},  // a correct PIN starts the count again
      {3s, event::wrong, false, 1, false},   {4s, event::wrong, false, 2, false},
      {5s, event::wrong, true, 3, true},     // the third in a row: locked until 5s + 60s
      {6s, event::wrong, false, 3, true},    // not counted, not extended
      {64s, event::wrong, false, 3, true},   // still within the lockout
      {65s, event::wrong, false, 1, false},  // the lockout has passed: counting from 0 again
      {66s, event::wrong, false, 2, false},  {67s, event::wrong, true, 3, true},
      {68s, event::correct, false, 0, true},  // a correct PIN does not lift a lockout
  };
  pin_lockout lock(3, 60s);
  EXPECT_FALSE(lock.locked(t0));
  EXPECT_EQ(lock.locked_until(), time_point{});
  for (std::size_t i = 0; i < table.size(); ++i) {
    const auto& s = table[i];
    const time_point now = t0 + s.at;
    bool started = false;
    if (s.what == event::wrong)
      started = lock.on_wrong(now);
    else
      lock.on_correct();
    EXPECT_EQ(started, s.starts_lockout) << "step " << i;
    EXPECT_EQ(lock.failures(), s.failures_after) << "step " << i;
    EXPECT_EQ(lock.locked(now), s.locked_after) << "step " << i;
  }
  EXPECT_EQ(lock.locked_until(), t0 + 67s + 60s);
  EXPECT_TRUE(lock.locked(t0 + 127s - 1ms));
  EXPECT_FALSE(lock.locked(t0 + 127s));
  EXPECT_FALSE(lock.on_wrong(t0 + 127s));
  EXPECT_EQ(lock.failures(), 1u);
}

TEST(PinLockout, ZeroAttemptsNeverLocks) {
  pin_lockout lock(0, 60s);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(lock.on_wrong(t0 + std::chrono::seconds(i)));
  EXPECT_FALSE(lock.locked(t0 + 100s));
}

TEST(PinLockout, OneAttemptLocksAtTheFirstWrongPin) {
  pin_lockout lock(1, 10s);
  EXPECT_TRUE(lock.on_wrong(t0));
  EXPECT_TRUE(lock.locked(t0 + 9999ms));
  EXPECT_FALSE(lock.locked(t0 + 10s));
  EXPECT_TRUE(lock.on_wrong(t0 + 10s));
  EXPECT_EQ(lock.locked_until(), t0 + 20s);
}

}  // namespace
}  // namespace lb::trust
