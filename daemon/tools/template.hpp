// "{{name}}" templates in publish topics and payloads, ack topics and matches.
//
// Names are a tool's declared arguments or the built-ins `call.id` (a number unique to each call,
// used as a Shelly RPC id) and `bridge.client_id`. Rendering never concatenates JSON: a string
// value that is exactly "{{name}}" is replaced by the argument's JSON value (128 stays a number),
// and in a topic an inserted value may not contain '/', '+', '#' or NUL.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace lb::tools {

using json = nlohmann::json;
using variables = std::map<std::string, json, std::less<>>;

struct render_error {
  std::string message;
};

// A string with "{{name}}" placeholders.
class text_template {
 public:
  text_template() = default;
  // Returns an error message for unbalanced braces or an invalid name.
  static std::variant<text_template, std::string> parse(std::string_view text);

  // `for_topic`: inserted values must be non-empty and free of '/', '+', '#' and NUL.
  std::variant<std::string, render_error> render(const variables& vars, bool for_topic) const;

  // The single variable when the whole text is exactly "{{name}}".
  std::optional<std::string> sole_variable() const;
  const std::set<std::string>& names() const { return names_; }
  const std::string& source() const { return source_; }
  bool has_variables() const { return !names_.empty(); }

  // The topic as an MQTT subscription filter: every level holding a placeholder becomes '+'.
  std::string as_subscription_filter() const;

 private:
  struct piece {
    bool is_variable;
    std::string text;  // literal text or variable name
  };
  std::vector<piece> pieces_;
  std::set<std::string> names_;
  std::string source_;
};

// A JSON document whose string leaves may hold placeholders.
class json_template {
 public:
  json_template() = default;
  static std::variant<json_template, std::string> parse(const json& doc);

  // Leaves that are exactly "{{name}}" take the variable's JSON value; an object member whose
  // variable is absent (an optional argument not given) is left out.
  std::variant<json, render_error> render(const variables& vars) const;

  const std::set<std::string>& names() const { return names_; }
  const json& source() const { return doc_; }

 private:
  json doc_;
  std::set<std::string> names_;
};

// A payload is sent as JSON when declared as a mapping/sequence/number/bool, as raw text when
// declared as a string.
class payload_template {
 public:
  payload_template() = default;
  explicit payload_template(text_template t) : value_(std::move(t)) {}
  explicit payload_template(json_template t) : value_(std::move(t)) {}

  std::variant<std::string, render_error> render(const variables& vars) const;
  std::set<std::string> names() const;
  bool is_json() const { return std::holds_alternative<json_template>(value_); }

 private:
  std::variant<text_template, json_template> value_;
};

// Textual form of a value inside a larger string: strings as-is, integral numbers without ".0".
std::string value_to_text(const json& v);

// True for names the template engine supplies itself.
bool is_builtin_variable(std::string_view name);

// Checks a rendered topic for publishing: non-empty, no wildcards, no NUL, at most 65535 bytes.
std::optional<std::string> check_publish_topic(std::string_view topic);

}  // namespace lb::tools
