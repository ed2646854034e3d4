#include "tools/ack_match.hpp"

#include "common/json_depth.hpp"

#include "common/ascii.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

namespace lb::tools {
namespace {

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool as_number(const json& v, double& out) {
  if (v.is_number()) {
    out = v.get<double>();
    return true;
  }
  if (v.is_string()) {
    const auto text = trimmed(v.get_ref<const std::string&>());
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
  }
  return false;
}

}  // namespace

json payload_to_json(std::string_view payload) {
  // Copies of a report recurse once per level (answers, the state cache): a deeper one stays text.
  if (json_nesting(payload) > max_payload_nesting) return json(std::string(payload));
  auto parsed = json::parse(payload.begin(), payload.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return json(std::string(payload));
  return parsed;
}

bool subset_matches(const json& expected, const json& actual, double tolerance) {
  if (expected.is_object()) {
    if (!actual.is_object()) return false;
    for (auto it = expected.begin(); it != expected.end(); ++it) {
      const auto found = actual.find(it.key());
      if (found == actual.end() || !subset_matches(it.value(), *found, tolerance)) return false;
    }
    return true;
  }
  if (expected.is_array()) {
    if (!actual.is_array() || actual.size() != expected.size()) return false;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      if (!subset_matches(expected[i], actual[i], tolerance)) return false;
    }
    return true;
  }
  if (expected.is_number()) {
    double a = 0;
    if (!as_number(actual, a)) return false;
    return std::fabs(a - expected.get<double>()) <= tolerance;
  }
  if (expected.is_string()) {
    if (actual.is_string()) {
      return ascii_iequals(trimmed(expected.get_ref<const std::string&>()),
                           trimmed(actual.get_ref<const std::string&>()));
    }
    double e = 0;
    double a = 0;
    if (as_number(expected, e) && as_number(actual, a)) return std::fabs(a - e) <= tolerance;
    if (actual.is_boolean())
      return ascii_iequals(trimmed(expected.get_ref<const std::string&>()), actual.dump());
    return false;
  }
  return expected == actual;  // booleans and null
}

}  // namespace lb::tools
