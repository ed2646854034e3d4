// livebridge as a Home Assistant device: the home_assistant section of the config, and the
// announcement built from it (ha/announce.hpp), checked against what Home Assistant requires of
// a device-based discovery message.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "config/loader.hpp"
#include "ha/announce.hpp"
#include "ha_discovery.hpp"

namespace lb::ha {
namespace {

using nlohmann::json;

const char* const minimal = "live:\n  model: models/gemini-live-2.5-flash-preview\n";

config::config load(const std::string& extra) {
  const auto r = config::load_text(std::string(minimal) + extra, "test.yaml");
  if (!r.cfg) ADD_FAILURE() << (r.errors.empty() ? "no config" : r.errors[0].to_string());
  return r.cfg ? *r.cfg : config::config{};
}

std::string only_error(const std::string& extra) {
  const auto r = config::load_text(std::string(minimal) + extra, "test.yaml");
  EXPECT_FALSE(r.cfg.has_value());
  EXPECT_EQ(r.errors.size(), 1u);
  return r.errors.empty() ? "" : r.errors[0].to_string();
}

const char* const on = "home_assistant: {discovery: true}\n";

// --- the config section --------------------------------------------------------------------------

TEST(HomeAssistantConfig, OffByDefaultWithHomeAssistantsOwnPrefix) {
  const auto cfg = load("");
  EXPECT_FALSE(cfg.home_assistant.discovery);
  EXPECT_EQ(cfg.home_assistant.prefix, "homeassistant");
  EXPECT_EQ(birth_topic(cfg.home_assistant), "homeassistant/status");
  EXPECT_EQ(cfg.home_assistant.prompt_source, "homeassistant");
  EXPECT_FALSE(cfg.home_assistant.device_name);
}

TEST(HomeAssistantConfig, EveryKeyIsRead) {
  const auto cfg = load(
      "home_assistant:\n  discovery: true\n  prefix: ha/discovery\n  status_topic: ha/birth\n"
      "  device_name: Kitchen assistant\n  prompt_source: ha-kitchen\n");
  EXPECT_TRUE(cfg.home_assistant.discovery);
  EXPECT_EQ(cfg.home_assistant.prefix, "ha/discovery");
  EXPECT_EQ(birth_topic(cfg.home_assistant), "ha/birth");
  EXPECT_EQ(cfg.home_assistant.device_name, "Kitchen assistant");
  EXPECT_EQ(cfg.home_assistant.prompt_source, "ha-kitchen");
}

TEST(HomeAssistantConfig, MistakesAreNamedWithTheirPosition) {
  EXPECT_EQ(only_error("home_assistant: {discovery: true, discover_prefix: ha}\n"),
            "test.yaml:3:35: home_assistant.discover_prefix: unknown key (known keys here: device_name, "
            "discovery, prefix, prompt_source, status_topic)");
  EXPECT_EQ(only_error("home_assistant: {discovery: yes please}\n"),
            "test.yaml:3:29: home_assistant.discovery: expected true or false, found \"yes please\"");
  EXPECT_EQ(only_error("home_assistant: {prefix: homeassistant/}\n"),
            "test.yaml:3:26: home_assistant.prefix: must be non-empty, without wildcards or a trailing '/' "
            "(Home Assistant's discovery prefix)");
  EXPECT_EQ(only_error("home_assistant: {status_topic: \"homeassistant/#\"}\n"),
            "test.yaml:3:32: home_assistant.status_topic: must be one topic, without wildcards (where Home "
            "Assistant publishes online and offline)");
  EXPECT_EQ(only_error("home_assistant: {device_name: \"\"}\n"),
            "test.yaml:3:31: home_assistant.device_name: is empty; leave it out to use mqtt.client_id");
  EXPECT_EQ(
      only_error("home_assistant: {prompt_source: home assistant}\n"),
      "test.yaml:3:33: home_assistant.prompt_source: a prompt source is 1 to 64 letters, digits, '_' or "
      "'-', found \"home assistant\"");
  // The bridge refuses prompts on <prefix>/prompt/voice and /default: the entity would never work.
  EXPECT_EQ(only_error("home_assistant: {prompt_source: voice}\n"),
            "test.yaml:3:33: home_assistant.prompt_source: \"voice\" is the microphone's source; give Home "
            "Assistant a name of its own");
  EXPECT_EQ(only_error("home_assistant: true\n"),
            "test.yaml:3:17: home_assistant: expected a mapping, found \"true\"");
}

// --- the announcement ----------------------------------------------------------------------------

TEST(HomeAssistantAnnouncement, IsADeviceConfigHomeAssistantAccepts) {
  const auto cfg = load(on);
  EXPECT_EQ(device_config_topic(cfg), "homeassistant/device/livebridge/config");
  const json c = device_config(cfg, "1.2.3");
  EXPECT_EQ(test::ha_device_config_problems(c), std::vector<std::string>{}) << c.dump(2);
  EXPECT_EQ(c["dev"]["name"], "livebridge");  // mqtt.client_id
  EXPECT_EQ(c["dev"]["sw"], "1.2.3");
  EXPECT_EQ(c["o"], json({{"name", "livebridge"}, {"sw", "1.2.3"}}));
  std::set<std::string> platforms;
  for (const auto& [id, comp] : c["cmps"].items()) platforms.insert(comp["p"].get<std::string>());
  EXPECT_EQ(platforms, (std::set<std::string>{"binary_sensor", "sensor", "text", "event"}));
}

TEST(HomeAssistantAnnouncement, EntitiesReadTheTopicsLivebridgePublishesAnyway) {
  const json cmps = device_config(load(on), "1").at("cmps");
  const json& connection = cmps.at("connection");
  EXPECT_EQ(connection["device_class"], "connectivity");
  EXPECT_EQ(connection["state_topic"], "livebridge/availability");
  EXPECT_EQ(connection["payload_on"], "online");
  EXPECT_EQ(connection["payload_off"], "offline");
  EXPECT_FALSE(connection.contains("availability_topic")) << "it says disconnected, not unavailable";
  EXPECT_EQ(cmps.at("status")["state_topic"], "livebridge/status");
  EXPECT_EQ(cmps.at("last_reply")["state_topic"], "livebridge/reply");
  EXPECT_EQ(cmps.at("last_reply")["json_attributes_topic"], "livebridge/reply") << "the whole text";
  EXPECT_EQ(cmps.at("prompt")["p"], "text");
  EXPECT_EQ(cmps.at("prompt")["command_topic"], "livebridge/prompt/homeassistant");
  EXPECT_EQ(cmps.at("tool_calls")["state_topic"], "livebridge/event");
  EXPECT_EQ(cmps.at("tool_calls")["event_types"], json({"tool_call", "tool_result"}));
  EXPECT_EQ(cmps.at("pending_confirmations")["state_topic"], "livebridge/confirm/pending");
  for (const char* id : {"status", "last_reply", "prompt", "tool_calls", "pending_confirmations"})
    EXPECT_EQ(cmps.at(id)["availability_topic"], "livebridge/availability") << id;
}

TEST(HomeAssistantAnnouncement, FollowsTheConfiguredNamesAndPrefixes) {
  const auto cfg = load(
      "mqtt: {client_id: garden.lb:1, topic_prefix: livebridge/garden, events: false}\n"
      "home_assistant: {discovery: true, prefix: ha, device_name: Garden, prompt_source: garden-ha}\n");
  // A discovery topic takes only A-Z a-z 0-9 _ -.
  EXPECT_EQ(device_config_topic(cfg), "ha/device/garden_lb_1/config");
  EXPECT_TRUE(test::ha_valid_discovery_id(object_id(cfg.mqtt)));
  const json c = device_config(cfg, "1");
  EXPECT_EQ(c["dev"]["name"], "Garden");
  EXPECT_EQ(c["dev"]["ids"], json({"livebridge_garden_lb_1"}));
  EXPECT_EQ(c["cmps"]["connection"]["state_topic"], "livebridge/garden/availability");
  EXPECT_EQ(c["cmps"]["prompt"]["command_topic"], "livebridge/garden/prompt/garden-ha");
  EXPECT_EQ(c["cmps"]["status"]["state_topic"], "livebridge/garden/status");
  // With mqtt.events off nothing would ever fire: no event entity.
  EXPECT_FALSE(c["cmps"].contains("tool_calls"));
  EXPECT_EQ(test::ha_device_config_problems(c), std::vector<std::string>{});
}

TEST(HomeAssistantAnnouncement, NamesNoCredential) {
  const auto cfg = load(
      "  api_key_file: /etc/livebridge/gemini-api-key\n"
      "mqtt: {username: lb-user, password_file: /etc/livebridge/mqtt-password}\n"
      "trust: {pin_file: /etc/livebridge/pin}\n" +
      std::string(on));
  const std::string text = announcement(cfg, "1").at(0).payload;
  for (const char* s : {"lb-user", "gemini-api-key", "mqtt-password", "/etc/livebridge/pin"})
    EXPECT_EQ(text.find(s), std::string::npos) << s;
}

TEST(HomeAssistantAnnouncement, OnIsTheRetainedConfigOffClearsIt) {
  const auto with = announcement(load(on), "1");
  ASSERT_EQ(with.size(), 1u);
  EXPECT_EQ(with[0].topic, "homeassistant/device/livebridge/config");
  EXPECT_TRUE(with[0].retain);
  EXPECT_EQ(with[0].qos, 1);
  EXPECT_EQ(json::parse(with[0].payload), device_config(load(on), "1"));

  const auto without = announcement(load(""), "1");
  ASSERT_EQ(without.size(), 2u);
  EXPECT_EQ(without[0].topic, "homeassistant/device/livebridge/config");
  EXPECT_EQ(without[1].topic, "livebridge/status");
  for (const auto& m : without) {
    EXPECT_EQ(m.payload, "") << m.topic;
    EXPECT_TRUE(m.retain) << m.topic;
    // A broker's access list written before the option existed drops these without a refusal.
    EXPECT_EQ(m.qos, 0) << m.topic;
  }
}

TEST(HomeAssistantAnnouncement, AReloadSendsOnlyWhatChanged) {
  const auto topics = [](const std::vector<outgoing_message>& ms) {
    std::vector<std::pair<std::string, bool>> out;  // topic, cleared
    for (const auto& m : ms) out.emplace_back(m.topic, m.payload.empty());
    return out;
  };
  using list = std::vector<std::pair<std::string, bool>>;
  const auto off = load("");
  const auto with = load(on);
  EXPECT_TRUE(reannouncement(with, with, "1").empty());
  EXPECT_TRUE(reannouncement(off, off, "1").empty());
  EXPECT_EQ(topics(reannouncement(off, with, "1")),
            (list{{"homeassistant/device/livebridge/config", false}}));
  EXPECT_EQ(topics(reannouncement(with, off, "1")),
            (list{{"homeassistant/device/livebridge/config", true}, {"livebridge/status", true}}));
  EXPECT_EQ(topics(reannouncement(with, load("home_assistant: {discovery: true, device_name: Hall}\n"), "1")),
            (list{{"homeassistant/device/livebridge/config", false}}));
  // A new prefix: the old device goes, the new one comes.
  EXPECT_EQ(topics(reannouncement(with, load("home_assistant: {discovery: true, prefix: ha}\n"), "1")),
            (list{{"homeassistant/device/livebridge/config", true}, {"ha/device/livebridge/config", false}}));
}

TEST(HomeAssistantAnnouncement, OnlyALiveBirthAsksForItAgain) {
  const auto cfg = load(on);
  const auto msg = [](std::string topic, std::string payload, bool retained) {
    incoming_message m;
    m.topic = std::move(topic);
    m.payload = std::move(payload);
    m.retained = retained;
    return m;
  };
  EXPECT_TRUE(asks_for_announcement(cfg, msg("homeassistant/status", "online", false)));
  EXPECT_FALSE(asks_for_announcement(cfg, msg("homeassistant/status", "offline", false)));
  EXPECT_FALSE(asks_for_announcement(cfg, msg("homeassistant/status", "online", true)))
      << "a retained copy comes with the subscription, right after the connection's own announcement";
  EXPECT_FALSE(asks_for_announcement(cfg, msg("zigbee2mqtt/bridge/state", "online", false)));
  EXPECT_FALSE(asks_for_announcement(load(""), msg("homeassistant/status", "online", false)));
  const auto own = load("home_assistant: {discovery: true, status_topic: hass/status}\n");
  EXPECT_TRUE(asks_for_announcement(own, msg("hass/status", "online", false)));
  EXPECT_FALSE(asks_for_announcement(own, msg("homeassistant/status", "online", false)));
}

TEST(HomeAssistantAnnouncement, StatusIsRetainedJson) {
  const auto m = status_message(load(on).mqtt, status_facts{"connected", true, 2, "models/x"});
  EXPECT_EQ(m.topic, "livebridge/status");
  EXPECT_TRUE(m.retain);
  EXPECT_EQ(m.qos, 1);
  EXPECT_EQ(json::parse(m.payload),
            json({{"live", "connected"}, {"ready", true}, {"tools", 2}, {"model", "models/x"}}));
}

}  // namespace
}  // namespace lb::ha
