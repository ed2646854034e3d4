#include "trust/gate.hpp"

#include <gtest/gtest.h>

#include "trust/canonical.hpp"

namespace lb::trust {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

tools::tool_spec tool(std::string name, tools::confirmation c = tools::confirmation::none) {
  tools::tool_spec t;
  t.name = std::move(name);
  t.guard.confirm = c;
  return t;
}

config::trust_config settings() {
  config::trust_config c;
  c.pin_attempts = 2;
  c.lockout = 60s;
  c.loop_guard = 2;
  return c;
}

pin_verifier pin(std::string_view digits) {
  return std::get<pin_verifier>(pin_verifier::from_secret(digits));
}

struct GateTest : ::testing::Test {
  gate g{settings(), pin("4711")};
  clock::time_point t0 = clock::now();
  call_facts at(clock::duration later = {}, int minute = 12 * 60) { return {t0 + later, minute}; }
  verdict judge(const tools::tool_spec& t, const json& args, turn_evidence& e, call_facts f) {
    return g.judge(t, args, action_digest(t.name, args), e, f);
  }
};

TEST_F(GateTest, AToolWithoutRulesRuns) {
  turn_evidence e;
  EXPECT_EQ(judge(tool("light"), json::object(), e, at()).what, verdict::kind::run);
}

TEST_F(GateTest, AnAckToolAlwaysAsksAPersonWhateverTheWordsSay) {
  turn_evidence e;
  e.typed = "yes, I approve, open it, 4711";
  const auto v = judge(tool("garage", tools::confirmation::ack), json::object(), e, at());
  EXPECT_EQ(v.what, verdict::kind::ask_person);
  EXPECT_EQ(v.code, "ackNeeded");
}

// The PIN rules as a table: the person's words of the turn → the verdict's code ("" = runs).
TEST_F(GateTest, PinVerdicts) {
  struct row {
    std::string typed, heard;
    bool may_grow;
    verdict::kind what;
    std::string code;
  };
  const std::vector<row> rows = {
      {"unlock, 4711", "", false, verdict::kind::run, ""},
      {"", "unlock please four seven one one", false, verdict::kind::run, ""},
      {"unlock", "", false, verdict::kind::refuse, "pinNeeded"},
      {"", "unlock", true, verdict::kind::wait_for_words, "pinNeeded"},
      {"unlock 1234", "", false, verdict::kind::refuse, "challengeFailedPinNeeded"},
      {"set it to 21", "", false, verdict::kind::refuse, "pinNeeded"},  // two digits are no attempt
      {"unlock at 1730 with 4711", "", false, verdict::kind::run, ""},  // a time beside the PIN
      // Many PIN-like numbers at once are guessing, even when one of them is right.
      {"1111 or 2222 or 4711", "", false, verdict::kind::refuse, "tooManyFailedAttempts"},
  };
  for (const auto& r : rows) {
    gate fresh{settings(), pin("4711")};
    turn_evidence e;
    e.typed = r.typed;
    e.heard = r.heard;
    e.transcript_may_grow = r.may_grow;
    const auto t = tool("unlock", tools::confirmation::pin);
    const auto v = fresh.judge(t, json::object(), action_digest(t.name, json::object()), e, at());
    EXPECT_EQ(v.what, r.what) << r.typed << "|" << r.heard;
    EXPECT_EQ(v.code, r.code) << r.typed << "|" << r.heard;
    if (r.what == verdict::kind::run) {
      EXPECT_EQ(v.how, "pin");
    }
  }
}

TEST_F(GateTest, APinApprovesEachActionOncePerTurn) {
  turn_evidence e;
  e.typed = "unlock both, 4711";
  const auto t = tool("unlock", tools::confirmation::pin);
  EXPECT_EQ(judge(t, json{{"door", "front"}}, e, at()).what, verdict::kind::run);
  EXPECT_EQ(judge(t, json{{"door", "back"}}, e, at()).what, verdict::kind::run);
  EXPECT_EQ(judge(t, json{{"door", "front"}}, e, at()).code, "pinNeeded");
}

TEST_F(GateTest, WrongPinsCountOncePerTurnAndLockForTheLockout) {
  const auto t = tool("unlock", tools::confirmation::pin);
  turn_evidence first;
  first.typed = "1111";
  EXPECT_EQ(judge(t, json::object(), first, at()).code, "challengeFailedPinNeeded");
  // A second call in the same turn with the same wrong PIN is not a second attempt.
  EXPECT_EQ(judge(t, json{{"door", "back"}}, first, at()).code, "challengeFailedPinNeeded");
  turn_evidence second;
  second.typed = "2222";
  EXPECT_EQ(judge(t, json::object(), second, at(1s)).code, "tooManyFailedAttempts");
  turn_evidence right;
  right.typed = "4711";
  EXPECT_EQ(judge(t, json::object(), right, at(59s)).code, "tooManyFailedAttempts");
  turn_evidence later;
  later.typed = "4711";
  EXPECT_EQ(judge(t, json::object(), later, at(62s)).what, verdict::kind::run);
}

TEST_F(GateTest, EachGuessInOneTurnCountsAsAnAttempt) {
  const auto t = tool("unlock", tools::confirmation::pin);
  turn_evidence e;
  e.typed = "0000 or 1111 or 2222";  // pin_attempts is 2
  EXPECT_EQ(judge(t, json::object(), e, at()).code, "tooManyFailedAttempts");
}

TEST_F(GateTest, AVoiceTurnFullOfNumbersIsNotCheckedWhileItGrows) {
  const auto t = tool("unlock", tools::confirmation::pin);
  turn_evidence e;
  e.heard = "1230 or 1231 or 4711";  // the right PIN among guesses
  e.transcript_may_grow = true;
  EXPECT_EQ(judge(t, json::object(), e, at()).what, verdict::kind::wait_for_words);
  e.transcript_may_grow = false;
  --e.calls_seen[action_digest(t.name, json::object())];  // judged again, as the guard does
  EXPECT_EQ(judge(t, json::object(), e, at()).code, "tooManyFailedAttempts");
}

TEST_F(GateTest, TwoWrongNumbersAreTwoAttempts) {
  const auto t = tool("unlock", tools::confirmation::pin);
  turn_evidence e;
  e.typed = "1111 or maybe 2222";  // pin_attempts is 2
  EXPECT_EQ(judge(t, json::object(), e, at()).code, "tooManyFailedAttempts");
}

TEST_F(GateTest, QueriesAreNotLoopGuarded) {
  auto t = tool("look");
  t.query = tools::query_spec{};
  turn_evidence e;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(judge(t, json::object(), e, at()).what, verdict::kind::run);
}

TEST_F(GateTest, AReloadAppliesNewRateLimitsToTheCallsAlreadyCounted) {
  auto t = tool("door");
  t.guard.rate = tools::rate_limit{3, 60s};
  turn_evidence a, b, c;
  EXPECT_EQ(judge(t, json{{"n", 1}}, a, at()).what, verdict::kind::run);
  EXPECT_EQ(judge(t, json{{"n", 2}}, b, at(1s)).what, verdict::kind::run);
  t.guard.rate = tools::rate_limit{1, 60s};
  g.set_rate_limits({t});
  EXPECT_EQ(judge(t, json{{"n", 3}}, c, at(2s)).code, "rateLimited");
}

TEST_F(GateTest, AReloadKeepsARunningLockout) {
  const auto t = tool("unlock", tools::confirmation::pin);
  turn_evidence wrong;
  wrong.typed = "1111 or 2222";
  EXPECT_EQ(judge(t, json::object(), wrong, at()).code, "tooManyFailedAttempts");
  auto relaxed = settings();
  relaxed.pin_attempts = 10;
  g.reconfigure(relaxed, pin("4711"));
  turn_evidence right;
  right.typed = "4711";
  EXPECT_EQ(judge(t, json::object(), right, at(1s)).code, "tooManyFailedAttempts");
}

TEST_F(GateTest, WithoutAPinAPinToolFailsClosed) {
  gate none{settings(), std::nullopt};
  turn_evidence e;
  e.typed = "4711";
  const auto t = tool("unlock", tools::confirmation::pin);
  EXPECT_EQ(none.judge(t, json::object(), "d", e, at()).code, "challengeFailedNotSetup");
}

TEST_F(GateTest, TheLoopGuardCountsIdenticalCallsInATurn) {
  turn_evidence e;
  const auto t = tool("light");
  const json on{{"state", "ON"}};
  EXPECT_EQ(judge(t, on, e, at()).what, verdict::kind::run);
  EXPECT_EQ(judge(t, on, e, at()).what, verdict::kind::run);
  EXPECT_EQ(judge(t, on, e, at()).code, "loopGuard");
  EXPECT_EQ(judge(t, json{{"state", "OFF"}}, e, at()).what, verdict::kind::run);  // other arguments
  turn_evidence next_turn;
  EXPECT_EQ(judge(t, on, next_turn, at()).what, verdict::kind::run);
}

TEST_F(GateTest, TheRateLimitCountsCarriedOutCallsOnly) {
  auto t = tool("door");
  t.guard.rate = tools::rate_limit{2, 60s};
  turn_evidence a, b, c, d;
  EXPECT_EQ(judge(t, json{{"n", 1}}, a, at()).what, verdict::kind::run);
  EXPECT_EQ(judge(t, json{{"n", 2}}, b, at(1s)).what, verdict::kind::run);
  const auto refused = judge(t, json{{"n", 3}}, c, at(2s));
  EXPECT_EQ(refused.code, "rateLimited");
  EXPECT_NE(refused.message.find("58s"), std::string::npos) << refused.message;
  EXPECT_EQ(judge(t, json{{"n", 4}}, d, at(61s)).what, verdict::kind::run);
  // An approved call counts, and is refused over the limit too.
  EXPECT_EQ(g.admit_approved(t, t0 + 62s).what, verdict::kind::run);
  EXPECT_EQ(g.admit_approved(t, t0 + 63s).code, "rateLimited");
}

TEST_F(GateTest, SourcesHoursAndBounds) {
  auto t = tool("heat");
  t.guard.sources = {"kitchen", "phone"};
  t.guard.allowed_hours = tools::daily_window{22 * 60, 6 * 60};  // past midnight
  t.guard.bounds = {tools::argument_bound{"celsius", 16.0, 24.0}};
  struct row {
    std::string source;
    int minute;
    json args;
    std::string code;
  };
  const std::vector<row> rows = {
      {"kitchen", 23 * 60, json{{"celsius", 20}}, ""},
      {"kitchen", 5 * 60 + 59, json{{"celsius", 20}}, ""},
      {"default", 23 * 60, json{{"celsius", 20}}, "sourceNotAllowed"},
      {"phone", 6 * 60, json{{"celsius", 20}}, "outsideAllowedHours"},
      {"phone", 12 * 60, json{{"celsius", 20}}, "outsideAllowedHours"},
      {"phone", 1 * 60, json{{"celsius", 25}}, "argumentOutOfBounds"},
      {"phone", 1 * 60, json{{"celsius", 15.5}}, "argumentOutOfBounds"},
      {"phone", 1 * 60, json::object(), ""},  // an optional argument left out
  };
  for (const auto& r : rows) {
    turn_evidence e;
    e.source = r.source;
    const auto v = judge(t, r.args, e, at({}, r.minute));
    EXPECT_EQ(v.code, r.code) << r.source << " " << r.minute << " " << r.args;
    EXPECT_EQ(v.what == verdict::kind::run, r.code.empty());
  }
}

TEST(GateText, WindowsReadAsTheOwnerWroteThem) {
  EXPECT_EQ(window_text({7 * 60, 22 * 60 + 30}), "07:00-22:30");
}

}  // namespace
}  // namespace lb::trust
