// The real livebridge binary against a real mosquitto, the fake Live server over TLS (with a
// throwaway CA) and simulated devices. Each test asserts what a user would check: what the
// broker carried, what the model was told, what came back on livebridge/reply.
#include <csignal>
#include <thread>

#include "bridge_fixture.hpp"

namespace lb::test {
namespace {

TEST_F(BridgeTest, HelloIsAnsweredWithTextOnly) {
  start_server(simulated_model());
  start_bridge(config(seed_tools));
  const json reply = ask("Hello?");
  EXPECT_EQ(reply["text"], "Hello! How can I help you today?");
  EXPECT_EQ(reply["tool_calls"], json::array());
  EXPECT_FALSE(reply.contains("error"));

  // The setup the model got: the seed's two functions, TEXT modality, the model named.
  const json setup = messages_of(server_->received(), "setup").at(0);
  EXPECT_EQ(setup["model"], "models/gemini-live-2.5-flash-preview");
  EXPECT_EQ(setup["generationConfig"]["responseModalities"], json::array({"TEXT"}));
  EXPECT_EQ(setup["tools"][0]["functionDeclarations"].size(), 2u);
  const json turn = messages_of(server_->received(), "clientContent").at(0);
  EXPECT_EQ(turn["turns"][0]["parts"][0]["text"], "Hello?");
  EXPECT_EQ(turn["turnComplete"], true);
}

TEST_F(BridgeTest, TurnOnTheLightsTravelsToTheDeviceAndBack) {
  z2m_bridge z2m(broker_->uri(), {"living_room"});
  start_server(simulated_model());
  start_bridge(config(seed_tools));
  const json reply = ask("Turn on the lights");

  // The broker carried exactly one command, and the light switched.
  ASSERT_EQ(commands_on("zigbee2mqtt/living_room/set"), 1u);
  EXPECT_EQ(json::parse(observer_->messages_on("zigbee2mqtt/living_room/set")[0].payload),
            json({{"state", "ON"}}));
  EXPECT_EQ(z2m.state("living_room")["state"], "ON");

  // The model was told what the light reported.
  const auto responses = tool_responses();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0]["name"], "turn_on_the_lights");
  EXPECT_TRUE(responses[0]["id"].get<std::string>().starts_with("function-call-"));
  EXPECT_EQ(responses[0]["response"]["output"]["status"], "confirmed");
  EXPECT_EQ(responses[0]["response"]["output"]["state"]["state"], "ON");

  // And the reply says so.
  EXPECT_EQ(reply["text"], "OK, I've turned on the lights.");
  ASSERT_EQ(reply["tool_calls"].size(), 1u);
  EXPECT_EQ(reply["tool_calls"][0]["name"], "turn_on_the_lights");
  EXPECT_EQ(reply["tool_calls"][0]["ok"], true);
}

TEST_F(BridgeTest, SeveralCallsInOneTurnEachGetTheirOwnAcknowledgement) {
  z2m_bridge z2m(broker_->uri(), {"living_room", "kitchen"});
  tasmota_device lamp(broker_->uri(), "desk_lamp");
  shelly_device coffee(broker_->uri(), "shelly-coffee");
  v5_responder thermostat(broker_->uri());
  start_server(model_calling({
      call("set_light", {{"room", "living_room"}, {"state", "ON"}, {"brightness", 128.0}}),
      call("set_light", {{"room", "kitchen"}, {"state", "ON"}}),
      call("set_desk_lamp", {{"percent", 40}}),
      call("switch_coffee_machine", {{"on", true}}),
      call("set_thermostat", {{"celsius", 21.5}}),
  }));
  start_bridge(config(home_tools));
  const json reply = ask("Evening mode, please");

  const auto responses = tool_responses();
  ASSERT_EQ(responses.size(), 5u);
  std::map<std::string, json> by_name;
  for (const auto& r : responses) {
    EXPECT_TRUE(r["response"].contains("output")) << r.dump();
    by_name[r["name"].get<std::string>() +
            (r["name"] == "set_light" ? r["response"]["output"]["topic"].get<std::string>() : "")] = r;
  }
  EXPECT_EQ(by_name["set_lightzigbee2mqtt/living_room"]["response"]["output"]["state"]["brightness"], 128);
  EXPECT_EQ(by_name["set_desk_lamp"]["response"]["output"]["state"]["Dimmer"], 40);
  EXPECT_EQ(by_name["switch_coffee_machine"]["response"]["output"]["result"]["was_on"], false);
  EXPECT_EQ(by_name["set_thermostat"]["response"]["output"]["response"]["applied"]["target"], 21.5);
  EXPECT_TRUE(coffee.output());

  // Every device got its command exactly once.
  EXPECT_EQ(commands_on("zigbee2mqtt/living_room/set"), 1u);
  EXPECT_EQ(commands_on("zigbee2mqtt/kitchen/set"), 1u);
  EXPECT_EQ(commands_on("cmnd/desk_lamp/Dimmer"), 1u);
  EXPECT_EQ(commands_on("shelly-coffee/rpc"), 1u);
  EXPECT_EQ(commands_on("svc/thermostat/set"), 1u);
  EXPECT_EQ(reply["tool_calls"].size(), 5u);
  for (const auto& c : reply["tool_calls"]) EXPECT_EQ(c["ok"], true) << c.dump();
}

TEST_F(BridgeTest, DeviceThatNeverAcknowledgesIsReportedToTheModelInTime) {
  z2m_bridge z2m(broker_->uri(), {"living_room", "cellar"}, /*dead=*/{"cellar"});
  start_server(model_calling({call("set_light", {{"room", "cellar"}, {"state", "ON"}})}));
  start_bridge(config(home_tools));
  const auto asked = std::chrono::steady_clock::now();
  const json reply = ask("Light the cellar");
  const auto took = std::chrono::steady_clock::now() - asked;

  const auto responses = tool_responses();
  ASSERT_EQ(responses.size(), 1u);
  const std::string error = responses[0]["response"].value("error", "");
  EXPECT_TRUE(error.starts_with("timeout: no matching state from zigbee2mqtt/cellar within 1.5s")) << error;
  EXPECT_GE(took, 1500ms);
  EXPECT_LT(took, 5s);
  EXPECT_EQ(commands_on("zigbee2mqtt/cellar/set"), 1u);  // published once, not retried
  ASSERT_EQ(reply["tool_calls"].size(), 1u);
  EXPECT_EQ(reply["tool_calls"][0]["ok"], false);
  EXPECT_EQ(reply["text"], "set_light failed; ");
}

TEST_F(BridgeTest, UnknownFunctionAndBadArgumentsNeverReachADevice) {
  z2m_bridge z2m(broker_->uri(), {"living_room"});
  start_server(model_calling({
      call("open_the_garage", json::object()),
      call("set_light", {{"room", "living_room"}, {"state", "ON"}, {"brightness", 999}}),
      call("set_light", {{"room", "living_room/#"}, {"state", "ON"}}),
      call("set_light", {{"room", "living_room"}}),
  }));
  start_bridge(config(home_tools));
  const json reply = ask("Do odd things");
  const auto responses = tool_responses();
  ASSERT_EQ(responses.size(), 4u);
  for (const auto& r : responses) {
    const std::string error = r["response"].value("error", "");
    EXPECT_NE(error.find("nothing was done"), std::string::npos) << r.dump();
  }
  EXPECT_EQ(z2m.commands_received("living_room"), 0);
  for (const auto& m : observer_->messages()) {
    EXPECT_EQ(m.topic.find("/set"), std::string::npos) << "a command was published: " << m.topic;
  }
  EXPECT_EQ(reply["tool_calls"].size(), 4u);
}

TEST_F(BridgeTest, PromptsSentTogetherAreQueuedAndAllAnswered) {
  start_server(simulated_model());
  start_bridge(config(seed_tools));
  for (int i = 1; i <= 3; ++i)
    observer_->publish("livebridge/prompt", json{{"id", i}, {"text", "Hello " + std::to_string(i)}}.dump(),
                       1);
  observer_->publish("livebridge/prompt", "Hello in plain text", 1);
  const auto replies = observer_->wait_count("livebridge/reply", 4, patience);
  ASSERT_EQ(replies.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    const json r = json::parse(replies[i].payload);
    EXPECT_EQ(r["id"], i + 1);
    EXPECT_EQ(r["text"], "Hello! How can I help you today?");
  }
}

TEST_F(BridgeTest, BadPromptsGetAnErrorReply) {
  start_server(simulated_model());
  start_bridge(config(seed_tools));
  observer_->publish("livebridge/prompt", R"({"id":"x1","text":42})", 1);
  observer_->publish("livebridge/prompt", std::string(70 * 1024, 'a'), 1);
  observer_->publish("livebridge/prompt", "\xff\xfe not utf-8", 1);
  const auto replies = observer_->wait_count("livebridge/reply", 3, patience);
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(json::parse(replies[0].payload)["error"], "a JSON prompt needs a string member \"text\"");
  EXPECT_EQ(json::parse(replies[0].payload)["id"], "x1");
  EXPECT_NE(json::parse(replies[1].payload)["error"].get<std::string>().find("exceeds mqtt.max_prompt_bytes"),
            std::string::npos);
  EXPECT_EQ(json::parse(replies[2].payload)["error"], "the prompt is not valid UTF-8");
  EXPECT_TRUE(messages_of(server_->received(), "clientContent").empty());
  EXPECT_TRUE(bridge_->running());
}

TEST_F(BridgeTest, ApiKeyTravelsInTheHeaderAndNeverInTheLog) {
  dir_.write("gemini-api-key", "AIzaSy-secret-key-123\n");
  start_server(simulated_model(), true, "AIzaSy-secret-key-123");
  start_bridge(config(seed_tools));
  EXPECT_EQ(ask("Hello?")["text"], "Hello! How can I help you today?");
  EXPECT_EQ(server_->api_keys_seen().at(0), "AIzaSy-secret-key-123");
  EXPECT_EQ(bridge_->log().find("AIzaSy-secret-key-123"), std::string::npos);
  EXPECT_EQ(read_file("/proc/" + std::to_string(bridge_->pid()) + "/cmdline").find("secret"),
            std::string::npos);
}

TEST_F(BridgeTest, BadKeyIsReportedAndNotHammered) {
  start_server(simulated_model(), true, "the-right-key");
  start_bridge(config(seed_tools), /*wait_ready=*/false);
  ASSERT_TRUE(bridge_->wait_for_log("live.lost", patience));
  EXPECT_NE(bridge_->log().find("closed by the server: 1007 API key not valid. Please pass a valid API key."),
            std::string::npos);
  EXPECT_NE(bridge_->log().find("retry_in=5m"), std::string::npos);  // a configuration error waits long
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(server_->connections(), 1);
  // A prompt meanwhile is queued, not lost, not answered by a model that is not there.
  EXPECT_TRUE(bridge_->running());
}

TEST_F(BridgeTest, ServerCertificateIsVerified) {
  start_server(simulated_model());
  std::string yaml = config(seed_tools);
  yaml.replace(yaml.find(pki_->ca_cert), pki_->ca_cert.size(), pki_->other_ca_cert);
  start_bridge(yaml, /*wait_ready=*/false);
  ASSERT_TRUE(bridge_->wait_for_log("live.lost", patience));
  EXPECT_NE(bridge_->log().find("TLS handshake with 127.0.0.1 failed: certificate verify failed"),
            std::string::npos);
  EXPECT_TRUE(messages_of(server_->received(), "setup").empty());
}

TEST_F(BridgeTest, MissingSetupCompleteIsADeadlineNotAHang) {
  start_server(simulated_model(), /*answer_setup=*/false);
  start_bridge(config(seed_tools), /*wait_ready=*/false);
  ASSERT_TRUE(bridge_->wait_for_log("live.lost", patience));
  EXPECT_NE(bridge_->log().find("no setupComplete within 2s"), std::string::npos);
}

TEST_F(BridgeTest, StopPublishesOfflineClosesTheSessionAndExitsZero) {
  start_server(simulated_model());
  start_bridge(config(seed_tools));
  bridge_->signal(SIGTERM);
  EXPECT_EQ(bridge_->wait(5s), 0);
  const auto availability = observer_->messages_on("livebridge/availability");
  ASSERT_FALSE(availability.empty());
  EXPECT_EQ(availability.back().payload, "offline");
}

TEST_F(BridgeTest, AStopAtAnyMomentOfStartingNeverLeavesOnlineBehind) {
  start_server(simulated_model());
  start_bridge(config(seed_tools));  // a first run leaves the retained `online` of a healthy bridge
  bridge_->signal(SIGTERM);
  ASSERT_EQ(bridge_->wait(5s), 0);
  // An operator restarting in a hurry: SIGTERM at every stage of start-up (connecting, waiting for
  // SUBACKs, connected). Whatever the moment, the broker must not be left saying `online`.
  for (int delay_ms : {0, 5, 10, 20, 40, 80}) {
    start_bridge(config(seed_tools), /*wait_ready=*/false);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    bridge_->signal(SIGTERM);
    // Before its handler is installed, SIGTERM ends the process by default (systemd counts that
    // as a clean stop too).
    const auto code = bridge_->wait(5s);
    ASSERT_TRUE(code == 0 || code == 128 + SIGTERM) << "delay " << delay_ms << " ms";
    mqtt_peer late(broker_->uri(), "late-" + std::to_string(delay_ms));
    late.subscribe("livebridge/availability");
    const auto retained = late.wait_for(
        "livebridge/availability", [](const seen_message& m) { return m.retained; }, 2s);
    ASSERT_TRUE(retained) << "delay " << delay_ms << " ms";
    EXPECT_EQ(retained->payload, "offline") << "SIGTERM " << delay_ms << " ms after start";
  }
}

TEST_F(BridgeTest, CheckConfigExitCodes) {
  start_server(simulated_model());
  dir_.write("good.yaml", config(seed_tools));
  dir_.write("bad.yaml", "live:\n  model: m\n  response_modality: VIDEO\nmqtt: {url: http://x}\n");
  process good({LIVEBRIDGE_BINARY, "--check-config", "--config", dir_.file("good.yaml")},
               dir_.file("good.log"), {{"CREDENTIALS_DIRECTORY", dir_.path()}});
  EXPECT_EQ(good.wait(patience), 0) << good.log();
  process bad({LIVEBRIDGE_BINARY, "--check-config", "--config", dir_.file("bad.yaml")}, dir_.file("bad.log"));
  EXPECT_EQ(bad.wait(patience), 78);
  EXPECT_NE(bad.log().find("bad.yaml:3:22: live.response_modality: expected TEXT or AUDIO, found \"VIDEO\""),
            std::string::npos)
      << bad.log();
  EXPECT_NE(bad.log().find("bad.yaml:4:13: mqtt.url:"), std::string::npos) << bad.log();
}

TEST_F(BridgeTest, AskCliPrintsTheReplyLikeTheNotebook) {
  z2m_bridge z2m(broker_->uri(), {"living_room"});
  start_server(simulated_model());
  start_bridge(config(seed_tools));
  process ask_cli(
      {LIVEBRIDGE_BINARY, "ask", "--config", dir_.file("livebridge.yaml"), "Turn", "on", "the", "lights"},
      dir_.file("ask.log"), {{"CREDENTIALS_DIRECTORY", dir_.path()}});
  EXPECT_EQ(ask_cli.wait(patience), 0);
  const std::string out = ask_cli.log();
  EXPECT_NE(out.find(">>> Turn on the lights\n    turn_on_the_lights({}) -> ok {\"output\":{"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("OK, I've turned on the lights.\n"), std::string::npos) << out;
  // ask speaks as the source "cli", on a topic of its own.
  EXPECT_EQ(observer_->messages_on("livebridge/prompt/cli").size(), 1u);
  EXPECT_TRUE(bridge_->wait_for_log("source=cli", patience)) << bridge_->log();

  bridge_->signal(SIGTERM);
  ASSERT_EQ(bridge_->wait(5s), 0);
  process unanswered(
      {LIVEBRIDGE_BINARY, "ask", "--timeout", "1s", "--config", dir_.file("livebridge.yaml"), "Hello?"},
      dir_.file("ask2.log"), {{"CREDENTIALS_DIRECTORY", dir_.path()}});
  EXPECT_EQ(unanswered.wait(patience), 75);
  EXPECT_NE(unanswered.log().find("no reply within 1s"), std::string::npos) << unanswered.log();
}

}  // namespace
}  // namespace lb::test
