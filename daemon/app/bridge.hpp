// The wiring: prompts from MQTT become user turns on the Live session, the model's function calls
// go to the dispatcher, its answers go back as toolResponses, and each finished turn is published
// as a reply. The only module that knows all the others. When a turn may start and when it ends
// is decided by the turn machine (turn_fsm); the bridge carries out its actions. Runs on the io
// thread.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "app/audio_sink.hpp"
#include "app/call_guard.hpp"
#include "app/discovery_watch.hpp"
#include "app/turn_fsm.hpp"
#include "app/turn_record.hpp"
#include "config/config.hpp"
#include "config/secrets.hpp"
#include "ha/announce.hpp"
#include "live/session.hpp"
#include "mqtt/client.hpp"
#include "tools/dispatcher.hpp"

namespace lb::app {

class bridge final : private live::session_events {
 public:
  bridge(boost::asio::io_context& io, config::config cfg, config::secrets secrets);
  ~bridge() override;

  void start();
  // Answers what is pending, publishes `offline`, closes the session and MQTT; `done` runs last.
  void stop(std::function<void()> done);

  // One line for humans and systemd's STATUS=.
  std::string status_text() const;
  // Called with status_text() whenever it may have changed.
  void set_status_listener(std::function<void(const std::string&)> listener) {
    status_listener_ = std::move(listener);
  }

  // Applies a validated config between turns (never in the middle of one): new tools reach the
  // model through a fresh session. `applied` runs once it is in effect. MQTT connection settings
  // (url, client id, credentials, prefix) take effect only at a restart; that is logged.
  void reload(config::config cfg, config::secrets secrets, std::function<void()> applied);

 private:
  // live::session_events
  void on_session_ready() override;
  void on_server_message(live::server_message& msg) override;
  void on_session_lost(const std::string& reason) override;

  void on_mqtt_message(incoming_message&& msg);
  void on_reply_link(bool up);
  void on_prompt(const incoming_message& msg);
  // A person's answer to approval request <id>, on <prefix>/confirm/<id>.
  void on_voice_chunk(const incoming_message& msg);
  void on_voice_end(const incoming_message& msg);

  // Carries out what the turn machine decided.
  void run(const turn_fsm::actions& actions);
  void run_actions(const turn_fsm::actions& actions);
  void settle_if_quiet();
  void start_turn(const prompt& p);
  void open_turn(const prompt& p, turn_fsm::opener by);
  void arm_turn_timer();
  void finish_turn(const std::optional<std::string>& error);

  void handle_function_call(live::function_call call);
  // Sends the answer with the others ready in this turn of the event loop, in one toolResponse.
  void queue_tool_response(nlohmann::json function_response);
  void flush_tool_responses();  // the answers queued so far, in one toolResponse
  // The call's outcome in the running turn's reply (first outcome wins).
  void record_call_result(const std::string& id, bool ok, const nlohmann::json& response);

  // Replies go out on the main connection; while it is down they wait here (bounded).
  void publish_reply(const nlohmann::json& reply);
  void flush_held_replies();
  void publish_event(nlohmann::json event);
  // The `tool_result` of a call that will never be answered (cancelled, or its session ended).
  void withdrawn(const std::string& call, const std::string& why);
  // A call's `tool_result` event; `ms` unknown for a call cancelled or refused before it ran.
  void publish_tool_result(const std::string& call, const std::string& name, nlohmann::json args, bool ok,
                           std::optional<long long> ms, nlohmann::json response);
  void publish_availability(bool online);
  void notify_status();

  void on_go_away(std::chrono::milliseconds time_left);
  void renew_if_quiet();
  void renew_session();
  void apply_pending_reload();
  void update_hold();
  bool quiet() const {
    return turns_.quiet() && dispatcher_->pending_calls() == 0 && guard_->held_calls() == 0;
  }
  // Notes for the model (what an approved call did) go out only between turns.
  void tell_model(std::string note);
  void flush_notes();
  void on_confirm_answer(const incoming_message& msg);
  std::shared_ptr<trust::turn_evidence> unprompted_evidence();

  // Discovered devices changed: their tools reach the model at the next quiet moment.
  void on_discovery_settled();
  void start_session();
  // The file's tools and, with discovery, the discovered ones.
  std::vector<tools::tool_spec> effective_tools(const config::config& cfg);
  // Follows a reload's discovery section: starts, stops or re-points the watch.
  void follow_discovery_config(const config::discovery_config& next);
  // Home Assistant (ha/announce.hpp): the device announcement, sent whenever the main connection
  // comes up and when Home Assistant says `online`, and its Status entity, kept current.
  void announce_to_home_assistant();
  void reannounce_to_home_assistant(std::vector<outgoing_message> messages);  // after a reload
  void publish_home_assistant_status();

  struct pending_reload {
    std::optional<config::config> cfg;  // nullopt: only the discovered tools changed
    config::secrets secrets;
    std::function<void()> applied;
  };

  boost::asio::io_context& io_;
  config::config cfg_;
  config::topics topics_;
  std::unique_ptr<mqtt::client> mqtt_;
  std::unique_ptr<mqtt::client> prompt_inbox_;  // null when mqtt.persistent_prompts is off
  std::unique_ptr<tools::dispatcher> dispatcher_;
  std::unique_ptr<call_guard> guard_;
  std::deque<std::string> notes_;                     // for the model, waiting for a quiet moment (bounded)
  std::shared_ptr<trust::turn_evidence> unprompted_;  // calls outside any turn, this session
  std::unique_ptr<live::session> session_;
  std::vector<tools::tool_spec> declared_tools_;  // the config file's own
  std::unique_ptr<discovery_watch> discovery_;    // null without a discovery section
  std::uint64_t discovery_applied_ = 0;           // the catalog generation the tools were built from
  bool session_started_ = false;
  boost::asio::steady_timer discovery_deadline_;  // the session starts by then, settled or not
  turn_fsm turns_;
  std::optional<turn_record> turn_;  // the running turn's contents, while turns_ is in a turn
  std::uint64_t turn_seq_ = 0;       // a turn timer fires only for the turn it was armed for
  boost::asio::steady_timer turn_timer_;
  boost::asio::steady_timer go_away_timer_;  // moves to a new connection before the server's deadline
  bool go_away_pending_ = false;
  bool settle_posted_ = false;
  std::uint64_t session_generation_ = 0;  // answers for calls of an older connection are dropped
  nlohmann::json ready_responses_ = nlohmann::json::array();  // answers for the next toolResponse
  struct held_reply {
    nlohmann::json id;  // for the log, should it never go out
    outgoing_message message;
  };
  std::deque<held_reply> held_replies_;
  std::string last_call_;
  // With events on: each call not yet answered, as its events show it, so that a call withdrawn
  // without an answer still has its name and arguments in its one event.
  struct open_call {
    std::string name;
    nlohmann::json args;
  };
  std::map<std::string, open_call> open_calls_;
  long long tokens_total_ = 0;  // usageMetadata.totalTokenCount, summed over the daemon's life
  audio_sink audio_;
  config::secrets secrets_;
  std::string setup_frame_;  // what the session sends on every connection, for comparing at reload
  std::optional<pending_reload> reload_;
  std::function<void(const std::string&)> status_listener_;
  bool stopping_ = false;
  std::size_t voice_dropped_ = 0;  // chunks dropped in the current stretch (no session, a call outstanding)
  std::optional<ha::status_facts> ha_status_;  // what the Status entity last got; none: send it again
};

}  // namespace lb::app
