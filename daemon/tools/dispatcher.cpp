#include "tools/dispatcher.hpp"
#include "common/json_text.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <random>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/duration.hpp"
#include "common/log.hpp"
#include "common/probe.hpp"
#include "tools/ack_match.hpp"

namespace lb::tools {
namespace {

call_outcome error_outcome(std::string_view status, std::string message) {
  return {false, json{{"error", std::move(message)}}, std::string(status), {}};
}
call_outcome ok_outcome(std::string_view status, json output) {
  output["status"] = status;
  return {true, json{{"output", std::move(output)}}, std::string(status), {}};
}

// A topic that only uses the bridge's own name is known now; other placeholders become '+'.
std::string subscription_filter(const text_template& topic, const variables& builtins) {
  auto fixed = topic.render(builtins, true);
  return std::holds_alternative<std::string>(fixed) ? std::get<std::string>(std::move(fixed))
                                                    : topic.as_subscription_filter();
}

bool under_prefix(std::string_view topic, std::string_view prefix) {
  return !prefix.empty() && topic.starts_with(prefix) &&
         (topic.size() == prefix.size() || topic[prefix.size()] == '/');
}

// A command must never reach a device long after the model was told it failed.
int expiry_seconds(const tool_spec& tool) {
  return static_cast<int>((tool.ack.timeout.count() + 999) / 1000);
}

// Seconds, one decimal: what a person would say ("about 4.2 seconds ago").
double age_seconds(std::chrono::steady_clock::duration age) {
  const double s = std::chrono::duration<double>(age).count();
  return s <= 0 ? 0.0 : std::round(s * 10) / 10;
}

}  // namespace

struct dispatcher::pending {
  pending(boost::asio::any_io_executor ex) : timer(ex) {}

  seq_t seq = 0;
  std::string call_id;
  const tool_spec* tool = nullptr;
  json args;
  done_handler done;

  std::vector<outgoing_message> messages;
  ack_style style = ack_style::broker;
  std::string ack_topic;      // rendered; state and rpc styles listen here
  std::vector<json> matches;  // any one acknowledges; none: any report does
  std::optional<json> reject;
  double tolerance = 0;
  std::string correlation;  // response style
  std::string device_key;   // state style: one command in flight per state topic
  bool started = false;
  bool outlives_session = false;
  std::size_t handed = 0;  // messages[0, handed) went to the publisher
  std::size_t publishes_outstanding = 0;
  boost::asio::steady_timer timer;
  // State style: reports that were not the wanted state. Counted, not kept (a chattering device
  // must not grow memory); the last one tells the model what the device says instead.
  std::size_t mismatches = 0;
  json last_mismatch;
};

dispatcher::dispatcher(boost::asio::any_io_executor executor, std::vector<tool_spec> tools, publisher& pub,
                       options opts)
    : executor_(std::move(executor)),
      tools_(std::move(tools)),
      publisher_(pub),
      options_(std::move(opts)),
      states_(query_subscription_filters(tools_, options_)) {
  std::random_device rd;
  // Shelly-style request ids must not repeat across restarts, or a late reply to an old request
  // could be taken for a new one.
  next_seq_ = (static_cast<seq_t>(rd()) & 0x3fffffff) + 1;
  correlation_prefix_ = std::to_string(rd()) + "-";
}

dispatcher::~dispatcher() = default;

dispatcher::pending* dispatcher::find(seq_t seq) {
  const auto it = calls_.find(seq);
  return it == calls_.end() ? nullptr : it->second.get();
}

const tool_spec* dispatcher::find_tool(std::string_view name) const {
  for (const auto& t : tools_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::optional<std::string> argument_error(const tool_spec& tool, json& args) {
  if (tool.parameters) {
    if (auto err = validate_arguments(*tool.parameters, args))
      return "invalid arguments for " + tool.name + ": " + *err + "; nothing was done";
  } else if (!args.is_null() && !(args.is_object() && args.empty())) {
    return "invalid arguments for " + tool.name + ": this function takes no arguments; nothing was done";
  }
  return std::nullopt;
}

void dispatcher::call(std::string call_id, std::string name, json args, done_handler done,
                      bool outlives_session) {
  const tool_spec* tool = find_tool(name);
  if (tool == nullptr) {
    std::string known;
    for (const auto& t : tools_) known += (known.empty() ? "" : ", ") + t.name;
    done(error_outcome(call_status::refused,
                       "unknown function '" + name + "'; nothing was done. Known functions: " + known));
    return;
  }
  if (auto err = argument_error(*tool, args)) {
    done(error_outcome(call_status::refused, *err));
    return;
  }
  std::optional<resolved_command> resolved;
  if (tool->source) {
    auto r = tool->source->resolve(args, states_);
    if (auto* why = std::get_if<std::string>(&r)) {
      done(error_outcome(call_status::refused, *why + "; nothing was done"));
      return;
    }
    resolved = std::move(std::get<resolved_command>(r));
    if (!resolved->query_topic.empty()) {
      done(answer_query_at(*tool, resolved->query_topic, std::move(resolved->about)));
      return;
    }
  } else if (tool->query) {
    done(answer_query(*tool, args));
    return;
  }

  auto p = std::make_unique<pending>(executor_);
  p->seq = next_seq_++;
  p->call_id = std::move(call_id);
  p->outlives_session = outlives_session;
  p->tool = tool;
  p->args = args.is_object() ? std::move(args) : json::object();
  p->done = std::move(done);
  if (auto err = resolved ? take_resolved(*p, std::move(*resolved)) : prepare(*p)) {
    p->done(error_outcome(call_status::refused,
                          "cannot build the command for " + name + ": " + *err + "; nothing was done"));
    return;
  }
  if (options_.dry_run || tool->guard.dry_run) {
    if (log::enabled(log::level::debug))
      log::debug("tool.dry_run",
                 "call=" + p->call_id + " name=" + name + " messages=" + std::to_string(p->messages.size()));
    p->done(answer_dry_run(*p));
    return;
  }
  if (!publisher_.connected()) {
    p->done(error_outcome(call_status::broker_error,
                          "the MQTT broker is not connected; nothing was published to the device"));
    return;
  }

  pending& ref = *p;
  if (ref.outlives_session) ++session_free_calls_;
  calls_.emplace(ref.seq, std::move(p));
  if (!ref.device_key.empty()) {
    auto& queue = device_queues_[ref.device_key];
    queue.push_back(ref.seq);
    if (queue.size() > 1) {
      if (log::enabled(log::level::debug))
        log::debug("tool.queued", "call=" + ref.call_id + " device=" + log::quote(ref.device_key));
      return;  // another command to this device is in flight; start_next_for_device runs it later
    }
  }
  start(ref);
}

std::chrono::steady_clock::time_point dispatcher::now() const {
  return options_.clock ? options_.clock() : std::chrono::steady_clock::now();
}

variables dispatcher::call_variables(const json& args, seq_t seq) const {
  variables vars;
  if (args.is_object())
    for (auto it = args.begin(); it != args.end(); ++it) vars.emplace(it.key(), it.value());
  vars.emplace("call.id", json(seq));
  vars.emplace("bridge.client_id", json(options_.client_id));
  return vars;
}

call_outcome dispatcher::answer_query(const tool_spec& tool, const json& args) {
  auto rendered = tool.query->topic.render(call_variables(args, next_seq_++), true);
  if (auto* e = std::get_if<render_error>(&rendered))
    return error_outcome(call_status::refused, "cannot look up the state for " + tool.name + ": " +
                                                   e->message + "; nothing was done");
  return answer_query_at(tool, std::get<std::string>(rendered), json::object());
}

call_outcome dispatcher::answer_query_at(const tool_spec& tool, const std::string& topic, json about) {
  const std::string cannot = "cannot look up the state for " + tool.name + ": ";
  if (auto err = check_publish_topic(topic)) return error_outcome(call_status::refused, cannot + *err);
  if (under_prefix(topic, options_.own_topic_prefix)) {
    return error_outcome(call_status::refused, cannot + "the topic \"" + topic +
                                                   "\" is one of livebridge's own topics, not a device's");
  }
  // The cache answers, connected or not; without the broker nothing newer can have arrived.
  const bool linked = publisher_.connected();
  const state_cache::entry* seen = states_.find(topic);
  if (seen == nullptr) {
    std::string detail = "no state seen yet on " + topic;
    if (!linked) detail += "; the MQTT broker is not connected";
    about["topic"] = topic;
    about["detail"] = std::move(detail);
    return ok_outcome(call_status::unknown, std::move(about));
  }
  json output = std::move(about);
  output["topic"] = topic;
  output["state"] = seen->state;
  output["age_s"] = age_seconds(now() - seen->received_at);
  output["retained"] = seen->retained;
  std::string detail;
  if (seen->retained)
    detail = "a retained copy the broker kept; the device may have reported it earlier than age_s says";
  if (!linked)
    detail +=
        std::string(detail.empty() ? "" : "; ") + "the MQTT broker is not connected; this state may be stale";
  if (!detail.empty()) output["detail"] = std::move(detail);
  return ok_outcome(call_status::known, std::move(output));
}

call_outcome dispatcher::answer_dry_run(const pending& p) const {
  json would = json::array();
  for (std::size_t i = 0; i < p.messages.size(); ++i) {
    const outgoing_message& m = p.messages[i];
    json payload = m.payload;
    if (p.tool->source || (i < p.tool->publish.size() && p.tool->publish[i].payload.is_json())) {
      json parsed = json::parse(m.payload, nullptr, false);
      if (!parsed.is_discarded()) payload = std::move(parsed);
    }
    would.push_back(
        json{{"topic", m.topic}, {"payload", std::move(payload)}, {"qos", m.qos}, {"retain", m.retain}});
  }
  return ok_outcome(call_status::dry_run,
                    json{{"detail", "nothing was published (dry run)"}, {"would_publish", std::move(would)}});
}

std::optional<std::string> dispatcher::check_topic(const std::string& topic) const {
  if (auto err = check_publish_topic(topic)) return err;
  if (under_prefix(topic, options_.own_topic_prefix))
    return "the topic \"" + topic + "\" may not be published under livebridge's own topics";
  return std::nullopt;
}

std::optional<std::string> dispatcher::prepare(pending& p) {
  const variables vars = call_variables(p.args, p.seq);

  for (const auto& spec : p.tool->publish) {
    outgoing_message msg;
    auto topic = spec.topic.render(vars, true);
    if (auto* e = std::get_if<render_error>(&topic)) return e->message;
    msg.topic = std::move(std::get<std::string>(topic));
    if (auto err = check_topic(msg.topic)) return *err;
    auto payload = spec.payload.render(vars);
    if (auto* e = std::get_if<render_error>(&payload)) return e->message;
    msg.payload = std::move(std::get<std::string>(payload));
    msg.qos = spec.qos;
    msg.retain = spec.retain;
    msg.expiry_seconds = expiry_seconds(*p.tool);
    p.messages.push_back(std::move(msg));
  }

  const ack_spec& ack = p.tool->ack;
  if (ack.style == ack_style::state || ack.style == ack_style::rpc) {
    auto topic = ack.topic.render(vars, true);
    if (auto* e = std::get_if<render_error>(&topic)) return e->message;
    p.ack_topic = std::move(std::get<std::string>(topic));
  }
  p.style = ack.style;
  p.tolerance = ack.tolerance;
  if (ack.match) {
    auto m = ack.match->render(vars);
    if (auto* e = std::get_if<render_error>(&m)) return e->message;
    p.matches.push_back(std::move(std::get<json>(m)));
  }
  if (ack.reject) {
    auto r = ack.reject->render(vars);
    if (auto* e = std::get_if<render_error>(&r)) return e->message;
    p.reject = std::move(std::get<json>(r));
  }
  if (ack.style == ack_style::state) p.device_key = p.ack_topic;
  if (ack.style == ack_style::response && !p.messages.empty()) {
    // The acknowledgement answers the last message of the call.
    p.correlation = correlation_prefix_ + std::to_string(p.seq);
    p.messages.back().response_topic = options_.response_topic;
    p.messages.back().correlation_data = p.correlation;
    p.ack_topic = options_.response_topic;
  }
  return std::nullopt;
}

std::optional<std::string> dispatcher::take_resolved(pending& p, resolved_command command) {
  for (auto& msg : command.messages) {
    if (auto err = check_topic(msg.topic)) return *err;
    msg.expiry_seconds = expiry_seconds(*p.tool);
  }
  p.messages = std::move(command.messages);
  p.style = command.ack_topic.empty() ? ack_style::broker : ack_style::state;
  p.ack_topic = std::move(command.ack_topic);
  p.device_key = p.ack_topic;
  p.matches = std::move(command.matches);
  p.reject = std::move(command.reject);
  p.tolerance = command.tolerance;
  return std::nullopt;
}

void dispatcher::start(pending& p) {
  p.started = true;
  if (!p.ack_topic.empty()) listeners_.emplace(p.ack_topic, p.seq);
  p.timer.expires_after(p.tool->ack.timeout);
  p.timer.async_wait(
      [this, seq = p.seq, alive = std::weak_ptr<int>(alive_)](const boost::system::error_code& ec) {
        if (!ec && !alive.expired()) on_timeout(seq);
      });
  p.publishes_outstanding = p.messages.size();
  if (log::enabled(log::level::debug))
    log::debug("tool.publish", "call=" + p.call_id + " name=" + p.tool->name +
                                   " messages=" + std::to_string(p.messages.size()));
  const seq_t seq = p.seq;
  for (std::size_t i = 0; i < p.messages.size(); ++i) {
    ++p.handed;
    publisher_.publish(p.messages[i],
                       [this, seq, alive = std::weak_ptr<int>(alive_)](std::optional<std::string> error) {
                         if (!alive.expired()) on_published(seq, error);
                       });
    if (find(seq) == nullptr) return;  // answered meanwhile; publish nothing more for it
  }
}

void dispatcher::on_published(seq_t seq, const std::optional<std::string>& error) {
  pending* p = find(seq);
  if (p == nullptr) return;  // already answered (device was faster than the PUBACK) or cancelled
  if (error) {
    finish(seq, error_outcome(call_status::broker_error, "the broker did not accept the command (" + *error +
                                                             "); the device was not reached"));
    return;
  }
  if (p->publishes_outstanding > 0) --p->publishes_outstanding;
  if (p->publishes_outstanding == 0 && p->style == ack_style::broker) {
    const bool acked = p->messages.empty() || p->messages.back().qos > 0;
    finish(seq, ok_outcome(
                    acked ? call_status::accepted_unverified : call_status::sent_unconfirmed,
                    json{{"detail", acked ? "the broker accepted the command; this device does not "
                                            "confirm what it did"
                                          : "the command was sent at QoS 0; nothing confirms it arrived"}}));
  }
}

void dispatcher::on_timeout(seq_t seq) {
  pending* p = find(seq);
  if (p == nullptr) return;
  const std::string within = format_duration(p->tool->ack.timeout);
  std::string what;
  switch (p->style) {
    case ack_style::broker:
      what = "the broker did not acknowledge the command within " + within;
      break;
    case ack_style::state:
      what = "no matching state from " + p->ack_topic + " within " + within;
      if (p->mismatches > 0) {
        what += " (" + std::to_string(p->mismatches) + " other report" + (p->mismatches == 1 ? "" : "s") +
                ", the last: " + log::abbreviate(json_text(p->last_mismatch), 300) + ")";
      }
      break;
    case ack_style::response:
    case ack_style::rpc:
      what = "the device did not answer within " + within;
      break;
  }
  log::warning("tool.timeout", "call=" + p->call_id + " name=" + p->tool->name + " " + log::quote(what));
  finish(seq, error_outcome(call_status::timeout,
                            "timeout: " + what + "; the command was published and the device may still act"));
}

void dispatcher::on_message(const incoming_message& msg) {
  const state_cache::entry* kept = states_.offer(msg, now());
  const auto [first, last] = listeners_.equal_range(msg.topic);
  if (first == last) return;
  // Collect first: finishing a call edits listeners_.
  std::vector<seq_t> candidates;
  for (auto it = first; it != last; ++it) candidates.push_back(it->second);
  // Parsed once for the cache and every listener.
  json parsed;
  const json& actual = kept != nullptr ? kept->state : (parsed = payload_to_json(msg.payload));
  for (seq_t seq : candidates) {
    if (pending* p = find(seq)) on_listened_message(*p, msg, actual);
  }
}

void dispatcher::adopt_states(dispatcher& previous) {
  states_.adopt(previous.states_);
}

void dispatcher::on_listened_message(pending& p, const incoming_message& msg, const json& actual) {
  const auto wanted = [&p](const json& report) {
    return p.matches.empty() || std::any_of(p.matches.begin(), p.matches.end(), [&](const json& m) {
             return subset_matches(m, report, p.tolerance);
           });
  };
  switch (p.style) {
    case ack_style::broker:
      return;
    case ack_style::state: {
      // A retained message is a snapshot from before the command, never its acknowledgement.
      if (msg.retained) return;
      if (p.reject && subset_matches(*p.reject, actual, 0)) {
        finish(p.seq, error_outcome(call_status::rejected, "rejected by the device: " + msg.topic +
                                                               " reported " + json_text(actual)));
        return;
      }
      if (!wanted(actual)) {  // not (yet) the wanted state
        ++p.mismatches;
        p.last_mismatch = actual;
        return;
      }
      probe::begin_at(probe::stage::ack_to_response, msg.received_at);
      finish(p.seq, ok_outcome(call_status::confirmed, json{{"topic", msg.topic}, {"state", actual}}));
      return;
    }
    case ack_style::response: {
      if (msg.correlation_data != p.correlation) return;
      if (p.reject && subset_matches(*p.reject, actual, 0)) {
        finish(p.seq, error_outcome(call_status::rejected, "rejected by the device: " + json_text(actual)));
      } else if (!wanted(actual)) {
        finish(p.seq, error_outcome(call_status::rejected,
                                    "the device answered, but not as expected: " + json_text(actual)));
      } else {
        finish(p.seq, ok_outcome(call_status::confirmed, json{{"response", actual}}));
      }
      return;
    }
    case ack_style::rpc: {
      if (!actual.is_object()) return;
      const auto id = actual.find("id");
      if (id == actual.end() || value_to_text(*id) != std::to_string(p.seq)) return;  // someone else's reply
      if (const auto err = actual.find("error"); err != actual.end() && !err->is_null()) {
        std::string reason = json_text(*err);
        if (err->is_object()) {
          const auto message = err->find("message");
          const auto code = err->find("code");
          if (message != err->end() && message->is_string()) {
            reason = message->get<std::string>();
            if (code != err->end()) reason += " (code " + json_text(*code) + ")";
          }
        }
        finish(p.seq, error_outcome(call_status::rejected, "rejected by the device: " + reason));
        return;
      }
      const auto result_it = actual.find("result");
      const json result = result_it == actual.end() ? json(nullptr) : *result_it;
      if (!wanted(result)) {
        finish(p.seq, error_outcome(call_status::rejected,
                                    "the device answered, but not as expected: " + json_text(result)));
        return;
      }
      finish(p.seq, ok_outcome(call_status::confirmed, json{{"result", result}}));
      return;
    }
  }
}

void dispatcher::finish(seq_t seq, call_outcome outcome) {
  auto it = calls_.find(seq);
  if (it == calls_.end()) return;
  pending& p = *it->second;
  done_handler done = std::move(p.done);
  const auto handed = static_cast<std::ptrdiff_t>(std::min(p.handed, p.messages.size()));
  outcome.published.assign(std::make_move_iterator(p.messages.begin()),
                           std::make_move_iterator(p.messages.begin() + handed));
  forget(seq);
  if (done) done(std::move(outcome));
}

void dispatcher::forget(seq_t seq) {
  auto it = calls_.find(seq);
  if (it == calls_.end()) return;
  std::unique_ptr<pending> p = std::move(it->second);
  calls_.erase(it);
  if (p->outlives_session) --session_free_calls_;
  p->timer.cancel();
  if (!p->ack_topic.empty()) {
    const auto [first, last] = listeners_.equal_range(p->ack_topic);
    for (auto l = first; l != last; ++l) {
      if (l->second == seq) {
        listeners_.erase(l);
        break;
      }
    }
  }
  if (!p->device_key.empty()) {
    auto q = device_queues_.find(p->device_key);
    if (q != device_queues_.end()) {
      const bool was_in_flight = !q->second.empty() && q->second.front() == seq;
      std::erase(q->second, seq);
      if (q->second.empty()) {
        device_queues_.erase(q);
      } else if (was_in_flight) {
        // Post: the next command must not start inside the handler that answered this one.
        boost::asio::post(executor_, [this, key = p->device_key, alive = std::weak_ptr<int>(alive_)] {
          if (!alive.expired()) start_next_for_device(key);
        });
      }
    }
  }
}

void dispatcher::start_next_for_device(const std::string& device_key) {
  auto q = device_queues_.find(device_key);
  if (q == device_queues_.end() || q->second.empty()) return;
  pending* next = find(q->second.front());
  if (next == nullptr || next->started) return;
  if (!publisher_.connected()) {
    finish(next->seq, error_outcome(call_status::broker_error,
                                    "the MQTT broker is not connected; nothing was published to the device"));
    return;
  }
  start(*next);
}

bool dispatcher::cancel(const std::string& call_id) {
  for (const auto& [seq, p] : calls_) {
    if (p->call_id == call_id) {
      log::info("tool.cancelled", "call=" + call_id + " name=" + p->tool->name +
                                      (p->started ? " published=yes" : " published=no"));
      forget(seq);
      return true;
    }
  }
  return false;
}

std::vector<std::string> dispatcher::cancel_unpublished() {
  std::vector<seq_t> unpublished;
  for (const auto& [seq, p] : calls_)
    if (!p->started && !p->outlives_session) unpublished.push_back(seq);
  std::vector<std::string> ids;
  for (seq_t seq : unpublished) {
    ids.push_back(find(seq)->call_id);
    forget(seq);
  }
  return ids;
}

void dispatcher::fail_all(const std::string& reason) {
  while (!calls_.empty()) finish(calls_.begin()->first, error_outcome(call_status::aborted, reason));
}

std::vector<std::string> ack_subscription_filters(const std::vector<tool_spec>& tools,
                                                  const dispatcher::options& opts) {
  std::vector<std::string> filters;
  auto add = [&filters](std::string f) {
    if (std::find(filters.begin(), filters.end(), f) == filters.end()) filters.push_back(std::move(f));
  };
  const variables builtins{{"bridge.client_id", json(opts.client_id)}};
  for (const auto& t : tools) {
    if (t.source) {
      for (auto& f : t.source->ack_topics())
        if (!under_prefix(f, opts.own_topic_prefix)) add(std::move(f));
      continue;
    }
    if (t.query) continue;  // publishes nothing, so awaits no acknowledgement
    if (t.ack.style == ack_style::state || t.ack.style == ack_style::rpc)
      add(subscription_filter(t.ack.topic, builtins));
    if (t.ack.style == ack_style::response) add(opts.response_topic);
  }
  for (auto& f : query_subscription_filters(tools, opts)) add(std::move(f));
  return filters;
}

std::vector<std::string> query_subscription_filters(const std::vector<tool_spec>& tools,
                                                    const dispatcher::options& opts) {
  std::vector<std::string> filters;
  const variables builtins{{"bridge.client_id", json(opts.client_id)}};
  for (const auto& t : tools) {
    if (t.source) {
      for (auto& f : t.source->watched_topics())
        if (!under_prefix(f, opts.own_topic_prefix) &&
            std::find(filters.begin(), filters.end(), f) == filters.end())
          filters.push_back(std::move(f));
      continue;
    }
    if (!t.query) continue;
    std::string f = subscription_filter(t.query->topic, builtins);
    if (under_prefix(f, opts.own_topic_prefix)) continue;
    if (std::find(filters.begin(), filters.end(), f) == filters.end()) filters.push_back(std::move(f));
  }
  return filters;
}

}  // namespace lb::tools
