#include "systemd/notifier.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include "common/log.hpp"

namespace lb::systemd {

namespace {
constexpr auto status_interval = std::chrono::seconds(1);
}

notifier::notifier(boost::asio::io_context& io) : timer_(io), status_timer_(io) {}

void notifier::send(const std::string& message) {
  const int r = sd_notify(0, message.c_str());
  if (r < 0) log::warning("systemd.notify_failed", "errno=" + std::to_string(-r));
}

void notifier::ready(const std::string& status) {
  status_ = sent_status_ = status;
  status_sent_at_ = std::chrono::steady_clock::now();
  send("READY=1\nSTATUS=" + status);
}

void notifier::status(const std::string& status) {
  status_ = status;
  if (status_timer_armed_) return;  // the timer sends the latest
  const auto due = status_sent_at_ + status_interval;
  if (std::chrono::steady_clock::now() >= due) return send_status();
  status_timer_armed_ = true;
  status_timer_.expires_at(due);
  status_timer_.async_wait([this](const boost::system::error_code& ec) {
    status_timer_armed_ = false;
    if (!ec) send_status();
  });
}

void notifier::send_status() {
  if (status_ == sent_status_) return;
  sent_status_ = status_;
  status_sent_at_ = std::chrono::steady_clock::now();
  send("STATUS=" + status_);
}

void notifier::reloading() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const long long usec = static_cast<long long>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void notifier::stopping() {
  status_timer_.cancel();
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
