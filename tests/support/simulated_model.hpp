// A tiny rule-based "model" for the fake Live server, enough to run the seed notebook's prompts
// without Google: it greets, and it turns the lights on or off by calling whichever declared
// function fits, then reports what the tool response said. Streams text in fragments (TEXT) or
// 24 kHz PCM plus an output transcript (AUDIO), and ends turns with usageMetadata, in the shapes
// the reference describes.
#pragma once

#include <cstdint>
#include <string>

#include "fake_live_server.hpp"

namespace lb::test {

fake_live_server::script simulated_model();

// Sends `text` as the model's answer in the connection's modality, then turnComplete.
void answer_text(fake_live_server::connection& conn, const std::string& text);

// Speech as the model sends it: a modelTurn part of inline 24 kHz PCM (16-bit little-endian mono).
nlohmann::json audio_part(const std::string& pcm);
// `seconds` of a 440 Hz tone, 16-bit little-endian mono at `rate`.
std::string tone(double seconds, std::uint32_t rate = 24000);

}  // namespace lb::test
