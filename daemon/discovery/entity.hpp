// One Home Assistant MQTT discovery message read into the entities it announces: abbreviations
// expanded, `~` resolved, device-based messages (`cmps`) split into their components with the
// shared options applied. Pure; never throws on any payload.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "discovery/value_path.hpp"

namespace lb::discovery {

enum class component { light, switch_, cover, lock, alarm_control_panel, sensor, binary_sensor };

struct component_spelling {
  std::string_view name;  // as in the discovery topic and `p`
  component value;
};
inline constexpr component_spelling component_spellings[] = {
    {"light", component::light},
    {"switch", component::switch_},
    {"cover", component::cover},
    {"lock", component::lock},
    {"alarm_control_panel", component::alarm_control_panel},
    {"sensor", component::sensor},
    {"binary_sensor", component::binary_sensor},
};
std::optional<component> parse_component(std::string_view name);
std::string_view component_name(component c);

struct availability_source {
  std::string topic;
  std::string available = "online";
  std::string not_available = "offline";
  std::optional<value_path> value;  // nullopt with `unsupported_template` set: cannot be read
  std::string unsupported_template;
};

struct entity {
  std::string config_topic;  // where it was announced
  component kind = component::sensor;
  std::string unique_id;
  std::string name;         // as a person calls it: the device's name and the entity's
  std::string device_name;  // empty when the message names no device
  std::string device_class;
  json options = json::object();  // every option with full key names and `~` resolved
  std::vector<availability_source> availability;
  std::string availability_mode = "latest";  // all, any or latest

  // A string option, or `fallback` when absent, null or not a string (numbers are written out).
  std::string text(const char* key, std::string_view fallback = {}) const;
  bool flag(const char* key, bool fallback) const;
  // A template option read as a value path: nullopt when the template is absent (`*absent` set)
  // or not one livebridge evaluates.
  std::optional<value_path> path(const char* key, bool* absent = nullptr) const;
};

struct parsed_config {
  std::vector<entity> entities;
  // Why an entity, or the whole message, was not read (for the start-up log), one line each.
  std::vector<std::string> problems;
};

// Real discovery messages are a few kilobytes; a larger one is refused before it is parsed.
inline constexpr std::size_t max_config_bytes = 64 * 1024;

// `topic` is `<prefix>/<component>/[<node_id>/]<object_id>/config` or `<prefix>/device/<id>/config`.
// An empty payload (a removal) gives nothing and no problem.
parsed_config parse_config(std::string_view prefix, std::string_view topic, std::string_view payload);

}  // namespace lb::discovery
