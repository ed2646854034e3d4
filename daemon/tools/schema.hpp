// The JSON-Schema subset a tool's parameters are declared in, how arguments from the model are
// checked against it, and how it is sent to the Live API (OpenAPI-style, upper-case types).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace lb::tools {

using json = nlohmann::json;

enum class value_type { object, string, number, integer, boolean, array };

// The one table of type names, read in both directions (and listed in the config's JSON Schema).
inline constexpr std::pair<std::string_view, value_type> value_type_names[] = {
    {"object", value_type::object},   {"string", value_type::string},   {"number", value_type::number},
    {"integer", value_type::integer}, {"boolean", value_type::boolean}, {"array", value_type::array},
};

// "object", "STRING", ... (either case); nullopt for anything else.
std::optional<value_type> parse_value_type(std::string_view name);
std::string_view type_name(value_type t);  // lower-case, as users write it

struct named_schema;

struct param_schema {
  value_type type = value_type::object;
  std::string description;
  std::vector<named_schema> properties;  // declaration order is kept
  std::vector<std::string> required;
  std::vector<json> enum_values;  // empty = any value of `type`
  std::optional<double> minimum;
  std::optional<double> maximum;
  std::shared_ptr<const param_schema> items;  // arrays only; null = any items

  const param_schema* property(std::string_view name) const;
};

// A declared property: std::pair cannot hold the still incomplete param_schema, a struct can.
struct named_schema {
  std::string name;
  param_schema schema;
};

// Checks `value` (the model's arguments) against `schema`. Returns a message the model can act on
// ("argument 'level': 300 is above the maximum 254"), or nullopt when valid. Integral numbers sent
// as doubles (128.0) are normalised to integers in place, since the Live API carries arguments as
// a protobuf Struct whose numbers are all doubles. Arguments not declared are rejected.
std::optional<std::string> validate_arguments(const param_schema& schema, json& value);

// The `parameters` object of a functionDeclaration.
json to_declaration(const param_schema& schema);

}  // namespace lb::tools
