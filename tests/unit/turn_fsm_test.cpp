#include <gtest/gtest.h>

#include <random>

#include "app/turn_fsm.hpp"
#include "turn_fsm_walk.hpp"

namespace lb::app {
namespace {

using kind = turn_fsm::action::kind;
using phase = turn_fsm::phase;
using opener = turn_fsm::opener;

prompt named(const std::string& id) {
  return prompt{nlohmann::json(id), id};
}

std::vector<kind> kinds(const turn_fsm::actions& actions) {
  std::vector<kind> out;
  for (const auto& a : actions) out.push_back(a.what);
  return out;
}

// A machine with the session ready and the reply link up: a prompt starts a turn at once.
turn_fsm ready_machine(std::size_t max_queued = 4) {
  turn_fsm m(max_queued);
  m.on_session_ready();
  m.on_reply_link(true);
  return m;
}

TEST(TurnFsm, APromptStartsATurnOnlyWhenTheSessionAndTheReplyLinkAreBothUp) {
  struct row {
    bool session_ready;
    bool reply_link_up;
    bool held;
    bool starts;
  };
  const std::vector<row> table{
      {false, false, false, false}, {true, false, false, false}, {false, true, false, false},
      {true, true, true, false},    {true, true, false, true},
  };
  for (const auto& r : table) {
    turn_fsm m(4);
    if (r.session_ready) m.on_session_ready();
    m.on_reply_link(r.reply_link_up);
    m.on_hold(r.held);
    const auto out = m.on_prompt(named("p"));
    EXPECT_EQ(kinds(out), r.starts ? std::vector<kind>{kind::start_turn} : std::vector<kind>{})
        << "session " << r.session_ready << " link " << r.reply_link_up << " held " << r.held;
    EXPECT_EQ(m.queued(), r.starts ? 0u : 1u);
  }
}

TEST(TurnFsm, AQueuedPromptStartsWhenTheLastConditionComesTrue) {
  turn_fsm m(4);
  EXPECT_TRUE(m.on_prompt(named("early")).empty());  // the inbox's backlog right after CONNACK
  EXPECT_TRUE(m.on_session_ready().empty());         // the reply link has no SUBACKs yet
  const auto out = m.on_reply_link(true);
  ASSERT_EQ(kinds(out), std::vector<kind>{kind::start_turn});
  EXPECT_EQ(out[0].turn_prompt.id, "early");
  EXPECT_EQ(m.current(), phase::in_turn);
}

TEST(TurnFsm, OneTurnAtATimeInArrivalOrder) {
  auto m = ready_machine();
  EXPECT_EQ(kinds(m.on_prompt(named("a"))), std::vector<kind>{kind::start_turn});
  EXPECT_TRUE(m.on_prompt(named("b")).empty());
  EXPECT_TRUE(m.on_prompt(named("c")).empty());
  auto out = m.on_model_turn_complete();
  ASSERT_EQ(kinds(out), (std::vector<kind>{kind::finish_turn, kind::start_turn}));
  EXPECT_FALSE(out[0].error);
  EXPECT_EQ(out[1].turn_prompt.id, "b");
  out = m.on_model_turn_complete();
  EXPECT_EQ(out[1].turn_prompt.id, "c");
}

TEST(TurnFsm, AFullQueueRefusesWithAReason) {
  turn_fsm m(2);
  m.on_prompt(named("a"));
  m.on_prompt(named("b"));
  const auto out = m.on_prompt(named("c"));
  ASSERT_EQ(kinds(out), std::vector<kind>{kind::refuse_prompt});
  EXPECT_EQ(out[0].turn_prompt.id, "c");
  ASSERT_TRUE(out[0].error);
  EXPECT_NE(out[0].error->find("queue is full"), std::string::npos);
}

TEST(TurnFsm, TheTurnWaitsForItsBlockingCalls) {
  auto m = ready_machine();
  m.on_prompt(named("a"));
  m.on_call_started();
  m.on_call_started();
  EXPECT_TRUE(m.on_model_turn_complete().empty());  // turnComplete right after the toolCall
  m.on_call_answered();
  EXPECT_TRUE(m.on_model_turn_complete().empty());
  m.on_call_answered();
  EXPECT_EQ(kinds(m.on_model_turn_complete()), std::vector<kind>{kind::finish_turn});
  EXPECT_EQ(m.current(), phase::idle);
}

TEST(TurnFsm, LosingTheSessionEndsTheTurnWithAnErrorAndKeepsTheQueue) {
  auto m = ready_machine();
  m.on_prompt(named("a"));
  m.on_prompt(named("b"));
  auto out = m.on_session_lost("closed by the server: 1011");
  ASSERT_EQ(kinds(out), std::vector<kind>{kind::finish_turn});
  ASSERT_TRUE(out[0].error);
  EXPECT_NE(out[0].error->find("1011"), std::string::npos);
  EXPECT_EQ(m.queued(), 1u);
  out = m.on_session_ready();
  ASSERT_EQ(kinds(out), std::vector<kind>{kind::start_turn});
  EXPECT_EQ(out[0].turn_prompt.id, "b");
}

TEST(TurnFsm, WhileTheSessionMovesNothingNewStarts) {
  auto m = ready_machine();
  m.on_prompt(named("a"));
  m.on_session_closing();  // goAway or a reload renews the connection
  EXPECT_TRUE(m.on_prompt(named("b")).empty());
  EXPECT_EQ(kinds(m.on_model_turn_complete()), std::vector<kind>{kind::finish_turn});  // "a" still ends well
  EXPECT_EQ(m.queued(), 1u);
  EXPECT_TRUE(m.on_session_lost("moved to a new connection").empty());
  EXPECT_EQ(kinds(m.on_session_ready()), std::vector<kind>{kind::start_turn});
}

TEST(TurnFsm, APromptTheSessionRefusedGoesBackToTheFront) {
  auto m = ready_machine();
  m.on_prompt(named("a"));
  m.on_turn_not_sent(named("a"));
  m.on_prompt(named("b"));
  EXPECT_EQ(m.current(), phase::idle);
  const auto out = m.on_session_ready();
  ASSERT_EQ(kinds(out), std::vector<kind>{kind::start_turn});
  EXPECT_EQ(out[0].turn_prompt.id, "a");
}

TEST(TurnFsm, ATimedOutTurnIsAbandonedUntilTheModelCompletesIt) {
  auto m = ready_machine();
  m.on_prompt(named("slow"));
  m.on_prompt(named("next"));
  auto out = m.on_turn_timeout("no answer within 2s");
  ASSERT_EQ(kinds(out), (std::vector<kind>{kind::finish_turn, kind::arm_timer}));
  EXPECT_EQ(out[0].error, "no answer within 2s");
  EXPECT_TRUE(m.abandoned());
  EXPECT_FALSE(m.collecting());  // the late answer is not taken into any reply
  EXPECT_TRUE(m.on_model_output().empty());
  out = m.on_model_turn_complete();  // the late answer is over
  ASSERT_EQ(kinds(out), std::vector<kind>{kind::start_turn});
  EXPECT_EQ(out[0].turn_prompt.id, "next");
}

TEST(TurnFsm, AnAbandonedTurnThatNeverCompletesRenewsTheSession) {
  auto m = ready_machine();
  m.on_prompt(named("slow"));
  m.on_prompt(named("next"));
  m.on_turn_timeout("t");
  EXPECT_EQ(kinds(m.on_turn_timeout("t")), std::vector<kind>{kind::renew_session});
  EXPECT_TRUE(m.on_session_lost("moved to a new connection").empty());
  EXPECT_EQ(m.current(), phase::idle);
  EXPECT_EQ(kinds(m.on_session_ready()), std::vector<kind>{kind::start_turn});
}

TEST(TurnFsm, ATimeoutWithoutATurnDoesNothing) {
  auto m = ready_machine();
  EXPECT_TRUE(m.on_turn_timeout("t").empty());
  EXPECT_EQ(m.current(), phase::idle);
}

TEST(TurnFsm, TheModelOpensAnExpectedTurnOnlyWhenIdle) {
  auto m = ready_machine();
  EXPECT_TRUE(m.on_model_output().empty());  // unexpected output: no turn, no reply
  m.expect_model_turn(nlohmann::json(), opener::voice);
  m.name_expected_voice_turn("kitchen-mic");
  const auto out = m.on_model_output();
  ASSERT_EQ(kinds(out), std::vector<kind>{kind::open_turn});
  EXPECT_EQ(out[0].by, opener::voice);
  EXPECT_EQ(out[0].turn_prompt.id, "kitchen-mic");
  EXPECT_TRUE(m.collecting());
  EXPECT_TRUE(m.on_model_output().empty());  // the same turn goes on
}

TEST(TurnFsm, APromptTakesOverAnExpectation) {
  auto m = ready_machine();
  m.expect_model_turn("door", opener::follow_up);
  m.on_prompt(named("a"));
  m.on_model_turn_complete();
  EXPECT_FALSE(m.expecting(opener::follow_up));
  EXPECT_TRUE(m.on_model_output().empty());
}

TEST(TurnFsm, LosingTheSessionForgetsWhatTheModelWasExpectedToSay) {
  auto m = ready_machine();
  m.expect_model_turn("door", opener::follow_up);
  m.on_session_lost("gone");
  EXPECT_FALSE(m.expecting(opener::follow_up));
}

TEST(TurnFsm, StopAnswersTheTurnAndEveryQueuedPromptThenRefusesNewOnes) {
  auto m = ready_machine();
  m.on_prompt(named("a"));
  m.on_prompt(named("b"));
  m.on_prompt(named("c"));
  auto out = m.on_stop();
  ASSERT_EQ(kinds(out), (std::vector<kind>{kind::finish_turn, kind::refuse_prompt, kind::refuse_prompt}));
  for (const auto& a : out) EXPECT_EQ(a.error, "livebridge is shutting down");
  EXPECT_EQ(out[1].turn_prompt.id, "b");
  EXPECT_EQ(out[2].turn_prompt.id, "c");
  EXPECT_EQ(m.current(), phase::stopped);
  out = m.on_prompt(named("late"));
  ASSERT_EQ(kinds(out), std::vector<kind>{kind::refuse_prompt});
  EXPECT_TRUE(m.on_stop().empty());  // a second stop
  EXPECT_TRUE(m.on_session_ready().empty());
  EXPECT_TRUE(m.on_reply_link(true).empty());
}

TEST(TurnFsm, StopDuringAnAbandonedTurnRefusesTheQueueOnly) {
  auto m = ready_machine();
  m.on_prompt(named("a"));
  m.on_prompt(named("b"));
  m.on_turn_timeout("t");
  EXPECT_EQ(kinds(m.on_stop()), std::vector<kind>{kind::refuse_prompt});
}

TEST(TurnFsm, TheReplyLinkGoingDownMidTurnLetsTheTurnFinish) {
  auto m = ready_machine();
  m.on_prompt(named("a"));
  m.on_prompt(named("b"));
  EXPECT_TRUE(m.on_reply_link(false).empty());
  EXPECT_EQ(kinds(m.on_model_turn_complete()), std::vector<kind>{kind::finish_turn});
  EXPECT_EQ(m.queued(), 1u);
  EXPECT_EQ(kinds(m.on_reply_link(true)), std::vector<kind>{kind::start_turn});
}

// Random walks over every event: each prompt is sent once or refused once, turns never overlap,
// and each opened turn is finished once (turn_fsm_walk checks; fuzz_turn_fsm does the same).
TEST(TurnFsm, RandomEventSequencesKeepEveryPromise) {
  std::mt19937 rng(20261201);
  for (int walk = 0; walk < 2000; ++walk) {
    test::turn_fsm_walk w(1 + walk % 4);
    const int steps = 1 + static_cast<int>(rng() % 60);
    bool ok = true;
    for (int i = 0; i < steps && ok; ++i) ok = w.step(static_cast<std::uint8_t>(rng()));
    if (ok) ok = w.finish();
    ASSERT_TRUE(ok) << "walk " << walk << ": " << w.why();
  }
}

}  // namespace
}  // namespace lb::app
