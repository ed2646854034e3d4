// livebridge as a device in Home Assistant, by MQTT device-based discovery: the device config and
// the messages that announce, re-announce or remove it. Pure functions of the config, no I/O; the
// bridge publishes what they return. The entities point at the topics livebridge publishes anyway
// (availability, reply, event, confirm/pending, and the prompt topic of their own source), so
// announcing costs no publish per turn or call; only the status has a topic of its own.
//
// Nothing here sees a secret: the config holds none (config/secrets.hpp keeps them apart), so no
// key, password or PIN can reach an announcement.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/message.hpp"
#include "config/config.hpp"

namespace lb::ha {

// The device's id in discovery topics and unique ids: mqtt.client_id with every character a
// discovery topic does not allow (outside A-Z a-z 0-9 _ -) replaced by '_'.
std::string object_id(const config::mqtt_config& m);
// <home_assistant.prefix>/device/<object_id>/config
std::string device_config_topic(const config::config& cfg);
// Where Home Assistant says `online` when it (re)starts: home_assistant.status_topic, else
// <home_assistant.prefix>/status.
std::string birth_topic(const config::home_assistant_config& ha);
// <mqtt.topic_prefix>/status: the Status entity's state (retained JSON, see status_message).
std::string status_topic(const config::mqtt_config& m);

// The device config: `dev`, `o` (origin) and `cmps`, one component per entity, each with `p` and
// `unique_id`. `version` is livebridge's, for the device's and the origin's `sw`.
nlohmann::json device_config(const config::config& cfg, std::string_view version);

// What goes out whenever the main connection comes up or Home Assistant says `online`. Discovery
// on: the device config, retained, QoS 1. Off: the device config topic and the status topic
// cleared (empty and retained, QoS 0), so that removing the option removes the entities.
std::vector<outgoing_message> announcement(const config::config& cfg, std::string_view version);

// What a reload sends: nothing when the announcement is unchanged; otherwise the new announcement,
// preceded by clearing every topic the old one filled that the new one does not (a changed prefix).
std::vector<outgoing_message> reannouncement(const config::config& before, const config::config& after,
                                             std::string_view version);

// True for Home Assistant's birth message with discovery on: `online` on the birth topic, not a
// retained copy (the connection's own announcement has already answered that one).
bool asks_for_announcement(const config::config& cfg, const incoming_message& msg);

// What the Status entity shows. Only what changes rarely (connections, reloads), so that keeping
// it current costs no publish per call.
struct status_facts {
  std::string live;  // the Live session's state, as `systemctl status` shows it
  bool ready = false;
  std::size_t tools = 0;
  std::string model;
  bool operator==(const status_facts&) const = default;
};
// Retained JSON {"live", "ready", "tools", "model"} on status_topic, QoS 1.
outgoing_message status_message(const config::mqtt_config& m, const status_facts& facts);

}  // namespace lb::ha
