// Faults a long-lived bridge meets: connections ended by the server, goAway, rejected resumption
// handles, cancellations, broker restarts, floods. Each test checks what the user would: every
// prompt gets a reply or an error reply, every call is answered once (or, when cancelled, not at
// all), no command is published twice, the session comes back.
#include <atomic>
#include <csignal>
#include <fstream>
#include <set>
#include <thread>

#include "bridge_fixture.hpp"

namespace lb::test {
namespace {

std::vector<json> setups(const fake_live_server& server) {
  return messages_of(server.received(), "setup");
}

std::string handle_of(const json& setup) {
  if (!setup.contains("sessionResumption")) return "(none)";
  return setup["sessionResumption"].value("handle", "");
}

TEST_F(BridgeTest, ServerDeadlineMidTurnErrorsThePromptAndTheSessionResumes) {
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (!msg.contains("clientContent")) return;
    if (conn.index() == 0) {
      conn.send(json{{"sessionResumptionUpdate", {{"newHandle", "handle-1"}, {"resumable", true}}}});
      conn.send(json{{"serverContent", {{"modelTurn", {{"parts", json::array({{{"text", "Let me"}}})}}}}}});
      conn.close(1011, "Deadline expired before operation could complete.");
      return;
    }
    answer_text(conn, "Back again.");
  });
  start_bridge(config(seed_tools));
  const json first = ask("Are you there?");
  EXPECT_EQ(first.value("error", ""),
            "the Live session was lost before the model answered: closed by the server: 1011 Deadline "
            "expired before "
            "operation could complete.");
  const json second = ask("And now?");
  EXPECT_EQ(second["text"], "Back again.");
  const auto all = setups(*server_);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(handle_of(all[0]), "");
  EXPECT_EQ(handle_of(all[1]), "handle-1");  // resumed, not a fresh session
}

TEST_F(BridgeTest, DroppedTcpConnectionIsNoticedAndReplaced) {
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (!msg.contains("clientContent")) return;
    if (conn.index() == 0) {
      conn.drop();  // no close frame
      return;
    }
    answer_text(conn, "Still here.");
  });
  start_bridge(config(seed_tools));
  EXPECT_TRUE(ask("Hello?").contains("error"));
  EXPECT_EQ(ask("Hello again?")["text"], "Still here.");
  EXPECT_EQ(server_->connections(), 2);
}

TEST_F(BridgeTest, GoAwayThenSilenceMovesToANewConnectionBeforeTheDeadline) {
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (!msg.contains("clientContent")) return;
    if (conn.index() == 0) {
      conn.send(json{{"sessionResumptionUpdate", {{"newHandle", "handle-7"}, {"resumable", true}}}});
      answer_text(conn, "First.");
      conn.send(json{{"goAway", {{"timeLeft", "3s"}}}});  // and then nothing, ever
      return;
    }
    answer_text(conn, "Second.");
  });
  start_bridge(config(seed_tools));
  EXPECT_EQ(ask("One")["text"], "First.");
  const auto asked = std::chrono::steady_clock::now();
  ASSERT_TRUE(server_->wait_until(
      [](const std::vector<json>& all) { return messages_of(all, "setup").size() == 2; }, 3s));
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 3s);
  EXPECT_EQ(handle_of(setups(*server_)[1]), "handle-7");
  EXPECT_EQ(ask("Two")["text"], "Second.");
}

TEST_F(BridgeTest, GoAwayWaitsForThePendingCallThenMoves) {
  z2m_bridge z2m(broker_->uri(), {"cellar"}, /*dead=*/{"cellar"});
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (conn.index() > 0) {
      if (msg.contains("clientContent")) answer_text(conn, "New connection.");
      return;
    }
    if (msg.contains("clientContent")) {
      conn.send(json{
          {"toolCall",
           {{"functionCalls", json::array({call("set_light", {{"room", "cellar"}, {"state", "ON"}})})}}}});
      conn.send(json{{"goAway", {{"timeLeft", "10s"}}}});
    } else if (msg.contains("toolResponse")) {
      answer_text(conn, "The cellar did not answer.");
    }
  });
  start_bridge(config(home_tools));
  const json reply = ask("Light the cellar");
  EXPECT_EQ(reply["text"], "The cellar did not answer.");  // the turn was not cut off
  ASSERT_TRUE(server_->wait_until(
      [](const std::vector<json>& all) { return messages_of(all, "setup").size() == 2; }, 5s));
  // The call was answered on the old connection, before the move.
  const auto all = server_->received();
  std::size_t response_at = 0, second_setup_at = 0, setups_seen = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].contains("toolResponse")) response_at = i;
    if (all[i].contains("setup") && ++setups_seen == 2) second_setup_at = i;
  }
  EXPECT_LT(response_at, second_setup_at);
  EXPECT_EQ(ask("Again")["text"], "New connection.");
}

TEST_F(BridgeTest, RejectedResumptionHandleFallsBackToAFreshSessionAtOnce) {
  dir_.write("live-session.json", json{{"model", "models/gemini-live-2.5-flash-preview"},
                                       {"handle", "expired-handle"},
                                       {"saved_at", std::chrono::duration_cast<std::chrono::seconds>(
                                                        std::chrono::system_clock::now().time_since_epoch())
                                                        .count()}}
                                      .dump());
  start_server(simulated_model());
  server_->on_setup([](fake_live_server::connection& conn, const json& setup) {
    if (handle_of(setup) == "expired-handle") {
      conn.close(1007, "Request contains an invalid argument.");
    } else {
      conn.send(json{{"setupComplete", json::object()}});
    }
  });
  const auto started = std::chrono::steady_clock::now();
  start_bridge(config(seed_tools, "  state_directory: " + dir_.path() + "\n"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);  // not the 5-minute configuration-error wait
  const auto all = setups(*server_);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(handle_of(all[0]), "expired-handle");
  EXPECT_EQ(handle_of(all[1]), "");
  EXPECT_TRUE(bridge_->wait_for_log("live.resume_rejected", patience));
  EXPECT_EQ(ask("Hello?")["text"], "Hello! How can I help you today?");
}

TEST_F(BridgeTest, HandleKeptInTheStateDirectoryResumesAfterARestart) {
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (!msg.contains("clientContent")) return;
    conn.send(json{{"sessionResumptionUpdate",
                    {{"newHandle", "handle-" + std::to_string(conn.index())}, {"resumable", true}}}});
    answer_text(conn, "Noted.");
  });
  const std::string yaml = config(seed_tools, "  state_directory: " + dir_.path() + "\n");
  start_bridge(yaml);
  EXPECT_EQ(ask("Remember the milk")["text"], "Noted.");
  bridge_->signal(SIGTERM);
  ASSERT_EQ(bridge_->wait(5s), 0);
  start_bridge(yaml, /*wait_ready=*/false);
  ASSERT_TRUE(server_->wait_until(
      [](const std::vector<json>& all) { return messages_of(all, "setup").size() == 2; }, patience));
  const auto all = setups(*server_);
  EXPECT_EQ(handle_of(all[1]), "handle-0");
}

TEST_F(BridgeTest, CancelledCallsAreNeverAnsweredAndQueuedOnesNeverPublished) {
  z2m_bridge z2m(broker_->uri(), {"cellar"}, /*dead=*/{"cellar"});
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (!msg.contains("clientContent")) return;
    const json on = call("set_light", {{"room", "cellar"}, {"state", "ON"}});
    const json off = call("set_light", {{"room", "cellar"}, {"state", "OFF"}});
    conn.send(json{{"toolCall", {{"functionCalls", json::array({on, off})}}}});
    // The user interrupted: both calls are withdrawn (one published, one still queued).
    conn.after(300ms, [&conn, on, off] {
      conn.send(json{{"toolCallCancellation", {{"ids", json::array({on["id"], off["id"]})}}}});
      conn.after(2s, [&conn] { answer_text(conn, "Never mind."); });
    });
  });
  start_bridge(config(home_tools));
  const json reply = ask("Cellar on. No, off. No, forget it");
  EXPECT_EQ(reply["text"], "Never mind.");
  EXPECT_TRUE(tool_responses().empty());                 // nothing answered after a cancellation
  EXPECT_EQ(commands_on("zigbee2mqtt/cellar/set"), 1u);  // the queued OFF was never published
  ASSERT_EQ(reply["tool_calls"].size(), 2u);
  for (const auto& c : reply["tool_calls"]) EXPECT_EQ(c["response"]["error"], "cancelled by the model");
  // Onlookers hear of each withdrawn call too: one tool_result each, failed, with its name.
  std::vector<std::string> cancelled;
  for (const auto& m : observer_->messages_on("livebridge/event")) {
    const json e = json::parse(m.payload, nullptr, false);
    if (!e.is_object() || e.value("event", "") != "tool_result") continue;
    EXPECT_EQ(e["ok"], false) << m.payload;
    EXPECT_EQ(e["name"], "set_light") << m.payload;
    EXPECT_EQ(e["response"]["error"], "cancelled by the model") << m.payload;
    cancelled.push_back(e.value("call", ""));
  }
  ASSERT_EQ(cancelled.size(), 2u);
  EXPECT_FALSE(cancelled[0].empty());
  EXPECT_NE(cancelled[0], cancelled[1]);
}

TEST_F(BridgeTest, BrokerRestartDuringAPendingCall) {
  start_server(model_calling({call("set_light", {{"room", "living_room"}, {"state", "ON"}})}));
  start_bridge(config(home_tools));
  // No light yet: the call waits for an acknowledgement while the broker goes away.
  observer_->publish("livebridge/prompt", json{{"id", "p1"}, {"text", "Lights"}}.dump(), 1);
  ASSERT_TRUE(bridge_->wait_for_log("tool.publish", patience));
  observer_.reset();
  broker_->stop();
  // The call is answered (an error) within its timeout, never left hanging.
  ASSERT_TRUE(server_->wait_until(
      [](const std::vector<json>& all) { return !messages_of(all, "toolResponse").empty(); }, 5s));
  EXPECT_TRUE(tool_responses().at(0)["response"].contains("error"));
  broker_->start();
  observer_ = std::make_unique<mqtt_peer>(broker_->uri(), "test-observer-2");
  observer_->subscribe("#");
  z2m_bridge z2m(broker_->uri(), {"living_room"});
  // livebridge reconnects, subscribes again and says online again.
  ASSERT_TRUE(observer_->wait_for(
      "livebridge/availability", [](const seen_message& m) { return m.payload == "online"; }, 15s));
  ASSERT_TRUE(bridge_->wait_for_log("mqtt.connected", patience));
  const json reply = ask("Lights again");
  ASSERT_EQ(reply["tool_calls"].size(), 1u);
  EXPECT_EQ(reply["tool_calls"][0]["ok"], true) << reply.dump();
  EXPECT_EQ(commands_on("zigbee2mqtt/living_room/set"), 1u);
}

TEST_F(BridgeTest, CallsWhileTheBrokerIsDownFailAtOnce) {
  start_server(simulated_model());
  // The model calls on its own a little later (as in a voice turn), while the broker is away.
  server_->on_setup([](fake_live_server::connection& conn, const json&) {
    conn.send(json{{"setupComplete", json::object()}});
    conn.after(2500ms, [&conn] {
      conn.send(json{{"toolCall",
                      {{"functionCalls",
                        json::array({call("set_light", {{"room", "living_room"}, {"state", "ON"}})})}}}});
    });
  });
  start_bridge(config(home_tools));
  observer_.reset();
  broker_->stop();
  ASSERT_TRUE(bridge_->wait_for_log("mqtt.lost", patience));
  ASSERT_TRUE(server_->wait_until(
      [](const std::vector<json>& all) { return !messages_of(all, "toolResponse").empty(); }, 5s));
  EXPECT_EQ(tool_responses().at(0)["response"]["error"],
            "the MQTT broker is not connected; nothing was published to the device");
}

TEST_F(BridgeTest, AFloodOfCallsIsBounded) {
  z2m_bridge z2m(broker_->uri(), {"living_room"});
  std::vector<json> calls;
  for (int i = 0; i < 1000; ++i)
    calls.push_back(call("set_light", {{"room", "living_room"}, {"state", i % 2 ? "ON" : "OFF"}}));
  start_server(model_calling(calls));
  // The loop guard would refuse the repeats too; this is about the bound on one toolCall.
  start_bridge(config(home_tools, "  max_calls_per_tool_call: 8\n") + "trust:\n  loop_guard: 1000\n");
  const json reply = ask("Flicker", 60s);
  const auto responses = tool_responses();
  ASSERT_EQ(responses.size(), 1000u);  // every call answered exactly once
  std::set<std::string> ids;
  std::size_t refused = 0;
  for (const auto& r : responses) {
    ids.insert(r["id"].get<std::string>());
    if (r["response"].value("error", "").starts_with("too many function calls")) ++refused;
  }
  EXPECT_EQ(ids.size(), 1000u);
  EXPECT_EQ(refused, 992u);
  // Answers ready together go out together: the refusals in one toolResponse, then at most one
  // per device acknowledgement.
  EXPECT_LE(messages_of(server_->received(), "toolResponse").size(), 9u);
  EXPECT_EQ(commands_on("zigbee2mqtt/living_room/set"), 8u);
  EXPECT_TRUE(bridge_->running());
}

TEST_F(BridgeTest, PromptsPublishedWhileStoppedAreAnsweredAfterTheRestart) {
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (!msg.contains("clientContent")) return;
    answer_text(conn, "Heard: " + msg["clientContent"]["turns"][0]["parts"][0]["text"].get<std::string>());
  });
  const std::string yaml = config(seed_tools);
  start_bridge(yaml);
  EXPECT_EQ(ask("First")["text"], "Heard: First");
  bridge_->signal(SIGTERM);
  ASSERT_EQ(bridge_->wait(5s), 0);

  // An upgrade restart: a home automation keeps publishing meanwhile, and `livebridge ask` gives
  // up on its prompt before livebridge is back.
  for (const char* id : {"while-down-1", "while-down-2", "while-down-3"})
    observer_->publish("livebridge/prompt", json{{"id", id}, {"text", id}}.dump(), 1);
  process gave_up(
      {LIVEBRIDGE_BINARY, "ask", "--timeout", "1s", "--config", dir_.file("livebridge.yaml"), "Too late"},
      dir_.file("ask.log"), {{"CREDENTIALS_DIRECTORY", dir_.path()}});
  EXPECT_EQ(gave_up.wait(patience), 75);
  std::this_thread::sleep_for(1500ms);  // past the expiry `ask` put on its prompt

  start_bridge(yaml);
  for (const char* id : {"while-down-1", "while-down-2", "while-down-3"}) {
    const auto reply = observer_->wait_for(
        "livebridge/reply",
        [&](const seen_message& m) { return json::parse(m.payload, nullptr, false).value("id", "") == id; },
        patience);
    ASSERT_TRUE(reply) << id << " was lost";
    EXPECT_EQ(json::parse(reply->payload)["text"], std::string("Heard: ") + id);
  }
  EXPECT_EQ(ask("Last")["text"], "Heard: Last");
  // Each prompt once; the expired one never reached the model.
  std::size_t turns = 0;
  for (const auto& m : messages_of(server_->received(), "clientContent")) {
    ++turns;
    EXPECT_NE(m["turns"][0]["parts"][0]["text"], "Too late");
  }
  EXPECT_EQ(turns, 5u);
  EXPECT_EQ(observer_->messages_on("livebridge/reply").size(), 5u);
}

TEST_F(BridgeTest, ADeviceFloodingItsStateTopicDoesNotDrownTheAnswer) {
  z2m_bridge z2m(broker_->uri(), {"living_room"});
  start_server(model_calling({call("set_light", {{"room", "living_room"}, {"state", "ON"}})}));
  start_bridge(config(home_tools));
  // A chattering device: state reports as fast as the broker takes them, none of them the answer.
  std::atomic<bool> flooding{true};
  std::atomic<long> flooded{0};
  std::thread flood([&] {
    mqtt_peer chatter(broker_->uri(), "chatter");
    while (flooding) {
      try {
        chatter.publish("zigbee2mqtt/living_room",
                        R"({"state":"OFF","linkquality":)" + std::to_string(flooded % 255) + "}", 0);
        ++flooded;
      } catch (const mqtt::exception&) {
        std::this_thread::sleep_for(1ms);  // paho's send queue is full: as fast as the broker takes them
      }
    }
  });
  // The call starts once the flood is under way, however fast this machine publishes.
  for (const auto until = std::chrono::steady_clock::now() + patience;
       flooded < 1000 && std::chrono::steady_clock::now() < until;)
    std::this_thread::sleep_for(10ms);
  const json reply = ask("Lights on", 30s);
  flooding = false;
  flood.join();
  std::printf("flood: %ld state messages published during the call\n", flooded.load());
  ASSERT_EQ(reply["tool_calls"].size(), 1u) << reply.dump();
  EXPECT_EQ(reply["tool_calls"][0]["ok"], true) << reply.dump();
  EXPECT_GT(flooded.load(), 1000);
  EXPECT_TRUE(bridge_->running());
  EXPECT_EQ(commands_on("zigbee2mqtt/living_room/set"), 1u);
}

TEST_F(BridgeTest, StoppingTogetherWithTheBrokerStillEndsPromptly) {
  // A host shutting down stops mosquitto and livebridge at the same moment: the final `offline`
  // and the DISCONNECT are never acknowledged, and the stop must not wait for them forever.
  start_server(simulated_model());
  start_bridge(config(seed_tools));
  observer_.reset();
  bridge_->signal(SIGTERM);
  broker_->stop();
  const auto stopped = std::chrono::steady_clock::now();
  EXPECT_EQ(bridge_->wait(10s), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, 6s);
}

TEST_F(BridgeTest, StoppingWithAHungBrokerEndsAtTheDeadlineAndFreesWhatWasPending) {
  // A hung broker keeps the connection open and answers nothing: the final `offline` is never
  // acknowledged, so the orderly DISCONNECT never starts. The stop ends at its deadline with
  // exit 0, and what paho still held is freed with the client (under the sanitizers a leak would
  // turn the exit code non-zero).
  start_server(simulated_model());
  start_bridge(config(seed_tools));
  observer_.reset();
  broker_->signal(SIGSTOP);
  bridge_->signal(SIGTERM);
  EXPECT_EQ(bridge_->wait(10s), 0) << bridge_->log();
  EXPECT_NE(bridge_->log().find("mqtt.stop_timeout"), std::string::npos) << bridge_->log();
  broker_->signal(SIGCONT);
}

}  // namespace
}  // namespace lb::test
