#include <gtest/gtest.h>

#include "tools/state_cache.hpp"

namespace lb::tools {
namespace {

using clock = state_cache::clock;
const clock::time_point t0 = clock::time_point{} + std::chrono::hours(1);

incoming_message msg(std::string topic, std::string payload, bool retained = false,
                     clock::time_point at = {}) {
  incoming_message m;
  m.topic = std::move(topic);
  m.payload = std::move(payload);
  m.retained = retained;
  m.received_at = at;
  return m;
}

TEST(StateCacheTest, KeepsTheLatestPayloadOfAWantedTopicAsJson) {
  state_cache cache({"z2m/kitchen"});
  cache.offer(msg("z2m/kitchen", R"({"state":"OFF"})", false, t0), t0);
  cache.offer(msg("z2m/kitchen", R"({"state":"ON","brightness":80})", false, t0 + std::chrono::seconds(3)),
              t0);
  const auto* e = cache.find("z2m/kitchen");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->state, json({{"state", "ON"}, {"brightness", 80}}));
  EXPECT_FALSE(e->retained);
  EXPECT_EQ(e->received_at, t0 + std::chrono::seconds(3));
  EXPECT_EQ(cache.size(), 1u);
}

TEST(StateCacheTest, TextPayloadsAreKeptAsJsonStrings) {
  state_cache cache({"stat/lamp/POWER"});
  cache.offer(msg("stat/lamp/POWER", "ON"), t0);
  ASSERT_NE(cache.find("stat/lamp/POWER"), nullptr);
  EXPECT_EQ(cache.find("stat/lamp/POWER")->state, json("ON"));
}

TEST(StateCacheTest, UnwantedTopicsAreNotKept) {
  state_cache cache({"z2m/kitchen", "z2m/+/state"});
  EXPECT_EQ(cache.offer(msg("z2m/hall", "{}"), t0), nullptr);
  EXPECT_EQ(cache.offer(msg("z2m/kitchen/set", "{}"), t0), nullptr);
  EXPECT_EQ(cache.offer(msg("z2m/a/b/state", "{}"), t0), nullptr);
  EXPECT_EQ(cache.offer(msg("z2m/kitchenette", "{}"), t0), nullptr);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.find("z2m/hall"), nullptr);
}

TEST(StateCacheTest, RetainedCopiesCountAndAreMarked) {
  state_cache cache({"z2m/kitchen"});
  cache.offer(msg("z2m/kitchen", R"({"state":"ON"})", true), t0);
  const auto* e = cache.find("z2m/kitchen");
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->retained);
  EXPECT_EQ(e->received_at, t0);  // unset received_at: the time given
}

TEST(StateCacheTest, ALiveReportReplacesARetainedCopy) {
  state_cache cache({"z2m/kitchen"});
  cache.offer(msg("z2m/kitchen", R"({"state":"ON"})", true, t0), t0);
  cache.offer(msg("z2m/kitchen", R"({"state":"ON"})", false, t0 + std::chrono::seconds(1)), t0);
  EXPECT_FALSE(cache.find("z2m/kitchen")->retained);
  EXPECT_EQ(cache.find("z2m/kitchen")->received_at, t0 + std::chrono::seconds(1));
}

// After a reconnect the broker sends its retained copy again: the same state must keep the time of
// the report livebridge saw, or a state an hour old would look fresh.
TEST(StateCacheTest, ARetainedCopyOfTheSameStateKeepsTheEarlierReport) {
  state_cache cache({"z2m/kitchen"});
  cache.offer(msg("z2m/kitchen", R"({"state":"ON"})", false, t0), t0);
  cache.offer(msg("z2m/kitchen", R"({"state":"ON"})", true, t0 + std::chrono::hours(1)), t0);
  EXPECT_FALSE(cache.find("z2m/kitchen")->retained);
  EXPECT_EQ(cache.find("z2m/kitchen")->received_at, t0);

  cache.offer(msg("z2m/kitchen", R"({"state":"OFF"})", true, t0 + std::chrono::hours(2)), t0);
  EXPECT_TRUE(cache.find("z2m/kitchen")->retained);
  EXPECT_EQ(cache.find("z2m/kitchen")->state, json({{"state", "OFF"}}));
  EXPECT_EQ(cache.find("z2m/kitchen")->received_at, t0 + std::chrono::hours(2));
}

TEST(StateCacheTest, PlusMatchesExactlyOneLevel) {
  state_cache cache({"z2m/+", "shellies/+/relay/+"});
  EXPECT_TRUE(cache.wanted("z2m/kitchen"));
  EXPECT_TRUE(cache.wanted("shellies/plug1/relay/0"));
  EXPECT_FALSE(cache.wanted("z2m"));
  EXPECT_FALSE(cache.wanted("z2m/kitchen/set"));
  EXPECT_FALSE(cache.wanted("shellies/plug1/relay"));
  EXPECT_FALSE(cache.wanted("shellies/plug1/light/0"));
  EXPECT_FALSE(cache.wanted("other/kitchen"));
  EXPECT_TRUE(cache.wanted("z2m/"));  // an empty level is a level
  cache.offer(msg("z2m/kitchen", "{}"), t0);
  cache.offer(msg("z2m/hall", "{}"), t0);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_NE(cache.find("z2m/hall"), nullptr);
}

TEST(StateCacheTest, AWildcardFirstLevelDoesNotMatchDollarTopics) {
  state_cache cache({"+/status", "#"});
  EXPECT_FALSE(cache.wanted("$SYS/status"));
  EXPECT_FALSE(cache.wanted("$SYS/broker/uptime"));
  EXPECT_TRUE(cache.wanted("lamp/status"));
  EXPECT_TRUE(cache.wanted("anything/at/all"));
}

TEST(StateCacheTest, ATrailingHashMatchesTheParentAndBelow) {
  state_cache cache({"home/#"});
  EXPECT_TRUE(cache.wanted("home"));
  EXPECT_TRUE(cache.wanted("home/a"));
  EXPECT_TRUE(cache.wanted("home/a/b"));
  EXPECT_FALSE(cache.wanted("house/a"));
}

TEST(StateCacheTest, BeyondTheBoundTheLeastRecentlyUpdatedTopicIsForgotten) {
  state_cache cache({"z2m/+"}, 3);
  cache.offer(msg("z2m/a", "1"), t0);
  cache.offer(msg("z2m/b", "1"), t0);
  cache.offer(msg("z2m/c", "1"), t0);
  cache.offer(msg("z2m/a", "2"), t0);  // a is now the most recently updated
  cache.offer(msg("z2m/d", "1"), t0);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.find("z2m/b"), nullptr);
  ASSERT_NE(cache.find("z2m/a"), nullptr);
  EXPECT_EQ(cache.find("z2m/a")->state, json(2));
  EXPECT_NE(cache.find("z2m/c"), nullptr);
  EXPECT_NE(cache.find("z2m/d"), nullptr);
}

TEST(StateCacheTest, TheDefaultBoundHoldsUnderAFlood) {
  state_cache cache({"z2m/+"});
  ASSERT_EQ(cache.capacity(), 4096u);
  for (int i = 0; i < 10000; ++i) cache.offer(msg("z2m/dev" + std::to_string(i), "{}"), t0);
  EXPECT_EQ(cache.size(), 4096u);
  EXPECT_EQ(cache.find("z2m/dev0"), nullptr);
  EXPECT_EQ(cache.find("z2m/dev5903"), nullptr);
  EXPECT_NE(cache.find("z2m/dev5904"), nullptr);
  EXPECT_NE(cache.find("z2m/dev9999"), nullptr);
}

TEST(StateCacheTest, AdoptTakesOnlyWhatTheNewFiltersWantWithTheirTimes) {
  state_cache old_cache({"z2m/+", "stat/lamp/POWER"});
  old_cache.offer(msg("z2m/kitchen", R"({"state":"ON"})", false, t0), t0);
  old_cache.offer(msg("stat/lamp/POWER", "OFF", true, t0), t0);
  state_cache next({"z2m/kitchen"});
  next.adopt(old_cache);
  EXPECT_EQ(next.size(), 1u);
  ASSERT_NE(next.find("z2m/kitchen"), nullptr);
  EXPECT_EQ(next.find("z2m/kitchen")->received_at, t0);
  EXPECT_EQ(next.find("stat/lamp/POWER"), nullptr);
}

}  // namespace
}  // namespace lb::tools
