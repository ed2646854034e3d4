#include "trust/pin.hpp"

#include <gtest/gtest.h>

namespace lb::trust {
namespace {

using verdict = pin_verifier::verdict;

std::vector<std::string> digits_of(std::string_view words) {
  std::vector<std::string> out;
  for (const auto& r : digit_runs(words)) out.push_back(r.digits);
  return out;
}

pin_verifier verifier(std::string_view secret) {
  auto made = pin_verifier::from_secret(secret);
  if (auto* reason = std::get_if<std::string>(&made)) ADD_FAILURE() << *reason;
  return std::get<pin_verifier>(std::move(made));
}

TEST(DigitRuns, WhatAPersonTypedOrSaid) {
  struct row {
    std::string words;
    std::vector<std::string> runs;
  };
  const std::vector<row> table{
      {"one two three four", {"1234"}},
      {"One, two, three, four.", {"1234"}},
      {"ONE TWO THREE FOUR", {"1234"}},
      {"1234", {"1234"}},
      {"12 34", {"1234"}},
      {"1-2-3-4", {"1234"}},
      {"1, 2, 3, 4.", {"1234"}},
      {"1.2.3.4", {"1234"}},
      {"one 2 three 4", {"1234"}},
      {"zero nine eight seven", {"0987"}},
      {"five oh five oh", {"505"}},  // a last "oh" stands after the digits, not between them
      {"one o seven", {"107"}},
      {"one oh oh seven", {"1007"}},
      {"Oh, one two three four", {"1234"}},  // an interjection, not a zero
      {"at four o'clock", {"4"}},
      {"four o clock", {"4"}},
      {"double five one two", {"5512"}},
      {"triple seven 1", {"7771"}},
      {"double 5 double 6", {"5566"}},
      {"double 12", {"112"}},
      {"double oh seven", {"007"}},
      {"double check: 4321", {"4321"}},
      {"double", {}},
      {"open the door, the code is 1234!", {"1234"}},
      {"PIN: 4 3 2 1", {"4321"}},
      {"'1234'", {"1234"}},
      {"1234\n5678", {"1234", "5678"}},
      {"12:34", {"12", "34"}},
      {"1234 and 5678", {"1234", "5678"}},
      {"twenty-one", {"1"}},
  };
  for (const auto& r : table) EXPECT_EQ(digits_of(r.words), r.runs) << r.words;
}

TEST(DigitRuns, OnlyWholeWordsAreDigits) {
  for (std::string_view words : {"someone", "phone", "tone",    "nineteen", "seventy", "oneself", "often",
                                 "oh",      "o",     "zone",    "fourth",   "one's",   "Oh!",     "4pm",
                                 "3rd",     "a1b2",  "1234abc", "abc1234",  "naïve",   "twos"}) {
    for (const auto& r : digit_runs(words)) EXPECT_LT(r.digits.size(), 2u) << words << " gave " << r.digits;
  }
  EXPECT_TRUE(digit_runs("someone phoned at nineteen hundred").empty());
  EXPECT_TRUE(digit_runs("4pm").empty());
  EXPECT_EQ(digits_of("call at 4pm, 1234"), std::vector<std::string>{"1234"});
  EXPECT_EQ(digits_of("12 34pm 56"), (std::vector<std::string>{"12", "56"}));
}

TEST(DigitRuns, OffsetsCoverExactlyTheDigits) {
  const std::string words = "Oh, code one, two, three, four. Thanks";
  const auto runs = digit_runs(words);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(words.substr(runs[0].begin, runs[0].end - runs[0].begin), "one, two, three, four");
  const std::string typed = "double 5 and";
  const auto doubled = digit_runs(typed);
  ASSERT_EQ(doubled.size(), 1u);
  EXPECT_EQ(typed.substr(doubled[0].begin, doubled[0].end - doubled[0].begin), "double 5");
}

TEST(PinVerifier, FindsThePinSpokenOrTyped) {
  const auto pin = verifier("1234");
  EXPECT_EQ(pin.length(), 4u);
  struct row {
    std::string words;
    verdict expected;
  };
  const std::vector<row> table{
      {"1234", verdict::correct},
      {"One, two, three, four.", verdict::correct},
      {"one 2 three 4", verdict::correct},
      {"open the garage, PIN 1-2-3-4", verdict::correct},
      {"wrong 9999 then 1234", verdict::correct},
      {"1243", verdict::wrong},
      {"one two three five", verdict::wrong},
      {"12345", verdict::wrong},           // a PIN attempt, of another length
      {"1234567890123", verdict::absent},  // 13 digits: no PIN of any allowed length
      {"123", verdict::absent},
      {"open the garage", verdict::absent},
      {"", verdict::absent},
      {"someone on the phone at nineteen", verdict::absent},
      {"at 4pm", verdict::absent},
  };
  for (const auto& r : table) EXPECT_EQ(pin.check(r.words), r.expected) << r.words;
}

TEST(PinVerifier, LeadingZerosAndLongPinsMatter) {
  const auto pin = verifier("0070");
  EXPECT_EQ(pin.check("zero zero seven zero"), verdict::correct);
  EXPECT_EQ(pin.check("double oh seven zero"), verdict::correct);
  EXPECT_EQ(pin.check("70"), verdict::absent);
  const auto twelve = verifier("123456789012");
  EXPECT_EQ(twelve.check("1234 5678 9012"), verdict::correct);
  EXPECT_EQ(twelve.check("1234 5678 9013"), verdict::wrong);
}

TEST(PinVerifier, RedactKeepsEverythingButThePinByteForByte) {
  const auto pin = verifier("1234");
  struct row {
    std::string words, redacted;
  };
  const std::vector<row> table{
      {"Open the garage, PIN one, two, three, four. Thanks!", "Open the garage, PIN [PIN]. Thanks!"},
      {"1234", "[PIN]"},
      {"1243 is not it, 1234 is", "1243 is not it, [PIN] is"},
      {"1234\n1234", "[PIN]\n[PIN]"},
      {"  one 2 three 4  ", "  [PIN]  "},
      {"no pin here, caf\xc3\xa9 at 4pm", "no pin here, caf\xc3\xa9 at 4pm"},
      {"bad utf-8 \xff 1234 \xfe", "bad utf-8 \xff [PIN] \xfe"},
      {"", ""},
      // Joined to other digits, the PIN still never shows: the whole run goes.
      {"unlock, pin: 1234, 10 minutes", "unlock, pin: [PIN] minutes"},
      {"call 5551234", "call [PIN]"},
      {"9876 5", "9876 5"},
  };
  for (const auto& r : table) EXPECT_EQ(pin.redact(r.words), r.redacted) << r.words;
}

TEST(PinVerifier, ManyNumbersCostABoundedNumberOfHashesAndNeverLeakThePin) {
  const auto pin = verifier("1234");
  std::string words;
  for (int i = 0; i < 40; ++i) words += "9999; ";
  words += "1234";
  // The PIN is the 41st run of its length: past the checked ones, so not found ...
  EXPECT_EQ(pin.check(words), verdict::wrong);
  // ... but never shown either.
  EXPECT_EQ(pin.redact(words).find("1234"), std::string::npos);
  EXPECT_NE(pin.redact(words).find("[PIN]"), std::string::npos);
}

TEST(PinVerifier, AStoredHashRoundTrips) {
  const std::string stored = pin_verifier::hash_for_storage("0451");
  EXPECT_EQ(stored.find("0451"), std::string::npos);
  ASSERT_EQ(stored.rfind("pbkdf2-sha256$", 0), 0u) << stored;
  EXPECT_EQ(stored.substr(stored.size() - 2), "$4");
  EXPECT_NE(stored, pin_verifier::hash_for_storage("0451"));  // a fresh salt each time
  const auto pin = verifier(stored);
  EXPECT_EQ(pin.length(), 4u);
  EXPECT_EQ(pin.check("zero four five one"), verdict::correct);
  EXPECT_EQ(pin.check("0452"), verdict::wrong);
  EXPECT_EQ(pin_verifier::hash_for_storage("12"), "");
  EXPECT_EQ(pin_verifier::hash_for_storage("12a4"), "");
}

TEST(PinVerifier, BadSecretsAreRefusedWithoutEchoingThem) {
  const std::string good = pin_verifier::hash_for_storage("987654");
  ASSERT_FALSE(good.empty());
  const auto field = [&](int n) {  // good with field n (0-based, by '$') replaced
    return [=](const std::string& with) {
      std::vector<std::string> parts;
      std::size_t start = 0, dollar;
      while ((dollar = good.find('$', start)) != std::string::npos) {
        parts.push_back(good.substr(start, dollar - start));
        start = dollar + 1;
      }
      parts.push_back(good.substr(start));
      parts[n] = with;
      std::string out;
      for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? "$" : "") + parts[i];
      return out;
    };
  };
  const std::vector<std::string> bad{
      "",
      "123",
      "1234567890123",
      "12 34",
      "１２３４",  // full-width digits
      "1234\n",
      "hunter2secret",
      "pbkdf2-sha256$$$$",
      "pbkdf2-sha1$32000$00$00$4",
      good + "$extra",
      field(1)("999"),          // too few iterations
      field(1)("99999999999"),  // too many
      field(1)("-32000"),
      field(2)("abcd"),  // short salt
      field(2)(std::string(32, 'g')),
      field(3)(std::string(63, 'a')),
      field(4)("3"),
      field(4)("13"),
      field(4)("four"),
  };
  for (const auto& secret : bad) {
    const auto made = pin_verifier::from_secret(secret);
    const auto* reason = std::get_if<std::string>(&made);
    ASSERT_NE(reason, nullptr) << secret;
    EXPECT_FALSE(reason->empty());
    if (secret.size() >= 3) {
      EXPECT_EQ(reason->find(secret), std::string::npos) << *reason;
    }
    EXPECT_EQ(reason->find("hunter2"), std::string::npos);
  }
}

}  // namespace
}  // namespace lb::trust
