#include "common/log.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <vector>

namespace lb::log {
namespace {

std::atomic<int> g_max_level{static_cast<int>(level::info)};
std::mutex g_mutex;                  // guards g_secrets and the write to stderr
std::vector<std::string> g_secrets;  // never shrinks: secrets stay redacted after a reload

bool is_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// A short secret found at `pos` counts only where it is not part of a longer word: on each side,
// the secret's own edge character or its neighbour in the line is not a letter or digit.
bool stands_alone(const std::string& line, std::size_t pos, const std::string& secret) {
  const std::size_t end = pos + secret.size();
  const bool left = pos == 0 || !is_word_char(secret.front()) || !is_word_char(line[pos - 1]);
  const bool right = end == line.size() || !is_word_char(secret.back()) || !is_word_char(line[end]);
  return left && right;
}

void redact(std::string& line) {
  static constexpr std::string_view mask = "***";
  for (const auto& secret : g_secrets) {
    const bool whole_words_only = secret.size() < min_secret_redacted_everywhere;
    for (auto pos = line.find(secret); pos != std::string::npos;) {
      if (whole_words_only && !stands_alone(line, pos, secret)) {
        pos = line.find(secret, pos + 1);
        continue;
      }
      line.replace(pos, secret.size(), mask);
      pos = line.find(secret, pos + mask.size());
    }
  }
}

void escape_controls(std::string& line) {
  const auto is_control = [](unsigned char c) { return c < 0x20 || c == 0x7f; };
  if (std::none_of(line.begin(), line.end(), is_control)) return;  // the usual line: left as it is
  std::string out;
  out.reserve(line.size());
  for (unsigned char c : line) {
    if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  line.swap(out);
}

}  // namespace

bool parse_level(std::string_view text, level& out) {
  static constexpr std::pair<std::string_view, level> names[] = {
      {"error", level::error}, {"warning", level::warning}, {"notice", level::notice},
      {"info", level::info},   {"debug", level::debug},
  };
  for (const auto& [name, value] : names) {
    if (name == text) {
      out = value;
      return true;
    }
  }
  return false;
}

void set_level(level max_level) {
  g_max_level.store(static_cast<int>(max_level));
}

bool enabled(level l) {
  return static_cast<int>(l) <= g_max_level.load(std::memory_order_relaxed);
}

void add_secret(std::string secret) {
  if (secret.empty()) return;
  std::lock_guard lock(g_mutex);
  if (std::find(g_secrets.begin(), g_secrets.end(), secret) == g_secrets.end()) {
    g_secrets.push_back(std::move(secret));
  }
}

void write(level l, std::string_view event, std::string_view fields) {
  if (!enabled(l)) return;
  std::string line;
  line.reserve(8 + event.size() + fields.size());
  line += event;
  if (!fields.empty()) {
    line += ' ';
    line += fields;
  }
  std::lock_guard lock(g_mutex);
  redact(line);
  escape_controls(line);
  // The journal's priority prefix, 0 to 7, after redaction: a one-digit secret is not a priority.
  const char prefix[] = {'<', static_cast<char>('0' + static_cast<int>(l)), '>'};
  line.insert(0, prefix, sizeof prefix);
  line += '\n';
  // Whole lines under one lock and in as few writes as the pipe takes; a full pipe or a closed
  // stderr loses the line, never the daemon.
  for (std::string_view rest = line; !rest.empty();) {
    const ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string quote(std::string_view value) {
  const bool needs_quotes = value.empty() || value.find_first_of(" \"=\t") != std::string_view::npos;
  if (!needs_quotes) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

std::string abbreviate(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  return std::string(text.substr(0, max_bytes)) + "…(" + std::to_string(text.size() - max_bytes) +
         " more bytes)";
}

}  // namespace lb::log
