// STATUS= towards the service manager: what a burst of status changes (one per tool call in a busy
// house) turns into on a test-owned NOTIFY_SOCKET.
#include <cstdlib>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "notify_socket.hpp"
#include "systemd/notifier.hpp"

namespace lb::systemd {
namespace {

using namespace std::chrono_literals;

class NotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = ::testing::TempDir() + "notifier-test-" + std::to_string(::getpid()) + ".sock";
    socket_ = std::make_unique<test::notify_socket>(path);
    ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  }
  void TearDown() override { ::unsetenv("NOTIFY_SOCKET"); }

  // Runs the loop until the socket has `count` datagrams or `limit` passed.
  void run_until(std::size_t count, std::chrono::milliseconds limit) {
    boost::asio::steady_timer poll(io_);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::function<void()> check = [&] {
      if (socket_->messages().size() >= count || std::chrono::steady_clock::now() > deadline)
        return io_.stop();
      poll.expires_after(10ms);
      poll.async_wait([&](const boost::system::error_code&) { check(); });
    };
    check();
    io_.restart();
    io_.run();
  }

  boost::asio::io_context io_;
  std::unique_ptr<test::notify_socket> socket_;
};

TEST_F(NotifierTest, ABurstOfStatusChangesSendsOnlyTheLatestOnceTheSecondIsOver) {
  notifier n(io_);
  n.ready("idle");
  n.status("last call a");
  n.status("last call b");
  n.status("last call c");
  run_until(2, 5s);
  const auto messages = socket_->messages();
  ASSERT_EQ(messages.size(), 2u) << ::testing::PrintToString(messages);
  EXPECT_EQ(messages[0], "READY=1\nSTATUS=idle");
  EXPECT_EQ(messages[1], "STATUS=last call c");
  EXPECT_GE(socket_->arrived_at(1) - socket_->arrived_at(0), 900ms);
}

TEST_F(NotifierTest, AChangeAfterAQuietSecondGoesOutAtOnceAndAnUnchangedStatusNever) {
  notifier n(io_);
  n.ready("idle");
  run_until(1, 5s);
  boost::asio::steady_timer quiet(io_);
  quiet.expires_after(1100ms);
  quiet.async_wait([&](const boost::system::error_code&) {
    n.status("idle");       // unchanged: nothing to say
    n.status("connected");  // the first change in over a second
  });
  run_until(2, 5s);
  const auto messages = socket_->messages();
  ASSERT_EQ(messages.size(), 2u) << ::testing::PrintToString(messages);
  EXPECT_EQ(messages[1], "STATUS=connected");
  EXPECT_LT(socket_->arrived_at(1) - socket_->arrived_at(0), 1500ms);
}

TEST_F(NotifierTest, StoppingDropsAStatusStillWaitingForItsSecond) {
  notifier n(io_);
  n.ready("idle");
  n.status("busy");
  n.stopping();
  run_until(3, 1500ms);
  const auto messages = socket_->messages();
  ASSERT_EQ(messages.size(), 2u) << ::testing::PrintToString(messages);
  EXPECT_EQ(messages[1], "STOPPING=1");
}

}  // namespace
}  // namespace lb::systemd
