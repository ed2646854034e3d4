// livebridge as a device in Home Assistant, against a real mosquitto: what Home Assistant would
// read back (the retained device config, checked against what its discovery requires, and the
// states its entities point at), what it does (its birth message, typing on the Prompt entity),
// and what turning the option off leaves behind (nothing).
#include <csignal>

#include "bridge_fixture.hpp"
#include "ha_discovery.hpp"

namespace lb::test {
namespace {

// The fixture's client id is lb-it.
constexpr const char* device_topic = "homeassistant/device/lb-it/config";
constexpr const char* status_topic = "livebridge/status";
const std::string discovery_on = "home_assistant: {discovery: true, device_name: Kitchen livebridge}\n";

class HomeAssistantTest : public BridgeTest {
 protected:
  // The retained message on `topic`, as a client subscribing now gets it (Home Assistant after a
  // restart, or mosquitto_sub --retained-only), or nullopt when there is none.
  std::optional<seen_message> retained(const std::string& topic) {
    // One reader for the whole test: MQTT sends the retained messages again at every SUBSCRIBE.
    if (!reader_) reader_ = std::make_unique<mqtt_peer>(broker_->uri(), "retained-reader");
    reader_->clear();
    reader_->subscribe(topic);
    // mosquitto sends a subscription's retained messages before it answers the next SUBSCRIBE:
    // once the retained `online` of the second one is in, the first one's would be too.
    reader_->subscribe("livebridge/availability");
    const bool fenced =
        reader_
            ->wait_for(
                "livebridge/availability", [](const seen_message& m) { return m.retained; }, patience)
            .has_value();
    EXPECT_TRUE(fenced) << "no retained availability";
    for (const auto& m : reader_->messages_on(topic))
      if (m.retained) return m;
    return std::nullopt;
  }

  json announced_device() {
    const auto m = retained(device_topic);
    if (!m) {
      ADD_FAILURE() << "no retained device config on " << device_topic;
      return json();
    }
    return json::parse(m->payload, nullptr, false);
  }

  std::unique_ptr<mqtt_peer> reader_;
};

TEST_F(HomeAssistantTest, AnnouncesADeviceHomeAssistantAcceptsWithEntitiesThatHaveTheirStates) {
  start_server(simulated_model());
  start_bridge(config(seed_tools) + discovery_on);
  const json device = announced_device();
  ASSERT_TRUE(device.is_object());
  EXPECT_EQ(ha_device_config_problems(device), std::vector<std::string>{}) << device.dump(2);
  EXPECT_EQ(device["dev"]["name"], "Kitchen livebridge");
  EXPECT_EQ(device["o"]["name"], "livebridge");
  EXPECT_EQ(device["dev"]["sw"], LIVEBRIDGE_VERSION);
  const auto m = retained(device_topic);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->payload.find("test-key"), std::string::npos) << "the API key is in the announcement";

  // What each entity will show once Home Assistant subscribes to its topics.
  const json& cmps = device["cmps"];
  const json& connection = cmps["connection"];
  const auto availability = retained(connection["state_topic"].get<std::string>());
  ASSERT_TRUE(availability);
  EXPECT_EQ(availability->payload, connection["payload_on"]) << "Connection: connected";
  ASSERT_TRUE(observer_->wait_for(
      cmps["status"]["state_topic"].get<std::string>(),
      [](const seen_message& s) {
        const json j = json::parse(s.payload, nullptr, false);
        return j.is_object() && j.value("ready", false);
      },
      patience))
      << "no status saying the Live session is ready";
  const auto status = retained(cmps["status"]["state_topic"].get<std::string>());
  ASSERT_TRUE(status);
  const json st = json::parse(status->payload);
  EXPECT_EQ(st["live"], "connected");
  EXPECT_EQ(st["tools"], 2);
  EXPECT_EQ(st["model"], "models/gemini-live-2.5-flash-preview");
  const auto pending = retained(cmps["pending_confirmations"]["state_topic"].get<std::string>());
  ASSERT_TRUE(pending);
  EXPECT_EQ(json::parse(pending->payload), json::array()) << "Pending confirmations: 0";
}

TEST_F(HomeAssistantTest, HomeAssistantsBirthBringsTheAnnouncementAgain) {
  start_server(simulated_model());
  start_bridge(config(seed_tools) + discovery_on);
  const auto first = observer_->wait_count(device_topic, 1, patience);
  ASSERT_EQ(first.size(), 1u);

  // Home Assistant stopping (its last will) and starting again (its birth), neither retained.
  mqtt_peer home_assistant(broker_->uri(), "home-assistant");
  home_assistant.publish("homeassistant/status", "offline", 1);
  home_assistant.publish("homeassistant/status", "online", 1);
  const auto again = observer_->wait_count(device_topic, 2, patience);
  ASSERT_EQ(again.size(), 2u) << "no announcement after Home Assistant's birth";
  EXPECT_EQ(json::parse(again[1].payload), json::parse(first[0].payload));
  // Everything livebridge did about those two messages went out before this reply.
  EXPECT_EQ(ask("Hello?")["text"], "Hello! How can I help you today?");
  EXPECT_EQ(observer_->messages_on(device_topic).size(), 2u) << "`offline` must not announce";
}

TEST_F(HomeAssistantTest, ThePromptEntityAsksAsItsOwnSourceAndTheToolCallsEntityFires) {
  z2m_bridge z2m(broker_->uri(), {"living_room"});
  start_server(simulated_model());
  // Only Home Assistant may turn the lights on.
  const std::string tools = R"(  - name: turn_on_the_lights
    publish: {topic: zigbee2mqtt/living_room/set, payload: {state: "ON"}}
    ack: {topic: zigbee2mqtt/living_room, match: {state: "ON"}, timeout: 3s}
    sources: [homeassistant]
)";
  start_bridge(config(tools) + discovery_on);
  const json device = announced_device();
  ASSERT_TRUE(device.is_object());
  const json& prompt = device["cmps"]["prompt"];
  ASSERT_EQ(prompt["p"], "text");

  // What Home Assistant sends when a person types into the entity: the text as it is, at the
  // device's QoS, not retained.
  observer_->clear();
  mqtt_peer home_assistant(broker_->uri(), "home-assistant");
  home_assistant.publish(prompt["command_topic"].get<std::string>(), "Turn on the lights",
                         device.value("qos", 0), false);
  const auto reply = observer_->wait_for(
      "livebridge/reply", [](const seen_message&) { return true; }, patience);
  ASSERT_TRUE(reply) << "no reply to the typed prompt";
  const json r = json::parse(reply->payload);
  EXPECT_EQ(r["text"], "OK, I've turned on the lights.");
  ASSERT_EQ(r["tool_calls"].size(), 1u);
  EXPECT_EQ(r["tool_calls"][0]["ok"], true);
  EXPECT_EQ(z2m.state("living_room")["state"], "ON");
  EXPECT_TRUE(bridge_->wait_for_log("prompt.received id=null source=homeassistant", patience));

  // The Tool calls entity: events on its state topic whose event_type it lists.
  const json& calls = device["cmps"]["tool_calls"];
  const json types = calls["event_types"];
  std::vector<std::string> fired;
  for (const auto& m : observer_->messages_on(calls["state_topic"].get<std::string>())) {
    const json e = json::parse(m.payload);
    if (e.value("event", "") != "tool_call" && e.value("event", "") != "tool_result") continue;
    EXPECT_EQ(e["event_type"], e["event"]);
    EXPECT_NE(std::find(types.begin(), types.end(), e["event_type"]), types.end()) << m.payload;
    EXPECT_EQ(e["name"], "turn_on_the_lights");
    EXPECT_EQ(e["args"], json::object()) << m.payload;
    fired.push_back(e["event_type"].get<std::string>());
  }
  // An ordinary call is one event, its result with its arguments; tool_call announces only calls
  // that wait for a person or run in the background.
  EXPECT_EQ(fired, (std::vector<std::string>{"tool_result"}));

  // The same words from another source: the trust rules per source still hold.
  const json refused = ask("Turn on the lights");
  ASSERT_EQ(refused["tool_calls"].size(), 1u);
  EXPECT_EQ(refused["tool_calls"][0]["ok"], false);
  EXPECT_NE(refused["tool_calls"][0]["response"].dump().find("sourceNotAllowed"), std::string::npos)
      << refused.dump();
  EXPECT_EQ(z2m.commands_received("living_room"), 1);
}

TEST_F(HomeAssistantTest, RestartingWithoutTheOptionRemovesTheDevice) {
  start_server(simulated_model());
  start_bridge(config(seed_tools) + discovery_on);
  ASSERT_TRUE(retained(device_topic));
  ASSERT_TRUE(observer_->wait_for(
      status_topic, [](const seen_message&) { return true; }, patience));
  bridge_->signal(SIGTERM);
  ASSERT_EQ(bridge_->wait(5s), 0);

  observer_->clear();
  start_bridge(config(seed_tools));
  ASSERT_TRUE(observer_->wait_for(
      device_topic, [](const seen_message& m) { return m.payload.empty(); }, patience))
      << "the device config was not cleared";
  EXPECT_FALSE(retained(device_topic)) << "Home Assistant would still find the device";
  EXPECT_FALSE(retained(status_topic));
}

TEST_F(HomeAssistantTest, AReloadWithoutTheOptionRemovesTheDeviceAtOnce) {
  start_server(simulated_model());
  start_bridge(config(seed_tools) + discovery_on);
  ASSERT_TRUE(retained(device_topic));
  dir_.write("livebridge.yaml", config(seed_tools));
  bridge_->signal(SIGHUP);
  ASSERT_TRUE(observer_->wait_for(
      device_topic, [](const seen_message& m) { return m.payload.empty(); }, patience))
      << "the device config was not cleared";
  EXPECT_FALSE(retained(device_topic));
  // And turned on again, it comes back without a restart.
  observer_->clear();
  dir_.write("livebridge.yaml", config(seed_tools) + discovery_on);
  bridge_->signal(SIGHUP);
  ASSERT_TRUE(observer_->wait_for(
      device_topic, [](const seen_message& m) { return !m.payload.empty(); }, patience));
  const json device = announced_device();
  EXPECT_EQ(ha_device_config_problems(device), std::vector<std::string>{});
}

}  // namespace
}  // namespace lb::test
