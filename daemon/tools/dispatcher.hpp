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
#include "tools/tool_spec.hpp"

namespace lb::tools {

// What goes back to the model: `response` is {"output": …} or {"error": "…"}.
struct call_outcome {
  bool ok = false;
  json response;
};

class dispatcher {
 public:
  struct options {
    std::string client_id;       // the {{bridge.client_id}} built-in
    std::string response_topic;  // where MQTT v5 devices answer; subscribed by the bridge
  };
  using done_handler = std::function<void(call_outcome)>;

  dispatcher(boost::asio::any_io_executor executor, std::vector<tool_spec> tools, publisher& pub,
             options opts);
  ~dispatcher();
  dispatcher(const dispatcher&) = delete;
  dispatcher& operator=(const dispatcher&) = delete;

  // Starts the call. `done` runs exactly once, possibly before call() returns (for calls rejected
  // without publishing), unless the call is cancelled first.
  void call(std::string call_id, std::string name, json args, done_handler done);

  // Forgets a call: if it was not published yet it never will be; if it was, its answer is
  // dropped. Returns false when no such call is pending.
  bool cancel(const std::string& call_id);

  // Every message from the subscriptions in subscription_filters().
  void on_message(const incoming_message& msg);

  // Answers every pending call with `reason` (used on shutdown).
  void fail_all(const std::string& reason);

  // Forgets every call not yet published (queued behind a command to the same device): their
  // session is gone, so no one could be told what they did. Returns their call ids.
  std::vector<std::string> cancel_unpublished();

  const std::vector<tool_spec>& tools() const { return tools_; }
  // The declared function of that name (names are unique), or null.
  const tool_spec* find_tool(std::string_view name) const;
  std::size_t pending_calls() const { return calls_.size(); }

 private:
  struct pending;
  using seq_t = std::uint64_t;

  std::optional<std::string> prepare(pending& p);
  void start(pending& p);
  void on_published(seq_t seq, const std::optional<std::string>& error);
  void on_timeout(seq_t seq);
  void on_listened_message(pending& p, const incoming_message& msg);
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
  std::unordered_multimap<std::string, seq_t> listeners_;   // ack topic → calls listening on it
  std::map<std::string, std::deque<seq_t>> device_queues_;  // front = the command in flight
  // Completions of publishes may arrive after this dispatcher is replaced (a reload once no call
  // is pending, with a PUBACK still on its way): they hold this weakly and do nothing once it is
  // gone.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

// Topic filters the MQTT adapter must subscribe to before the first call.
std::vector<std::string> ack_subscription_filters(const std::vector<tool_spec>& tools,
                                                  const dispatcher::options& opts);

}  // namespace lb::tools
