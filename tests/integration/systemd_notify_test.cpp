// The daemon's side of the systemd notify protocol, checked against a test-owned NOTIFY_SOCKET:
// readiness, status, watchdog, reload with a broken and a good config, stop.
#include <csignal>
#include <thread>

#include "bridge_fixture.hpp"
#include "notify_socket.hpp"

namespace lb::test {
namespace {

class NotifyTest : public BridgeTest {
 protected:
  void start_notified(const std::string& yaml, std::map<std::string, std::string> env = {}) {
    notify_ = std::make_unique<notify_socket>(dir_.file("notify.sock"));
    env["NOTIFY_SOCKET"] = notify_->path();
    start_bridge(yaml, /*wait_ready=*/true, std::move(env));
  }
  std::unique_ptr<notify_socket> notify_;
};

TEST_F(NotifyTest, ReadyWithStatusOnceTheLoopRuns) {
  start_server(simulated_model());
  start_notified(config(seed_tools));
  const int ready = notify_->wait_for("READY=1", patience);
  ASSERT_GE(ready, 0);
  EXPECT_TRUE(has_line(notify_->messages()[ready], "STATUS="));
  // STATUS= follows the state: eventually both connections are up and the tools counted.
  ASSERT_GE(notify_->wait_for("STATUS=live: connected · mqtt: connected · 2 tools", patience), 0)
      << ::testing::PrintToString(notify_->messages());
  // A tool call shows up in the status.
  z2m_bridge z2m(broker_->uri(), {"living_room"});
  ask("Turn on the lights");
  // STATUS= goes out at most once a second, so the call may show up a moment after the reply.
  const int with_call = notify_->wait_until(
      [](const std::string& m) { return m.find("last call turn_on_the_lights ok") != std::string::npos; },
      patience);
  EXPECT_GE(with_call, 0) << ::testing::PrintToString(notify_->messages());
}

TEST_F(NotifyTest, OfflineCloudDoesNotDelayReadiness) {
  // Nothing listens on the Live URL's port: READY=1 anyway, and the status says why it waits.
  start_server(simulated_model());
  std::string yaml = config(seed_tools);
  const std::string port = std::to_string(server_->port());
  yaml.replace(yaml.find(port), port.size(), std::to_string(free_port()));
  notify_ = std::make_unique<notify_socket>(dir_.file("notify.sock"));
  start_bridge(yaml, /*wait_ready=*/false, {{"NOTIFY_SOCKET", notify_->path()}});
  ASSERT_GE(notify_->wait_for("READY=1", patience), 0);
  ASSERT_GE(notify_->wait_for("STATUS=", patience), 0);
  EXPECT_GE(notify_->wait_for("STATUS=live: reconnecting in", patience), 0)
      << ::testing::PrintToString(notify_->messages());
}

TEST_F(NotifyTest, WatchdogIsPingedFromTheLoop) {
  start_server(simulated_model());
  start_notified(config(seed_tools), {{"WATCHDOG_USEC", "400000"}});
  std::this_thread::sleep_for(1s);
  // Every 100 ms (a quarter of the interval): about ten in a second.
  EXPECT_GE(notify_->count("WATCHDOG=1"), 6u);
  // A stopped loop stops the pings.
  bridge_->signal(SIGSTOP);
  std::this_thread::sleep_for(100ms);
  const auto before = notify_->count("WATCHDOG=1");
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(notify_->count("WATCHDOG=1"), before);
  bridge_->signal(SIGCONT);
}

TEST_F(NotifyTest, ReloadWithABrokenFileKeepsTheRunningConfig) {
  z2m_bridge z2m(broker_->uri(), {"living_room"});
  start_server(simulated_model());
  start_notified(config(seed_tools));
  ASSERT_GE(notify_->wait_for("READY=1", patience), 0);
  const auto before = notify_->messages().size();
  dir_.write("livebridge.yaml", "live:\n  model: m\n  response_modality: VIDEO\n");
  bridge_->signal(SIGHUP);
  const int reloading = notify_->wait_for("RELOADING=1", patience, before);
  ASSERT_GE(reloading, 0);
  EXPECT_TRUE(has_line(notify_->messages()[reloading], "MONOTONIC_USEC="));
  ASSERT_GE(notify_->wait_for("READY=1", patience, reloading), 0);
  EXPECT_TRUE(bridge_->wait_for_log("config.reload_rejected errors=1", patience));
  EXPECT_NE(bridge_->log().find("livebridge.yaml:3:22: live.response_modality: expected TEXT or AUDIO"),
            std::string::npos);
  // Still working on the old config, same session.
  EXPECT_EQ(ask("Turn on the lights")["tool_calls"][0]["ok"], true);
  EXPECT_EQ(server_->connections(), 1);
}

TEST_F(NotifyTest, ReloadWithAGoodFileGivesTheModelTheNewTools) {
  z2m_bridge z2m(broker_->uri(), {"living_room", "kitchen"});
  start_server(simulated_model());
  start_notified(config(seed_tools));
  ASSERT_GE(notify_->wait_for("READY=1", patience), 0);
  const auto before = notify_->messages().size();
  dir_.write("livebridge.yaml", config(home_tools));
  bridge_->signal(SIGHUP);
  const int reloading = notify_->wait_for("RELOADING=1", patience, before);
  ASSERT_GE(reloading, 0);
  ASSERT_GE(notify_->wait_for("READY=1", patience, reloading), 0);
  // A fresh session, set up with the new declarations.
  ASSERT_TRUE(server_->wait_until(
      [](const std::vector<json>& all) { return messages_of(all, "setup").size() == 2; }, patience));
  const json setup = messages_of(server_->received(), "setup").at(1);
  EXPECT_EQ(setup["tools"][0]["functionDeclarations"][0]["name"], "set_light");
  EXPECT_EQ(setup["tools"][0]["functionDeclarations"].size(), 4u);
  EXPECT_TRUE(bridge_->wait_for_log("config.reloaded tools=4 session=renewed", patience));
}

TEST_F(NotifyTest, StopSaysStoppingAndExitsZero) {
  start_server(simulated_model());
  start_notified(config(seed_tools));
  ASSERT_GE(notify_->wait_for("READY=1", patience), 0);
  bridge_->signal(SIGTERM);
  EXPECT_GE(notify_->wait_for("STOPPING=1", patience), 0);
  EXPECT_EQ(bridge_->wait(5s), 0);
}

}  // namespace
}  // namespace lb::test
