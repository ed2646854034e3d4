// The systemd notify protocol (sd_notify): READY=1, STATUS=, RELOADING=1, STOPPING=1 and the
// watchdog. Without NOTIFY_SOCKET (not started by systemd) every call is a no-op. The watchdog is
// pinged from a timer on the io thread, so a wedged event loop stops the pings and systemd
// restarts the service.
#pragma once

#include <chrono>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace lb::systemd {

class notifier {
 public:
  explicit notifier(boost::asio::io_context& io);

  void ready(const std::string& status);
  // Sent only when it changed, and at most once a second: a busy house changes the status with
  // every tool call, and the service manager needs no more than what `systemctl status` can show.
  // A change within the second is sent when the second is over.
  void status(const std::string& status);
  void reloading();  // RELOADING=1 with MONOTONIC_USEC, as systemd 253+ wants
  void stopping();
  // Starts pinging WATCHDOG=1 at a quarter of WATCHDOG_USEC, when the service manager asked for it.
  void start_watchdog();
  std::chrono::microseconds watchdog_interval() const { return watchdog_; }

 private:
  void send(const std::string& message);
  void schedule_ping();

  void send_status();

  boost::asio::steady_timer timer_;
  std::chrono::microseconds watchdog_{0};
  std::string status_;       // the latest status
  std::string sent_status_;  // the last one the service manager got
  std::chrono::steady_clock::time_point status_sent_at_{};
  boost::asio::steady_timer status_timer_;
  bool status_timer_armed_ = false;
};

}  // namespace lb::systemd
