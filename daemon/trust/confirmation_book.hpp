// The lifecycle of approval requests: a call that needs a person's yes waits here until someone
// answers or its time runs out. A state machine in the style of the link machines: events in,
// actions out, no I/O and no timers (the caller arms one for next_expiry() and calls on_tick).
// Each request ends exactly once, as execute, declined or expired; a yes after `expires` never
// executes. Runs on the io thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lb::trust {

using time_point = std::chrono::steady_clock::time_point;

struct approval_request {
  std::string id;  // chosen by the caller (random hex), unique among live requests
  std::string tool;
  nlohmann::json args;       // exactly what will be executed
  std::string digest;        // action_digest(tool, args)
  std::string message;       // the rendered confirm_message
  nlohmann::json prompt_id;  // the prompt the call came from (null for none)
  std::string source;        // the prompt's source
  std::string call_id;       // the model's call that asked
  time_point expires;
};

class confirmation_book {
 public:
  struct action {
    enum class kind {
      publish_request,  // new request: announce it (request topic, event, audit)
      publish_pending,  // the set of waiting requests changed: republish the list (retained)
      execute,          // a person said yes in time: carry out exactly `request`, once
      declined,         // a person said no
      expired,          // nobody answered before `expires`
      withdrawn,        // the bridge ended it unanswered (a reload, the stop): `reason` says why
      // An answer naming no waiting request: `reason` is "unknown request", "already answered"
      // or "expired". `request` carries only the id: a finished request is not kept.
      answer_refused,
      // Not taken, nothing announced: "too many requests waiting", "duplicate id", "no id",
      // "no digest" or "expired before it was asked".
      request_refused,
    };
    kind what;
    approval_request request;
    std::string by;  // who answered (execute, declined, answer_refused)
    std::string reason;
  };
  using actions = std::vector<action>;

  // How many finished requests are remembered, so that a late second answer is told "already
  // answered" or "expired" rather than "unknown request".
  static constexpr std::size_t retired_memory = 256;

  explicit confirmation_book(std::size_t max_waiting = 32) : max_waiting_(max_waiting) {}

  // Every event first expires what is due at `now` (oldest first, then publish_pending), so no
  // request outlives its time because no timer fired.

  // A call that needs a yes. When a request with the same digest is already waiting, no new one
  // is made and the actions are empty (beyond expiries): the caller attaches to waiting_for().
  actions on_request(approval_request r, time_point now);
  // A person's answer to request `id`. An answer at or after the request's `expires` is refused
  // ("expired") and the request expires.
  actions on_answer(std::string_view id, bool yes, std::string by, time_point now);
  // Expires what is due, oldest first.
  actions on_tick(time_point now);
  // Ends every waiting request unanswered: a later answer to one is refused ("withdrawn").
  actions on_withdraw_all(const std::string& reason);

  const approval_request* waiting_for(std::string_view digest) const;
  const approval_request* find(std::string_view id) const;
  std::vector<approval_request> waiting() const { return waiting_; }  // oldest first
  std::optional<time_point> next_expiry() const;

 private:
  enum class ending { answered, expired, withdrawn };
  void expire_due(time_point now, actions& out);
  void retire(const std::string& id, ending how);

  std::size_t max_waiting_;
  std::vector<approval_request> waiting_;               // in arrival order
  std::deque<std::pair<std::string, ending>> retired_;  // newest last, at most retired_memory
};

}  // namespace lb::trust
