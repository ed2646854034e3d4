// The seed notebook's scenarios beyond plain text: spoken answers (AUDIO modality, WAV files,
// transcripts), code execution, Google Search grounding, compositional calls with a wait,
// interruptions, and the event stream home automations react to.
#include <filesystem>
#include <thread>

#include "audio/wav.hpp"
#include "bridge_fixture.hpp"
#include "common/base64.hpp"

namespace lb::test {
namespace {

// The code-execution tool's parts: the Python the model wrote, and what running it printed.
json code_part(const std::string& code) {
  return json{{"executableCode", {{"language", "PYTHON"}, {"code", code}}}};
}
json code_result_part(const std::string& output) {
  return json{{"codeExecutionResult", {{"outcome", "OUTCOME_OK"}, {"output", output}}}};
}

// One serverContent frame carrying `parts` as the model's turn.
json model_turn(json parts) {
  return json{{"serverContent", {{"modelTurn", {{"parts", std::move(parts)}}}}}};
}

// Speaks `fragments` the way a native-audio model does: a thought in a text part, then audio
// chunks each with a transcript fragment, generationComplete, and turnComplete with usage.
void speak(fake_live_server::connection& conn, const std::vector<std::string>& fragments,
           const std::vector<std::string>& chunks) {
  conn.send(model_turn(json::array({{{"text", "**Planning** the answer"}, {"thought", true}}})));
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    conn.send(json{{"serverContent",
                    {{"modelTurn", {{"parts", json::array({audio_part(chunks[i])})}}},
                     {"outputTranscription", {{"text", i < fragments.size() ? fragments[i] : ""}}}}}});
  }
  conn.send(json{{"serverContent", {{"generationComplete", true}}}});
  conn.send(json{
      {"serverContent", {{"turnComplete", true}}},
      {"usageMetadata", {{"promptTokenCount", 30}, {"responseTokenCount", 12}, {"totalTokenCount", 42}}}});
}

class SeedTest : public BridgeTest {
 protected:
  std::string audio_config(const std::string& tools) const {
    return config(tools, "  response_modality: AUDIO\n  voice: Kore\n  audio: {directory: " +
                             dir_.file("audio") + ", publish: true}\n");
  }
  // `livebridge ask --json --wav` with `pcm` (16 kHz) as the recording, as a satellite's user would
  // run it; the printed reply, or null (with the failure recorded) when the CLI did not exit 0.
  json ask_by_voice(const std::string& name, const std::string& pcm) {
    dir_.write(name, audio::make_wav(pcm, 16000));
    process ask_voice({LIVEBRIDGE_BINARY, "ask", "--json", "--config", dir_.file("livebridge.yaml"), "--wav",
                       dir_.file(name)},
                      dir_.file(name + ".log"), {{"CREDENTIALS_DIRECTORY", dir_.path()}});
    const std::optional<int> code = ask_voice.wait(patience);
    EXPECT_EQ(code, 0) << ask_voice.log();
    return code == 0 ? json::parse(ask_voice.log()) : json();
  }
};

TEST_F(SeedTest, HelloInAudioWritesTheSpokenAnswerAsAValidWav) {
  const std::vector<std::string> chunks = {tone(0.25), tone(0.3), tone(0.2)};
  start_server([&](fake_live_server::connection& conn, const json& msg) {
    if (msg.contains("clientContent")) speak(conn, {"Hello!", " How can I", " help you today?"}, chunks);
  });
  start_bridge(audio_config(seed_tools));
  const json reply = ask("Hello?");
  EXPECT_EQ(reply["text"], "Hello! How can I help you today?");  // the transcript, not the thought
  EXPECT_EQ(reply["usage"]["totalTokenCount"], 42);
  ASSERT_TRUE(reply.contains("audio")) << reply.dump();
  const std::string file = reply["audio"].value("file", "");
  EXPECT_EQ(std::filesystem::path(file).parent_path(), dir_.file("audio"));
  const std::string bytes = read_file(file);
  std::string why;
  const auto wav = audio::parse_wav(bytes, why);
  ASSERT_TRUE(wav) << why;
  EXPECT_EQ(bytes.substr(0, 4), "RIFF");
  EXPECT_EQ(wav->sample_rate, 24000u);
  EXPECT_EQ(wav->samples, chunks[0] + chunks[1] + chunks[2]);  // 16-bit mono: every sample, in order
  EXPECT_DOUBLE_EQ(reply["audio"]["seconds"].get<double>(), 0.75);
  // The speaker satellite gets the same WAV.
  const auto published = observer_->wait_for(
      "livebridge/audio", [](const seen_message&) { return true; }, patience);
  ASSERT_TRUE(published);
  EXPECT_EQ(published->payload, bytes);
  // The setup asked for the voice and both transcripts.
  const json setup = messages_of(server_->received(), "setup").at(0);
  EXPECT_EQ(setup["generationConfig"]["responseModalities"], json::array({"AUDIO"}));
  EXPECT_EQ(setup["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"],
            "Kore");
  EXPECT_TRUE(setup.contains("outputAudioTranscription"));
  EXPECT_TRUE(setup.contains("inputAudioTranscription"));
}

TEST_F(SeedTest, LightsInAudioAreConfirmedByTheDeviceAndEventsTellTheStory) {
  z2m_bridge z2m(broker_->uri(), {"living_room"});
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (msg.contains("clientContent")) {
      conn.send(
          json{{"toolCall", {{"functionCalls", json::array({call("turn_on_the_lights", json::object())})}}}});
    } else if (msg.contains("toolResponse")) {
      speak(conn, {"The lights are on."}, {tone(0.5)});
    }
  });
  start_bridge(audio_config(seed_tools));
  const json reply = ask("Turn on the lights");
  EXPECT_EQ(reply["text"], "The lights are on.");
  ASSERT_EQ(reply["tool_calls"].size(), 1u);
  EXPECT_EQ(reply["tool_calls"][0]["ok"], true);
  EXPECT_EQ(reply["tool_calls"][0]["response"]["output"]["state"]["state"], "ON");
  EXPECT_TRUE(std::filesystem::exists(reply["audio"]["file"].get<std::string>()));
  const auto events = observer_->wait_count("livebridge/event", 3, patience);
  ASSERT_EQ(events.size(), 3u);
  std::vector<std::string> kinds;
  for (const auto& e : events) kinds.push_back(json::parse(e.payload).value("event", ""));
  EXPECT_EQ(kinds, (std::vector<std::string>{"turn_started", "tool_result", "turn_finished"}));
  const json result = json::parse(events[1].payload);
  EXPECT_EQ(result["name"], "turn_on_the_lights");
  EXPECT_EQ(result["args"], json::object());
  EXPECT_EQ(result["ok"], true);
  EXPECT_EQ(json::parse(events[2].payload)["id"], reply["id"]);
}

TEST_F(SeedTest, CodeExecutionPartsAreReportedInTheirOwnFields) {
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (!msg.contains("clientContent")) return;
    conn.send(model_turn(json::array({code_part("primes = [n for n in range(2, 300) if all(n % d for d in "
                                                "range(2, n))]\nprint(sum(primes[:50]))"),
                                      code_result_part("5117\n")})));
    answer_text(conn, "The sum of the first 50 prime numbers is 5117.");
  });
  start_bridge(config(seed_tools, "  builtin_tools: [code_execution]\n"));
  const json reply =
      ask("What is the sum of the first 50 prime numbers? Generate and run code for the calculation.");
  ASSERT_EQ(reply["code"].size(), 1u) << reply.dump();
  EXPECT_EQ(reply["code"][0]["language"], "PYTHON");
  EXPECT_EQ(reply["code_results"][0], json({{"outcome", "OUTCOME_OK"}, {"output", "5117\n"}}));
  EXPECT_EQ(reply["text"], "The sum of the first 50 prime numbers is 5117.");
  EXPECT_EQ(messages_of(server_->received(), "setup").at(0)["tools"].back(),
            json({{"codeExecution", json::object()}}));
}

TEST_F(SeedTest, SearchGroundingSourcesAreReported) {
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (!msg.contains("clientContent")) return;
    conn.send(json{
        {"serverContent",
         {{"modelTurn", {{"parts", json::array({{{"text", "Argentina won the 2022 World Cup."}}})}}},
          {"groundingMetadata",
           {{"webSearchQueries", json::array({"2022 world cup winner"})},
            {"groundingChunks",
             json::array({{{"web", {{"uri", "https://example.org/wc"}, {"title", "example.org"}}}},
                          {{"web", {{"uri", "https://example.org/wc"}, {"title", "example.org"}}}}})}}}}}});
    conn.send(json{{"serverContent", {{"turnComplete", true}}}});
  });
  start_bridge(config(seed_tools, "  builtin_tools: [google_search]\n"));
  const json reply = ask("Who won the 2022 World Cup?");
  EXPECT_EQ(reply["text"], "Argentina won the 2022 World Cup.");
  EXPECT_EQ(reply["search_queries"], json::array({"2022 world cup winner"}));
  EXPECT_EQ(reply["sources"], json::parse(R"([{"title":"example.org","uri":"https://example.org/wc"}])"));
}

TEST_F(SeedTest, CompositionalLightsOnWaitLightsOffEachConfirmedByTheDevice) {
  z2m_bridge z2m(broker_->uri(), {"living_room"});
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (msg.contains("clientContent")) {
      conn.send(
          model_turn(json::array({code_part("default_api.turn_on_the_lights()\ntime.sleep(10)\n"
                                            "default_api.turn_off_the_lights()")})));
      conn.send(
          json{{"toolCall", {{"functionCalls", json::array({call("turn_on_the_lights", json::object())})}}}});
      return;
    }
    if (!msg.contains("toolResponse")) return;
    if (msg["toolResponse"]["functionResponses"][0]["name"] == "turn_on_the_lights") {
      // The generated code's wait (shortened from the notebook's 10 s).
      conn.after(1s, [&conn] {
        conn.send(json{
            {"toolCall", {{"functionCalls", json::array({call("turn_off_the_lights", json::object())})}}}});
      });
    } else {
      answer_text(conn, "I turned the lights on, waited, and turned them off.");
    }
  });
  start_bridge(config(seed_tools, "  builtin_tools: [code_execution]\n"));
  const auto asked = std::chrono::steady_clock::now();
  const json reply = ask("Turn on the lights, wait 10 seconds, then turn them off");
  EXPECT_GE(std::chrono::steady_clock::now() - asked, 1s);
  ASSERT_EQ(reply["tool_calls"].size(), 2u) << reply.dump();
  EXPECT_EQ(reply["tool_calls"][0]["name"], "turn_on_the_lights");
  EXPECT_EQ(reply["tool_calls"][0]["response"]["output"]["state"]["state"], "ON");
  EXPECT_EQ(reply["tool_calls"][1]["name"], "turn_off_the_lights");
  EXPECT_EQ(reply["tool_calls"][1]["response"]["output"]["state"]["state"], "OFF");
  EXPECT_EQ(z2m.commands_received("living_room"), 2);
  EXPECT_EQ(reply["code"].size(), 1u);
}

TEST_F(SeedTest, AnInterruptionEndsTheSpokenAnswerWhereItWasCut) {
  const std::string before = tone(0.2), after = tone(0.4);
  start_server([&](fake_live_server::connection& conn, const json& msg) {
    if (!msg.contains("clientContent")) return;
    conn.send(json{{"serverContent",
                    {{"modelTurn", {{"parts", json::array({audio_part(before)})}}},
                     {"outputTranscription", {{"text", "Once upon a time"}}}}}});
    conn.send(json{{"serverContent", {{"interrupted", true}}}});
    conn.send(json{{"serverContent",
                    {{"modelTurn", {{"parts", json::array({audio_part(after)})}}},
                     {"outputTranscription", {{"text", " there was"}}}}}});
    conn.send(json{{"serverContent", {{"turnComplete", true}}}});
  });
  start_bridge(audio_config(seed_tools));
  const json reply = ask("Tell me a long story");
  EXPECT_EQ(reply["interrupted"], true);
  EXPECT_EQ(reply["text"], "Once upon a time");
  std::string why;
  const auto wav = audio::parse_wav(read_file(reply["audio"]["file"].get<std::string>()), why);
  ASSERT_TRUE(wav) << why;
  EXPECT_EQ(wav->samples, before);
}

TEST_F(SeedTest, VoiceFromASatelliteIsHeardAnsweredAndActedOn) {
  z2m_bridge z2m(broker_->uri(), {"living_room"});
  auto heard_pcm = std::make_shared<std::string>();
  start_server([heard_pcm](fake_live_server::connection& conn, const json& msg) {
    if (msg.contains("realtimeInput")) {
      const json& in = msg["realtimeInput"];
      if (in.contains("audio")) {
        EXPECT_EQ(in["audio"]["mimeType"], "audio/pcm;rate=16000");
        EXPECT_TRUE(base64_decode_append(in["audio"]["data"].get<std::string>(), *heard_pcm));
      }
      if (in.value("audioStreamEnd", false)) {
        conn.send(json{{"serverContent", {{"inputTranscription", {{"text", "Turn on"}}}}}});
        conn.send(json{{"serverContent", {{"inputTranscription", {{"text", " the lights"}}}}}});
        conn.send(json{
            {"toolCall", {{"functionCalls", json::array({call("turn_on_the_lights", json::object())})}}}});
      }
    } else if (msg.contains("toolResponse")) {
      speak(conn, {"Done, the lights are on."}, {tone(0.4)});
    }
  });
  start_bridge(audio_config(seed_tools));
  const std::string spoken = tone(1.3, 16000);
  const json reply = ask_by_voice("question.wav", spoken);
  ASSERT_TRUE(reply.is_object());
  EXPECT_EQ(reply["source"], "voice");
  EXPECT_EQ(reply["heard"], "Turn on the lights");
  EXPECT_EQ(reply["text"], "Done, the lights are on.");
  ASSERT_EQ(reply["tool_calls"].size(), 1u);
  EXPECT_EQ(reply["tool_calls"][0]["response"]["output"]["state"]["state"], "ON");
  EXPECT_EQ(*heard_pcm, spoken);  // every sample reached the model, in order
  const auto inputs = messages_of(server_->received(), "realtimeInput");
  ASSERT_FALSE(inputs.empty());
  EXPECT_EQ(inputs.back(), json({{"audioStreamEnd", true}}));

  // A recording at another rate is refused before anything is sent.
  dir_.write("cd.wav", audio::make_wav(tone(0.1, 44100), 44100));
  process wrong_rate(
      {LIVEBRIDGE_BINARY, "ask", "--config", dir_.file("livebridge.yaml"), "--wav", dir_.file("cd.wav")},
      dir_.file("ask2.log"), {{"CREDENTIALS_DIRECTORY", dir_.path()}});
  EXPECT_EQ(wrong_rate.wait(patience), 64);
  EXPECT_NE(wrong_rate.log().find("the recording is 44100 Hz; voice input is 16 kHz"), std::string::npos);
}

TEST_F(SeedTest, ANonBlockingGarageDoorLetsTheModelTalkAndReportsLater) {
  mqtt_peer garage(broker_->uri(), "sim-garage", [](mqtt_peer& peer, const seen_message& m) {
    if (m.topic == "garage/set") peer.publish("garage/state", R"({"state":"opening"})", 0);
  });
  garage.subscribe("garage/set");
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (msg.contains("clientContent")) {
      conn.send(
          json{{"toolCall", {{"functionCalls", json::array({call("open_garage_door", json::object())})}}}});
      answer_text(conn, "Opening the garage door now.");  // the model goes on without waiting
    } else if (msg.contains("toolResponse")) {
      const json& r = msg["toolResponse"]["functionResponses"][0];
      if (r.value("scheduling", "") == "WHEN_IDLE" && r["response"].contains("output"))
        answer_text(conn, "The garage door is open.");
    }
  });
  start_bridge(config(R"(  - name: open_garage_door
    behavior: NON_BLOCKING
    scheduling: WHEN_IDLE
    publish: {topic: garage/set, payload: {state: "open"}}
    ack: {topic: garage/state, match: {state: "open"}, timeout: 10s}
)"));
  observer_->publish("livebridge/prompt", json{{"id", "garage-1"}, {"text", "Open the garage"}}.dump(), 1);
  const auto first = observer_->wait_for(
      "livebridge/reply", [](const seen_message&) { return true; }, patience);
  ASSERT_TRUE(first);
  const json now = json::parse(first->payload);
  EXPECT_EQ(now["id"], "garage-1");
  EXPECT_EQ(now["text"], "Opening the garage door now.");
  ASSERT_EQ(now["tool_calls"].size(), 1u);
  EXPECT_EQ(now["tool_calls"][0]["pending"], true);
  EXPECT_TRUE(now["tool_calls"][0]["ok"].is_null());
  EXPECT_TRUE(tool_responses().empty());  // the door is still moving

  garage.publish("garage/state", R"({"state":"open"})", 0);  // 20 s later in a real garage
  const auto later = observer_->wait_count("livebridge/reply", 2, patience);
  ASSERT_EQ(later.size(), 2u);
  const json follow_up = json::parse(later[1].payload);
  EXPECT_EQ(follow_up["id"], "garage-1");
  EXPECT_EQ(follow_up["follow_up"], true);
  EXPECT_EQ(follow_up["text"], "The garage door is open.");
  ASSERT_EQ(tool_responses().size(), 1u);
  EXPECT_EQ(tool_responses()[0]["scheduling"], "WHEN_IDLE");
  const json declared =
      messages_of(server_->received(), "setup").at(0)["tools"][0]["functionDeclarations"][0];
  EXPECT_EQ(declared["behavior"], "NON_BLOCKING");
}

TEST_F(SeedTest, PushToTalkBracketsTheSpeechWithActivitySignals) {
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (msg.contains("realtimeInput") && msg["realtimeInput"].contains("activityEnd")) {
      conn.send(json{{"serverContent", {{"inputTranscription", {{"text", "Hello?"}}}}}});
      speak(conn, {"Hi there."}, {tone(0.2)});
    }
  });
  start_bridge(config(seed_tools, "  response_modality: AUDIO\n  push_to_talk: true\n"));
  const json setup = messages_of(server_->received(), "setup").at(0);
  EXPECT_EQ(setup["realtimeInputConfig"]["automaticActivityDetection"]["disabled"], true);
  const json reply = ask_by_voice("hello.wav", tone(0.5, 16000));
  ASSERT_TRUE(reply.is_object());
  EXPECT_EQ(reply["heard"], "Hello?");
  EXPECT_EQ(reply["text"], "Hi there.");
  const auto inputs = messages_of(server_->received(), "realtimeInput");
  ASSERT_GE(inputs.size(), 3u);
  EXPECT_EQ(inputs.front(), json({{"activityStart", json::object()}}));
  EXPECT_TRUE(inputs[1].contains("audio"));
  EXPECT_EQ(inputs.back(), json({{"activityEnd", json::object()}}));
}

TEST_F(SeedTest, OneSpokenTurnMixesSearchCodeAndADeviceCall) {
  z2m_bridge z2m(broker_->uri(), {"living_room"});
  start_server([](fake_live_server::connection& conn, const json& msg) {
    if (msg.contains("clientContent")) {
      conn.send(json{
          {"serverContent",
           {{"modelTurn", {{"parts", json::array({code_part("print(18 + 3)"), code_result_part("21\n")})}}},
            {"groundingMetadata",
             {{"webSearchQueries", json::array({"sunset Berlin today"})},
              {"groundingChunks",
               json::array(
                   {{{"web", {{"uri", "https://example.org/sun"}, {"title", "example.org"}}}}})}}}}}});
      conn.send(
          json{{"toolCall", {{"functionCalls", json::array({call("turn_on_the_lights", json::object())})}}}});
    } else if (msg.contains("toolResponse")) {
      speak(conn, {"Sunset is at nine; the lights are on."}, {tone(0.3)});
    }
  });
  start_bridge(config(seed_tools,
                      "  response_modality: AUDIO\n  builtin_tools: [google_search, code_execution]\n"
                      "  audio: {directory: " +
                          dir_.file("audio") + "}\n"));
  const json reply = ask("When is sunset, how many hours from 18:00 to 21:00, and turn on the lights");
  EXPECT_EQ(reply["text"], "Sunset is at nine; the lights are on.");
  EXPECT_EQ(reply["search_queries"], json::array({"sunset Berlin today"}));
  EXPECT_EQ(reply["sources"][0]["uri"], "https://example.org/sun");
  EXPECT_EQ(reply["code_results"][0]["output"], "21\n");
  ASSERT_EQ(reply["tool_calls"].size(), 1u);
  EXPECT_EQ(reply["tool_calls"][0]["response"]["output"]["state"]["state"], "ON");
  EXPECT_TRUE(std::filesystem::exists(reply["audio"].value("file", "")));
  const json tools = messages_of(server_->received(), "setup").at(0)["tools"];
  EXPECT_EQ(tools.size(), 3u);  // declared functions, googleSearch, codeExecution
}

}  // namespace
}  // namespace lb::test
