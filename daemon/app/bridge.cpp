#include "app/bridge.hpp"
#include "common/json_text.hpp"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string_view>
#include <utility>

#include <boost/asio/post.hpp>

#include "app/reload_diff.hpp"
#include "common/duration.hpp"
#include "common/log.hpp"
#include "common/probe.hpp"
#include "live/protocol.hpp"

namespace lb::app {
namespace asio = boost::asio;
using nlohmann::json;

namespace {

// Replies waiting for the main connection to come back. Beyond this many the oldest is given up,
// loudly: a broker that stays away that long is a fault an operator must see.
constexpr std::size_t held_replies_max = 256;
// Notes about approved calls waiting for the model; beyond this the oldest is dropped (logged).
constexpr std::size_t notes_max = 16;
// How long the first session waits for the discovery messages when the broker is slow or away.
constexpr std::chrono::seconds discovery_startup_wait{5};
// The source of a call made outside any turn. No config can name it (sources are letters,
// digits, '_' and '-'), so a tool restricted to sources never runs unprompted.
constexpr std::string_view unprompted_source = "(none)";

std::optional<trust::pin_verifier> pin_from(const config::secrets& secrets) {
  if (secrets.pin.empty()) return std::nullopt;
  auto v = trust::pin_verifier::from_secret(secrets.pin);
  if (auto* error = std::get_if<std::string>(&v)) {
    // The loader checked its shape; should it still be unusable, PIN tools refuse (fail closed).
    log::error("trust.pin_unusable", "reason=" + log::quote(*error));
    return std::nullopt;
  }
  return std::get<trust::pin_verifier>(std::move(v));
}

// The last level of `topic` when it is `base` followed by exactly one more level, else nullopt.
// `base` ends with '/' (a "<…>/+" filter without its '+').
std::optional<std::string_view> level_below(std::string_view topic, std::string_view base) {
  if (topic.size() < base.size() || topic.substr(0, base.size()) != base) return std::nullopt;
  const std::string_view rest = topic.substr(base.size());
  if (rest.find('/') != std::string_view::npos) return std::nullopt;
  return rest;
}

std::string_view without_plus(const std::string& filter) {
  return std::string_view(filter).substr(0, filter.size() - 1);
}

// Why the last level of <prefix>/prompt/<source> cannot name a source, or nullopt when it can.
// "voice" is the microphone stream's, and "default" is <prefix>/prompt's: a topic claiming either
// would let whoever may write it speak as someone the ACL keeps apart.
std::optional<std::string> source_refusal(std::string_view source) {
  const bool well_formed =
      !source.empty() && source.size() <= 64 && std::all_of(source.begin(), source.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-';
      });
  if (!well_formed)
    return std::string("a prompt source (the topic's last level) is 1 to 64 of A-Z a-z 0-9 _ -");
  if (source == "voice")
    return std::string("the prompt source \"voice\" is the microphone's; use another name");
  if (source == "default")
    return std::string("the prompt source \"default\" is the plain prompt topic's; use another name");
  return std::nullopt;
}

}  // namespace

bridge::bridge(asio::io_context& io, config::config cfg, config::secrets secrets)
    : io_(io),
      cfg_(std::move(cfg)),
      topics_(config::topics::for_config(cfg_.mqtt)),
      discovery_deadline_(io),
      turns_(cfg_.mqtt.max_queued_prompts),
      turn_timer_(io),
      go_away_timer_(io),
      audio_(cfg_.live, topics_.audio),
      secrets_(secrets) {
  const tools::dispatcher::options dispatch_options{.client_id = cfg_.mqtt.client_id,
                                                    .response_topic = topics_.response,
                                                    .dry_run = cfg_.trust.dry_run,
                                                    .own_topic_prefix = cfg_.mqtt.topic_prefix};
  std::vector<std::string> subscriptions;
  if (cfg_.mqtt.persistent_prompts) {
    config::mqtt_config inbox_cfg = cfg_.mqtt;
    inbox_cfg.client_id = config::prompts_client_id(cfg_.mqtt);
    std::vector<std::string> inbox_filters{topics_.prompt, topics_.prompt_sources};
    prompt_inbox_ = std::make_unique<mqtt::client>(
        io_, inbox_cfg, secrets.mqtt_password, mqtt::client::last_will{}, std::move(inbox_filters),
        mqtt::client::handlers{
            .on_connected = [this] { notify_status(); },
            .on_lost = [this](const std::string&) { notify_status(); },
            .on_message = [this](incoming_message&& msg) { on_prompt(msg); },
        },
        mqtt::client::session_kind::persistent_v311);
  } else {
    subscriptions.push_back(topics_.prompt);
    subscriptions.push_back(topics_.prompt_sources);
  }
  subscriptions.push_back(topics_.confirm_answers);
  subscriptions.push_back(topics_.audio_in);
  subscriptions.push_back(topics_.audio_in_end);
  subscriptions.push_back(topics_.audio_in_start);
  if (cfg_.home_assistant.discovery) subscriptions.push_back(ha::birth_topic(cfg_.home_assistant));
  for (auto& f : tools::ack_subscription_filters(cfg_.tools, dispatch_options))
    subscriptions.push_back(std::move(f));
  declared_tools_ = cfg_.tools;
  if (cfg_.discovery.enabled) {
    discovery_ = std::make_unique<discovery_watch>(io_, cfg_.discovery, [this] { on_discovery_settled(); });
    for (auto& f : discovery_->subscription_filters()) subscriptions.push_back(std::move(f));
  }
  mqtt_ = std::make_unique<mqtt::client>(
      io_, cfg_.mqtt, secrets.mqtt_password, mqtt::client::last_will{topics_.availability, "offline"},
      subscriptions,
      mqtt::client::handlers{
          .on_connected = [this] { on_reply_link(true); },
          .on_lost = [this](const std::string&) { on_reply_link(false); },
          .on_message = [this](incoming_message&& msg) { on_mqtt_message(std::move(msg)); },
      });
  dispatcher_ = std::make_unique<tools::dispatcher>(io_.get_executor(), cfg_.tools, *mqtt_, dispatch_options);
  guard_ = std::make_unique<call_guard>(
      io_, cfg_, pin_from(secrets_),
      call_guard::ports{
          .dispatcher = [this]() -> tools::dispatcher& { return *dispatcher_; },
          .publish = [this](outgoing_message m) { return mqtt_->publish_and_forget(std::move(m)); },
          .event = [this](json e) { publish_event(std::move(e)); },
          .tell_model = [this](std::string note) { tell_model(std::move(note)); },
      });
  // Only the gate keeps the PIN, and only as a salted hash.
  secrets_.pin.clear();
  session_ = std::make_unique<live::session>(io_, cfg_.live, secrets.api_key,
                                             static_cast<live::session_events&>(*this));
  setup_frame_ = live::build_setup(cfg_.live, cfg_.tools);
  session_->set_setup(setup_frame_);
}

bridge::~bridge() = default;

void bridge::start() {
  log::notice("bridge.starting",
              "tools=" + std::to_string(cfg_.tools.size()) + " prompt_topic=" + topics_.prompt);
  mqtt_->start();
  if (prompt_inbox_) prompt_inbox_->start();
  if (!discovery_) {
    start_session();
    return;
  }
  // The first session declares the discovered tools: it waits for the retained discovery
  // messages, but not for a broker that cannot be reached.
  discovery_deadline_.expires_after(discovery_startup_wait);
  discovery_deadline_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || session_started_ || stopping_) return;
    log::warning(
        "discovery.not_settled",
        "reason=\"no discovery messages settled in time; the session starts with the tools known now\"");
    on_discovery_settled();
  });
}

void bridge::start_session() {
  session_started_ = true;
  session_->start();
  apply_pending_reload();
}

std::vector<tools::tool_spec> bridge::effective_tools(const config::config& cfg) {
  std::vector<tools::tool_spec> all = declared_tools_;
  if (!discovery_) return all;
  discovery_->set_config(cfg.discovery);
  discovery::built_tools built = discovery_->build();
  discovery_applied_ = discovery_->generation();
  for (auto& t : built.tools) all.push_back(std::move(t));
  return all;
}

void bridge::on_discovery_settled() {
  if (stopping_) return;
  if (!session_started_) {
    // Nothing can be in flight before the first session: the tools are replaced on the spot.
    const tools::dispatcher::options dispatch_options{.client_id = cfg_.mqtt.client_id,
                                                      .response_topic = topics_.response,
                                                      .dry_run = cfg_.trust.dry_run,
                                                      .own_topic_prefix = cfg_.mqtt.topic_prefix};
    cfg_.tools = effective_tools(cfg_);
    auto next = std::make_unique<tools::dispatcher>(io_.get_executor(), cfg_.tools, *mqtt_, dispatch_options);
    next->adopt_states(*dispatcher_);
    dispatcher_ = std::move(next);
    mqtt_->add_subscriptions(tools::ack_subscription_filters(cfg_.tools, dispatch_options));
    guard_->update_tools(cfg_);
    setup_frame_ = live::build_setup(cfg_.live, cfg_.tools);
    session_->set_setup(setup_frame_);
    discovery_deadline_.cancel();
    start_session();
    notify_status();
    return;
  }
  if (discovery_->generation() == discovery_applied_ || reload_)
    return;  // a waiting reload rebuilds them too
  reload_ = pending_reload{std::nullopt, {}, nullptr};
  update_hold();
  apply_pending_reload();
  if (reload_) log::info("discovery.update_waiting", "reason=\"a turn or tool call is in progress\"");
}

void bridge::follow_discovery_config(const config::discovery_config& next) {
  if (!next.enabled) {
    discovery_.reset();
    return;
  }
  if (discovery_ && discovery_->config().prefix == next.prefix) return;
  discovery_ = std::make_unique<discovery_watch>(io_, next, [this] { on_discovery_settled(); });
  mqtt_->add_subscriptions(discovery_->subscription_filters());
}

std::string bridge::status_text() const {
  std::string s = "live: " + session_->state_text() + " · mqtt: " + mqtt_->state_text();
  if (prompt_inbox_ && prompt_inbox_->state_text() != mqtt_->state_text())
    s += " (prompt inbox: " + prompt_inbox_->state_text() + ")";
  s += " · " + std::to_string(cfg_.tools.size()) + " tools";
  if (!last_call_.empty()) s += " · last call " + last_call_;
  if (tokens_total_ > 0) s += " · " + std::to_string(tokens_total_) + " tokens";
  if (!held_replies_.empty()) s += " · " + std::to_string(held_replies_.size()) + " replies waiting for MQTT";
  return s;
}

void bridge::notify_status() {
  publish_home_assistant_status();
  if (status_listener_) status_listener_(status_text());
}

// --- the turn machine's actions --------------------------------------------------------------

void bridge::run(const turn_fsm::actions& actions) {
  run_actions(actions);
  settle_if_quiet();
  flush_notes();
}

void bridge::tell_model(std::string note) {
  if (notes_.size() >= notes_max) {
    log::warning("model.note_dropped", "reason=\"too many notes waiting for a quiet moment\"");
    notes_.pop_front();
  }
  notes_.push_back(std::move(note));
  flush_notes();
}

void bridge::flush_notes() {
  if (stopping_ || !turns_.quiet() || !session_->ready()) return;
  while (!notes_.empty() && session_->send(live::build_context_note(notes_.front()))) notes_.pop_front();
}

// A reload or a goAway move waits for a quiet moment; the turn machine reaches one in several ways
// (a turn finished, a late answer ended, a connection replaced, the last call answered or
// dropped), and each of them must let the waiting move happen.
void bridge::settle_if_quiet() {
  if (stopping_ || settle_posted_ || !(reload_ || go_away_pending_) || !quiet()) return;
  settle_posted_ = true;
  asio::post(io_, [this] {
    settle_posted_ = false;
    apply_pending_reload();
    renew_if_quiet();
  });
}

void bridge::run_actions(const turn_fsm::actions& actions) {
  for (const auto& a : actions) {
    switch (a.what) {
      case turn_fsm::action::kind::start_turn:
        start_turn(a.turn_prompt);
        break;
      case turn_fsm::action::kind::open_turn:
        open_turn(a.turn_prompt, a.by);
        break;
      case turn_fsm::action::kind::finish_turn:
        finish_turn(a.error);
        break;
      case turn_fsm::action::kind::refuse_prompt:
        log::warning("prompt.refused",
                     "id=" + json_text(a.turn_prompt.id) + " reason=" + log::quote(*a.error));
        publish_reply(refusal_json(a.turn_prompt.id, *a.error));
        break;
      case turn_fsm::action::kind::arm_timer:
        arm_turn_timer();
        break;
      case turn_fsm::action::kind::renew_session:
        log::warning("turn.never_completed",
                     "reason=\"the model did not complete a timed-out turn\" next=\"a new connection\"");
        renew_session();
        break;
    }
  }
}

void bridge::start_turn(const prompt& p) {
  if (!session_->send(live::build_user_turn(guard_->without_pin(p.text)))) {
    // The session stopped taking frames before the turn machine heard of it: the prompt waits for
    // the next connection instead of going into a closing socket.
    log::info("turn.deferred", "id=" + json_text(p.id) + " reason=\"the Live session is not ready\"");
    turns_.on_turn_not_sent(p);
    return;
  }
  open_turn(p, turn_fsm::opener::prompt);
}

void bridge::open_turn(const prompt& p, turn_fsm::opener by) {
  turn_record t;
  t.source = p;
  t.by = by;
  t.evidence->source = p.source;
  t.evidence->typed = p.text;
  t.evidence->transcript_may_grow = by == turn_fsm::opener::voice;
  // The PIN, typed, is checked here and never leaves the house: not to the model, not in events.
  t.source.text = guard_->without_pin(p.text);
  log::info("turn.started", "id=" + json_text(t.source.id) +
                                (by == turn_fsm::opener::voice ? " source=voice" : "") +
                                (by == turn_fsm::opener::follow_up ? " follow_up=yes" : ""));
  publish_event(turn_started_event(t));
  turn_ = std::move(t);
  arm_turn_timer();
}

void bridge::arm_turn_timer() {
  const auto seq = ++turn_seq_;
  turn_timer_.expires_after(cfg_.live.turn_timeout);
  turn_timer_.async_wait([this, seq](const boost::system::error_code& ec) {
    if (ec || seq != turn_seq_) return;
    run(turns_.on_turn_timeout("no answer from the model within " + format_duration(cfg_.live.turn_timeout)));
  });
}

void bridge::finish_turn(const std::optional<std::string>& error) {
  ++turn_seq_;
  turn_timer_.cancel();
  if (!turn_) return;
  turn_record t = std::move(*turn_);
  turn_.reset();
  // Calls still waiting for the person's words: judged on what was said, unless the turn failed,
  // when its prompt has been told there is no answer and nothing more may happen for it.
  if (error) {
    guard_->refuse_held(t.evidence, "the turn ended without an answer (" + *error + ")");
  } else {
    guard_->on_words(t.evidence, true);
  }
  // A PIN the person said, or the model repeated, stays out of the reply.
  t.heard = guard_->without_pin(t.heard);
  t.text = guard_->without_pin(t.text);
  log::write(error ? log::level::warning : log::level::info, "turn.finished",
             "id=" + json_text(t.source.id) + " calls=" + std::to_string(t.calls.size()) +
                 (error ? " error=" + log::quote(*error) : std::string()));
  auto kept = audio_.keep(t);
  if (kept.wav) {
    if (!mqtt_->publish_and_forget(std::move(*kept.wav))) {
      log::warning("audio.not_published",
                   "id=" + json_text(t.source.id) + " reason=\"the MQTT broker is not connected\"");
    }
  }
  publish_reply(reply_json(t, error, std::move(kept.member)));
  publish_event(turn_finished_event(t, error));
  // A spoken answer leaves its pieces (megabytes for a long one) in malloc's free lists once `t`
  // is gone; give those pages back, or a daemon that spoke once keeps them for good.
  const bool spoke = !t.audio_pcm.empty();
  if (spoke) asio::post(io_, [] { ::malloc_trim(0); });
}

// --- replies and events ------------------------------------------------------------------------

void bridge::publish_reply(const json& reply) {
  held_reply held{reply.contains("id") ? reply["id"] : json(),
                  plain_message(topics_.reply, json_text(reply), 1, false)};
  if (held_replies_.empty() && mqtt_->publish_and_forget(held.message)) return;
  if (held_replies_.size() >= held_replies_max) {
    log::error("reply.given_up", "reason=\"the MQTT broker has been away for too many replies\" held=" +
                                     std::to_string(held_replies_.size()));
    held_replies_.pop_front();
  }
  log::warning("reply.held", "id=" + json_text(held.id) + " reason=\"the MQTT broker is not connected\"");
  held_replies_.push_back(std::move(held));
  notify_status();
}

void bridge::flush_held_replies() {
  while (!held_replies_.empty() && mqtt_->publish_and_forget(held_replies_.front().message))
    held_replies_.pop_front();
}

void bridge::publish_event(json event) {
  if (!cfg_.mqtt.events) return;
  // Home Assistant's MQTT event entity reads the kind from `event_type`; one member, on every
  // event alike, instead of a second message per call.
  if (const auto kind = event.find("event"); kind != event.end()) event["event_type"] = *kind;
  // For onlookers: dropped, not held, while the link is down.
  mqtt_->publish_and_forget(plain_message(topics_.event, json_text(event), 0, false));
}

void bridge::publish_tool_result(const std::string& call, const std::string& name, json args, bool ok,
                                 std::optional<long long> ms, json response) {
  if (!cfg_.mqtt.events) return;
  json event(json::value_t::object);  // member by member, moving the large parts in
  event.emplace("event", "tool_result");
  event.emplace("call", call);
  if (!name.empty()) event.emplace("name", name);
  event.emplace("args", std::move(args));
  event.emplace("ok", ok);
  if (ms) event.emplace("ms", *ms);
  event.emplace("response", std::move(response));
  publish_event(std::move(event));
}

void bridge::withdrawn(const std::string& call, const std::string& why) {
  // Its only event: a withdrawn call is never answered. Name and arguments as they were shown.
  const auto it = open_calls_.find(call);
  if (it == open_calls_.end()) return;  // events off, or the call already answered
  open_call c = std::move(it->second);
  open_calls_.erase(it);
  publish_tool_result(call, c.name, std::move(c.args), false, std::nullopt, json{{"error", why}});
}

void bridge::publish_availability(bool online) {
  mqtt_->publish_and_forget(plain_message(topics_.availability, online ? "online" : "offline", 1, true));
}

void bridge::on_reply_link(bool up) {
  if (up) {
    if (discovery_) discovery_->on_link_up();
    publish_availability(true);
    announce_to_home_assistant();
    flush_held_replies();
    guard_->on_link_up();
  }
  if (!stopping_) run(turns_.on_reply_link(up));
  notify_status();
}

// --- Home Assistant -----------------------------------------------------------------------------

// The config first, then the state: what Home Assistant asks of a device after its birth.
void bridge::announce_to_home_assistant() {
  for (auto& m : ha::announcement(cfg_, LIVEBRIDGE_VERSION)) mqtt_->publish_and_forget(std::move(m));
  ha_status_.reset();  // a restarted broker may have lost it
  publish_home_assistant_status();
}

void bridge::reannounce_to_home_assistant(std::vector<outgoing_message> messages) {
  if (cfg_.home_assistant.discovery) mqtt_->add_subscriptions({ha::birth_topic(cfg_.home_assistant)});
  if (messages.empty()) return;
  // With the link down nothing goes out here; the announcement at the next connect covers it.
  for (auto& m : messages) mqtt_->publish_and_forget(std::move(m));
  ha_status_.reset();
  publish_home_assistant_status();
}

void bridge::publish_home_assistant_status() {
  if (!cfg_.home_assistant.discovery || !mqtt_->connected()) return;
  ha::status_facts facts{session_->state_text(), session_->ready(), cfg_.tools.size(), cfg_.live.model};
  if (facts == ha_status_) return;  // the usual case: a call changed nothing shown here
  if (mqtt_->publish_and_forget(ha::status_message(cfg_.mqtt, facts))) ha_status_ = std::move(facts);
}

// --- reload and goAway --------------------------------------------------------------------------

void bridge::reload(config::config cfg, config::secrets secrets, std::function<void()> applied) {
  reload_ = pending_reload{std::move(cfg), std::move(secrets), std::move(applied)};
  update_hold();
  apply_pending_reload();
  if (reload_) log::info("config.reload_waiting", "reason=\"a turn or tool call is in progress\"");
}

void bridge::apply_pending_reload() {
  // Before the first session the discovered tools are not settled yet; start_session applies it.
  if (!reload_ || stopping_ || !quiet() || !session_started_) return;
  pending_reload next = std::move(*reload_);
  reload_.reset();
  const bool whole_file = next.cfg.has_value();
  config::config next_cfg = whole_file ? std::move(*next.cfg) : cfg_;
  config::secrets next_secrets = whole_file ? std::move(next.secrets) : secrets_;
  if (whole_file) {
    if (keep_running_connection_settings(next_cfg, next_secrets, cfg_, secrets_))
      log::warning("config.reload_partial", "reason=\"MQTT connection settings change only at a restart\"");
    declared_tools_ = next_cfg.tools;
    follow_discovery_config(next_cfg.discovery);
  }
  next_cfg.tools = effective_tools(next_cfg);

  const tools::dispatcher::options dispatch_options{.client_id = cfg_.mqtt.client_id,
                                                    .response_topic = topics_.response,
                                                    .dry_run = next_cfg.trust.dry_run,
                                                    .own_topic_prefix = cfg_.mqtt.topic_prefix};
  auto next_dispatcher =
      std::make_unique<tools::dispatcher>(io_.get_executor(), next_cfg.tools, *mqtt_, dispatch_options);
  // The broker does not send retained copies again for filters already subscribed: the states
  // the query tools answer from move over.
  next_dispatcher->adopt_states(*dispatcher_);
  dispatcher_ = std::move(next_dispatcher);
  mqtt_->add_subscriptions(tools::ack_subscription_filters(next_cfg.tools, dispatch_options));
  std::string next_setup = live::build_setup(next_cfg.live, next_cfg.tools);
  const bool renew = session_needs_renewal(next_cfg, next_secrets, next_setup, cfg_, secrets_, setup_frame_);
  auto ha_messages = ha::reannouncement(cfg_, next_cfg, LIVEBRIDGE_VERSION);
  cfg_ = std::move(next_cfg);
  reannounce_to_home_assistant(std::move(ha_messages));
  if (whole_file) {
    secrets_ = std::move(next_secrets);
    guard_->reconfigure(cfg_, pin_from(secrets_));
    secrets_.pin.clear();
  } else {
    guard_->update_tools(cfg_);
  }
  if (renew) {
    setup_frame_ = std::move(next_setup);
    turns_.on_session_closing();
    session_->reconfigure(cfg_.live, secrets_.api_key, setup_frame_);
  }
  log::notice(
      whole_file ? "config.reloaded" : "discovery.applied",
      "tools=" + std::to_string(cfg_.tools.size()) + (renew ? " session=renewed" : " session=unchanged"));
  if (next.applied) next.applied();
  update_hold();
  notify_status();
}

void bridge::update_hold() {
  run(turns_.on_hold(go_away_pending_ || reload_.has_value()));
}

void bridge::on_go_away(std::chrono::milliseconds time_left) {
  log::notice("live.go_away", "time_left_ms=" + std::to_string(time_left.count()));
  go_away_pending_ = true;
  update_hold();
  // The server may go silent after goAway, so a timer, not the next message, enforces the move;
  // a little before the deadline, even in the middle of a turn.
  const auto margin = std::min<std::chrono::milliseconds>(time_left / 5, std::chrono::seconds(5));
  go_away_timer_.expires_after(time_left - margin);
  go_away_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !go_away_pending_) return;
    log::warning("live.go_away_deadline", "reason=\"no quiet moment before the deadline\"");
    renew_session();
  });
  renew_if_quiet();
}

void bridge::renew_if_quiet() {
  if (go_away_pending_ && !stopping_ && quiet()) renew_session();
}

void bridge::renew_session() {
  go_away_pending_ = false;
  go_away_timer_.cancel();
  turns_.on_session_closing();
  session_->renew();
}

// --- MQTT input -------------------------------------------------------------------------------

void bridge::on_mqtt_message(incoming_message&& msg) {
  // Not returned from: a query tool may watch Home Assistant's status too.
  if (ha::asks_for_announcement(cfg_, msg)) announce_to_home_assistant();
  if (msg.topic == topics_.prompt || level_below(msg.topic, without_plus(topics_.prompt_sources))) {
    on_prompt(msg);
    return;
  }
  if (level_below(msg.topic, without_plus(topics_.confirm_answers))) {
    on_confirm_answer(msg);
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
  if (discovery_ && discovery_->offer(msg)) return;
  dispatcher_->on_message(msg);
}

void bridge::on_prompt(const incoming_message& msg) {
  if (msg.retained) {
    // A retained prompt would be replayed at every start; it is someone's mistake, not a request.
    log::warning("prompt.retained_ignored", "topic=" + msg.topic);
    return;
  }
  // <prefix>/prompt is the default source; <prefix>/prompt/<source> names its own.
  const auto named = level_below(msg.topic, without_plus(topics_.prompt_sources));
  const std::string source = named ? std::string(*named) : std::string("default");
  const std::optional<std::string> bad_source = named ? source_refusal(source) : std::nullopt;
  const std::string source_field = " source=" + log::quote(log::abbreviate(source, 80));
  auto parsed = parse_prompt(msg.payload, cfg_.mqtt.max_prompt_bytes);
  if (auto* refused = std::get_if<prompt_refusal>(&parsed)) {
    log::warning("prompt.refused",
                 "id=" + json_text(refused->id) + source_field + " reason=" + log::quote(refused->reason));
    publish_reply(refusal_json(refused->id, refused->reason));
    return;
  }
  auto& p = std::get<prompt>(parsed);
  if (bad_source) {
    log::warning("prompt.refused",
                 "id=" + json_text(p.id) + source_field + " reason=" + log::quote(*bad_source));
    publish_reply(refusal_json(p.id, *bad_source));
    return;
  }
  p.source = source;
  log::info("prompt.received", "id=" + json_text(p.id) + source_field +
                                   " bytes=" + std::to_string(p.text.size()) +
                                   " queued=" + std::to_string(turns_.queued()));
  run(turns_.on_prompt(std::move(p)));
}

void bridge::on_confirm_answer(const incoming_message& msg) {
  // confirm_answers (<prefix>/confirm/+) also matches the bridge's own topics: not answers.
  if (msg.topic == topics_.confirm_request || msg.topic == topics_.confirm_pending ||
      msg.topic == topics_.confirm_result)
    return;
  log::debug("confirm.answer_received", "topic=" + log::quote(msg.topic) +
                                            " bytes=" + std::to_string(msg.payload.size()) +
                                            (msg.retained ? " retained=yes" : ""));
  guard_->on_answer(msg.topic.substr(msg.topic.rfind('/') + 1), msg);
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
  const char* drop_reason = !session_->ready() ? "the Live session is not connected"
                            : dispatcher_->pending_model_calls() + guard_->held_calls() > 0
                                ? "a tool call is outstanding"
                                : nullptr;
  if (drop_reason != nullptr) {
    if (voice_dropped_++ == 0) log::info("voice.dropped", "reason=" + log::quote(drop_reason));
    return;
  }
  voice_dropped_ = 0;
  if (!turns_.expecting(turn_fsm::opener::voice)) turns_.expect_model_turn(json(), turn_fsm::opener::voice);
  session_->send(live::build_realtime_audio(msg.payload, 16000));
}

void bridge::on_voice_end(const incoming_message& msg) {
  if (stopping_ || msg.retained || !session_->ready()) return;
  const json id = parse_voice_end_id(msg.payload);
  // The id names the voice turn this stream opens: the one expected, or (if the model is already
  // answering) the open one.
  if (!id.is_null()) {
    if (turn_ && turn_->by == turn_fsm::opener::voice && turn_->source.id.is_null()) turn_->source.id = id;
    turns_.name_expected_voice_turn(id);
  }
  log::info("voice.end", "id=" + json_text(id));
  session_->send(cfg_.live.push_to_talk ? live::build_activity_end() : live::build_audio_stream_end());
}

// --- the Live session -------------------------------------------------------------------------

std::shared_ptr<trust::turn_evidence> bridge::unprompted_evidence() {
  // One per session: the loop guard counts unprompted calls too, and no PIN can approve them.
  if (!unprompted_) {
    unprompted_ = std::make_shared<trust::turn_evidence>();
    unprompted_->source = unprompted_source;
  }
  return unprompted_;
}

void bridge::on_session_ready() {
  ++session_generation_;
  unprompted_.reset();
  go_away_pending_ = false;
  go_away_timer_.cancel();
  notify_status();
  update_hold();
  if (!stopping_) run(turns_.on_session_ready());
  flush_notes();
}

void bridge::on_session_lost(const std::string& reason) {
  // Calls of the old connection are orphaned: their answers must not reach the next session, and
  // those still queued behind a busy device must never be published.
  static constexpr const char* unpublished = "its Live session ended before it was published";
  for (const auto& id : dispatcher_->cancel_unpublished()) {
    log::warning("tool.abandoned", "call=" + id + " reason=" + log::quote(unpublished));
    const std::string why = std::string(unpublished) + "; nothing was done";
    guard_->on_cancelled(id, why);
    withdrawn(id, why);
  }
  static constexpr const char* held = "its Live session ended while it waited for the PIN";
  for (const auto& id : guard_->cancel_all_held()) {
    log::warning("tool.abandoned", "call=" + id + " reason=" + log::quote(held));
    withdrawn(id, std::string(held) + "; nothing was done");
  }
  run(turns_.on_session_lost(reason));  // settles too: the calls dropped may have been the last ones
  notify_status();
}

void bridge::on_server_message(live::server_message& msg) {
  if (msg.content || !msg.function_calls.empty()) run(turns_.on_model_output());
  if (msg.usage) {
    if (const auto total = msg.usage->find("totalTokenCount");
        total != msg.usage->end() && total->is_number_integer())
      tokens_total_ += total->get<long long>();
    if (turn_) turn_->usage = *msg.usage;
  }
  if (msg.content) {
    if (turn_ && turns_.collecting()) {
      const bool was_interrupted = turn_->interrupted;
      const content_rules rules{cfg_.live.response_modality == config::modality::audio,
                                cfg_.live.audio.max_duration};
      if (collect_content(*turn_, *msg.content, rules))
        log::warning("turn.audio_truncated",
                     "id=" + json_text(turn_->source.id) + " reason=\"live.audio.max_duration\"");
      if (turn_->interrupted && !was_interrupted)
        log::info("turn.interrupted", "id=" + json_text(turn_->source.id));
      if (!msg.content->input_transcription.empty()) {
        // A call waiting for the person's PIN may find it in these words.
        turn_->evidence->heard = turn_->heard;
        guard_->on_words(turn_->evidence, false);
      }
    } else if (turns_.abandoned()) {
      log::debug("turn.late_output", "reason=\"the turn it belongs to has timed out\"");
    }
  }
  if (msg.go_away) on_go_away(*msg.go_away);
  if (!msg.function_calls.empty()) probe::begin_at(probe::stage::frame_to_publish, msg.received_at);
  std::size_t index = 0;
  for (auto& call : msg.function_calls) {
    std::optional<std::string> refusal;
    if (stopping_) {
      // fail_all has answered what was pending; nothing new reaches a device during the stop.
      refusal = "livebridge is shutting down; this call was not run";
    } else if (turns_.abandoned()) {
      // Its prompt was already told there was no answer: acting on it now would surprise the user.
      refusal =
          "the prompt this call belongs to timed out and was answered with an error; this call was not run";
    } else if (++index > cfg_.live.max_calls_per_tool_call) {
      // Answered, never run: a flood of calls must not become a flood of commands.
      refusal = "too many function calls in one toolCall (at most " +
                std::to_string(cfg_.live.max_calls_per_tool_call) + "); this one was not run";
    }
    if (refusal) {
      log::warning("tool.refused", "call=" + call.id + " reason=" + log::quote(*refusal));
      json shown =
          guard_->record_refusal(call.id, call.name, call.args, turn_ ? turn_->source.id : json(),
                                 turn_ ? turn_->source.source : std::string(unprompted_source), *refusal);
      queue_tool_response(live::function_response(call.id, call.name, json{{"error", *refusal}}));
      publish_tool_result(call.id, call.name, std::move(shown), false, std::nullopt,
                          json{{"error", *refusal}});
      continue;
    }
    handle_function_call(std::move(call));
  }
  for (const auto& id : msg.cancelled_ids) {
    const bool held = guard_->cancel(id);
    const bool known = held || dispatcher_->cancel(id);
    if (known && !held) guard_->on_cancelled(id);
    log::info("tool.cancellation", "call=" + id + (known ? " pending=yes" : " pending=no"));
    static constexpr const char* by_model = "cancelled by the model";
    if (known) withdrawn(id, by_model);
    record_call_result(id, false, json{{"error", by_model}});
  }
  if (msg.content && msg.content->turn_complete) run(turns_.on_model_turn_complete());
  settle_if_quiet();  // a cancellation may have dropped the last pending call
}

// --- function calls ---------------------------------------------------------------------------

void bridge::handle_function_call(live::function_call call) {
  const tools::tool_spec* spec = dispatcher_->find_tool(call.name);
  // What logs, events and replies show: a PIN the model put in its arguments stays out of them.
  const json shown = guard_->shown_args(call.args);
  if (log::enabled(log::level::debug))
    log::debug("tool.call", "call=" + call.id + " name=" + call.name +
                                " args=" + log::quote(log::abbreviate(json_text(shown), 500)));
  const bool blocking = spec == nullptr || spec->behavior == tools::behavior::blocking;
  // NON_BLOCKING only: how the model is to take the late result.
  const auto late_result = blocking ? std::nullopt : std::optional<tools::scheduling>(spec->scheduling);
  if (turn_ && turns_.collecting()) {
    // A NON_BLOCKING call does not hold the turn open: the model goes on talking.
    turn_->calls.push_back(call_record{call.id, call.name, shown, blocking, std::nullopt, json()});
    if (blocking) turns_.on_call_started();
  }
  const json prompt_id = turn_ ? turn_->source.id : json();
  const std::string source = turn_ ? turn_->source.source : std::string(unprompted_source);
  const auto started = std::chrono::steady_clock::now();
  const auto generation = session_generation_;
  if (cfg_.mqtt.events) open_calls_.insert_or_assign(call.id, open_call{call.name, shown});
  auto answer = [this, id = call.id, name = call.name, args = shown, started, generation, late_result,
                 prompt_id, source](tools::call_outcome outcome) {
    open_calls_.erase(id);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
            .count();
    // The answer first: the model is waiting for it. It goes out before the bookkeeping
    // posted below, so logging and STATUS= cost the round trip nothing.
    const bool current = generation == session_generation_ && session_->ready();
    if (current)
      queue_tool_response(live::function_response(id, name, outcome.response,
                                                  late_result ? tools::scheduling_name(*late_result) : ""));
    // A late NON_BLOCKING result makes the model speak again (unless SILENT): that speech is
    // replied to under the prompt the call came from.
    if (current && turns_.quiet() && late_result && *late_result != tools::scheduling::silent &&
        !turns_.expecting(turn_fsm::opener::voice) && !turns_.expecting(turn_fsm::opener::follow_up))
      turns_.expect_model_turn(prompt_id, turn_fsm::opener::follow_up, source);
    record_call_result(id, outcome.ok, outcome.response);
    asio::post(io_, [this, id, name, args, ms, current, outcome = std::move(outcome)]() mutable {
      last_call_ = name + (outcome.ok ? " ok " : " failed ") + std::to_string(ms) + " ms";
      log::write(outcome.ok ? log::level::info : log::level::warning, "tool.result",
                 "call=" + id + " name=" + name +
                     " args=" + log::quote(log::abbreviate(json_text(args), 300)) +
                     " ok=" + (outcome.ok ? "yes" : "no") + " ms=" + std::to_string(ms) +
                     " response=" + log::quote(log::abbreviate(json_text(outcome.response), 500)));
      if (!current)
        log::warning("tool.answer_dropped", "call=" + id + " reason=\"the session it came from has ended\"");
      publish_tool_result(id, name, std::move(args), outcome.ok, ms, std::move(outcome.response));
      notify_status();
      settle_if_quiet();
    });
  };
  // Every call ends in one `tool_result` event, which holds the arguments too. A call that is
  // to wait (for a person's yes or PIN, or in the background) is announced as it starts as well:
  // on a busy broker an ordinary call is one message, not two.
  const bool announce = cfg_.mqtt.events && spec != nullptr &&
                        (spec->behavior == tools::behavior::non_blocking ||
                         tools::confirmation_needed(*spec, call.args) != tools::confirmation::none);
  json args = call.args;
  if (spec == nullptr || tools::argument_error(*spec, args)) {
    // Unknown or invalid: the dispatcher answers why, and nothing reaches a device.
    dispatcher_->call(call.id, call.name, std::move(args), std::move(answer));
  } else {
    guard_->call(
        *spec, std::move(args),
        call_guard::call_context{call.id, prompt_id, turn_ ? turn_->evidence : unprompted_evidence()},
        std::move(answer));
  }
  // After the command is on its way: the event is for onlookers, the device comes first.
  if (announce)
    publish_event(json{{"event", "tool_call"}, {"call", call.id}, {"name", call.name}, {"args", shown}});
}

// Answers that are ready in the same turn of the event loop (a toolCall to many devices whose
// acknowledgements arrive together) go out as one toolResponse: one frame to build, encrypt and
// write instead of one per call. A lone answer waits only for the handlers already queued.
void bridge::queue_tool_response(json function_response) {
  ready_responses_.push_back(std::move(function_response));
  if (ready_responses_.size() > 1) return;
  asio::post(io_, [this, generation = session_generation_] {
    if (generation == session_generation_) {
      flush_tool_responses();
      return;
    }
    const std::size_t count = std::exchange(ready_responses_, json::array()).size();
    if (count > 0)
      log::warning("tool.answer_dropped",
                   "calls=" + std::to_string(count) + " reason=\"the session it came from has ended\"");
  });
}

void bridge::flush_tool_responses() {
  if (ready_responses_.empty()) return;
  json responses = std::exchange(ready_responses_, json::array());
  const std::size_t count = responses.size();
  if (!session_->send(live::build_tool_response(std::move(responses)))) {
    log::warning("tool.answer_dropped",
                 "calls=" + std::to_string(count) + " reason=\"the session it came from has ended\"");
  }
}

void bridge::record_call_result(const std::string& id, bool ok, const json& response) {
  if (!turn_) return;  // a call made outside any turn has no reply to go in; its event says it all
  const call_record* answered = turn_->record_outcome(id, ok, response);
  if (answered != nullptr && answered->blocking) turns_.on_call_answered();
}

// --- shutdown ---------------------------------------------------------------------------------

void bridge::stop(std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  log::notice("bridge.stopping");
  discovery_deadline_.cancel();
  guard_->stop();
  dispatcher_->fail_all("livebridge is shutting down; the result is unknown");
  run(turns_.on_stop());
  auto stop_session_and_mqtt = [this, done = std::move(done)]() mutable {
    // The answers of the calls failed above go out before the session closes, whichever of the
    // posted flush and the inbox's stop comes first.
    flush_tool_responses();
    session_->stop([this, done = std::move(done)]() mutable {
      flush_held_replies();
      for (const auto& held : held_replies_) {
        log::error("reply.undeliverable",
                   "id=" + json_text(held.id) +
                       " reason=\"the MQTT broker was not connected when livebridge stopped\"");
      }
      held_replies_.clear();
      mqtt_->stop(plain_message(topics_.availability, "offline", 1, true), std::move(done));
    });
  };
  // The inbox goes first: prompts published from now on wait in the broker for the next start.
  // Without one, the session closes after this turn of the event loop, once the answers queued
  // above (fail_all) are written.
  if (prompt_inbox_) {
    prompt_inbox_->stop(std::nullopt, std::move(stop_session_and_mqtt));
  } else {
    asio::post(io_, std::move(stop_session_and_mqtt));
  }
}

}  // namespace lb::app
