#include "live/protocol.hpp"
#include "common/json_text.hpp"

#include <charconv>
#include <cmath>

#include "audio/wav.hpp"
#include "common/base64.hpp"
#include "common/json_access.hpp"
#include "common/log.hpp"

namespace lb::live {
namespace {

const json* member(const json& obj, const char* camel, const char* snake = nullptr) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(camel);
  if (it == obj.end() && snake != nullptr) it = obj.find(snake);
  return it == obj.end() ? nullptr : &*it;
}

bool flag(const json& obj, const char* camel, const char* snake) {
  const json* v = member(obj, camel, snake);
  return v != nullptr && v->is_boolean() && v->get<bool>();
}

void parse_content(const json& sc, server_message& out) {
  if (!sc.is_object()) {
    out.problems.push_back("serverContent is not an object");
    return;
  }
  server_content c;
  c.interrupted = flag(sc, "interrupted", "interrupted");
  if (const json* turn = member(sc, "modelTurn", "model_turn")) {
    const json* parts = member(*turn, "parts");
    if (parts != nullptr && parts->is_array()) {
      for (const auto& part : *parts) {
        if (!part.is_object()) continue;
        if (flag(part, "thought", "thought")) continue;  // native-audio models think aloud in text parts
        if (const json* text = member(part, "text"); text != nullptr && text->is_string()) {
          c.text += text->get_ref<const std::string&>();
        }
        if (const json* inline_data = member(part, "inlineData", "inline_data")) {
          const json* mime = member(*inline_data, "mimeType", "mime_type");
          const std::string type =
              mime != nullptr && mime->is_string() ? mime->get<std::string>() : "audio/pcm";
          const json* data = member(*inline_data, "data");
          if (type.rfind("audio/pcm", 0) != 0) {
            out.problems.push_back("inlineData of type " + log::quote(type) + " ignored");
          } else if (data == nullptr || !data->is_string() ||
                     !base64_decode_append(data->get_ref<const std::string&>(), c.audio_pcm)) {
            out.problems.push_back("inlineData.data is not base64");
          } else {
            c.audio_rate = audio::pcm_rate_of(type, 24000);
          }
        }
        if (const json* code = member(part, "executableCode", "executable_code");
            code != nullptr && code->is_object()) {
          c.code.push_back(
              {{"language", string_member(*code, "language")}, {"code", string_member(*code, "code")}});
        }
        if (const json* result = member(part, "codeExecutionResult", "code_execution_result");
            result != nullptr && result->is_object()) {
          c.code_results.push_back(
              {{"outcome", string_member(*result, "outcome")}, {"output", string_member(*result, "output")}});
        }
      }
    } else if (parts != nullptr) {
      out.problems.push_back("serverContent.modelTurn.parts is not a list");
    }
  }
  for (auto [camel, snake, target] :
       {std::tuple{"outputTranscription", "output_transcription", &c.output_transcription},
        std::tuple{"inputTranscription", "input_transcription", &c.input_transcription}}) {
    if (const json* t = member(sc, camel, snake)) {
      if (const json* text = member(*t, "text"); text != nullptr && text->is_string()) {
        *target += text->get_ref<const std::string&>();
      }
    }
  }
  if (const json* g = member(sc, "groundingMetadata", "grounding_metadata"); g != nullptr && g->is_object())
    c.grounding = *g;
  c.generation_complete = flag(sc, "generationComplete", "generation_complete");
  c.turn_complete = flag(sc, "turnComplete", "turn_complete");
  out.content = std::move(c);
}

void parse_tool_call(const json& tc, server_message& out) {
  out.has_tool_call = true;
  const json* calls = member(tc, "functionCalls", "function_calls");
  if (calls == nullptr || !calls->is_array()) {
    out.problems.push_back("toolCall.functionCalls is not a list");
    return;
  }
  for (const auto& call : *calls) {
    const json* id = member(call, "id");
    const json* name = member(call, "name");
    if (id == nullptr || !id->is_string() || id->get_ref<const std::string&>().empty()) {
      out.problems.push_back("a function call without an id cannot be answered: " +
                             log::abbreviate(json_text(call), 200));
      continue;
    }
    function_call fc;
    fc.id = id->get<std::string>();
    fc.name = name != nullptr && name->is_string() ? name->get<std::string>() : std::string();
    const json* args = member(call, "args");
    fc.args = args == nullptr || args->is_null() ? json::object() : *args;
    out.function_calls.push_back(std::move(fc));
  }
}

json elide(const json& v, std::size_t max_string) {
  if (v.is_object()) {
    json out = json::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key() == "inputTranscription" && it.value().is_object()) {
        // The person's own words may hold their PIN: their length only, never the words.
        const auto text = it.value().find("text");
        std::string note = "<";
        note += std::to_string(
            text != it.value().end() && text->is_string() ? text->get_ref<const std::string&>().size() : 0);
        note += " chars of the person's words>";
        out[it.key()] = json{{"text", std::move(note)}};
      } else if (it.key() == "id" && it.value().is_string()) {
        out[it.key()] = it.value();  // call ids are digits, and no secret
      } else if (it.key() == "data" && it.value().is_string()) {
        // Appended piece by piece: GCC 12 at -O3 reports a false -Wstringop-overflow for
        // "literal" + std::string (libstdc++'s inlined _M_replace).
        std::string note = "<";
        note += std::to_string(it.value().get_ref<const std::string&>().size());
        note += " base64 chars>";
        out[it.key()] = std::move(note);
      } else {
        out[it.key()] = elide(it.value(), max_string);
      }
    }
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (const auto& e : v) out.push_back(elide(e, max_string));
    return out;
  }
  if (v.is_string()) {
    // A PIN the model repeats in its arguments or speech must not reach a debug log either: any
    // run of four or more digits is hidden (ids are kept by the caller).
    std::string text = v.get_ref<const std::string&>();
    std::size_t run = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
      if (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        ++run;
        continue;
      }
      if (run >= 4) text.replace(i - run, run, run, '#');
      run = 0;
    }
    if (text.size() > max_string) return log::abbreviate(text, max_string);
    return text;
  }
  return v;
}

}  // namespace

std::string build_setup(const config::live_config& live, const std::vector<tools::tool_spec>& tools) {
  const bool audio = live.response_modality == config::modality::audio;
  json setup = {
      {"model", live.model},
      {"generationConfig", {{"responseModalities", json::array({audio ? "AUDIO" : "TEXT"})}}},
  };
  if (!live.system_instruction.empty()) {
    setup["systemInstruction"] = {{"parts", json::array({{{"text", live.system_instruction}}})}};
  }
  json tool_list = json::array();
  if (!tools.empty()) {
    json declarations = json::array();
    for (const auto& t : tools) {
      json d = {{"name", t.name}};
      if (!t.description.empty()) d["description"] = t.description;
      if (t.parameters) d["parameters"] = tools::to_declaration(*t.parameters);
      if (t.behavior == tools::behavior::non_blocking)
        d["behavior"] = tools::name_in(tools::behavior_spellings, t.behavior);
      declarations.push_back(std::move(d));
    }
    tool_list.push_back({{"functionDeclarations", std::move(declarations)}});
  }
  for (auto b : live.builtin_tools) {
    tool_list.push_back(b == config::builtin_tool::google_search ? json{{"googleSearch", json::object()}}
                                                                 : json{{"codeExecution", json::object()}});
  }
  if (!tool_list.empty()) setup["tools"] = std::move(tool_list);
  if (audio) {
    json speech = json::object();
    if (!live.voice.empty()) speech["voiceConfig"] = {{"prebuiltVoiceConfig", {{"voiceName", live.voice}}}};
    if (!live.language.empty()) speech["languageCode"] = live.language;
    if (!speech.empty()) setup["generationConfig"]["speechConfig"] = std::move(speech);
    // The reply text is the transcript of what the model said; voice input gets its own.
    setup["outputAudioTranscription"] = json::object();
    setup["inputAudioTranscription"] = json::object();
  }
  if (live.push_to_talk)
    setup["realtimeInputConfig"] = {{"automaticActivityDetection", {{"disabled", true}}}};
  if (live.session_resumption) setup["sessionResumption"] = json::object();
  if (live.compression.enabled) {
    setup["contextWindowCompression"] = {
        {"triggerTokens", live.compression.trigger_tokens},
        {"slidingWindow", {{"targetTokens", live.compression.target_tokens}}}};
  }
  return json_text(json{{"setup", std::move(setup)}});
}

std::string with_resumption_handle(const std::string& setup_frame, const std::string& handle) {
  json doc = json::parse(setup_frame, nullptr, false);
  if (!doc.is_object()) return setup_frame;
  const auto setup = doc.find("setup");
  if (setup == doc.end() || !setup->is_object()) return setup_frame;
  (*setup)["sessionResumption"] = handle.empty() ? json::object() : json{{"handle", handle}};
  return json_text(doc);
}

std::string build_user_turn(std::string_view text) {
  return json_text(
      json{{"clientContent",
            {{"turns", json::array({{{"role", "user"}, {"parts", json::array({{{"text", text}}})}}})},
             {"turnComplete", true}}}});
}

std::string build_context_note(std::string_view text) {
  return json_text(
      json{{"clientContent",
            {{"turns", json::array({{{"role", "user"}, {"parts", json::array({{{"text", text}}})}}})},
             {"turnComplete", false}}}});
}

json function_response(std::string_view id, std::string_view name, json response,
                       std::string_view scheduling) {
  // Member by member: an initializer list would build each pair as an array first, on the path
  // every tool call's answer takes.
  json answer(json::value_t::object);
  answer.emplace("id", id);
  answer.emplace("name", name);
  answer.emplace("response", std::move(response));
  if (!scheduling.empty()) answer.emplace("scheduling", scheduling);
  return answer;
}

std::string build_tool_response(json function_responses) {
  // The fixed envelope as text around the one part that varies.
  std::string frame = R"({"toolResponse":{"functionResponses":)";
  frame += json_text(function_responses);
  frame += "}}";
  return frame;
}

std::string build_realtime_audio(std::string_view pcm, std::uint32_t sample_rate) {
  return json_text(json{
      {"realtimeInput",
       {{"audio",
         {{"mimeType", "audio/pcm;rate=" + std::to_string(sample_rate)}, {"data", base64_encode(pcm)}}}}}});
}

std::string build_audio_stream_end() {
  return json_text(json{{"realtimeInput", {{"audioStreamEnd", true}}}});
}

std::string build_activity_start() {
  return json_text(json{{"realtimeInput", {{"activityStart", json::object()}}}});
}

std::string build_activity_end() {
  return json_text(json{{"realtimeInput", {{"activityEnd", json::object()}}}});
}

std::optional<std::chrono::milliseconds> parse_proto_duration(std::string_view text) {
  if (text.size() < 2 || text.back() != 's') return std::nullopt;
  text.remove_suffix(1);
  double seconds = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(seconds) || seconds < 0 ||
      seconds > 1e9) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<long long>(std::llround(seconds * 1000)));
}

std::variant<server_message, std::string> parse_server_message(std::string_view frame) {
  json doc = json::parse(frame.begin(), frame.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return std::string("not valid JSON (or not UTF-8)");
  if (!doc.is_object()) return std::string("not a JSON object");

  server_message out;
  if (member(doc, "setupComplete", "setup_complete") != nullptr) out.setup_complete = true;
  if (const json* sc = member(doc, "serverContent", "server_content")) parse_content(*sc, out);
  if (const json* tc = member(doc, "toolCall", "tool_call")) parse_tool_call(*tc, out);
  if (const json* cancel = member(doc, "toolCallCancellation", "tool_call_cancellation")) {
    const json* ids = member(*cancel, "ids");
    if (ids != nullptr && ids->is_array()) {
      for (const auto& id : *ids) {
        if (id.is_string()) out.cancelled_ids.push_back(id.get<std::string>());
      }
    } else {
      out.problems.push_back("toolCallCancellation.ids is not a list");
    }
  }
  if (const json* go_away = member(doc, "goAway", "go_away")) {
    const json* left = member(*go_away, "timeLeft", "time_left");
    std::optional<std::chrono::milliseconds> d;
    if (left != nullptr && left->is_string()) d = parse_proto_duration(left->get_ref<const std::string&>());
    out.go_away = d.value_or(std::chrono::milliseconds(0));
  }
  if (const json* update = member(doc, "sessionResumptionUpdate", "session_resumption_update")) {
    server_message::resumption_update r;
    if (const json* h = member(*update, "newHandle", "new_handle"); h != nullptr && h->is_string()) {
      r.new_handle = h->get<std::string>();
    }
    r.resumable = flag(*update, "resumable", "resumable");
    out.resumption = std::move(r);
  }
  if (const json* usage = member(doc, "usageMetadata", "usage_metadata");
      usage != nullptr && usage->is_object()) {
    out.usage = *usage;
  }
  return out;
}

std::string summarize_frame(std::string_view frame, std::size_t max_bytes) {
  json doc = json::parse(frame.begin(), frame.end(), nullptr, false);
  if (doc.is_discarded()) return log::abbreviate(frame, max_bytes);
  return log::abbreviate(json_text(elide(doc, 200)), max_bytes);
}

}  // namespace lb::live
