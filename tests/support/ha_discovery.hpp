// Home Assistant's side of device-based MQTT discovery, as far as a test can check it without Home
// Assistant: what its DEVICE_DISCOVERY_SCHEMA and each platform's schema require of a device
// config (abbreviated keys `dev`, `o`, `cmps`, `p` as the discovery documentation writes them).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lb::test {

// What Home Assistant would reject the config for, one entry per missing or malformed field
// ("cmps.prompt.command_topic"); empty when it would be accepted.
std::vector<std::string> ha_device_config_problems(const nlohmann::json& config);

// True when `id` may stand as a level of a discovery topic (A-Z a-z 0-9 _ -, non-empty).
bool ha_valid_discovery_id(const std::string& id);

}  // namespace lb::test
