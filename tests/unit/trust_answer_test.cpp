#include "trust/answer.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace lb::trust {
namespace {

TEST(PersonAnswer, PlainWordsAndJson) {
  struct row {
    std::string payload;
    bool yes;
    std::string by;
  };
  std::vector<row> table{
      {"yes", true, ""},
      {"YES", true, ""},
      {" Yes\r\n", true, ""},
      {"approve", true, ""},
      {"true", true, ""},
      {"1", true, ""},
      {"no", false, ""},
      {"Deny", false, ""},
      {"\tfalse ", false, ""},
      {"0", false, ""},
      {R"({"answer": "yes"})", true, ""},
      {R"({"answer": "No", "by": "anna"})", false, "anna"},
      {R"j({"answer": true, "by": "Jos\u00e9 (kitchen panel)"})j", true, "Jos\xc3\xa9 (kitchen panel)"},
      {R"({"answer": false})", false, ""},
      {R"( {"by": null, "answer": "approve"} )", true, ""},
  };
  std::string accented;  // 64 characters in 128 bytes: the cap counts characters
  for (int i = 0; i < 64; ++i) accented += "\xc3\xa9";
  for (const std::string& by : {std::string(64, 'x'), accented})
    table.push_back(row{nlohmann::json{{"answer", "yes"}, {"by", by}}.dump(), true, by});
  for (const auto& r : table) {
    const auto parsed = parse_person_answer(r.payload);
    const auto* answer = std::get_if<person_answer>(&parsed);
    ASSERT_NE(answer, nullptr) << r.payload << ": " << std::get<std::string>(parsed);
    EXPECT_EQ(answer->yes, r.yes) << r.payload;
    EXPECT_EQ(answer->by, r.by) << r.payload;
  }
}

TEST(PersonAnswer, AnythingElseIsRefusedWithAReason) {
  // Built up rather than listed: GCC 12's -Warray-bounds misfires on strings made in the list.
  std::vector<std::string> table;
  for (const char* literal :
       {"", "   ", "yes please", "y", "ok", "2", "\"yes\"", "[\"yes\"]", "{", R"({"answer": "maybe"})",
        R"({"answer": 1})", R"({"answer": null})", R"({"by": "anna"})", R"({"answer": "yes", "by": 7})",
        R"({"answer": "yes", "by": "anna\nroot"})", R"({"answer": "yes", "by": "\u0085"})",
        R"({"answer": "yes", "id": "abc"})", R"({"anwser": "yes"})",
        "{\"answer\": \"yes\", \"by\": \"\xff\"}"})
    table.emplace_back(literal);
  table.push_back(nlohmann::json{{"answer", "yes"}, {"by", std::string(65, 'x')}}.dump());
  table.push_back(std::string("yes\0", 4));
  table.push_back(std::string(1025, ' ').append("yes"));
  for (const auto& payload : table) {
    const auto parsed = parse_person_answer(payload);
    const auto* reason = std::get_if<std::string>(&parsed);
    ASSERT_NE(reason, nullptr) << payload;
    EXPECT_FALSE(reason->empty()) << payload;
  }
}

TEST(PersonAnswer, ReasonsNameTheProblem) {
  const auto reason = [](std::string_view payload) {
    const auto parsed = parse_person_answer(payload);
    return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed)
                                                       : std::string("(accepted)");
  };
  EXPECT_NE(reason(R"({"anwser": "yes"})").find("\"anwser\""), std::string::npos);
  EXPECT_NE(reason(std::string(2000, 'y')).find("1024 bytes"), std::string::npos);
  EXPECT_NE(reason(R"({"answer": "yes", "by": 7})").find("\"by\""), std::string::npos);
  EXPECT_EQ(reason("maybe later").find("maybe"), std::string::npos);  // the payload is never quoted
}

TEST(PersonAnswer, ExactlyTheSizeCapIsRead) {
  std::string payload = "yes";
  payload += std::string(max_answer_bytes - payload.size(), ' ');
  EXPECT_TRUE(std::holds_alternative<person_answer>(parse_person_answer(payload)));
  payload += ' ';
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_person_answer(payload)));
}

}  // namespace
}  // namespace lb::trust
