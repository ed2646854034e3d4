// Stands between the model's function calls and the dispatcher: every call is judged by the trust
// gate, and every attempted action goes into the audit trail. Calls that need a person's yes
// become approval requests on <prefix>/confirm/request; a yes on <prefix>/confirm/<id> (a phone, a
// Home Assistant button, `livebridge confirm`) makes the bridge carry out exactly the approved
// call, once, and report it on <prefix>/confirm/result, as an event and to the model. The lifecycle
// of the requests is trust::confirmation_book; this class carries out its actions. Runs on the io
// thread.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "common/message.hpp"
#include "config/config.hpp"
#include "tools/dispatcher.hpp"
#include "trust/audit_trail.hpp"
#include "trust/confirmation_book.hpp"
#include "trust/gate.hpp"

namespace lb::app {

class call_guard {
 public:
  struct ports {
    std::function<tools::dispatcher&()> dispatcher;  // the current one (a reload replaces it)
    std::function<bool(outgoing_message)> publish;   // on the main link; false when it is down
    std::function<void(nlohmann::json)> event;       // for <prefix>/event
    std::function<void(std::string)> tell_model;     // a note for the model's context
  };
  call_guard(boost::asio::io_context& io, const config::config& cfg, std::optional<trust::pin_verifier> pin,
             ports p);
  ~call_guard();

  struct call_context {
    std::string call_id;
    nlohmann::json prompt_id;
    std::shared_ptr<trust::turn_evidence> evidence;  // the current turn's; a fresh one outside turns
  };
  using answer_fn = std::function<void(tools::call_outcome)>;

  // Judges the call, then runs it, refuses it or asks a person. `answer` runs exactly once (maybe
  // before this returns), unless the call is cancelled first.
  void call(const tools::tool_spec& tool, nlohmann::json args, call_context ctx, answer_fn answer);
  // Forgets a call still held for the transcript (the model cancelled it, its session ended):
  // it never runs. False when none is held under that id.
  bool cancel(const std::string& call_id);
  // Forgets every held call (their session is gone); returns their ids.
  std::vector<std::string> cancel_all_held();
  // The turn's transcript grew, or (final) the turn is over: held calls of it are judged again.
  void on_words(const std::shared_ptr<trust::turn_evidence>& evidence, bool final);
  std::size_t held_calls() const { return held_.size(); }
  // The turn ended without an answer (timed out, failed): its held calls are refused, never run.
  void refuse_held(const std::shared_ptr<trust::turn_evidence>& evidence, const std::string& reason);
  // A call the dispatcher had and forgot (the model cancelled it, or its session ended before it
  // was published) goes on record as cancelled, with why.
  static constexpr const char* cancelled_by_model =
      "cancelled by the model after it was handed to the dispatcher; the device may have acted";
  void on_cancelled(const std::string& call_id, const std::string& reason = cancelled_by_model);
  // A call the bridge refused before judging it (the stop, a timed-out turn, too many in one
  // toolCall) goes on record too. Returns the arguments as recorded: without the PIN.
  nlohmann::json record_refusal(const std::string& call_id, const std::string& tool,
                                const nlohmann::json& args, const nlohmann::json& prompt_id,
                                const std::string& source, const std::string& reason);

  // A person's answer on <prefix>/confirm/<id>.
  void on_answer(const std::string& request_id, const incoming_message& msg);
  // The main link is up: the list of waiting requests is published again (retained).
  void on_link_up();
  // A reload: waiting requests end (their tool may have changed); the limits and the lockout stay.
  void reconfigure(const config::config& cfg, std::optional<trust::pin_verifier> pin);
  // Only the tools changed (devices found or gone): requests already waiting for a person stay.
  void update_tools(const config::config& cfg);
  // Shutdown: waiting requests end, and nothing more is carried out.
  void stop();

  // Typed words with the PIN taken out, before they go to the model, an event or a log.
  std::string without_pin(std::string_view words) const { return gate_.without_pin(words); }
  // A call's arguments (or a command, or a device's answer) as they may be shown (logs, events,
  // the audit trail): the PIN taken out of every string and number.
  nlohmann::json shown_args(const nlohmann::json& value) const;

 private:
  struct held_call;
  void judge(const tools::tool_spec& tool, nlohmann::json args, call_context ctx, answer_fn answer,
             bool may_wait);
  // `audit_base` null: the call is not on record (a query tool: looking is not an action).
  void carry_out(const tools::tool_spec& tool, nlohmann::json args, call_context ctx, answer_fn answer,
                 nlohmann::json audit_base);
  void ask_person(const tools::tool_spec& tool, nlohmann::json args, const std::string& digest,
                  const call_context& ctx, const answer_fn& answer, nlohmann::json audit_base);
  void run(const trust::confirmation_book::actions& actions);
  void execute_approved(const trust::approval_request& r, const std::string& by);
  void finish_request(const trust::approval_request& r, const std::string& decision, const std::string& by,
                      bool ok, const nlohmann::json& outcome, const std::string& reason,
                      const nlohmann::json& published, long long ms);
  void publish_pending();
  void arm_expiry();
  void open_audit();
  void audit(nlohmann::json record);
  nlohmann::json request_json(const trust::approval_request& r) const;
  std::string new_request_id();

  boost::asio::io_context& io_;
  config::config cfg_;
  config::topics topics_;
  ports ports_;
  trust::gate gate_;
  trust::confirmation_book book_;
  std::unique_ptr<trust::audit_trail> audit_;
  boost::asio::steady_timer expiry_timer_;
  std::list<held_call> held_;
  std::map<std::string, nlohmann::json> in_flight_;  // call id → its audit record so far
  bool stopped_ = false;
  // Answers and timers may outlive this object at shutdown: they hold this weakly.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace lb::app
