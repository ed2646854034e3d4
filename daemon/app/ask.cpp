#include "app/ask.hpp"
#include "common/json_text.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "common/duration.hpp"
#include "common/json_access.hpp"
#include "mqtt/client.hpp"

namespace lb::app {
using nlohmann::json;

namespace {

// Anyone on the broker can publish on the reply topic: every field is checked before use.
json field_or(const json& obj, const char* key, json fallback) {
  const auto it = obj.find(key);
  return it != obj.end() ? *it : fallback;
}

void print_reply(const std::string& prompt, const json& reply) {
  std::printf(">>> %s\n", prompt.c_str());
  if (const auto calls = reply.find("tool_calls"); calls != reply.end() && calls->is_array()) {
    for (const auto& c : *calls) {
      if (!c.is_object()) continue;
      const std::string name = string_member(c, "name");
      const char* outcome = c.contains("pending")                          ? "PENDING"
                            : field_or(c, "ok", json(false)) == json(true) ? "ok"
                                                                           : "FAILED";
      std::printf("    %s(%s) -> %s %s\n", name.empty() ? "?" : name.c_str(),
                  json_text(field_or(c, "args", json::object())).c_str(), outcome,
                  json_text(field_or(c, "response", json())).c_str());
    }
  }
  const std::string text = string_member(reply, "text");
  if (!text.empty()) std::printf("%s\n", text.c_str());
  if (const auto err = reply.find("error"); err != reply.end() && err->is_string()) {
    std::printf("error: %s\n", err->get<std::string>().c_str());
  }
  std::fflush(stdout);
}

}  // namespace

int run_ask(const config::config& cfg, const config::secrets& secrets, const ask_request& request,
            std::chrono::milliseconds timeout, bool print_json) {
  const bool voice = !request.voice_pcm.empty();
  const std::string text =
      voice ? "(voice, " + std::to_string(request.voice_pcm.size() / 32) + " ms)" : request.text;
  boost::asio::io_context io;
  const auto topics = config::topics::for_config(cfg.mqtt);
  config::mqtt_config mqtt_cfg = cfg.mqtt;
  mqtt_cfg.client_id = config::ask_client_id(cfg.mqtt, ::getpid());
  const std::string id = "ask-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());

  int exit_code = 75;
  bool finished = false;
  // Published once, at the first time the link is up. After a reconnect ask only waits: its
  // subscription comes back, and sending again would make a second turn (with tools, second
  // commands).
  bool prompt_sent = false;
  std::unique_ptr<mqtt::client> client;
  boost::asio::steady_timer deadline(io);
  auto finish = [&](int code) {
    if (finished) return;
    finished = true;
    exit_code = code;
    deadline.cancel();
    client->stop(std::nullopt, [&io] { io.stop(); });
  };
  auto send_prompt = [&] {
    if (voice) {
      // 100 ms chunks, as a microphone satellite sends them, then the end of the stream naming
      // the reply we wait for.
      constexpr std::size_t chunk = 3200;
      bool sent = true;
      if (cfg.live.push_to_talk)
        sent = client->publish_and_forget(plain_message(topics.audio_in_start, "", 1, false));
      for (std::size_t at = 0; sent && at < request.voice_pcm.size(); at += chunk) {
        sent = client->publish_and_forget(
            plain_message(topics.audio_in, request.voice_pcm.substr(at, chunk), 1, false));
      }
      return sent && client->publish_and_forget(
                         plain_message(topics.audio_in_end, json_text(json{{"id", id}}), 1, false));
    }
    // Its own source, <prefix>/prompt/cli: the broker's ACL can let the CLI's user speak as "cli"
    // without letting it speak as anyone else.
    auto prompt =
        plain_message(topics.prompt + "/cli", json_text(json{{"id", id}, {"text", text}}), 1, false);
    // The broker keeps a prompt for a stopped livebridge; once we stop waiting for the answer, it
    // must not run any more.
    prompt.expiry_seconds =
        static_cast<int>(std::max<long long>(1, std::chrono::ceil<std::chrono::seconds>(timeout).count()));
    if (!client->connected()) return false;
    // A prompt the broker refuses (its ACL) never reaches livebridge: say so now, not at the timeout.
    client->publish(std::move(prompt), [&](std::optional<std::string> error) {
      if (!error || finished) return;
      std::fprintf(stderr, "livebridge ask: the broker refused the prompt: %s\n", error->c_str());
      finish(1);
    });
    return true;
  };
  client = std::make_unique<mqtt::client>(
      io, mqtt_cfg, secrets.mqtt_password, mqtt::client::last_will{}, std::vector<std::string>{topics.reply},
      mqtt::client::handlers{
          .on_connected =
              [&] {
                // The link is up here, so every message is handed to paho.
                if (prompt_sent || finished) return;
                prompt_sent = true;
                if (!send_prompt()) {
                  std::fprintf(stderr, "livebridge ask: the prompt could not be sent to %s\n",
                               cfg.mqtt.url.c_str());
                  finish(75);
                }
              },
          .on_lost = [](const std::string&) {},
          .on_message =
              [&](incoming_message&& msg) {
                const json reply = json::parse(msg.payload, nullptr, false);
                if (!reply.is_object() || field_or(reply, "id", json()) != json(id) || finished)
                  return;  // someone else's reply
                if (print_json) {
                  std::printf("%s\n", json_text(reply).c_str());
                } else {
                  print_reply(voice ? "(voice) " + string_member(reply, "heard") : text, reply);
                }
                finish(reply.contains("error") ? 1 : 0);
              },
      });
  deadline.expires_after(timeout);
  deadline.async_wait([&](const boost::system::error_code& ec) {
    if (ec) return;
    std::fprintf(stderr, "livebridge ask: no reply within %s (is livebridge running and connected to %s?)\n",
                 format_duration(timeout).c_str(), cfg.mqtt.url.c_str());
    finish(75);
  });
  client->start();
  io.run();
  return exit_code;
}

}  // namespace lb::app
