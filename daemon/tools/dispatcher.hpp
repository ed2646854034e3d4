// Runs the model's function calls: validate, render, publish, wait for the device's own
// acknowledgement, answer exactly once. No network code: it publishes through `publisher` and is
// fed incoming MQTT messages, so it is tested without a broker. Runs on the io thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include "common/message.hpp"
#include "tools/state_cache.hpp"
#include "tools/tool_spec.hpp"

namespace lb::tools {

// What a call came to, in one word, for the audit trail and the logs (the model reads
// `response`). The fixed set:
namespace call_status {
inline constexpr std::string_view confirmed = "confirmed";  // the device's own acknowledgement
inline constexpr std::string_view accepted_unverified = "accepted_unverified";  // PUBACK; no device ack
inline constexpr std::string_view sent_unconfirmed = "sent_unconfirmed";        // QoS 0, no device ack
inline constexpr std::string_view dry_run = "dry_run";                          // rendered, nothing published
inline constexpr std::string_view known = "known";                // a query answered from the latest state
inline constexpr std::string_view unknown = "unknown";            // a query with no state seen yet
inline constexpr std::string_view refused = "refused";            // unknown function, bad arguments, a topic
                                                                  // not allowed: nothing was published
inline constexpr std::string_view broker_error = "broker_error";  // not connected (nothing published)
                                                                  // or the broker refused the publish
inline constexpr std::string_view timeout = "timeout";            // published; no acknowledgement in time
inline constexpr std::string_view rejected = "rejected";          // published; the device refused or answered
                                                                  // otherwise than asked
inline constexpr std::string_view aborted = "aborted";            // answered by fail_all (shutdown)
}  // namespace call_status

// What goes back to the model: `response` is {"output": …} or {"error": "…"}. `ok` is true for
// confirmed, accepted_unverified, sent_unconfirmed, dry_run, known and unknown (the look itself
// worked; the output says nothing was seen).
struct call_outcome {
  bool ok = false;
  json response;
  std::string status;                       // one of call_status
  std::vector<outgoing_message> published;  // handed to the broker for this call; empty when none
};

class dispatcher {
 public:
  struct options {
    std::string client_id;       // the {{bridge.client_id}} built-in
    std::string response_topic;  // where MQTT v5 devices answer; subscribed by the bridge
    bool dry_run = false;        // every tool behaves as `dry_run: true` (--dry-run, trust.dry_run)
    // mqtt.topic_prefix. No call may publish to it or below it: a templated command topic must
    // never reach the confirm topics. Empty: no such rule.
    std::string own_topic_prefix = {};
    // The time a state's age is measured against; null means steady_clock::now. Tests set it.
    std::function<std::chrono::steady_clock::time_point()> clock = nullptr;
  };
  using done_handler = std::function<void(call_outcome)>;

  dispatcher(boost::asio::any_io_executor executor, std::vector<tool_spec> tools, publisher& pub,
             options opts);
  ~dispatcher();
  dispatcher(const dispatcher&) = delete;
  dispatcher& operator=(const dispatcher&) = delete;

  // Starts the call. `done` runs exactly once, possibly before call() returns (for calls rejected
  // without publishing, queries and dry runs), unless the call is cancelled first.
  //
  // A query tool (tool_spec::query) is answered at once from the state cache and publishes
  // nothing; it never waits behind a command and needs no broker connection. A dry run (the
  // tool's guard.dry_run or options::dry_run) renders as usual and answers with what would have
  // been published, publishing nothing.
  // `outlives_session`: a call a person approved, which belongs to no Live session and must run
  // (and be answered) whatever becomes of the session; cancel_unpublished leaves it alone.
  void call(std::string call_id, std::string name, json args, done_handler done,
            bool outlives_session = false);

  // Forgets a call: if it was not published yet it never will be; if it was, its answer is
  // dropped. Returns false when no such call is pending.
  bool cancel(const std::string& call_id);

  // Every message from the subscriptions in ack_subscription_filters(): feeds the state cache of
  // the query tools and the calls waiting for an acknowledgement.
  void on_message(const incoming_message& msg);

  // Takes over the states `previous` knew for this dispatcher's query topics. A reload builds a
  // new dispatcher, and the broker does not resend retained copies for filters it already has.
  void adopt_states(dispatcher& previous);
  const state_cache& states() const { return states_; }

  // Answers every pending call with `reason` (used on shutdown).
  void fail_all(const std::string& reason);

  // Forgets every call of the model not yet published (queued behind a command to the same
  // device): their session is gone, so no one could be told what they did. Calls made with
  // outlives_session stay. Returns the ids forgotten.
  std::vector<std::string> cancel_unpublished();

  const std::vector<tool_spec>& tools() const { return tools_; }
  // The declared function of that name (names are unique), or null.
  const tool_spec* find_tool(std::string_view name) const;
  std::size_t pending_calls() const { return calls_.size(); }
  // The pending calls the model made (those that belong to its session).
  std::size_t pending_model_calls() const { return calls_.size() - session_free_calls_; }

 private:
  struct pending;
  using seq_t = std::uint64_t;

  variables call_variables(const json& args, seq_t seq) const;
  std::optional<std::string> check_topic(const std::string& topic) const;
  call_outcome answer_query(const tool_spec& tool, const json& args);
  call_outcome answer_query_at(const tool_spec& tool, const std::string& topic, json about);
  call_outcome answer_dry_run(const pending& p) const;
  std::chrono::steady_clock::time_point now() const;
  std::optional<std::string> prepare(pending& p);
  std::optional<std::string> take_resolved(pending& p, resolved_command command);
  void start(pending& p);
  void on_published(seq_t seq, const std::optional<std::string>& error);
  void on_timeout(seq_t seq);
  void on_listened_message(pending& p, const incoming_message& msg, const json& actual);
  void finish(seq_t seq, call_outcome outcome);
  void forget(seq_t seq);
  void start_next_for_device(const std::string& device_key);
  pending* find(seq_t seq);

  boost::asio::any_io_executor executor_;
  std::vector<tool_spec> tools_;
  publisher& publisher_;
  options options_;
  seq_t next_seq_;
  std::string correlation_prefix_;  // makes correlation data unique across restarts
  std::map<seq_t, std::unique_ptr<pending>> calls_;
  std::size_t session_free_calls_ = 0;                      // calls_ made with outlives_session
  std::unordered_multimap<std::string, seq_t> listeners_;   // ack topic → calls listening on it
  std::map<std::string, std::deque<seq_t>> device_queues_;  // front = the command in flight
  state_cache states_;                                      // the query tools' topics
  // Completions of publishes may arrive after this dispatcher is replaced (a reload once no call
  // is pending, with a PUBACK still on its way): they hold this weakly and do nothing once it is
  // gone.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

// Why the model's arguments do not fit the tool's schema (a message for the model), or nullopt.
// Integral doubles are normalised to integers in place, as validate_arguments does.
std::optional<std::string> argument_error(const tool_spec& tool, json& args);

// Topic filters the MQTT adapter must subscribe to before the first call: the acknowledgement
// topics and the query tools' state topics.
std::vector<std::string> ack_subscription_filters(const std::vector<tool_spec>& tools,
                                                  const dispatcher::options& opts);

// The query tools' state topics as subscription filters (the state cache keeps these). Topics
// under opts.own_topic_prefix are left out: queries there are refused.
std::vector<std::string> query_subscription_filters(const std::vector<tool_spec>& tools,
                                                    const dispatcher::options& opts);

}  // namespace lb::tools
