// The Live API's JSON messages: building what the client sends, parsing what the server sends.
// Pure functions, no I/O. Server input is untrusted: parsing never throws, checks every type, and
// ignores fields it does not know.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"

namespace lb::live {

using json = nlohmann::json;

// ---- client → server -------------------------------------------------------------------------

std::string build_setup(const config::live_config& live, const std::vector<tools::tool_spec>& tools);
// The same setup resuming the session `handle` (empty: a fresh session).
std::string with_resumption_handle(const std::string& setup_frame, const std::string& handle);
std::string build_user_turn(std::string_view text);
// A note for the model's context that does not ask it to answer now (turnComplete false): it
// reads it with the next input.
std::string build_context_note(std::string_view text);
// One answered call. `response` is {"output": …} or {"error": "…"}.
// `scheduling` ("INTERRUPT", "WHEN_IDLE", "SILENT") only for NON_BLOCKING functions; empty = none.
json function_response(std::string_view id, std::string_view name, json response,
                       std::string_view scheduling = {});
// A toolResponse answering one or several calls (the API takes them together or apart).
std::string build_tool_response(json function_responses);
// Voice input: raw PCM16LE mono at `sample_rate`, and the end of the microphone stream.
std::string build_realtime_audio(std::string_view pcm, std::uint32_t sample_rate);
std::string build_audio_stream_end();
// Push to talk (automatic activity detection off): the user started and stopped speaking.
std::string build_activity_start();
std::string build_activity_end();

// ---- server → client -------------------------------------------------------------------------

struct function_call {
  std::string id;
  std::string name;
  json args;  // an object; empty when the model sent none
};

struct server_content {
  std::string text;                   // the turn's text parts, thoughts left out
  std::string output_transcription;   // what the model said, in AUDIO modality
  std::string input_transcription;    // what the user said, for voice input
  std::string audio_pcm;              // inlineData audio of this frame, decoded: PCM16LE mono
  std::uint32_t audio_rate = 24000;   // from the MIME type; 24 kHz when it names none
  json code = json::array();          // code-execution tool: [{"language", "code"}]
  json code_results = json::array();  // [{"outcome", "output"}]
  std::optional<json> grounding;      // google_search: groundingMetadata as sent
  bool turn_complete = false;
  bool generation_complete = false;
  bool interrupted = false;
};

struct server_message {
  bool setup_complete = false;
  std::optional<server_content> content;
  bool has_tool_call = false;
  std::vector<function_call> function_calls;
  std::vector<std::string> cancelled_ids;
  std::optional<std::chrono::milliseconds> go_away;  // timeLeft
  struct resumption_update {
    std::string new_handle;
    bool resumable = false;
  };
  std::optional<resumption_update> resumption;
  std::optional<json> usage;
  std::chrono::steady_clock::time_point received_at{};  // when the frame's read completed
  // Parts of the frame that were present but unusable (a call without an id, a field of the wrong
  // type). The rest of the frame is still used.
  std::vector<std::string> problems;
};

// Returns the message or why the frame is unusable as a whole (not JSON, not an object).
std::variant<server_message, std::string> parse_server_message(std::string_view frame);

// proto3 JSON Duration: "50s", "9.5s".
std::optional<std::chrono::milliseconds> parse_proto_duration(std::string_view text);

// A frame for the debug log: base64 audio and long strings elided.
std::string summarize_frame(std::string_view frame, std::size_t max_bytes = 2000);

}  // namespace lb::live
