// Redaction of secrets in log lines.
#include <gtest/gtest.h>

#include "common/log.hpp"

namespace lb::log {
namespace {

// The line as written to stderr, without its "<N>" prefix and newline.
std::string logged(std::string_view fields) {
  testing::internal::CaptureStderr();
  write(level::error, "test.event", fields);
  std::string out = testing::internal::GetCapturedStderr();
  if (!out.empty() && out.back() == '\n') out.pop_back();
  const auto space = out.find(' ');
  return space == std::string::npos ? std::string() : out.substr(space + 1);
}

// Every test registers secrets of its own: the list is global and never shrinks.
TEST(LogRedaction, ALongSecretIsRedactedWhereverItAppears) {
  add_secret("s3cr3t-api-key-0123456789");
  EXPECT_EQ(logged("key=s3cr3t-api-key-0123456789 url=x?k=s3cr3t-api-key-0123456789&y=1"),
            "key=*** url=x?k=***&y=1");
  EXPECT_EQ(logged("glued=abcs3cr3t-api-key-0123456789def"), "glued=abc***def");
}

// A secret of a few characters is everywhere in ordinary text; redacting it inside words would
// garble every line, so it is redacted only where it stands as a word of its own.
TEST(LogRedaction, AShortSecretIsRedactedOnlyAsAWholeWord) {
  add_secret("on");
  EXPECT_EQ(logged("text=\"Turn on the lights\" password=on"), "text=\"Turn *** the lights\" password=***");
  EXPECT_EQ(logged("event=connection phase=online"), "event=connection phase=online");
  add_secret("x7");
  EXPECT_EQ(logged("a=x7 b=(x7) c=ax7 d=x7b e=x7"), "a=*** b=(***) c=ax7 d=x7b e=***");
}

// The edges of a secret that begin or end with punctuation are edges by themselves.
TEST(LogRedaction, AShortSecretWithPunctuationAtItsEdge) {
  add_secret("#q!");
  EXPECT_EQ(logged("a=k#q! b=#q!z c=#q"), "a=k*** b=***z c=#q");
}

// The journal reads a line's priority from its "<N>" prefix: a one-digit secret (an MQTT
// password "3") is redacted in the line, never in the prefix.
TEST(LogRedaction, TheJournalPriorityPrefixIsNeverRedacted) {
  add_secret("3");
  testing::internal::CaptureStderr();
  write(level::error, "test.event", "password=3");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "<3>test.event password=***\n");
}

TEST(LogRedaction, EmptySecretsAreIgnored) {
  add_secret("");
  EXPECT_EQ(logged("plain line"), "plain line");
}

}  // namespace
}  // namespace lb::log
