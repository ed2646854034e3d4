#include "ha_discovery.hpp"

#include <algorithm>
#include <set>

namespace lb::test {
namespace {

using nlohmann::json;

// The platforms livebridge announces, and what each requires beyond `p` and `unique_id`.
const std::set<std::string> state_platforms{"binary_sensor", "sensor", "event"};

bool non_empty_string(const json& obj, const char* key) {
  return obj.is_object() && obj.contains(key) && obj[key].is_string() && !obj[key].get<std::string>().empty();
}

}  // namespace

bool ha_valid_discovery_id(const std::string& id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::vector<std::string> ha_device_config_problems(const json& c) {
  std::vector<std::string> problems;
  if (!c.is_object()) return {"(not a JSON object)"};
  const json dev = c.value("dev", json());
  // The device needs identifiers (or connections); livebridge gives identifiers and a name.
  if (!dev.is_object() || !dev.contains("ids") || !dev["ids"].is_array() || dev["ids"].empty())
    problems.push_back("dev.ids");
  if (!non_empty_string(dev, "name")) problems.push_back("dev.name");
  if (!non_empty_string(c.value("o", json()), "name")) problems.push_back("o.name");
  if (c.contains("qos") &&
      !(c["qos"].is_number_integer() && c["qos"].get<int>() >= 0 && c["qos"].get<int>() <= 2))
    problems.push_back("qos");
  const json cmps = c.value("cmps", json());
  if (!cmps.is_object() || cmps.empty()) {
    problems.push_back("cmps");
    return problems;
  }
  std::set<std::string> unique_ids;
  for (const auto& [id, comp] : cmps.items()) {
    const std::string at = "cmps." + id + ".";
    if (!non_empty_string(comp, "p")) problems.push_back(at + "p");
    if (!non_empty_string(comp, "unique_id")) {
      problems.push_back(at + "unique_id");
    } else if (!unique_ids.insert(comp["unique_id"].get<std::string>()).second) {
      problems.push_back(at + "unique_id (not unique)");
    }
    const std::string p = comp.value("p", "");
    if (state_platforms.contains(p) && !non_empty_string(comp, "state_topic"))
      problems.push_back(at + "state_topic");
    if (p == "text") {
      if (!non_empty_string(comp, "command_topic")) problems.push_back(at + "command_topic");
      // A text entity's state is at most 255 characters.
      if (comp.contains("max") && !(comp["max"].is_number_integer() && comp["max"].get<int>() <= 255))
        problems.push_back(at + "max");
    }
    if (p == "event") {
      const json types = comp.value("event_types", json());
      if (!types.is_array() || types.empty() ||
          !std::all_of(types.begin(), types.end(), [](const json& t) { return t.is_string(); }))
        problems.push_back(at + "event_types");
    }
  }
  return problems;
}

}  // namespace lb::test
