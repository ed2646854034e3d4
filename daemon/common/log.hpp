// Logging for journald: one line per event on stderr, "<N>" syslog priority prefix, a stable
// event name, then key=value fields. No timestamp: journald adds its own.
#pragma once

#include <string>
#include <string_view>

namespace lb::log {

enum class level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

// Parses "error", "warning", "notice", "info", "debug"; false for anything else.
bool parse_level(std::string_view text, level& out);
void set_level(level max_level);
bool enabled(level l);

// Every registered secret is replaced by "***" in every line written afterwards. A secret of at
// least min_secret_redacted_everywhere characters is replaced wherever it appears. A shorter one
// (a weak MQTT password) is replaced only where it stands as a word of its own, not where it is
// part of a longer word: a secret "on" would otherwise garble every "connection" in the log.
// Registered once when a secret is loaded; empty strings are ignored.
inline constexpr std::size_t min_secret_redacted_everywhere = 8;
void add_secret(std::string secret);

// Thread-safe; the line is redacted, and control characters in it are escaped.
void write(level l, std::string_view event, std::string_view fields = {});

inline void error(std::string_view event, std::string_view fields = {}) {
  write(level::error, event, fields);
}
inline void warning(std::string_view event, std::string_view fields = {}) {
  write(level::warning, event, fields);
}
inline void notice(std::string_view event, std::string_view fields = {}) {
  write(level::notice, event, fields);
}
inline void info(std::string_view event, std::string_view fields = {}) {
  write(level::info, event, fields);
}
inline void debug(std::string_view event, std::string_view fields = {}) {
  write(level::debug, event, fields);
}

// A field value, quoted when it holds spaces, quotes or '=' so that lines stay machine-readable.
std::string quote(std::string_view value);

// Returns `text` cut to `max_bytes` with a marker saying how much was left out.
std::string abbreviate(std::string_view text, std::size_t max_bytes);

}  // namespace lb::log
