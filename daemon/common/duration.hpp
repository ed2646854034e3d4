// Durations as written in the config: "250ms", "5s", "2m", "1h", or a plain number of seconds.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace lb {

using millis = std::chrono::milliseconds;

// Returns nullopt for anything that is not a non-negative duration in one of the forms above.
std::optional<millis> parse_duration(std::string_view text);

// "250ms", "5s", "1.5s": the inverse of parse_duration for human-readable messages.
std::string format_duration(millis d);

}  // namespace lb
