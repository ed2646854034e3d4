#include "ha/announce.hpp"

#include <algorithm>

#include "common/json_text.hpp"

namespace lb::ha {
namespace {

using nlohmann::json;

// Home Assistant turns a state longer than this into `unknown`: long text goes in attributes.
constexpr std::size_t max_state_length = 255;

// Value templates (Home Assistant's Jinja, with `value` and `value_json`). Each keeps the state
// within max_state_length; the attributes carry the whole message.
constexpr const char* status_state = "{{ value_json.live[:255] }}";
// An error reply has no text; its error is what a person wants to see then.
constexpr const char* reply_state = "{{ (value_json.text or value_json.error or '')[:255] }}";
constexpr const char* pending_state = "{{ value_json | count }}";
// Attributes must be an object; confirm/pending is an array.
constexpr const char* pending_attributes = "{{ {'requests': value_json} | tojson }}";
// <prefix>/event carries every step of a turn; the entity fires for calls and results only. An
// empty rendering is skipped by Home Assistant without a warning, where an event_type outside
// event_types would log one per turn.
constexpr const char* tool_event =
    "{{ value if value_json.event_type in ['tool_call', 'tool_result'] else '' }}";

std::string unique_id(const config::mqtt_config& m, std::string_view component) {
  return "livebridge_" + object_id(m) + "_" + std::string(component);
}

json component(const config::mqtt_config& m, std::string_view platform, std::string_view key,
               std::string_view name) {
  return json{{"p", platform}, {"unique_id", unique_id(m, key)}, {"name", name}};
}

bool same(const outgoing_message& a, const outgoing_message& b) {
  return a.topic == b.topic && a.payload == b.payload && a.qos == b.qos && a.retain == b.retain;
}

}  // namespace

std::string object_id(const config::mqtt_config& m) {
  std::string id = m.client_id;
  std::replace_if(
      id.begin(), id.end(),
      [](char c) {
        return !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                 c == '-');
      },
      '_');
  return id;
}

std::string device_config_topic(const config::config& cfg) {
  return cfg.home_assistant.prefix + "/device/" + object_id(cfg.mqtt) + "/config";
}

std::string birth_topic(const config::home_assistant_config& ha) {
  return ha.status_topic ? *ha.status_topic : ha.prefix + "/status";
}

std::string status_topic(const config::mqtt_config& m) {
  return m.topic_prefix + "/status";
}

json device_config(const config::config& cfg, std::string_view version) {
  const auto& m = cfg.mqtt;
  const auto t = config::topics::for_config(m);
  // Every entity but the connection one is unavailable while livebridge is offline; the
  // connection entity then says "disconnected" instead of going unavailable itself.
  const json available = t.availability;

  json cmps = json::object();
  json& connection = cmps["connection"] = component(m, "binary_sensor", "connection", "Connection");
  connection["device_class"] = "connectivity";
  connection["entity_category"] = "diagnostic";
  connection["state_topic"] = t.availability;
  connection["payload_on"] = "online";
  connection["payload_off"] = "offline";

  json& status = cmps["status"] = component(m, "sensor", "status", "Status");
  status["entity_category"] = "diagnostic";
  status["icon"] = "mdi:robot-outline";
  status["state_topic"] = status_topic(m);
  status["value_template"] = status_state;
  status["json_attributes_topic"] = status_topic(m);
  status["availability_topic"] = available;

  json& reply = cmps["last_reply"] = component(m, "sensor", "last_reply", "Last reply");
  reply["icon"] = "mdi:message-reply-text-outline";
  reply["state_topic"] = t.reply;
  reply["value_template"] = reply_state;
  reply["json_attributes_topic"] = t.reply;
  reply["availability_topic"] = available;

  json& prompt = cmps["prompt"] = component(m, "text", "prompt", "Prompt");
  prompt["icon"] = "mdi:message-text-outline";
  // The prompt inbox's own topic for this source: the trust rules per source apply to it.
  prompt["command_topic"] = t.prompt + "/" + cfg.home_assistant.prompt_source;
  prompt["max"] = max_state_length;
  prompt["availability_topic"] = available;

  if (m.events) {
    json& calls = cmps["tool_calls"] = component(m, "event", "tool_calls", "Tool calls");
    calls["icon"] = "mdi:tools";
    calls["state_topic"] = t.event;
    calls["event_types"] = json::array({"tool_call", "tool_result"});
    calls["value_template"] = tool_event;
    calls["availability_topic"] = available;
  }

  json& pending = cmps["pending_confirmations"] =
      component(m, "sensor", "pending_confirmations", "Pending confirmations");
  pending["icon"] = "mdi:account-question-outline";
  pending["state_topic"] = t.confirm_pending;
  pending["value_template"] = pending_state;
  pending["json_attributes_topic"] = t.confirm_pending;
  pending["json_attributes_template"] = pending_attributes;
  pending["availability_topic"] = available;

  const std::string name = cfg.home_assistant.device_name ? *cfg.home_assistant.device_name : m.client_id;
  return json{{"dev",
               {{"ids", json::array({"livebridge_" + object_id(m)})},
                {"name", name},
                {"mf", "livebridge"},
                {"mdl", "Gemini Live bridge"},
                {"sw", version}}},
              {"o", {{"name", "livebridge"}, {"sw", version}}},
              {"qos", 1},  // the Prompt entity's command: QoS 1 reaches the lasting prompt inbox
              {"cmps", std::move(cmps)}};
}

std::vector<outgoing_message> announcement(const config::config& cfg, std::string_view version) {
  if (cfg.home_assistant.discovery)
    return {plain_message(device_config_topic(cfg), json_text(device_config(cfg, version)), 1, true)};
  // At QoS 0: most installations never used the option, and a broker whose access list does not
  // let livebridge write these topics drops a QoS 0 publish silently, where QoS 1 would log a
  // refusal at every connection. Sent at every connection, a lost one is sent again.
  return {plain_message(device_config_topic(cfg), "", 0, true),
          plain_message(status_topic(cfg.mqtt), "", 0, true)};
}

std::vector<outgoing_message> reannouncement(const config::config& before, const config::config& after,
                                             std::string_view version) {
  const auto old_messages = announcement(before, version);
  auto new_messages = announcement(after, version);
  if (std::equal(old_messages.begin(), old_messages.end(), new_messages.begin(), new_messages.end(), same))
    return {};
  std::vector<outgoing_message> out;
  for (const auto& old : old_messages) {
    const bool kept = std::any_of(new_messages.begin(), new_messages.end(),
                                  [&](const outgoing_message& m) { return m.topic == old.topic; });
    if (!old.payload.empty() && !kept) out.push_back(plain_message(old.topic, "", 1, true));
  }
  for (auto& m : new_messages) out.push_back(std::move(m));
  return out;
}

bool asks_for_announcement(const config::config& cfg, const incoming_message& msg) {
  return cfg.home_assistant.discovery && !msg.retained && msg.payload == "online" &&
         msg.topic == birth_topic(cfg.home_assistant);
}

outgoing_message status_message(const config::mqtt_config& m, const status_facts& facts) {
  const json status = {
      {"live", facts.live}, {"ready", facts.ready}, {"tools", facts.tools}, {"model", facts.model}};
  return plain_message(status_topic(m), json_text(status), 1, true);
}

}  // namespace lb::ha
