// The Live link against the fake Live server: a `live::session` in this process on its own
// io_context (component tests), and the real daemon for what only start-up shows. Each test checks
// what the bridge above the session relies on: a lost connection is reported, the link comes back,
// nothing is accepted that cannot be written, a stop ends.
#include <chrono>
#include <functional>
#include <stdexcept>

#include <boost/asio/io_context.hpp>

#include "bridge_fixture.hpp"
#include "live/protocol.hpp"
#include "live/session.hpp"

namespace lb::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Runs `io` until `done()` holds; false when `timeout` passed first.
bool run_until(asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.run_for(20ms);
    if (io.stopped()) io.restart();
  }
  return true;
}

// What the bridge would see, with hooks for a test to act inside a callback.
class recorder : public live::session_events {
 public:
  void on_session_ready() override {
    ++ready;
    if (when_ready) when_ready();
  }
  void on_server_message(live::server_message& msg) override {
    ++messages;
    if (when_message) when_message(msg);
  }
  void on_session_lost(const std::string& reason) override { lost.push_back(reason); }

  int ready = 0;
  int messages = 0;
  std::vector<std::string> lost;
  std::function<void()> when_ready;
  std::function<void(live::server_message&)> when_message;
};

std::vector<json> client_contents(const fake_live_server& server) {
  return messages_of(server.received(), "clientContent");
}

class LiveLinkTest : public ::testing::Test {
 protected:
  void start_server(fake_live_server::script s) {
    fake_live_server::options o;
    o.tls = false;
    o.api_key.clear();
    server_ = std::make_unique<fake_live_server>(o, std::move(s));
  }

  config::live_config live_config() const {
    config::live_config cfg;
    cfg.url = server_->url();
    cfg.model = "models/gemini-live-2.5-flash-preview";
    cfg.connect_timeout = 10s;
    cfg.setup_timeout = 5s;
    cfg.reconnect_delay_max = 1s;
    cfg.state_directory = dir_.path();
    return cfg;
  }

  void start_session(const config::live_config& cfg) {
    session_ = std::make_unique<live::session>(io_, cfg, "", events_);
    session_->set_setup(live::build_setup(cfg, {}));
    session_->start();
  }

  // Stops the session and runs the loop until its `done` ran.
  bool stop_session(std::chrono::milliseconds timeout = patience) {
    bool stopped = false;
    session_->stop([&stopped] { stopped = true; });
    return run_until(
        io_, [&] { return stopped; }, timeout);
  }

  temp_dir dir_;
  asio::io_context io_;
  recorder events_;
  std::unique_ptr<fake_live_server> server_;
  std::unique_ptr<live::session> session_;
};

void answer_hello(fake_live_server::connection& conn, const json& msg) {
  if (!msg.contains("clientContent")) return;
  conn.send(
      json{{"serverContent",
            {{"modelTurn", {{"parts", json::array({{{"text", "Hello."}}})}}}, {"turnComplete", true}}}});
}

TEST_F(LiveLinkTest, AnExceptionInACallbackIsLoggedReportedAndTheLinkComesBack) {
  start_server(answer_hello);
  bool thrown = false;
  events_.when_message = [&](live::server_message&) {
    if (thrown) return;
    thrown = true;
    throw std::runtime_error("callback failed on purpose");
  };
  events_.when_ready = [&] {
    if (events_.ready == 1) {
      EXPECT_TRUE(session_->send(live::build_user_turn("Hello?")));
    }
  };
  ::testing::internal::CaptureStderr();
  start_session(live_config());
  const bool came_back = run_until(
      io_, [&] { return events_.ready == 2; }, patience);
  const bool stopped = stop_session();
  const std::string log = ::testing::internal::GetCapturedStderr();

  EXPECT_TRUE(thrown);
  ASSERT_TRUE(came_back) << "the link did not reconnect after the exception; log:\n" << log;
  ASSERT_EQ(events_.lost.size(), 1u);  // the bridge hears of it, and answers the running turn
  EXPECT_NE(events_.lost[0].find("callback failed on purpose"), std::string::npos) << events_.lost[0];
  EXPECT_NE(log.find("live.internal_error"), std::string::npos) << log;
  EXPECT_NE(log.find("callback failed on purpose"), std::string::npos) << log;
  EXPECT_EQ(server_->connections(), 2);
  EXPECT_TRUE(stopped) << "stop did not complete after the exception";
}

TEST_F(LiveLinkTest, NothingIsAcceptedFromTheMomentARenewStarts) {
  start_server(answer_hello);
  start_session(live_config());
  ASSERT_TRUE(run_until(
      io_, [&] { return events_.ready == 1; }, patience));
  ASSERT_TRUE(session_->ready());

  session_->renew();
  EXPECT_FALSE(session_->ready());
  EXPECT_FALSE(session_->send(live::build_user_turn("written into a closing socket")));

  ASSERT_TRUE(run_until(
      io_, [&] { return events_.ready == 2; }, patience));
  EXPECT_TRUE(session_->ready());
  EXPECT_EQ(events_.lost.size(), 1u);
  EXPECT_TRUE(client_contents(*server_).empty());  // the refused frame was not written after all
  EXPECT_TRUE(stop_session());
}

TEST_F(LiveLinkTest, NothingIsAcceptedFromTheMomentAReconfigureStarts) {
  start_server(answer_hello);
  const auto cfg = live_config();
  start_session(cfg);
  ASSERT_TRUE(run_until(
      io_, [&] { return events_.ready == 1; }, patience));

  session_->reconfigure(cfg, "", live::build_setup(cfg, {}));
  EXPECT_FALSE(session_->ready());
  EXPECT_FALSE(session_->send(live::build_user_turn("written into a closing socket")));

  ASSERT_TRUE(run_until(
      io_, [&] { return events_.ready == 2; }, patience));
  EXPECT_TRUE(client_contents(*server_).empty());
  EXPECT_TRUE(stop_session());
}

TEST_F(LiveLinkTest, NothingIsAcceptedFromTheMomentAStopStarts) {
  start_server(answer_hello);
  start_session(live_config());
  ASSERT_TRUE(run_until(
      io_, [&] { return events_.ready == 1; }, patience));

  bool stopped = false;
  session_->stop([&stopped] { stopped = true; });
  EXPECT_FALSE(session_->ready());
  EXPECT_FALSE(session_->send(live::build_user_turn("written into a closing socket")));
  ASSERT_TRUE(run_until(
      io_, [&] { return stopped; }, patience));
  EXPECT_TRUE(client_contents(*server_).empty());
  EXPECT_EQ(session_->state_text(), "stopped");
}

TEST_F(LiveLinkTest, AStopEndsWithinTheCloseDeadlineWhenTheServerNeverAnswersTheClose) {
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (msg.contains("clientContent")) conn.stall();
  });
  events_.when_ready = [&] { EXPECT_TRUE(session_->send(live::build_user_turn("Hello?"))); };
  start_session(live_config());  // connect_timeout 10 s: Beast's own wait for the close reply
  ASSERT_TRUE(run_until(
      io_, [&] { return client_contents(*server_).size() == 1; }, patience));

  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(stop_session(8s)) << "the stop waited for a close reply that never comes";
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST_F(LiveLinkTest, ASecondStopAlsoCompletes) {
  start_server(answer_hello);
  start_session(live_config());
  ASSERT_TRUE(run_until(
      io_, [&] { return events_.ready == 1; }, patience));
  int done = 0;
  session_->stop([&done] { ++done; });
  session_->stop([&done] { ++done; });
  ASSERT_TRUE(run_until(
      io_, [&] { return done == 2; }, patience));
  session_->stop([&done] { ++done; });  // after the end too
  EXPECT_TRUE(run_until(
      io_, [&] { return done == 3; }, patience));
}

TEST_F(LiveLinkTest, ASetupTimeoutWhileResumingStartsAFreshSessionAtOnce) {
  start_server(answer_hello);
  const auto cfg = [&] {
    auto c = live_config();
    c.setup_timeout = 300ms;
    return c;
  }();
  dir_.write("live-session.json", json{{"model", cfg.model},
                                       {"handle", "stale-handle"},
                                       {"saved_at", std::chrono::duration_cast<std::chrono::seconds>(
                                                        std::chrono::system_clock::now().time_since_epoch())
                                                        .count()}}
                                      .dump());
  server_->on_setup([](fake_live_server::connection& conn, const json& setup) {
    // A server that goes silent on a handle it no longer knows.
    if (setup["sessionResumption"].contains("handle")) return;
    conn.send(json{{"setupComplete", json::object()}});
  });
  ::testing::internal::CaptureStderr();
  start_session(cfg);
  const bool ready = run_until(
      io_, [&] { return events_.ready == 1; }, patience);
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(ready) << log;
  EXPECT_NE(log.find("live.resume_rejected"), std::string::npos) << log;
  EXPECT_EQ(log.find("live.lost"), std::string::npos) << log;  // no backoff wait came between
  const auto setups = messages_of(server_->received(), "setup");
  ASSERT_EQ(setups.size(), 2u);
  EXPECT_EQ(setups[0]["sessionResumption"], json({{"handle", "stale-handle"}}));
  EXPECT_EQ(setups[1]["sessionResumption"], json::object());
  ASSERT_EQ(events_.lost.size(), 1u);
  EXPECT_EQ(events_.lost[0], "no setupComplete within 300ms");
  EXPECT_FALSE(session_->has_resumption_handle());
  EXPECT_TRUE(stop_session());
}

class LiveLinkStateFileTest : public LiveLinkTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(LiveLinkStateFileTest, ACorruptStateFileIsIgnoredWithAWarningAndAFreshSessionStarts) {
  dir_.write("live-session.json", GetParam());
  start_server(answer_hello);
  ::testing::internal::CaptureStderr();
  std::string log;
  try {
    start_session(live_config());
  } catch (const std::exception& e) {
    log = ::testing::internal::GetCapturedStderr();
    FAIL() << "the session did not start: " << e.what();
  }
  const bool ready = run_until(
      io_, [&] { return events_.ready == 1; }, patience);
  log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(ready) << log;
  const auto setups = messages_of(server_->received(), "setup");
  ASSERT_EQ(setups.size(), 1u);
  EXPECT_EQ(setups[0]["sessionResumption"], json::object());  // fresh: no handle offered
  EXPECT_NE(log.find("live.state_file_ignored"), std::string::npos) << log;
  EXPECT_NE(log.find(dir_.file("live-session.json")), std::string::npos) << log;
  EXPECT_TRUE(stop_session());
}

INSTANTIATE_TEST_SUITE_P(CorruptFiles, LiveLinkStateFileTest,
                         ::testing::Values(R"({"model": 5})", "not JSON at all", "[1, 2]",
                                           R"({"model": "models/gemini-live-2.5-flash-preview", "handle": 7,
                                               "saved_at": 1})",
                                           R"({"model": "models/gemini-live-2.5-flash-preview",
                                               "handle": "h", "saved_at": "yesterday"})"));

// The daemon itself: a corrupt state file must not put it into a restart loop.
class LiveLinkDaemonTest : public BridgeTest {};

TEST_F(LiveLinkDaemonTest, ACorruptSessionFileDoesNotStopTheStart) {
  dir_.write("live-session.json", R"({"model": 5})");
  start_server(simulated_model());
  start_bridge(config(seed_tools, "  state_directory: " + dir_.path() + "\n"));
  EXPECT_EQ(ask("Hello?")["text"], "Hello! How can I help you today?");
  EXPECT_TRUE(bridge_->wait_for_log("live.state_file_ignored", patience));
}

}  // namespace
}  // namespace lb::test
