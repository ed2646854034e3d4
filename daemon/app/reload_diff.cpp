#include "app/reload_diff.hpp"

namespace lb::app {

bool keep_running_connection_settings(config::config& next, config::secrets& next_secrets,
                                      const config::config& running, const config::secrets& running_secrets) {
  const auto& old_m = running.mqtt;
  auto& new_m = next.mqtt;
  const bool differed =
      old_m.url != new_m.url || old_m.client_id != new_m.client_id || old_m.username != new_m.username ||
      old_m.ca_file != new_m.ca_file || old_m.topic_prefix != new_m.topic_prefix ||
      running_secrets.mqtt_password != next_secrets.mqtt_password || old_m.keepalive != new_m.keepalive ||
      old_m.persistent_prompts != new_m.persistent_prompts;
  new_m.url = old_m.url;
  new_m.client_id = old_m.client_id;
  new_m.username = old_m.username;
  new_m.ca_file = old_m.ca_file;
  new_m.topic_prefix = old_m.topic_prefix;
  new_m.keepalive = old_m.keepalive;
  new_m.persistent_prompts = old_m.persistent_prompts;
  next_secrets.mqtt_password = running_secrets.mqtt_password;
  return differed;
}

bool session_needs_renewal(const config::config& next, const config::secrets& next_secrets,
                           const std::string& next_setup, const config::config& running,
                           const config::secrets& running_secrets, const std::string& running_setup) {
  return next_setup != running_setup || next.live.url != running.live.url ||
         next.live.ca_file != running.live.ca_file || next_secrets.api_key != running_secrets.api_key;
}

}  // namespace lb::app
