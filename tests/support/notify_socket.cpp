#include "notify_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <stdexcept>

namespace lb::test {

bool has_line(const std::string& message, const std::string& line) {
  std::istringstream in(message);
  for (std::string l; std::getline(in, l);) {
    if (l.rfind(line, 0) == 0) return true;
  }
  return false;
}

notify_socket::notify_socket(std::string path) : path_(std::move(path)) {
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long: " + path_);
  std::strcpy(addr.sun_path, path_.c_str());
  ::unlink(path_.c_str());
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("bind " + path_);
  if (::pipe(stop_pipe_) != 0) throw std::runtime_error("pipe");
  reader_ = std::thread([this] {
    char buf[4096];
    for (;;) {
      pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      const auto now = std::chrono::steady_clock::now();
      std::lock_guard lock(mutex_);
      messages_.emplace_back(buf, static_cast<std::size_t>(n));
      arrivals_.push_back(now);
    }
  });
}

notify_socket::~notify_socket() {
  (void)!::write(stop_pipe_[1], "x", 1);
  reader_.join();
  ::close(fd_);
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
  ::unlink(path_.c_str());
}

std::chrono::steady_clock::time_point notify_socket::arrived_at(std::size_t index) const {
  std::lock_guard lock(mutex_);
  return arrivals_.at(index);
}

std::vector<std::string> notify_socket::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

int notify_socket::wait_for(const std::string& line, std::chrono::milliseconds timeout,
                            std::size_t from) const {
  return wait_until([&](const std::string& message) { return has_line(message, line); }, timeout, from);
}

int notify_socket::wait_until(const std::function<bool(const std::string&)>& pred,
                              std::chrono::milliseconds timeout, std::size_t from) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      for (std::size_t i = from; i < messages_.size(); ++i) {
        if (pred(messages_[i])) return static_cast<int>(i);
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::size_t notify_socket::count(const std::string& line) const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& m : messages_) n += has_line(m, line) ? 1 : 0;
  return n;
}

}  // namespace lb::test
