#include "discovery/value_path.hpp"

#include <cctype>

namespace lb::discovery {
namespace {

void skip_spaces(std::string_view& s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
}

bool eat(std::string_view& s, std::string_view word) {
  if (!s.starts_with(word)) return false;
  s.remove_prefix(word.size());
  return true;
}

bool identifier_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// `.name` or `["name"]` / `['name']`; false when neither is next.
bool read_member(std::string_view& s, std::string& out) {
  if (eat(s, ".")) {
    std::size_t n = 0;
    while (n < s.size() && identifier_char(s[n])) ++n;
    if (n == 0 || std::isdigit(static_cast<unsigned char>(s.front()))) return false;
    out.assign(s.substr(0, n));
    s.remove_prefix(n);
    return true;
  }
  if (eat(s, "[")) {
    skip_spaces(s);
    if (s.empty() || (s.front() != '"' && s.front() != '\'')) return false;
    const char quote = s.front();
    s.remove_prefix(1);
    const auto end = s.find(quote);
    if (end == std::string_view::npos || end == 0) return false;
    const std::string_view name = s.substr(0, end);
    if (name.find_first_of("\\{}") != std::string_view::npos) return false;
    out.assign(name);
    s.remove_prefix(end + 1);
    skip_spaces(s);
    return eat(s, "]");
  }
  return false;
}

}  // namespace

std::optional<value_path> parse_value_template(std::string_view text) {
  std::string_view s = text;
  skip_spaces(s);
  if (!eat(s, "{{")) return std::nullopt;
  skip_spaces(s);
  value_path path;
  if (eat(s, "value_json")) {
    std::string member;
    while (!s.empty() && (s.front() == '.' || s.front() == '[')) {
      if (!read_member(s, member)) return std::nullopt;
      path.members.push_back(member);
    }
    if (path.members.empty()) return std::nullopt;
  } else if (!eat(s, "value") || (!s.empty() && identifier_char(s.front()))) {
    return std::nullopt;
  }
  skip_spaces(s);
  if (!eat(s, "}}")) return std::nullopt;
  skip_spaces(s);
  if (!s.empty()) return std::nullopt;
  return path;
}

const json* value_at(const value_path& path, const json& report) {
  const json* at = &report;
  for (const auto& m : path.members) {
    if (!at->is_object()) return nullptr;
    const auto it = at->find(m);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

json expect_at(const value_path& path, json value) {
  for (auto it = path.members.rbegin(); it != path.members.rend(); ++it)
    value = json{{*it, std::move(value)}};
  return value;
}

}  // namespace lb::discovery
