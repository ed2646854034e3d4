// What a reload may change while running and what only a restart changes: the MQTT connection
// settings stay as they are (the links are not rebuilt), new tools and Live settings take effect
// through a fresh session.
#pragma once

#include <string>

#include "config/config.hpp"
#include "config/secrets.hpp"

namespace lb::app {

// Puts the running MQTT connection settings (url, client id, credentials, prefix, keepalive,
// persistent prompts) into `next`. True when `next` had asked for different ones.
bool keep_running_connection_settings(config::config& next, config::secrets& next_secrets,
                                      const config::config& running, const config::secrets& running_secrets);

// Whether the Live session must move to a new connection for `next` to take effect.
bool session_needs_renewal(const config::config& next, const config::secrets& next_secrets,
                           const std::string& next_setup, const config::config& running,
                           const config::secrets& running_secrets, const std::string& running_setup);

}  // namespace lb::app
