// `livebridge audit`: the audit trail for a person, as JSON lines, or checked link by link.
#pragma once

#include <chrono>
#include <cstdio>
#include <optional>
#include <string_view>

#include "config/config.hpp"

namespace lb::app {

struct audit_cli_options {
  std::optional<std::chrono::milliseconds> since;  // only records this recent
  bool json = false;                               // the records as stored, one JSON line each
  bool verify = false;                             // check the chain instead of printing it
};

// "90s", "30m", "1h", "2d": how far back --since reaches; nullopt for anything else.
std::optional<std::chrono::milliseconds> parse_since(std::string_view text);

// Exit codes: 0 printed (or the chain is intact), 1 the chain is broken, 66 there is no trail.
// The directory is trust.audit.directory, else the state directory, else the service's
// /var/lib/livebridge (a shell has no $STATE_DIRECTORY).
int run_audit(const config::config& cfg, const audit_cli_options& o, std::FILE* out = stdout,
              std::FILE* err = stderr);

}  // namespace lb::app
