#include "discovery/device_tools.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "common/ascii.hpp"
#include "common/json_access.hpp"
#include "common/json_text.hpp"

namespace lb::discovery {
namespace {

using tools::json;
using tools::resolved_command;

bool glob_matches(std::string_view pattern, std::string_view text) {
  // Iterative '*' / '?' matching without case, backtracking to the last '*'.
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  const auto same = [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  };
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || same(pattern[p], text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool matches_any(const std::vector<std::string>& patterns, const entity& e) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
    return glob_matches(p, e.name) || (!e.device_name.empty() && glob_matches(p, e.device_name)) ||
           glob_matches(p, e.config_topic) || glob_matches(p, e.text("command_topic")) ||
           glob_matches(p, e.text("state_topic"));
  });
}

bool json_schema(const entity& e) {
  return e.kind == component::light && e.text("schema", "default") == "json";
}

// The template that reads the entity's state from its state topic.
const char* state_template_key(const entity& e) {
  return e.kind == component::light ? "state_value_template" : "value_template";
}

// Why the entity's own report cannot acknowledge a command, or empty when it can.
std::string unverifiable_reason(const entity& e) {
  if (e.text("state_topic").empty()) return "it has no state topic (Home Assistant runs it optimistically)";
  if (json_schema(e)) return {};
  bool absent = false;
  if (!e.path(state_template_key(e), &absent) && !absent)
    return std::string("its ") + state_template_key(e) + " \"" + e.text(state_template_key(e)) +
           "\" is Jinja that livebridge does not evaluate";
  return {};
}

// A command payload Home Assistant would render with Jinja; livebridge sends payloads as given.
std::string command_template_of(const entity& e) {
  for (const char* key : {"command_template", "brightness_command_template"})
    if (std::string t = e.text(key); !t.empty()) return t;
  return {};
}

bool lookable(const entity& e) {
  return !e.text("state_topic").empty();
}

bool can_dim(const entity& e) {
  if (json_schema(e)) {
    if (e.flag("brightness", false)) return true;
    const auto modes = e.options.find("supported_color_modes");
    if (modes == e.options.end() || !modes->is_array()) return false;
    return std::any_of(modes->begin(), modes->end(),
                       [](const json& m) { return m.is_string() && m.get<std::string>() != "onoff"; });
  }
  return !e.text("brightness_command_topic").empty();
}

int brightness_scale(const entity& e) {
  const auto it = e.options.find("brightness_scale");
  if (it != e.options.end() && it->is_number() && it->get<double>() >= 1 && it->get<double>() <= 65535)
    return static_cast<int>(it->get<double>());
  return 255;
}

std::string ascii_lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::erase(s, ' ');
  return s;
}

bool risky(const entity& e, std::string_view action) {
  static const std::set<std::string, std::less<>> guarded_covers{"door", "garage", "gate", "window"};
  switch (e.kind) {
    case component::lock:
      return action == "unlock";
    case component::cover:
      return action == "open" && guarded_covers.contains(ascii_lower(e.device_class));
    case component::alarm_control_panel:
      return action == "disarm";
    default:
      return false;
  }
}

bool has_risky_action(const entity& e) {
  for (const char* a : {"unlock", "open", "disarm"})
    if (risky(e, a)) return true;
  return false;
}

std::string value_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return json_text(v);
}

// Why `e` cannot be used now, from its availability reports, or empty when it can.
std::string unavailability(const entity& e, const tools::state_cache& states) {
  if (e.availability.empty()) return {};
  std::size_t readable = 0, available = 0;
  const tools::state_cache::entry* latest = nullptr;
  const availability_source* latest_source = nullptr;
  std::string offline_topic, unseen_topic;
  for (const auto& a : e.availability) {
    if (!a.value) continue;  // a template livebridge cannot read says nothing either way
    ++readable;
    const auto* seen = states.find(a.topic);
    if (seen == nullptr) {
      if (unseen_topic.empty()) unseen_topic = a.topic;
      continue;
    }
    const json* v = value_at(*a.value, seen->state);
    const bool up = v != nullptr && value_text(*v) == a.available;
    if (up)
      ++available;
    else if (offline_topic.empty())
      offline_topic = a.topic;
    if (latest == nullptr || seen->received_at >= latest->received_at) {
      latest = seen;
      latest_source = &a;
    }
  }
  if (readable == 0) return {};
  const auto offline = [&](const std::string& topic) {
    return e.name + " is unavailable: " + topic + " reports it offline";
  };
  const auto unseen = [&] {
    return e.name + " is unavailable: no availability report has been seen on " + unseen_topic;
  };
  if (e.availability_mode == "all") {
    if (!offline_topic.empty()) return offline(offline_topic);
    if (available < readable) return unseen();
    return {};
  }
  if (e.availability_mode == "any") {
    if (available > 0) return {};
    return offline_topic.empty() ? unseen() : offline(offline_topic);
  }
  if (latest == nullptr) return unseen();
  const json* v = value_at(*latest_source->value, latest->state);
  if (v != nullptr && value_text(*v) == latest_source->available) return {};
  return offline(latest_source->topic);
}

outgoing_message command(const entity& e, std::string topic, std::string payload) {
  outgoing_message m;
  m.topic = std::move(topic);
  m.payload = std::move(payload);
  const auto qos = e.options.find("qos");
  m.qos = qos != e.options.end() && qos->is_number_integer() ? std::clamp(qos->get<int>(), 0, 2) : 0;
  // Never retained, whatever the message says: a retained command is replayed to the device at
  // every reconnect (an approved unlock among them).
  m.retain = false;
  return m;
}

tools::param_schema name_schema(const std::vector<std::string>& names, std::string what) {
  tools::param_schema s;
  s.type = tools::value_type::string;
  s.description = std::move(what);
  for (const auto& n : names) s.enum_values.emplace_back(n);
  return s;
}

tools::param_schema choice_schema(std::initializer_list<const char*> choices, std::string what) {
  tools::param_schema s;
  s.type = tools::value_type::string;
  s.description = std::move(what);
  for (const char* c : choices) s.enum_values.emplace_back(c);
  return s;
}

// Each topic once: several entities share a bridge's availability topic.
void add_topic(std::vector<std::string>& list, const std::string& topic) {
  if (!topic.empty() && std::find(list.begin(), list.end(), topic) == list.end()) list.push_back(topic);
}

struct member {
  entity e;  // its name made unique within the tool
  bool verified = true;
  std::string given_name;  // the name its bridge gave it, which discovery.confirm uses
};

// One tool's entities by the names the model picks from.
class entity_commands : public tools::command_source {
 public:
  entity_commands(component kind, std::map<std::string, member> members, const config::discovery_config& cfg)
      : kind_(kind), members_(std::move(members)), risky_(cfg.risky), confirm_(cfg.confirm) {}

  std::variant<resolved_command, std::string> resolve(const json& args,
                                                      const tools::state_cache& states) const override {
    const member* m = find(args);
    if (m == nullptr) return std::string("no such entity");
    if (auto why = unavailability(m->e, states); !why.empty()) return why + "; ask again once it is back";
    switch (kind_) {
      case component::light:
        return light(*m, args);
      case component::switch_:
        return on_off(*m, string_member(args, "state"));
      case component::cover:
        return cover(*m, string_member(args, "action"));
      case component::lock:
        return lock(*m, string_member(args, "action"));
      case component::alarm_control_panel:
        return alarm(*m, string_member(args, "action"));
      default:
        return std::string("this entity cannot be acted on");
    }
  }

  tools::confirmation confirmation_for(const json& args) const override {
    const member* m = find(args);
    if (m == nullptr) return tools::confirmation::none;
    const std::string action = action_of(args);
    auto own = confirm_.find(m->e.name);
    if (own == confirm_.end()) own = confirm_.find(m->given_name);
    if (has_risky_action(m->e)) {
      if (!risky(m->e, action)) return tools::confirmation::none;
      return own != confirm_.end() ? own->second : risky_;
    }
    return own != confirm_.end() ? own->second : tools::confirmation::none;
  }

  std::optional<std::string> confirm_text(const json& args) const override {
    const member* m = find(args);
    if (m == nullptr) return std::nullopt;
    std::string action = action_of(args);
    if (action.empty()) return std::nullopt;
    action[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(action[0])));
    for (auto& c : action)
      if (c == '_') c = ' ';
    return action + " " + m->e.name + "?";
  }

  std::vector<std::string> ack_topics() const override {
    std::vector<std::string> out;
    for (const auto& [name, m] : members_) {
      if (!m.verified) continue;
      add_topic(out, m.e.text("state_topic"));
      add_topic(out, m.e.text("brightness_state_topic"));
    }
    return out;
  }

  std::vector<std::string> watched_topics() const override {
    std::vector<std::string> out;
    for (const auto& [name, m] : members_)
      for (const auto& a : m.e.availability) add_topic(out, a.topic);
    return out;
  }

 private:
  const member* find(const json& args) const {
    const auto it = members_.find(string_member(args, "name"));
    return it == members_.end() ? nullptr : &it->second;
  }

  std::string action_of(const json& args) const {
    if (kind_ == component::light || kind_ == component::switch_)
      return string_member(args, "state") == "on" ? "switch on" : "switch off";
    return string_member(args, "action");
  }

  // The acknowledgement: any of `states` read at the entity's state template.
  // False when no state could acknowledge (every one configured empty): the call is refused
  // rather than confirmed by whatever the device reports next.
  static bool expect_states(resolved_command& c, const member& m, std::initializer_list<std::string> states) {
    if (!m.verified) return true;
    c.ack_topic = m.e.text("state_topic");
    const auto path = m.e.path(state_template_key(m.e)).value_or(value_path{});
    for (const auto& s : states)
      if (!s.empty()) c.matches.push_back(expect_at(path, json(s)));
    return !c.matches.empty();
  }
  static std::string no_state(const member& m) {
    return m.e.name + "'s discovery message gives no state that would confirm this";
  }

  static std::variant<resolved_command, std::string> light(const member& m, const json& args) {
    const entity& e = m.e;
    const bool on = string_member(args, "state") == "on";
    const auto level = args.find("brightness");
    const bool dim = level != args.end() && level->is_number();
    if (dim && !on) return std::string("brightness goes with state \"on\"; to switch off, leave it out");
    if (dim && !can_dim(e)) return e.name + " cannot be dimmed; call again without brightness";
    const int scale = brightness_scale(e);
    const double percent = dim ? std::clamp(level->get<double>(), 0.0, 100.0) : 0;
    const int value = dim ? std::max(1, static_cast<int>(std::lround(percent * scale / 100.0))) : 0;
    resolved_command c;
    c.tolerance = dim && json_schema(e) ? 1 : 0;  // bulbs round brightness; on and off are exact
    if (json_schema(e)) {
      json payload{{"state", on ? "ON" : "OFF"}};
      if (dim) payload["brightness"] = value;
      c.messages.push_back(command(e, e.text("command_topic"), payload.dump()));
      if (m.verified) {
        c.ack_topic = e.text("state_topic");
        c.matches.push_back(std::move(payload));
      }
      return c;
    }
    const std::string on_payload = e.text("payload_on", "ON"), off_payload = e.text("payload_off", "OFF");
    const std::string bri_topic = e.text("brightness_command_topic");
    if (!dim) {
      c.messages.push_back(command(e, e.text("command_topic"), on ? on_payload : off_payload));
    } else {
      const std::string order = e.text("on_command_type", "last");
      auto bri = command(e, bri_topic, std::to_string(value));
      auto power = command(e, e.text("command_topic"), on_payload);
      if (order == "brightness") {
        c.messages.push_back(std::move(bri));
      } else if (order == "first") {
        c.messages.push_back(std::move(power));
        c.messages.push_back(std::move(bri));
      } else {
        c.messages.push_back(std::move(bri));
        c.messages.push_back(std::move(power));
      }
    }
    if (!m.verified) return c;
    const std::string state_topic = e.text("state_topic");
    const auto state_path = e.path("state_value_template").value_or(value_path{});
    json expected = expect_at(state_path, json(e.text("state_on", on_payload)));
    if (!on) expected = expect_at(state_path, json(e.text("state_off", off_payload)));
    c.ack_topic = state_topic;
    if (dim) {
      bool absent = false;
      const auto bri_path = e.path("brightness_value_template", &absent);
      const std::string bri_state = e.text("brightness_state_topic", state_topic);
      if (bri_path || absent) {
        json bri_expected = expect_at(bri_path.value_or(value_path{}), json(value));
        if (bri_state == state_topic && expected.is_object() && bri_expected.is_object()) {
          expected.merge_patch(bri_expected);
        } else {
          c.ack_topic = bri_state;
          expected = std::move(bri_expected);
        }
      }
    }
    c.matches.push_back(std::move(expected));
    return c;
  }

  static std::variant<resolved_command, std::string> on_off(const member& m, const std::string& state) {
    const entity& e = m.e;
    const bool on = state == "on";
    const std::string payload = on ? e.text("payload_on", "ON") : e.text("payload_off", "OFF");
    resolved_command c;
    c.messages.push_back(command(e, e.text("command_topic"), payload));
    if (!expect_states(c, m, {on ? e.text("state_on", payload) : e.text("state_off", payload)}))
      return no_state(m);
    return c;
  }

  static std::variant<resolved_command, std::string> cover(const member& m, const std::string& action) {
    const entity& e = m.e;
    const char* key = action == "open"    ? "payload_open"
                      : action == "close" ? "payload_close"
                                          : "payload_stop";
    const char* fallback = action == "open" ? "OPEN" : action == "close" ? "CLOSE" : "STOP";
    const auto given = e.options.find(key);
    if (given != e.options.end() && given->is_null()) return e.name + " cannot " + action;
    resolved_command c;
    c.messages.push_back(command(e, e.text("command_topic"), e.text(key, fallback)));
    bool confirmable = true;
    if (action == "open") {
      confirmable = expect_states(c, m, {e.text("state_open", "open"), e.text("state_opening", "opening")});
    } else if (action == "close") {
      confirmable =
          expect_states(c, m, {e.text("state_closed", "closed"), e.text("state_closing", "closing")});
    } else {
      confirmable = expect_states(c, m,
                                  {e.text("state_stopped", "stopped"), e.text("state_open", "open"),
                                   e.text("state_closed", "closed")});
    }
    if (!confirmable) return no_state(m);
    return c;
  }

  static std::variant<resolved_command, std::string> lock(const member& m, const std::string& action) {
    const entity& e = m.e;
    const bool locking = action == "lock";
    resolved_command c;
    c.messages.push_back(
        command(e, e.text("command_topic"),
                locking ? e.text("payload_lock", "LOCK") : e.text("payload_unlock", "UNLOCK")));
    const bool confirmable =
        locking ? expect_states(c, m, {e.text("state_locked", "LOCKED"), e.text("state_locking", "LOCKING")})
                : expect_states(
                      c, m, {e.text("state_unlocked", "UNLOCKED"), e.text("state_unlocking", "UNLOCKING")});
    if (!confirmable) return no_state(m);
    if (m.verified)
      c.reject =
          expect_at(e.path("value_template").value_or(value_path{}), json(e.text("state_jammed", "JAMMED")));
    return c;
  }

  static std::variant<resolved_command, std::string> alarm(const member& m, const std::string& action) {
    const entity& e = m.e;
    resolved_command c;
    if (action == "disarm") {
      c.messages.push_back(command(e, e.text("command_topic"), e.text("payload_disarm", "DISARM")));
      if (!expect_states(c, m, {"disarmed"})) return no_state(m);
    } else if (action == "arm_home") {
      c.messages.push_back(command(e, e.text("command_topic"), e.text("payload_arm_home", "ARM_HOME")));
      if (!expect_states(c, m, {"armed_home", "arming"})) return no_state(m);
    } else {
      c.messages.push_back(command(e, e.text("command_topic"), e.text("payload_arm_away", "ARM_AWAY")));
      if (!expect_states(c, m, {"armed_away", "arming"})) return no_state(m);
    }
    return c;
  }

  component kind_;
  std::map<std::string, member> members_;
  tools::confirmation risky_;
  std::map<std::string, tools::confirmation> confirm_;
};

// get_state: the latest report of any entity, with its value read out where livebridge can.
class entity_looks : public tools::command_source {
 public:
  explicit entity_looks(std::map<std::string, entity> entities) : entities_(std::move(entities)) {}

  std::variant<resolved_command, std::string> resolve(const json& args,
                                                      const tools::state_cache& states) const override {
    const auto it = entities_.find(string_member(args, "name"));
    if (it == entities_.end()) return std::string("no such entity");
    const entity& e = it->second;
    resolved_command c;
    c.query_topic = e.text("state_topic");
    c.about["entity"] = e.name;
    c.about["kind"] = component_name(e.kind);
    if (!e.device_class.empty()) c.about["device_class"] = e.device_class;
    if (const auto why = unavailability(e, states); !why.empty())
      c.about["available"] = false, c.about["availability"] = why;
    else if (!e.availability.empty())
      c.about["available"] = true;
    const char* key = json_schema(e) ? nullptr : state_template_key(e);
    if (key != nullptr) {
      if (const auto path = e.path(key); path && !path->members.empty()) {
        if (const auto* seen = states.find(c.query_topic))
          if (const json* v = value_at(*path, seen->state)) c.about["value"] = *v;
      }
    }
    if (const std::string unit = e.text("unit_of_measurement"); !unit.empty()) c.about["unit"] = unit;
    return c;
  }

  tools::confirmation confirmation_for(const json&) const override { return tools::confirmation::none; }
  std::optional<std::string> confirm_text(const json&) const override { return std::nullopt; }
  std::vector<std::string> ack_topics() const override { return {}; }
  std::vector<std::string> watched_topics() const override {
    std::vector<std::string> out;
    for (const auto& [name, e] : entities_) {
      add_topic(out, e.text("state_topic"));
      for (const auto& a : e.availability) add_topic(out, a.topic);
    }
    return out;
  }

 private:
  std::map<std::string, entity> entities_;
};

// Names unique within one tool: a repeated name gets `tag(e)` after it, then a counter.
template <class Tag>
std::vector<std::string> unique_names(const std::vector<const entity*>& list, Tag tag) {
  std::map<std::string, int> count;
  for (const auto* e : list) ++count[e->name];
  std::vector<std::string> out;
  std::set<std::string> taken;
  for (const auto* e : list) {
    std::string n = count[e->name] > 1 ? e->name + " (" + tag(*e) + ")" : e->name;
    for (int i = 2; taken.contains(n); ++i) n = e->name + " (" + tag(*e) + " " + std::to_string(i) + ")";
    taken.insert(n);
    out.push_back(std::move(n));
  }
  return out;
}

tools::tool_spec action_tool(component kind, std::string_view tool_name,
                             const std::vector<const entity*>& list, const std::vector<bool>& verified,
                             const config::discovery_config& cfg) {
  const auto names =
      unique_names(list, [](const entity& e) { return e.unique_id.empty() ? e.config_topic : e.unique_id; });
  std::map<std::string, member> members;
  for (std::size_t i = 0; i < list.size(); ++i) {
    member m{*list[i], verified[i], list[i]->name};
    m.e.name = names[i];
    members.emplace(names[i], std::move(m));
  }
  tools::tool_spec t;
  t.name = std::string(tool_name);
  t.ack.timeout = cfg.timeout;
  tools::param_schema params;
  params.type = tools::value_type::object;
  params.required = {"name"};
  switch (kind) {
    case component::light: {
      t.description =
          "Switch a light on or off, optionally at a brightness. The answer is what the light reported.";
      params.properties.push_back({"name", name_schema(names, "which light")});
      params.properties.push_back({"state", choice_schema({"on", "off"}, "on or off")});
      tools::param_schema level;
      level.type = tools::value_type::integer;
      level.description = "brightness in percent, with state on";
      level.minimum = 1;
      level.maximum = 100;
      params.properties.push_back({"brightness", std::move(level)});
      params.required.push_back("state");
      break;
    }
    case component::switch_:
      t.description = "Switch a switch or plug on or off. The answer is what the device reported.";
      params.properties.push_back({"name", name_schema(names, "which switch")});
      params.properties.push_back({"state", choice_schema({"on", "off"}, "on or off")});
      params.required.push_back("state");
      break;
    case component::cover:
      t.description =
          "Open, close or stop a cover (blind, curtain, garage door, gate). Opening a door, garage, gate or "
          "window needs a person's approval. The answer is what the cover reported.";
      params.properties.push_back({"name", name_schema(names, "which cover")});
      params.properties.push_back({"action", choice_schema({"open", "close", "stop"}, "what to do")});
      params.required.push_back("action");
      break;
    case component::lock:
      t.description =
          "Lock or unlock a lock. Unlocking needs a person's approval. The answer is what the lock reported.";
      params.properties.push_back({"name", name_schema(names, "which lock")});
      params.properties.push_back({"action", choice_schema({"lock", "unlock"}, "what to do")});
      params.required.push_back("action");
      break;
    case component::alarm_control_panel:
      t.description =
          "Arm or disarm an alarm panel. Disarming needs a person's approval. The answer is what the panel "
          "reported.";
      params.properties.push_back({"name", name_schema(names, "which alarm panel")});
      params.properties.push_back(
          {"action", choice_schema({"arm_home", "arm_away", "disarm"}, "what to do")});
      params.required.push_back("action");
      break;
    default:
      break;
  }
  t.parameters = std::move(params);
  t.source = std::make_shared<entity_commands>(kind, std::move(members), cfg);
  return t;
}

}  // namespace

std::vector<std::string_view> reserved_tool_names(const std::vector<std::string>& components) {
  std::vector<std::string_view> out;
  for (const auto& [kind, tool] : action_tools) {
    if (components.empty() ||
        std::find(components.begin(), components.end(), component_name(kind)) != components.end())
      out.push_back(tool);
  }
  out.push_back(look_tool);
  return out;
}

built_tools build_tools(const catalog& found, const config::discovery_config& cfg) {
  built_tools out;
  const auto wanted_kind = [&](component k) {
    return cfg.components.empty() ||
           std::find(cfg.components.begin(), cfg.components.end(), component_name(k)) != cfg.components.end();
  };
  std::map<component, std::vector<const entity*>> acting;
  std::map<component, std::vector<bool>> verified;
  std::vector<const entity*> looking;
  std::set<std::string> reached;
  // The model reads the names in the order people would look them up.
  std::vector<const entity*> all = found.entities();
  std::stable_sort(all.begin(), all.end(), [](const entity* a, const entity* b) {
    return std::lexicographical_compare(
        a->name.begin(), a->name.end(), b->name.begin(), b->name.end(), [](char x, char y) {
          return std::tolower(static_cast<unsigned char>(x)) < std::tolower(static_cast<unsigned char>(y));
        });
  });
  for (const entity* e : all) {
    if (!wanted_kind(e->kind)) continue;
    if ((!cfg.include.empty() && !matches_any(cfg.include, *e)) || matches_any(cfg.exclude, *e)) continue;
    // Whether it is online cannot be told: calls could reach a device that is away.
    const auto unreadable = std::find_if(e->availability.begin(), e->availability.end(),
                                         [](const availability_source& a) { return !a.value; });
    if (unreadable != e->availability.end()) {
      out.left_out.push_back(e->name + " (" + e->config_topic + "): its availability template \"" +
                             unreadable->unsupported_template +
                             "\" is Jinja that livebridge does not evaluate");
      continue;
    }
    const bool acts = e->kind != component::sensor && e->kind != component::binary_sensor;
    bool used = false;
    if (acts) {
      const std::string why = unverifiable_reason(*e);
      if (e->text("command_topic").empty()) {
        if (!lookable(*e))
          out.left_out.push_back(e->name + " (" + e->config_topic + "): it has no command topic");
      } else if (const std::string t = command_template_of(*e); !t.empty()) {
        out.left_out.push_back(e->name + " (" + e->config_topic + "): its command template \"" + t +
                               "\" is Jinja that livebridge does not evaluate");
      } else if (e->kind == component::light && !json_schema(*e) &&
                 e->text("schema", "default") != "default") {
        out.left_out.push_back(e->name + " (" + e->config_topic + "): the light schema \"" +
                               e->text("schema") + "\" is not one livebridge drives");
      } else if (!why.empty() && !cfg.unverified) {
        out.left_out.push_back(
            e->name + " (" + e->config_topic + "): " + why +
            "; discovery.unverified: true uses it with the broker's PUBACK as its only answer");
      } else {
        if (!why.empty()) out.unverified.push_back(e->name);
        acting[e->kind].push_back(e);
        verified[e->kind].push_back(why.empty());
        used = true;
      }
    }
    if (lookable(*e)) {
      looking.push_back(e);
      used = true;
    } else if (!acts) {
      out.left_out.push_back(e->name + " (" + e->config_topic + "): it has no state topic");
    }
    if (used) reached.insert(e->config_topic + "\n" + e->unique_id + "\n" + e->name);
  }
  out.entities = reached.size();
  for (const auto& entry : cfg.confirm) {
    const std::string& name = entry.first;
    const bool known = std::any_of(all.begin(), all.end(), [&](const entity* e) { return e->name == name; });
    if (!known)
      out.left_out.push_back("discovery.confirm names \"" + name +
                             "\", which no discovered entity is called; it changes nothing");
  }
  for (const auto& [kind, tool] : action_tools) {
    const auto it = acting.find(kind);
    if (it == acting.end() || it->second.empty()) continue;
    out.tools.push_back(action_tool(kind, tool, it->second, verified[kind], cfg));
  }
  if (!looking.empty()) {
    const auto names =
        unique_names(looking, [](const entity& e) { return std::string(component_name(e.kind)); });
    std::map<std::string, entity> by_name;
    for (std::size_t i = 0; i < looking.size(); ++i) {
      entity e = *looking[i];
      e.name = names[i];
      by_name.emplace(names[i], std::move(e));
    }
    tools::tool_spec t;
    t.name = std::string(look_tool);
    t.description =
        "Look at a device's latest reported state without changing anything: lights, switches, covers, "
        "locks, "
        "sensors.";
    tools::param_schema params;
    params.type = tools::value_type::object;
    params.required = {"name"};
    params.properties.push_back({"name", name_schema(names, "which device or sensor")});
    t.parameters = std::move(params);
    t.query = tools::query_spec{};
    t.source = std::make_shared<entity_looks>(std::move(by_name));
    out.tools.push_back(std::move(t));
  }
  return out;
}

}  // namespace lb::discovery
