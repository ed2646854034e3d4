// A tool's rate limit as a sliding window: at most `calls` carried-out calls within any span of
// `per`, so a model (or an automation loop) cannot toggle a relay dozens of times a second. Pure:
// the time is passed in. Runs on the io thread.
#pragma once

#include <chrono>
#include <deque>

#include "tools/tool_spec.hpp"

namespace lb::trust {

class rate_window {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  // calls == 0 allows nothing; per <= 0 limits nothing.
  explicit rate_window(tools::rate_limit limit);

  // Takes one call's place at `now` if fewer than `calls` were taken in (now - per, now]: a take
  // exactly `per` after an earlier one no longer counts that one. Keeps at most `calls` times.
  bool try_take(time_point now);

  // How long from `now` until try_take would succeed, rounded up to whole milliseconds; zero
  // when it would now. For calls == 0, `per` (there is no such time; the caller says "never").
  std::chrono::milliseconds retry_after(time_point now) const;
  // A new limit (a reload): the takes already counted stay, as many as the new limit keeps.
  void set_limit(tools::rate_limit limit);

 private:
  bool unlimited() const { return limit_.per <= std::chrono::milliseconds::zero(); }
  void forget_before(time_point now);
  std::size_t in_window(time_point now) const;

  tools::rate_limit limit_;
  std::deque<time_point> taken_;  // oldest first, at most limit_.calls
};

}  // namespace lb::trust
