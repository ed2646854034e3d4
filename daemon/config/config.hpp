// The daemon's configuration as plain structs. Every default lives here, with its unit; the
// loader (loader.cpp) is the only code that reads YAML.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/tool_spec.hpp"

namespace lb::config {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

enum class modality { text, audio };
enum class builtin_tool { google_search, code_execution };

// Their spellings in the config file, for the loader and the JSON Schema alike.
inline constexpr tools::spelling<modality> modality_spellings[] = {{"TEXT", modality::text},
                                                                   {"text", modality::text},
                                                                   {"AUDIO", modality::audio},
                                                                   {"audio", modality::audio}};
inline constexpr tools::spelling<builtin_tool> builtin_tool_spellings[] = {
    {"google_search", builtin_tool::google_search}, {"code_execution", builtin_tool::code_execution}};

inline constexpr const char* default_live_url =
    "wss://generativelanguage.googleapis.com/ws/"
    "google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent";

struct live_config {
  std::string url = default_live_url;
  std::string model;                        // required, "models/<id>"
  std::optional<std::string> api_key_file;  // else $CREDENTIALS_DIRECTORY or the environment
  std::optional<std::string> ca_file;       // extra trusted CAs (PEM); the system store always
  modality response_modality = modality::text;
  std::string system_instruction;  // empty = none
  std::string voice;     // AUDIO: a prebuilt voice ("Kore", "Puck", …); empty = the model's default
  std::string language;  // AUDIO: BCP-47 code of the spoken answer ("en-US"); empty = automatic
  // Voice input: false = the server's voice activity detection finds where speech starts and ends;
  // true = the satellite says so (push to talk): <prefix>/audio/in/start and /end become
  // activityStart / activityEnd, and the server's detection is turned off.
  bool push_to_talk = false;
  struct audio_output {
    // Where each turn's spoken answer is written as a WAV file; empty = $STATE_DIRECTORY/audio, or
    // no files at all when there is no state directory either.
    std::optional<std::string> directory;
    std::size_t keep_files = 100;      // the oldest beyond this are deleted
    bool publish = false;              // also publish the WAV bytes on <prefix>/audio (a speaker satellite)
    milliseconds max_duration = 300s;  // longer answers are cut here (memory stays bounded)
  } audio;
  std::vector<builtin_tool> builtin_tools;
  milliseconds connect_timeout = 10s;  // DNS + TCP + TLS + WebSocket upgrade
  milliseconds setup_timeout = 10s;    // setup sent → setupComplete
  milliseconds turn_timeout = 120s;    // prompt sent → turnComplete; then the prompt gets an error reply
  milliseconds reconnect_delay_max = 60s;    // cap of the exponential reconnect backoff
  std::size_t max_frame_bytes = 16u << 20;   // larger server frames close the connection
  milliseconds idle_timeout = 60s;           // nothing read for this long → reconnect; pings at half of it
  std::size_t max_calls_per_tool_call = 64;  // calls beyond it are answered with an error, not run
  bool session_resumption = true;            // ask for handles and resume with them after a drop
  std::optional<std::string> state_directory;  // keeps the handle; else $STATE_DIRECTORY; else memory only
  struct context_compression {
    bool enabled = true;               // sliding window: sessions are not capped at ~15 minutes
    long long trigger_tokens = 25600;  // compress when the context reaches this many tokens
    long long target_tokens = 12800;   // ... down to this many
  } compression;
};

struct mqtt_config {
  std::string url = "mqtt://127.0.0.1:1883";
  std::string client_id = "livebridge";
  std::string username;                      // empty = anonymous
  std::optional<std::string> password_file;  // else $CREDENTIALS_DIRECTORY/mqtt-password
  std::optional<std::string> ca_file;        // for mqtts:// / ssl://; system store when absent
  std::string topic_prefix = "livebridge";
  milliseconds keepalive = 30s;
  std::size_t max_prompt_bytes = 64u << 10;  // larger prompts get an error reply
  std::size_t max_queued_prompts = 100;      // more waiting prompts get an error reply
  // The prompt topic on its own lasting MQTT session (client id `<client_id>-prompts`), so QoS 1
  // prompts published while livebridge is stopped or restarting wait in the broker.
  bool persistent_prompts = true;
  bool events = true;  // one JSON message per turn start/end and tool call/result on <prefix>/event
};

// Besides mqtt.client_id itself, livebridge connects with ids derived from it: the prompt inbox as
// `<client_id>-prompts`, and each `livebridge ask` as `<client_id>-ask-<pid>`. The loader limits
// client_id so that the longest of them stays within max_derived_client_id_length. Build the
// derived ids only with these functions, so that the limit and the ids cannot drift apart.
inline constexpr std::size_t max_derived_client_id_length = 64;
inline constexpr std::string_view prompts_client_id_suffix = "-prompts";
inline constexpr std::string_view ask_client_id_infix = "-ask-";
inline constexpr long max_pid = 4'194'304;  // PID_MAX_LIMIT of 64-bit Linux: pid_max never exceeds it

constexpr std::size_t decimal_digits(long n) {
  std::size_t digits = 1;
  for (; n >= 10; n /= 10) ++digits;
  return digits;
}
inline constexpr std::size_t max_client_id_length =
    max_derived_client_id_length -
    std::max(prompts_client_id_suffix.size(), ask_client_id_infix.size() + decimal_digits(max_pid));

inline std::string prompts_client_id(const mqtt_config& m) {
  return m.client_id + std::string(prompts_client_id_suffix);
}
inline std::string ask_client_id(const mqtt_config& m, long pid) {
  return m.client_id + std::string(ask_client_id_infix) + std::to_string(pid);
}

// Safety: what a person must approve, how failures are counted, and where actions are recorded.
struct trust_config {
  std::optional<std::string> pin_file;  // else the credential livebridge-pin
  milliseconds confirm_timeout = 120s;  // an approval request nobody answers within this is refused
  std::size_t pin_attempts = 3;         // wrong PINs in a row before PIN confirmations are locked ...
  milliseconds lockout = 300s;          // ... for this long
  std::size_t loop_guard = 3;  // the same call (tool and arguments) more often in one turn is refused
  // A voice turn's transcript is not ordered with the model's calls: a PIN call waits this long
  // for the person's words to arrive before it is judged.
  milliseconds transcript_grace = 1500ms;
  bool dry_run = false;  // --dry-run: every tool behaves as `dry_run: true`
  struct audit_config {
    std::optional<std::string> directory;  // else the state directory; no trail when neither exists
    std::size_t max_bytes = 10u << 20;     // audit.jsonl is rotated beyond this size ...
    std::size_t keep_files = 5;            // ... keeping this many rotated files
  } audit;
};

// Tools from the Home Assistant MQTT discovery messages the home's bridges already publish.
struct discovery_config {
  bool enabled = false;  // the section is present
  std::string prefix = "homeassistant";
  std::vector<std::string> components;  // empty = every supported one
  // Glob patterns ('*', '?'), matched without case against the entity's name, its device's name
  // and its topics: an entity is used when it matches an include (or none is given) and no exclude.
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  // What the risky actions (unlock, open a door, garage, gate or window cover, disarm) need.
  tools::confirmation risky = tools::confirmation::ack;
  std::string risky_origin;  // "file:line:col", for errors found later
  // Per entity name: what its risky actions need, or all its actions when it has no risky one.
  std::map<std::string, tools::confirmation> confirm;
  // An entity whose state needs a template livebridge does not evaluate is left out; with this it
  // is used with the broker's PUBACK as its only acknowledgement, and its answers say unverified.
  bool unverified = false;
  milliseconds timeout = 5s;  // how long a call waits for the device's report
};

// livebridge as a device in Home Assistant (MQTT device-based discovery): what it announces and
// where. The entities read livebridge's own topics; only their status has a topic of its own.
struct home_assistant_config {
  bool discovery = false;                   // false: the device config a previous run announced is removed
  std::string prefix = "homeassistant";     // Home Assistant's discovery prefix
  std::optional<std::string> status_topic;  // its birth/last-will topic; else <prefix>/status
  std::optional<std::string> device_name;   // the device's name in Home Assistant; else mqtt.client_id
  // The prompt source of the Prompt text entity: it writes <mqtt.topic_prefix>/prompt/<source>,
  // so a tool's `sources` decides whether Home Assistant may have it called.
  std::string prompt_source = "homeassistant";
};

struct config {
  std::string source;  // the file it was read from
  live_config live;
  mqtt_config mqtt;
  trust_config trust;
  discovery_config discovery;
  home_assistant_config home_assistant;
  std::vector<tools::tool_spec> tools;  // the ones the file declares; discovered ones join at run time
};

// live.state_directory, else the first path of systemd's $STATE_DIRECTORY (StateDirectory=);
// empty when neither is set.
inline std::string resolved_state_directory(const live_config& live) {
  if (live.state_directory && !live.state_directory->empty()) return *live.state_directory;
  const char* env = std::getenv("STATE_DIRECTORY");
  if (env == nullptr) return {};
  const std::string all = env;
  return all.substr(0, all.find(':'));
}

// Topics under mqtt.topic_prefix.
struct topics {
  std::string prompt, reply, availability, response, event, audio;
  std::string audio_in;         // voice from a microphone satellite: raw 16 kHz PCM16LE mono chunks
  std::string audio_in_end;     // the microphone closed; optional JSON {"id": …} names the voice turn
  std::string audio_in_start;   // push to talk: the button went down
  std::string prompt_sources;   // <prefix>/prompt/+: the last level names the source (the ACL decides who)
  std::string confirm_request;  // a new approval request (not retained)
  std::string confirm_pending;  // retained: every request still waiting, as one JSON array
  std::string confirm_result;   // what an approved call did, or why a request ended without running
  std::string confirm_answers;  // <prefix>/confirm/+: a person's yes or no to request <id>
  static topics for_config(const mqtt_config& m) {
    const std::string& p = m.topic_prefix;
    return {p + "/prompt",         p + "/reply",    p + "/availability",    p + "/response/" + m.client_id,
            p + "/event",          p + "/audio",    p + "/audio/in",        p + "/audio/in/end",
            p + "/audio/in/start", p + "/prompt/+", p + "/confirm/request", p + "/confirm/pending",
            p + "/confirm/result", p + "/confirm/+"};
  }
};

}  // namespace lb::config
