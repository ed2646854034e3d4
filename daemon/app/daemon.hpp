// The run of the service: the bridge on one io thread, SIGTERM/SIGINT to stop, SIGHUP to reload,
// and the service manager told about each (READY=1, RELOADING=1, STOPPING=1, STATUS=).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/secrets.hpp"

namespace lb::app {

// What a reload found in the file: a config and its secrets to apply, or the problems that keep
// the running config in effect.
struct reload_candidate {
  std::optional<config::config> cfg;  // set only when `problems` is empty
  config::secrets secrets;
  std::vector<std::string> problems;
};
// Reads and checks `config_path` again (warnings are logged here, problems are returned).
reload_candidate load_for_reload(const std::string& config_path);

// Runs until SIGTERM or SIGINT; returns the exit code. Throws only for a broken environment at
// start-up (a PEM file that cannot be loaded), which main reports. `dry_run_flag` (--dry-run)
// holds for every config a reload reads, whatever the file says.
int run_daemon(const std::string& config_path, config::config cfg, config::secrets secrets,
               bool dry_run_flag = false);

}  // namespace lb::app
