// Checks made before the daemon starts that the config alone cannot answer: can the daemon write
// where the config says it will? Under the packaged unit (ProtectSystem=strict) only the state
// directory is writable, so a directory elsewhere passes the config loader and then every write
// fails at run time, turn after turn.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace lb::app {

// A directory the daemon writes to, with the config field that chose it.
struct written_directory {
  std::string field;  // "live.state_directory", "live.audio.directory"
  std::string path;
  bool is_default = false;  // not set in the file: derived from $STATE_DIRECTORY
};

// The directories this config makes the daemon write to, resolved as the daemon resolves them:
// the state directory (the session handle, only with session_resumption) and the directory of
// spoken answers (only with response_modality AUDIO). Empty paths are left out.
std::vector<written_directory> written_directories(const config::config& cfg);

// Creates each missing directory, as the daemon would on its first write, and creates and removes
// a file in it, so the answer is the one the daemon will get now (a read-only mount, permissions,
// a file in the way). One message per directory that cannot be written: the field, the path, why,
// and how to fix it. Empty when everything is writable.
std::vector<std::string> check_writable_directories(const config::config& cfg);

}  // namespace lb::app
