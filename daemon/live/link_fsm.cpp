#include "live/link_fsm.hpp"

namespace lb::live {

namespace {

using ev_kind = link_event_kind;
using act = link_action_kind;

link_action make(act k, bool resume = false, std::chrono::milliseconds delay = {}, std::string reason = {},
                 bool config_error = false) {
  return link_action{k, resume, delay, std::move(reason), config_error};
}
link_action just(act k) {
  return make(k);
}

bool is_end(ev_kind k) {
  return k == ev_kind::handshake_failed || k == ev_kind::connection_ended;
}

}  // namespace

std::string_view to_string(link_state s) {
  switch (s) {
    case link_state::idle:
      return "idle";
    case link_state::connecting:
      return "connecting";
    case link_state::awaiting_setup:
      return "awaiting_setup";
    case link_state::ready:
      return "ready";
    case link_state::closing:
      return "closing";
    case link_state::backing_off:
      return "backing_off";
    case link_state::stopped:
      return "stopped";
  }
  return "?";
}

std::string_view to_string(link_action_kind k) {
  switch (k) {
    case act::open_connection:
      return "open_connection";
    case act::send_setup:
      return "send_setup";
    case act::start_setup_timer:
      return "start_setup_timer";
    case act::cancel_setup_timer:
      return "cancel_setup_timer";
    case act::send_close:
      return "send_close";
    case act::abort_socket:
      return "abort_socket";
    case act::start_close_timer:
      return "start_close_timer";
    case act::cancel_close_timer:
      return "cancel_close_timer";
    case act::arm_retry:
      return "arm_retry";
    case act::cancel_retry:
      return "cancel_retry";
    case act::report_ready:
      return "report_ready";
    case act::report_lost:
      return "report_lost";
    case act::drop_handle:
      return "drop_handle";
    case act::report_stopped:
      return "report_stopped";
  }
  return "?";
}

std::vector<link_action> link_fsm::open() {
  state_ = link_state::connecting;
  closing_for_ = close_cause::none;
  resuming_ = false;
  reached_ready_ = false;
  setup_timed_out_ = false;
  failure_reason_.clear();
  return {just(act::open_connection)};
}

std::vector<link_action> link_fsm::begin_closing(close_cause cause, bool orderly,
                                                 std::vector<link_action> out) {
  state_ = link_state::closing;
  closing_for_ = cause;
  // Only a ready connection gets a close frame: before setupComplete there is nothing to finish,
  // and a handshake in progress cannot carry one.
  out.push_back(just(orderly ? act::send_close : act::abort_socket));
  out.push_back(make(act::start_close_timer, false, close_timeout));
  return out;
}

std::vector<link_action> link_fsm::after_end(const link_event& ev) {
  const std::string reason = failure_reason_.empty() ? ev.reason : failure_reason_;
  // The server repeats these until someone fixes the key, the model or the setup.
  const bool config_error = ev.config_error || ev.close_code == 1007 || ev.close_code == 1008;
  if (resuming_ && !reached_ready_ && (config_error || setup_timed_out_)) {
    // The server refused to resume (an expired or foreign handle closes with 1007): a fresh
    // session at once instead of the configuration-error wait.
    return {make(act::drop_handle, false, {}, reason), open().front(),
            make(act::report_lost, false, {}, reason)};
  }
  state_ = link_state::backing_off;
  closing_for_ = close_cause::none;
  const auto delay = backoff_.next(config_error);
  return {make(act::arm_retry, false, delay, reason, config_error),
          make(act::report_lost, false, {}, reason)};
}

std::vector<link_action> link_fsm::handle(const link_event& ev) {
  // A reload's new settings deserve a quick first try, whatever happened before.
  if (ev.kind == ev_kind::reconfigure) backoff_.reset();
  const bool move = ev.kind == ev_kind::renew_requested || ev.kind == ev_kind::reconfigure;

  switch (state_) {
    case link_state::idle:
      if (ev.kind == ev_kind::start) return open();
      if (ev.kind == ev_kind::stop_requested) {
        state_ = link_state::stopped;
        return {just(act::report_stopped)};
      }
      return {};

    case link_state::connecting:
      if (ev.kind == ev_kind::handshake_done) {
        state_ = link_state::awaiting_setup;
        resuming_ = ev.resume;
        return {make(act::send_setup, ev.resume), just(act::start_setup_timer)};
      }
      if (is_end(ev.kind)) return after_end(ev);
      if (move) return begin_closing(close_cause::renew, false, {});
      if (ev.kind == ev_kind::stop_requested) return begin_closing(close_cause::stop, false, {});
      return {};

    case link_state::awaiting_setup:
      if (ev.kind == ev_kind::setup_complete) {
        state_ = link_state::ready;
        reached_ready_ = true;
        backoff_.reset();
        return {just(act::cancel_setup_timer), just(act::report_ready)};
      }
      if (ev.kind == ev_kind::setup_timeout) {
        setup_timed_out_ = true;
        failure_reason_ = ev.reason;
        return begin_closing(close_cause::failure, false, {});
      }
      if (is_end(ev.kind)) {
        auto out = after_end(ev);
        out.insert(out.begin(), just(act::cancel_setup_timer));
        return out;
      }
      if (move) return begin_closing(close_cause::renew, false, {just(act::cancel_setup_timer)});
      if (ev.kind == ev_kind::stop_requested)
        return begin_closing(close_cause::stop, false, {just(act::cancel_setup_timer)});
      return {};

    case link_state::ready:
      if (is_end(ev.kind)) return after_end(ev);
      if (move) return begin_closing(close_cause::renew, true, {});
      if (ev.kind == ev_kind::stop_requested) return begin_closing(close_cause::stop, true, {});
      return {};

    case link_state::closing:
      if (is_end(ev.kind)) {
        const close_cause cause = closing_for_;
        closing_for_ = close_cause::none;
        std::vector<link_action> out{just(act::cancel_close_timer)};
        if (cause == close_cause::stop) {
          state_ = link_state::stopped;
          out.push_back(just(act::report_stopped));
          return out;
        }
        if (cause == close_cause::renew) {
          // Moved on purpose: no backoff, and a resumed session when a handle is known.
          out.push_back(open().front());
          out.push_back(make(act::report_lost, false, {}, "moved to a new connection"));
          return out;
        }
        auto rest = after_end(ev);
        out.insert(out.end(), rest.begin(), rest.end());
        return out;
      }
      if (ev.kind == ev_kind::close_deadline) return {just(act::abort_socket)};
      if (ev.kind == ev_kind::stop_requested) {
        closing_for_ = close_cause::stop;  // the close under way serves the stop too
        return {};
      }
      if (move && closing_for_ == close_cause::failure) closing_for_ = close_cause::renew;
      return {};  // setupComplete while closing, a timer of the old connection: nothing changes

    case link_state::backing_off:
      if (ev.kind == ev_kind::retry_timer_fired) return open();
      if (move) return {just(act::cancel_retry), open().front()};
      if (ev.kind == ev_kind::stop_requested) {
        state_ = link_state::stopped;
        return {just(act::cancel_retry), just(act::report_stopped)};
      }
      return {};

    case link_state::stopped:
      if (ev.kind == ev_kind::stop_requested) return {just(act::report_stopped)};
      return {};
  }
  return {};
}

}  // namespace lb::live
