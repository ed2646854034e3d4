// The value templates livebridge reads itself: `{{ value }}`, `{{ value_json.a }}`,
// `{{ value_json["a"] }}` and `{{ value_json.a.b }}`, which are what zigbee2mqtt, ESPHome and
// Tasmota put in their discovery messages for plain states. Anything else is Jinja that only Home
// Assistant evaluates; such an entity's state cannot be read here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lb::discovery {

using json = nlohmann::json;

// The members to walk down from the report; empty: the whole report.
struct value_path {
  std::vector<std::string> members;
  bool operator==(const value_path&) const = default;
};

// nullopt: not one of the templates above.
std::optional<value_path> parse_value_template(std::string_view text);

// The value at `path` in `report`, or null when a member is missing.
const json* value_at(const value_path& path, const json& report);

// The smallest report that holds `value` at `path`: what a state must contain to acknowledge.
json expect_at(const value_path& path, json value);

}  // namespace lb::discovery
