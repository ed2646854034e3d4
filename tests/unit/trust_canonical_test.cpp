#include "trust/canonical.hpp"

#include <gtest/gtest.h>

#include "common/sha256.hpp"

namespace lb::trust {
namespace {

using nlohmann::json;

TEST(CanonicalJson, TheSameArgumentsWrittenDifferentlyGiveOneSpelling) {
  struct row {
    json a, b;
    std::string expected;
  };
  const std::vector<row> table{
      {json::parse(R"({"b":1,"a":2})"), json::parse(R"({ "a" : 2, "b" : 1 })"), R"({"a":2,"b":1})"},
      {json(128.0), json(128), "128"},
      {json(128u), json(128), "128"},
      {json(-0.0), json(0), "0"},
      {json(-5.0), json(-5), "-5"},
      {json::parse("1e2"), json(100), "100"},
      {json::parse(R"({"level":128.0})"), json::parse(R"({"level":128})"), R"({"level":128})"},
      {json::parse(R"({"z":{"y":[1.0,{"b":true,"a":null}],"x":"é"}})"),
       json::parse(R"({"z":{"x":"é","y":[1,{"a":null,"b":true}]}})"),
       R"({"z":{"x":"é","y":[1,{"a":null,"b":true}]}})"},
  };
  for (const auto& r : table) {
    EXPECT_EQ(canonical_json(r.a), r.expected) << r.a.dump();
    EXPECT_EQ(canonical_json(r.b), r.expected) << r.b.dump();
  }
}

TEST(CanonicalJson, NumbersThatDifferStayDifferent) {
  EXPECT_EQ(canonical_json(json(0.5)), "0.5");
  EXPECT_EQ(canonical_json(json(0.1)), "0.1");
  EXPECT_EQ(canonical_json(json(-1.25)), "-1.25");
  EXPECT_EQ(canonical_json(json(1e300)), "1e+300");  // integral, but past the 64-bit range
  EXPECT_EQ(canonical_json(json(std::numeric_limits<std::uint64_t>::max())), "18446744073709551615");
  EXPECT_EQ(canonical_json(json(std::numeric_limits<std::int64_t>::min())), "-9223372036854775808");
  EXPECT_EQ(canonical_json(json(-9223372036854775808.0)), "-9223372036854775808");
  EXPECT_NE(canonical_json(json(128.5)), canonical_json(json(128)));
}

TEST(CanonicalJson, ArraysKeepTheirOrderAndKeysSortBytewise) {
  EXPECT_EQ(canonical_json(json::parse("[3,1,2]")), "[3,1,2]");
  EXPECT_EQ(canonical_json(json::parse(R"({"b":0,"B":0,"é":0,"a":0})")), "{\"B\":0,\"a\":0,\"b\":0,\"é\":0}");
  EXPECT_EQ(canonical_json(json::parse("[]")), "[]");
  EXPECT_EQ(canonical_json(json::parse("{}")), "{}");
  EXPECT_EQ(canonical_json(json::parse(R"([[],{},[{}]])")), "[[],{},[{}]]");
}

TEST(CanonicalJson, StringsAreEscapedAndInvalidUtf8DoesNotThrow) {
  EXPECT_EQ(canonical_json(json("a\"b\\c\n")), R"("a\"b\\c\n")");
  EXPECT_EQ(canonical_json(json("\x01")), R"("\u0001")");
  std::string out;
  EXPECT_NO_THROW(out = canonical_json(json{{"bad\xff", "\xc3"}}));
  EXPECT_EQ(out, "{\"bad\xef\xbf\xbd\":\"\xef\xbf\xbd\"}");
}

TEST(CanonicalJson, DeepNestingDoesNotExhaustTheStack) {
  std::string text;
  const int depth = 100000;
  for (int i = 0; i < depth; ++i) text += '[';
  for (int i = 0; i < depth; ++i) text += ']';
  const auto deep = json::parse(text, nullptr, false);
  ASSERT_FALSE(deep.is_discarded());
  EXPECT_EQ(canonical_json(deep), text);
}

TEST(ActionDigest, BindsTheToolAndWhatItsArgumentsMean) {
  const auto open = action_digest("open_door", json::parse(R"({"door":"front","speed":1})"));
  std::string hashed = "open_door";
  hashed += '\0';
  hashed += R"({"door":"front","speed":1})";
  EXPECT_EQ(open, sha256_hex(hashed));
  EXPECT_EQ(open.size(), 64u);
  EXPECT_EQ(open, action_digest("open_door", json::parse(R"({"speed":1.0,"door":"front"})")));
  EXPECT_NE(open, action_digest("open_door", json::parse(R"({"door":"back","speed":1})")));
  EXPECT_NE(open, action_digest("close_door", json::parse(R"({"door":"front","speed":1})")));
  EXPECT_NE(open, action_digest("open_door", json::parse(R"({"door":"front"})")));
  // The separator keeps a tool name from borrowing the start of the arguments.
  EXPECT_NE(action_digest("x1", json(2)), action_digest("x", json(12)));
}

TEST(ActionDigest, NullArgumentsAreTheSameAsNone) {
  EXPECT_EQ(action_digest("lights_on", json()), action_digest("lights_on", json::object()));
  EXPECT_NE(action_digest("lights_on", json()), action_digest("lights_on", json::array()));
}

}  // namespace
}  // namespace lb::trust
