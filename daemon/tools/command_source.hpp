// A tool whose command is chosen per call from what the network describes (devices found through
// MQTT discovery), instead of rendered from templates the owner wrote. The dispatcher asks it what
// to publish and how the device will acknowledge, then runs the call like any other.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/message.hpp"
#include "tools/state_cache.hpp"

namespace lb::tools {

enum class confirmation;

struct resolved_command {
  std::vector<outgoing_message> messages;  // in order; empty for a look
  std::string ack_topic;                   // empty: only the broker's PUBACK answers
  std::vector<json> matches;               // any one of these, as a subset of the report, acknowledges
  std::optional<json> reject;              // a report that means the device could not (a jammed lock)
  double tolerance = 0;                    // numeric slack in `matches`, in the device's units
  std::string query_topic;                 // set: a look at the latest state, publishing nothing
  json about = json::object();             // told to the model with the answer ("entity": "Hall light")
};

class command_source {
 public:
  virtual ~command_source() = default;

  // `args` already passed the tool's schema. The error text is for the model and names what to do;
  // "nothing was done" is added by the caller. `states` holds the topics of watched_topics().
  virtual std::variant<resolved_command, std::string> resolve(const json& args,
                                                              const state_cache& states) const = 0;

  // What a person must grant before this call runs, beyond the tool's own `confirm`.
  virtual confirmation confirmation_for(const json& args) const = 0;
  // The question put to the person, or nullopt for the default wording.
  virtual std::optional<std::string> confirm_text(const json& args) const = 0;

  // Topics acknowledgements arrive on, and topics whose latest message resolve() reads
  // (availability, states for looks): the bridge subscribes to both.
  virtual std::vector<std::string> ack_topics() const = 0;
  virtual std::vector<std::string> watched_topics() const = 0;
};

}  // namespace lb::tools
