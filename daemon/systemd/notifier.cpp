#include "systemd/notifier.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include "common/log.hpp"

namespace lb::systemd {

notifier::notifier(boost::asio::io_context& io) : timer_(io) {}

void notifier::send(const std::string& message) {
  const int r = sd_notify(0, message.c_str());
  if (r < 0) log::warning("systemd.notify_failed", "errno=" + std::to_string(-r));
}

void notifier::ready(const std::string& status) {
  last_status_ = status;
  send("READY=1\nSTATUS=" + status);
}

void notifier::status(const std::string& status) {
  if (status == last_status_) return;
  last_status_ = status;
  send("STATUS=" + status);
}

void notifier::reloading() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const long long usec = static_cast<long long>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void notifier::stopping() {
  send("STOPPING=1");
}

void notifier::start_watchdog() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  watchdog_ = std::chrono::microseconds(usec);
  log::info("systemd.watchdog", "interval_ms=" + std::to_string(usec / 1000));
  send("WATCHDOG=1");
  schedule_ping();
}

void notifier::schedule_ping() {
  timer_.expires_after(watchdog_ / 4);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    send("WATCHDOG=1");
    schedule_ping();
  });
}

}  // namespace lb::systemd
