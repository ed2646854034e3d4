#include "config/loader.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <span>
#include <sstream>
#include <utility>
#include <variant>

#include <yaml-cpp/yaml.h>

#include "common/duration.hpp"
#include "common/url.hpp"
#include "config/keys.hpp"
#include "discovery/device_tools.hpp"

namespace lb::config {
namespace {

using tools::json;

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return "\"" + n.Scalar() + "\"";
    default:
      return "nothing";
  }
}

// What the Live API accepts as a function name: a letter or '_', then letters, digits, '_', '.',
// ':' or '-', at most 128 in all.
bool valid_function_name(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  if (!std::isalpha(static_cast<unsigned char>(name.front())) && name.front() != '_') return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == ':' || c == '-';
  });
}

// A plain (unquoted) YAML scalar is typed as YAML 1.2 core types; a quoted one is always a string.
json scalar_to_json(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return json(s);
  if (s == "true" || s == "True" || s == "TRUE") return json(true);
  if (s == "false" || s == "False" || s == "FALSE") return json(false);
  if (s == "~" || s == "null" || s == "Null" || s == "NULL" || s.empty()) return json(nullptr);
  // Numbers: one optional sign, then digits, '.', an exponent; never "inf" or "nan" (YAML spells
  // those .inf and .nan, and they are no use in a device command). A sign alone ("+", "-") is text.
  std::string_view text = s;
  const bool plus = text.starts_with('+');
  if (plus) text.remove_prefix(1);  // from_chars takes no '+'
  const std::string_view magnitude = !plus && text.starts_with('-') ? text.substr(1) : text;
  if (magnitude.empty() ||
      !(std::isdigit(static_cast<unsigned char>(magnitude.front())) || magnitude.front() == '.')) {
    return json(s);
  }
  long long integer = 0;
  if (const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), integer);
      ec == std::errc{} && end == text.data() + text.size()) {
    return json(integer);
  }
  double number = 0;
  if (const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
      ec == std::errc{} && end == text.data() + text.size() && std::isfinite(number)) {
    return json(number);
  }
  return json(s);
}

json yaml_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : n) out[kv.first.Scalar()] = yaml_to_json(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& e : n) out.push_back(yaml_to_json(e));
      return out;
    }
    case YAML::NodeType::Scalar:
      return scalar_to_json(n);
    default:
      return json(nullptr);
  }
}

// "A, B or C": the spellings of a choice, as errors name them.
template <class T>
std::string choice_list(std::span<const tools::spelling<T>> choices) {
  std::string names;
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) names += i + 1 == choices.size() ? " or " : ", ";
    names += std::string(choices[i].name);
  }
  return names;
}

class reader {
 public:
  explicit reader(std::string file) : file_(std::move(file)) {}

  void error(const YAML::Node& at, const std::string& path, std::string message) {
    add(result_.errors, at, path, std::move(message));
  }
  void warning(const YAML::Node& at, const std::string& path, std::string message) {
    add(result_.warnings, at, path, std::move(message));
  }
  void error_at(int line, int column, std::string message) {
    result_.errors.push_back({file_, line, column, "", std::move(message)});
  }

  bool expect_map(const YAML::Node& n, const std::string& path) {
    if (n.IsMap()) return true;
    error(n, path, "expected a mapping, found " + describe(n));
    return false;
  }

  // Unknown keys are errors: a typo must not silently fall back to a default.
  void check_keys(const YAML::Node& map, const std::string& path, const keys::section& section) {
    std::set<std::string> allowed;
    for (const keys::key& k : section.keys) allowed.emplace(k.name);
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) continue;  // reported by structure_check
      const std::string key = kv.first.Scalar();
      if (!allowed.contains(key)) {
        std::string known;
        for (const auto& k : allowed) known += (known.empty() ? "" : ", ") + k;
        error(kv.first, join(path, key), "unknown key (known keys here: " + known + ")");
      }
    }
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  // A key the table marks as needed is reported when it is missing.
  bool read_string(const YAML::Node& map, const std::string& path, const keys::key& k, std::string& out) {
    return read_string(map, path, k, out, k.required);
  }

  bool read_string(const YAML::Node& map, const std::string& path, const keys::key& k, std::string& out,
                   bool required) {
    const std::string key(k.name);
    const YAML::Node n = map[key];
    if (!n) {
      if (required) error(map, join(path, key), "required key is missing");
      return false;
    }
    if (!n.IsScalar()) {
      error(n, join(path, key), std::string("expected a string, found ") + describe(n));
      return false;
    }
    out = n.Scalar();
    return true;
  }

  // One of `choices` (its spelling in the file → the value); anything else is an error that names
  // them all.
  template <class T>
  bool read_choice(const YAML::Node& map, const std::string& path, const keys::key& k,
                   std::span<const tools::spelling<T>> choices, T& out, std::string_view expected = {}) {
    std::string text;
    if (!read_string(map, path, k, text)) return false;
    for (const auto& [name, value] : choices) {
      if (text == name) {
        out = value;
        return true;
      }
    }
    const std::string key(k.name);
    error(map[key], join(path, key),
          "expected " + (expected.empty() ? choice_list(choices) : std::string(expected)) + ", found " +
              describe(map[key]));
    return false;
  }

  void read_optional_string(const YAML::Node& map, const std::string& path, const keys::key& k,
                            std::optional<std::string>& out) {
    std::string value;
    if (read_string(map, path, k, value)) out = value;
  }

  void read_duration(const YAML::Node& map, const std::string& path, const keys::key& k, milliseconds& out) {
    const std::string key(k.name);
    const YAML::Node n = map[key];
    if (!n) return;
    std::optional<millis> d;
    if (n.IsScalar()) d = parse_duration(n.Scalar());
    if (!d) {
      error(n, join(path, key), "expected a duration such as \"5s\" or \"250ms\", found " + describe(n));
    } else if (*d < k.min_duration || *d > k.max_duration) {
      error(n, join(path, key),
            "must be between " + format_duration(k.min_duration) + " and " + format_duration(k.max_duration) +
                ", found " + describe(n));
    } else {
      out = *d;
    }
  }

  template <typename Int>
  void read_integer(const YAML::Node& map, const std::string& path, const keys::key& k, Int& out) {
    const std::string key(k.name);
    const YAML::Node n = map[key];
    if (!n) return;
    const json v = n.IsScalar() ? scalar_to_json(n) : json(nullptr);
    if (!v.is_number_integer()) {
      error(n, join(path, key), "expected an integer, found " + describe(n));
      return;
    }
    const long long value = v.get<long long>();
    if (value < k.min || value > k.max) {
      error(n, join(path, key),
            "must be between " + std::to_string(k.min) + " and " + std::to_string(k.max) + ", found " +
                describe(n));
      return;
    }
    out = static_cast<Int>(value);
  }

  void read_bool(const YAML::Node& map, const std::string& path, const keys::key& k, bool& out) {
    const std::string key(k.name);
    const YAML::Node n = map[key];
    if (!n) return;
    const json v = n.IsScalar() ? scalar_to_json(n) : json(nullptr);
    if (!v.is_boolean()) {
      error(n, join(path, key), "expected true or false, found " + describe(n));
      return;
    }
    out = v.get<bool>();
  }

  // "file:line:col" of a node, as diagnostics print it, for problems found after loading.
  std::string position(const YAML::Node& at) const {
    const auto [line, column] = line_and_column(at);
    return line > 0 ? file_ + ":" + std::to_string(line) + ":" + std::to_string(column) : file_;
  }

  load_result& result() { return result_; }
  const std::string& file() const { return file_; }

 private:
  // 1-based; 0 and 0 when the node has no position.
  static std::pair<int, int> line_and_column(const YAML::Node& at) {
    // Mark() throws for a node looked up under a missing key; such a problem has no position.
    const YAML::Mark m = at.IsDefined() ? at.Mark() : YAML::Mark::null_mark();
    const bool has_mark = m.line >= 0 && !m.is_null();
    return {has_mark ? m.line + 1 : 0, has_mark ? m.column + 1 : 0};
  }

  void add(std::vector<diagnostic>& list, const YAML::Node& at, const std::string& path,
           std::string message) {
    const auto [line, column] = line_and_column(at);
    list.push_back({file_, line, column, path, std::move(message)});
  }

  std::string file_;
  load_result result_;
};

// Checks the whole document before any of it is read, for what yaml-cpp accepts but a config must
// not hold: a key given twice in a mapping (yaml-cpp keeps both, and which one a lookup finds is
// not the one a payload keeps), a key that is a list or a mapping, and aliases that make the
// document endless (an alias inside the collection it names) or huge (aliases of aliases).
class structure_check {
 public:
  explicit structure_check(reader& r) : r_(r) {}

  // False when the document cannot be read at all (endless or too large); duplicate and
  // non-scalar keys are reported, and reading goes on so that every problem is listed at once.
  bool walk(const YAML::Node& n, const std::string& path) {
    if (++nodes_ > max_nodes) {
      r_.error(n, path,
               "the file holds more than " + std::to_string(max_nodes) +
                   " values (counting every use of an alias); it is not a livebridge config");
      return false;
    }
    for (const auto& ancestor : ancestors_) {
      if (ancestor.is(n)) {
        r_.error(n, path, "an alias inside the collection it names would repeat it without end");
        return false;
      }
    }
    if (ancestors_.size() >= max_depth) {
      r_.error(n, path, "nested deeper than " + std::to_string(max_depth) + " levels");
      return false;
    }
    if (!n.IsMap() && !n.IsSequence()) return true;
    ancestors_.push_back(n);
    const bool ok = n.IsMap() ? walk_map(n, path) : walk_sequence(n, path);
    ancestors_.pop_back();
    return ok;
  }

 private:
  static constexpr std::size_t max_nodes = 100'000;
  static constexpr std::size_t max_depth = 64;

  bool walk_map(const YAML::Node& n, const std::string& path) {
    std::map<std::string, YAML::Mark> seen;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) {
        r_.error(kv.first, path, "expected a plain key, found " + describe(kv.first));
        continue;
      }
      const std::string key = kv.first.Scalar();
      const std::string key_path = reader::join(path, key);
      if (const auto [first, inserted] = seen.emplace(key, kv.first.Mark()); !inserted) {
        r_.error(kv.first, key_path,
                 "duplicate key (first given at line " + std::to_string(first->second.line + 1) +
                     ", column " + std::to_string(first->second.column + 1) + ")");
      }
      if (!walk(kv.second, key_path)) return false;
    }
    return true;
  }

  bool walk_sequence(const YAML::Node& n, const std::string& path) {
    std::size_t index = 0;
    for (const auto& element : n) {
      if (!walk(element, path + "[" + std::to_string(index++) + "]")) return false;
    }
    return true;
  }

  reader& r_;
  std::size_t nodes_ = 0;
  std::vector<YAML::Node> ancestors_;
};

void read_live(reader& r, const YAML::Node& n, live_config& live) {
  const std::string path = "live";
  constexpr const keys::section& s = keys::live;
  if (!r.expect_map(n, path)) return;
  r.check_keys(n, path, s);
  if (r.read_string(n, path, s.at("url"), live.url)) {
    const auto u = parse_url(live.url);
    if (!u || (u->scheme != "ws" && u->scheme != "wss")) {
      r.error(n["url"], "live.url", "expected a ws:// or wss:// URL, found " + describe(n["url"]));
    }
  }
  if (r.read_string(n, path, s.at("model"), live.model)) {
    if (live.model.find('/') == std::string::npos) live.model = "models/" + live.model;
  }
  r.read_optional_string(n, path, s.at("api_key_file"), live.api_key_file);
  r.read_optional_string(n, path, s.at("ca_file"), live.ca_file);
  // Each value has two spellings; the error names each value once.
  r.read_choice<modality>(n, path, s.at("response_modality"), modality_spellings, live.response_modality,
                          "TEXT or AUDIO");
  if (live.response_modality == modality::text && (live.model.find("native-audio") != std::string::npos ||
                                                   live.model.find("3.8-live") != std::string::npos)) {
    r.warning(n["model"], "live.model",
              "native-audio models answer only in AUDIO; set live.response_modality: AUDIO");
  }
  r.read_string(n, path, s.at("system_instruction"), live.system_instruction);
  r.read_string(n, path, s.at("voice"), live.voice);
  r.read_string(n, path, s.at("language"), live.language);
  r.read_bool(n, path, s.at("push_to_talk"), live.push_to_talk);
  if (const YAML::Node a = n["audio"]) {
    const std::string apath = "live.audio";
    if (r.expect_map(a, apath)) {
      r.check_keys(a, apath, keys::live_audio);
      r.read_optional_string(a, apath, keys::live_audio.at("directory"), live.audio.directory);
      r.read_integer(a, apath, keys::live_audio.at("keep_files"), live.audio.keep_files);
      r.read_bool(a, apath, keys::live_audio.at("publish"), live.audio.publish);
      r.read_duration(a, apath, keys::live_audio.at("max_duration"), live.audio.max_duration);
    }
  }
  if (const YAML::Node b = n["builtin_tools"]) {
    if (!b.IsSequence()) {
      std::string names;
      for (const auto& [name, tool] : builtin_tool_spellings)
        names += (names.empty() ? "" : ", ") + std::string(name);
      r.error(b, "live.builtin_tools", "expected a list of " + names + "; found " + describe(b));
    } else {
      const std::span<const tools::spelling<builtin_tool>> choices = builtin_tool_spellings;
      for (std::size_t i = 0; i < b.size(); ++i) {
        const std::string item_path = "live.builtin_tools[" + std::to_string(i) + "]";
        const std::string name = b[i].IsScalar() ? b[i].Scalar() : "";
        const auto found =
            std::find_if(choices.begin(), choices.end(), [&](const auto& c) { return c.name == name; });
        if (found != choices.end()) {
          live.builtin_tools.push_back(found->value);
        } else {
          r.error(b[i], item_path, "expected " + choice_list(choices) + ", found " + describe(b[i]));
        }
      }
    }
  }
  r.read_duration(n, path, s.at("connect_timeout"), live.connect_timeout);
  r.read_duration(n, path, s.at("setup_timeout"), live.setup_timeout);
  r.read_duration(n, path, s.at("turn_timeout"), live.turn_timeout);
  r.read_duration(n, path, s.at("reconnect_delay_max"), live.reconnect_delay_max);
  r.read_integer(n, path, s.at("max_frame_bytes"), live.max_frame_bytes);
  r.read_duration(n, path, s.at("idle_timeout"), live.idle_timeout);
  r.read_integer(n, path, s.at("max_calls_per_tool_call"), live.max_calls_per_tool_call);
  r.read_bool(n, path, s.at("session_resumption"), live.session_resumption);
  r.read_optional_string(n, path, s.at("state_directory"), live.state_directory);
  if (const YAML::Node c = n["context_compression"]) {
    const std::string cpath = "live.context_compression";
    if (r.expect_map(c, cpath)) {
      r.check_keys(c, cpath, keys::context_compression);
      r.read_bool(c, cpath, keys::context_compression.at("enabled"), live.compression.enabled);
      r.read_integer(c, cpath, keys::context_compression.at("trigger_tokens"),
                     live.compression.trigger_tokens);
      r.read_integer(c, cpath, keys::context_compression.at("target_tokens"), live.compression.target_tokens);
      if (live.compression.target_tokens >= live.compression.trigger_tokens) {
        r.error(c, cpath + ".target_tokens", "must be smaller than trigger_tokens");
      }
    }
  }
}

void read_mqtt(reader& r, const YAML::Node& n, mqtt_config& mqtt) {
  const std::string path = "mqtt";
  constexpr const keys::section& s = keys::mqtt;
  if (!r.expect_map(n, path)) return;
  r.check_keys(n, path, s);
  if (r.read_string(n, path, s.at("url"), mqtt.url)) {
    const auto u = parse_url(mqtt.url);
    if (!u || u->scheme == "ws" || u->scheme == "wss") {
      r.error(n["url"], "mqtt.url",
              "expected an mqtt://, mqtts://, tcp:// or ssl:// URL, found " + describe(n["url"]));
    }
  }
  if (r.read_string(n, path, s.at("client_id"), mqtt.client_id)) {
    if (mqtt.client_id.empty() || mqtt.client_id.size() > max_client_id_length ||
        mqtt.client_id.find_first_of("/+# ") != std::string::npos) {
      r.error(n["client_id"], "mqtt.client_id",
              "must be 1 to " + std::to_string(max_client_id_length) +
                  " characters without '/', '+', '#' or spaces, so that <client_id>" +
                  std::string(prompts_client_id_suffix) + " and <client_id>" +
                  std::string(ask_client_id_infix) + "<pid> stay within the " +
                  std::to_string(max_derived_client_id_length) + " characters of a client id");
    }
  }
  r.read_string(n, path, s.at("username"), mqtt.username);
  r.read_optional_string(n, path, s.at("password_file"), mqtt.password_file);
  r.read_optional_string(n, path, s.at("ca_file"), mqtt.ca_file);
  if (r.read_string(n, path, s.at("topic_prefix"), mqtt.topic_prefix)) {
    if (mqtt.topic_prefix.empty() || mqtt.topic_prefix.find_first_of("+#") != std::string::npos ||
        mqtt.topic_prefix.back() == '/') {
      r.error(n["topic_prefix"], "mqtt.topic_prefix",
              "must be non-empty, without wildcards or a trailing '/'");
    }
  }
  r.read_duration(n, path, s.at("keepalive"), mqtt.keepalive);
  r.read_integer(n, path, s.at("max_prompt_bytes"), mqtt.max_prompt_bytes);
  r.read_integer(n, path, s.at("max_queued_prompts"), mqtt.max_queued_prompts);
  r.read_bool(n, path, s.at("persistent_prompts"), mqtt.persistent_prompts);
  r.read_bool(n, path, s.at("events"), mqtt.events);
}

void read_trust(reader& r, const YAML::Node& n, trust_config& trust) {
  const std::string path = "trust";
  constexpr const keys::section& s = keys::trust;
  if (!r.expect_map(n, path)) return;
  r.check_keys(n, path, s);
  r.read_optional_string(n, path, s.at("pin_file"), trust.pin_file);
  r.read_duration(n, path, s.at("confirm_timeout"), trust.confirm_timeout);
  r.read_integer(n, path, s.at("pin_attempts"), trust.pin_attempts);
  r.read_duration(n, path, s.at("lockout"), trust.lockout);
  r.read_integer(n, path, s.at("loop_guard"), trust.loop_guard);
  r.read_duration(n, path, s.at("transcript_grace"), trust.transcript_grace);
  r.read_bool(n, path, s.at("dry_run"), trust.dry_run);
  if (const YAML::Node a = n["audit"]) {
    const std::string apath = "trust.audit";
    if (r.expect_map(a, apath)) {
      r.check_keys(a, apath, keys::trust_audit);
      r.read_optional_string(a, apath, keys::trust_audit.at("directory"), trust.audit.directory);
      r.read_integer(a, apath, keys::trust_audit.at("max_bytes"), trust.audit.max_bytes);
      r.read_integer(a, apath, keys::trust_audit.at("keep_files"), trust.audit.keep_files);
    }
  }
}

void read_pattern_list(reader& r, const YAML::Node& map, const std::string& path, const char* key,
                       std::vector<std::string>& out) {
  const YAML::Node n = map[key];
  if (!n) return;
  const std::string at = reader::join(path, key);
  if (!n.IsSequence()) {
    r.error(n, at, "expected a list of patterns, found " + describe(n));
    return;
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar() || n[i].Scalar().empty()) {
      r.error(n[i], at + "[" + std::to_string(i) + "]",
              "expected a non-empty pattern, found " + describe(n[i]));
      continue;
    }
    out.push_back(n[i].Scalar());
  }
}

// One of none, ack or pin, or an error naming them; nullopt on an error.
std::optional<tools::confirmation> confirmation_of(reader& r, const YAML::Node& n, const std::string& path) {
  if (n.IsScalar()) {
    for (const auto& [spelling, value] : tools::confirmation_spellings)
      if (n.Scalar() == spelling) return value;
  }
  r.error(n, path, "expected none, ack or pin, found " + describe(n));
  return std::nullopt;
}

void read_discovery(reader& r, const YAML::Node& n, discovery_config& d) {
  const std::string path = "discovery";
  constexpr const keys::section& s = keys::discovery;
  d.enabled = true;
  if (!r.expect_map(n, path)) return;
  r.check_keys(n, path, s);
  if (r.read_string(n, path, s.at("prefix"), d.prefix)) {
    if (d.prefix.empty() || d.prefix.find_first_of("+#") != std::string::npos || d.prefix.back() == '/')
      r.error(n["prefix"], "discovery.prefix", "must be non-empty, without wildcards or a trailing '/'");
  }
  if (const YAML::Node c = n["components"]) {
    std::vector<std::string> names;
    read_pattern_list(r, n, path, "components", names);
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (discovery::parse_component(names[i])) {
        d.components.push_back(names[i]);
        continue;
      }
      std::string known;
      for (const auto& sp : discovery::component_spellings)
        known += (known.empty() ? "" : ", ") + std::string(sp.name);
      r.error(c[i], "discovery.components[" + std::to_string(i) + "]",
              "expected one of " + known + ", found " + describe(c[i]));
    }
  }
  read_pattern_list(r, n, path, "include", d.include);
  read_pattern_list(r, n, path, "exclude", d.exclude);
  if (r.read_choice<tools::confirmation>(n, path, s.at("risky"), tools::confirmation_spellings, d.risky))
    d.risky_origin = r.position(n["risky"]);
  if (const YAML::Node c = n["confirm"]) {
    if (!c.IsMap()) {
      r.error(c, "discovery.confirm",
              "expected a mapping of entity names to none, ack or pin, found " + describe(c));
    } else {
      for (const auto& kv : c) {
        const std::string name = kv.first.Scalar();
        const auto level = confirmation_of(r, kv.second, "discovery.confirm." + name);
        if (!level) continue;
        d.confirm[name] = *level;
        if (*level == tools::confirmation::pin && d.risky_origin.empty())
          d.risky_origin = r.position(kv.second);
      }
    }
  }
  r.read_bool(n, path, s.at("unverified"), d.unverified);
  r.read_duration(n, path, s.at("timeout"), d.timeout);
}

// livebridge as a Home Assistant device (config.hpp's home_assistant_config).
void read_home_assistant(reader& r, const YAML::Node& n, home_assistant_config& ha) {
  const std::string path = "home_assistant";
  constexpr const keys::section& s = keys::home_assistant;
  if (!r.expect_map(n, path)) return;
  r.check_keys(n, path, s);
  r.read_bool(n, path, s.at("discovery"), ha.discovery);
  if (r.read_string(n, path, s.at("prefix"), ha.prefix)) {
    if (ha.prefix.empty() || ha.prefix.find_first_of("+#") != std::string::npos || ha.prefix.back() == '/') {
      r.error(n["prefix"], "home_assistant.prefix",
              "must be non-empty, without wildcards or a trailing '/' (Home Assistant's discovery prefix)");
    }
  }
  std::string status_topic;
  if (r.read_string(n, path, s.at("status_topic"), status_topic)) {
    if (status_topic.empty() || status_topic.find_first_of("+#") != std::string::npos) {
      r.error(n["status_topic"], "home_assistant.status_topic",
              "must be one topic, without wildcards (where Home Assistant publishes online and offline)");
    } else {
      ha.status_topic = status_topic;
    }
  }
  std::string name;
  if (r.read_string(n, path, s.at("device_name"), name)) {
    if (name.empty()) {
      r.error(n["device_name"], "home_assistant.device_name", "is empty; leave it out to use mqtt.client_id");
    } else {
      ha.device_name = name;
    }
  }
  if (r.read_string(n, path, s.at("prompt_source"), ha.prompt_source)) {
    const std::string& source = ha.prompt_source;
    const bool valid = !source.empty() && source.size() <= 64 &&
                       std::all_of(source.begin(), source.end(),
                                   [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; });
    if (!valid) {
      r.error(
          n["prompt_source"], "home_assistant.prompt_source",
          "a prompt source is 1 to 64 letters, digits, '_' or '-', found " + describe(n["prompt_source"]));
    } else if (source == "voice" || source == "default") {
      r.error(n["prompt_source"], "home_assistant.prompt_source",
              "\"" + source + "\" is the " + (source == "voice" ? "microphone's" : "plain prompt topic's") +
                  " source; give Home Assistant a name of its own");
    }
  }
}

// The schema as far as it could be read: a property whose own schema has errors is still declared
// (with what could be read of it), so that `required` and the placeholders naming it are not
// reported as well. Errors are reported through `r`, whose result then holds no config, so a
// partial schema is never used. nullopt when `n` is not a mapping at all.
std::optional<tools::param_schema> read_schema(reader& r, const YAML::Node& n, const std::string& path,
                                               bool top) {
  if (!r.expect_map(n, path)) return std::nullopt;
  r.check_keys(n, path, keys::parameter);
  tools::param_schema s;
  // With no valid type, nothing else is checked against the type: that would report one mistake
  // again as "not of type …" errors.
  bool type_known = true;
  if (const YAML::Node t = n["type"]) {
    const auto parsed = t.IsScalar() ? tools::parse_value_type(t.Scalar()) : std::nullopt;
    if (!parsed) {
      r.error(t, r.join(path, "type"),
              "expected object, string, number, integer, boolean or array, found " + describe(t));
      type_known = false;
    } else {
      s.type = *parsed;
    }
  } else if (!top) {
    r.error(n, r.join(path, "type"), "required key is missing");
    type_known = false;
  }
  if (top && s.type != tools::value_type::object) {
    r.error(n["type"], r.join(path, "type"), "a function's parameters must be of type object");
  }
  r.read_string(n, path, keys::parameter.at("description"), s.description);
  if (const YAML::Node props = n["properties"]) {
    if (r.expect_map(props, r.join(path, "properties"))) {
      for (const auto& kv : props) {
        const std::string name = kv.first.Scalar();
        auto child = read_schema(r, kv.second, r.join(path, "properties." + name), false);
        s.properties.push_back({name, child ? std::move(*child) : tools::param_schema{}});
      }
    }
  }
  if (const YAML::Node req = n["required"]) {
    if (!req.IsSequence()) {
      r.error(req, r.join(path, "required"), "expected a list of property names, found " + describe(req));
    } else {
      for (const auto& e : req) {
        const std::string name = e.IsScalar() ? e.Scalar() : "";
        if (s.property(name) == nullptr) {
          r.error(e, r.join(path, "required"), "\"" + name + "\" is not a declared property");
        } else {
          s.required.push_back(name);
        }
      }
    }
  }
  if (const YAML::Node e = n["enum"]) {
    if (!e.IsSequence() || e.size() == 0) {
      r.error(e, r.join(path, "enum"), "expected a non-empty list, found " + describe(e));
    } else {
      tools::param_schema type_only;  // each value is checked for its type, not against the enum being built
      type_only.type = s.type;
      for (const auto& v : e) {
        json value = yaml_to_json(v);
        if (!type_known || !tools::validate_arguments(type_only, value)) {
          s.enum_values.push_back(std::move(value));
        } else {
          r.error(v, r.join(path, "enum"),
                  "value " + describe(v) + " is not of type " + std::string(tools::type_name(s.type)));
        }
      }
    }
  }
  for (const char* bound : {"minimum", "maximum"}) {
    if (const YAML::Node b = n[bound]) {
      const json v = b.IsScalar() ? scalar_to_json(b) : json(nullptr);
      if (!v.is_number()) {
        r.error(b, r.join(path, bound), "expected a number, found " + describe(b));
      } else if (type_known && s.type != tools::value_type::number && s.type != tools::value_type::integer) {
        r.error(b, r.join(path, bound), "only numbers and integers have bounds");
      } else {
        (std::string_view(bound) == "minimum" ? s.minimum : s.maximum) = v.get<double>();
      }
    }
  }
  if (s.minimum && s.maximum && *s.minimum > *s.maximum) {
    r.error(n["minimum"], r.join(path, "minimum"), "is greater than maximum");
  }
  if (const YAML::Node items = n["items"]) {
    if (type_known && s.type != tools::value_type::array) {
      r.error(items, r.join(path, "items"), "only arrays have items");
    } else if (auto child = read_schema(r, items, r.join(path, "items"), false)) {
      s.items = std::make_shared<tools::param_schema>(std::move(*child));
    }
  }
  return s;
}

// What a tool's placeholders are checked against.
struct placeholder_scope {
  std::string tool_name;
  const tools::param_schema* parameters = nullptr;  // null: the tool takes no arguments
  // `parameters` was given but is not a mapping: already reported, and there are no names to
  // check against, so the placeholders are not reported as well.
  bool parameters_unreadable = false;
};

// Placeholders must name a declared parameter or a built-in.
void check_names(reader& r, const YAML::Node& at, const std::string& path, const std::set<std::string>& names,
                 const placeholder_scope& scope) {
  if (scope.parameters_unreadable) return;
  for (const auto& name : names) {
    if (tools::is_builtin_variable(name)) continue;
    if (scope.parameters == nullptr || scope.parameters->property(name) == nullptr) {
      r.error(at, path,
              "placeholder {{" + name + "}} is not a declared parameter of " + scope.tool_name +
                  " (built-ins: call.id, bridge.client_id)");
    }
  }
}

// Called only where the template must be given: a missing one is reported.
std::optional<tools::text_template> read_text_template(reader& r, const YAML::Node& map,
                                                       const std::string& path, const keys::key& k,
                                                       const placeholder_scope& scope) {
  std::string text;
  if (!r.read_string(map, path, k, text, true)) return std::nullopt;
  const std::string key(k.name);
  auto parsed = tools::text_template::parse(text);
  if (auto* msg = std::get_if<std::string>(&parsed)) {
    r.error(map[key], r.join(path, key), *msg);
    return std::nullopt;
  }
  auto t = std::get<tools::text_template>(std::move(parsed));
  check_names(r, map[key], r.join(path, key), t.names(), scope);
  return t;
}

std::optional<tools::json_template> read_json_template(reader& r, const YAML::Node& n,
                                                       const std::string& path,
                                                       const placeholder_scope& scope) {
  auto parsed = tools::json_template::parse(yaml_to_json(n));
  if (auto* msg = std::get_if<std::string>(&parsed)) {
    r.error(n, path, *msg);
    return std::nullopt;
  }
  auto t = std::get<tools::json_template>(std::move(parsed));
  check_names(r, n, path, t.names(), scope);
  return t;
}

void read_publish(reader& r, const YAML::Node& n, const std::string& path, const placeholder_scope& scope,
                  const std::string& topic_prefix, tools::tool_spec& tool) {
  if (!r.expect_map(n, path)) return;
  constexpr const keys::section& s = keys::publish;
  r.check_keys(n, path, s);
  tools::publish_spec p;
  auto topic = read_text_template(r, n, path, s.at("topic"), scope);
  if (topic) {
    if (topic->source().find_first_of("+#") != std::string::npos) {
      r.error(n["topic"], r.join(path, "topic"), "a publish topic may not contain wildcards");
    }
    // A tool that publishes there could answer livebridge's own confirmation requests or feed it
    // prompts. A topic with placeholders is checked when it is rendered.
    if (!topic->has_variables() && topic->source().starts_with(topic_prefix + "/")) {
      r.error(n["topic"], r.join(path, "topic"),
              "\"" + topic->source() + "\" is under mqtt.topic_prefix \"" + topic_prefix +
                  "\": livebridge's own topics (confirmations, prompts) cannot be a tool's command topic");
    }
    p.topic = std::move(*topic);
  }
  if (const YAML::Node payload = n["payload"]) {
    if (payload.IsScalar() && payload.Tag() == "!") {
      // A quoted string is sent as-is (after placeholders): "ON", or raw JSON text.
      auto parsed = tools::text_template::parse(payload.Scalar());
      if (auto* msg = std::get_if<std::string>(&parsed)) {
        r.error(payload, r.join(path, "payload"), *msg);
      } else {
        auto t = std::get<tools::text_template>(std::move(parsed));
        check_names(r, payload, r.join(path, "payload"), t.names(), scope);
        p.payload = tools::payload_template(std::move(t));
      }
    } else if (payload.IsScalar()) {
      const json typed = scalar_to_json(payload);
      if (typed.is_string()) {
        auto parsed = tools::text_template::parse(payload.Scalar());
        if (auto* msg = std::get_if<std::string>(&parsed)) {
          r.error(payload, r.join(path, "payload"), *msg);
        } else {
          auto t = std::get<tools::text_template>(std::move(parsed));
          check_names(r, payload, r.join(path, "payload"), t.names(), scope);
          p.payload = tools::payload_template(std::move(t));
        }
      } else if (auto t = read_json_template(r, payload, r.join(path, "payload"), scope)) {
        p.payload = tools::payload_template(std::move(*t));
      }
    } else if (auto t = read_json_template(r, payload, r.join(path, "payload"), scope)) {
      p.payload = tools::payload_template(std::move(*t));
    }
  } else {
    p.payload = tools::payload_template(std::get<tools::text_template>(tools::text_template::parse("")));
  }
  r.read_integer(n, path, s.at("qos"), p.qos);
  r.read_bool(n, path, s.at("retain"), p.retain);
  if (p.retain) {
    r.warning(n["retain"], r.join(path, "retain"),
              "a retained command is replayed to the device every time it reconnects; use retain only for "
              "settings");
  }
  tool.publish.push_back(std::move(p));
}

void read_ack(reader& r, const YAML::Node& n, const std::string& path, const placeholder_scope& scope,
              tools::tool_spec& tool) {
  if (!r.expect_map(n, path)) return;
  constexpr const keys::section& s = keys::ack;
  r.check_keys(n, path, s);
  tools::ack_spec& ack = tool.ack;
  ack.style = n["topic"] ? tools::ack_style::state : tools::ack_style::broker;
  r.read_choice<tools::ack_style>(n, path, s.at("style"), tools::ack_style_spellings, ack.style);
  const bool needs_topic = ack.style == tools::ack_style::state || ack.style == tools::ack_style::rpc;
  if (needs_topic) {
    if (auto t = read_text_template(r, n, path, s.at("topic"), scope)) ack.topic = std::move(*t);
  } else if (n["topic"]) {
    r.error(n["topic"], r.join(path, "topic"),
            std::string("the ") + std::string(tools::ack_style_name(ack.style)) + " style takes no topic");
  }
  if (const YAML::Node m = n["match"]) {
    if (ack.style == tools::ack_style::broker)
      r.error(m, r.join(path, "match"), "the broker style has nothing to match");
    ack.match = read_json_template(r, m, r.join(path, "match"), scope);
  }
  if (const YAML::Node m = n["reject"]) {
    if (ack.style == tools::ack_style::broker || ack.style == tools::ack_style::rpc) {
      r.error(m, r.join(path, "reject"),
              "only the state and response styles take reject (rpc errors are recognised by themselves)");
    }
    ack.reject = read_json_template(r, m, r.join(path, "reject"), scope);
  }
  if (const YAML::Node t = n["tolerance"]) {
    const json v = t.IsScalar() ? scalar_to_json(t) : json(nullptr);
    if (!v.is_number() || v.get<double>() < 0) {
      r.error(t, r.join(path, "tolerance"), "expected a number of 0 or more, found " + describe(t));
    } else {
      ack.tolerance = v.get<double>();
    }
  }
  r.read_duration(n, path, s.at("timeout"), ack.timeout);
}

// "6/min": at most N carried-out calls per second, minute, hour or day.
std::variant<tools::rate_limit, std::string> parse_rate_limit(std::string_view text) {
  static constexpr std::size_t max_calls = 100'000;
  static constexpr std::pair<std::string_view, milliseconds> periods[] = {
      {"s", 1s}, {"sec", 1s},  {"second", 1s}, {"min", 60s}, {"minute", 60s},
      {"h", 1h}, {"hour", 1h}, {"d", 24h},     {"day", 24h}};
  const std::string shape =
      "expected calls per period such as \"6/min\" (N/s, N/min, N/h or N/d; also sec, second, minute, "
      "hour, "
      "day)";
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return shape;
  const std::string_view count = text.substr(0, slash);
  const std::string_view unit = text.substr(slash + 1);
  std::size_t calls = 0;
  const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), calls);
  if (count.empty() || end != count.data() + count.size() ||
      (ec != std::errc{} && ec != std::errc::result_out_of_range)) {
    return shape;
  }
  const auto period =
      std::find_if(std::begin(periods), std::end(periods), [&](const auto& p) { return p.first == unit; });
  if (period == std::end(periods)) return shape;
  if (ec == std::errc::result_out_of_range || calls < 1 || calls > max_calls) {
    return "the number of calls must be between 1 and " + std::to_string(max_calls);
  }
  return tools::rate_limit{calls, period->second};
}

// "07:00-22:00": local wall-clock minutes; the end may be earlier than the start (past midnight).
std::variant<tools::daily_window, std::string> parse_daily_window(std::string_view text) {
  const auto minute_of_day = [](std::string_view hhmm) -> std::optional<int> {
    if (hhmm.size() != 5 || hhmm[2] != ':') return std::nullopt;
    for (const std::size_t i : {0u, 1u, 3u, 4u}) {
      if (!std::isdigit(static_cast<unsigned char>(hhmm[i]))) return std::nullopt;
    }
    const int hours = (hhmm[0] - '0') * 10 + (hhmm[1] - '0');
    const int minutes = (hhmm[3] - '0') * 10 + (hhmm[4] - '0');
    if (hours > 23 || minutes > 59) return std::nullopt;
    return hours * 60 + minutes;
  };
  const auto from = minute_of_day(text.substr(0, 5));
  const auto to = text.size() == 11 && text[5] == '-' ? minute_of_day(text.substr(6)) : std::nullopt;
  if (!from || !to) return "expected a daily window such as \"07:00-22:00\" (HH:MM-HH:MM, 24-hour clock)";
  if (*from == *to) {
    return "starts and ends at the same minute; leave allowed_hours out to allow every hour";
  }
  return tools::daily_window{*from, *to};
}

// A key's own node (its position), not its value's.
YAML::Node key_node(const YAML::Node& map, const char* key) {
  for (const auto& kv : map) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.first;
  }
  return map[key];
}

std::string number_text(double d) {
  return tools::value_to_text(json(d));
}

// Bounds the bridge enforces on numeric arguments, beyond the range the model is told about.
void read_bounds(reader& r, const YAML::Node& n, const std::string& path, const placeholder_scope& scope,
                 tools::guard_spec& guard) {
  if (!r.expect_map(n, path)) return;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) continue;  // reported by structure_check
    const std::string name = kv.first.Scalar();
    const std::string bpath = r.join(path, name);
    const YAML::Node b = kv.second;
    if (!r.expect_map(b, bpath)) continue;
    r.check_keys(b, bpath, keys::bound);
    tools::argument_bound bound{name, std::nullopt, std::nullopt};
    for (const char* key : {"minimum", "maximum"}) {
      if (const YAML::Node v = b[key]) {
        const json number = v.IsScalar() ? scalar_to_json(v) : json(nullptr);
        if (!number.is_number()) {
          r.error(v, r.join(bpath, key), "expected a number, found " + describe(v));
        } else {
          (std::string_view(key) == "minimum" ? bound.minimum : bound.maximum) = number.get<double>();
        }
      }
    }
    if (b.size() == 0) r.error(b, bpath, "expected minimum, maximum or both");
    if (bound.minimum && bound.maximum && *bound.minimum > *bound.maximum) {
      r.error(b["minimum"], r.join(bpath, "minimum"), "is greater than maximum");
    }
    const tools::param_schema* p = scope.parameters ? scope.parameters->property(name) : nullptr;
    if (scope.parameters_unreadable) {
      // Already reported; there is nothing to check the name against.
    } else if (p == nullptr) {
      r.error(kv.first, bpath, "\"" + name + "\" is not a declared parameter of " + scope.tool_name);
    } else if (p->type != tools::value_type::number && p->type != tools::value_type::integer) {
      r.error(kv.first, bpath,
              "only number and integer parameters have bounds; " + name + " is of type " +
                  std::string(tools::type_name(p->type)));
    } else if ((bound.minimum && p->maximum && *bound.minimum > *p->maximum) ||
               (bound.maximum && p->minimum && *bound.maximum < *p->minimum)) {
      std::string range;
      if (p->minimum) range += "minimum " + number_text(*p->minimum);
      if (p->maximum)
        range += (range.empty() ? "" : ", ") + std::string("maximum ") + number_text(*p->maximum);
      r.error(b, bpath,
              "no value within the parameter's own range (" + range +
                  ") passes this bound: every call would be refused");
    } else {
      // Looser than the schema: the model is never allowed past the schema anyway.
      if (bound.minimum && p->minimum && *bound.minimum <= *p->minimum) {
        r.warning(b["minimum"], r.join(bpath, "minimum"),
                  "is not above the parameter's own minimum " + number_text(*p->minimum) +
                      ", so it never refuses a call");
      }
      if (bound.maximum && p->maximum && *bound.maximum >= *p->maximum) {
        r.warning(b["maximum"], r.join(bpath, "maximum"),
                  "is not below the parameter's own maximum " + number_text(*p->maximum) +
                      ", so it never refuses a call");
      }
    }
    guard.bounds.push_back(std::move(bound));
  }
}

// Prompt sources: the last level of <prefix>/prompt/<source>; "default" is <prefix>/prompt itself,
// "voice" the microphone stream, "cli" `livebridge ask`.
void read_sources(reader& r, const YAML::Node& n, const std::string& path, tools::guard_spec& guard) {
  if (!n.IsSequence()) {
    r.error(n, path, "expected a list of prompt sources such as [default, kitchen], found " + describe(n));
    return;
  }
  if (n.size() == 0) {
    r.error(n, path, "expected at least one source; leave sources out to allow every source");
    return;
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    const YAML::Node item = n[i];
    const std::string ipath = path + "[" + std::to_string(i) + "]";
    const std::string name = item.IsScalar() ? item.Scalar() : "";
    const bool valid = !name.empty() && name.size() <= 64 &&
                       std::all_of(name.begin(), name.end(),
                                   [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; });
    if (!valid) {
      r.error(item, ipath, "a prompt source is 1 to 64 letters, digits, '_' or '-', found " + describe(item));
    } else if (std::find(guard.sources.begin(), guard.sources.end(), name) != guard.sources.end()) {
      r.error(item, ipath, "\"" + name + "\" is listed twice");
    } else {
      guard.sources.push_back(name);
    }
  }
}

void read_query(reader& r, const YAML::Node& n, const std::string& path, const placeholder_scope& scope,
                tools::tool_spec& tool) {
  if (!r.expect_map(n, path)) return;
  r.check_keys(n, path, keys::query);
  tools::query_spec q;
  if (auto topic = read_text_template(r, n, path, keys::query.at("topic"), scope)) {
    if (topic->source().find_first_of("+#") != std::string::npos) {
      r.error(n["topic"], r.join(path, "topic"), "a query topic may not contain wildcards");
    }
    q.topic = std::move(*topic);
  }
  tool.query = std::move(q);
}

// What the bridge demands before it carries out a call (tool_spec.hpp's guard_spec).
void read_guard(reader& r, const YAML::Node& n, const std::string& path, const placeholder_scope& scope,
                tools::tool_spec& tool) {
  constexpr const keys::section& s = keys::tool;
  tools::guard_spec& guard = tool.guard;
  const bool query = static_cast<bool>(n["query"]);
  if (query) {
    // A query publishes nothing: there is nothing to confirm, limit or rehearse.
    for (const char* key : {"confirm", "confirm_message", "rate_limit", "dry_run"}) {
      if (const YAML::Node v = n[key]) {
        r.error(
            v, r.join(path, key),
            "a query tool publishes nothing; " + std::string(key) + " applies only to tools that publish");
      }
    }
  } else {
    bool confirm_known = false;
    if (n["confirm"]) {
      confirm_known = r.read_choice<tools::confirmation>(n, path, s.at("confirm"),
                                                         tools::confirmation_spellings, guard.confirm);
      guard.confirm_origin = r.position(key_node(n, "confirm"));
    }
    if (n["confirm_message"]) {
      if (auto t = read_text_template(r, n, path, s.at("confirm_message"), scope)) {
        if (t->source().empty()) {
          r.error(n["confirm_message"], r.join(path, "confirm_message"),
                  "is empty; leave it out to ask with the description");
        }
        guard.confirm_message = std::move(*t);
      }
      // An unreadable confirm is reported already; its message is not reported again.
      if (!n["confirm"] || (confirm_known && guard.confirm == tools::confirmation::none)) {
        r.error(n["confirm_message"], r.join(path, "confirm_message"),
                "applies only with confirm: ack or pin");
      }
    }
    std::string text;
    if (r.read_string(n, path, s.at("rate_limit"), text)) {
      auto parsed = parse_rate_limit(text);
      if (auto* msg = std::get_if<std::string>(&parsed)) {
        r.error(n["rate_limit"], r.join(path, "rate_limit"), *msg + ", found " + describe(n["rate_limit"]));
      } else {
        guard.rate = std::get<tools::rate_limit>(parsed);
      }
    }
    r.read_bool(n, path, s.at("dry_run"), guard.dry_run);
  }
  std::string hours;
  if (r.read_string(n, path, s.at("allowed_hours"), hours)) {
    auto parsed = parse_daily_window(hours);
    if (auto* msg = std::get_if<std::string>(&parsed)) {
      r.error(n["allowed_hours"], r.join(path, "allowed_hours"),
              *msg + ", found " + describe(n["allowed_hours"]));
    } else {
      guard.allowed_hours = std::get<tools::daily_window>(parsed);
    }
  }
  if (const YAML::Node b = n["bounds"]) read_bounds(r, b, r.join(path, "bounds"), scope, guard);
  if (const YAML::Node listed = n["sources"]) read_sources(r, listed, r.join(path, "sources"), guard);
}

void read_tool(reader& r, const YAML::Node& n, const std::string& path, const std::string& topic_prefix,
               std::vector<tools::tool_spec>& out) {
  if (!r.expect_map(n, path)) return;
  constexpr const keys::section& s = keys::tool;
  r.check_keys(n, path, s);
  tools::tool_spec tool;
  r.read_choice<tools::behavior>(n, path, s.at("behavior"), tools::behavior_spellings, tool.behavior);
  if (r.read_choice<tools::scheduling>(n, path, s.at("scheduling"), tools::scheduling_spellings,
                                       tool.scheduling) &&
      tool.behavior != tools::behavior::non_blocking) {
    r.error(n["scheduling"], r.join(path, "scheduling"), "applies only with behavior: NON_BLOCKING");
  }
  if (r.read_string(n, path, s.at("name"), tool.name)) {
    if (!valid_function_name(tool.name)) {
      r.error(n["name"], r.join(path, "name"),
              "must start with a letter or '_' and hold only letters, digits, '_', '.', ':' or '-' (at most "
              "128)");
    }
    for (const auto& other : out) {
      if (other.name == tool.name)
        r.error(n["name"], r.join(path, "name"), "another tool is already named " + tool.name);
    }
  }
  r.read_string(n, path, s.at("description"), tool.description);
  bool parameters_unreadable = false;
  if (const YAML::Node p = n["parameters"]) {
    if (p.IsMap() && p.size() == 0) {
      // `parameters: {}` is a function without arguments.
    } else {
      tool.parameters = read_schema(r, p, r.join(path, "parameters"), true);
      parameters_unreadable = !tool.parameters;
    }
  }
  const placeholder_scope scope{tool.name, tool.parameters ? &*tool.parameters : nullptr,
                                parameters_unreadable};
  const YAML::Node publish = n["publish"];
  if (const YAML::Node query = n["query"]) {
    read_query(r, query, r.join(path, "query"), scope, tool);
    if (publish) {
      r.error(publish, r.join(path, "publish"),
              "a query tool publishes nothing; give either query (to read a state) or publish (to act)");
    }
    if (const YAML::Node ack = n["ack"]) {
      r.error(ack, r.join(path, "ack"),
              "a query tool answers from the latest message on query.topic and waits for no acknowledgement");
    }
  } else if (!publish) {
    r.error(n, r.join(path, "publish"), "required key is missing");
  } else if (publish.IsSequence()) {
    if (publish.size() == 0) r.error(publish, r.join(path, "publish"), "expected at least one message");
    for (std::size_t i = 0; i < publish.size(); ++i) {
      read_publish(r, publish[i], r.join(path, "publish[" + std::to_string(i) + "]"), scope, topic_prefix,
                   tool);
    }
  } else {
    read_publish(r, publish, r.join(path, "publish"), scope, topic_prefix, tool);
  }
  if (const YAML::Node ack = n["ack"]; ack && !n["query"]) {
    read_ack(r, ack, r.join(path, "ack"), scope, tool);
  }
  read_guard(r, n, path, scope, tool);
  if (tool.ack.style == tools::ack_style::rpc) {
    bool carries_id = false;
    for (const auto& p : tool.publish) carries_id = carries_id || p.payload.names().contains("call.id");
    if (!carries_id) {
      r.error(n["ack"], r.join(path, "ack.style"),
              "the rpc style needs a publish payload carrying \"{{call.id}}\" as the request id");
    }
  }
  if (tool.ack.style == tools::ack_style::broker) {
    for (const auto& p : tool.publish) {
      if (p.qos == 0) {
        r.warning(n, path,
                  "with QoS 0 and no ack, nothing confirms the command arrived; the model will be told so");
        break;
      }
    }
  }
  out.push_back(std::move(tool));
}

}  // namespace

std::string diagnostic::to_string() const {
  std::ostringstream out;
  out << file;
  if (line > 0) out << ':' << line << ':' << column;
  out << ": ";
  if (!key_path.empty()) out << key_path << ": ";
  out << message;
  return out.str();
}

load_result load_text(std::string_view yaml, const std::string& source_name) {
  reader r(source_name);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    r.error_at(e.mark.line + 1, e.mark.column + 1, "not valid YAML: " + e.msg);
    return std::move(r.result());
  }
  config cfg;
  cfg.source = source_name;
  if (!root.IsMap()) {
    r.error_at(1, 1, "expected a mapping with live, mqtt and tools, found " + describe(root));
    return std::move(r.result());
  }
  if (!structure_check(r).walk(root, "")) return std::move(r.result());
  r.check_keys(root, "", keys::root);
  if (const YAML::Node live = root["live"]) {
    read_live(r, live, cfg.live);
  } else {
    r.error(root, "live", "required key is missing (it holds at least live.model)");
  }
  if (const YAML::Node mqtt = root["mqtt"]) read_mqtt(r, mqtt, cfg.mqtt);
  if (const YAML::Node trust = root["trust"]) read_trust(r, trust, cfg.trust);
  if (const YAML::Node discovery = root["discovery"]) read_discovery(r, discovery, cfg.discovery);
  if (const YAML::Node ha = root["home_assistant"]) read_home_assistant(r, ha, cfg.home_assistant);
  if (const YAML::Node tools = root["tools"]) {
    if (!tools.IsSequence()) {
      r.error(tools, "tools", "expected a list of tools, found " + describe(tools));
    } else {
      for (std::size_t i = 0; i < tools.size(); ++i)
        read_tool(r, tools[i], "tools[" + std::to_string(i) + "]", cfg.mqtt.topic_prefix, cfg.tools);
    }
  }
  if (cfg.discovery.enabled) {
    // The tools discovery declares and the file's own must not share a name.
    // Read from the file, not from cfg.tools: a broken entry is missing there, and the indices
    // would no longer match.
    const auto reserved = discovery::reserved_tool_names(cfg.discovery.components);
    const YAML::Node listed = root["tools"];
    for (std::size_t i = 0; listed && listed.IsSequence() && i < listed.size(); ++i) {
      const YAML::Node t = listed[i];
      if (!t.IsMap() || !t["name"] || !t["name"].IsScalar()) continue;
      const std::string name = t["name"].Scalar();
      if (std::find(reserved.begin(), reserved.end(), name) == reserved.end()) continue;
      r.error(
          t["name"], "tools[" + std::to_string(i) + "].name",
          "\"" + name +
              "\" is the name of a tool discovery declares; rename this tool or leave that component out of "
              "discovery.components");
    }
  }
  load_result result = std::move(r.result());
  if (result.errors.empty()) result.cfg = std::move(cfg);
  return result;
}

load_result load_file(const std::string& path) {
  const auto cannot_read = [&](int error) {
    load_result result;
    result.errors.push_back({path, 0, 0, "", "cannot read the file: " + std::string(std::strerror(error))});
    return result;
  };
  // A directory opens as a stream that reads nothing, which would look like an empty file.
  if (std::error_code ec; std::filesystem::is_directory(path, ec)) return cannot_read(EISDIR);
  std::ifstream in(path, std::ios::binary);
  if (!in) return cannot_read(errno);
  std::ostringstream text;
  text << in.rdbuf();
  return load_text(text.str(), path);
}

}  // namespace lb::config
