// What one turn gathered, typed: the model's text and speech, its function calls and their
// outcomes, code, search sources, transcripts, usage. Pure functions build it from parsed server
// frames and turn it into the reply and event JSON; the bridge only carries them. Every read of a
// server field is type-checked: a frame the parser accepted can still hold anything.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/turn_fsm.hpp"
#include "audio/pcm_pieces.hpp"
#include "live/protocol.hpp"
#include "trust/gate.hpp"

namespace lb::app {

using nlohmann::json;

// A prompt from `<prefix>/prompt`: plain UTF-8, or JSON {"id", "text"}; anything else is refused
// with a reason that goes back as the reply's error (under `id`, when one could be read).
struct prompt_refusal {
  json id;
  std::string reason;
};
std::variant<prompt, prompt_refusal> parse_prompt(const std::string& payload, std::size_t max_bytes);

// The id a voice stream's end message gives the turn it opens: {"id": "..."} or null.
json parse_voice_end_id(const std::string& payload);

struct call_record {
  std::string id;
  std::string name;
  json args;
  bool blocking = true;
  std::optional<bool> ok;  // unset until the call has an outcome
  json response;           // {"output": …} or {"error": …}
};

struct turn_record {
  prompt source;  // its text as the model got it: without the PIN
  // What the trust gate judges the turn's calls by: the person's own words, the calls so far.
  std::shared_ptr<trust::turn_evidence> evidence = std::make_shared<trust::turn_evidence>();
  turn_fsm::opener by = turn_fsm::opener::prompt;
  std::string text;
  std::vector<call_record> calls;
  std::string heard;  // transcript of voice input
  audio::pcm_pieces audio_pcm;
  std::uint32_t audio_rate = 24000;
  bool audio_truncated = false;
  bool interrupted = false;
  json code = json::array();
  json code_results = json::array();
  json search_queries = json::array();
  json sources = json::array();
  std::optional<json> usage;

  // The call's first outcome is kept: the call that was still waiting for it, or null.
  const call_record* record_outcome(const std::string& call_id, bool ok, const json& response);
};

struct content_rules {
  bool audio_modality = false;                 // the text of a spoken answer is its transcript
  std::chrono::milliseconds max_audio{60000};  // live.audio.max_duration
};
// Adds one serverContent to the turn. Returns true when the audio was cut at max_audio just now.
bool collect_content(turn_record& t, const live::server_content& c, const content_rules& rules);

// The reply's members the turn adds beyond id, text and tool_calls (heard, code, sources, …);
// `audio` is the audio member built by the audio sink, or null.
json reply_json(const turn_record& t, const std::optional<std::string>& error, json audio);
// The reply to a prompt that never became a turn.
json refusal_json(const json& id, const std::string& error);

json turn_started_event(const turn_record& t);
json turn_finished_event(const turn_record& t, const std::optional<std::string>& error);

}  // namespace lb::app
