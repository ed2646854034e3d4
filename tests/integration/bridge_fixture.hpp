// The fixture every integration test uses: the real livebridge binary against a real mosquitto,
// the fake Live server over TLS (with a throwaway CA) and simulated devices.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "devices.hpp"
#include "fake_live_server.hpp"
#include "mqtt_peer.hpp"
#include "process.hpp"
#include "simulated_model.hpp"

namespace lb::test {

using namespace std::chrono_literals;

inline constexpr auto patience = 10s;  // an upper bound for things that take milliseconds

inline const char* const seed_tools = R"(  - name: turn_on_the_lights
    publish: {topic: zigbee2mqtt/living_room/set, payload: {state: "ON"}}
    ack: {topic: zigbee2mqtt/living_room, match: {state: "ON"}, timeout: 3s}
  - name: turn_off_the_lights
    publish: {topic: zigbee2mqtt/living_room/set, payload: {state: "OFF"}}
    ack: {topic: zigbee2mqtt/living_room, match: {state: "OFF"}, timeout: 3s}
)";

inline const char* const home_tools = R"(  - name: set_light
    parameters:
      properties:
        room: {type: string, enum: [living_room, kitchen, cellar]}
        state: {type: string, enum: ["ON", "OFF"]}
        brightness: {type: integer, minimum: 1, maximum: 254}
      required: [room, state]
    publish: {topic: "zigbee2mqtt/{{room}}/set", payload: {state: "{{state}}", brightness: "{{brightness}}"}}
    ack: {topic: "zigbee2mqtt/{{room}}", match: {state: "{{state}}", brightness: "{{brightness}}"}, tolerance: 1, timeout: 1500ms}
  - name: set_desk_lamp
    parameters: {properties: {percent: {type: integer, minimum: 0, maximum: 100}}, required: [percent]}
    publish: {topic: cmnd/desk_lamp/Dimmer, payload: "{{percent}}"}
    ack: {topic: stat/desk_lamp/RESULT, match: {Dimmer: "{{percent}}"}, reject: {Command: Unknown}, timeout: 3s}
  - name: switch_coffee_machine
    parameters: {properties: {on: {type: boolean}}, required: [on]}
    publish: {topic: shelly-coffee/rpc, payload: {id: "{{call.id}}", src: "{{bridge.client_id}}", method: Switch.Set, params: {id: 0, on: "{{on}}"}}}
    ack: {style: rpc, topic: "{{bridge.client_id}}/rpc", timeout: 3s}
  - name: set_thermostat
    parameters: {properties: {celsius: {type: number, minimum: 10, maximum: 28}}, required: [celsius]}
    publish: {topic: svc/thermostat/set, payload: {target: "{{celsius}}"}}
    ack: {style: response, match: {ok: true}, timeout: 3s}
)";

inline json call(const std::string& name, json args) {
  return json{{"id", fake_live_server::new_call_id()}, {"name", name}, {"args", std::move(args)}};
}

// A model that answers every user turn by issuing `calls` in one toolCall, and once every call is
// answered, says which succeeded.
inline fake_live_server::script model_calling(std::vector<json> calls) {
  auto answered = std::make_shared<std::vector<json>>();
  return [calls, answered](fake_live_server::connection& conn, const json& msg) {
    if (msg.contains("clientContent")) {
      answered->clear();
      json fresh = json::array();
      for (auto c : calls) {
        c["id"] = fake_live_server::new_call_id();
        fresh.push_back(c);
      }
      conn.send(json{{"toolCall", {{"functionCalls", fresh}}}});
      return;
    }
    if (msg.contains("toolResponse")) {
      for (const auto& r : msg["toolResponse"]["functionResponses"]) answered->push_back(r);
      if (answered->size() < calls.size()) return;
      std::string summary;
      for (const auto& r : *answered) {
        summary += r["name"].get<std::string>() + (r["response"].contains("output") ? " ok; " : " failed; ");
      }
      answer_text(conn, summary);
    }
  };
}

class BridgeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_dir_ = new temp_dir();
    pki_ = new test_pki(*pki_dir_);
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete pki_dir_;
  }

  void SetUp() override {
    broker_ = std::make_unique<mosquitto_broker>(dir_);
    observer_ = std::make_unique<mqtt_peer>(broker_->uri(), "test-observer");
    observer_->subscribe("#");
    dir_.write("gemini-api-key", "test-key\n");
  }

  void TearDown() override {
    if (HasFailure() && bridge_) {
      const auto code = bridge_->wait(0ms);
      std::cerr << "---- livebridge log ("
                << (code ? "exited " + std::to_string(*code) : std::string("running")) << ") ----\n"
                << bridge_->log() << "------------------------\n";
    }
    bridge_.reset();
    server_.reset();
  }

  void start_server(fake_live_server::script s, bool answer_setup = true, std::string key = "test-key") {
    fake_live_server::options o;
    o.tls = true;
    o.cert_chain_file = pki_->server_cert;
    o.private_key_file = pki_->server_key;
    o.api_key = std::move(key);
    o.answer_setup = answer_setup;
    server_ = std::make_unique<fake_live_server>(o, std::move(s));
  }

  std::string config(const std::string& tools, const std::string& live_extra = "") const {
    return "live:\n  url: " + server_->url() +
           "\n  model: models/gemini-live-2.5-flash-preview\n  ca_file: " + pki_->ca_cert +
           "\n  setup_timeout: 2s\n" + live_extra + "mqtt:\n  url: " + broker_->url() +
           "\n  client_id: lb-it\n" + (tools.empty() ? "" : "tools:\n" + tools);
  }

  // Starts the daemon with `yaml`; the API key as a systemd credential, as under the unit.
  void start_bridge(const std::string& yaml, bool wait_ready = true,
                    std::map<std::string, std::string> env = {}, const std::vector<std::string>& flags = {}) {
    dir_.write("livebridge.yaml", yaml);
    std::vector<std::string> argv{LIVEBRIDGE_BINARY, "--config", dir_.file("livebridge.yaml"), "--log-level",
                                  "debug"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    env.emplace("CREDENTIALS_DIRECTORY", dir_.path());
    env.emplace("GEMINI_API_KEY", "");
    env.emplace("GOOGLE_API_KEY", "");
    bridge_ = std::make_unique<process>(argv, dir_.file("livebridge.log"), std::move(env));
    if (!wait_ready) return;
    ASSERT_TRUE(observer_->wait_for(
        "livebridge/availability", [](const seen_message& m) { return m.payload == "online"; }, patience))
        << "livebridge never published online";
    ASSERT_TRUE(bridge_->wait_for_log("live.ready", patience)) << "no setupComplete";
  }

  // Publishes a prompt the way a home automation would and waits for its reply.
  json ask(const std::string& text, std::chrono::milliseconds timeout = patience) {
    const std::string id = "prompt-" + std::to_string(++prompt_counter_);
    observer_->publish("livebridge/prompt", json{{"id", id}, {"text", text}}.dump(), 1);
    auto reply = observer_->wait_for(
        "livebridge/reply",
        [&](const seen_message& m) {
          const json r = json::parse(m.payload, nullptr, false);
          return r.is_object() && r.value("id", json()) == json(id);
        },
        timeout);
    if (!reply) return json();
    return json::parse(reply->payload);
  }

  std::vector<json> tool_responses() const {
    std::vector<json> out;
    for (const auto& m : messages_of(server_->received(), "toolResponse")) {
      for (const auto& r : m["functionResponses"]) out.push_back(r);
    }
    return out;
  }

  std::size_t commands_on(const std::string& topic) const { return observer_->messages_on(topic).size(); }

  static inline temp_dir* pki_dir_ = nullptr;
  static inline test_pki* pki_ = nullptr;
  temp_dir dir_;
  std::unique_ptr<mosquitto_broker> broker_;
  std::unique_ptr<mqtt_peer> observer_;
  std::unique_ptr<fake_live_server> server_;
  std::unique_ptr<process> bridge_;
  int prompt_counter_ = 0;
};

}  // namespace lb::test
