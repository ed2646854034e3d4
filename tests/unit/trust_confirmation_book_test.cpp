#include "trust/confirmation_book.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

namespace lb::trust {
namespace {

using namespace std::chrono_literals;
using kind = confirmation_book::action::kind;

const time_point t0 = time_point{} + 1000h;

approval_request request(const std::string& id, const std::string& digest, time_point expires) {
  approval_request r;
  r.id = id;
  r.tool = "open_garage";
  r.args = nlohmann::json{{"door", digest}};
  r.digest = digest;
  r.message = "Open the garage?";
  r.prompt_id = "p-" + id;
  r.source = "default";
  r.call_id = "call-" + id;
  r.expires = expires;
  return r;
}

std::vector<kind> kinds(const confirmation_book::actions& actions) {
  std::vector<kind> out;
  for (const auto& a : actions) out.push_back(a.what);
  return out;
}

std::vector<std::string> waiting_ids(const confirmation_book& book) {
  std::vector<std::string> out;
  for (const auto& r : book.waiting()) out.push_back(r.id);
  return out;
}

// One event of a scripted table.
struct step {
  enum class event { request, yes, no, tick } what;
  std::string id;      // request / answer
  std::string digest;  // request
  std::chrono::milliseconds at;
  std::vector<kind> expected;
  std::string reason = {};                // of the refusal in `expected`, if any
  std::vector<std::string> waiting = {};  // ids after the step, oldest first
};

void run(confirmation_book& book, const std::vector<step>& table) {
  for (std::size_t i = 0; i < table.size(); ++i) {
    const auto& s = table[i];
    const time_point now = t0 + s.at;
    confirmation_book::actions out;
    switch (s.what) {
      case step::event::request:
        out = book.on_request(request(s.id, s.digest, now + 60s), now);
        break;
      case step::event::yes:
      case step::event::no:
        out = book.on_answer(s.id, s.what == step::event::yes, "anna", now);
        break;
      case step::event::tick:
        out = book.on_tick(now);
        break;
    }
    EXPECT_EQ(kinds(out), s.expected) << "step " << i;
    for (const auto& a : out) {
      if (a.what == kind::answer_refused || a.what == kind::request_refused) {
        EXPECT_EQ(a.reason, s.reason) << "step " << i;
      }
    }
    EXPECT_EQ(waiting_ids(book), s.waiting) << "step " << i;
  }
}

using E = step::event;

TEST(ConfirmationBook, ARequestEndsOnceByAnswerOrTime) {
  confirmation_book book;
  run(book, {
                {E::request, "a", "d1", 0s, {kind::publish_request, kind::publish_pending}, "", {"a"}},
                {E::request, "b", "d2", 1s, {kind::publish_request, kind::publish_pending}, "", {"a", "b"}},
                {E::yes, "a", "", 2s, {kind::execute, kind::publish_pending}, "", {"b"}},
                {E::yes, "a", "", 3s, {kind::answer_refused}, "already answered", {"b"}},
                {E::no, "b", "", 4s, {kind::declined, kind::publish_pending}, "", {}},
                {E::yes, "b", "", 5s, {kind::answer_refused}, "already answered", {}},
                {E::yes, "zz", "", 6s, {kind::answer_refused}, "unknown request", {}},
                {E::request, "c", "d1", 7s, {kind::publish_request, kind::publish_pending}, "", {"c"}},
                {E::tick, "", "", 66s, {}, "", {"c"}},                                   // 1 s before expiry
                {E::tick, "", "", 67s, {kind::expired, kind::publish_pending}, "", {}},  // at `expires`
                {E::tick, "", "", 68s, {}, "", {}},
                {E::yes, "c", "", 69s, {kind::answer_refused}, "expired", {}},
            });
}

TEST(ConfirmationBook, AYesAtOrAfterExpiryNeverExecutes) {
  confirmation_book book;
  run(book, {
                {E::request, "a", "d1", 0s, {kind::publish_request, kind::publish_pending}, "", {"a"}},
                {E::request, "b", "d2", 30s, {kind::publish_request, kind::publish_pending}, "", {"a", "b"}},
                // No timer fired: the answer itself finds `a` due, expires it, then refuses.
                {E::yes,
                 "a",
                 "",
                 60s,
                 {kind::expired, kind::publish_pending, kind::answer_refused},
                 "expired",
                 {"b"}},
                {E::yes, "b", "", 90s - 1ms, {kind::execute, kind::publish_pending}, "", {}},
            });
}

TEST(ConfirmationBook, TheSameActionWaitsOnceAndTheCallerAttachesToIt) {
  confirmation_book book;
  run(book, {
                {E::request, "a", "d1", 0s, {kind::publish_request, kind::publish_pending}, "", {"a"}},
                {E::request, "b", "d1", 1s, {}, "", {"a"}},
            });
  const auto* same = book.waiting_for("d1");
  ASSERT_NE(same, nullptr);
  EXPECT_EQ(same->id, "a");
  EXPECT_EQ(book.find("b"), nullptr);
  EXPECT_EQ(book.waiting_for("d2"), nullptr);
}

TEST(ConfirmationBook, RefusedRequestsAnnounceNothing) {
  confirmation_book book(2);
  run(book, {
                {E::request, "a", "d1", 0s, {kind::publish_request, kind::publish_pending}, "", {"a"}},
                {E::request, "b", "d2", 1s, {kind::publish_request, kind::publish_pending}, "", {"a", "b"}},
                {E::request, "c", "d3", 2s, {kind::request_refused}, "too many requests waiting", {"a", "b"}},
                {E::request, "a", "d4", 3s, {kind::request_refused}, "duplicate id", {"a", "b"}},
                {E::request, "", "d4", 3s, {kind::request_refused}, "no id", {"a", "b"}},
                {E::request, "e", "", 3s, {kind::request_refused}, "no digest", {"a", "b"}},
                // `a` is due when `f` comes, which makes room for it.
                {E::request,
                 "f",
                 "d5",
                 60s,
                 {kind::expired, kind::publish_pending, kind::publish_request, kind::publish_pending},
                 "",
                 {"b", "f"}},
            });
  const auto out = book.on_request(request("g", "d6", t0 + 70s), t0 + 70s);
  ASSERT_EQ(kinds(out), (std::vector<kind>{kind::expired, kind::publish_pending, kind::request_refused}));
  EXPECT_EQ(out[2].reason, "expired before it was asked");
}

TEST(ConfirmationBook, ActionsCarryTheRequestAndWhoAnswered) {
  confirmation_book book;
  const auto r = request("a", "d1", t0 + 60s);
  auto out = book.on_request(r, t0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].request.args, r.args);
  EXPECT_EQ(out[0].request.call_id, "call-a");
  EXPECT_EQ(book.next_expiry(), t0 + 60s);
  out = book.on_answer("a", true, "kitchen panel", t0 + 1s);
  ASSERT_EQ(kinds(out), (std::vector<kind>{kind::execute, kind::publish_pending}));
  EXPECT_EQ(out[0].by, "kitchen panel");
  EXPECT_EQ(out[0].request.id, "a");
  EXPECT_EQ(out[0].request.tool, "open_garage");
  EXPECT_EQ(out[0].request.args, r.args);
  EXPECT_EQ(out[0].request.prompt_id, r.prompt_id);
  EXPECT_EQ(book.next_expiry(), std::nullopt);
  out = book.on_answer("a", true, "hall", t0 + 2s);
  ASSERT_EQ(kinds(out), std::vector<kind>{kind::answer_refused});
  EXPECT_EQ(out[0].request.id, "a");
  EXPECT_EQ(out[0].by, "hall");
}

TEST(ConfirmationBook, TicksExpireOldestFirstAndNextExpiryIsTheEarliest) {
  confirmation_book book;
  book.on_request(request("late", "d1", t0 + 50s), t0);
  book.on_request(request("early", "d2", t0 + 20s), t0 + 1s);
  book.on_request(request("mid", "d3", t0 + 30s), t0 + 2s);
  EXPECT_EQ(book.next_expiry(), t0 + 20s);
  EXPECT_EQ(waiting_ids(book), (std::vector<std::string>{"late", "early", "mid"}));
  auto out = book.on_tick(t0 + 30s);
  ASSERT_EQ(kinds(out), (std::vector<kind>{kind::expired, kind::expired, kind::publish_pending}));
  EXPECT_EQ(out[0].request.id, "early");  // the older request first
  EXPECT_EQ(out[1].request.id, "mid");
  EXPECT_EQ(book.next_expiry(), t0 + 50s);
}

TEST(ConfirmationBook, FinishedRequestsAreRememberedBoundedly) {
  confirmation_book book;
  const std::size_t n = confirmation_book::retired_memory + 10;
  for (std::size_t i = 0; i < n; ++i) {
    const auto id = std::to_string(i);
    book.on_request(request(id, "d" + id, t0 + 60s), t0);
    book.on_answer(id, false, "anna", t0);
  }
  EXPECT_EQ(book.on_answer(std::to_string(n - 1), true, "x", t0)[0].reason, "already answered");
  EXPECT_EQ(book.on_answer(std::to_string(n - confirmation_book::retired_memory), true, "x", t0)[0].reason,
            "already answered");
  EXPECT_EQ(book.on_answer("0", true, "x", t0)[0].reason, "unknown request");
}

// A random walk over requests, answers and ticks, checked against the promises: each announced
// request ends exactly once; execute only after a yes before its expiry; the waiting set never
// changes without a publish_pending after the change; the set is bounded and has no two requests
// for the same action.
TEST(ConfirmationBook, RandomWalksKeepEveryPromise) {
  std::mt19937 rng(20261202);
  for (int walk = 0; walk < 2000; ++walk) {
    const std::size_t max_waiting = 1 + rng() % 4;
    confirmation_book book(max_waiting);
    time_point now = t0;
    std::map<std::string, int> endings;          // id -> terminal actions seen
    std::map<std::string, time_point> expiries;  // announced requests
    std::set<std::string> yes_in_time;           // ids answered yes before expiry, while waiting
    int next_id = 0;
    const auto check = [&](const confirmation_book::actions& out, const std::vector<std::string>& before,
                           const std::string& context) {
      bool unpublished_change = false;
      for (const auto& a : out) {
        switch (a.what) {
          case kind::publish_request:
            EXPECT_TRUE(expiries.emplace(a.request.id, a.request.expires).second) << context;
            unpublished_change = true;
            break;
          case kind::execute:
            EXPECT_TRUE(yes_in_time.count(a.request.id)) << context;
            [[fallthrough]];
          case kind::declined:
          case kind::expired:
          case kind::withdrawn:
            EXPECT_TRUE(expiries.count(a.request.id)) << context;
            ++endings[a.request.id];
            unpublished_change = true;
            break;
          case kind::publish_pending:
            EXPECT_TRUE(unpublished_change) << "publish_pending without a change: " << context;
            unpublished_change = false;
            break;
          case kind::answer_refused:
          case kind::request_refused:
            EXPECT_FALSE(a.reason.empty()) << context;
            break;
        }
      }
      EXPECT_FALSE(unpublished_change) << context;
      // The actions tell every change: what was waiting, plus what was announced, minus what ended.
      std::vector<std::string> told = before;
      for (const auto& a : out) {
        if (a.what == kind::publish_request) told.push_back(a.request.id);
        if (a.what == kind::execute || a.what == kind::declined || a.what == kind::expired ||
            a.what == kind::withdrawn)
          told.erase(std::remove(told.begin(), told.end(), a.request.id), told.end());
      }
      const auto after = waiting_ids(book);
      EXPECT_EQ(after, told) << context;
      EXPECT_LE(after.size(), max_waiting) << context;
      std::set<std::string> digests;
      for (const auto& r : book.waiting()) {
        EXPECT_TRUE(digests.insert(r.digest).second) << context;
        EXPECT_GT(r.expires, now) << "a due request still waiting: " << context;
      }
    };
    const int steps = 1 + static_cast<int>(rng() % 40);
    for (int s = 0; s < steps; ++s) {
      now += std::chrono::milliseconds(rng() % 3000);
      const auto before = waiting_ids(book);
      const std::string context = "walk " + std::to_string(walk) + " step " + std::to_string(s);
      switch (rng() % 5) {
        case 0: {
          const std::string id = std::to_string(next_id++);
          const std::string digest = "d" + std::to_string(rng() % 5);
          const auto lifetime = std::chrono::milliseconds(rng() % 10000);
          check(book.on_request(request(id, digest, now + lifetime), now), before, context);
          break;
        }
        case 1:
        case 2: {
          // Mostly an id that exists or existed, sometimes one that never did.
          const std::string id = next_id > 0 && rng() % 8 != 0 ? std::to_string(rng() % next_id) : "nope";
          const bool yes = rng() % 2 == 0;
          const auto* r = book.find(id);
          const bool in_time = r != nullptr && now < r->expires;
          if (yes && in_time) yes_in_time.insert(id);
          const auto out = book.on_answer(id, yes, "walker", now);
          check(out, before, context);
          // An answer in time ends its request the way it said; any other is refused.
          const kind ending = !in_time ? kind::answer_refused : yes ? kind::execute : kind::declined;
          EXPECT_EQ(std::count_if(out.begin(), out.end(),
                                  [&](const auto& a) { return a.what == ending && a.request.id == id; }),
                    1)
              << context;
          break;
        }
        case 3:
          check(book.on_tick(now), before, context);
          break;
        default:
          // Rarely: a reload or the stop withdraws everything.
          if (rng() % 4 == 0) check(book.on_withdraw_all("reload"), before, context);
      }
    }
    const auto before = waiting_ids(book);
    now += 1h;
    check(book.on_tick(now), before, "walk " + std::to_string(walk) + " end");
    EXPECT_TRUE(book.waiting().empty());
    for (const auto& [id, _] : expiries)
      EXPECT_EQ(endings[id], 1) << "walk " << walk << " request " << id << " ended " << endings[id]
                                << " times";
    EXPECT_EQ(endings.size(), expiries.size());
  }
}

}  // namespace
}  // namespace lb::trust
