#include "config/json_schema.hpp"

#include <cctype>
#include <span>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/duration.hpp"
#include "config/keys.hpp"

namespace lb::config {
namespace {

using schema = nlohmann::ordered_json;  // keys in the tables' order, as a person reads them
using keys::kind;

// What parse_duration takes: digits with at most one '.', an optional unit, spaces around it.
constexpr std::string_view duration_pattern = "^ *([0-9]+\\.?[0-9]*|\\.[0-9]+)(ms|s|m|min|h)? *$";
constexpr std::string_view parameter_definition = "#/definitions/parameter";

// ECMA-262 has no case-insensitive flag inside a pattern: each letter becomes [xX].
std::string any_case_pattern(std::span<const std::string_view> names) {
  std::string out = "^(";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += '|';
    for (const char c : names[i]) {
      const auto u = static_cast<unsigned char>(c);
      if (std::isalpha(u)) {
        out += '[';
        out += static_cast<char>(std::tolower(u));
        out += static_cast<char>(std::toupper(u));
        out += ']';
      } else {
        out += c;
      }
    }
  }
  return out + ")$";
}

schema choice_schema(std::span<const std::string_view> names, bool any_case) {
  schema listed = schema::object();
  listed["enum"] = schema::array();
  for (const auto name : names) listed["enum"].push_back(name);
  if (!any_case) return listed;
  // The enum offers the spellings for completion; the pattern accepts what the loader accepts.
  schema spelled = {{"type", "string"}, {"pattern", any_case_pattern(names)}};
  return {{"anyOf", schema::array({listed, spelled})}};
}

// Seconds as the plain-number form of a duration takes them.
schema seconds(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return d.count() / 1000;
  return static_cast<double>(d.count()) / 1000.0;
}

schema value_schema(const keys::key& k, std::string& description);

schema with_description(const keys::key& k) {
  std::string description(k.description);
  schema value = value_schema(k, description);
  schema out = schema::object();
  if (!description.empty()) out["description"] = description;
  for (auto& [name, v] : value.items()) out[name] = std::move(v);
  return out;
}

// `needed`: whether the keys the table marks as needed are required (a tool's top-level
// parameters have no required type).
schema object_schema(const keys::section& s, bool needed = true) {
  schema out = {{"type", "object"}};
  schema properties = schema::object();
  schema required = schema::array();
  for (const keys::key& k : s.keys) {
    properties[std::string(k.name)] = with_description(k);
    if (k.required) required.push_back(k.name);
  }
  out["properties"] = std::move(properties);
  out["additionalProperties"] = false;  // the loader refuses unknown keys
  if (needed && !required.empty()) out["required"] = std::move(required);
  if (!s.exactly_one_of.empty()) {
    schema one_of = schema::array();
    for (const auto name : s.exactly_one_of) one_of.push_back({{"required", {name}}});
    out["oneOf"] = std::move(one_of);
  }
  return out;
}

schema value_schema(const keys::key& k, std::string& description) {
  switch (k.type) {
    case kind::text: {
      // read_string takes any scalar: `client_id: 1234` is the text "1234".
      schema out = {{"type", {"string", "number", "boolean"}}};
      if (!k.pattern.empty()) out["pattern"] = k.pattern;
      if (k.min_length > 0) out["minLength"] = k.min_length;
      if (k.max_length > 0) out["maxLength"] = k.max_length;
      return out;
    }
    case kind::integer:
      return {{"type", "integer"}, {"minimum", k.min}, {"maximum", k.max}};
    case kind::number: {
      schema out = {{"type", "number"}};
      if (k.minimum) out["minimum"] = *k.minimum;
      return out;
    }
    case kind::duration: {
      // A pattern cannot hold the range of a written duration; the description does.
      description += " (" + format_duration(k.min_duration) + " to " + format_duration(k.max_duration) + ")";
      schema written = {{"type", "string"}, {"pattern", duration_pattern}};
      schema plain = {
          {"type", "number"}, {"minimum", seconds(k.min_duration)}, {"maximum", seconds(k.max_duration)}};
      return {{"anyOf", schema::array({written, plain})}};
    }
    case kind::boolean:
      return {{"type", "boolean"}};
    case kind::choice:
      return choice_schema(k.choices, k.any_case);
    case kind::mapping: {
      schema out = object_schema(*k.fields);
      if (k.min_size > 0) out["minProperties"] = k.min_size;
      return out;
    }
    case kind::list: {
      schema out = {{"type", "array"}, {"items", with_description(*k.element)}};
      if (k.min_size > 0) out["minItems"] = k.min_size;
      if (k.unique) out["uniqueItems"] = true;
      return out;
    }
    case kind::one_or_list: {
      const schema one = with_description(*k.element);
      schema several = {{"type", "array"}, {"minItems", 1}, {"items", one}};
      return {{"anyOf", schema::array({one, several})}};
    }
    case kind::named: {
      schema out = {{"type", "object"}, {"additionalProperties", with_description(*k.element)}};
      if (k.min_size > 0) out["minProperties"] = k.min_size;
      return out;
    }
    case kind::any:
      return schema::object();
    case kind::parameter:
      return {{"allOf", schema::array({{{"$ref", parameter_definition}}})}};
    case kind::function_parameters: {
      // The loader's read_schema with `top`: the type may be left out, and is object if given.
      schema out = object_schema(keys::parameter, false);
      constexpr std::string_view object[] = {"object"};
      schema type = {{"description", "A function's parameters are an object"}};
      schema object_only = choice_schema(object, true);
      for (auto& [name, v] : object_only.items()) type[name] = std::move(v);
      out["properties"]["type"] = std::move(type);
      return out;
    }
  }
  return schema::object();
}

}  // namespace

std::string json_schema_text() {
  schema out = {{"$schema", "http://json-schema.org/draft-07/schema#"},
                {"title", "livebridge configuration"},
                {"description",
                 "livebridge's YAML config (/etc/livebridge/livebridge.yaml), made by livebridge "
                 "--print-config-schema from the loader's own key tables. livebridge --check-config also "
                 "checks what a schema cannot: placeholders, URLs, rules between keys."}};
  schema file = object_schema(keys::root);
  for (auto& [name, v] : file.items()) out[name] = std::move(v);
  schema parameter = {{"description", "A parameter's declaration, a JSON-Schema subset"}};
  schema parameter_keys = object_schema(keys::parameter);
  for (auto& [name, v] : parameter_keys.items()) parameter[name] = std::move(v);
  out["definitions"] = {{"parameter", std::move(parameter)}};
  return out.dump(2) + "\n";
}

}  // namespace lb::config
