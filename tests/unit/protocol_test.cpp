#include <gtest/gtest.h>

#include "config/loader.hpp"
#include "live/protocol.hpp"

namespace lb::live {
namespace {

server_message parse_ok(std::string_view frame) {
  auto r = parse_server_message(frame);
  EXPECT_TRUE(std::holds_alternative<server_message>(r))
      << (std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "");
  return std::holds_alternative<server_message>(r) ? std::get<server_message>(r) : server_message{};
}

TEST(Protocol, PrettyPrintedSetupComplete) {
  EXPECT_TRUE(parse_ok("{\n  \"setupComplete\": {}\n}\n").setup_complete);
}

TEST(Protocol, ToolCallAsTheReferenceShowsIt) {
  const auto m = parse_ok(R"({
  "toolCall": {
    "functionCalls": [
      {
        "id": "function-call-5831923424298605773",
        "name": "get_current_weather",
        "args": {
          "location": "Redmond, WA"
        }
      },
      {"id": "function-call-2", "name": "turn_on_the_lights"}
    ]
  }
})");
  ASSERT_EQ(m.function_calls.size(), 2u);
  EXPECT_EQ(m.function_calls[0].id, "function-call-5831923424298605773");
  EXPECT_EQ(m.function_calls[0].args["location"], "Redmond, WA");
  EXPECT_EQ(m.function_calls[1].args, json::object());  // args absent for a no-argument function
}

TEST(Protocol, CoOccurringServerContentFields) {
  // Gemini 3.x bundles audio, transcript and turnComplete in one event; usage rides along.
  const auto m = parse_ok(R"({"serverContent": {"interrupted": false,
      "modelTurn": {"parts": [{"text": "thinking…", "thought": true}, {"text": "Lights are on."},
                              {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AAAAAA=="}}]},
      "outputTranscription": {"text": "Lights are on."}, "generationComplete": true, "turnComplete": true},
      "usageMetadata": {"totalTokenCount": 546}, "somethingNew": {"x": 1}})");
  ASSERT_TRUE(m.content);
  EXPECT_EQ(m.content->text, "Lights are on.");  // the thought part is not the answer
  EXPECT_EQ(m.content->output_transcription, "Lights are on.");
  EXPECT_EQ(m.content->audio_pcm, std::string(4, '\0'));
  EXPECT_EQ(m.content->audio_rate, 24000u);
  EXPECT_TRUE(m.content->turn_complete);
  EXPECT_TRUE(m.content->generation_complete);
  ASSERT_TRUE(m.usage);
  EXPECT_EQ((*m.usage)["totalTokenCount"], 546);
}

TEST(Protocol, CodeExecutionGroundingAndBadAudio) {
  const auto m = parse_ok(R"json({"serverContent": {"modelTurn": {"parts": [
      {"executableCode": {"language": "PYTHON", "code": "print(2**10)"}},
      {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1024\n"}},
      {"inlineData": {"mimeType": "audio/pcm;rate=16000", "data": "AQID"}},
      {"inlineData": {"mimeType": "audio/pcm", "data": "not base64!"}},
      {"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]},
      "groundingMetadata": {"webSearchQueries": ["weather Berlin"],
                            "groundingChunks": [{"web": {"uri": "https://example.org/w", "title": "Weather"}}]}}})json");
  ASSERT_TRUE(m.content);
  EXPECT_EQ(m.content->code, json::parse(R"json([{"language":"PYTHON","code":"print(2**10)"}])json"));
  EXPECT_EQ(m.content->code_results, json::parse(R"json([{"outcome":"OUTCOME_OK","output":"1024\n"}])json"));
  EXPECT_EQ(m.content->audio_pcm, "\x01\x02\x03");
  EXPECT_EQ(m.content->audio_rate, 16000u);
  ASSERT_TRUE(m.content->grounding);
  EXPECT_EQ((*m.content->grounding)["webSearchQueries"][0], "weather Berlin");
  EXPECT_EQ(m.problems, (std::vector<std::string>{"inlineData.data is not base64",
                                                  "inlineData of type image/png ignored"}));
}

TEST(Protocol, GoAwayCancellationAndSnakeCase) {
  EXPECT_EQ(parse_ok(R"({"goAway": {"timeLeft": "9.5s"}})").go_away, std::chrono::milliseconds(9500));
  const auto c = parse_ok(R"({"tool_call_cancellation": {"ids": ["function-call-1", 7]}})");
  EXPECT_EQ(c.cancelled_ids, std::vector<std::string>{"function-call-1"});
}

TEST(Protocol, ResumptionUpdates) {
  const auto m = parse_ok(R"({"sessionResumptionUpdate": {"newHandle": "CiQ4ZjA", "resumable": true}})");
  ASSERT_TRUE(m.resumption);
  EXPECT_EQ(m.resumption->new_handle, "CiQ4ZjA");
  EXPECT_TRUE(m.resumption->resumable);
  const auto busy = parse_ok(R"({"sessionResumptionUpdate": {"resumable": false}})");
  ASSERT_TRUE(busy.resumption);
  EXPECT_TRUE(busy.resumption->new_handle.empty());
  EXPECT_FALSE(busy.resumption->resumable);
}

TEST(Protocol, SetupAsksForHandlesAndCompressionAndCanResume) {
  auto cfg = *config::load_text("live: {model: models/m}\n", "t.yaml").cfg;
  const std::string frame = build_setup(cfg.live, cfg.tools);
  const json setup = json::parse(frame)["setup"];
  EXPECT_EQ(setup["sessionResumption"], json::object());
  EXPECT_EQ(setup["contextWindowCompression"],
            json::parse(R"({"triggerTokens": 25600, "slidingWindow": {"targetTokens": 12800}})"));
  EXPECT_EQ(json::parse(with_resumption_handle(frame, "h-1"))["setup"]["sessionResumption"],
            json({{"handle", "h-1"}}));
  cfg.live.session_resumption = false;
  cfg.live.compression.enabled = false;
  const json plain = json::parse(build_setup(cfg.live, cfg.tools))["setup"];
  EXPECT_FALSE(plain.contains("sessionResumption"));
  EXPECT_FALSE(plain.contains("contextWindowCompression"));
}

TEST(Protocol, AResumptionHandleIsAddedOnlyToASetupObject) {
  // The frame is the daemon's own, but the rule holds: no throwing access on a type not checked.
  for (const char* frame :
       {R"({"setup": "text"})", R"({"setup": [1]})", R"({"other": {}})", "[]", "no JSON"}) {
    SCOPED_TRACE(frame);
    std::string out;
    EXPECT_NO_THROW(out = with_resumption_handle(frame, "h-1"));
    EXPECT_EQ(out, frame);
  }
}

TEST(Protocol, MalformedFramesAreValuesNotCrashes) {
  EXPECT_EQ(std::get<std::string>(parse_server_message("")), "not valid JSON (or not UTF-8)");
  EXPECT_EQ(std::get<std::string>(parse_server_message("{\"a\":")), "not valid JSON (or not UTF-8)");
  EXPECT_EQ(std::get<std::string>(parse_server_message("[1,2]")), "not a JSON object");
  EXPECT_EQ(std::get<std::string>(parse_server_message("\"\xff\xfe\"")), "not valid JSON (or not UTF-8)");
  EXPECT_EQ(std::get<std::string>(parse_server_message("42")), "not a JSON object");
}

TEST(Protocol, WrongTypesAreReportedAndSkipped) {
  const auto m = parse_ok(R"({"toolCall": {"functionCalls": [{"name": "x"}, {"id": 5, "name": "y"},
                             {"id": "function-call-3", "name": "z", "args": {}}]},
                             "serverContent": {"modelTurn": {"parts": "nope"}, "turnComplete": "yes"}})");
  ASSERT_EQ(m.function_calls.size(), 1u);
  EXPECT_EQ(m.function_calls[0].id, "function-call-3");
  EXPECT_EQ(m.problems.size(), 3u);
  ASSERT_TRUE(m.content);
  EXPECT_FALSE(m.content->turn_complete);
  EXPECT_FALSE(parse_ok(R"({"goAway": {"timeLeft": 50}})").go_away->count());
  EXPECT_EQ(parse_ok(R"({"toolCall": []})").problems.size(), 1u);
}

TEST(Protocol, SetupCarriesModelModalityToolsAndInstruction) {
  auto cfg = *config::load_text(R"(live:
  model: models/m
  response_modality: AUDIO
  system_instruction: You run the house.
  builtin_tools: [google_search, code_execution]
tools:
  - name: turn_on_the_lights
    description: Lights on.
    publish: {topic: z/set, payload: {state: "ON"}}
  - name: set_level
    parameters: {properties: {level: {type: integer, minimum: 0}}, required: [level]}
    publish: {topic: z/set, payload: {brightness: "{{level}}"}}
)",
                                "t.yaml")
                  .cfg;
  const json setup = json::parse(build_setup(cfg.live, cfg.tools))["setup"];
  EXPECT_EQ(setup["model"], "models/m");
  EXPECT_EQ(setup["generationConfig"]["responseModalities"], json::array({"AUDIO"}));
  EXPECT_EQ(setup["systemInstruction"]["parts"][0]["text"], "You run the house.");
  EXPECT_TRUE(setup.contains("outputAudioTranscription"));
  const json& tools = setup["tools"];
  ASSERT_EQ(tools.size(), 3u);
  EXPECT_EQ(tools[0]["functionDeclarations"][0],
            json({{"name", "turn_on_the_lights"}, {"description", "Lights on."}}));
  EXPECT_EQ(tools[0]["functionDeclarations"][1]["parameters"]["properties"]["level"]["type"], "INTEGER");
  EXPECT_EQ(tools[1], json({{"googleSearch", json::object()}}));
  EXPECT_EQ(tools[2], json({{"codeExecution", json::object()}}));
}

TEST(Protocol, ClientMessagesUseCamelCase) {
  EXPECT_EQ(
      json::parse(build_user_turn("Hello?")),
      json::parse(
          R"({"clientContent":{"turns":[{"role":"user","parts":[{"text":"Hello?"}]}],"turnComplete":true}})"));
  EXPECT_EQ(
      json::parse(build_tool_response(
          json::array({function_response("function-call-1", "f", json{{"output", {{"ok", true}}}})}))),
      json::parse(
          R"({"toolResponse":{"functionResponses":[{"id":"function-call-1","name":"f","response":{"output":{"ok":true}}}]}})"));
  EXPECT_EQ(json::parse(build_tool_response(json::array(
                {function_response("function-call-2", "g", json{{"error", "no answer"}}, "WHEN_IDLE"),
                 function_response("function-call-3", "f", json{{"output", {{"ok", true}}}})}))),
            json::parse(R"json({"toolResponse":{"functionResponses":[
              {"id":"function-call-2","name":"g","response":{"error":"no answer"},"scheduling":"WHEN_IDLE"},
              {"id":"function-call-3","name":"f","response":{"output":{"ok":true}}}]}})json"));
}

TEST(Protocol, DebugSummaryElidesAudio) {
  const std::string s =
      summarize_frame(R"({"realtimeInput":{"audio":{"mimeType":"audio/pcm","data":"AAAAAAAAAAAA"}}})");
  EXPECT_EQ(s.find("AAAAAAAAAAAA"), std::string::npos);
  EXPECT_NE(s.find("<12 base64 chars>"), std::string::npos);
}

}  // namespace
}  // namespace lb::live
