#include "app/audio_sink.hpp"

#include <cstdlib>

#include "audio/wav.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"

namespace lb::app {

namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

std::string spoken_answer_directory(const config::live_config& live) {
  if (live.audio.directory && !live.audio.directory->empty()) return *live.audio.directory;
  if (const std::string state = config::resolved_state_directory(live); !state.empty())
    return state + "/audio";
  // Outside systemd: the XDG base directory for state, as a user would look for it.
  if (const std::string xdg = env("XDG_STATE_HOME"); !xdg.empty() && xdg.front() == '/')
    return xdg + "/livebridge/audio";
  if (const std::string home = env("HOME"); !home.empty() && home.front() == '/')
    return home + "/.local/state/livebridge/audio";
  return {};
}

audio_sink::audio_sink(const config::live_config& live, std::string audio_topic)
    : publish_(live.audio.publish), topic_(std::move(audio_topic)) {
  if (live.response_modality != config::modality::audio) return;
  const std::string dir = spoken_answer_directory(live);
  if (dir.empty()) {
    log::warning("audio.not_kept",
                 "reason=\"no live.audio.directory, no state directory and no HOME\" "
                 "fix=\"set live.audio.directory\"");
    return;
  }
  store_ = std::make_unique<audio::wav_store>(dir, live.audio.keep_files);
  log::info("audio.directory", "path=" + log::quote(dir));
}

audio_sink::kept audio_sink::keep(const turn_record& t) {
  kept out;
  if (t.audio_pcm.empty()) return out;
  json member = {{"sample_rate", t.audio_rate},
                 {"seconds", static_cast<double>(t.audio_pcm.size() / 2) / t.audio_rate}};
  if (t.audio_truncated) member["truncated"] = true;
  if (store_) {
    const std::string name =
        t.source.id.is_string() ? t.source.id.get<std::string>() : json_text(t.source.id);
    auto saved = store_->save(t.audio_pcm, t.audio_rate, name);
    if (saved.error.empty()) {
      member["file"] = saved.path;
    } else {
      log::error("audio.write_failed", "reason=" + log::quote(saved.error));
      member["error"] = saved.error;
    }
  } else {
    member["error"] = "not kept: set live.audio.directory";
  }
  if (publish_) out.wav = plain_message(topic_, audio::make_wav(t.audio_pcm, t.audio_rate), 1, false);
  out.member = std::move(member);
  return out;
}

}  // namespace lb::app
