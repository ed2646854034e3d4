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
  void status(const std::string& status);  // sent only when it changed
  void reloading();                        // RELOADING=1 with MONOTONIC_USEC, as systemd 253+ wants
  void stopping();
  // Starts pinging WATCHDOG=1 at a quarter of WATCHDOG_USEC, when the service manager asked for it.
  void start_watchdog();
  std::chrono::microseconds watchdog_interval() const { return watchdog_; }

 private:
  void send(const std::string& message);
  void schedule_ping();

  boost::asio::steady_timer timer_;
  std::chrono::microseconds watchdog_{0};
  std::string last_status_;
};

}  // namespace lb::systemd
