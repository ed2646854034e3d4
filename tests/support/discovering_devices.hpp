// Simulated bridges that announce their devices with Home Assistant MQTT discovery, in the shapes
// zigbee2mqtt, ESPHome and Tasmota's legacy discovery publish (see the discovery reference), and
// answer commands the way those firmwares do.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mqtt_peer.hpp"

namespace lb::test {

// zigbee2mqtt with homeassistant: true. Kinds: "light" (JSON schema, brightness_scale 254),
// "switch" (a two-gang switch's left endpoint: value_template {{ value_json["state_left"] }}),
// "lock", "cover", and "moving_cover" (a movement-aware cover whose value_template is real Jinja).
class z2m_home {
 public:
  struct device {
    std::string name;  // the friendly name, also its topic level
    std::string kind;
  };
  z2m_home(const std::string& broker_uri, std::vector<device> devices);

  // While running: a device paired (its config and state retained), or removed (empty configs).
  void pair(const device& d);
  void remove(const std::string& name);
  // zigbee2mqtt/<name>/availability, as with availability enabled.
  void set_available(const std::string& name, bool online);
  std::vector<nlohmann::json> commands(const std::string& name) const;
  static std::string config_topic(const device& d);

 private:
  void announce(const device& d);
  void on_set(mqtt_peer& peer, const seen_message& m);
  std::map<std::string, device> devices_;
  mutable std::mutex mutex_;
  std::map<std::string, nlohmann::json> state_;
  std::map<std::string, std::vector<nlohmann::json>> commands_;
  mqtt_peer peer_;
};

// An ESPHome node with MQTT discovery (abbreviated keys, <node>/status availability): a JSON light
// "Ceiling", a switch "Kettle", a lock "Back door" and a garage door cover "Garage door".
class esphome_node {
 public:
  esphome_node(const std::string& broker_uri, std::string node, std::string friendly_name);
  void set_online(bool online);
  std::vector<std::string> commands(const std::string& object_id) const;
  nlohmann::json light_state() const;

 private:
  void on_command(mqtt_peer& peer, const seen_message& m);
  std::string node_;
  mutable std::mutex mutex_;
  nlohmann::json light_ = {{"state", "OFF"}, {"brightness", 255}, {"color_mode", "brightness"}};
  std::map<std::string, std::vector<std::string>> commands_;
  mqtt_peer peer_;
};

// Tasmota with legacy Home Assistant discovery (SetOption19 1) and SetOption59 1 (tele/STATE on
// every change): a dimmer announced with bri_scl 100 and stat_val_tpl {{value_json.POWER}}.
class tasmota_legacy_dimmer {
 public:
  tasmota_legacy_dimmer(const std::string& broker_uri, std::string topic, std::string name);
  int dimmer() const;
  std::string power() const;

 private:
  void on_command(mqtt_peer& peer, const seen_message& m);
  std::string topic_;
  mutable std::mutex mutex_;
  std::string power_ = "OFF";
  int dimmer_ = 100;
  mqtt_peer peer_;
};

}  // namespace lb::test
