#include <gtest/gtest.h>

#include "app/turn_record.hpp"

namespace lb::app {
namespace {

const prompt* as_prompt(const std::variant<prompt, prompt_refusal>& v) {
  return std::get_if<prompt>(&v);
}
std::string refusal(const std::variant<prompt, prompt_refusal>& v) {
  const auto* r = std::get_if<prompt_refusal>(&v);
  return r ? r->reason : std::string();
}

TEST(TurnRecord, PromptsArePlainTextOrJsonWithAStringText) {
  ASSERT_TRUE(as_prompt(parse_prompt("Turn on the lights", 100)));
  EXPECT_EQ(as_prompt(parse_prompt("Turn on the lights", 100))->text, "Turn on the lights");
  const auto json_prompt = parse_prompt(R"({"id": "k-1", "text": "Hi"})", 100);
  ASSERT_TRUE(as_prompt(json_prompt));
  EXPECT_EQ(as_prompt(json_prompt)->id, "k-1");
  EXPECT_EQ(as_prompt(parse_prompt(R"({"id": 7, "text": "Hi"})", 100))->id, 7);
  EXPECT_TRUE(as_prompt(parse_prompt(R"({"id": [1], "text": "Hi"})", 100))->id.is_null());

  EXPECT_NE(refusal(parse_prompt(R"({"id": "x", "text": null})", 100)).find("string member"),
            std::string::npos);
  const auto no_text = parse_prompt(R"({"id": "x"})", 100);
  ASSERT_TRUE(std::holds_alternative<prompt_refusal>(no_text));
  EXPECT_EQ(std::get<prompt_refusal>(no_text).id, "x");  // the refusal goes back under its id
  EXPECT_EQ(refusal(parse_prompt("\xff\xfe", 100)), "the prompt is not valid UTF-8");
  EXPECT_EQ(refusal(parse_prompt(" \n\t", 100)), "the prompt is empty");
  EXPECT_NE(refusal(parse_prompt(std::string(101, 'a'), 100)).find("mqtt.max_prompt_bytes"),
            std::string::npos);
}

TEST(TurnRecord, VoiceEndIdsAreStringsOrNumbers) {
  EXPECT_EQ(parse_voice_end_id(R"({"id": "mic-1"})"), "mic-1");
  EXPECT_TRUE(parse_voice_end_id(R"({"id": {"a": 1}})").is_null());
  EXPECT_TRUE(parse_voice_end_id("end").is_null());
  EXPECT_TRUE(parse_voice_end_id("").is_null());
}

live::server_content grounded(nlohmann::json chunks) {
  live::server_content c;
  c.text = "Found it.";
  c.grounding =
      nlohmann::json{{"webSearchQueries", {"q", 5, nullptr}}, {"groundingChunks", std::move(chunks)}};
  return c;
}

TEST(TurnRecord, MalformedGroundingSourcesAreSkippedNotFatal) {
  turn_record t;
  const auto bad = nlohmann::json::array({
      {{"web", {{"uri", nullptr}, {"title", nullptr}}}},
      {{"web", {{"uri", 7}, {"title", "seven"}}}},
      {{"web", "not an object"}},
      {{"web", {{"title", "no address"}}}},
      "not a chunk",
      {{"web", {{"uri", "https://example.org/a"}, {"title", nullptr}}}},
      {{"web", {{"uri", "https://example.org/a"}, {"title", nullptr}}}},
  });
  collect_content(t, grounded(bad), content_rules{});
  EXPECT_EQ(t.sources, nlohmann::json::parse(R"([{"title":"","uri":"https://example.org/a"}])"));
  EXPECT_EQ(t.search_queries, nlohmann::json::array({"q"}));
  live::server_content odd;
  odd.grounding = nlohmann::json::array({1, 2});  // not even an object
  collect_content(t, odd, content_rules{});
  EXPECT_EQ(t.text, "Found it.");
}

TEST(TurnRecord, SpeechPastTheLimitIsCutAndMarked) {
  turn_record t;
  live::server_content c;
  c.audio_rate = 1000;
  c.audio_pcm = std::string(1500, 'x');  // 0.75 s at 1 kHz, 16-bit
  const content_rules rules{true, std::chrono::milliseconds(1000)};
  EXPECT_FALSE(collect_content(t, c, rules));
  EXPECT_TRUE(collect_content(t, c, rules));
  EXPECT_EQ(t.audio_pcm.size(), 2000u);
  EXPECT_TRUE(t.audio_truncated);
  EXPECT_FALSE(collect_content(t, c, rules));
  EXPECT_EQ(t.audio_pcm.size(), 2000u);
}

TEST(TurnRecord, AnInterruptionDropsWhatFollowsInTheTurn) {
  turn_record t;
  live::server_content c;
  c.text = "one ";
  collect_content(t, c, content_rules{});
  c.interrupted = true;
  c.text = "two";
  collect_content(t, c, content_rules{});
  EXPECT_EQ(t.text, "one ");
  EXPECT_TRUE(reply_json(t, std::nullopt, nullptr)["interrupted"]);
}

TEST(TurnRecord, TheReplyListsEveryCallWithItsFirstOutcome) {
  turn_record t;
  t.source = prompt{"p-1", "do it"};
  t.calls.push_back({"c1", "set_light", {{"room", "kitchen"}}, true, std::nullopt, nullptr});
  t.calls.push_back({"c2", "open_garage", nullptr, false, std::nullopt, nullptr});
  t.calls.push_back({"c3", "set_light", {{"room", "cellar"}}, true, std::nullopt, nullptr});
  EXPECT_NE(t.record_outcome("c1", true, {{"output", "ok"}}), nullptr);
  EXPECT_EQ(t.record_outcome("c1", false, {{"error", "again"}}), nullptr);
  EXPECT_EQ(t.record_outcome("unknown", true, nullptr), nullptr);

  const auto reply = reply_json(t, std::nullopt, nullptr);
  EXPECT_EQ(reply["id"], "p-1");
  ASSERT_EQ(reply["tool_calls"].size(), 3u);
  EXPECT_EQ(reply["tool_calls"][0]["ok"], true);
  EXPECT_EQ(reply["tool_calls"][0]["response"], nlohmann::json({{"output", "ok"}}));
  EXPECT_TRUE(reply["tool_calls"][1]["ok"].is_null());  // NON_BLOCKING, still running
  EXPECT_EQ(reply["tool_calls"][1]["pending"], true);
  EXPECT_EQ(reply["tool_calls"][1]["args"], nlohmann::json::object());
  EXPECT_EQ(reply["tool_calls"][2]["ok"], false);
  EXPECT_FALSE(reply.contains("error"));

  const auto failed = reply_json(t, std::string("the Live session was lost"), nullptr);
  EXPECT_EQ(failed["error"], "the Live session was lost");
  EXPECT_EQ(failed["tool_calls"][1]["ok"], false);  // a turn that failed leaves nothing pending
  EXPECT_FALSE(failed["tool_calls"][1].contains("pending"));
}

TEST(TurnRecord, EventsSayWhoOpenedTheTurn) {
  turn_record t;
  t.source = prompt{"mic", ""};
  t.by = turn_fsm::opener::voice;
  EXPECT_EQ(turn_started_event(t)["source"], "voice");
  EXPECT_EQ(reply_json(t, std::nullopt, nullptr)["source"], "voice");
  const auto finished = turn_finished_event(t, std::string("x"));
  EXPECT_EQ(finished["ok"], false);
  EXPECT_EQ(finished["error"], "x");
}

}  // namespace
}  // namespace lb::app
