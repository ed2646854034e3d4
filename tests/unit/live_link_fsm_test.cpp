// The Live link's lifecycle, state by state and event by event: what follows, and what the
// session is told to do.
#include <functional>
#include <ostream>

#include <gtest/gtest.h>

#include "live/link_fsm.hpp"

namespace lb::live {

void PrintTo(const link_action& a, std::ostream* os) {
  *os << to_string(a.kind);
  if (a.kind == link_action_kind::send_setup) *os << (a.resume ? "(resume)" : "(fresh)");
  if (a.delay.count() != 0) *os << "(" << a.delay.count() << " ms)";
  if (!a.reason.empty()) *os << "(" << a.reason << ")";
  if (a.config_error) *os << "(config error)";
}
void PrintTo(link_state s, std::ostream* os) {
  *os << to_string(s);
}

namespace {

using namespace std::chrono_literals;
using ev = link_event;
using k = link_event_kind;
using a = link_action_kind;
using ms = std::chrono::milliseconds;

constexpr ms retry_delay = 1000ms;  // floor == cap: every ordinary delay is exactly this
constexpr ms config_error_delay = 300000ms;

link_fsm make_fsm() {
  return link_fsm(backoff(retry_delay, retry_delay, config_error_delay, 7));
}

link_action make(a kind, bool resume = false, ms delay = {}, std::string reason = {},
                 bool config_error = false) {
  return link_action{kind, resume, delay, std::move(reason), config_error};
}
link_action act(a kind) {
  return make(kind);
}
link_action setup(bool resume) {
  return make(a::send_setup, resume);
}
link_action close_timer() {
  return make(a::start_close_timer, false, link_fsm::close_timeout);
}
link_action retry(ms delay, std::string reason, bool config_error = false) {
  return make(a::arm_retry, false, delay, std::move(reason), config_error);
}
link_action lost(std::string reason) {
  return make(a::report_lost, false, {}, std::move(reason));
}
link_action drop(std::string reason) {
  return make(a::drop_handle, false, {}, std::move(reason));
}

const std::string moved = "moved to a new connection";
const std::string no_setup = "no setupComplete within 10s";

// Ways to bring a machine into the state a row starts from.
void connecting(link_fsm& f) {
  f.handle(ev::of(k::start));
}
void awaiting_fresh(link_fsm& f) {
  connecting(f);
  f.handle(ev::handshake_done(false));
}
void awaiting_resume(link_fsm& f) {
  connecting(f);
  f.handle(ev::handshake_done(true));
}
void ready_fresh(link_fsm& f) {
  awaiting_fresh(f);
  f.handle(ev::of(k::setup_complete));
}
void ready_resumed(link_fsm& f) {
  awaiting_resume(f);
  f.handle(ev::of(k::setup_complete));
}
void closing_renew(link_fsm& f) {
  ready_fresh(f);
  f.handle(ev::of(k::renew_requested));
}
void closing_stop(link_fsm& f) {
  ready_fresh(f);
  f.handle(ev::of(k::stop_requested));
}
void closing_setup_timeout_fresh(link_fsm& f) {
  awaiting_fresh(f);
  f.handle(ev::setup_timeout(no_setup));
}
void closing_setup_timeout_resuming(link_fsm& f) {
  awaiting_resume(f);
  f.handle(ev::setup_timeout(no_setup));
}
void backing_off(link_fsm& f) {
  connecting(f);
  f.handle(ev::handshake_failed("cannot connect", false));
}
void stopped(link_fsm& f) {
  f.handle(ev::of(k::stop_requested));
}
void idle(link_fsm&) {}

struct row {
  const char* name;
  std::function<void(link_fsm&)> from;
  link_event event;
  link_state to;
  std::vector<link_action> actions;
};

const ev ended_1011 = ev::connection_ended("closed by the server: 1011", 1011);
const ev ended_1007 = ev::connection_ended("closed by the server: 1007", 1007);
const ev ended_1008 = ev::connection_ended("closed by the server: 1008", 1008);
const ev ended_aborted = ev::connection_ended("Operation canceled", 0);

using s = link_state;

const std::vector<row> table = {
    // idle
    {"start", idle, ev::of(k::start), s::connecting, {act(a::open_connection)}},
    {"stop before start", idle, ev::of(k::stop_requested), s::stopped, {act(a::report_stopped)}},
    {"renew before start", idle, ev::of(k::renew_requested), s::idle, {}},
    {"reconfigure before start", idle, ev::of(k::reconfigure), s::idle, {}},
    {"stray retry timer before start", idle, ev::of(k::retry_timer_fired), s::idle, {}},
    {"stray end before start", idle, ended_1011, s::idle, {}},

    // connecting
    {"handshake done, no handle",
     connecting,
     ev::handshake_done(false),
     s::awaiting_setup,
     {setup(false), act(a::start_setup_timer)}},
    {"handshake done, with a handle",
     connecting,
     ev::handshake_done(true),
     s::awaiting_setup,
     {setup(true), act(a::start_setup_timer)}},
    {"handshake failed",
     connecting,
     ev::handshake_failed("cannot connect", false),
     s::backing_off,
     {retry(retry_delay, "cannot connect"), lost("cannot connect")}},
    {"handshake refused (HTTP 403)",
     connecting,
     ev::handshake_failed("HTTP 403", true),
     s::backing_off,
     {retry(config_error_delay, "HTTP 403", true), lost("HTTP 403")}},
    {"renew while connecting",
     connecting,
     ev::of(k::renew_requested),
     s::closing,
     {act(a::abort_socket), close_timer()}},
    {"reconfigure while connecting",
     connecting,
     ev::of(k::reconfigure),
     s::closing,
     {act(a::abort_socket), close_timer()}},
    {"stop during resolve",
     connecting,
     ev::of(k::stop_requested),
     s::closing,
     {act(a::abort_socket), close_timer()}},
    {"setupComplete before the handshake", connecting, ev::of(k::setup_complete), s::connecting, {}},
    {"stray retry timer while connecting", connecting, ev::of(k::retry_timer_fired), s::connecting, {}},
    {"stray close deadline while connecting", connecting, ev::of(k::close_deadline), s::connecting, {}},

    // awaiting setup
    {"setupComplete",
     awaiting_fresh,
     ev::of(k::setup_complete),
     s::ready,
     {act(a::cancel_setup_timer), act(a::report_ready)}},
    {"setup timeout",
     awaiting_fresh,
     ev::setup_timeout(no_setup),
     s::closing,
     {act(a::abort_socket), close_timer()}},
    {"ended before setupComplete",
     awaiting_fresh,
     ended_1011,
     s::backing_off,
     {act(a::cancel_setup_timer), retry(retry_delay, ended_1011.reason), lost(ended_1011.reason)}},
    {"bad setup of a fresh session (1007)",
     awaiting_fresh,
     ended_1007,
     s::backing_off,
     {act(a::cancel_setup_timer), retry(config_error_delay, ended_1007.reason, true),
      lost(ended_1007.reason)}},
    {"refused resumption (1007)",
     awaiting_resume,
     ended_1007,
     s::connecting,
     {act(a::cancel_setup_timer), drop(ended_1007.reason), act(a::open_connection), lost(ended_1007.reason)}},
    {"refused resumption (1008)",
     awaiting_resume,
     ended_1008,
     s::connecting,
     {act(a::cancel_setup_timer), drop(ended_1008.reason), act(a::open_connection), lost(ended_1008.reason)}},
    {"resuming, ended for another reason",
     awaiting_resume,
     ended_1011,
     s::backing_off,
     {act(a::cancel_setup_timer), retry(retry_delay, ended_1011.reason), lost(ended_1011.reason)}},
    {"renew while awaiting setup",
     awaiting_fresh,
     ev::of(k::renew_requested),
     s::closing,
     {act(a::cancel_setup_timer), act(a::abort_socket), close_timer()}},
    {"stop while awaiting setup",
     awaiting_fresh,
     ev::of(k::stop_requested),
     s::closing,
     {act(a::cancel_setup_timer), act(a::abort_socket), close_timer()}},

    // ready
    {"connection lost",
     ready_fresh,
     ended_1011,
     s::backing_off,
     {retry(retry_delay, ended_1011.reason), lost(ended_1011.reason)}},
    {"1007 after a resumed setupComplete is no refusal",
     ready_resumed,
     ended_1007,
     s::backing_off,
     {retry(config_error_delay, ended_1007.reason, true), lost(ended_1007.reason)}},
    {"renew when ready (goAway)",
     ready_fresh,
     ev::of(k::renew_requested),
     s::closing,
     {act(a::send_close), close_timer()}},
    {"reconfigure when ready (reload)",
     ready_fresh,
     ev::of(k::reconfigure),
     s::closing,
     {act(a::send_close), close_timer()}},
    {"stop when ready",
     ready_fresh,
     ev::of(k::stop_requested),
     s::closing,
     {act(a::send_close), close_timer()}},
    {"a second setupComplete", ready_fresh, ev::of(k::setup_complete), s::ready, {}},
    {"a stale setup timeout", ready_fresh, ev::setup_timeout(no_setup), s::ready, {}},

    // closing for a renew
    {"renew done",
     closing_renew,
     ended_1011,
     s::connecting,
     {act(a::cancel_close_timer), act(a::open_connection), lost(moved)}},
    {"ready while closing", closing_renew, ev::of(k::setup_complete), s::closing, {}},
    {"close deadline", closing_renew, ev::of(k::close_deadline), s::closing, {act(a::abort_socket)}},
    {"stop while closing for a renew", closing_renew, ev::of(k::stop_requested), s::closing, {}},
    {"renew while closing for a renew", closing_renew, ev::of(k::renew_requested), s::closing, {}},

    // closing for a stop
    {"stop done",
     closing_stop,
     ended_aborted,
     s::stopped,
     {act(a::cancel_close_timer), act(a::report_stopped)}},
    {"a second stop while closing", closing_stop, ev::of(k::stop_requested), s::closing, {}},
    {"renew while stopping", closing_stop, ev::of(k::renew_requested), s::closing, {}},
    {"reconfigure while stopping", closing_stop, ev::of(k::reconfigure), s::closing, {}},
    {"close deadline while stopping",
     closing_stop,
     ev::of(k::close_deadline),
     s::closing,
     {act(a::abort_socket)}},
    {"ready while stopping", closing_stop, ev::of(k::setup_complete), s::closing, {}},

    // closing after a setup timeout
    {"setup timeout of a fresh session",
     closing_setup_timeout_fresh,
     ended_aborted,
     s::backing_off,
     {act(a::cancel_close_timer), retry(retry_delay, no_setup), lost(no_setup)}},
    {"setup timeout while resuming",
     closing_setup_timeout_resuming,
     ended_aborted,
     s::connecting,
     {act(a::cancel_close_timer), drop(no_setup), act(a::open_connection), lost(no_setup)}},
    {"stop after a setup timeout", closing_setup_timeout_fresh, ev::of(k::stop_requested), s::closing, {}},
    {"renew after a setup timeout", closing_setup_timeout_fresh, ev::of(k::renew_requested), s::closing, {}},

    // backing off
    {"retry", backing_off, ev::of(k::retry_timer_fired), s::connecting, {act(a::open_connection)}},
    {"stop during backoff",
     backing_off,
     ev::of(k::stop_requested),
     s::stopped,
     {act(a::cancel_retry), act(a::report_stopped)}},
    {"renew during backoff",
     backing_off,
     ev::of(k::renew_requested),
     s::connecting,
     {act(a::cancel_retry), act(a::open_connection)}},
    {"reconfigure during backoff",
     backing_off,
     ev::of(k::reconfigure),
     s::connecting,
     {act(a::cancel_retry), act(a::open_connection)}},
    {"stray end during backoff", backing_off, ended_1011, s::backing_off, {}},
    {"stray close deadline during backoff", backing_off, ev::of(k::close_deadline), s::backing_off, {}},

    // stopped
    {"a second stop", stopped, ev::of(k::stop_requested), s::stopped, {act(a::report_stopped)}},
    {"start after the stop", stopped, ev::of(k::start), s::stopped, {}},
    {"stray retry timer after the stop", stopped, ev::of(k::retry_timer_fired), s::stopped, {}},
    {"renew after the stop", stopped, ev::of(k::renew_requested), s::stopped, {}},
    {"end after the stop", stopped, ended_1011, s::stopped, {}},
};

TEST(LiveLinkFsmTest, EveryStateAndEventOfTheTable) {
  for (const auto& r : table) {
    SCOPED_TRACE(r.name);
    link_fsm f = make_fsm();
    r.from(f);
    const auto actions = f.handle(r.event);
    EXPECT_EQ(f.state(), r.to);
    EXPECT_EQ(actions, r.actions);
  }
}

TEST(LiveLinkFsmTest, OnlyAReadyLinkCanSend) {
  const std::vector<std::pair<const char*, std::function<void(link_fsm&)>>> states = {
      {"idle", idle},
      {"connecting", connecting},
      {"awaiting setup", awaiting_fresh},
      {"ready", ready_fresh},
      {"closing for a renew", closing_renew},
      {"closing for a stop", closing_stop},
      {"closing after a setup timeout", closing_setup_timeout_fresh},
      {"backing off", backing_off},
      {"stopped", stopped},
  };
  for (const auto& [name, bring] : states) {
    SCOPED_TRACE(name);
    link_fsm f = make_fsm();
    bring(f);
    EXPECT_EQ(f.can_send(), f.state() == link_state::ready);
    EXPECT_EQ(f.can_send(), std::string(name) == "ready");
  }
}

TEST(LiveLinkFsmTest, ReadyWhileClosingNeverOpensSendingAgain) {
  link_fsm f = make_fsm();
  awaiting_fresh(f);
  f.handle(ev::of(k::renew_requested));
  f.handle(ev::of(k::setup_complete));  // the server's answer arrives after all
  EXPECT_FALSE(f.can_send());
  EXPECT_FALSE(f.reached_ready());
  EXPECT_EQ(f.handle(ended_aborted),
            (std::vector{act(a::cancel_close_timer), act(a::open_connection), lost(moved)}));
}

TEST(LiveLinkFsmTest, AStopDuringAnyStateEndsInStoppedWithOneReport) {
  const std::vector<std::function<void(link_fsm&)>> starts = {
      idle,        connecting,   awaiting_fresh, ready_fresh, closing_renew, closing_setup_timeout_fresh,
      backing_off, closing_stop, stopped};
  for (std::size_t i = 0; i < starts.size(); ++i) {
    SCOPED_TRACE(i);
    link_fsm f = make_fsm();
    starts[i](f);
    int reports = 0;
    auto count = [&](const std::vector<link_action>& actions) {
      for (const auto& x : actions) reports += x.kind == a::report_stopped;
    };
    count(f.handle(ev::of(k::stop_requested)));
    if (f.state() == link_state::closing) {
      count(f.handle(ev::of(k::close_deadline)));  // the socket is aborted …
      count(f.handle(ended_aborted));              // … so the connection ends
    }
    EXPECT_EQ(f.state(), link_state::stopped);
    EXPECT_EQ(reports, 1);
  }
}

TEST(LiveLinkFsmTest, DelaysGrowUntilAConnectionReachesSetupComplete) {
  link_fsm f(backoff(1000ms, 60000ms, config_error_delay, 11));
  connecting(f);
  ms previous_ceiling = 1000ms;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const auto out = f.handle(ev::handshake_failed("cannot connect", false));
    ASSERT_EQ(out.front().kind, a::arm_retry);
    EXPECT_GE(out.front().delay, 1000ms);
    EXPECT_LE(out.front().delay, previous_ceiling);
    previous_ceiling *= 2;
    f.handle(ev::of(k::retry_timer_fired));
  }
  f.handle(ev::handshake_done(false));
  f.handle(ev::of(k::setup_complete));
  const auto out = f.handle(ended_1011);
  EXPECT_EQ(out.front(), retry(1000ms, ended_1011.reason));  // the first delay again: the floor
}

TEST(LiveLinkFsmTest, AReconfigureForgetsTheBackoff) {
  link_fsm f(backoff(1000ms, 60000ms, config_error_delay, 3));
  connecting(f);
  for (int attempt = 0; attempt < 4; ++attempt) {
    f.handle(ev::handshake_failed("cannot connect", false));
    f.handle(ev::of(k::retry_timer_fired));
  }
  f.handle(ev::of(k::reconfigure));  // closing the attempt in progress
  EXPECT_EQ(f.handle(ended_aborted).back(), lost(moved));
  EXPECT_EQ(f.handle(ev::handshake_failed("cannot connect", false)).front(), retry(1000ms, "cannot connect"));
}

TEST(LiveLinkFsmTest, ADeliberateMoveNeverWaits) {
  link_fsm f = make_fsm();
  ready_resumed(f);
  f.handle(ev::of(k::renew_requested));
  // A goAway's server closes with 1007 or 1011 as it likes: the move still happens at once.
  const auto out = f.handle(ended_1007);
  EXPECT_EQ(f.state(), link_state::connecting);
  for (const auto& x : out) EXPECT_NE(x.kind, a::arm_retry);
  for (const auto& x : out) EXPECT_NE(x.kind, a::drop_handle);
}

}  // namespace
}  // namespace lb::live
