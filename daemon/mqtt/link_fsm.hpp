// The lifecycle of one MQTT link as a pure state machine: (state, event) -> (state, actions). No
// I/O, no timers, no paho: `mqtt::client` feeds it what paho and its timers report and carries
// out the actions it returns. It is the one reconnect loop of the link: every attempt, after a
// failed connect and after a lost connection alike, waits the delay the machine's backoff picks.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/backoff.hpp"

namespace lb::mqtt {

enum class link_state {
  idle,         // not started
  connecting,   // CONNECT sent, no CONNACK yet
  subscribing,  // CONNACK in, SUBACKs outstanding
  up,           // every SUBACK in: the link carries messages
  down,         // backing off before the next attempt
  stopping,     // the final message and the DISCONNECT are on their way
  stopped,
};
const char* to_string(link_state s);

struct link_event {
  enum class kind {
    start,
    connack,
    connect_failed,   // `cause`
    suback,           // `connection` it answers, `ok`
    filters_added,    // `count` filters appended to the client's list
    connection_lost,  // `cause`
    retry_timer_fired,
    stop_requested,
    disconnected,  // the DISCONNECT completed (or failed: the link is gone either way)
    stop_deadline,
  };
  kind what;
  std::uint64_t connection = 0;
  bool ok = true;
  std::size_t count = 0;
  std::string cause = {};

  static link_event start() { return {kind::start}; }
  static link_event connack() { return {kind::connack}; }
  static link_event connect_failed(std::string cause) {
    return {kind::connect_failed, 0, false, 0, std::move(cause)};
  }
  static link_event suback(std::uint64_t connection, bool ok) { return {kind::suback, connection, ok}; }
  static link_event filters_added(std::size_t count) { return {kind::filters_added, 0, true, count}; }
  static link_event connection_lost(std::string cause) {
    return {kind::connection_lost, 0, true, 0, std::move(cause)};
  }
  static link_event retry_timer_fired() { return {kind::retry_timer_fired}; }
  static link_event stop_requested() { return {kind::stop_requested}; }
  static link_event disconnected() { return {kind::disconnected}; }
  static link_event stop_deadline() { return {kind::stop_deadline}; }
};

struct link_action {
  enum class kind {
    connect,                        // attempt number `connection`
    subscribe,                      // filters [first_filter, end) on `connection`
    arm_retry,                      // after `delay`, feed retry_timer_fired; `cause` says why
    report_up,                      // every SUBACK is in
    report_down,                    // a link that was up is gone; `cause`
    arm_stop_deadline,              // after `delay`, feed stop_deadline
    publish_final_then_disconnect,  // then feed disconnected
    disconnect_now,                 // drop the network connection, waiting for nothing
    report_stopped,                 // every stop's completion runs; timers are cancelled
  };
  kind what;
  std::uint64_t connection = 0;
  std::size_t first_filter = 0;
  std::chrono::milliseconds delay{0};
  std::string cause = {};

  bool operator==(const link_action&) const = default;
};
std::string to_string(const link_action& a);

class link_fsm {
 public:
  // `filters`: how many subscriptions the client holds at the start. `stop_deadline`: how long a
  // stop waits for the broker to take the final message and the DISCONNECT.
  link_fsm(std::size_t filters, backoff retry_delays, std::chrono::milliseconds stop_deadline)
      : filters_(filters), backoff_(std::move(retry_delays)), stop_deadline_(stop_deadline) {}

  std::vector<link_action> on(const link_event& e);

  link_state state() const { return state_; }
  // Messages may go out: connected and every subscription acknowledged.
  bool up() const { return state_ == link_state::up; }
  bool stopping_or_stopped() const { return state_ == link_state::stopping || state_ == link_state::stopped; }
  // The attempt in progress or last made (1 for the first); SUBACKs of others are stale.
  std::uint64_t connection() const { return connection_; }
  std::size_t outstanding_subacks() const { return outstanding_; }

 private:
  std::vector<link_action> connect();
  std::vector<link_action> retry(const std::string& cause, bool was_up);
  std::vector<link_action> become_up();
  std::vector<link_action> begin_stop();

  link_state state_ = link_state::idle;
  std::size_t filters_;
  std::size_t outstanding_ = 0;
  std::uint64_t connection_ = 0;
  backoff backoff_;
  std::chrono::milliseconds stop_deadline_;
};

}  // namespace lb::mqtt
