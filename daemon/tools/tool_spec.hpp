// A declared function as the config describes it: what the model sees, what gets published, and
// how the device's acknowledgement is recognised. Plain data, produced by the config loader.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/command_source.hpp"
#include "tools/schema.hpp"
#include "tools/template.hpp"

namespace lb::tools {

struct publish_spec {
  text_template topic;
  payload_template payload;
  int qos = 1;
  bool retain = false;
};

enum class ack_style {
  broker,    // the broker's PUBACK only: the honest answer is "accepted, unverified"
  state,     // a non-retained message on a state topic that contains `match`
  response,  // MQTT v5: the reply on our Response Topic carrying our Correlation Data
  rpc,       // JSON-RPC (Shelly Gen2): a reply on `topic` whose "id" equals the request's {{call.id}}
};

// An enum's spelling in the config file (and on the wire), one table for both directions: the
// loader reads through it, the *_name functions write through it.
template <class E>
struct spelling {
  std::string_view name;
  E value;
};

template <class E, std::size_t N>
constexpr std::string_view name_in(const spelling<E> (&table)[N], E value) {
  for (const auto& s : table)
    if (s.value == value) return s.name;
  return table[0].name;
}

inline constexpr spelling<ack_style> ack_style_spellings[] = {{"state", ack_style::state},
                                                              {"response", ack_style::response},
                                                              {"rpc", ack_style::rpc},
                                                              {"broker", ack_style::broker}};

inline std::string_view ack_style_name(ack_style s) {
  return name_in(ack_style_spellings, s);
}

struct ack_spec {
  ack_style style = ack_style::broker;
  text_template topic;                 // state and rpc styles
  std::optional<json_template> match;  // required content of the acknowledgement
  std::optional<json_template>
      reject;            // content that means the device refused (Tasmota {"Command":"Unknown"})
  double tolerance = 0;  // allowed numeric difference in `match`, in the device's units
  std::chrono::milliseconds timeout{5000};
};

// How the model waits for a function (the declaration's `behavior`). NON_BLOCKING suits slow
// devices (a garage door): the model keeps talking, and the result arrives with `scheduling`.
enum class behavior { blocking, non_blocking };
enum class scheduling { interrupt, when_idle, silent };

inline constexpr spelling<behavior> behavior_spellings[] = {{"BLOCKING", behavior::blocking},
                                                            {"NON_BLOCKING", behavior::non_blocking}};
inline constexpr spelling<scheduling> scheduling_spellings[] = {{"INTERRUPT", scheduling::interrupt},
                                                                {"WHEN_IDLE", scheduling::when_idle},
                                                                {"SILENT", scheduling::silent}};

inline std::string_view scheduling_name(scheduling s) {
  return name_in(scheduling_spellings, s);
}

// What the bridge demands before it carries out a call, beyond valid arguments. Enforced by the
// trust gate (trust/gate.hpp), never by the model.
enum class confirmation {  // in rising strictness
  none,
  ack,  // a person's yes, given out of band (<prefix>/confirm/<id> or `livebridge confirm`)
  pin,  // the owner's PIN in the person's own words of the current user turn
};
inline constexpr spelling<confirmation> confirmation_spellings[] = {
    {"none", confirmation::none}, {"ack", confirmation::ack}, {"pin", confirmation::pin}};
inline std::string_view confirmation_name(confirmation c) {
  return name_in(confirmation_spellings, c);
}

struct rate_limit {
  std::size_t calls = 0;             // at most this many carried-out calls ...
  std::chrono::milliseconds per{0};  // ... in any window this long
};

// Local wall-clock minutes since midnight; `from > to` wraps past midnight (22:00-06:00).
struct daily_window {
  int from_minute = 0;
  int to_minute = 0;
};

// A bound the bridge enforces on a numeric argument beyond what the schema tells the model.
struct argument_bound {
  std::string argument;
  std::optional<double> minimum;
  std::optional<double> maximum;
};

struct guard_spec {
  tools::confirmation confirm = tools::confirmation::none;
  std::optional<text_template> confirm_message;  // rendered with the arguments: "Open the {{door}} door?"
  std::string confirm_origin;                    // "file:line:col" of `confirm`, for errors found later
  std::optional<tools::rate_limit> rate;
  std::optional<daily_window> allowed_hours;
  std::vector<argument_bound> bounds;
  std::vector<std::string> sources;  // prompt sources that may have it called; empty = any
  bool dry_run = false;              // render and report what would be published; publish nothing
};

// A looking tool: answers from the latest message seen on `topic` (retained copies count) and
// publishes nothing.
struct query_spec {
  text_template topic;
};

struct tool_spec {
  std::string name;
  std::string description;
  std::optional<param_schema> parameters;  // nullopt: the function takes no arguments
  std::vector<publish_spec> publish;
  ack_spec ack;
  tools::behavior behavior = tools::behavior::blocking;
  tools::scheduling scheduling = tools::scheduling::when_idle;  // NON_BLOCKING only
  std::optional<query_spec> query;  // set: a query tool, `publish` and `ack` unused
  guard_spec guard;
  // Set: the command is chosen per call (discovered devices); `publish`, `query` and `ack` other
  // than its timeout are unused. Shared: a reload copies tools, and the source is immutable.
  std::shared_ptr<const command_source> source;
};

// What a call needs before it runs: the stricter of the tool's `confirm` and its source's.
inline confirmation confirmation_needed(const tool_spec& tool, const json& args) {
  const confirmation own = tool.guard.confirm;
  if (!tool.source) return own;
  const confirmation per_call = tool.source->confirmation_for(args);
  return static_cast<int>(per_call) > static_cast<int>(own) ? per_call : own;
}

}  // namespace lb::tools
