// The config file's keys, section by section: the one description of the file's shape. The loader
// takes from here which keys each mapping may hold and the range of every integer and duration, and
// json_schema.cpp turns the same tables into the JSON Schema that editors check the file with, so
// that a key or a limit cannot be added to one and forgotten in the other.
//
// A new section: a table of its keys and a `section` for it below, one line for it in root_keys,
// and its read_* function in loader.cpp, which checks its keys with `r.check_keys(n, path,
// keys::<section>)` and reads each through `keys::<section>.at("<key>")`.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>

#include "config/config.hpp"
#include "discovery/entity.hpp"
#include "tools/schema.hpp"
#include "tools/tool_spec.hpp"

namespace lb::config::keys {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

enum class kind {
  text,         // any scalar, read as text: a number or boolean counts as its spelling
  integer,      // a whole number from min to max
  number,       // any number, at least `minimum` when it is set
  duration,     // "250ms", "5s", "2m", "1h" or a plain number of seconds, from min_duration to max_duration
  boolean,      // true or false
  choice,       // one of `choices`
  mapping,      // a mapping with the keys of `fields`
  list,         // a list of `element`s
  one_or_list,  // one `element`, or a non-empty list of them
  named,        // a mapping from names the file chooses to `element`s
  any,          // any value: payloads and JSON subsets, which have rules of their own
  // A parameter declaration: it nests itself (properties, items), which constants cannot point
  // at, so its keys are the section `parameter` below and json_schema.cpp names it once.
  parameter,
  function_parameters,  // a tool's parameters: a parameter declaration whose type is object or left out
};

struct section;

struct key {
  std::string_view name = {};  // empty for the element of a list or a named mapping
  kind type = kind::any;
  std::string_view description = {};
  bool required = false;
  long long min = 0;  // integer
  long long max = 0;
  milliseconds min_duration{0};  // duration
  milliseconds max_duration{0};
  std::optional<double> minimum = {};              // number
  std::span<const std::string_view> choices = {};  // choice
  bool any_case = false;                           // choice: the spellings in any mix of upper and lower case
  std::string_view pattern = {};                   // text: an ECMA-262 regular expression the text matches
  std::size_t min_length = 0;                      // text
  std::size_t max_length = 0;                      // text; 0 = any length
  std::size_t min_size = 0;                        // list: elements; mapping and named: entries
  bool unique = false;                             // list: no element twice
  const section* fields = nullptr;                 // mapping
  const key* element = nullptr;                    // list, one_or_list, named

  constexpr key needed() const {
    key k = *this;
    k.required = true;
    return k;
  }
  constexpr key matching(std::string_view regex) const {
    key k = *this;
    k.pattern = regex;
    return k;
  }
  constexpr key length(std::size_t least, std::size_t most) const {
    key k = *this;
    k.min_length = least;
    k.max_length = most;
    return k;
  }
  constexpr key at_least(std::size_t entries) const {
    key k = *this;
    k.min_size = entries;
    return k;
  }
  constexpr key without_repeats() const {
    key k = *this;
    k.unique = true;
    return k;
  }
  constexpr key not_below(double least) const {
    key k = *this;
    k.minimum = least;
    return k;
  }
  constexpr key in_any_case() const {
    key k = *this;
    k.any_case = true;
    return k;
  }
};

struct section {
  std::span<const key> keys;
  std::span<const std::string_view> exactly_one_of = {};  // keys of which one, and only one, is given

  // The loader's way to a key: a name missing here does not compile.
  consteval const key& at(std::string_view name) const {
    for (const key& k : keys) {
      if (k.name == name) return k;
    }
    throw "this section has no such key";
  }
};

constexpr key text(std::string_view name, std::string_view description) {
  return {.name = name, .type = kind::text, .description = description};
}
constexpr key integer(std::string_view name, long long min, long long max, std::string_view description) {
  return {.name = name, .type = kind::integer, .description = description, .min = min, .max = max};
}
constexpr key number(std::string_view name, std::string_view description) {
  return {.name = name, .type = kind::number, .description = description};
}
constexpr key duration(std::string_view name, milliseconds min, milliseconds max,
                       std::string_view description) {
  return {.name = name,
          .type = kind::duration,
          .description = description,
          .min_duration = min,
          .max_duration = max};
}
constexpr key boolean(std::string_view name, std::string_view description) {
  return {.name = name, .type = kind::boolean, .description = description};
}
constexpr key choice(std::string_view name, std::span<const std::string_view> choices,
                     std::string_view description) {
  return {.name = name, .type = kind::choice, .description = description, .choices = choices};
}
constexpr key mapping(std::string_view name, const section& fields, std::string_view description) {
  return {.name = name, .type = kind::mapping, .description = description, .fields = &fields};
}
constexpr key list(std::string_view name, const key& element, std::string_view description) {
  return {.name = name, .type = kind::list, .description = description, .element = &element};
}
constexpr key one_or_list(std::string_view name, const key& element, std::string_view description) {
  return {.name = name, .type = kind::one_or_list, .description = description, .element = &element};
}
constexpr key named(std::string_view name, const key& element, std::string_view description) {
  return {.name = name, .type = kind::named, .description = description, .element = &element};
}
constexpr key any(std::string_view name, std::string_view description) {
  return {.name = name, .type = kind::any, .description = description};
}
constexpr key of_kind(kind type, std::string_view name, std::string_view description) {
  return {.name = name, .type = type, .description = description};
}

// The names of a spelling table (or of a table of pairs), as a choice lists them.
template <const auto& table>
inline constexpr auto names_of = [] {
  std::array<std::string_view, std::size(table)> names{};
  for (std::size_t i = 0; i < names.size(); ++i) {
    if constexpr (requires { table[0].name; }) {
      names[i] = table[i].name;
    } else {
      names[i] = table[i].first;
    }
  }
  return names;
}();

// ---- live ---------------------------------------------------------------------------------------

inline constexpr key live_audio_keys[] = {
    text("directory",
         "Where each turn's spoken answer is written as a WAV file (default: <state directory>/audio)"),
    integer("keep_files", 1, 1'000'000, "The oldest WAV files beyond this many are deleted"),
    boolean("publish", "Also publish each answer's WAV bytes on <prefix>/audio"),
    duration("max_duration", 1s, 3600s, "A longer spoken answer is cut here, so memory stays bounded"),
};
inline constexpr section live_audio{live_audio_keys};

inline constexpr key context_compression_keys[] = {
    boolean("enabled", "Sliding-window compression, so sessions are not capped at about 15 minutes"),
    integer("trigger_tokens", 1000, 10'000'000, "Compress when the context reaches this many tokens"),
    integer("target_tokens", 500, 10'000'000, "... down to this many (smaller than trigger_tokens)"),
};
inline constexpr section context_compression{context_compression_keys};

inline constexpr key builtin_tool_name =
    choice("", names_of<builtin_tool_spellings>, "A tool Google runs itself");

inline constexpr key live_keys[] = {
    text("url", "wss:// (TLS, host name verified) or ws:// (a loopback simulator) URL of the Live API")
        .matching("^[Ww][Ss][Ss]?://"),
    text("model", "The Live model, models/<id> (models/ is added when missing)").needed(),
    text("api_key_file",
         "File holding the Gemini API key, when no systemd credential gemini-api-key has one"),
    text("ca_file", "Extra trusted CA bundle (PEM), in addition to the system store"),
    choice("response_modality", names_of<modality_spellings>,
           "TEXT, or AUDIO (spoken answers; native-audio models answer only in AUDIO)"),
    text("system_instruction", "Text sent to the model as its system instruction"),
    text("voice", "AUDIO: a prebuilt voice (Kore, Puck, Charon, ...)"),
    text("language", "AUDIO: the spoken language as a BCP-47 code (en-US, de-DE, ...)"),
    boolean("push_to_talk",
            "Voice input marks its own start and end instead of the server's voice detection"),
    mapping("audio", live_audio, "AUDIO: where spoken answers are kept"),
    list("builtin_tools", builtin_tool_name, "Tools Google runs itself: google_search, code_execution"),
    duration("connect_timeout", 100ms, 300s, "DNS, TCP, TLS and the WebSocket upgrade"),
    duration("setup_timeout", 100ms, 300s, "From sending setup to setupComplete"),
    duration("turn_timeout", 1s, 3600s,
             "From sending a prompt to the model's finished turn; then the prompt gets an error"),
    duration("reconnect_delay_max", 1s, 3600s, "Cap of the exponential reconnect backoff"),
    integer("max_frame_bytes", 64 * 1024, 256LL << 20, "A larger server frame ends the connection"),
    duration("idle_timeout", 5s, 3600s,
             "Nothing read for this long: a new connection (a ping after half of it)"),
    integer("max_calls_per_tool_call", 1, 1024,
            "Calls beyond this many in one toolCall are answered with an error"),
    boolean("session_resumption", "Resume the session with its handle after a drop or a goAway"),
    text("state_directory", "Where the resumption handle is kept (default: $STATE_DIRECTORY)"),
    mapping("context_compression", context_compression, "Sliding-window compression of the model's context"),
};
inline constexpr section live{live_keys};

// ---- mqtt ---------------------------------------------------------------------------------------

inline constexpr key mqtt_keys[] = {
    text("url",
         "The broker: mqtt://, tcp://, mqtts:// or ssl:// (TLS verifies the broker's certificate and name)")
        .matching("^([Mm][Qq][Tt][Tt][Ss]?|[Tt][Cc][Pp]|[Ss][Ss][Ll])://"),
    text("client_id", "livebridge's MQTT client id, without /, +, # or spaces; also {{bridge.client_id}}")
        .matching("^[^/+# ]*$")
        .length(1, max_client_id_length),
    text("username", "The broker user; anonymous when absent"),
    text("password_file",
         "File holding the broker password, when no systemd credential mqtt-password has one"),
    text("ca_file", "CA bundle (PEM) for mqtts://; the system store otherwise"),
    text("topic_prefix", "The prefix of livebridge's own topics: <prefix>/prompt, <prefix>/reply, ...")
        .matching("^[^+#]*[^+#/]$"),
    duration("keepalive", 5s, 3600s, "MQTT keep-alive"),
    integer("max_prompt_bytes", 16, 16LL << 20, "A larger prompt gets an error reply"),
    integer("max_queued_prompts", 1, 100000, "Prompts waiting beyond this many get an error reply"),
    boolean("persistent_prompts",
            "Prompts on a lasting session of their own, kept by the broker while livebridge is away"),
    boolean("events",
            "One JSON message per turn start and end and per tool call and result on <prefix>/event"),
};
inline constexpr section mqtt{mqtt_keys};

// ---- trust --------------------------------------------------------------------------------------

inline constexpr key trust_audit_keys[] = {
    text("directory", "Where the audit trail audit.jsonl is written (default: the state directory)"),
    integer("max_bytes", 4096, 1LL << 30, "audit.jsonl is rotated beyond this size, in bytes"),
    integer("keep_files", 0, 1000, "Rotated audit files kept"),
};
inline constexpr section trust_audit{trust_audit_keys};

inline constexpr key trust_keys[] = {
    text("pin_file",
         "File holding the owner's PIN (or its hash), when the credential livebridge-pin has none"),
    duration("confirm_timeout", 1ms, 3600s, "An approval request nobody answers within this is refused"),
    integer("pin_attempts", 1, 100, "Wrong PINs in a row before PIN confirmations are locked"),
    duration("lockout", 1s, 24h, "How long PIN confirmations stay locked"),
    integer("loop_guard", 1, 1000, "The same call more often than this in one turn is refused"),
    duration("transcript_grace", 0ms, 10s,
             "How long a PIN call in a voice turn waits for the person's words"),
    boolean("dry_run", "Every tool behaves as dry_run: true"),
    mapping("audit", trust_audit, "The audit trail of every attempted action"),
};
inline constexpr section trust{trust_keys};

// ---- discovery ----------------------------------------------------------------------------------

inline constexpr key component_name =
    choice("", names_of<discovery::component_spellings>, "A kind of entity livebridge has a tool for");
inline constexpr key entity_pattern =
    text("", "A pattern ('*', '?', any case) of an entity's name, its device's name or one of its topics")
        .length(1, 0);
inline constexpr key confirmation_level =
    choice("", names_of<tools::confirmation_spellings>, "none, ack or pin");
inline constexpr key discovery_keys[] = {
    text("prefix", "The discovery prefix the home's bridges publish under (default homeassistant)")
        .matching("^[^+#]*[^+#/]$"),
    list("components", component_name, "The kinds of entity to use (default: all)")
        .at_least(1)
        .without_repeats(),
    list("include", entity_pattern, "Use only entities matching one of these"),
    list("exclude", entity_pattern, "Leave out entities matching one of these"),
    choice("risky", names_of<tools::confirmation_spellings>,
           "What unlocking, opening a door, garage, gate or window cover and disarming need (default ack)"),
    named("confirm", confirmation_level,
          "Per entity name: what its risky actions need, or all its actions when it has none"),
    boolean("unverified",
            "Use entities whose state needs Jinja, with the broker's PUBACK as their only acknowledgement"),
    duration("timeout", 100ms, 600s, "How long a call waits for the device's report"),
};
inline constexpr section discovery{discovery_keys};

// ---- home_assistant -----------------------------------------------------------------------------

inline constexpr key home_assistant_keys[] = {
    boolean("discovery",
            "Announce livebridge to Home Assistant as a device (false: remove the announcement)"),
    text("prefix", "Home Assistant's discovery prefix").matching("^[^+#]*[^+#/]$"),
    text("status_topic", "Where Home Assistant publishes online and offline (default <prefix>/status)")
        .matching("^[^+#]+$"),
    text("device_name", "The device's name in Home Assistant (default mqtt.client_id)").length(1, 0),
    text("prompt_source", "The prompt source of the Prompt text entity: <mqtt.topic_prefix>/prompt/<source>")
        .matching("^[A-Za-z0-9_-]{1,64}$"),
};
inline constexpr section home_assistant{home_assistant_keys};

// ---- tools --------------------------------------------------------------------------------------

inline constexpr key publish_keys[] = {
    text("topic", "The command topic: a template ({{parameter}}), without wildcards").needed(),
    any("payload", "A mapping or list is sent as JSON, a string as it is, a number or boolean as JSON"),
    integer("qos", 0, 2, "MQTT QoS of the command"),
    boolean("retain", "Retain the command (replayed at every reconnect of the device: settings only)"),
};
inline constexpr section publish{publish_keys};
inline constexpr key publish_message = mapping("", publish, "One MQTT message");

inline constexpr key ack_keys[] = {
    choice("style", names_of<tools::ack_style_spellings>,
           "How the device confirms: state (default with a topic), rpc, response or broker"),
    text("topic", "state and rpc styles: the topic the answer comes on (a template)"),
    any("match", "JSON subset (a template) the acknowledgement must contain"),
    any("reject", "JSON subset meaning the device refused (state and response styles)"),
    number("tolerance", "Allowed numeric difference in match, in the device's units").not_below(0),
    duration("timeout", 100ms, 600s, "How long to wait for the acknowledgement"),
};
inline constexpr section ack{ack_keys};

inline constexpr key query_keys[] = {
    text("topic", "The state topic to answer from (a template, without wildcards)").needed(),
};
inline constexpr section query{query_keys};

inline constexpr key bound_keys[] = {
    number("minimum", "The least value the bridge carries out"),
    number("maximum", "The greatest value the bridge carries out"),
};
inline constexpr section bound{bound_keys};
inline constexpr key argument_bound =
    mapping("", bound, "Limits on a declared number or integer parameter: minimum, maximum or both")
        .at_least(1);

inline constexpr key prompt_source =
    text("", "A prompt source: default, voice, cli or the last level of <prefix>/prompt/<name>")
        .matching("^[A-Za-z0-9_-]{1,64}$");

inline constexpr key nested_parameter = of_kind(kind::parameter, "", "A property's declaration");
inline constexpr key property_name = text("", "A declared property");
inline constexpr key allowed_value = any("", "An allowed value");
inline constexpr key parameter_keys[] = {
    choice("type", names_of<tools::value_type_names>, "object, string, number, integer, boolean or array")
        .in_any_case()
        .needed(),
    text("description", "Shown to the model"),
    named("properties", nested_parameter, "An object's properties"),
    list("required", property_name, "The properties every call must give"),
    list("enum", allowed_value, "The only values allowed").at_least(1),
    number("minimum", "The least value a number or integer may have"),
    number("maximum", "The greatest value a number or integer may have"),
    of_kind(kind::parameter, "items", "An array's elements"),
};
inline constexpr section parameter{parameter_keys};

inline constexpr std::string_view publish_or_query[] = {"publish", "query"};
inline constexpr key tool_keys[] = {
    text("name",
         "The function's name: a letter or _, then letters, digits, _ . : -, at most 128 in all; unique")
        .matching("^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$")
        .needed(),
    text("description", "What the function does, shown to the model"),
    of_kind(kind::function_parameters, "parameters",
            "The arguments, as a JSON-Schema subset; {} or absent: none"),
    one_or_list("publish", publish_message, "What a call publishes: one message or a list, in order"),
    mapping("ack", ack, "How the device confirms the command"),
    choice("behavior", names_of<tools::behavior_spellings>,
           "NON_BLOCKING for slow devices: the model goes on talking"),
    choice("scheduling", names_of<tools::scheduling_spellings>,
           "NON_BLOCKING only: when the model hears the result (INTERRUPT, WHEN_IDLE, SILENT)"),
    choice("confirm", names_of<tools::confirmation_spellings>,
           "What the bridge demands before a call: none, ack (a person's yes) or pin (the owner's PIN)"),
    text("confirm_message", "With confirm ack or pin: the question put to the person (a template)"),
    text("rate_limit",
         "At most N carried-out calls per period: \"6/min\", N/s, N/min, N/h or N/d; N from 1 to 100000")
        .matching("^[0-9]+/(s|sec|second|min|minute|h|hour|d|day)$"),
    text("allowed_hours", "The local daily window for calls, \"07:00-22:00\"; it may wrap past midnight")
        .matching("^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$"),
    named("bounds", argument_bound, "Limits the bridge enforces on numeric arguments, by parameter name"),
    list("sources", prompt_source, "The prompt sources that may have the tool called")
        .at_least(1)
        .without_repeats(),
    boolean("dry_run", "Render and report what would be published, and publish nothing"),
    mapping("query", query, "A looking tool: answers from the latest state on a topic and publishes nothing"),
};
inline constexpr section tool{tool_keys, publish_or_query};
inline constexpr key tool_declaration = mapping("", tool, "A function the model may call");

// ---- the file -----------------------------------------------------------------------------------

inline constexpr key root_keys[] = {
    mapping("live", live, "The Gemini Live API session").needed(),
    mapping("mqtt", mqtt, "The MQTT broker and livebridge's own topics"),
    mapping("trust", trust,
            "What a person must approve, how failures are counted, where actions are recorded"),
    mapping("discovery", discovery,
            "Tools from the Home Assistant MQTT discovery messages of zigbee2mqtt, ESPHome, Tasmota"),
    mapping("home_assistant", home_assistant, "livebridge as a device in Home Assistant"),
    list("tools", tool_declaration, "The functions the model may call, each one or more MQTT publishes"),
};
inline constexpr section root{root_keys};

}  // namespace lb::config::keys
