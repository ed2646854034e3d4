// Simulated devices that acknowledge commands the way the real firmware does (see the MQTT device
// reference): zigbee2mqtt lights, a Tasmota dimmer, a Shelly Gen2 switch over JSON-RPC, and an
// MQTT v5 request/response service.
#pragma once

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mqtt_peer.hpp"

namespace lb::test {

// zigbee2mqtt: commands on zigbee2mqtt/<name>/set, full state echoed on zigbee2mqtt/<name>.
// A name in `dead` never answers (and logs the failure on bridge/logging, as Z2M does).
class z2m_bridge {
 public:
  z2m_bridge(const std::string& broker_uri, std::set<std::string> names, std::set<std::string> dead = {});
  nlohmann::json state(const std::string& name) const;
  int commands_received(const std::string& name) const;
  // Z2M reports the brightness it applied; a bulb may round (e.g. 128 → 127).
  void set_brightness_rounding(int delta) { rounding_ = delta; }

 private:
  void on_set(mqtt_peer& peer, const seen_message& m);
  std::set<std::string> names_;
  std::set<std::string> dead_;
  mutable std::mutex mutex_;
  std::map<std::string, nlohmann::json> state_;
  std::map<std::string, int> commands_;
  std::atomic<int> rounding_{0};
  mqtt_peer peer_;
};

// zigbee2mqtt locks and covers (a garage door opener): {"state":"LOCK"|"UNLOCK"} and
// {"state":"OPEN"|"CLOSE"|"STOP"} on zigbee2mqtt/<name>/set; the full state on zigbee2mqtt/<name>
// ({"state":"UNLOCK","lock_state":"unlocked"}, {"state":"OPEN","position":100}).
class z2m_secure_devices {
 public:
  z2m_secure_devices(const std::string& broker_uri, std::set<std::string> locks,
                     std::set<std::string> covers);
  int commands_received(const std::string& name) const;
  std::vector<nlohmann::json> commands(const std::string& name) const;

 private:
  void on_set(mqtt_peer& peer, const seen_message& m);
  std::set<std::string> locks_;
  std::set<std::string> covers_;
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<nlohmann::json>> commands_;
  mqtt_peer peer_;
};

// Tasmota: cmnd/<topic>/POWER|Dimmer → stat/<topic>/RESULT; unknown commands → {"Command":"Unknown"}.
class tasmota_device {
 public:
  tasmota_device(const std::string& broker_uri, std::string topic);

 private:
  void on_command(mqtt_peer& peer, const seen_message& m);
  std::string topic_;
  std::mutex mutex_;
  std::string power_ = "OFF";
  int dimmer_ = 100;
  mqtt_peer peer_;
};

// Shelly Gen2: JSON-RPC requests on <device_id>/rpc, replies on <src>/rpc echoing the id.
class shelly_device {
 public:
  shelly_device(const std::string& broker_uri, std::string device_id);
  bool output() const { return output_; }

 private:
  void on_request(mqtt_peer& peer, const seen_message& m);
  std::string device_id_;
  std::atomic<bool> output_{false};
  mqtt_peer peer_;
};

// An MQTT v5 service on svc/#: answers on the Response Topic with the Correlation Data copied.
class v5_responder {
 public:
  explicit v5_responder(const std::string& broker_uri);

 private:
  mqtt_peer peer_;
};

}  // namespace lb::test
