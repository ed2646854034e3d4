#include "mqtt/link_fsm.hpp"

#include "common/duration.hpp"

namespace lb::mqtt {

using ev = link_event::kind;
using act = link_action::kind;

const char* to_string(link_state s) {
  switch (s) {
    case link_state::idle:
      return "idle";
    case link_state::connecting:
      return "connecting";
    case link_state::subscribing:
      return "subscribing";
    case link_state::up:
      return "up";
    case link_state::down:
      return "down";
    case link_state::stopping:
      return "stopping";
    case link_state::stopped:
      return "stopped";
  }
  return "?";
}

std::string to_string(const link_action& a) {
  switch (a.what) {
    case act::connect:
      return "connect(" + std::to_string(a.connection) + ")";
    case act::subscribe:
      return "subscribe(" + std::to_string(a.connection) + ", from " + std::to_string(a.first_filter) + ")";
    case act::arm_retry:
      return "arm_retry(" + format_duration(a.delay) + ", " + a.cause + ")";
    case act::report_up:
      return "report_up";
    case act::report_down:
      return "report_down(" + a.cause + ")";
    case act::arm_stop_deadline:
      return "arm_stop_deadline(" + format_duration(a.delay) + ")";
    case act::publish_final_then_disconnect:
      return "publish_final_then_disconnect";
    case act::disconnect_now:
      return "disconnect_now";
    case act::report_stopped:
      return "report_stopped";
  }
  return "?";
}

std::vector<link_action> link_fsm::connect() {
  state_ = link_state::connecting;
  return {{act::connect, ++connection_}};
}

std::vector<link_action> link_fsm::retry(const std::string& cause, bool was_up) {
  state_ = link_state::down;
  outstanding_ = 0;
  // The retry first: whoever hears of the loss can already say when the next attempt comes.
  std::vector<link_action> out{{act::arm_retry, 0, 0, backoff_.next(false), cause}};
  if (was_up) out.push_back({act::report_down, 0, 0, {}, cause});
  return out;
}

std::vector<link_action> link_fsm::become_up() {
  state_ = link_state::up;
  // Only a link that got as far as its subscriptions counts as a success: a broker that accepts
  // the CONNECT and then drops us must not be retried at the floor delay forever.
  backoff_.reset();
  return {{act::report_up}};
}

std::vector<link_action> link_fsm::begin_stop() {
  state_ = link_state::stopping;
  return {{act::arm_stop_deadline, 0, 0, stop_deadline_}, {act::publish_final_then_disconnect}};
}

std::vector<link_action> link_fsm::on(const link_event& e) {
  // Whatever the state, the client's list of filters grows; the machine counts it so that the
  // next CONNACK waits for every SUBACK.
  if (e.what == ev::filters_added) filters_ += e.count;

  switch (state_) {
    case link_state::idle:
      if (e.what == ev::start) return connect();
      if (e.what == ev::stop_requested) {
        state_ = link_state::stopped;
        return {{act::report_stopped}};
      }
      return {};

    case link_state::connecting:
      switch (e.what) {
        case ev::connack:
          if (filters_ == 0) return become_up();
          state_ = link_state::subscribing;
          outstanding_ = filters_;
          return {{act::subscribe, connection_, 0}};
        // paho may call a connection that never got its CONNACK lost rather than failed.
        case ev::connect_failed:
        case ev::connection_lost:
          return retry(e.cause, false);
        case ev::stop_requested:
          // Nothing was published on this connection, so there is no final message to wait for.
          state_ = link_state::stopped;
          return {{act::disconnect_now}, {act::report_stopped}};
        default:
          return {};
      }

    case link_state::subscribing:
      switch (e.what) {
        case ev::suback:
          if (e.connection != connection_ || outstanding_ == 0) return {};  // from an earlier connection
          if (--outstanding_ == 0) return become_up();
          return {};
        case ev::filters_added:
          if (e.count == 0) return {};
          outstanding_ += e.count;
          return {{act::subscribe, connection_, filters_ - e.count}};
        case ev::connection_lost:
          return retry(e.cause, false);
        case ev::stop_requested:
          return begin_stop();
        default:
          return {};  // a repeated CONNACK (paho reports some twice)
      }

    case link_state::up:
      switch (e.what) {
        case ev::filters_added:
          // Stays up: the existing subscriptions keep working while the new ones are acknowledged.
          if (e.count == 0) return {};
          return {{act::subscribe, connection_, filters_ - e.count}};
        case ev::connection_lost:
          return retry(e.cause, true);
        case ev::stop_requested:
          return begin_stop();
        default:
          return {};
      }

    case link_state::down:
      switch (e.what) {
        case ev::retry_timer_fired:
          return connect();
        case ev::stop_requested:
          state_ = link_state::stopped;
          return {{act::report_stopped}};
        default:
          return {};
      }

    case link_state::stopping:
      switch (e.what) {
        case ev::disconnected:
        // The broker is gone: nothing left to wait for.
        case ev::connection_lost:
          state_ = link_state::stopped;
          return {{act::report_stopped}};
        case ev::stop_deadline:
          state_ = link_state::stopped;
          return {{act::disconnect_now}, {act::report_stopped}};
        // A second stop completes with the first.
        default:
          return {};
      }

    case link_state::stopped:
      switch (e.what) {
        // A connect that raced the stop and won: close it.
        case ev::connack:
          return {{act::disconnect_now}};
        // A stop after the end completes at once.
        case ev::stop_requested:
          return {{act::report_stopped}};
        default:
          return {};
      }
  }
  return {};
}

}  // namespace lb::mqtt
