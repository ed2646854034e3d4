// The bridge's own judgement of a function call before anything reaches a device: which prompt
// source may have it called, at what hours, within which bounds, how often, and whether a person
// must approve it. The model's word never approves anything: approval comes from the person's own
// words in the current user turn (a PIN) or from outside the conversation (a yes on the confirm
// topic). Pure: time and the turn's words come in, a verdict goes out; the bridge carries it out.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "tools/tool_spec.hpp"
#include "trust/pin.hpp"
#include "trust/pin_lockout.hpp"
#include "trust/rate_window.hpp"

namespace lb::trust {

using clock = std::chrono::steady_clock;

// What one user turn has shown so far, as the gate needs it. Lives as long as the turn.
struct turn_evidence {
  std::string source = "default";                   // the prompt's source
  std::string typed;                                // the person's typed words (before the PIN was taken out)
  std::string heard;                                // the transcript of the person's voice in this turn
  bool transcript_may_grow = false;                 // a voice turn: the transcript is not ordered with calls
  std::map<std::string, std::size_t> calls_seen;    // action digest → times called in this turn
  std::set<std::string> carried_out_on_pin;         // digests this turn's PIN already approved
  bool pin_attempt_counted = false;                 // a turn's wrong PINs are counted once
  std::optional<clock::time_point> grace_deadline;  // set by the first call held for the words
};

struct verdict {
  enum class kind {
    run,             // carry it out now
    refuse,          // answer `code` and `message`; nothing reaches the device
    ask_person,      // open an approval request; the call itself is answered with `message`
    wait_for_words,  // the PIN may still arrive in the transcript: judge again when it grows
  };
  kind what = kind::refuse;
  // One word for the model, the audit trail and the logs, after Google's execution errors where
  // one fits: sourceNotAllowed, outsideAllowedHours, argumentOutOfBounds, loopGuard, rateLimited,
  // ackNeeded, pinNeeded, challengeFailedPinNeeded, tooManyFailedAttempts, challengeFailedNotSetup.
  std::string code;
  std::string message;
  std::string how;  // "pin" when a PIN approved a run; "" otherwise
};

struct call_facts {
  clock::time_point now;
  int local_minute = 0;  // minutes since local midnight
};

class gate {
 public:
  gate(const config::trust_config& cfg, std::optional<pin_verifier> pin);

  // `args` have passed the schema. `evidence` is the current turn's (a fresh one for a call made
  // outside any turn, which no PIN can approve); the gate records the call in it.
  verdict judge(const tools::tool_spec& tool, const nlohmann::json& args, const std::string& digest,
                turn_evidence& evidence, const call_facts& facts);

  // A reload: new settings and PIN; the counted failures, a running lockout and the rate windows
  // stay (a reload must not be a way around them).
  void reconfigure(const config::trust_config& cfg, std::optional<pin_verifier> pin);
  // ... and the tools' new rate limits apply to the calls already counted.
  void set_rate_limits(const std::vector<tools::tool_spec>& tools);

  // A person approved the call out of band: only the rate limit still applies.
  verdict admit_approved(const tools::tool_spec& tool, clock::time_point now);

  // The PIN taken out of typed words before they reach the model (unchanged without a PIN).
  std::string without_pin(std::string_view words) const;
  const std::optional<pin_verifier>& pin() const { return pin_; }
  bool has_pin() const { return pin_.has_value(); }
  bool locked(clock::time_point now) const { return lockout_.locked(now); }

 private:
  std::optional<verdict> check_limits(const tools::tool_spec& tool, const nlohmann::json& args,
                                      const turn_evidence& evidence, const call_facts& facts) const;
  verdict judge_pin(const std::string& digest, turn_evidence& evidence, clock::time_point now);
  std::optional<verdict> take_rate(const tools::tool_spec& tool, clock::time_point now);

  config::trust_config cfg_;
  std::optional<pin_verifier> pin_;
  pin_lockout lockout_;
  std::map<std::string, rate_window, std::less<>> rates_;  // tool name → its window
};

// "07:00-22:00" and friends, for messages.
std::string window_text(const tools::daily_window& w);

}  // namespace lb::trust
