// Reconnect delays: exponential with full jitter between a floor and a cap. Pure; the caller owns
// the timer. Configuration errors (close 1007/1008: bad key, bad model, bad request) wait far
// longer, because retrying replays the same error.
#pragma once

#include <chrono>
#include <random>

namespace lb {

class backoff {
 public:
  using ms = std::chrono::milliseconds;
  backoff(ms floor, ms cap, ms config_error_delay, unsigned seed = std::random_device{}())
      : floor_(floor), cap_(cap), config_error_delay_(config_error_delay), rng_(seed) {}

  // The delay before the next attempt. `config_error`: the last attempt failed for a reason the
  // server will repeat until someone fixes the config.
  ms next(bool config_error) {
    if (config_error) return std::max(config_error_delay_, cap_);
    const ms ceiling = std::min(cap_, ms(floor_.count() << std::min(attempts_, 20)));
    ++attempts_;
    std::uniform_int_distribution<long long> pick(floor_.count(), std::max(floor_.count(), ceiling.count()));
    return ms(pick(rng_));
  }
  // After a connection that reached setupComplete.
  void reset() { attempts_ = 0; }
  int attempts() const { return attempts_; }

 private:
  ms floor_;
  ms cap_;
  ms config_error_delay_;
  int attempts_ = 0;
  std::mt19937 rng_;
};

}  // namespace lb
