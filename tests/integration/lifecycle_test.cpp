// The turn's lifecycle against the real binary: every prompt gets exactly one reply and no
// command goes out twice, whatever the Live link and the MQTT links do meanwhile.
#include <csignal>
#include <thread>

#include "bridge_fixture.hpp"

namespace lb::test {
namespace {

std::string prompt_text(const json& msg) {
  return msg["clientContent"]["turns"][0]["parts"][0]["text"].get<std::string>();
}

// A model that answers every user turn with "Heard: <prompt>".
fake_live_server::script echo_model() {
  return [](fake_live_server::connection& conn, const json& msg) {
    if (msg.contains("clientContent")) answer_text(conn, "Heard: " + prompt_text(msg));
  };
}

std::optional<json> reply_with_id(mqtt_peer& observer, const std::string& id,
                                  std::chrono::milliseconds timeout) {
  const auto seen = observer.wait_for(
      "livebridge/reply",
      [&](const seen_message& m) {
        const json r = json::parse(m.payload, nullptr, false);
        return r.is_object() && r.value("id", json()) == json(id);
      },
      timeout);
  if (!seen) return std::nullopt;
  return json::parse(seen->payload, nullptr, false);
}

TEST_F(BridgeTest, ABadGroundingSourceIsSkippedAndTheSessionLivesOn) {
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (!msg.contains("clientContent")) return;
    if (prompt_text(msg) != "Search") return answer_text(conn, "Heard: " + prompt_text(msg));
    conn.send(json{{"serverContent",
                    {{"modelTurn", {{"parts", json::array({{{"text", "Found it."}}})}}},
                     {"groundingMetadata",
                      {{"groundingChunks",
                        json::array({{{"web", {{"uri", nullptr}, {"title", nullptr}}}},
                                     {{"web", {{"uri", 7}, {"title", json::array()}}}},
                                     {{"web", {{"uri", "https://example.org/a"}, {"title", "a"}}}}})}}}}}});
    conn.send(json{{"serverContent", {{"turnComplete", true}}}});
  });
  start_bridge(config(seed_tools, "  builtin_tools: [google_search]\n"));
  const json reply = ask("Search");
  ASSERT_TRUE(reply.is_object()) << "the reply to a turn with a malformed source was lost";
  EXPECT_EQ(reply["text"], "Found it.");
  EXPECT_EQ(reply["sources"], json::parse(R"([{"title":"a","uri":"https://example.org/a"}])"));
  EXPECT_EQ(ask("And now?")["text"], "Heard: And now?");
  bridge_->signal(SIGTERM);
  EXPECT_EQ(bridge_->wait(5s), 0);
}

TEST_F(BridgeTest, PromptsWaitingInTheBrokerAreAllAnsweredOnceAfterARestart) {
  start_server(echo_model());
  // Many acknowledgement topics: the main connection's SUBACKs take a while after the prompt inbox
  // has been handed its backlog.
  std::string tools;
  for (int i = 0; i < 40; ++i) {
    const std::string n = std::to_string(i);
    tools += "  - name: light_" + n + "\n    publish: {topic: zigbee2mqtt/light_" + n +
             "/set, payload: {state: \"ON\"}}\n    ack: {topic: zigbee2mqtt/light_" + n +
             ", match: {state: \"ON\"}}\n";
  }
  const std::string yaml = config(tools);
  start_bridge(yaml);
  bridge_->signal(SIGTERM);
  ASSERT_EQ(bridge_->wait(5s), 0);

  const std::vector<std::string> ids{"down-1", "down-2", "down-3"};
  for (const auto& id : ids)
    observer_->publish("livebridge/prompt", json{{"id", id}, {"text", id}}.dump(), 1);
  observer_->publish("livebridge/prompt", std::string("\xff\xfe not text"), 1);  // gets an error reply
  start_bridge(yaml, false);
  for (const auto& id : ids) {
    const auto reply = reply_with_id(*observer_, id, patience);
    ASSERT_TRUE(reply) << id << " was lost";
    EXPECT_EQ((*reply)["text"], "Heard: " + id);
  }
  EXPECT_TRUE(observer_->wait_for(
      "livebridge/reply",
      [](const seen_message& m) { return json::parse(m.payload, nullptr, false).contains("error"); },
      patience))
      << "the refused prompt got no reply";
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(messages_of(server_->received(), "clientContent").size(), ids.size());
  EXPECT_EQ(observer_->messages_on("livebridge/reply").size(), ids.size() + 1);
}

TEST_F(BridgeTest, APromptQueuedBehindAGoAwayIsAnsweredOnTheNextConnection) {
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (!msg.contains("clientContent")) return;
    if (conn.index() == 0) conn.send(json{{"goAway", {{"timeLeft", "20s"}}}});
    answer_text(conn, "Heard: " + prompt_text(msg) + " on " + std::to_string(conn.index()));
  });
  start_bridge(config(seed_tools));
  observer_->publish("livebridge/prompt", json{{"id", "first"}, {"text", "first"}}.dump(), 1);
  observer_->publish("livebridge/prompt", json{{"id", "second"}, {"text", "second"}}.dump(), 1);
  const auto first = reply_with_id(*observer_, "first", patience);
  const auto second = reply_with_id(*observer_, "second", patience);
  ASSERT_TRUE(first && second);
  EXPECT_EQ((*first)["text"], "Heard: first on 0");
  EXPECT_FALSE(second->contains("error")) << second->dump();
  EXPECT_EQ((*second)["text"], "Heard: second on 1");
  EXPECT_EQ(messages_of(server_->received(), "clientContent").size(), 2u);
}

TEST_F(BridgeTest, AnAnswerArrivingAfterTheTurnTimeoutIsNotTakenForTheNextPrompt) {
  // The answer to "slow" comes a second after livebridge gave up on it, while the model is still
  // thinking about "next": the Live API does not say which turn an answer belongs to.
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (!msg.contains("clientContent")) return;
    const std::string text = prompt_text(msg);
    const auto delay = text == "slow" ? 3000ms : 1500ms;
    conn.after(delay, [&conn, text] { answer_text(conn, "Heard: " + text); });
  });
  start_bridge(config(seed_tools, "  turn_timeout: 2s\n"));
  const json slow = ask("slow");
  ASSERT_TRUE(slow.contains("error")) << slow.dump();
  const json next = ask("next");
  EXPECT_EQ(next["text"], "Heard: next");
  EXPECT_FALSE(next.contains("error")) << next.dump();
}

TEST_F(BridgeTest, CallsQueuedBehindABusyDeviceAreNeverPublishedOnceTheirSessionIsLost) {
  // No device answers: the first command holds the state topic until its timeout.
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (!msg.contains("clientContent") || conn.index() != 0) return;
    conn.send(json{
        {"toolCall",
         {{"functionCalls", json::array({call("set_light", {{"room", "cellar"}, {"state", "ON"}}),
                                         call("set_light", {{"room", "cellar"}, {"state", "OFF"}})})}}}});
    conn.after(200ms, [&conn] { conn.close(1011, "internal error"); });
  });
  start_bridge(config(home_tools));
  const json reply = ask("Cellar light on and off");
  EXPECT_TRUE(reply.contains("error")) << reply.dump();
  // Past the first command's 1.5 s acknowledgement timeout, when the queued one would start.
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(commands_on("zigbee2mqtt/cellar/set"), 1u);
}

TEST_F(BridgeTest, SpokenAnswersAreKeptOutsideSystemdAndTheReplySaysWhere) {
  start_server(simulated_model());
  const std::string home = dir_.path() + "/home";
  start_bridge(config(seed_tools, "  response_modality: AUDIO\n"), true,
               {{"HOME", home}, {"XDG_STATE_HOME", ""}, {"STATE_DIRECTORY", ""}});
  const json reply = ask("Hello?");
  ASSERT_TRUE(reply.contains("audio")) << reply.dump();
  ASSERT_TRUE(reply["audio"].contains("file")) << reply.dump();
  const std::string file = reply["audio"]["file"].get<std::string>();
  EXPECT_EQ(file.rfind(home + "/.local/state/livebridge/audio/", 0), 0u) << file;
  EXPECT_TRUE(std::filesystem::exists(file)) << file;
}

// A stop answers the calls still waiting for their device before the session closes, so the
// model hears what happened.
void stop_with_a_call_pending(fake_live_server& server, mqtt_peer& observer, process& bridge) {
  observer.publish("livebridge/prompt", json{{"id", "cellar"}, {"text", "Cellar light on"}}.dump(), 1);
  ASSERT_TRUE(bridge.wait_for_log("tool.publish", patience));
  bridge.signal(SIGTERM);
  ASSERT_EQ(bridge.wait(5s), 0);
  // The fake server may still be reading what the daemon wrote before it exited.
  server.wait_until([](const std::vector<json>& all) { return !messages_of(all, "toolResponse").empty(); },
                    2s);
  std::size_t answers = 0;
  for (const auto& m : messages_of(server.received(), "toolResponse")) {
    for (const auto& r : m["functionResponses"]) {
      ++answers;
      EXPECT_NE(r["response"].dump().find("shutting down"), std::string::npos) << r.dump();
    }
  }
  EXPECT_EQ(answers, 1u) << "the pending call was not answered exactly once";
  const auto reply = reply_with_id(observer, "cellar", patience);
  ASSERT_TRUE(reply);
  EXPECT_TRUE(reply->contains("error"));
}

TEST_F(BridgeTest, AStopAnswersPendingCallsBeforeClosingTheSession) {
  start_server(model_calling({call("set_light", {{"room", "cellar"}, {"state", "ON"}})}));
  start_bridge(config(home_tools));
  stop_with_a_call_pending(*server_, *observer_, *bridge_);
}

TEST_F(BridgeTest, AStopAnswersPendingCallsBeforeClosingTheSessionWithPromptsOnTheMainConnection) {
  start_server(model_calling({call("set_light", {{"room", "cellar"}, {"state", "ON"}})}));
  std::string yaml = config(home_tools);
  yaml.replace(yaml.find("  client_id: lb-it\n"), 18, "  client_id: lb-it\n  persistent_prompts: false\n");
  start_bridge(yaml);
  stop_with_a_call_pending(*server_, *observer_, *bridge_);
}

TEST_F(BridgeTest, AReloadArrivingDuringAnAbandonedTurnIsAppliedOnceTheLateAnswerEnds) {
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (!msg.contains("clientContent")) return;
    const std::string text = prompt_text(msg);
    conn.after(text == "slow" ? 3000ms : 100ms, [&conn, text] { answer_text(conn, "Heard: " + text); });
  });
  start_bridge(config(seed_tools, "  turn_timeout: 2s\n"));
  const json slow = ask("slow");
  ASSERT_TRUE(slow.contains("error")) << slow.dump();
  bridge_->signal(SIGHUP);  // the turn is abandoned; the late answer comes about a second later
  ASSERT_TRUE(bridge_->wait_for_log("config.reload_waiting", patience));
  EXPECT_TRUE(bridge_->wait_for_log("config.reloaded", patience)) << "the reload was never applied";
  const json next = ask("next");
  EXPECT_EQ(next["text"], "Heard: next") << next.dump();
}

}  // namespace
}  // namespace lb::test
