// What the bridge reads from the outside, past the parsers: a server frame as the bridge takes
// it into a turn (content, grounding, transcripts, audio) and turns it into a reply, and MQTT
// payloads as prompts and voice-end messages. The first byte chooses which; nothing may crash or
// throw, whatever arrives.
#include <cstddef>
#include <cstdint>
#include <string>

#include "app/turn_record.hpp"
#include "common/json_text.hpp"
#include "live/protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto parsed = lb::live::parse_server_message(input);
      auto* msg = std::get_if<lb::live::server_message>(&parsed);
      if (msg == nullptr) return 0;
      lb::app::turn_record t;
      for (const auto& call : msg->function_calls)
        t.calls.push_back({call.id, call.name, call.args, true, std::nullopt, nullptr});
      for (const auto& id : msg->cancelled_ids) t.record_outcome(id, false, {{"error", "cancelled"}});
      if (msg->usage) t.usage = *msg->usage;
      if (msg->content) {
        const lb::app::content_rules rules{(data[0] & 4) != 0, std::chrono::milliseconds(500)};
        // Twice: the second frame of a turn meets what the first one left.
        lb::app::collect_content(t, *msg->content, rules);
        lb::app::collect_content(t, *msg->content, rules);
      }
      (void)lb::json_text(lb::app::reply_json(t, std::nullopt, nullptr));
      (void)lb::json_text(lb::app::turn_finished_event(t, std::string("e")));
      break;
    }
    case 1: {
      auto parsed = lb::app::parse_prompt(input, 4096);
      if (auto* p = std::get_if<lb::app::prompt>(&parsed)) {
        lb::app::turn_record t;
        t.source = *p;
        (void)lb::json_text(lb::app::turn_started_event(t));
      } else {
        const auto& refused = std::get<lb::app::prompt_refusal>(parsed);
        (void)lb::json_text(lb::app::refusal_json(refused.id, refused.reason));
      }
      break;
    }
    default:
      (void)lb::json_text(lb::app::parse_voice_end_id(input));
      break;
  }
  return 0;
}
