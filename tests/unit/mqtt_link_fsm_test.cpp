// The MQTT link's lifecycle, table-tested: every state with every event that can reach it,
// including the awkward orders the network produces.
#include <gtest/gtest.h>

#include "mqtt/link_fsm.hpp"

namespace lb::mqtt {
namespace {

using namespace std::chrono_literals;
using ev = link_event;
using act = link_action::kind;

constexpr auto retry_delay = 1000ms;  // floor = cap: every delay is the same
constexpr auto stop_deadline = 1500ms;

link_fsm make_fsm(std::size_t filters = 2) {
  return link_fsm(filters, backoff(retry_delay, retry_delay, retry_delay, 1), stop_deadline);
}

link_action connect(std::uint64_t n) {
  return {act::connect, n};
}
link_action subscribe(std::uint64_t n, std::size_t from) {
  return {act::subscribe, n, from};
}
link_action arm_retry(const std::string& cause) {
  return {act::arm_retry, 0, 0, retry_delay, cause};
}
link_action report_down(const std::string& cause) {
  return {act::report_down, 0, 0, {}, cause};
}
const link_action report_up{act::report_up};
const link_action arm_stop_deadline{act::arm_stop_deadline, 0, 0, stop_deadline};
const link_action publish_final{act::publish_final_then_disconnect};
const link_action disconnect_now{act::disconnect_now};
const link_action report_stopped{act::report_stopped};

// How the link gets into each state (two filters).
std::vector<link_event> path_to(link_state s) {
  switch (s) {
    case link_state::idle:
      return {};
    case link_state::connecting:
      return {ev::start()};
    case link_state::subscribing:
      return {ev::start(), ev::connack()};
    case link_state::up:
      return {ev::start(), ev::connack(), ev::suback(1, true), ev::suback(1, true)};
    case link_state::down:
      return {ev::start(), ev::connect_failed("refused")};
    case link_state::stopping:
      return {ev::start(), ev::connack(), ev::suback(1, true), ev::suback(1, true), ev::stop_requested()};
    case link_state::stopped:
      return {ev::start(),         ev::connack(),        ev::suback(1, true),
              ev::suback(1, true), ev::stop_requested(), ev::disconnected()};
  }
  return {};
}

std::string describe(const std::vector<link_action>& actions) {
  std::string s = "[";
  for (const auto& a : actions) s += (s.size() > 1 ? ", " : "") + to_string(a);
  return s + "]";
}

struct row {
  const char* name;
  link_state from;
  link_event event;
  link_state to;
  std::vector<link_action> actions;
};

const row table[] = {
    // idle
    {"start connects", link_state::idle, ev::start(), link_state::connecting, {connect(1)}},
    {"stop before start", link_state::idle, ev::stop_requested(), link_state::stopped, {report_stopped}},
    {"stray connack before start", link_state::idle, ev::connack(), link_state::idle, {}},
    {"stray timer before start", link_state::idle, ev::retry_timer_fired(), link_state::idle, {}},
    // connecting
    {"connack subscribes every filter",
     link_state::connecting,
     ev::connack(),
     link_state::subscribing,
     {subscribe(1, 0)}},
    {"failed connect backs off",
     link_state::connecting,
     ev::connect_failed("refused"),
     link_state::down,
     {arm_retry("refused")}},
    {"lost before connack backs off",
     link_state::connecting,
     ev::connection_lost("reset"),
     link_state::down,
     {arm_retry("reset")}},
    {"stop while connecting drops the attempt",
     link_state::connecting,
     ev::stop_requested(),
     link_state::stopped,
     {disconnect_now, report_stopped}},
    {"second start while connecting", link_state::connecting, ev::start(), link_state::connecting, {}},
    {"suback before connack", link_state::connecting, ev::suback(1, true), link_state::connecting, {}},
    {"stray timer while connecting",
     link_state::connecting,
     ev::retry_timer_fired(),
     link_state::connecting,
     {}},
    // subscribing
    {"first of two subacks", link_state::subscribing, ev::suback(1, true), link_state::subscribing, {}},
    {"lost while subscribing backs off, never reported up",
     link_state::subscribing,
     ev::connection_lost("reset"),
     link_state::down,
     {arm_retry("reset")}},
    {"stop while subscribing still publishes the final message",
     link_state::subscribing,
     ev::stop_requested(),
     link_state::stopping,
     {arm_stop_deadline, publish_final}},
    {"repeated connack while subscribing",
     link_state::subscribing,
     ev::connack(),
     link_state::subscribing,
     {}},
    {"filter added while subscribing is subscribed and awaited",
     link_state::subscribing,
     ev::filters_added(1),
     link_state::subscribing,
     {subscribe(1, 2)}},
    {"suback of another connection",
     link_state::subscribing,
     ev::suback(7, true),
     link_state::subscribing,
     {}},
    // up
    {"lost while up reports down and backs off",
     link_state::up,
     ev::connection_lost("keepalive"),
     link_state::down,
     {arm_retry("keepalive"), report_down("keepalive")}},
    {"stop while up",
     link_state::up,
     ev::stop_requested(),
     link_state::stopping,
     {arm_stop_deadline, publish_final}},
    {"filter added while up", link_state::up, ev::filters_added(1), link_state::up, {subscribe(1, 2)}},
    {"late suback while up", link_state::up, ev::suback(1, true), link_state::up, {}},
    {"repeated connack while up", link_state::up, ev::connack(), link_state::up, {}},
    {"stray timer while up", link_state::up, ev::retry_timer_fired(), link_state::up, {}},
    {"start while up", link_state::up, ev::start(), link_state::up, {}},
    // down
    {"retry timer connects again",
     link_state::down,
     ev::retry_timer_fired(),
     link_state::connecting,
     {connect(2)}},
    {"stop during backoff", link_state::down, ev::stop_requested(), link_state::stopped, {report_stopped}},
    {"second failure report while down", link_state::down, ev::connect_failed("again"), link_state::down, {}},
    {"lost while down", link_state::down, ev::connection_lost("again"), link_state::down, {}},
    {"stale suback while down", link_state::down, ev::suback(1, true), link_state::down, {}},
    {"filter added while down waits for the next connack",
     link_state::down,
     ev::filters_added(1),
     link_state::down,
     {}},
    // stopping
    {"disconnect completes the stop",
     link_state::stopping,
     ev::disconnected(),
     link_state::stopped,
     {report_stopped}},
    {"broker gone while stopping",
     link_state::stopping,
     ev::connection_lost("eof"),
     link_state::stopped,
     {report_stopped}},
    {"hung broker: the deadline ends the stop",
     link_state::stopping,
     ev::stop_deadline(),
     link_state::stopped,
     {disconnect_now, report_stopped}},
    {"second stop completes with the first",
     link_state::stopping,
     ev::stop_requested(),
     link_state::stopping,
     {}},
    {"connack while stopping", link_state::stopping, ev::connack(), link_state::stopping, {}},
    {"suback while stopping", link_state::stopping, ev::suback(1, true), link_state::stopping, {}},
    {"stray timer while stopping", link_state::stopping, ev::retry_timer_fired(), link_state::stopping, {}},
    // stopped
    {"stop after the end completes at once",
     link_state::stopped,
     ev::stop_requested(),
     link_state::stopped,
     {report_stopped}},
    {"connect that won the race with the stop is closed",
     link_state::stopped,
     ev::connack(),
     link_state::stopped,
     {disconnect_now}},
    {"deadline after the disconnect", link_state::stopped, ev::stop_deadline(), link_state::stopped, {}},
    {"late disconnect", link_state::stopped, ev::disconnected(), link_state::stopped, {}},
    {"start after the end", link_state::stopped, ev::start(), link_state::stopped, {}},
    {"stray timer after the end", link_state::stopped, ev::retry_timer_fired(), link_state::stopped, {}},
    {"lost after the end", link_state::stopped, ev::connection_lost("eof"), link_state::stopped, {}},
};

TEST(MqttLinkFsm, EveryStateWithEveryRelevantEvent) {
  for (const auto& r : table) {
    auto fsm = make_fsm();
    for (const auto& e : path_to(r.from)) fsm.on(e);
    ASSERT_EQ(fsm.state(), r.from) << r.name << ": the path did not reach " << to_string(r.from);
    const auto actions = fsm.on(r.event);
    EXPECT_EQ(fsm.state(), r.to) << r.name << ": in " << to_string(fsm.state());
    EXPECT_EQ(actions, r.actions) << r.name << ": " << describe(actions);
  }
}

TEST(MqttLinkFsm, UpOnlyOnceEverySubackIsIn) {
  auto fsm = make_fsm(3);
  for (const auto& e : {ev::start(), ev::connack(), ev::suback(1, true), ev::suback(1, true)}) {
    fsm.on(e);
    EXPECT_FALSE(fsm.up());
  }
  EXPECT_EQ(fsm.outstanding_subacks(), 1u);
  EXPECT_EQ(fsm.on(ev::suback(1, true)), std::vector<link_action>{report_up});
  EXPECT_TRUE(fsm.up());
}

TEST(MqttLinkFsm, ARefusedSubscriptionStillCountsAsAnswered) {
  // The broker said no (an ACL): retrying would get the same answer, and the client logs it.
  auto fsm = make_fsm();
  fsm.on(ev::start());
  fsm.on(ev::connack());
  EXPECT_TRUE(fsm.on(ev::suback(1, false)).empty());
  EXPECT_EQ(fsm.on(ev::suback(1, true)), std::vector<link_action>{report_up});
}

TEST(MqttLinkFsm, WithoutFiltersTheConnackIsEnough) {
  auto fsm = make_fsm(0);
  fsm.on(ev::start());
  EXPECT_EQ(fsm.on(ev::connack()), std::vector<link_action>{report_up});
  EXPECT_TRUE(fsm.up());
}

TEST(MqttLinkFsm, SubacksOfAnOldConnectionNeverReportUp) {
  auto fsm = make_fsm();
  for (const auto& e : {ev::start(), ev::connack(), ev::suback(1, true), ev::connection_lost("reset"),
                        ev::retry_timer_fired(), ev::connack()})
    fsm.on(e);
  ASSERT_EQ(fsm.state(), link_state::subscribing);
  ASSERT_EQ(fsm.connection(), 2u);
  // The first connection's second SUBACK, then a duplicate, arrive after the reconnect.
  EXPECT_TRUE(fsm.on(ev::suback(1, true)).empty());
  EXPECT_TRUE(fsm.on(ev::suback(1, true)).empty());
  EXPECT_FALSE(fsm.up());
  EXPECT_TRUE(fsm.on(ev::suback(2, true)).empty());
  EXPECT_EQ(fsm.on(ev::suback(2, true)), std::vector<link_action>{report_up});
}

TEST(MqttLinkFsm, FiltersAddedBeforeTheConnackAreAwaitedToo) {
  auto fsm = make_fsm(1);
  fsm.on(ev::start());
  fsm.on(ev::filters_added(2));
  EXPECT_EQ(fsm.on(ev::connack()), std::vector<link_action>{subscribe(1, 0)});
  EXPECT_EQ(fsm.outstanding_subacks(), 3u);
}

TEST(MqttLinkFsm, AReconnectSubscribesEverythingAgain) {
  auto fsm = make_fsm();
  for (const auto& e : path_to(link_state::up)) fsm.on(e);
  fsm.on(ev::filters_added(1));
  fsm.on(ev::connection_lost("broker restart"));
  EXPECT_EQ(fsm.on(ev::retry_timer_fired()), std::vector<link_action>{connect(2)});
  EXPECT_EQ(fsm.on(ev::connack()), std::vector<link_action>{subscribe(2, 0)});
  EXPECT_EQ(fsm.outstanding_subacks(), 3u);
}

TEST(MqttLinkFsm, EveryAttemptWaitsForTheBackoffWhichGrowsUntilTheLinkIsUp) {
  // floor 1 s, cap 8 s: full jitter between the floor and a ceiling that doubles per attempt.
  link_fsm fsm(1, backoff(1000ms, 8000ms, 8000ms, 42), stop_deadline);
  fsm.on(ev::start());
  std::chrono::milliseconds ceiling = 1000ms;
  for (int attempt = 0; attempt < 6; ++attempt) {
    const auto actions = fsm.on(attempt % 2 ? ev::connect_failed("refused") : ev::connection_lost("reset"));
    ASSERT_EQ(actions.size(), 1u);
    ASSERT_EQ(actions[0].what, act::arm_retry);
    EXPECT_GE(actions[0].delay, 1000ms);
    EXPECT_LE(actions[0].delay, ceiling);
    ceiling = std::min<std::chrono::milliseconds>(ceiling * 2, 8000ms);
    EXPECT_EQ(fsm.on(ev::retry_timer_fired()), std::vector<link_action>{connect(attempt + 2)});
  }
  // Up resets it: the next loss waits at the floor again.
  fsm.on(ev::connack());
  fsm.on(ev::suback(fsm.connection(), true));
  ASSERT_TRUE(fsm.up());
  const auto actions = fsm.on(ev::connection_lost("reset"));
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].delay, 1000ms);
}

TEST(MqttLinkFsm, AConnackAloneDoesNotResetTheBackoff) {
  // A broker that accepts the CONNECT and drops us before the SUBACKs is not a success.
  link_fsm fsm(1, backoff(1000ms, 8000ms, 8000ms, 7), stop_deadline);
  fsm.on(ev::start());
  for (int i = 0; i < 5; ++i) {
    fsm.on(ev::connack());
    fsm.on(ev::connection_lost("reset"));
    fsm.on(ev::retry_timer_fired());
  }
  fsm.on(ev::connack());
  // Five attempts in, the ceiling is 8 s; over a few draws at least one is above the floor.
  bool grew = false;
  for (int i = 0; i < 4; ++i) {
    const auto actions = fsm.on(ev::connection_lost("reset"));
    ASSERT_FALSE(actions.empty());
    grew = grew || actions.front().delay > 2000ms;
    fsm.on(ev::retry_timer_fired());
    fsm.on(ev::connack());
  }
  EXPECT_TRUE(grew);
}

TEST(MqttLinkFsm, UpIsTrueInNoOtherState) {
  for (auto s : {link_state::idle, link_state::connecting, link_state::subscribing, link_state::down,
                 link_state::stopping, link_state::stopped}) {
    auto fsm = make_fsm();
    for (const auto& e : path_to(s)) fsm.on(e);
    EXPECT_FALSE(fsm.up()) << to_string(s);
  }
}

}  // namespace
}  // namespace lb::mqtt
