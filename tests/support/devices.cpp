#include "devices.hpp"

namespace lb::test {
using nlohmann::json;

z2m_bridge::z2m_bridge(const std::string& broker_uri, std::set<std::string> names, std::set<std::string> dead)
    : names_(std::move(names)),
      dead_(std::move(dead)),
      peer_(broker_uri, "sim-z2m", [this](mqtt_peer& p, const seen_message& m) { on_set(p, m); }) {
  for (const auto& n : names_) state_[n] = json{{"state", "OFF"}, {"brightness", 254}, {"linkquality", 120}};
  peer_.subscribe("zigbee2mqtt/+/set", 0);  // Z2M subscribes at QoS 0
  peer_.publish("zigbee2mqtt/bridge/state", R"({"state":"online"})", 1, true);
}

void z2m_bridge::on_set(mqtt_peer& peer, const seen_message& m) {
  const std::string prefix = "zigbee2mqtt/";
  std::string name = m.topic.substr(prefix.size());
  name = name.substr(0, name.size() - std::string("/set").size());
  {
    std::lock_guard lock(mutex_);
    ++commands_[name];
  }
  if (!names_.contains(name)) {
    peer.publish(
        "zigbee2mqtt/bridge/logging",
        json{{"level", "error"}, {"message", "Entity '" + name + "' is unknown"}, {"namespace", "z2m"}}
            .dump(),
        0);
    return;
  }
  if (dead_.contains(name)) {
    peer.publish(
        "zigbee2mqtt/bridge/logging",
        json{{"level", "error"},
             {"message", "Publish 'set' 'state' to '" + name + "' failed: 'Error: Timeout after 10000ms'"},
             {"namespace", "z2m"}}
            .dump(),
        0);
    return;
  }
  const json cmd = json::parse(m.payload, nullptr, false);
  json current;
  {
    std::lock_guard lock(mutex_);
    json& s = state_[name];
    if (cmd.is_object()) {
      if (cmd.contains("state")) {
        std::string wanted = cmd["state"].is_string() ? cmd["state"].get<std::string>() : "";
        if (wanted == "TOGGLE") wanted = s["state"] == "ON" ? "OFF" : "ON";
        if (wanted == "ON" || wanted == "OFF") s["state"] = wanted;
      }
      if (cmd.contains("brightness") && cmd["brightness"].is_number()) {
        s["brightness"] = std::clamp(cmd["brightness"].get<int>() + rounding_.load(), 0, 254);
        s["state"] = "ON";
      }
    } else if (m.payload == "ON" || m.payload == "OFF") {
      s["state"] = m.payload;
    }
    current = s;
  }
  peer.publish(prefix + name, current.dump(), 0);
}

json z2m_bridge::state(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = state_.find(name);
  return it == state_.end() ? json() : it->second;
}

int z2m_bridge::commands_received(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = commands_.find(name);
  return it == commands_.end() ? 0 : it->second;
}

z2m_secure_devices::z2m_secure_devices(const std::string& broker_uri, std::set<std::string> locks,
                                       std::set<std::string> covers)
    : locks_(std::move(locks)),
      covers_(std::move(covers)),
      peer_(broker_uri, "sim-z2m-secure", [this](mqtt_peer& p, const seen_message& m) { on_set(p, m); }) {
  for (const auto& name : locks_) peer_.subscribe("zigbee2mqtt/" + name + "/set", 0);
  for (const auto& name : covers_) peer_.subscribe("zigbee2mqtt/" + name + "/set", 0);
}

void z2m_secure_devices::on_set(mqtt_peer& peer, const seen_message& m) {
  const std::string prefix = "zigbee2mqtt/";
  std::string name = m.topic.substr(prefix.size());
  name = name.substr(0, name.size() - std::string("/set").size());
  const json cmd = json::parse(m.payload, nullptr, false);
  {
    std::lock_guard lock(mutex_);
    commands_[name].push_back(cmd);
  }
  const std::string wanted = cmd.is_object() && cmd.contains("state") && cmd["state"].is_string()
                                 ? cmd["state"].get<std::string>()
                                 : std::string();
  json state;
  if (locks_.contains(name) && (wanted == "LOCK" || wanted == "UNLOCK")) {
    state = {
        {"state", wanted}, {"lock_state", wanted == "LOCK" ? "locked" : "unlocked"}, {"linkquality", 90}};
  } else if (covers_.contains(name) && (wanted == "OPEN" || wanted == "CLOSE")) {
    state = {{"state", wanted}, {"position", wanted == "OPEN" ? 100 : 0}, {"linkquality", 90}};
  } else {
    return;  // zigbee2mqtt logs an unsupported value and reports nothing
  }
  peer.publish(prefix + name, state.dump(), 0);
}

int z2m_secure_devices::commands_received(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = commands_.find(name);
  return it == commands_.end() ? 0 : static_cast<int>(it->second.size());
}

std::vector<json> z2m_secure_devices::commands(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = commands_.find(name);
  return it == commands_.end() ? std::vector<json>() : it->second;
}

tasmota_device::tasmota_device(const std::string& broker_uri, std::string topic)
    : topic_(std::move(topic)),
      peer_(broker_uri, "sim-tasmota-" + topic_,
            [this](mqtt_peer& p, const seen_message& m) { on_command(p, m); }) {
  peer_.subscribe("cmnd/" + topic_ + "/+", 0);
  peer_.publish("tele/" + topic_ + "/LWT", "Online", 1, true);
}

void tasmota_device::on_command(mqtt_peer& peer, const seen_message& m) {
  std::string command = m.topic.substr(m.topic.rfind('/') + 1);
  std::transform(command.begin(), command.end(), command.begin(), ::toupper);
  std::string payload = m.payload;
  std::transform(payload.begin(), payload.end(), payload.begin(), ::toupper);
  json result;
  {
    std::lock_guard lock(mutex_);
    if (command == "POWER") {
      if (payload == "ON" || payload == "1" || payload == "TRUE") power_ = "ON";
      if (payload == "OFF" || payload == "0" || payload == "FALSE") power_ = "OFF";
      if (payload == "TOGGLE" || payload == "2") power_ = power_ == "ON" ? "OFF" : "ON";
      result = {{"POWER", power_}};
    } else if (command == "DIMMER") {
      char* end = nullptr;
      const long v = std::strtol(m.payload.c_str(), &end, 10);
      if (end != m.payload.c_str() && *end == '\0' && v >= 0 && v <= 100) {
        dimmer_ = static_cast<int>(v);
        if (dimmer_ > 0) power_ = "ON";
      }
      result = {{"POWER", power_}, {"Dimmer", dimmer_}};
    } else {
      result = {{"Command", "Unknown"}};
    }
  }
  peer.publish("stat/" + topic_ + "/RESULT", result.dump(), 0);
  if (command == "POWER") peer.publish("stat/" + topic_ + "/POWER", result["POWER"].get<std::string>(), 0);
}

shelly_device::shelly_device(const std::string& broker_uri, std::string device_id)
    : device_id_(std::move(device_id)),
      peer_(broker_uri, "sim-shelly-" + device_id_,
            [this](mqtt_peer& p, const seen_message& m) { on_request(p, m); }) {
  peer_.subscribe(device_id_ + "/rpc", 1);
  peer_.publish(device_id_ + "/online", "true", 1, true);
}

void shelly_device::on_request(mqtt_peer& peer, const seen_message& m) {
  const json req = json::parse(m.payload, nullptr, false);
  if (!req.is_object() || !req.contains("src") || !req["src"].is_string()) return;  // nowhere to answer
  json reply = {{"id", req.value("id", json())}, {"src", device_id_}, {"dst", req["src"]}};
  const std::string method = req.value("method", "");
  const json params = req.value("params", json::object());
  if (method == "Switch.Set") {
    if (!params.contains("on") || !params["on"].is_boolean()) {
      reply["error"] = {{"code", -103}, {"message", "Missing required argument 'on'!"}};
    } else {
      reply["result"] = {{"was_on", output_.load()}};
      output_ = params["on"].get<bool>();
    }
  } else if (method == "Switch.GetStatus") {
    reply["result"] = {{"id", 0}, {"source", "MQTT"}, {"output", output_.load()}};
  } else {
    reply["error"] = {{"code", -114}, {"message", "No handler for " + method}};
  }
  peer.publish(req["src"].get<std::string>() + "/rpc", reply.dump(), 1);
}

v5_responder::v5_responder(const std::string& broker_uri)
    : peer_(broker_uri, "sim-v5-responder", [](mqtt_peer& p, const seen_message& m) {
        if (m.response_topic.empty()) return;
        const json request = json::parse(m.payload, nullptr, false);
        p.publish(m.response_topic, json{{"ok", true}, {"applied", request}}.dump(), 1, false,
                  m.correlation_data);
      }) {
  peer_.subscribe("svc/#", 1);
}

}  // namespace lb::test
