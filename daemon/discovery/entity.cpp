#include "discovery/entity.hpp"

#include <map>

#include "common/ascii.hpp"
#include "common/json_depth.hpp"

namespace lb::discovery {
namespace {

// Home Assistant's abbreviations for the options livebridge reads or passes on; an unknown short
// key stays as it is (it then matches no option, exactly as in Home Assistant).
const std::map<std::string_view, std::string_view>& option_names() {
  static const std::map<std::string_view, std::string_view> names{
      {"avty", "availability"},
      {"avty_mode", "availability_mode"},
      {"avty_t", "availability_topic"},
      {"avty_tpl", "availability_template"},
      {"bri_cmd_t", "brightness_command_topic"},
      {"bri_cmd_tpl", "brightness_command_template"},
      {"bri_scl", "brightness_scale"},
      {"bri_stat_t", "brightness_state_topic"},
      {"bri_val_tpl", "brightness_value_template"},
      {"cmd_t", "command_topic"},
      {"cmd_tpl", "command_template"},
      {"cmps", "components"},
      {"cod_arm_req", "code_arm_required"},
      {"cod_dis_req", "code_disarm_required"},
      {"dev", "device"},
      {"dev_cla", "device_class"},
      {"e", "encoding"},
      {"ent_cat", "entity_category"},
      {"json_attr_t", "json_attributes_topic"},
      {"json_attr_tpl", "json_attributes_template"},
      {"o", "origin"},
      {"obj_id", "object_id"},
      {"on_cmd_type", "on_command_type"},
      {"opt", "optimistic"},
      {"p", "platform"},
      {"pl_arm_away", "payload_arm_away"},
      {"pl_arm_home", "payload_arm_home"},
      {"pl_arm_nite", "payload_arm_night"},
      {"pl_avail", "payload_available"},
      {"pl_cls", "payload_close"},
      {"pl_disarm", "payload_disarm"},
      {"pl_lock", "payload_lock"},
      {"pl_not_avail", "payload_not_available"},
      {"pl_off", "payload_off"},
      {"pl_on", "payload_on"},
      {"pl_open", "payload_open"},
      {"pl_stop", "payload_stop"},
      {"pl_unlk", "payload_unlock"},
      {"pos_clsd", "position_closed"},
      {"pos_open", "position_open"},
      {"pos_t", "position_topic"},
      {"pos_tpl", "position_template"},
      {"ret", "retain"},
      {"set_pos_t", "set_position_topic"},
      {"set_pos_tpl", "set_position_template"},
      {"stat_cla", "state_class"},
      {"stat_clsd", "state_closed"},
      {"stat_closing", "state_closing"},
      {"stat_jam", "state_jammed"},
      {"stat_locked", "state_locked"},
      {"stat_locking", "state_locking"},
      {"stat_off", "state_off"},
      {"stat_on", "state_on"},
      {"stat_open", "state_open"},
      {"stat_opening", "state_opening"},
      {"stat_stopped", "state_stopped"},
      {"stat_t", "state_topic"},
      {"stat_tpl", "state_template"},
      {"stat_unlocked", "state_unlocked"},
      {"stat_unlocking", "state_unlocking"},
      {"stat_val_tpl", "state_value_template"},
      {"sup_clrm", "supported_color_modes"},
      {"sup_feat", "supported_features"},
      {"uniq_id", "unique_id"},
      {"unit_of_meas", "unit_of_measurement"},
      {"val_tpl", "value_template"},
  };
  return names;
}

const std::map<std::string_view, std::string_view>& device_names() {
  static const std::map<std::string_view, std::string_view> names{
      {"cns", "connections"},   {"ids", "identifiers"}, {"mf", "manufacturer"}, {"mdl", "model"},
      {"sa", "suggested_area"}, {"sw", "sw_version"},   {"hw", "hw_version"},
  };
  return names;
}

const std::map<std::string_view, std::string_view>& origin_names() {
  static const std::map<std::string_view, std::string_view> names{{"sw", "sw_version"},
                                                                  {"url", "support_url"}};
  return names;
}

const std::map<std::string_view, std::string_view>& availability_names() {
  static const std::map<std::string_view, std::string_view> names{{"t", "topic"},
                                                                  {"pl_avail", "payload_available"},
                                                                  {"pl_not_avail", "payload_not_available"},
                                                                  {"val_tpl", "value_template"}};
  return names;
}

json expand_keys(const json& object, const std::map<std::string_view, std::string_view>& names) {
  json out = json::object();
  for (auto it = object.begin(); it != object.end(); ++it) {
    const auto full = names.find(it.key());
    out[full == names.end() ? it.key() : std::string(full->second)] = it.value();
  }
  return out;
}

// Full key names at every level livebridge reads.
json expand(const json& object) {
  json out = expand_keys(object, option_names());
  if (auto d = out.find("device"); d != out.end() && d->is_object()) *d = expand_keys(*d, device_names());
  if (auto o = out.find("origin"); o != out.end() && o->is_object()) *o = expand_keys(*o, origin_names());
  if (auto a = out.find("availability"); a != out.end() && a->is_array()) {
    for (auto& entry : *a)
      if (entry.is_object()) entry = expand_keys(entry, availability_names());
  }
  if (auto c = out.find("components"); c != out.end() && c->is_object()) {
    for (auto& [id, cmp] : c->items())
      if (cmp.is_object()) cmp = expand(cmp);
  }
  return out;
}

std::string resolve_base(const std::string& value, const std::string& base) {
  if (base.empty() || value.empty()) return value;
  if (value.front() == '~') return base + value.substr(1);
  if (value.back() == '~') return value.substr(0, value.size() - 1) + base;
  return value;
}

void resolve_bases(json& options) {
  const auto tilde = options.find("~");
  if (tilde == options.end() || !tilde->is_string()) return;
  const std::string base = tilde->get<std::string>();
  for (auto& [key, value] : options.items()) {
    if (key.ends_with("topic") && value.is_string()) value = resolve_base(value.get<std::string>(), base);
  }
  if (auto a = options.find("availability"); a != options.end() && a->is_array()) {
    for (auto& entry : *a) {
      if (!entry.is_object()) continue;
      if (auto t = entry.find("topic"); t != entry.end() && t->is_string())
        *t = resolve_base(t->get<std::string>(), base);
    }
  }
}

std::string string_of(const json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  if (it == object.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number() || it->is_boolean()) return it->dump();
  return {};
}

availability_source read_availability(const json& entry, const std::string& available,
                                      const std::string& not_available, const char* template_key) {
  availability_source a;
  a.topic = string_of(entry, "topic");
  a.available = available;
  a.not_available = not_available;
  if (const std::string t = string_of(entry, template_key); !t.empty()) {
    a.value = parse_value_template(t);
    if (!a.value) a.unsupported_template = t;
  } else {
    a.value = value_path{};
  }
  return a;
}

std::string friendly_name(const json& options, const std::string& device_name, const std::string& fallback) {
  const auto n = options.find("name");
  if (n != options.end() && n->is_null()) return device_name.empty() ? fallback : device_name;
  const std::string own = n != options.end() && n->is_string() ? n->get<std::string>() : std::string();
  if (own.empty()) return device_name.empty() ? fallback : device_name;
  if (device_name.empty() ||
      (own.size() >= device_name.size() && ascii_iequals(own.substr(0, device_name.size()), device_name)))
    return own;
  return device_name + " " + own;
}

// A topic livebridge may subscribe to and publish on: one topic, never a filter.
bool plain_topic(const std::string& t) {
  return !t.empty() && t.size() <= 65535 && t.find_first_of(std::string("+#\0", 3)) == std::string::npos;
}

void read_entity(parsed_config& out, const std::string& config_topic, component kind, json options,
                 const std::string& fallback_name) {
  resolve_bases(options);
  // Every topic of the message becomes a subscription or a command topic: a wildcard would
  // subscribe livebridge to what it never asked for (its own prompts among them).
  std::vector<std::string> topics;
  for (const auto& [key, value] : options.items())
    if (key.ends_with("topic") && value.is_string()) topics.push_back(value.get<std::string>());
  if (const auto a = options.find("availability"); a != options.end() && a->is_array()) {
    for (const auto& entry : *a)
      if (entry.is_object() && entry.contains("topic") && entry["topic"].is_string())
        topics.push_back(entry["topic"].get<std::string>());
  }
  for (const auto& t : topics) {
    if (!plain_topic(t)) {
      out.problems.push_back(config_topic + ": the topic \"" + t +
                             "\" is empty or holds a wildcard; the entity is ignored");
      return;
    }
  }
  entity e;
  e.config_topic = config_topic;
  e.kind = kind;
  e.unique_id = string_of(options, "unique_id");
  const auto device = options.find("device");
  e.device_name = device != options.end() ? string_of(*device, "name") : std::string();
  e.name = friendly_name(options, e.device_name, fallback_name);
  e.device_class = string_of(options, "device_class");
  if (const std::string mode = string_of(options, "availability_mode"); !mode.empty())
    e.availability_mode = mode;
  const std::string shared_available =
      options.contains("payload_available") ? string_of(options, "payload_available") : "online";
  const std::string shared_not_available =
      options.contains("payload_not_available") ? string_of(options, "payload_not_available") : "offline";
  if (const auto list = options.find("availability"); list != options.end() && list->is_array()) {
    for (const auto& entry : *list) {
      if (!entry.is_object()) continue;
      const std::string available =
          entry.contains("payload_available") ? string_of(entry, "payload_available") : "online";
      const std::string not_available =
          entry.contains("payload_not_available") ? string_of(entry, "payload_not_available") : "offline";
      auto a = read_availability(entry, available, not_available, "value_template");
      if (!a.topic.empty()) e.availability.push_back(std::move(a));
    }
  } else if (options.contains("availability_topic")) {
    json entry{{"topic", string_of(options, "availability_topic")}};
    if (options.contains("availability_template"))
      entry["availability_template"] = string_of(options, "availability_template");
    auto a = read_availability(entry, shared_available, shared_not_available, "availability_template");
    if (!a.topic.empty()) e.availability.push_back(std::move(a));
  }
  e.options = std::move(options);
  out.entities.push_back(std::move(e));
}

}  // namespace

std::optional<component> parse_component(std::string_view name) {
  for (const auto& [spelling, value] : component_spellings)
    if (spelling == name) return value;
  return std::nullopt;
}

std::string_view component_name(component c) {
  for (const auto& [spelling, value] : component_spellings)
    if (value == c) return spelling;
  return "?";
}

std::string entity::text(const char* key, std::string_view fallback) const {
  const auto it = options.find(key);
  if (it == options.end() || it->is_null()) return std::string(fallback);
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number() || it->is_boolean()) return it->dump();
  return std::string(fallback);
}

bool entity::flag(const char* key, bool fallback) const {
  const auto it = options.find(key);
  return it != options.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

std::optional<value_path> entity::path(const char* key, bool* absent) const {
  const std::string t = text(key);
  if (absent != nullptr) *absent = t.empty();
  if (t.empty()) return std::nullopt;
  return parse_value_template(t);
}

parsed_config parse_config(std::string_view prefix, std::string_view topic, std::string_view payload) {
  parsed_config out;
  if (payload.empty()) return out;
  // <prefix>/<component>/[<node_id>/]<object_id>/config
  std::vector<std::string_view> levels;
  std::string_view rest = topic.substr(std::min(topic.size(), prefix.size() + 1));
  for (std::size_t at = 0; at <= rest.size();) {
    const auto slash = rest.find('/', at);
    const auto end = slash == std::string_view::npos ? rest.size() : slash;
    levels.push_back(rest.substr(at, end - at));
    at = end + 1;
  }
  if (levels.size() < 3 || levels.size() > 4 || levels.back() != "config") return out;
  const std::string_view kind_text = levels.front();
  const std::string object_id(levels[levels.size() - 2]);
  const std::string config_topic(topic);

  if (payload.size() > max_config_bytes || json_nesting(payload) > max_payload_nesting) {
    out.problems.push_back(config_topic +
                           ": larger or more deeply nested than any discovery message; ignored");
    return out;
  }
  const json doc = json::parse(payload, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    out.problems.push_back(config_topic + ": not a JSON object; ignored");
    return out;
  }
  json options = expand(doc);
  if (kind_text == "device") {
    const auto cmps = options.find("components");
    if (cmps == options.end() || !cmps->is_object()) {
      out.problems.push_back(config_topic + ": a device message without components; ignored");
      return out;
    }
    json shared = options;
    shared.erase("components");
    for (const auto& [id, cmp] : cmps->items()) {
      if (!cmp.is_object()) continue;
      const auto kind = parse_component(string_of(cmp, "platform"));
      if (!kind) continue;  // a kind of entity livebridge has no tool for
      json merged = cmp;
      for (const auto& [key, value] : shared.items())
        if (!merged.contains(key)) merged[key] = value;
      read_entity(out, config_topic, *kind, std::move(merged), id);
    }
    return out;
  }
  const auto kind = parse_component(kind_text);
  if (!kind) return out;
  read_entity(out, config_topic, *kind, std::move(options), object_id);
  return out;
}

}  // namespace lb::discovery
