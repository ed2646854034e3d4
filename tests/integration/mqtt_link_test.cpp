// The MQTT links across broker restarts, seen from `livebridge ask`: a prompt (typed or spoken) is
// published once, however often the link to the broker comes back while ask waits for its reply.
#include <atomic>
#include <csignal>

#include "audio/wav.hpp"
#include "bridge_fixture.hpp"

namespace lb::test {
namespace {

// The model's answer is held until the test releases it, so the broker restart happens while
// `ask` waits, whatever the machine's speed. Shared with the server's timers, which may outlive
// the test body.
struct held_answer : std::enable_shared_from_this<held_answer> {
  std::atomic<bool> released{false};

  // Answers `text` once released; polls on the server's own timer, never blocking its thread.
  void answer_when_released(fake_live_server::connection& conn, std::string text) {
    if (released) {
      answer_text(conn, text);
      return;
    }
    conn.after(20ms, [self = shared_from_this(), &conn, text = std::move(text)]() mutable {
      self->answer_when_released(conn, std::move(text));
    });
  }
};

std::size_t user_turns_saying(const fake_live_server& server, const std::string& text) {
  std::size_t n = 0;
  for (const auto& m : messages_of(server.received(), "clientContent")) {
    if (m["turns"][0]["parts"][0]["text"] == text) ++n;
  }
  return n;
}

class MqttLinkTest : public BridgeTest {
 protected:
  // `ask` with the MQTT log lines visible, so the test can see its link come back.
  std::unique_ptr<process> start_ask(std::vector<std::string> args, const std::string& log_name) {
    std::vector<std::string> argv{LIVEBRIDGE_BINARY, "ask", "--log-level", "notice",
                                  "--timeout",       "60s", "--config",    dir_.file("livebridge.yaml")};
    argv.insert(argv.end(), args.begin(), args.end());
    return std::make_unique<process>(
        argv, dir_.file(log_name),
        std::map<std::string, std::string>{{"CREDENTIALS_DIRECTORY", dir_.path()}});
  }

  // Restarts the broker while `ask` waits: ask is frozen meanwhile, so livebridge is subscribed
  // again before ask's link comes back, and anything ask sent again would reach livebridge.
  void restart_broker_under(process& ask) {
    const std::size_t daemon_links_before = bridge_->log_count("mqtt.connected");
    ask.signal(SIGSTOP);
    observer_.reset();
    broker_->stop();
    broker_->start();
    // Both of livebridge's links (commands and the prompt inbox) are up again.
    ASSERT_TRUE(bridge_->wait_for_log("mqtt.connected", 20s, daemon_links_before + 2)) << bridge_->log();
    observer_ = std::make_unique<mqtt_peer>(broker_->uri(), "test-observer-2");
    observer_->subscribe("#");
    ask.signal(SIGCONT);
    // ask's own link is up again: every SUBACK in.
    ASSERT_TRUE(ask.wait_for_log("mqtt.connected", 20s, 2)) << ask.log();
  }

  // A prompt published after ask is done: livebridge takes prompts in order, so once this one is
  // answered, anything ask had sent again has reached the model too.
  void flush_prompts() {
    const json reply = ask("After");
    ASSERT_EQ(reply["text"], "Heard: After") << reply.dump();
  }
};

TEST_F(MqttLinkTest, AskPublishesItsPromptOnceAcrossABrokerRestart) {
  auto held = std::make_shared<held_answer>();
  start_server([held](fake_live_server::connection& conn, const json& msg) {
    if (!msg.contains("clientContent")) return;
    const std::string text = msg["clientContent"]["turns"][0]["parts"][0]["text"].get<std::string>();
    if (text == "Slow question") {
      held->answer_when_released(conn, "Heard: " + text);
    } else {
      answer_text(conn, "Heard: " + text);
    }
  });
  start_bridge(config(seed_tools));
  auto asking = start_ask({"Slow question"}, "ask.log");
  ASSERT_TRUE(server_->wait_until(
      [](const std::vector<json>& all) { return !messages_of(all, "clientContent").empty(); }, patience));

  restart_broker_under(*asking);
  held->released = true;

  EXPECT_EQ(asking->wait(patience), 0) << asking->log();
  EXPECT_NE(asking->log().find("Heard: Slow question"), std::string::npos) << asking->log();
  flush_prompts();
  EXPECT_EQ(user_turns_saying(*server_, "Slow question"), 1u);
  EXPECT_TRUE(observer_->messages_on("livebridge/prompt/cli").empty());  // ask did not send it again
}

TEST_F(MqttLinkTest, AskByVoicePublishesItsRecordingOnceAcrossABrokerRestart) {
  auto held = std::make_shared<held_answer>();
  start_server([held](fake_live_server::connection& conn, const json& msg) {
    if (msg.contains("realtimeInput")) {
      if (msg["realtimeInput"].value("audioStreamEnd", false)) held->answer_when_released(conn, "Heard you");
    } else if (msg.contains("clientContent")) {
      answer_text(conn, "Heard: " + msg["clientContent"]["turns"][0]["parts"][0]["text"].get<std::string>());
    }
  });
  start_bridge(config(seed_tools));
  const std::string spoken = tone(0.5, 16000);  // five chunks of 100 ms
  dir_.write("question.wav", audio::make_wav(spoken, 16000));
  auto asking = start_ask({"--wav", dir_.file("question.wav")}, "ask.log");
  ASSERT_TRUE(server_->wait_until(
      [](const std::vector<json>& all) {
        for (const auto& in : messages_of(all, "realtimeInput"))
          if (in.value("audioStreamEnd", false)) return true;
        return false;
      },
      patience));

  restart_broker_under(*asking);
  held->released = true;

  EXPECT_EQ(asking->wait(patience), 0) << asking->log();
  flush_prompts();
  std::size_t chunks = 0;
  std::size_t ends = 0;
  for (const auto& in : messages_of(server_->received(), "realtimeInput")) {
    if (in.contains("audio")) ++chunks;
    if (in.value("audioStreamEnd", false)) ++ends;
  }
  EXPECT_EQ(chunks, 5u);
  EXPECT_EQ(ends, 1u);
}

TEST_F(MqttLinkTest, AskGivingUpOnAHungBrokerStillEnds) {
  // The broker keeps the connection open and answers nothing: ask's timeout passes and its stop
  // never waits on the broker, so ask ends with "no reply".
  start_server(simulated_model());
  dir_.write("livebridge.yaml", config(seed_tools));
  std::vector<std::string> argv{LIVEBRIDGE_BINARY, "ask", "--log-level", "notice",
                                "--timeout",       "1s",  "--config",    dir_.file("livebridge.yaml"),
                                "Anyone there?"};
  process asking(argv, dir_.file("ask.log"), {{"CREDENTIALS_DIRECTORY", dir_.path()}});
  ASSERT_TRUE(asking.wait_for_log("mqtt.connected", patience)) << asking.log();
  observer_.reset();
  broker_->signal(SIGSTOP);
  EXPECT_EQ(asking.wait(patience), 75) << asking.log();
  EXPECT_NE(asking.log().find("no reply within 1s"), std::string::npos) << asking.log();
  broker_->signal(SIGCONT);
}

TEST_F(MqttLinkTest, AskSurvivesAMalformedReply) {
  // Anyone on the broker can publish on the reply topic: a reply with ask's id but fields of the
  // wrong types is printed as far as it can be read, never a crash.
  start_server(simulated_model());
  dir_.write("livebridge.yaml", config(seed_tools));
  auto asking = start_ask({"Question"}, "ask.log");
  const auto prompt = observer_->wait_for(
      "livebridge/prompt/cli", [](const seen_message&) { return true; }, patience);
  ASSERT_TRUE(prompt);
  const json id = json::parse(prompt->payload)["id"];
  observer_->publish("livebridge/reply",
                     json{{"id", id},
                          {"text", 42},
                          {"heard", json::array()},
                          {"tool_calls", json::array({"not a call", json{{"name", 7}, {"ok", "yes"}}})}}
                         .dump(),
                     1);
  EXPECT_EQ(asking->wait(patience), 0) << asking->log();
  EXPECT_NE(asking->log().find(">>> Question"), std::string::npos) << asking->log();
}

}  // namespace
}  // namespace lb::test
