#include "trust/pin_lockout.hpp"

namespace lb::trust {

pin_lockout::pin_lockout(std::size_t attempts, std::chrono::milliseconds lockout)
    : attempts_(attempts),
      lockout_(lockout < std::chrono::milliseconds::zero() ? std::chrono::milliseconds::zero() : lockout) {}

bool pin_lockout::on_wrong(time_point now) {
  if (locked(now)) return false;
  if (attempts_ == 0) return false;
  if (failures_ >= attempts_) failures_ = 0;  // the previous lockout has passed
  if (++failures_ < attempts_) return false;
  until_ = now + lockout_;
  return true;
}

}  // namespace lb::trust
