// A tiny rule-based "model" for the fake Live server, enough to run the seed notebook's prompts
// without Google: it greets, and it turns the lights on or off by calling whichever declared
// function fits, then reports what the tool response said. Streams text in fragments (TEXT) or
// 24 kHz PCM plus an output transcript (AUDIO), and ends turns with usageMetadata, in the shapes
// the reference describes.
#pragma once

#include "fake_live_server.hpp"

namespace lb::test {

fake_live_server::script simulated_model();

// Sends `text` as the model's answer in the connection's modality, then turnComplete.
void answer_text(fake_live_server::connection& conn, const std::string& text);

}  // namespace lb::test
