// A declared function as the config describes it: what the model sees, what gets published, and
// how the device's acknowledgement is recognised. Plain data, produced by the config loader.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

struct tool_spec {
  std::string name;
  std::string description;
  std::optional<param_schema> parameters;  // nullopt: the function takes no arguments
  std::vector<publish_spec> publish;
  ack_spec ack;
  tools::behavior behavior = tools::behavior::blocking;
  tools::scheduling scheduling = tools::scheduling::when_idle;  // NON_BLOCKING only
};

}  // namespace lb::tools
