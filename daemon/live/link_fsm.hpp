// The lifecycle of the Live link as a pure state machine: events in, a new state and the actions
// to carry out back. No I/O, no timers, no Asio: `live::session` owns the socket and the timers,
// feeds every outcome in as an event and does what the returned actions say, in their order.
//
//   idle --start--> connecting --handshake_done--> awaiting_setup --setup_complete--> ready
//   connecting / awaiting_setup / ready --connection ended--> backing_off --retry_timer_fired--> connecting
//   any live state --renew / reconfigure / stop--> closing --connection ended--> connecting / stopped
//
// The rules that decide what follows a connection live here and nowhere else: a refused
// resumption starts a fresh session at once, a deliberate move (goAway, reload) reconnects without
// backoff, a configuration error waits long, and a stop always ends (closing has a deadline).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/backoff.hpp"

namespace lb::live {

enum class link_state {
  idle,            // constructed, not started
  connecting,      // resolve, TCP, TLS, WebSocket upgrade
  awaiting_setup,  // setup sent, no setupComplete yet
  ready,           // frames may be sent
  closing,         // a close frame was sent or the socket aborted; waiting for the connection to end
  backing_off,     // waiting for the retry timer
  stopped,         // final
};
std::string_view to_string(link_state s);

enum class link_event_kind {
  start,
  handshake_done,     // the WebSocket is open; `resume`: a usable resumption handle is known
  handshake_failed,   // `reason`; `config_error` for HTTP 401/403/404
  setup_complete,     // setupComplete arrived
  setup_timeout,      // the setup timer fired; `reason` says so
  connection_ended,   // the reader ended; `reason`, `close_code` (0 when no close frame came)
  renew_requested,    // goAway or a reload: move to a new connection, resuming when possible
  reconfigure,        // new settings: move to a new connection and forget the backoff
  stop_requested,     // close and end; every stop is answered by report_stopped
  retry_timer_fired,  // the backoff delay is over
  close_deadline,     // closing took too long
};

struct link_event {
  link_event_kind kind;
  std::string reason;
  int close_code = 0;
  bool config_error = false;
  bool resume = false;

  static link_event of(link_event_kind k) { return link_event{k, {}, 0, false, false}; }
  static link_event handshake_done(bool resume) {
    return link_event{link_event_kind::handshake_done, {}, 0, false, resume};
  }
  static link_event handshake_failed(std::string reason, bool config_error) {
    return link_event{link_event_kind::handshake_failed, std::move(reason), 0, config_error, false};
  }
  static link_event setup_timeout(std::string reason) {
    return link_event{link_event_kind::setup_timeout, std::move(reason), 0, false, false};
  }
  static link_event connection_ended(std::string reason, int close_code) {
    return link_event{link_event_kind::connection_ended, std::move(reason), close_code, false, false};
  }
};

enum class link_action_kind {
  open_connection,  // start a new attempt (resolve, connect, handshakes)
  send_setup,       // `resume`: with the resumption handle
  start_setup_timer,
  cancel_setup_timer,
  send_close,         // close frame 1000 after the frames already queued
  abort_socket,       // drop the socket (and cancel a resolve or connect in progress)
  start_close_timer,  // `delay`: the closing deadline
  cancel_close_timer,
  arm_retry,  // `delay`; `reason` and `config_error` for the log
  cancel_retry,
  report_ready,    // on_session_ready
  report_lost,     // on_session_lost(`reason`)
  drop_handle,     // the server refused the handle (`reason`): forget it
  report_stopped,  // run the waiting stop callbacks
};

struct link_action {
  link_action_kind kind;
  bool resume = false;
  std::chrono::milliseconds delay{0};
  std::string reason;
  bool config_error = false;

  bool operator==(const link_action&) const = default;
};
std::string_view to_string(link_action_kind k);

class link_fsm {
 public:
  // Longest wait for a connection to end once closing started; then the socket is aborted. Short,
  // so that a whole daemon stop stays well inside systemd's stop timeout.
  static constexpr std::chrono::milliseconds close_timeout{2000};

  explicit link_fsm(backoff b) : backoff_(std::move(b)) {}

  // The actions are in the order to carry them out; the reports come last, so a callback that
  // calls back into the session finds the link in its new state with its timers set.
  std::vector<link_action> handle(const link_event& ev);

  link_state state() const { return state_; }
  bool can_send() const { return state_ == link_state::ready; }
  // The current (or last) attempt got setupComplete.
  bool reached_ready() const { return reached_ready_; }
  // The current attempt offered a resumption handle.
  bool resuming() const { return resuming_; }
  // Why the link is closing; none outside closing.
  enum class close_cause { none, stop, renew, failure };
  close_cause closing_for() const { return closing_for_; }

 private:
  std::vector<link_action> open();
  std::vector<link_action> begin_closing(close_cause cause, bool orderly, std::vector<link_action> out);
  std::vector<link_action> after_end(const link_event& ev);

  link_state state_ = link_state::idle;
  close_cause closing_for_ = close_cause::none;
  bool resuming_ = false;
  bool reached_ready_ = false;
  bool setup_timed_out_ = false;
  std::string failure_reason_;  // set when the link itself ended the connection (setup timeout)
  backoff backoff_;
};

}  // namespace lb::live
