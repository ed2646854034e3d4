#include "app/turn_record.hpp"

#include <algorithm>

#include "common/json_access.hpp"
#include "common/utf8.hpp"

namespace lb::app {

namespace {

json id_member(const json& object) {
  if (!object.is_object()) return json();
  const auto it = object.find("id");
  return it != object.end() && (it->is_string() || it->is_number()) ? *it : json();
}

}  // namespace

std::variant<prompt, prompt_refusal> parse_prompt(const std::string& payload, std::size_t max_bytes) {
  if (payload.size() > max_bytes) {
    return prompt_refusal{json(), "prompt of " + std::to_string(payload.size()) +
                                      " bytes exceeds mqtt.max_prompt_bytes (" + std::to_string(max_bytes) +
                                      ")"};
  }
  prompt p;
  const json doc = json::parse(payload, nullptr, false);
  if (doc.is_object()) {
    p.id = id_member(doc);
    const auto text = doc.find("text");
    if (text == doc.end() || !text->is_string())
      return prompt_refusal{p.id, "a JSON prompt needs a string member \"text\""};
    p.text = text->get<std::string>();
  } else {
    p.text = payload;
    if (!is_valid_utf8(p.text)) return prompt_refusal{json(), "the prompt is not valid UTF-8"};
  }
  if (p.text.find_first_not_of(" \t\r\n") == std::string::npos)
    return prompt_refusal{p.id, "the prompt is empty"};
  return p;
}

json parse_voice_end_id(const std::string& payload) {
  return id_member(json::parse(payload, nullptr, false));
}

const call_record* turn_record::record_outcome(const std::string& call_id, bool ok_now,
                                               const json& response_now) {
  for (auto& c : calls) {
    if (c.id != call_id || c.ok) continue;
    c.ok = ok_now;
    c.response = response_now;
    return &c;
  }
  return nullptr;
}

bool collect_content(turn_record& t, const live::server_content& c, const content_rules& rules) {
  bool cut_now = false;
  // An interruption ends what the model was saying; anything after it in this turn is dropped.
  if (c.interrupted) t.interrupted = true;
  if (!t.interrupted) {
    t.text += rules.audio_modality ? c.output_transcription : c.text;
    if (!c.audio_pcm.empty() && !t.audio_truncated) {
      const auto max_bytes = static_cast<std::size_t>(rules.max_audio.count()) * c.audio_rate * 2 / 1000;
      t.audio_rate = c.audio_rate;
      if (t.audio_pcm.size() + c.audio_pcm.size() > max_bytes) {
        t.audio_pcm.append(c.audio_pcm.substr(0, max_bytes - std::min(max_bytes, t.audio_pcm.size())));
        t.audio_truncated = cut_now = true;
      } else {
        t.audio_pcm.append(c.audio_pcm);
      }
    }
  }
  t.heard += c.input_transcription;
  for (const auto& code : c.code) t.code.push_back(code);
  for (const auto& result : c.code_results) t.code_results.push_back(result);
  if (c.grounding && c.grounding->is_object()) {
    if (const auto queries = c.grounding->find("webSearchQueries");
        queries != c.grounding->end() && queries->is_array()) {
      for (const auto& q : *queries)
        if (q.is_string()) t.search_queries.push_back(q);
    }
    if (const auto chunks = c.grounding->find("groundingChunks");
        chunks != c.grounding->end() && chunks->is_array()) {
      for (const auto& chunk : *chunks) {
        if (!chunk.is_object()) continue;
        const auto web = chunk.find("web");
        if (web == chunk.end()) continue;
        // A source is worth reporting only with an address; a title is optional.
        const std::string uri = string_member(*web, "uri");
        if (uri.empty()) continue;
        const json source = {{"title", string_member(*web, "title")}, {"uri", uri}};
        if (std::find(t.sources.begin(), t.sources.end(), source) == t.sources.end())
          t.sources.push_back(source);
      }
    }
  }
  return cut_now;
}

json reply_json(const turn_record& t, const std::optional<std::string>& error, json audio) {
  json reply = {{"id", t.source.id}, {"text", t.text}, {"tool_calls", json::array()}};
  for (const auto& c : t.calls) {
    json entry = {{"name", c.name}, {"args", c.args.is_null() ? json::object() : c.args}};
    if (c.ok) {
      entry["ok"] = *c.ok;
      entry["response"] = c.response;
    } else if (!c.blocking && !error) {
      // Still running: its result follows as a tool_result event (and the model may speak of it).
      entry["ok"] = nullptr;
      entry["response"] = nullptr;
      entry["pending"] = true;
    } else {
      entry["ok"] = false;
      entry["response"] = json{{"error", "no result before the turn ended"}};
    }
    reply["tool_calls"].push_back(std::move(entry));
  }
  if (!t.heard.empty()) reply["heard"] = t.heard;
  if (!t.code.empty()) reply["code"] = t.code;
  if (!t.code_results.empty()) reply["code_results"] = t.code_results;
  if (!t.search_queries.empty()) reply["search_queries"] = t.search_queries;
  if (!t.sources.empty()) reply["sources"] = t.sources;
  if (t.interrupted) reply["interrupted"] = true;
  if (t.usage) reply["usage"] = *t.usage;
  if (t.by == turn_fsm::opener::voice) reply["source"] = "voice";
  if (t.by == turn_fsm::opener::follow_up) reply["follow_up"] = true;
  if (!audio.is_null()) reply["audio"] = std::move(audio);
  if (error) reply["error"] = *error;
  return reply;
}

json refusal_json(const json& id, const std::string& error) {
  return json{{"id", id}, {"text", ""}, {"tool_calls", json::array()}, {"error", error}};
}

json turn_started_event(const turn_record& t) {
  json started = {{"event", "turn_started"}, {"id", t.source.id}, {"text", t.source.text}};
  if (t.by == turn_fsm::opener::voice) started["source"] = "voice";
  if (t.by == turn_fsm::opener::follow_up) started["follow_up"] = true;
  return started;
}

json turn_finished_event(const turn_record& t, const std::optional<std::string>& error) {
  json finished = {
      {"event", "turn_finished"}, {"id", t.source.id}, {"ok", !error}, {"calls", t.calls.size()}};
  if (error) finished["error"] = *error;
  return finished;
}

}  // namespace lb::app
