#include "tools/schema.hpp"
#include "common/json_text.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace lb::tools {
namespace {

std::string where(const std::string& path) {
  return path.empty() ? std::string("arguments") : "argument '" + path + "'";
}

bool type_matches(value_type t, json& v) {
  switch (t) {
    case value_type::object:
      return v.is_object();
    case value_type::string:
      return v.is_string();
    case value_type::boolean:
      return v.is_boolean();
    case value_type::array:
      return v.is_array();
    case value_type::number:
      return v.is_number();
    case value_type::integer:
      if (v.is_number_integer()) return true;
      if (v.is_number_float()) {
        const double d = v.get<double>();
        if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.0e15) {
          v = static_cast<std::int64_t>(d);
          return true;
        }
      }
      return false;
  }
  return false;
}

std::optional<std::string> validate_at(const param_schema& s, json& v, const std::string& path) {
  if (!type_matches(s.type, v)) {
    return where(path) + ": expected " + std::string(type_name(s.type)) + ", got " + json_text(v);
  }
  if (!s.enum_values.empty() &&
      std::find(s.enum_values.begin(), s.enum_values.end(), v) == s.enum_values.end()) {
    std::string allowed;
    for (const auto& e : s.enum_values) allowed += (allowed.empty() ? "" : ", ") + json_text(e);
    return where(path) + ": " + json_text(v) + " is not one of " + allowed;
  }
  if (v.is_number()) {
    const double d = v.get<double>();
    if (s.minimum && d < *s.minimum)
      return where(path) + ": " + json_text(v) + " is below the minimum " + json_text(json(*s.minimum));
    if (s.maximum && d > *s.maximum)
      return where(path) + ": " + json_text(v) + " is above the maximum " + json_text(json(*s.maximum));
  }
  if (s.type == value_type::array && s.items) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (auto err = validate_at(*s.items, v[i], path + "[" + std::to_string(i) + "]")) return err;
    }
  }
  if (s.type == value_type::object) {
    for (const auto& name : s.required) {
      if (!v.contains(name)) {
        return "missing required argument '" + (path.empty() ? name : path + "." + name) + "'";
      }
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string child = path.empty() ? it.key() : path + "." + it.key();
      const param_schema* ps = s.property(it.key());
      if (ps == nullptr) {
        std::string known;
        for (const auto& [name, _] : s.properties) known += (known.empty() ? "" : ", ") + name;
        return "unknown argument '" + child + "'" +
               (known.empty() ? " (this function takes none)" : " (known: " + known + ")");
      }
      if (auto err = validate_at(*ps, it.value(), child)) return err;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<value_type> parse_value_type(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& [n, t] : value_type_names) {
    if (n == lower) return t;
  }
  return std::nullopt;
}

std::string_view type_name(value_type t) {
  for (const auto& [n, type] : value_type_names) {
    if (type == t) return n;
  }
  return "object";
}

const param_schema* param_schema::property(std::string_view name) const {
  for (const auto& [n, s] : properties) {
    if (n == name) return &s;
  }
  return nullptr;
}

std::optional<std::string> validate_arguments(const param_schema& schema, json& value) {
  if (value.is_null()) value = json::object();  // a no-argument call may omit `args`
  return validate_at(schema, value, "");
}

json to_declaration(const param_schema& s) {
  std::string upper(type_name(s.type));
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  json out = {{"type", upper}};
  if (!s.description.empty()) out["description"] = s.description;
  if (!s.enum_values.empty()) {
    // The Live API's Schema takes enums as strings only; numeric enums are still checked here.
    const bool all_strings =
        std::all_of(s.enum_values.begin(), s.enum_values.end(), [](const json& e) { return e.is_string(); });
    if (all_strings) out["enum"] = s.enum_values;
  }
  if (s.minimum) out["minimum"] = *s.minimum;
  if (s.maximum) out["maximum"] = *s.maximum;
  if (s.items) out["items"] = to_declaration(*s.items);
  if (s.type == value_type::object) {
    json props = json::object();
    for (const auto& [name, child] : s.properties) props[name] = to_declaration(child);
    if (!props.empty()) out["properties"] = std::move(props);
    if (!s.required.empty()) out["required"] = s.required;
  }
  return out;
}

}  // namespace lb::tools
