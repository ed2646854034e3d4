// WAV (RIFF, PCM) for the model's spoken answers and recorded prompts: 16-bit little-endian mono.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "audio/pcm_pieces.hpp"

namespace lb::audio {

// The 44-byte header of a WAV file whose PCM data is `pcm_bytes` long.
std::string wav_header(std::size_t pcm_bytes, std::uint32_t sample_rate);
// A complete WAV file: the header, then `pcm`.
std::string make_wav(std::string_view pcm, std::uint32_t sample_rate);
std::string make_wav(const pcm_pieces& pcm, std::uint32_t sample_rate);

struct pcm_audio {
  std::string samples;  // 16-bit little-endian mono
  std::uint32_t sample_rate = 0;
};
// Reads a 16-bit mono PCM WAV; nullopt with `why` set for anything else.
std::optional<pcm_audio> parse_wav(std::string_view file, std::string& why);

// A recorded prompt for `livebridge ask --wav`: the samples of a readable, non-empty 16 kHz WAV
// file; nullopt with `why` set ("cannot read the file", "the recording is 44100 Hz; …") else.
std::optional<std::string> read_voice_recording(const std::string& path, std::string& why);

// The rate of an "audio/pcm;rate=24000" MIME type; `fallback` when it names none.
std::uint32_t pcm_rate_of(std::string_view mime_type, std::uint32_t fallback);

}  // namespace lb::audio
