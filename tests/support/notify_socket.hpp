// A test-owned NOTIFY_SOCKET: an AF_UNIX datagram socket that collects what the daemon tells its
// service manager (READY=1, STATUS=…, WATCHDOG=1, RELOADING=1, STOPPING=1).
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lb::test {

class notify_socket {
 public:
  explicit notify_socket(std::string path);
  ~notify_socket();
  const std::string& path() const { return path_; }

  std::vector<std::string> messages() const;  // one entry per datagram
  // Waits for a datagram with a line starting with `line` (e.g. "READY=1"); its index or -1.
  int wait_for(const std::string& line, std::chrono::milliseconds timeout, std::size_t from = 0) const;
  // Waits for a datagram that satisfies `pred`; its index or -1.
  int wait_until(const std::function<bool(const std::string&)>& pred, std::chrono::milliseconds timeout,
                 std::size_t from = 0) const;
  std::size_t count(const std::string& line) const;
  // When datagram `index` arrived (stamped by the reader thread as it took it in).
  std::chrono::steady_clock::time_point arrived_at(std::size_t index) const;

 private:
  std::string path_;
  int fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  mutable std::mutex mutex_;
  std::vector<std::string> messages_;
  std::vector<std::chrono::steady_clock::time_point> arrivals_;
  std::thread reader_;
};

// True when the datagram `message` holds a line starting with `line`.
bool has_line(const std::string& message, const std::string& line);

}  // namespace lb::test
