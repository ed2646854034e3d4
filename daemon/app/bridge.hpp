// The wiring: prompts from MQTT become user turns on the Live session, the model's function calls
// go to the dispatcher, its answers go back as toolResponses, and each finished turn is published
// as a reply. The only module that knows all the others. Runs on the io thread.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "audio/wav_store.hpp"
#include "config/config.hpp"
#include "config/secrets.hpp"
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
  struct prompt {
    nlohmann::json id;  // from the JSON prompt; null for plain text
    std::string text;
  };
  struct turn {
    prompt source;
    std::string text;
    nlohmann::json tool_calls = nlohmann::json::array();
    std::size_t calls_pending = 0;
    std::string heard;  // transcript of voice input
    audio::pcm_pieces audio_pcm;
    std::uint32_t audio_rate = 24000;
    bool audio_truncated = false;
    bool interrupted = false;
    nlohmann::json code = nlohmann::json::array();
    nlohmann::json code_results = nlohmann::json::array();
    nlohmann::json search_queries = nlohmann::json::array();
    nlohmann::json sources = nlohmann::json::array();
    std::optional<nlohmann::json> usage;
    bool voice = false;      // opened by voice input, not by a prompt
    bool follow_up = false;  // the model speaking about a NON_BLOCKING result after the turn ended
  };

  // live::session_events
  void on_session_ready() override;
  void on_server_message(live::server_message& msg) override;
  void on_session_lost(const std::string& reason) override;

  void on_mqtt_message(incoming_message&& msg);
  void on_prompt(const incoming_message& msg);
  void on_voice_chunk(const incoming_message& msg);
  void on_voice_end(const incoming_message& msg);
  void begin_turn(turn t);
  void start_next_turn();
  void handle_function_call(live::function_call call);
  // Sends the answer with the others ready in this turn of the event loop, in one toolResponse.
  void queue_tool_response(nlohmann::json function_response);
  // The call's outcome in the running turn's reply (first outcome wins).
  void record_call_result(const std::string& id, bool ok, const nlohmann::json& response);
  void finish_turn(std::optional<std::string> error);
  // `extras`: members a finished turn adds (audio, code, sources, …).
  void publish_reply(const prompt& p, const std::string& text, const nlohmann::json& tool_calls,
                     const std::optional<std::string>& error,
                     nlohmann::json extras = nlohmann::json::object());
  void collect_content(turn& t, const live::server_content& c);
  nlohmann::json turn_extras(turn& t);
  void publish_event(nlohmann::json event);
  void publish_availability(bool online);
  void notify_status();
  void on_go_away(std::chrono::milliseconds time_left);
  void renew_if_quiet();
  void apply_pending_reload();

  struct pending_reload {
    config::config cfg;
    config::secrets secrets;
    std::function<void()> applied;
  };

  boost::asio::io_context& io_;
  config::config cfg_;
  config::topics topics_;
  std::unique_ptr<mqtt::client> mqtt_;
  std::unique_ptr<mqtt::client> prompt_inbox_;  // null when mqtt.persistent_prompts is off
  std::unique_ptr<tools::dispatcher> dispatcher_;
  std::unique_ptr<live::session> session_;
  std::deque<prompt> prompts_;
  std::optional<turn> turn_;
  boost::asio::steady_timer turn_timer_;
  boost::asio::steady_timer go_away_timer_;  // moves to a new connection before the server's deadline
  bool go_away_pending_ = false;
  std::uint64_t session_generation_ = 0;  // answers for calls of an older connection are dropped
  nlohmann::json ready_responses_ = nlohmann::json::array();  // answers for the next toolResponse
  std::string last_call_;
  long long tokens_total_ = 0;  // usageMetadata.totalTokenCount, summed over the daemon's life
  std::unique_ptr<audio::wav_store> wav_store_;  // null: spoken answers are not written
  config::secrets secrets_;
  std::string setup_frame_;  // what the session sends on every connection, for comparing at reload
  std::optional<pending_reload> reload_;
  std::function<void(const std::string&)> status_listener_;
  bool stopping_ = false;
  // The model will speak without a prompt: after voice input, or after a NON_BLOCKING result with
  // INTERRUPT / WHEN_IDLE scheduling. Its next content opens a turn that is replied to like a
  // prompt's.
  struct expected_turn {
    nlohmann::json id;  // the voice turn's name, or the prompt the result belongs to
    bool voice = false;
  };
  std::optional<expected_turn> expected_;
  std::size_t voice_dropped_ = 0;  // chunks dropped in the current stretch (no session, a call outstanding)
};

}  // namespace lb::app
