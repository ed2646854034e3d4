// Tools from Home Assistant MQTT discovery: simulated zigbee2mqtt, ESPHome and Tasmota bridges
// announce their devices on a real mosquitto, and livebridge drives them by name, each call
// answered by the device's own report.
#include <gtest/gtest.h>

#include <csignal>
#include <iostream>

#include "bridge_fixture.hpp"
#include "discovering_devices.hpp"

namespace lb::test {
namespace {

class DiscoveryTest : public BridgeTest {
 protected:
  std::string discovery_config(const std::string& discovery = "discovery: {}\n") const {
    return config("") + discovery;
  }

  // The declarations of the latest setup, by name.
  std::map<std::string, json> declarations(std::size_t setup_index = 0) const {
    std::map<std::string, json> out;
    const auto setups = messages_of(server_->received(), "setup");
    if (setups.size() <= setup_index) return out;
    for (const auto& group : setups[setup_index].value("tools", json::array()))
      for (const auto& d : group.value("functionDeclarations", json::array())) out[d.value("name", "")] = d;
    return out;
  }

  static std::vector<std::string> names_of(const json& declaration) {
    std::vector<std::string> names;
    const json e = declaration["parameters"]["properties"]["name"].value("enum", json::array());
    for (const auto& n : e) names.push_back(n.get<std::string>());
    return names;
  }

  bool wait_for_setups(std::size_t count) const {
    return server_->wait_until(
        [&](const std::vector<json>& all) { return messages_of(all, "setup").size() >= count; }, patience);
  }

  json response_named(const std::string& name) const {
    for (const auto& r : tool_responses())
      if (r.value("name", "") == name) return r["response"];
    return json();
  }
};

TEST_F(DiscoveryTest, TheThreeBridgesBecomeAFewToolsAndEachCallIsConfirmedByItsDevice) {
  z2m_home z2m(broker_->uri(), {{"hall_bulb", "light"},
                                {"kitchen_switch", "switch"},
                                {"front_door", "lock"},
                                {"landing_blind", "moving_cover"}});
  esphome_node esp(broker_->uri(), "hall-node", "Hall");
  tasmota_legacy_dimmer tasmota(broker_->uri(), "desk", "Desk lamp");
  start_server(
      model_calling({call("set_light", {{"name", "hall_bulb"}, {"state", "on"}, {"brightness", 50}}),
                     call("set_light", {{"name", "Hall Ceiling"}, {"state", "on"}, {"brightness", 50}}),
                     call("set_light", {{"name", "Desk lamp"}, {"state", "on"}, {"brightness", 40}}),
                     call("set_switch", {{"name", "kitchen_switch Left"}, {"state", "on"}})}));
  start_bridge(discovery_config());

  const auto d = declarations();
  ASSERT_EQ(d.size(), 5u) << "set_light, set_switch, cover, lock, get_state";
  EXPECT_EQ(names_of(d.at("set_light")),
            (std::vector<std::string>{"Desk lamp", "Hall Ceiling", "hall_bulb"}));
  EXPECT_EQ(names_of(d.at("set_switch")), (std::vector<std::string>{"Hall Kettle", "kitchen_switch Left"}));
  EXPECT_EQ(names_of(d.at("lock")), (std::vector<std::string>{"front_door", "Hall Back door"}));
  // The movement-aware cover reads its state with real Jinja: left out, and the log says why.
  EXPECT_EQ(names_of(d.at("cover")), (std::vector<std::string>{"Hall Garage door"}));
  EXPECT_TRUE(bridge_->wait_for_log("landing_blind", patience));
  EXPECT_NE(bridge_->log().find("discovery.left_out"), std::string::npos);
  const auto looks = names_of(d.at("get_state"));
  EXPECT_NE(std::find(looks.begin(), looks.end(), "front_door"), looks.end());

  const json reply = ask("Lights at half, desk lamp at 40, kettle switch on");
  ASSERT_TRUE(reply.is_object()) << "no reply";
  for (const auto& r : tool_responses())
    EXPECT_EQ(r["response"]["output"].value("status", ""), "confirmed") << r.dump();
  EXPECT_EQ(tool_responses().size(), 4u);
  // Brightness in percent, scaled to each device's own range: 254 (zigbee2mqtt), 255 (ESPHome),
  // 100 (Tasmota, which takes only the Dimmer command: on_cmd_type brightness).
  ASSERT_EQ(z2m.commands("hall_bulb").size(), 1u);
  EXPECT_EQ(z2m.commands("hall_bulb")[0], (json{{"state", "ON"}, {"brightness", 127}}));
  ASSERT_EQ(esp.commands("ceiling").size(), 1u);
  EXPECT_EQ(json::parse(esp.commands("ceiling")[0]), (json{{"state", "ON"}, {"brightness", 128}}));
  EXPECT_EQ(tasmota.dimmer(), 40);
  EXPECT_EQ(tasmota.power(), "ON");
  EXPECT_EQ(commands_on("cmnd/desk/POWER"), 0u);
  EXPECT_EQ(z2m.commands("kitchen_switch").size(), 1u);
}

TEST_F(DiscoveryTest, AnEntityItsBridgeReportsOfflineIsAnsweredAtOnceAndNothingIsPublished) {
  z2m_home z2m(broker_->uri(), {{"hall_bulb", "light"}});
  esphome_node esp(broker_->uri(), "hall-node", "Hall");
  start_server(model_calling({call("set_light", {{"name", "hall_bulb"}, {"state", "on"}}),
                              call("set_switch", {{"name", "Hall Kettle"}, {"state", "on"}})}));
  start_bridge(discovery_config());
  z2m.set_available("hall_bulb", false);
  esp.set_online(false);
  ASSERT_TRUE(observer_->wait_for(
      "hall-node/status", [](const seen_message& m) { return m.payload == "offline"; }, patience));
  ASSERT_TRUE(observer_->wait_for(
      "zigbee2mqtt/hall_bulb/availability",
      [](const seen_message& m) { return m.payload.find("offline") != std::string::npos; }, patience));

  ASSERT_TRUE(ask("Lights and kettle on").is_object());
  const json light = response_named("set_light");
  const json kettle = response_named("set_switch");
  EXPECT_NE(light.value("error", "").find("unavailable"), std::string::npos) << light;
  EXPECT_NE(light.value("error", "").find("zigbee2mqtt/hall_bulb/availability"), std::string::npos) << light;
  EXPECT_NE(kettle.value("error", "").find("unavailable"), std::string::npos) << kettle;
  EXPECT_TRUE(z2m.commands("hall_bulb").empty());
  EXPECT_TRUE(esp.commands("kettle").empty());

  // Back online, the same call goes through.
  z2m.set_available("hall_bulb", true);
  ASSERT_TRUE(observer_->wait_for(
      "zigbee2mqtt/hall_bulb/availability",
      [](const seen_message& m) { return m.payload.find("online") != std::string::npos; }, patience));
  ASSERT_TRUE(ask("Lights on").is_object());
  EXPECT_EQ(z2m.commands("hall_bulb").size(), 1u);
}

TEST_F(DiscoveryTest, ADevicePairedWhileRunningBecomesAToolAndARemovedOneDisappears) {
  z2m_home z2m(broker_->uri(), {{"hall_bulb", "light"}});
  start_server(model_calling({call("set_light", {{"name", "porch_light"}, {"state", "on"}})}));
  start_bridge(discovery_config());
  ASSERT_EQ(messages_of(server_->received(), "setup").size(), 1u) << "the first session waited for discovery";
  EXPECT_EQ(names_of(declarations(0).at("set_light")), (std::vector<std::string>{"hall_bulb"}));

  z2m.pair({"porch_light", "light"});
  ASSERT_TRUE(wait_for_setups(2)) << "the new device did not reach the model";
  EXPECT_EQ(names_of(declarations(1).at("set_light")),
            (std::vector<std::string>{"hall_bulb", "porch_light"}));
  ASSERT_TRUE(bridge_->wait_for_log("live.ready", patience, 2));
  ASSERT_TRUE(ask("Porch light on").is_object());
  EXPECT_EQ(response_named("set_light")["output"].value("status", ""), "confirmed");
  EXPECT_EQ(z2m.commands("porch_light").size(), 1u);

  z2m.remove("porch_light");
  ASSERT_TRUE(wait_for_setups(3)) << "the removed device's tool stayed";
  EXPECT_EQ(names_of(declarations(2).at("set_light")), (std::vector<std::string>{"hall_bulb"}));
}

TEST_F(DiscoveryTest, UnlockingWaitsForAPersonsYesWhileLockingRunsAtOnce) {
  z2m_home z2m(broker_->uri(), {{"front_door", "lock"}});
  start_server(model_calling({call("lock", {{"name", "front_door"}, {"action", "unlock"}})}));
  start_bridge(discovery_config());
  ASSERT_TRUE(ask("Unlock the front door").is_object());
  const auto request = observer_->wait_for(
      "livebridge/confirm/request", [](const seen_message&) { return true; }, patience);
  ASSERT_TRUE(request) << "no approval request";
  const json r = json::parse(request->payload);
  EXPECT_EQ(r.value("message", ""), "Unlock front_door?");
  EXPECT_TRUE(z2m.commands("front_door").empty()) << "unlocked before anyone said yes";
  observer_->publish("livebridge/confirm/" + r.value("id", ""), "yes", 1);
  ASSERT_TRUE(observer_->wait_for(
      "livebridge/confirm/result",
      [](const seen_message& m) { return m.payload.find("confirmed") != std::string::npos; }, patience));
  ASSERT_EQ(z2m.commands("front_door").size(), 1u);
  EXPECT_EQ(z2m.commands("front_door")[0], (json{{"state", "UNLOCK"}}));
}

TEST_F(DiscoveryTest, LockingNeedsNoApproval) {
  z2m_home z2m(broker_->uri(), {{"front_door", "lock"}});
  start_server(model_calling({call("lock", {{"name", "front_door"}, {"action", "lock"}})}));
  start_bridge(discovery_config());
  ASSERT_TRUE(ask("Lock the front door").is_object());
  EXPECT_EQ(response_named("lock")["output"].value("status", ""), "confirmed") << response_named("lock");
  EXPECT_EQ(commands_on("livebridge/confirm/request"), 0u);
}

TEST_F(DiscoveryTest, AHomeOfTwoHundredEntitiesIsThreeDeclarations) {
  std::vector<z2m_home::device> devices;
  for (int i = 0; i < 150; ++i) devices.push_back({"bulb_" + std::to_string(i), "light"});
  for (int i = 0; i < 50; ++i) devices.push_back({"plug_" + std::to_string(i), "switch"});
  z2m_home z2m(broker_->uri(), devices);
  // As after zigbee2mqtt has started: every config is on the broker, retained.
  ASSERT_TRUE(observer_->wait_for(
      z2m_home::config_topic(devices.back()), [](const seen_message&) { return true; }, 60s));
  start_server(model_calling({call("set_light", {{"name", "bulb_149"}, {"state", "off"}})}));
  const auto started = std::chrono::steady_clock::now();
  start_bridge(discovery_config());
  // For the record, not a limit: from exec to the first session's setupComplete with 200 entities.
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
          .count();
  RecordProperty("startup_ms", std::to_string(ms));
  std::cout << "start-up with 200 discovered entities: " << ms << " ms\n";
  const auto d = declarations();
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(names_of(d.at("set_light")).size(), 150u);
  EXPECT_EQ(names_of(d.at("set_switch")).size(), 50u);
  EXPECT_EQ(names_of(d.at("get_state")).size(), 200u);
  ASSERT_TRUE(ask("Bulb 149 off").is_object());
  EXPECT_EQ(response_named("set_light")["output"].value("status", ""), "confirmed");
}

TEST_F(DiscoveryTest, AToolOfTheFileWithADiscoveryNameIsAConfigError) {
  start_server(model_calling({}));
  start_bridge(discovery_config() + "tools:\n  - name: set_light\n    publish: {topic: a/b, payload: x}\n",
               false);
  const auto code = bridge_->wait(patience);
  ASSERT_TRUE(code);
  EXPECT_NE(*code, 0);
  EXPECT_NE(bridge_->log().find("tools[0].name"), std::string::npos) << bridge_->log();
}

TEST_F(DiscoveryTest, AReloadKeepsTheDiscoveredToolsAndAppliesItsFilters) {
  z2m_home z2m(broker_->uri(), {{"hall_bulb", "light"}, {"porch_light", "light"}});
  start_server(model_calling({call("set_light", {{"name", "hall_bulb"}, {"state", "on"}})}));
  start_bridge(discovery_config());
  EXPECT_EQ(names_of(declarations(0).at("set_light")),
            (std::vector<std::string>{"hall_bulb", "porch_light"}));

  dir_.write("livebridge.yaml", discovery_config("discovery:\n  exclude: [porch*]\n"));
  bridge_->signal(SIGHUP);
  ASSERT_TRUE(bridge_->wait_for_log("config.reloaded", patience));
  ASSERT_TRUE(wait_for_setups(2));
  EXPECT_EQ(names_of(declarations(1).at("set_light")), (std::vector<std::string>{"hall_bulb"}));
  ASSERT_TRUE(bridge_->wait_for_log("live.ready", patience, 2));
  ASSERT_TRUE(ask("Hall light on").is_object());
  EXPECT_EQ(response_named("set_light")["output"].value("status", ""), "confirmed")
      << response_named("set_light");

  // Without the section, the file's own tools only.
  dir_.write("livebridge.yaml", config(seed_tools));
  bridge_->signal(SIGHUP);
  ASSERT_TRUE(bridge_->wait_for_log("config.reloaded", patience, 2));
  ASSERT_TRUE(wait_for_setups(3));
  const auto d = declarations(2);
  EXPECT_EQ(d.count("set_light"), 0u);
  EXPECT_EQ(d.count("turn_on_the_lights"), 1u);
}

}  // namespace
}  // namespace lb::test
