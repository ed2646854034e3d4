#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "config/loader.hpp"
#include "tools/dispatcher.hpp"

namespace lb::tools {
namespace {

// Stands in for the MQTT adapter: records what would go to the broker and completes publishes
// (the PUBACK) on the io thread, or holds them when a test wants to control that.
class recording_publisher : public publisher {
 public:
  explicit recording_publisher(boost::asio::io_context& io) : io_(io) {}
  bool connected() const override { return up; }
  void publish(outgoing_message msg, std::function<void(std::optional<std::string>)> done) override {
    sent.push_back(std::move(msg));
    if (!auto_puback) {
      held.push_back(std::move(done));
      return;
    }
    boost::asio::post(io_, [done = std::move(done), fail = fail_with] { done(fail); });
  }
  bool up = true;
  bool auto_puback = true;
  std::optional<std::string> fail_with;
  std::vector<outgoing_message> sent;
  std::vector<std::function<void(std::optional<std::string>)>> held;

 private:
  boost::asio::io_context& io_;
};

const char* const tools_yaml = R"(live: {model: m}
mqtt: {client_id: lb-test}
tools:
  - name: set_light
    parameters:
      properties:
        room: {type: string}
        state: {type: string, enum: ["ON", "OFF"]}
        level: {type: integer, minimum: 0, maximum: 254}
      required: [room, state]
    publish: {topic: "z2m/{{room}}/set", payload: {state: "{{state}}", brightness: "{{level}}"}}
    ack: {topic: "z2m/{{room}}", match: {state: "{{state}}", brightness: "{{level}}"}, tolerance: 1, timeout: 200ms}
  - name: tasmota_power
    parameters: {properties: {cmd: {type: string}}, required: [cmd]}
    publish: {topic: "cmnd/lamp/{{cmd}}", payload: "ON"}
    ack: {topic: stat/lamp/RESULT, reject: {Command: Unknown}, timeout: 200ms}
  - name: plug
    parameters: {properties: {on: {type: boolean}}, required: [on]}
    publish: {topic: shelly1/rpc, payload: {id: "{{call.id}}", src: "{{bridge.client_id}}", method: Switch.Set, params: {id: 0, on: "{{on}}"}}}
    ack: {style: rpc, topic: "{{bridge.client_id}}/rpc", timeout: 200ms}
  - name: heater
    publish: {topic: svc/heater, payload: {on: true}}
    ack: {style: response, match: {ok: true}, timeout: 200ms}
  - name: doorbell_chime
    publish: {topic: chime/ring, payload: ring}
)";

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest()
      : cfg_(*config::load_text(tools_yaml, "t.yaml").cfg),
        pub_(io_),
        dispatcher_(io_.get_executor(), cfg_.tools, pub_, {"lb-test", "livebridge/response/lb-test"}) {}

  // Starts a call and returns the slot its answer lands in.
  std::shared_ptr<std::vector<call_outcome>> call(const std::string& id, const std::string& name, json args) {
    auto answers = std::make_shared<std::vector<call_outcome>>();
    dispatcher_.call(id, name, std::move(args),
                     [answers](call_outcome o) { answers->push_back(std::move(o)); });
    return answers;
  }
  void settle() {
    io_.restart();
    io_.poll();
  }
  void run_for(std::chrono::milliseconds d) {
    io_.restart();
    io_.run_for(d);
  }
  void device_says(const std::string& topic, const std::string& payload, bool retained = false,
                   const std::string& correlation = {}) {
    dispatcher_.on_message({topic, payload, retained, correlation});
    settle();
  }
  static std::string error_of(const call_outcome& o) { return o.response.value("error", ""); }

  boost::asio::io_context io_;
  config::config cfg_;
  recording_publisher pub_;
  dispatcher dispatcher_;
};

TEST_F(DispatcherTest, StateAcknowledgementConfirmsWithWhatTheDeviceReported) {
  auto answers = call("c1", "set_light", {{"room", "kitchen"}, {"state", "ON"}, {"level", 128.0}});
  settle();
  ASSERT_EQ(pub_.sent.size(), 1u);
  EXPECT_EQ(pub_.sent[0].topic, "z2m/kitchen/set");
  EXPECT_EQ(json::parse(pub_.sent[0].payload), json({{"state", "ON"}, {"brightness", 128}}));
  EXPECT_EQ(pub_.sent[0].expiry_seconds, 1);
  EXPECT_TRUE(answers->empty());  // the PUBACK alone is not an answer

  device_says("z2m/kitchen", R"({"state":"ON","brightness":127,"linkquality":80})");
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_TRUE((*answers)[0].ok);
  EXPECT_EQ((*answers)[0].response["output"]["status"], "confirmed");
  EXPECT_EQ((*answers)[0].response["output"]["state"]["brightness"], 127);
  run_for(std::chrono::milliseconds(300));
  EXPECT_EQ(answers->size(), 1u);  // the timer does not answer a second time
}

TEST_F(DispatcherTest, RetainedAndNonMatchingStatesAreNotAcknowledgements) {
  auto answers = call("c1", "set_light", {{"room", "kitchen"}, {"state", "ON"}});
  settle();
  device_says("z2m/kitchen", R"({"state":"ON"})", /*retained=*/true);
  device_says("z2m/kitchen", R"({"state":"OFF"})");
  device_says("z2m/hall", R"({"state":"ON"})");
  EXPECT_TRUE(answers->empty());
  device_says("z2m/kitchen", R"({"state":"ON"})");
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_TRUE((*answers)[0].ok);
}

TEST_F(DispatcherTest, SilentDeviceTimesOutWithAnHonestError) {
  auto answers = call("c1", "set_light", {{"room", "kitchen"}, {"state", "ON"}});
  run_for(std::chrono::milliseconds(400));
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_FALSE((*answers)[0].ok);
  EXPECT_EQ(error_of((*answers)[0]),
            "timeout: no matching state from z2m/kitchen within 200ms; the command was published and the "
            "device may still act");
}

TEST_F(DispatcherTest, ADeviceReportingSomethingElseTimesOutSayingWhatItReported) {
  auto answers = call("c1", "set_light", {{"room", "kitchen"}, {"state", "ON"}});
  settle();
  for (int i = 0; i < 5000; ++i)
    device_says("z2m/kitchen", R"({"state":"OFF","linkquality":)" + std::to_string(i) + "}");
  run_for(std::chrono::milliseconds(400));
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_EQ(
      error_of((*answers)[0]),
      "timeout: no matching state from z2m/kitchen within 200ms (5000 other reports, the last: "
      "{\"linkquality\":4999,\"state\":\"OFF\"}); the command was published and the device may still act");
}

TEST_F(DispatcherTest, LateAnswerIsNotTakenForTheNextCommand) {
  auto first = call("c1", "set_light", {{"room", "kitchen"}, {"state", "ON"}});
  run_for(std::chrono::milliseconds(400));
  ASSERT_EQ(first->size(), 1u);
  auto second = call("c2", "set_light", {{"room", "kitchen"}, {"state", "OFF"}});
  settle();
  device_says("z2m/kitchen", R"({"state":"ON"})");  // the first command's late echo
  EXPECT_TRUE(second->empty());
  device_says("z2m/kitchen", R"({"state":"OFF"})");
  ASSERT_EQ(second->size(), 1u);
  EXPECT_TRUE((*second)[0].ok);
}

TEST_F(DispatcherTest, OneCommandInFlightPerDevice) {
  auto on = call("c1", "set_light", {{"room", "kitchen"}, {"state", "ON"}});
  auto off = call("c2", "set_light", {{"room", "kitchen"}, {"state", "OFF"}});
  auto hall = call("c3", "set_light", {{"room", "hall"}, {"state", "ON"}});
  settle();
  ASSERT_EQ(pub_.sent.size(), 2u);  // kitchen ON and hall ON; kitchen OFF waits
  EXPECT_EQ(pub_.sent[1].topic, "z2m/hall/set");
  device_says("z2m/kitchen", R"({"state":"ON"})");
  ASSERT_EQ(pub_.sent.size(), 3u);
  EXPECT_EQ(json::parse(pub_.sent[2].payload)["state"], "OFF");
  device_says("z2m/kitchen", R"({"state":"OFF"})");
  device_says("z2m/hall", R"({"state":"ON"})");
  EXPECT_EQ(on->size(), 1u);
  EXPECT_EQ(off->size(), 1u);
  EXPECT_EQ(hall->size(), 1u);
  EXPECT_TRUE((*off)[0].ok);
}

TEST_F(DispatcherTest, UnknownFunctionAndBadArgumentsPublishNothing) {
  auto unknown = call("c1", "open_the_pod_bay_doors", json::object());
  auto bad = call("c2", "set_light", {{"room", "kitchen"}, {"state", "BLUE"}});
  auto range = call("c3", "set_light", {{"room", "kitchen"}, {"state", "ON"}, {"level", 999}});
  auto inject = call("c4", "set_light", {{"room", "kitchen/#"}, {"state", "ON"}});
  auto extra = call("c5", "doorbell_chime", {{"loud", true}});
  settle();
  EXPECT_TRUE(pub_.sent.empty());
  EXPECT_EQ(error_of((*unknown)[0]).rfind("unknown function 'open_the_pod_bay_doors'; nothing was done", 0),
            0u);
  EXPECT_EQ(error_of((*bad)[0]),
            "invalid arguments for set_light: argument 'state': \"BLUE\" is not one of \"ON\", \"OFF\"; "
            "nothing was done");
  EXPECT_NE(error_of((*range)[0]).find("999 is above the maximum 254"), std::string::npos);
  EXPECT_NE(error_of((*inject)[0]).find("may not contain '/', '+', '#'"), std::string::npos);
  EXPECT_NE(error_of((*extra)[0]).find("takes no arguments"), std::string::npos);
}

TEST_F(DispatcherTest, BrokerDownAnswersAtOnceWithoutPublishing) {
  pub_.up = false;
  auto answers = call("c1", "set_light", {{"room", "kitchen"}, {"state", "ON"}});
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_EQ(error_of((*answers)[0]), "the MQTT broker is not connected; nothing was published to the device");
  EXPECT_TRUE(pub_.sent.empty());
}

TEST_F(DispatcherTest, PublishFailureIsReported) {
  pub_.fail_with = "error -3";
  auto answers = call("c1", "set_light", {{"room", "kitchen"}, {"state", "ON"}});
  settle();
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_EQ(error_of((*answers)[0]),
            "the broker did not accept the command (error -3); the device was not reached");
}

TEST_F(DispatcherTest, TasmotaUnknownCommandIsARejection) {
  auto answers = call("c1", "tasmota_power", {{"cmd", "POWR"}});
  settle();
  device_says("stat/lamp/RESULT", R"({"Command":"Unknown"})");
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_EQ(error_of((*answers)[0]),
            "rejected by the device: stat/lamp/RESULT reported {\"Command\":\"Unknown\"}");
}

TEST_F(DispatcherTest, ShellyRpcReplyIsMatchedByItsId) {
  auto answers = call("c1", "plug", {{"on", true}});
  settle();
  ASSERT_EQ(pub_.sent.size(), 1u);
  const json request = json::parse(pub_.sent[0].payload);
  EXPECT_EQ(request["src"], "lb-test");
  EXPECT_EQ(request["params"]["on"], true);
  ASSERT_TRUE(request["id"].is_number_integer());
  const auto id = request["id"].get<std::uint64_t>();
  device_says("lb-test/rpc",
              json({{"id", id + 1}, {"result", {{"was_on", true}}}}).dump());  // another request's
  EXPECT_TRUE(answers->empty());
  device_says("lb-test/rpc", json({{"id", id}, {"src", "shelly1"}, {"result", {{"was_on", false}}}}).dump());
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_EQ((*answers)[0].response["output"]["result"]["was_on"], false);
}

TEST_F(DispatcherTest, ShellyRpcErrorIsARejection) {
  auto answers = call("c1", "plug", {{"on", true}});
  settle();
  const auto id = json::parse(pub_.sent[0].payload)["id"];
  device_says(
      "lb-test/rpc",
      json({{"id", id}, {"error", {{"code", -103}, {"message", "Missing required argument 'on'!"}}}}).dump());
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_EQ(error_of((*answers)[0]), "rejected by the device: Missing required argument 'on'! (code -103)");
}

TEST_F(DispatcherTest, MqttV5ResponseIsMatchedByCorrelationData) {
  auto answers = call("c1", "heater", json::object());
  settle();
  ASSERT_EQ(pub_.sent.size(), 1u);
  EXPECT_EQ(pub_.sent[0].response_topic, "livebridge/response/lb-test");
  ASSERT_FALSE(pub_.sent[0].correlation_data.empty());
  device_says("livebridge/response/lb-test", R"({"ok":true})", false, "someone-else");
  EXPECT_TRUE(answers->empty());
  device_says("livebridge/response/lb-test", R"({"ok":true,"temp":21})", false,
              pub_.sent[0].correlation_data);
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_EQ((*answers)[0].response["output"]["response"]["temp"], 21);
}

TEST_F(DispatcherTest, BrokerOnlyAckSaysItIsUnverified) {
  pub_.auto_puback = false;
  auto answers = call("c1", "doorbell_chime", json::object());
  settle();
  EXPECT_TRUE(answers->empty());
  pub_.held[0](std::nullopt);
  ASSERT_EQ(answers->size(), 1u);
  EXPECT_EQ((*answers)[0].response["output"]["status"], "accepted_unverified");
}

TEST_F(DispatcherTest, CancelledBeforePublishIsNeverPublished) {
  auto first = call("c1", "set_light", {{"room", "kitchen"}, {"state", "ON"}});
  auto second = call("c2", "set_light", {{"room", "kitchen"}, {"state", "OFF"}});
  settle();
  EXPECT_TRUE(dispatcher_.cancel("c2"));
  device_says("z2m/kitchen", R"({"state":"ON"})");
  run_for(std::chrono::milliseconds(300));
  EXPECT_EQ(pub_.sent.size(), 1u);
  EXPECT_TRUE(second->empty());
  EXPECT_EQ(first->size(), 1u);
}

TEST_F(DispatcherTest, CancelledAfterPublishIsNeverAnswered) {
  auto answers = call("c1", "set_light", {{"room", "kitchen"}, {"state", "ON"}});
  settle();
  EXPECT_TRUE(dispatcher_.cancel("c1"));
  EXPECT_FALSE(dispatcher_.cancel("c1"));
  device_says("z2m/kitchen", R"({"state":"ON"})");
  run_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(answers->empty());
  EXPECT_EQ(dispatcher_.pending_calls(), 0u);
}

TEST_F(DispatcherTest, FailAllAnswersEverything) {
  auto a = call("c1", "set_light", {{"room", "kitchen"}, {"state", "ON"}});
  auto b = call("c2", "set_light", {{"room", "kitchen"}, {"state", "OFF"}});
  settle();
  dispatcher_.fail_all("shutting down");
  run_for(std::chrono::milliseconds(50));
  ASSERT_EQ(a->size(), 1u);
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ(error_of((*b)[0]), "shutting down");
  EXPECT_EQ(pub_.sent.size(), 1u);
}

// A reload replaces the dispatcher once no call is pending, but a publish whose PUBACK is still
// outstanding (its call answered by timeout meanwhile) completes later; it must not reach the
// dispatcher that is gone. Under AddressSanitizer the old code is a heap-use-after-free here.
TEST_F(DispatcherTest, APublishCompletingAfterTheDispatcherIsGoneIsIgnored) {
  recording_publisher slow_broker(io_);
  slow_broker.auto_puback = false;
  auto replaced = std::make_unique<dispatcher>(io_.get_executor(), cfg_.tools, slow_broker,
                                               dispatcher::options{"lb-test", "livebridge/response/lb-test"});
  auto answers = std::make_shared<std::vector<call_outcome>>();
  replaced->call("c1", "set_light", {{"room", "kitchen"}, {"state", "ON"}},
                 [answers](call_outcome o) { answers->push_back(std::move(o)); });
  run_for(std::chrono::milliseconds(300));  // past the 200 ms acknowledgement timeout
  ASSERT_EQ(answers->size(), 1u);
  ASSERT_EQ(replaced->pending_calls(), 0u);
  replaced.reset();
  ASSERT_EQ(slow_broker.held.size(), 1u);
  for (auto& done : slow_broker.held) done(std::nullopt);  // the broker's PUBACK, late
  settle();
  EXPECT_EQ(answers->size(), 1u);
}

TEST_F(DispatcherTest, SubscriptionFilters) {
  const auto filters = ack_subscription_filters(cfg_.tools, {"lb-test", "livebridge/response/lb-test"});
  EXPECT_EQ(filters, (std::vector<std::string>{"z2m/+", "stat/lamp/RESULT", "lb-test/rpc",
                                               "livebridge/response/lb-test"}));
}

}  // namespace
}  // namespace lb::tools
