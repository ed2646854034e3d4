#include <gtest/gtest.h>

#include "common/backoff.hpp"
#include "common/duration.hpp"
#include "common/utf8.hpp"

namespace lb {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesTheConfigForms) {
  EXPECT_EQ(parse_duration("5s"), millis(5000));
  EXPECT_EQ(parse_duration("250ms"), millis(250));
  EXPECT_EQ(parse_duration("1.5s"), millis(1500));
  EXPECT_EQ(parse_duration("2m"), millis(120000));
  EXPECT_EQ(parse_duration("1h"), millis(3600000));
  EXPECT_EQ(parse_duration("12"), millis(12000));
  for (const char* bad : {"", "fast", "-1s", "5 parsecs", "1e999s", "s"})
    EXPECT_EQ(parse_duration(bad), std::nullopt) << bad;
}

TEST(Duration, FormatsForHumans) {
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(1500ms), "1.5s");
  EXPECT_EQ(format_duration(5s), "5s");
  EXPECT_EQ(format_duration(5min), "5m");
  EXPECT_EQ(format_duration(2h), "2h");
}

TEST(Utf8, Validates) {
  EXPECT_TRUE(is_valid_utf8("Turn on the lights – bitte, Licht an 💡"));
  EXPECT_FALSE(is_valid_utf8("\xff"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
}

TEST(Backoff, GrowsWithJitterUpToTheCapAndResets) {
  backoff b(1s, 30s, 5min, 42);
  for (int i = 0; i < 12; ++i) {
    const auto d = b.next(false);
    EXPECT_GE(d, 1s);
    EXPECT_LE(d, std::min<std::chrono::milliseconds>(30s, std::chrono::seconds(1LL << i)));
  }
  EXPECT_EQ(b.next(true), 5min);  // configuration errors wait long
  b.reset();
  EXPECT_EQ(b.attempts(), 0);
  EXPECT_LE(b.next(false), 1s);
}

}  // namespace
}  // namespace lb
