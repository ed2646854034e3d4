// Wrong PINs in a row lock PIN confirmations for a while, so that a voice at the window cannot
// try PINs until one fits. Pure: the time is passed in. Runs on the io thread.
#pragma once

#include <chrono>
#include <cstddef>

namespace lb::trust {

class pin_lockout {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  // `attempts` wrong PINs in a row lock for `lockout`; 0 attempts never locks.
  pin_lockout(std::size_t attempts, std::chrono::milliseconds lockout);

  // Locked from the failure that started it until `locked_until()` (exclusive).
  bool locked(time_point now) const { return now < until_; }
  // The end of the latest lockout; time_point{} when there has been none.
  time_point locked_until() const { return until_; }

  // A wrong PIN. True when it starts a lockout (the `attempts`-th in a row). While locked, a
  // wrong PIN is not counted and does not extend the lockout: the caller should not be checking
  // PINs then at all, and an extension would let anyone keep the owner locked out forever.
  bool on_wrong(time_point now);
  // A correct PIN: the count starts again. It does not lift a lockout.
  void on_correct() { failures_ = 0; }

  // Wrong PINs in a row so far: `attempts` while locked, and after a lockout has passed it counts
  // again from the next wrong one (which is 1).
  std::size_t failures() const { return failures_; }

  // New settings (a reload): the failures counted and a running lockout stay.
  void set_limits(std::size_t attempts, std::chrono::milliseconds lockout) {
    attempts_ = attempts;
    lockout_ = lockout;
  }

 private:
  std::size_t attempts_;
  std::chrono::milliseconds lockout_;
  std::size_t failures_ = 0;
  time_point until_{};
};

}  // namespace lb::trust
