#include "app/confirm_cli.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "common/duration.hpp"
#include "common/json_access.hpp"
#include "common/json_text.hpp"
#include "mqtt/client.hpp"
#include "trust/pin.hpp"

namespace lb::app {
using nlohmann::json;

namespace {

// How long a listing waits for the retained list: it is there at once when the bridge runs.
constexpr std::chrono::milliseconds list_wait{3000};

// Text from the broker (a request's message comes from the model's arguments) is printed with
// control characters escaped, so it cannot fake lines or move the cursor.
std::string printable(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

void print_waiting(const json& list) {
  if (!list.is_array() || list.empty()) {
    std::printf("no approval requests are waiting\n");
    return;
  }
  for (const auto& r : list) {
    if (!r.is_object()) continue;
    const auto left = r.find("expires_in_s");
    const std::string seconds =
        left != r.end() && left->is_number_integer() ? std::to_string(left->get<long long>()) : "?";
    std::printf("%s  %s %s\n    \"%s\"  from %s, expires in %s s\n",
                printable(string_member(r, "id")).c_str(), printable(string_member(r, "tool")).c_str(),
                printable(json_text(r.value("args", json::object()))).c_str(),
                printable(string_member(r, "message")).c_str(), printable(string_member(r, "source")).c_str(),
                seconds.c_str());
  }
  std::printf("answer with: livebridge confirm ID yes|no\n");
}

}  // namespace

int run_hash_pin(std::istream& in) {
  std::string pin;
  if (std::getline(in, pin)) {
    while (!pin.empty() && (pin.back() == '\r' || pin.back() == ' ')) pin.pop_back();
  }
  const std::string stored = trust::pin_verifier::hash_for_storage(pin);
  if (stored.empty()) {
    std::fprintf(stderr, "livebridge hash-pin: a PIN is 4 to 12 digits (read from standard input)\n");
    return 64;
  }
  std::printf("%s\n", stored.c_str());
  return 0;
}

std::string cli_person() {
  if (const char* sudo = std::getenv("SUDO_USER"); sudo != nullptr && *sudo != '\0')
    return std::string("cli:") + sudo;
  if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr)
    return std::string("cli:") + pw->pw_name;
  return "cli:uid " + std::to_string(::geteuid());
}

int run_confirm(const config::config& cfg, const config::secrets& secrets, const confirm_request& request) {
  boost::asio::io_context io;
  const auto topics = config::topics::for_config(cfg.mqtt);
  config::mqtt_config mqtt_cfg = cfg.mqtt;
  mqtt_cfg.client_id = config::ask_client_id(cfg.mqtt, ::getpid());
  const bool listing = request.id.empty();

  int exit_code = 75;
  bool finished = false;
  bool answered = false;
  bool connected = false;
  std::unique_ptr<mqtt::client> client;
  boost::asio::steady_timer deadline(io);
  auto finish = [&](int code) {
    if (finished) return;
    finished = true;
    exit_code = code;
    deadline.cancel();
    client->stop(std::nullopt, [&io] { io.stop(); });
  };
  client = std::make_unique<mqtt::client>(
      io, mqtt_cfg, secrets.mqtt_password, mqtt::client::last_will{},
      std::vector<std::string>{listing ? topics.confirm_pending : topics.confirm_result},
      mqtt::client::handlers{
          .on_connected =
              [&] {
                connected = true;
                // Answered once, at the first time the link is up: a second yes after a reconnect
                // would be refused anyway, but it would read as a mistake in the audit trail.
                if (listing || answered || finished) return;
                answered = true;
                const json answer{{"answer", *request.yes ? "yes" : "no"}, {"by", cli_person()}};
                // A refusal by the broker (its ACL) is told at once, not after the timeout.
                client->publish(plain_message(cfg.mqtt.topic_prefix + "/confirm/" + request.id,
                                              json_text(answer), 1, false),
                                [&](std::optional<std::string> error) {
                                  if (!error || finished) return;
                                  std::fprintf(stderr, "livebridge confirm: the answer was not taken: %s\n",
                                               error->c_str());
                                  finish(error->find("not connected") != std::string::npos ? 75 : 1);
                                });
              },
          .on_lost = [](const std::string&) {},
          .on_message =
              [&](incoming_message&& msg) {
                if (finished) return;
                const json doc = json::parse(msg.payload, nullptr, false);
                if (listing) {
                  print_waiting(doc);
                  finish(0);
                  return;
                }
                if (!doc.is_object() || string_member(doc, "request") != request.id)
                  return;  // another request
                const std::string decision = string_member(doc, "decision");
                const auto ok = doc.find("ok");
                const bool succeeded = ok != doc.end() && ok->is_boolean() && ok->get<bool>();
                std::printf("request %s: %s\n", request.id.c_str(),
                            decision.empty() ? "?" : decision.c_str());
                if (const auto r = doc.find("response"); r != doc.end() && !r->is_null())
                  std::printf("    %s\n", printable(json_text(*r)).c_str());
                if (const std::string reason = string_member(doc, "reason"); !reason.empty())
                  std::printf("    %s\n", printable(reason).c_str());
                std::fflush(stdout);
                finish(succeeded || decision == "declined" ? 0 : 1);
              },
      });
  deadline.expires_after(listing ? list_wait : request.timeout);
  deadline.async_wait([&](const boost::system::error_code& ec) {
    if (ec) return;
    if (listing && connected) {
      // No retained list: the bridge has not run since the broker started, or is not connected.
      std::printf("no approval requests are waiting (no list from a running livebridge on %s)\n",
                  cfg.mqtt.url.c_str());
      finish(0);
      return;
    }
    std::fprintf(stderr,
                 "livebridge confirm: no result within %s (is livebridge running and connected to %s?)\n",
                 format_duration(request.timeout).c_str(), cfg.mqtt.url.c_str());
    finish(75);
  });
  client->start();
  io.run();
  return exit_code;
}

}  // namespace lb::app
