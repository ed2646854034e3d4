// The turn and the prompt queue as a state machine: which prompt goes to the model when, when a
// turn ends, and what happens to the queue when the Live session or the reply link comes and
// goes. (state, event) -> (state, actions); no I/O, no timers: the bridge carries out the actions
// and asks the predicates. Runs on the io thread.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lb::app {

struct prompt {
  nlohmann::json id;  // from the JSON prompt; null for plain text
  std::string text;
  // Who spoke: the last level of <prefix>/prompt/<source>, "default" for <prefix>/prompt, "voice"
  // for a microphone stream. The broker's ACL decides who may publish as which.
  std::string source = "default";
};

class turn_fsm {
 public:
  enum class phase {
    idle,     // no turn; a queued prompt starts one as soon as starting is allowed
    in_turn,  // the model is answering a prompt (or speaking unprompted); its output is collected
    // The running turn timed out and its prompt got an error reply, but the model may still be
    // answering it: the Live API does not say which turn output belongs to, so nothing new starts
    // until the model completes that turn or the connection is replaced.
    abandoned,
    stopped,
  };
  // Who opened the turn, which decides how its reply is labelled.
  enum class opener { prompt, voice, follow_up };

  struct action {
    enum class kind {
      start_turn,     // send `turn_prompt` as a user turn (opener prompt) and arm the turn timer
      open_turn,      // the model speaks unprompted (voice, follow-up): a turn under `turn_prompt.id`
      finish_turn,    // publish the running turn's reply, with `error` if set; cancel the turn timer
      refuse_prompt,  // reply to `turn_prompt` with `error`; it never reaches the model
      arm_timer,      // the abandoned turn gets one more turn_timeout to complete
      renew_session,  // the abandoned turn never completed: a new connection ends it
    };
    kind what;
    prompt turn_prompt;
    std::optional<std::string> error;
    opener by = opener::prompt;
  };
  using actions = std::vector<action>;

  explicit turn_fsm(std::size_t max_queued) : max_queued_(max_queued) {}

  // A prompt from MQTT or the CLI.
  actions on_prompt(prompt p);
  // The Live session can carry frames, or can no longer.
  actions on_session_ready();
  actions on_session_lost(const std::string& reason);
  // The bridge is moving the session to a new connection (goAway, reload): nothing new is sent
  // on the old one. A running turn goes on until the connection is gone.
  void on_session_closing() { session_ready_ = false; }
  // start_turn could not be carried out (the session refused the frame): the prompt goes back to
  // the front of the queue, and waits for the next connection.
  void on_turn_not_sent(prompt p);
  // The connection replies are published on is up (every SUBACK in) or down.
  actions on_reply_link(bool up);
  // While held (a goAway or a reload waits for a quiet moment), no new turn starts.
  actions on_hold(bool held);
  // The model will speak without a prompt (after voice input, after a NON_BLOCKING result); its
  // next output opens a turn replied to under `id`.
  void expect_model_turn(nlohmann::json id, opener by, std::string source = "default");
  bool expecting(opener by) const { return expected_ && expected_->by == by; }
  // The end of a voice stream names the voice turn it opens, if one is expected.
  void name_expected_voice_turn(const nlohmann::json& id);
  // Model output (content or function calls) arrived; may open an expected turn.
  actions on_model_output();
  // A BLOCKING call of the running turn was made / answered: the turn waits for its answers.
  void on_call_started();
  void on_call_answered();
  // serverContent.turnComplete.
  actions on_model_turn_complete();
  // The turn timer fired; `why` is the error the prompt's reply carries.
  actions on_turn_timeout(const std::string& why);
  // Shutdown: the running turn and every queued prompt get an error reply.
  actions on_stop();

  phase current() const { return phase_; }
  // Model output belongs to a turn that gets a reply.
  bool collecting() const { return phase_ == phase::in_turn; }
  bool abandoned() const { return phase_ == phase::abandoned; }
  bool quiet() const { return phase_ == phase::idle; }
  bool can_start_turn() const { return phase_ == phase::idle && session_ready_ && reply_link_up_ && !held_; }
  std::size_t queued() const { return queue_.size(); }
  std::size_t blocking_calls_pending() const { return calls_pending_; }

 private:
  void start_if_possible(actions& out);
  void finish(actions& out, std::optional<std::string> error);

  std::size_t max_queued_;
  phase phase_ = phase::idle;
  std::deque<prompt> queue_;
  bool session_ready_ = false;
  bool reply_link_up_ = false;
  bool held_ = false;
  std::size_t calls_pending_ = 0;
  struct expected_turn {
    nlohmann::json id;
    opener by;
    std::string source;  // the source of the prompt it follows up, or "voice"
  };
  std::optional<expected_turn> expected_;
};

}  // namespace lb::app
