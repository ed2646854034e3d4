// Deciding whether a device's message acknowledges a command.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace lb::tools {

using json = nlohmann::json;

// A payload as the matcher sees it: parsed JSON when the bytes are a JSON document, otherwise a
// JSON string holding the raw text (Tasmota's "ON", ESPHome's "online").
json payload_to_json(std::string_view payload);

// `expected` is a subset of `actual`: every member of an expected object must be present and
// match; strings compare case-insensitively (device firmware varies "ON"/"on"); numbers match
// within `tolerance` (devices round brightness); a number also matches its decimal text ("40").
bool subset_matches(const json& expected, const json& actual, double tolerance);

}  // namespace lb::tools
