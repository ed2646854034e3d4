#include "app/bridge.hpp"
#include "common/json_text.hpp"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include <boost/asio/post.hpp>

#include "audio/wav.hpp"
#include "common/duration.hpp"
#include "common/log.hpp"
#include "common/probe.hpp"
#include "common/utf8.hpp"
#include "live/protocol.hpp"

namespace lb::app {
namespace asio = boost::asio;
using nlohmann::json;

namespace {}  // namespace

bridge::bridge(asio::io_context& io, config::config cfg, config::secrets secrets)
    : io_(io),
      cfg_(std::move(cfg)),
      topics_(config::topics::for_config(cfg_.mqtt)),
      turn_timer_(io),
      go_away_timer_(io),
      secrets_(secrets) {
  const tools::dispatcher::options dispatch_options{cfg_.mqtt.client_id, topics_.response};
  std::vector<std::string> subscriptions;
  if (cfg_.mqtt.persistent_prompts) {
    config::mqtt_config inbox_cfg = cfg_.mqtt;
    inbox_cfg.client_id += "-prompts";
    prompt_inbox_ = std::make_unique<mqtt::client>(
        io_, inbox_cfg, secrets.mqtt_password, mqtt::client::last_will{}, std::vector{topics_.prompt},
        mqtt::client::handlers{
            .on_connected = [this] { notify_status(); },
            .on_lost = [this](const std::string&) { notify_status(); },
            .on_message = [this](incoming_message&& msg) { on_prompt(msg); },
        },
        mqtt::client::session_kind::persistent_v311);
  } else {
    subscriptions.push_back(topics_.prompt);
  }
  subscriptions.push_back(topics_.audio_in);
  subscriptions.push_back(topics_.audio_in_end);
  subscriptions.push_back(topics_.audio_in_start);
  for (auto& f : tools::ack_subscription_filters(cfg_.tools, dispatch_options))
    subscriptions.push_back(std::move(f));
  mqtt_ = std::make_unique<mqtt::client>(
      io_, cfg_.mqtt, secrets.mqtt_password, mqtt::client::last_will{topics_.availability, "offline"},
      subscriptions,
      mqtt::client::handlers{
          .on_connected =
              [this] {
                publish_availability(true);
                notify_status();
              },
          .on_lost = [this](const std::string&) { notify_status(); },
          .on_message = [this](incoming_message&& msg) { on_mqtt_message(std::move(msg)); },
      });
  dispatcher_ = std::make_unique<tools::dispatcher>(io_.get_executor(), cfg_.tools, *mqtt_, dispatch_options);
  session_ = std::make_unique<live::session>(io_, cfg_.live, secrets.api_key,
                                             static_cast<live::session_events&>(*this));
  setup_frame_ = live::build_setup(cfg_.live, cfg_.tools);
  session_->set_setup(setup_frame_);
  if (cfg_.live.response_modality == config::modality::audio) {
    std::string dir = cfg_.live.audio.directory.value_or("");
    if (dir.empty()) {
      const std::string state = config::resolved_state_directory(cfg_.live);
      if (!state.empty()) dir = state + "/audio";
    }
    if (!dir.empty()) wav_store_ = std::make_unique<audio::wav_store>(dir, cfg_.live.audio.keep_files);
  }
}

bridge::~bridge() = default;

void bridge::start() {
  log::notice("bridge.starting",
              "tools=" + std::to_string(cfg_.tools.size()) + " prompt_topic=" + topics_.prompt);
  mqtt_->start();
  if (prompt_inbox_) prompt_inbox_->start();
  session_->start();
}

std::string bridge::status_text() const {
  std::string s = "live: " + session_->state_text() + " · mqtt: " + mqtt_->state_text();
  if (prompt_inbox_ && prompt_inbox_->state_text() != mqtt_->state_text())
    s += " (prompt inbox: " + prompt_inbox_->state_text() + ")";
  s += " · " + std::to_string(cfg_.tools.size()) + " tools";
  if (!last_call_.empty()) s += " · last call " + last_call_;
  if (tokens_total_ > 0) s += " · " + std::to_string(tokens_total_) + " tokens";
  return s;
}

void bridge::notify_status() {
  if (status_listener_) status_listener_(status_text());
}

void bridge::reload(config::config cfg, config::secrets secrets, std::function<void()> applied) {
  reload_ = pending_reload{std::move(cfg), std::move(secrets), std::move(applied)};
  apply_pending_reload();
  if (reload_) log::info("config.reload_waiting", "reason=\"a turn or tool call is in progress\"");
}

void bridge::apply_pending_reload() {
  if (!reload_ || turn_ || dispatcher_->pending_calls() > 0) return;
  pending_reload next = std::move(*reload_);
  reload_.reset();
  const auto& old_m = cfg_.mqtt;
  const auto& new_m = next.cfg.mqtt;
  if (old_m.url != new_m.url || old_m.client_id != new_m.client_id || old_m.username != new_m.username ||
      old_m.ca_file != new_m.ca_file || old_m.topic_prefix != new_m.topic_prefix ||
      secrets_.mqtt_password != next.secrets.mqtt_password || old_m.keepalive != new_m.keepalive ||
      old_m.persistent_prompts != new_m.persistent_prompts) {
    log::warning("config.reload_partial", "reason=\"MQTT connection settings change only at a restart\"");
  }
  next.cfg.mqtt.url = old_m.url;
  next.cfg.mqtt.client_id = old_m.client_id;
  next.cfg.mqtt.username = old_m.username;
  next.cfg.mqtt.ca_file = old_m.ca_file;
  next.cfg.mqtt.topic_prefix = old_m.topic_prefix;
  next.cfg.mqtt.keepalive = old_m.keepalive;
  next.cfg.mqtt.persistent_prompts = old_m.persistent_prompts;
  next.secrets.mqtt_password = secrets_.mqtt_password;

  const tools::dispatcher::options dispatch_options{cfg_.mqtt.client_id, topics_.response};
  dispatcher_ =
      std::make_unique<tools::dispatcher>(io_.get_executor(), next.cfg.tools, *mqtt_, dispatch_options);
  mqtt_->add_subscriptions(tools::ack_subscription_filters(next.cfg.tools, dispatch_options));
  std::string next_setup = live::build_setup(next.cfg.live, next.cfg.tools);
  const bool session_changed = next_setup != setup_frame_ || next.cfg.live.url != cfg_.live.url ||
                               next.cfg.live.ca_file != cfg_.live.ca_file ||
                               next.secrets.api_key != secrets_.api_key;
  cfg_ = std::move(next.cfg);
  secrets_ = std::move(next.secrets);
  if (session_changed) {
    setup_frame_ = std::move(next_setup);
    session_->reconfigure(cfg_.live, secrets_.api_key, setup_frame_);
  }
  log::notice("config.reloaded", "tools=" + std::to_string(cfg_.tools.size()) +
                                     (session_changed ? " session=renewed" : " session=unchanged"));
  if (next.applied) next.applied();
  notify_status();
}

void bridge::on_go_away(std::chrono::milliseconds time_left) {
  log::notice("live.go_away", "time_left_ms=" + std::to_string(time_left.count()));
  go_away_pending_ = true;
  // The server may go silent after goAway, so a timer, not the next message, enforces the move;
  // a little before the deadline, even in the middle of a turn.
  const auto margin = std::min<std::chrono::milliseconds>(time_left / 5, std::chrono::seconds(5));
  go_away_timer_.expires_after(time_left - margin);
  go_away_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !go_away_pending_) return;
    log::warning("live.go_away_deadline", "reason=\"no quiet moment before the deadline\"");
    go_away_pending_ = false;
    session_->renew();
  });
  renew_if_quiet();
}

void bridge::renew_if_quiet() {
  if (!go_away_pending_ || turn_ || dispatcher_->pending_calls() > 0) return;
  go_away_pending_ = false;
  go_away_timer_.cancel();
  session_->renew();
}

void bridge::publish_availability(bool online) {
  mqtt_->publish_and_forget(
      plain_message(topics_.availability, online ? "online" : "offline", 1, true));
}

void bridge::on_mqtt_message(incoming_message&& msg) {
  if (msg.topic == topics_.prompt) {
    on_prompt(msg);
    return;
  }
  if (msg.topic == topics_.audio_in) {
    on_voice_chunk(msg);
    return;
  }
  if (msg.topic == topics_.audio_in_end) {
    on_voice_end(msg);
    return;
  }
  if (msg.topic == topics_.audio_in_start) {
    // Only push to talk marks the start; with the server's detection there is nothing to send.
    if (cfg_.live.push_to_talk && !stopping_ && !msg.retained && session_->ready())
      session_->send(live::build_activity_start());
    return;
  }
  dispatcher_->on_message(msg);
}

void bridge::on_prompt(const incoming_message& msg) {
  if (msg.retained) {
    // A retained prompt would be replayed at every start; it is someone's mistake, not a request.
    log::warning("prompt.retained_ignored", "topic=" + msg.topic);
    return;
  }
  prompt p;
  if (msg.payload.size() > cfg_.mqtt.max_prompt_bytes) {
    log::warning("prompt.too_large", "bytes=" + std::to_string(msg.payload.size()));
    publish_reply(p, "", json::array(),
                  "prompt of " + std::to_string(msg.payload.size()) +
                      " bytes exceeds mqtt.max_prompt_bytes (" + std::to_string(cfg_.mqtt.max_prompt_bytes) +
                      ")");
    return;
  }
  const json doc = json::parse(msg.payload, nullptr, false);
  if (doc.is_object()) {
    const auto id = doc.find("id");
    if (id != doc.end() && (id->is_string() || id->is_number())) p.id = *id;
    const auto text = doc.find("text");
    if (text == doc.end() || !text->is_string()) {
      publish_reply(p, "", json::array(), "a JSON prompt needs a string member \"text\"");
      return;
    }
    p.text = text->get<std::string>();
  } else {
    p.text = msg.payload;
    if (!is_valid_utf8(p.text)) {
      publish_reply(p, "", json::array(), "the prompt is not valid UTF-8");
      return;
    }
  }
  if (p.text.find_first_not_of(" \t\r\n") == std::string::npos) {
    publish_reply(p, "", json::array(), "the prompt is empty");
    return;
  }
  if (stopping_) {
    // Taken from the broker just before the inbox disconnected: answered, not dropped.
    publish_reply(p, "", json::array(), "livebridge is shutting down");
    return;
  }
  if (prompts_.size() >= cfg_.mqtt.max_queued_prompts) {
    publish_reply(p, "", json::array(), "too many prompts are waiting (mqtt.max_queued_prompts)");
    return;
  }
  log::info("prompt.received", "id=" + json_text(p.id) + " bytes=" + std::to_string(p.text.size()) +
                                   " queued=" + std::to_string(prompts_.size()));
  prompts_.push_back(std::move(p));
  start_next_turn();
}

void bridge::on_voice_chunk(const incoming_message& msg) {
  if (stopping_ || msg.retained || msg.payload.empty()) return;
  if (msg.payload.size() % 2 != 0 || msg.payload.size() > cfg_.mqtt.max_prompt_bytes * 16) {
    log::warning("voice.bad_chunk",
                 "bytes=" + std::to_string(msg.payload.size()) +
                     " reason=\"expected 16-bit PCM samples, at most 16 × mqtt.max_prompt_bytes\"");
    return;
  }
  // Microphone audio while a call is outstanding has been reported to make the server close the
  // session (1008), so it is dropped until every call is answered; so is audio with no session.
  // Logged once per stretch, not once per chunk.
  const char* drop_reason = !session_->ready()                 ? "the Live session is not connected"
                            : dispatcher_->pending_calls() > 0 ? "a tool call is outstanding"
                                                               : nullptr;
  if (drop_reason != nullptr) {
    if (voice_dropped_++ == 0) log::info("voice.dropped", "reason=" + log::quote(drop_reason));
    return;
  }
  voice_dropped_ = 0;
  if (!expected_ || !expected_->voice) expected_ = expected_turn{json(), true};
  session_->send(live::build_realtime_audio(msg.payload, 16000));
}

void bridge::on_voice_end(const incoming_message& msg) {
  if (stopping_ || msg.retained || !session_->ready()) return;
  const json doc = json::parse(msg.payload, nullptr, false);
  json id;
  if (doc.is_object()) {
    const auto found = doc.find("id");
    if (found != doc.end() && (found->is_string() || found->is_number())) id = *found;
  }
  // The id names the voice turn this stream opens: the one expected, or (if the model is already
  // answering) the open one.
  if (!id.is_null()) {
    if (turn_ && turn_->voice && turn_->source.id.is_null()) turn_->source.id = id;
    if (expected_ && expected_->voice) expected_->id = id;
  }
  log::info("voice.end", "id=" + json_text(id));
  session_->send(cfg_.live.push_to_talk ? live::build_activity_end() : live::build_audio_stream_end());
}

void bridge::start_next_turn() {
  if (reload_) {
    apply_pending_reload();  // between turns is when a new config may take over
    if (reload_) return;
  }
  if (stopping_ || turn_ || prompts_.empty() || !session_->ready()) return;
  turn t;
  t.source = std::move(prompts_.front());
  prompts_.pop_front();
  session_->send(live::build_user_turn(t.source.text));
  expected_.reset();  // whatever the model says now belongs to this prompt
  begin_turn(std::move(t));
}

void bridge::begin_turn(turn t) {
  log::info("turn.started", "id=" + json_text(t.source.id) + (t.voice ? " source=voice" : "") +
                                (t.follow_up ? " follow_up=yes" : ""));
  json started = {{"event", "turn_started"}, {"id", t.source.id}, {"text", t.source.text}};
  if (t.voice) started["source"] = "voice";
  if (t.follow_up) started["follow_up"] = true;
  publish_event(std::move(started));
  turn_ = std::move(t);
  turn_timer_.expires_after(cfg_.live.turn_timeout);
  turn_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !turn_) return;
    finish_turn("no answer from the model within " + format_duration(cfg_.live.turn_timeout));
  });
}

void bridge::on_session_ready() {
  ++session_generation_;
  go_away_pending_ = false;
  go_away_timer_.cancel();
  notify_status();
  start_next_turn();
}

void bridge::on_session_lost(const std::string& reason) {
  // Calls of the old connection are orphaned: their answers must not reach the next session.
  if (turn_) finish_turn("the Live session was lost before the model answered: " + reason);
  notify_status();
}

void bridge::on_server_message(live::server_message& msg) {
  if (msg.usage) {
    if (const auto total = msg.usage->find("totalTokenCount");
        total != msg.usage->end() && total->is_number_integer())
      tokens_total_ += total->get<long long>();
    if (turn_) turn_->usage = *msg.usage;
  }
  if (!turn_ && expected_ && (msg.content || !msg.function_calls.empty())) {
    // The model answers what it heard, or speaks about a late result: a turn of its own.
    turn t;
    t.voice = expected_->voice;
    t.follow_up = !expected_->voice;
    t.source.id = expected_->id;
    expected_.reset();
    begin_turn(std::move(t));
  }
  if (msg.content && turn_) collect_content(*turn_, *msg.content);
  if (msg.go_away) on_go_away(*msg.go_away);
  if (!msg.function_calls.empty()) probe::begin_at(probe::stage::frame_to_publish, msg.received_at);
  std::size_t index = 0;
  for (auto& call : msg.function_calls) {
    if (++index > cfg_.live.max_calls_per_tool_call) {
      // Answered, never run: a flood of calls must not become a flood of commands.
      log::warning("tool.refused", "call=" + call.id + " reason=\"too many calls in one toolCall\"");
      queue_tool_response(
          live::function_response(call.id, call.name,
                                  json{{"error", "too many function calls in one toolCall (at most " +
                                                     std::to_string(cfg_.live.max_calls_per_tool_call) +
                                                     "); this one was not run"}}));
      continue;
    }
    handle_function_call(std::move(call));
  }
  for (const auto& id : msg.cancelled_ids) {
    const bool known = dispatcher_->cancel(id);
    log::info("tool.cancellation", "call=" + id + (known ? " pending=yes" : " pending=no"));
    record_call_result(id, false, json{{"error", "cancelled by the model"}});
  }
  // With BLOCKING functions the server may complete its turn right after the toolCall; the user's
  // turn ends with the model's answer after the last toolResponse.
  if (msg.content && msg.content->turn_complete && turn_ && turn_->calls_pending == 0)
    finish_turn(std::nullopt);
}

void bridge::collect_content(turn& t, const live::server_content& c) {
  const bool audio = cfg_.live.response_modality == config::modality::audio;
  // An interruption ends what the model was saying; anything after it in this turn is dropped.
  if (c.interrupted && !t.interrupted) {
    t.interrupted = true;
    log::info("turn.interrupted", "id=" + json_text(t.source.id));
  }
  if (!t.interrupted) {
    t.text += audio ? c.output_transcription : c.text;
    if (!c.audio_pcm.empty() && !t.audio_truncated) {
      const auto max_bytes =
          static_cast<std::size_t>(cfg_.live.audio.max_duration.count()) * c.audio_rate * 2 / 1000;
      t.audio_rate = c.audio_rate;
      if (t.audio_pcm.size() + c.audio_pcm.size() > max_bytes) {
        t.audio_pcm.append(c.audio_pcm.substr(0, max_bytes - std::min(max_bytes, t.audio_pcm.size())));
        t.audio_truncated = true;
        log::warning("turn.audio_truncated",
                     "id=" + json_text(t.source.id) + " reason=\"live.audio.max_duration\"");
      } else {
        t.audio_pcm.append(c.audio_pcm);
      }
    }
  }
  t.heard += c.input_transcription;
  for (const auto& code : c.code) t.code.push_back(code);
  for (const auto& result : c.code_results) t.code_results.push_back(result);
  if (c.grounding) {
    if (const auto queries = c.grounding->find("webSearchQueries");
        queries != c.grounding->end() && queries->is_array()) {
      for (const auto& q : *queries)
        if (q.is_string()) t.search_queries.push_back(q);
    }
    if (const auto chunks = c.grounding->find("groundingChunks");
        chunks != c.grounding->end() && chunks->is_array()) {
      for (const auto& chunk : *chunks) {
        const auto web = chunk.find("web");
        if (!chunk.is_object() || web == chunk.end() || !web->is_object()) continue;
        const json source = {{"title", web->value("title", "")}, {"uri", web->value("uri", "")}};
        if (std::find(t.sources.begin(), t.sources.end(), source) == t.sources.end())
          t.sources.push_back(source);
      }
    }
  }
}

json bridge::turn_extras(turn& t) {
  json extras = json::object();
  if (!t.heard.empty()) extras["heard"] = t.heard;
  if (!t.code.empty()) extras["code"] = t.code;
  if (!t.code_results.empty()) extras["code_results"] = t.code_results;
  if (!t.search_queries.empty()) extras["search_queries"] = t.search_queries;
  if (!t.sources.empty()) extras["sources"] = t.sources;
  if (t.interrupted) extras["interrupted"] = true;
  if (t.usage) extras["usage"] = *t.usage;
  if (t.voice) extras["source"] = "voice";
  if (t.follow_up) extras["follow_up"] = true;
  if (!t.audio_pcm.empty()) {
    json audio = {{"sample_rate", t.audio_rate},
                  {"seconds", static_cast<double>(t.audio_pcm.size() / 2) / t.audio_rate}};
    if (t.audio_truncated) audio["truncated"] = true;
    if (wav_store_) {
      const std::string name =
          t.source.id.is_string() ? t.source.id.get<std::string>() : json_text(t.source.id);
      auto saved = wav_store_->save(t.audio_pcm, t.audio_rate, name);
      if (saved.error.empty()) {
        audio["file"] = saved.path;
      } else {
        log::error("audio.write_failed", "reason=" + log::quote(saved.error));
        audio["error"] = saved.error;
      }
    }
    if (cfg_.live.audio.publish)
      mqtt_->publish_and_forget(
          plain_message(topics_.audio, audio::make_wav(t.audio_pcm, t.audio_rate), 1, false));
    extras["audio"] = std::move(audio);
  }
  return extras;
}

void bridge::publish_event(json event) {
  if (!cfg_.mqtt.events) return;
  mqtt_->publish_and_forget(plain_message(topics_.event, json_text(event), 0, false));
}

void bridge::handle_function_call(live::function_call call) {
  if (log::enabled(log::level::debug))
    log::debug("tool.call", "call=" + call.id + " name=" + call.name +
                                " args=" + log::quote(log::abbreviate(json_text(call.args), 500)));
  const tools::tool_spec* spec = dispatcher_->find_tool(call.name);
  const bool blocking = spec == nullptr || spec->behavior == tools::behavior::blocking;
  // NON_BLOCKING only: how the model is to take the late result.
  const auto late_result = blocking ? std::nullopt : std::optional<tools::scheduling>(spec->scheduling);
  if (turn_) {
    json record = {{"id", call.id}, {"name", call.name}, {"args", call.args}};
    // A NON_BLOCKING call does not hold the turn open: the model goes on talking.
    if (blocking) {
      ++turn_->calls_pending;
    } else {
      record["non_blocking"] = true;
    }
    turn_->tool_calls.push_back(std::move(record));
  }
  const json prompt_id = turn_ ? turn_->source.id : json();
  const auto started = std::chrono::steady_clock::now();
  const auto generation = session_generation_;
  dispatcher_->call(
      call.id, call.name, call.args,
      [this, id = call.id, name = call.name, args = call.args, started, generation, late_result,
       prompt_id](tools::call_outcome outcome) {
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
                .count();
        // The answer first: the model is waiting for it. It goes out before the bookkeeping
        // posted below, so logging and STATUS= cost the round trip nothing.
        const bool current = generation == session_generation_ && session_->ready();
        if (current)
          queue_tool_response(live::function_response(
              id, name, outcome.response, late_result ? tools::scheduling_name(*late_result) : ""));
        // A late NON_BLOCKING result makes the model speak again (unless SILENT): that speech is
        // replied to under the prompt the call came from.
        if (current && !turn_ && late_result && *late_result != tools::scheduling::silent && !expected_)
          expected_ = expected_turn{prompt_id, false};
        record_call_result(id, outcome.ok, outcome.response);
        asio::post(io_, [this, id, name, args, ms, current, outcome = std::move(outcome)] {
          last_call_ = name + (outcome.ok ? " ok " : " failed ") + std::to_string(ms) + " ms";
          log::write(outcome.ok ? log::level::info : log::level::warning, "tool.result",
                     "call=" + id + " name=" + name +
                         " args=" + log::quote(log::abbreviate(json_text(args), 300)) +
                         " ok=" + (outcome.ok ? "yes" : "no") + " ms=" + std::to_string(ms) +
                         " response=" + log::quote(log::abbreviate(json_text(outcome.response), 500)));
          if (!current)
            log::warning("tool.answer_dropped",
                         "call=" + id + " reason=\"the session it came from has ended\"");
          publish_event(json{{"event", "tool_result"},
                             {"call", id},
                             {"name", name},
                             {"ok", outcome.ok},
                             {"ms", ms},
                             {"response", outcome.response}});
          notify_status();
          if (!turn_) {
            apply_pending_reload();
            renew_if_quiet();
          }
        });
      });
  // After the command is on its way: the event is for onlookers, the device comes first.
  publish_event(json{{"event", "tool_call"}, {"call", call.id}, {"name", call.name}, {"args", call.args}});
}

// Answers that are ready in the same turn of the event loop (a toolCall to many devices whose
// acknowledgements arrive together) go out as one toolResponse: one frame to build, encrypt and
// write instead of one per call. A lone answer waits only for the handlers already queued.
void bridge::queue_tool_response(json function_response) {
  ready_responses_.push_back(std::move(function_response));
  if (ready_responses_.size() > 1) return;
  asio::post(io_, [this, generation = session_generation_] {
    json responses = std::exchange(ready_responses_, json::array());
    if (generation != session_generation_ || !session_->ready()) {
      log::warning("tool.answer_dropped", "calls=" + std::to_string(responses.size()) +
                                              " reason=\"the session it came from has ended\"");
      return;
    }
    session_->send(live::build_tool_response(std::move(responses)));
  });
}

void bridge::record_call_result(const std::string& id, bool ok, const json& response) {
  if (!turn_) return;  // a call made outside any turn has no reply to go in; its event says it all
  for (auto& record : turn_->tool_calls) {
    if (record.value("id", "") == id && !record.contains("ok")) {
      record["ok"] = ok;
      record["response"] = response;
      if (!record.contains("non_blocking") && turn_->calls_pending > 0) --turn_->calls_pending;
    }
  }
}

void bridge::finish_turn(std::optional<std::string> error) {
  if (!turn_) return;
  turn_timer_.cancel();
  turn t = std::move(*turn_);
  turn_.reset();
  for (auto& record : t.tool_calls) {
    if (record.contains("ok")) continue;
    if (record.contains("non_blocking") && !error) {
      // Still running: its result follows as a tool_result event (and the model may speak of it).
      record["ok"] = nullptr;
      record["pending"] = true;
    } else {
      record["ok"] = false;
      record["response"] = json{{"error", "no result before the turn ended"}};
    }
  }
  log::write(error ? log::level::warning : log::level::info, "turn.finished",
             "id=" + json_text(t.source.id) + " calls=" + std::to_string(t.tool_calls.size()) +
                 (error ? " error=" + log::quote(*error) : std::string()));
  publish_reply(t.source, t.text, t.tool_calls, error, turn_extras(t));
  json finished = {
      {"event", "turn_finished"}, {"id", t.source.id}, {"ok", !error}, {"calls", t.tool_calls.size()}};
  if (error) finished["error"] = *error;
  publish_event(std::move(finished));
  // A spoken answer leaves its pieces (megabytes for a long one) in malloc's free lists once `t`
  // is gone; give those pages back, or a daemon that spoke once keeps them for good.
  const bool spoke = !t.audio_pcm.empty();
  asio::post(io_, [this, spoke] {
    if (spoke) ::malloc_trim(0);
    renew_if_quiet();  // a pending goAway moves now, before the next prompt starts a turn
    start_next_turn();
  });
}

void bridge::publish_reply(const prompt& p, const std::string& text, const json& tool_calls,
                           const std::optional<std::string>& error, json extras) {
  json reply = {{"id", p.id}, {"text", text}, {"tool_calls", json::array()}};
  for (auto& [key, value] : extras.items()) reply[key] = std::move(value);
  for (const auto& record : tool_calls) {
    json entry = {{"name", record.value("name", "")},
                  {"args", record.contains("args") ? record["args"] : json::object()},
                  {"ok", record.contains("ok") ? record["ok"] : json(false)},
                  {"response", record.contains("response") ? record["response"] : json()}};
    if (record.contains("pending")) entry["pending"] = true;
    reply["tool_calls"].push_back(std::move(entry));
  }
  if (error) reply["error"] = *error;
  mqtt_->publish_and_forget(plain_message(topics_.reply, json_text(reply), 1, false));
}

void bridge::stop(std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  log::notice("bridge.stopping");
  dispatcher_->fail_all("livebridge is shutting down; the result is unknown");
  if (turn_) finish_turn("livebridge is shutting down");
  for (const auto& p : prompts_) publish_reply(p, "", json::array(), "livebridge is shutting down");
  prompts_.clear();
  auto stop_session_and_mqtt = [this, done = std::move(done)]() mutable {
    session_->stop([this, done = std::move(done)]() mutable {
      mqtt_->stop(plain_message(topics_.availability, "offline", 1, true), std::move(done));
    });
  };
  // The inbox goes first: prompts published from now on wait in the broker for the next start.
  if (prompt_inbox_) {
    prompt_inbox_->stop(std::nullopt, std::move(stop_session_and_mqtt));
  } else {
    stop_session_and_mqtt();
  }
}

}  // namespace lb::app
