#include "discovering_devices.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>

namespace lb::test {
using nlohmann::json;

namespace {

std::string ieee_of(const std::string& name) {
  char buf[19];
  std::snprintf(buf, sizeof buf, "0x%016llx",
                static_cast<unsigned long long>(std::hash<std::string>{}(name)&0x00ffffffffffffffULL));
  return buf;
}

json z2m_device(const std::string& name) {
  return json{{"identifiers", json::array({"zigbee2mqtt_" + ieee_of(name)})},
              {"name", name},
              {"manufacturer", "IKEA"},
              {"model", "TRADFRI bulb E27 WW 806 lumen"},
              {"via_device", "zigbee2mqtt_bridge_0x00124b0012345678"}};
}

const json z2m_origin{{"name", "Zigbee2MQTT"}, {"sw", "2.1.3"}, {"url", "https://www.zigbee2mqtt.io"}};

}  // namespace

std::string z2m_home::config_topic(const device& d) {
  const std::string ieee = ieee_of(d.name);
  if (d.kind == "light") return "homeassistant/light/" + ieee + "/light/config";
  if (d.kind == "switch") return "homeassistant/switch/" + ieee + "/switch_left/config";
  if (d.kind == "lock") return "homeassistant/lock/" + ieee + "/lock/config";
  return "homeassistant/cover/" + ieee + "/cover/config";
}

z2m_home::z2m_home(const std::string& broker_uri, std::vector<device> devices)
    : peer_(broker_uri, "sim-z2m-home", [this](mqtt_peer& p, const seen_message& m) { on_set(p, m); }) {
  peer_.subscribe("zigbee2mqtt/+/set", 0);
  peer_.subscribe("zigbee2mqtt/+/+/set", 0);
  peer_.publish("zigbee2mqtt/bridge/state", R"({"state":"online"})", 1, true);
  for (const auto& d : devices) pair(d);
}

void z2m_home::pair(const device& d) {
  json state;
  if (d.kind == "light") state = {{"state", "OFF"}, {"brightness", 254}, {"linkquality", 120}};
  if (d.kind == "switch") state = {{"state_left", "OFF"}, {"state_right", "OFF"}, {"linkquality", 98}};
  if (d.kind == "lock") state = {{"state", "LOCK"}, {"lock_state", "locked"}, {"linkquality", 90}};
  if (d.kind == "cover" || d.kind == "moving_cover")
    state = {{"state", "CLOSE"}, {"position", 0}, {"linkquality", 90}};
  {
    std::lock_guard lock(mutex_);
    devices_[d.name] = d;
    state_[d.name] = state;
  }
  peer_.publish("zigbee2mqtt/" + d.name + "/availability", R"({"state":"online"})", 0, true);
  peer_.publish("zigbee2mqtt/" + d.name, state.dump(), 0, true);
  announce(d);
}

void z2m_home::announce(const device& d) {
  const std::string base = "zigbee2mqtt/" + d.name;
  const std::string ieee = ieee_of(d.name);
  json c{
      {"availability",
       json::array({json{{"topic", "zigbee2mqtt/bridge/state"}, {"value_template", "{{ value_json.state }}"}},
                    json{{"topic", base + "/availability"}, {"value_template", "{{ value_json.state }}"}}})},
      {"availability_mode", "all"},
      {"device", z2m_device(d.name)},
      {"origin", z2m_origin},
      {"state_topic", base}};
  if (d.kind == "light") {
    c.update({{"schema", "json"},
              {"brightness", true},
              {"brightness_scale", 254},
              {"supported_color_modes", json::array({"brightness"})},
              {"command_topic", base + "/set"},
              {"name", nullptr},
              {"object_id", d.name},
              {"unique_id", ieee + "_light_zigbee2mqtt"}});
  } else if (d.kind == "switch") {
    c.update({{"command_topic", base + "/left/set"},
              {"payload_on", "ON"},
              {"payload_off", "OFF"},
              {"value_template", "{{ value_json[\"state_left\"] }}"},
              {"name", "Left"},
              {"object_id", d.name + "_left"},
              {"unique_id", ieee + "_switch_left_zigbee2mqtt"}});
  } else if (d.kind == "lock") {
    c.update({{"command_topic", base + "/set"},
              {"value_template", "{{ value_json.state }}"},
              {"payload_lock", "LOCK"},
              {"payload_unlock", "UNLOCK"},
              {"state_locked", "LOCK"},
              {"state_unlocked", "UNLOCK"},
              {"name", nullptr},
              {"object_id", d.name},
              {"unique_id", ieee + "_lock_zigbee2mqtt"}});
  } else {
    c.update({{"command_topic", base + "/set"},
              {"payload_open", "OPEN"},
              {"payload_close", "CLOSE"},
              {"payload_stop", "STOP"},
              {"state_open", "OPEN"},
              {"state_closed", "CLOSE"},
              {"state_stopped", "STOP"},
              {"position_topic", base},
              {"position_template", "{{ value_json.position }}"},
              {"set_position_topic", base + "/set"},
              {"set_position_template", "{ \"position\": {{ position }} }"},
              {"name", nullptr},
              {"object_id", d.name},
              {"unique_id", ieee + "_cover_zigbee2mqtt"}});
    c["value_template"] =
        d.kind == "moving_cover"
            ? "{% if \"moving\" in value_json and value_json.moving %} "
              "{{ value_json.moving | lower }}ing {% else %} {{ value_json.state | lower }} "
              "{% endif %}"
            : "{{ value_json.state }}";
  }
  peer_.publish(config_topic(d), c.dump(), 1, true);
}

void z2m_home::remove(const std::string& name) {
  device d;
  {
    std::lock_guard lock(mutex_);
    auto it = devices_.find(name);
    if (it == devices_.end()) return;
    d = it->second;
    devices_.erase(it);
  }
  peer_.publish(config_topic(d), "", 1, true);
}

void z2m_home::set_available(const std::string& name, bool online) {
  peer_.publish("zigbee2mqtt/" + name + "/availability",
                json{{"state", online ? "online" : "offline"}}.dump(), 1, true);
}

std::vector<json> z2m_home::commands(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = commands_.find(name);
  return it == commands_.end() ? std::vector<json>() : it->second;
}

void z2m_home::on_set(mqtt_peer& peer, const seen_message& m) {
  // zigbee2mqtt/<name>/set or zigbee2mqtt/<name>/<endpoint>/set
  std::string rest = m.topic.substr(std::string("zigbee2mqtt/").size());
  rest = rest.substr(0, rest.size() - std::string("/set").size());
  std::string endpoint;
  if (const auto slash = rest.find('/'); slash != std::string::npos) {
    endpoint = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  const std::string name = rest;
  json cmd = json::parse(m.payload, nullptr, false);
  if (cmd.is_discarded()) cmd = json{{"state", m.payload}};  // a plain "ON" sets the state
  json current;
  {
    std::lock_guard lock(mutex_);
    commands_[name].push_back(cmd);
    auto d = devices_.find(name);
    if (d == devices_.end()) return;
    json& s = state_[name];
    const std::string wanted = cmd.is_object() && cmd.contains("state") && cmd["state"].is_string()
                                   ? cmd["state"].get<std::string>()
                                   : std::string();
    const std::string& kind = d->second.kind;
    if (kind == "light") {
      if (wanted == "ON" || wanted == "OFF") s["state"] = wanted;
      if (cmd.contains("brightness") && cmd["brightness"].is_number())
        s["brightness"] = std::clamp(cmd["brightness"].get<int>(), 0, 254);
    } else if (kind == "switch" && endpoint == "left" && (wanted == "ON" || wanted == "OFF")) {
      s["state_left"] = wanted;
    } else if (kind == "lock" && (wanted == "LOCK" || wanted == "UNLOCK")) {
      s["state"] = wanted;
      s["lock_state"] = wanted == "LOCK" ? "locked" : "unlocked";
    } else if ((kind == "cover" || kind == "moving_cover") && (wanted == "OPEN" || wanted == "CLOSE")) {
      s["state"] = wanted;
      s["position"] = wanted == "OPEN" ? 100 : 0;
    } else {
      return;  // zigbee2mqtt logs an unsupported value and reports nothing
    }
    current = s;
  }
  peer.publish("zigbee2mqtt/" + name, current.dump(), 0, true);
}

esphome_node::esphome_node(const std::string& broker_uri, std::string node, std::string friendly_name)
    : node_(std::move(node)),
      peer_(broker_uri, "sim-esphome-" + node_,
            [this](mqtt_peer& p, const seen_message& m) { on_command(p, m); }) {
  peer_.subscribe(node_ + "/+/+/command", 0);
  peer_.publish(node_ + "/status", "online", 1, true);
  const json dev{{"ids", "a4cf12b3c4d5"},
                 {"name", friendly_name},
                 {"sw", "esphome v2024.12.2 Dec 10 2024"},
                 {"mdl", "esp32dev"},
                 {"mf", "espressif"}};
  const auto topics = [&](const std::string& type, const std::string& id) {
    return json{{"stat_t", node_ + "/" + type + "/" + id + "/state"},
                {"cmd_t", node_ + "/" + type + "/" + id + "/command"},
                {"avty_t", node_ + "/status"},
                {"uniq_id", "a4cf12b3c4d5" + type + id},
                {"dev", dev}};
  };
  json light = topics("light", "ceiling");
  light.update({{"name", "Ceiling"},
                {"schema", "json"},
                {"brightness", true},
                {"sup_clrm", json::array({"brightness"})}});
  json kettle = topics("switch", "kettle");
  kettle.update({{"name", "Kettle"}});
  json lock = topics("lock", "back_door");
  lock.update({{"name", "Back door"}, {"pl_lock", "LOCK"}, {"pl_unlk", "UNLOCK"}, {"pl_open", "OPEN"}});
  json garage = topics("cover", "garage_door");
  garage.update({{"name", "Garage door"}, {"dev_cla", "garage"}});
  peer_.publish("homeassistant/light/" + node_ + "/ceiling/config", light.dump(), 1, true);
  peer_.publish("homeassistant/switch/" + node_ + "/kettle/config", kettle.dump(), 1, true);
  peer_.publish("homeassistant/lock/" + node_ + "/back_door/config", lock.dump(), 1, true);
  peer_.publish("homeassistant/cover/" + node_ + "/garage_door/config", garage.dump(), 1, true);
  peer_.publish(node_ + "/light/ceiling/state", light_.dump(), 0, true);
  peer_.publish(node_ + "/switch/kettle/state", "OFF", 0, true);
  peer_.publish(node_ + "/lock/back_door/state", "LOCKED", 0, true);
  peer_.publish(node_ + "/cover/garage_door/state", "closed", 0, true);
}

void esphome_node::set_online(bool online) {
  peer_.publish(node_ + "/status", online ? "online" : "offline", 1, true);
}

std::vector<std::string> esphome_node::commands(const std::string& object_id) const {
  std::lock_guard lock(mutex_);
  auto it = commands_.find(object_id);
  return it == commands_.end() ? std::vector<std::string>() : it->second;
}

json esphome_node::light_state() const {
  std::lock_guard lock(mutex_);
  return light_;
}

void esphome_node::on_command(mqtt_peer& peer, const seen_message& m) {
  // <node>/<type>/<object_id>/command
  const std::string rest = m.topic.substr(node_.size() + 1);
  const std::string type = rest.substr(0, rest.find('/'));
  std::string id = rest.substr(type.size() + 1);
  id = id.substr(0, id.find('/'));
  const std::string state_topic = node_ + "/" + type + "/" + id + "/state";
  {
    std::lock_guard lock(mutex_);
    commands_[id].push_back(m.payload);
  }
  if (type == "light") {
    const json cmd = json::parse(m.payload, nullptr, false);
    json now;
    {
      std::lock_guard lock(mutex_);
      if (cmd.is_object() && cmd.contains("state") && cmd["state"].is_string())
        light_["state"] = cmd["state"];
      if (cmd.is_object() && cmd.contains("brightness") && cmd["brightness"].is_number())
        light_["brightness"] = std::clamp(cmd["brightness"].get<int>(), 0, 255);
      now = light_;
    }
    peer.publish(state_topic, now.dump(), 0, true);
  } else if (type == "switch" && (m.payload == "ON" || m.payload == "OFF")) {
    peer.publish(state_topic, m.payload, 0, true);
  } else if (type == "lock" && (m.payload == "LOCK" || m.payload == "UNLOCK")) {
    peer.publish(state_topic, m.payload == "LOCK" ? "LOCKED" : "UNLOCKED", 0, true);
  } else if (type == "cover" && (m.payload == "OPEN" || m.payload == "CLOSE")) {
    // A garage door reports that it is moving, then where it stopped.
    peer.publish(state_topic, m.payload == "OPEN" ? "opening" : "closing", 0, true);
    peer.publish(state_topic, m.payload == "OPEN" ? "open" : "closed", 0, true);
  }
}

tasmota_legacy_dimmer::tasmota_legacy_dimmer(const std::string& broker_uri, std::string topic,
                                             std::string name)
    : topic_(std::move(topic)),
      peer_(broker_uri, "sim-tasmota-legacy-" + topic_,
            [this](mqtt_peer& p, const seen_message& m) { on_command(p, m); }) {
  peer_.subscribe("cmnd/" + topic_ + "/+", 0);
  peer_.publish("tele/" + topic_ + "/LWT", "Online", 1, true);
  const json config{{"name", name},
                    {"cmd_t", "cmnd/" + topic_ + "/POWER"},
                    {"stat_t", "tele/" + topic_ + "/STATE"},
                    {"val_tpl", "{{value_json.POWER}}"},
                    {"pl_off", "OFF"},
                    {"pl_on", "ON"},
                    {"avty_t", "tele/" + topic_ + "/LWT"},
                    {"pl_avail", "Online"},
                    {"pl_not_avail", "Offline"},
                    {"uniq_id", "D8BFC0A1B2C3_LI_1"},
                    {"dev", {{"ids", json::array({"D8BFC0A1B2C3"})}}},
                    {"stat_val_tpl", "{{value_json.POWER}}"},
                    {"bri_cmd_t", "cmnd/" + topic_ + "/Dimmer"},
                    {"bri_stat_t", "tele/" + topic_ + "/STATE"},
                    {"bri_scl", 100},
                    {"on_cmd_type", "brightness"},
                    {"bri_val_tpl", "{{value_json.Dimmer}}"}};
  peer_.publish("homeassistant/light/D8BFC0A1B2C3_LI_1/config", config.dump(), 1, true);
}

int tasmota_legacy_dimmer::dimmer() const {
  std::lock_guard lock(mutex_);
  return dimmer_;
}

std::string tasmota_legacy_dimmer::power() const {
  std::lock_guard lock(mutex_);
  return power_;
}

void tasmota_legacy_dimmer::on_command(mqtt_peer& peer, const seen_message& m) {
  std::string command = m.topic.substr(m.topic.rfind('/') + 1);
  std::transform(command.begin(), command.end(), command.begin(), ::toupper);
  std::string payload = m.payload;
  std::transform(payload.begin(), payload.end(), payload.begin(), ::toupper);
  json result, state;
  {
    std::lock_guard lock(mutex_);
    if (command == "POWER") {
      if (payload == "ON" || payload == "1") power_ = "ON";
      if (payload == "OFF" || payload == "0") power_ = "OFF";
      result = {{"POWER", power_}};
    } else if (command == "DIMMER") {
      char* end = nullptr;
      const long v = std::strtol(m.payload.c_str(), &end, 10);
      if (end != m.payload.c_str() && *end == '\0' && v >= 0 && v <= 100) {
        dimmer_ = static_cast<int>(v);
        power_ = dimmer_ > 0 ? "ON" : "OFF";
      }
      result = {{"POWER", power_}, {"Dimmer", dimmer_}};
    } else {
      result = {{"Command", "Unknown"}};
    }
    state = {{"Time", "2026-12-02T05:20:00"},
             {"Uptime", "0T01:02:03"},
             {"POWER", power_},
             {"Dimmer", dimmer_},
             {"Wifi", {{"RSSI", 76}}}};
  }
  peer.publish("stat/" + topic_ + "/RESULT", result.dump(), 0);
  if (command == "POWER") peer.publish("stat/" + topic_ + "/POWER", result["POWER"].get<std::string>(), 0);
  if (!result.contains("Command")) peer.publish("tele/" + topic_ + "/STATE", state.dump(), 0);
}

}  // namespace lb::test
