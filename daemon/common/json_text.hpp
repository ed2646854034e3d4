// JSON to text the one way the daemon does it everywhere: compact, and never throwing on invalid
// UTF-8 that came from a device or the cloud (it is replaced with U+FFFD).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace lb {

inline std::string json_text(const nlohmann::json& v) {
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace lb
