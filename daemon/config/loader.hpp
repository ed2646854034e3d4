// Reads and validates the YAML config completely, collecting every problem with its position.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace lb::config {

struct diagnostic {
  std::string file;
  int line = 0;  // 1-based; 0 when the problem has no position (e.g. the file is missing)
  int column = 0;
  std::string key_path;  // "tools[2].ack.timeout"
  std::string message;   // "expected a duration such as \"5s\", found \"fast\""

  // "file:line:col: key_path: message"
  std::string to_string() const;
};

struct load_result {
  std::optional<config> cfg;  // set only when there are no errors
  std::vector<diagnostic> errors;
  std::vector<diagnostic> warnings;
};

load_result load_file(const std::string& path);
load_result load_text(std::string_view yaml, const std::string& source_name);

}  // namespace lb::config
