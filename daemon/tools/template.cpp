#include "tools/template.hpp"
#include "common/json_text.hpp"

#include <cmath>

namespace lb::tools {
namespace {

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

void collect_names(const json& doc, std::set<std::string>& names, std::string& error) {
  if (doc.is_string()) {
    auto parsed = text_template::parse(doc.get_ref<const std::string&>());
    if (auto* msg = std::get_if<std::string>(&parsed)) {
      if (error.empty()) error = *msg;
      return;
    }
    for (const auto& n : std::get<text_template>(parsed).names()) names.insert(n);
  } else if (doc.is_structured()) {
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      if (doc.is_object()) {
        if (it.key().find("{{") != std::string::npos && error.empty())
          error = "placeholders are not allowed in keys";
      }
      collect_names(it.value(), names, error);
    }
  }
}

std::optional<render_error> render_into(const json& src, const variables& vars, json& out) {
  if (src.is_string()) {
    auto parsed = std::get<text_template>(text_template::parse(src.get_ref<const std::string&>()));
    if (auto sole = parsed.sole_variable()) {
      const auto it = vars.find(*sole);
      if (it == vars.end()) return render_error{"missing argument '" + *sole + "'"};
      out = it->second;
      return std::nullopt;
    }
    auto rendered = parsed.render(vars, false);
    if (auto* err = std::get_if<render_error>(&rendered)) return *err;
    out = std::move(std::get<std::string>(rendered));
    return std::nullopt;
  }
  if (src.is_object()) {
    out = json::object();
    for (auto it = src.begin(); it != src.end(); ++it) {
      // An optional argument that was not given leaves its member out instead of failing.
      if (it.value().is_string()) {
        auto parsed = std::get<text_template>(text_template::parse(it.value().get_ref<const std::string&>()));
        if (auto sole = parsed.sole_variable(); sole && !vars.contains(*sole)) continue;
      }
      json child;
      if (auto err = render_into(it.value(), vars, child)) return err;
      out[it.key()] = std::move(child);
    }
    return std::nullopt;
  }
  if (src.is_array()) {
    out = json::array();
    for (const auto& element : src) {
      json child;
      if (auto err = render_into(element, vars, child)) return err;
      out.push_back(std::move(child));
    }
    return std::nullopt;
  }
  out = src;
  return std::nullopt;
}

}  // namespace

std::variant<text_template, std::string> text_template::parse(std::string_view text) {
  text_template t;
  t.source_ = std::string(text);
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      t.pieces_.push_back({false, std::string(text.substr(pos))});
      break;
    }
    if (open > pos) t.pieces_.push_back({false, std::string(text.substr(pos, open - pos))});
    const auto close = text.find("}}", open + 2);
    if (close == std::string_view::npos) return "unclosed '{{' in \"" + std::string(text) + "\"";
    const auto name = trim(text.substr(open + 2, close - open - 2));
    if (!valid_name(name))
      return "invalid placeholder name '" + std::string(name) + "' in \"" + std::string(text) + "\"";
    t.pieces_.push_back({true, std::string(name)});
    t.names_.insert(std::string(name));
    pos = close + 2;
  }
  return t;
}

std::variant<std::string, render_error> text_template::render(const variables& vars, bool for_topic) const {
  std::string out;
  for (const auto& p : pieces_) {
    if (!p.is_variable) {
      out += p.text;
      continue;
    }
    const auto it = vars.find(p.text);
    if (it == vars.end()) return render_error{"missing argument '" + p.text + "'"};
    std::string value = value_to_text(it->second);
    if (for_topic) {
      if (value.empty())
        return render_error{"argument '" + p.text + "' is empty and cannot name a topic level"};
      if (value.find_first_of(std::string_view("/+#\0", 4)) != std::string::npos) {
        return render_error{"argument '" + p.text +
                            "' may not contain '/', '+', '#' or NUL (it is used in an MQTT topic)"};
      }
    }
    out += value;
  }
  return out;
}

std::optional<std::string> text_template::sole_variable() const {
  if (pieces_.size() == 1 && pieces_[0].is_variable) return pieces_[0].text;
  return std::nullopt;
}

std::string text_template::as_subscription_filter() const {
  std::string out;
  std::size_t level_start = 0;
  bool level_has_variable = false;
  std::string rendered;
  for (const auto& p : pieces_) {
    if (p.is_variable) {
      rendered += '\x01';  // marker: a placeholder sits in this level
    } else {
      rendered += p.text;
    }
  }
  for (std::size_t i = 0; i <= rendered.size(); ++i) {
    if (i == rendered.size() || rendered[i] == '/') {
      if (!out.empty() || level_start > 0) out += '/';
      out += level_has_variable ? std::string("+") : rendered.substr(level_start, i - level_start);
      level_start = i + 1;
      level_has_variable = false;
    } else if (rendered[i] == '\x01') {
      level_has_variable = true;
    }
  }
  return out;
}

std::variant<json_template, std::string> json_template::parse(const json& doc) {
  json_template t;
  t.doc_ = doc;
  std::string error;
  collect_names(doc, t.names_, error);
  if (!error.empty()) return error;
  return t;
}

std::variant<json, render_error> json_template::render(const variables& vars) const {
  json out;
  if (auto err = render_into(doc_, vars, out)) return *err;
  return out;
}

std::variant<std::string, render_error> payload_template::render(const variables& vars) const {
  if (const auto* text = std::get_if<text_template>(&value_)) return text->render(vars, false);
  auto rendered = std::get<json_template>(value_).render(vars);
  if (auto* err = std::get_if<render_error>(&rendered)) return *err;
  return json_text(std::get<json>(rendered));
}

std::set<std::string> payload_template::names() const {
  return std::visit([](const auto& t) { return t.names(); }, value_);
}

std::string value_to_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.0e15)
      return std::to_string(static_cast<long long>(d));
  }
  return json_text(v);
}

bool is_builtin_variable(std::string_view name) {
  return name == "call.id" || name == "bridge.client_id";
}

std::optional<std::string> check_publish_topic(std::string_view topic) {
  if (topic.empty()) return "the topic is empty";
  if (topic.size() > 65535) return "the topic is longer than 65535 bytes";
  if (topic.find_first_of(std::string_view("+#\0", 3)) != std::string_view::npos) {
    return "the topic \"" + std::string(topic) + "\" contains a wildcard or NUL";
  }
  return std::nullopt;
}

}  // namespace lb::tools
