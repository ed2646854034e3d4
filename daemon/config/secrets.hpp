// Where the API key, the MQTT password and the owner's PIN come from. They are never in the
// config file itself: systemd credentials first ($CREDENTIALS_DIRECTORY, LoadCredential=), then a
// file named in the config, then (API key only) the environment.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace lb::config {

struct secrets {
  std::string api_key;         // empty: none found (allowed only for a loopback Live URL)
  std::string api_key_source;  // "credential gemini-api-key", "file /etc/…", "environment GEMINI_API_KEY"
  std::string mqtt_password;   // empty: none
  std::string pin;             // the owner's PIN (or its stored hash); empty: none
};

struct secrets_result {
  secrets value;
  std::vector<std::string> errors;  // unreadable files, a missing key for a non-local endpoint
};

// `getenv` is injectable for tests; by default std::getenv.
secrets_result load_secrets(const config& cfg,
                            const std::function<const char*(const char*)>& getenv = nullptr);

// What the CLI's MQTT clients (ask, confirm) need: the MQTT password alone. The API key and the
// PIN are the daemon's, and a shell that cannot read them can still ask and confirm.
secrets_result load_client_secrets(const config& cfg,
                                   const std::function<const char*(const char*)>& getenv = nullptr);

}  // namespace lb::config
