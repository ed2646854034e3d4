// Reading untrusted JSON (cloud frames, MQTT payloads, replies) without exceptions: a member of
// the expected type, or an empty default.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace lb {

// The string member `key` of `object`, or empty when `object` is not an object, or the member is
// absent or not a string.
inline std::string string_member(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace lb
