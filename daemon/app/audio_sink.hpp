// Where the model's spoken answers go: a WAV file per turn in a directory (the configured one, the
// service's state directory, or the user's state directory outside systemd), and optionally the
// WAV bytes on <prefix>/audio for a speaker satellite. Runs on the io thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "app/turn_record.hpp"
#include "audio/wav_store.hpp"
#include "common/message.hpp"
#include "config/config.hpp"

namespace lb::app {

// The directory spoken answers are kept in: live.audio.directory, else <state directory>/audio,
// else $XDG_STATE_HOME/livebridge/audio, else $HOME/.local/state/livebridge/audio; empty when none
// of them is known.
std::string spoken_answer_directory(const config::live_config& live);

class audio_sink {
 public:
  // Logs at start where answers are kept, or that they are not and how to change that.
  audio_sink(const config::live_config& live, std::string audio_topic);

  struct kept {
    nlohmann::json member;                // the reply's "audio" member
    std::optional<outgoing_message> wav;  // to publish, when live.audio.publish is on
  };
  // Null member when the turn has no speech.
  kept keep(const turn_record& t);

 private:
  std::unique_ptr<audio::wav_store> store_;  // null: not kept
  bool publish_ = false;
  std::string topic_;
};

}  // namespace lb::app
