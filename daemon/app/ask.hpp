// `livebridge ask "…"`: publish a prompt to a running livebridge over MQTT (on
// <prefix>/prompt/cli, the source "cli"), wait for its reply and print it the way the seed
// notebook did.
#pragma once

#include <chrono>
#include <string>

#include "config/config.hpp"
#include "config/secrets.hpp"

namespace lb::app {

struct ask_request {
  std::string text;       // a typed prompt, or (when not empty)
  std::string voice_pcm;  // a recorded one: 16 kHz PCM16LE mono, sent as a microphone would
};

// Exit codes: 0 the reply came and carries no error, 1 the reply reports an error, 75 no reply in time.
int run_ask(const config::config& cfg, const config::secrets& secrets, const ask_request& request,
            std::chrono::milliseconds timeout, bool print_json);

}  // namespace lb::app
