#include "trust/rate_window.hpp"

namespace lb::trust {

using std::chrono::milliseconds;

rate_window::rate_window(tools::rate_limit limit) : limit_(limit) {}

std::size_t rate_window::in_window(time_point now) const {
  std::size_t n = taken_.size();
  for (const auto& t : taken_) {
    if (now - t < limit_.per) break;
    --n;
  }
  return n;
}

void rate_window::forget_before(time_point now) {
  while (!taken_.empty() && now - taken_.front() >= limit_.per) taken_.pop_front();
}

bool rate_window::try_take(time_point now) {
  if (unlimited()) return true;
  if (limit_.calls == 0) return false;
  forget_before(now);
  if (taken_.size() >= limit_.calls) return false;
  taken_.push_back(now);
  return true;
}

milliseconds rate_window::retry_after(time_point now) const {
  if (unlimited()) return milliseconds::zero();
  if (limit_.calls == 0) return limit_.per;
  if (in_window(now) < limit_.calls) return milliseconds::zero();
  // Full: the oldest take in the window leaves it at oldest + per.
  const std::size_t left = taken_.size() - in_window(now);
  const auto wait = taken_[left] + limit_.per - now;
  return std::chrono::ceil<milliseconds>(wait);
}

void rate_window::set_limit(tools::rate_limit limit) {
  limit_ = limit;
  while (taken_.size() > limit_.calls) taken_.pop_front();
}

}  // namespace lb::trust
