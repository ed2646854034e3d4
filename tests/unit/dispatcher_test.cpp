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

TEST_F(DispatcherTest, AnApprovedCallQueuedBehindAnotherOutlivesTheSession) {
  auto model = call("c1", "set_light", {{"room", "garage"}, {"state", "ON"}});
  auto model_queued = call("c2", "set_light", {{"room", "garage"}, {"state", "OFF"}});
  auto approved = std::make_shared<std::vector<call_outcome>>();
  dispatcher_.call(
      "approval-1", "set_light", {{"room", "garage"}, {"state", "ON"}},
      [approved](call_outcome o) { approved->push_back(std::move(o)); }, true);
  settle();
  EXPECT_EQ(dispatcher_.pending_model_calls(), 2u);
  // The session ends: the model's queued call is forgotten, the approved one is not.
  EXPECT_EQ(dispatcher_.cancel_unpublished(), std::vector<std::string>{"c2"});
  device_says("z2m/garage", R"({"state":"ON"})");
  ASSERT_EQ(pub_.sent.size(), 2u);  // the approved command went out after the first
  device_says("z2m/garage", R"({"state":"ON"})");
  ASSERT_EQ(approved->size(), 1u);
  EXPECT_TRUE((*approved)[0].ok);
  EXPECT_TRUE(model_queued->empty());
  EXPECT_EQ(model->size(), 1u);
  EXPECT_EQ(dispatcher_.pending_calls(), 0u);
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

// Queries, dry runs and the bridge's own topics: tools the YAML loader does not read yet are
// built here as the loader would build them.
text_template tt(std::string_view text) {
  return std::get<text_template>(text_template::parse(text));
}

param_schema string_arguments(std::vector<std::string> names) {
  param_schema p;
  for (auto& n : names) {
    named_schema property;
    property.name = n;
    property.schema.type = value_type::string;
    p.properties.push_back(std::move(property));
  }
  p.required = std::move(names);
  return p;
}

tool_spec query_tool(std::string name, std::string_view topic, std::optional<param_schema> parameters) {
  tool_spec t;
  t.name = std::move(name);
  t.description = "looks";
  t.parameters = std::move(parameters);
  t.query = query_spec{tt(topic)};
  return t;
}

class TrustDispatcherTest : public ::testing::Test {
 protected:
  using clock = std::chrono::steady_clock;

  TrustDispatcherTest() : tools_(config::load_text(tools_yaml, "t.yaml").cfg->tools), pub_(io_) {
    tools_.push_back(query_tool("light_state", "z2m/{{room}}", string_arguments({"room"})));
    tools_.push_back(query_tool("lamp_power", "stat/lamp/POWER", std::nullopt));
    tools_.push_back(query_tool("bridge_state", "livebridge/{{what}}", string_arguments({"what"})));
    tool_spec relay;  // a command topic built from an argument
    relay.name = "relay";
    relay.parameters = string_arguments({"base"});
    relay.publish.push_back(publish_spec{tt("{{base}}/set"), payload_template(tt("ON")), 0, true});
    tools_.push_back(std::move(relay));
  }

  tool_spec& tool(std::string_view name) {
    for (auto& t : tools_)
      if (t.name == name) return t;
    throw std::logic_error("no tool " + std::string(name));
  }
  dispatcher::options options(bool dry_run = false) {
    return {.client_id = "lb-test",
            .response_topic = "livebridge/response/lb-test",
            .dry_run = dry_run,
            .own_topic_prefix = "livebridge",
            .clock = [this] { return now_; }};
  }
  // After any change to tools_: the dispatcher keeps its own copy.
  dispatcher& start(bool dry_run = false) {
    dispatcher_ = std::make_unique<dispatcher>(io_.get_executor(), tools_, pub_, options(dry_run));
    return *dispatcher_;
  }
  std::shared_ptr<std::vector<call_outcome>> call(const std::string& id, const std::string& name, json args) {
    auto answers = std::make_shared<std::vector<call_outcome>>();
    dispatcher_->call(id, name, std::move(args),
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
  // A message livebridge received at now_.
  void device_says(const std::string& topic, const std::string& payload, bool retained = false) {
    incoming_message m;
    m.topic = topic;
    m.payload = payload;
    m.retained = retained;
    m.received_at = now_;
    dispatcher_->on_message(m);
    settle();
  }
  // A copy: the slot may be a temporary.
  static call_outcome only(const std::shared_ptr<std::vector<call_outcome>>& answers) {
    EXPECT_EQ(answers->size(), 1u);
    return answers->empty() ? call_outcome{} : answers->front();
  }

  boost::asio::io_context io_;
  std::vector<tool_spec> tools_;
  recording_publisher pub_;
  clock::time_point now_ = clock::time_point{} + std::chrono::hours(5);
  std::unique_ptr<dispatcher> dispatcher_;
};

TEST_F(TrustDispatcherTest, AQueryAnswersAtOnceFromTheLatestLiveReportWithItsAge) {
  start();
  device_says("z2m/kitchen", R"({"state":"OFF"})");
  device_says("z2m/kitchen", R"({"state":"ON","brightness":80})");
  now_ += std::chrono::milliseconds(4260);
  auto answers = call("q1", "light_state", {{"room", "kitchen"}});
  const call_outcome& o = only(answers);  // answered before call() returned
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.status, "known");
  EXPECT_EQ(o.response, json::parse(R"({"output": {"status": "known", "topic": "z2m/kitchen",
      "state": {"state": "ON", "brightness": 80}, "age_s": 4.3, "retained": false}})"));
  EXPECT_TRUE(o.published.empty());
  settle();
  EXPECT_TRUE(pub_.sent.empty());
  EXPECT_EQ(dispatcher_->pending_calls(), 0u);
}

TEST_F(TrustDispatcherTest, ARetainedCopyIsAnAnswerAndSaysWhatItIs) {
  start();
  device_says("stat/lamp/POWER", "ON", /*retained=*/true);
  now_ += std::chrono::seconds(90);
  const call_outcome& o = only(call("q1", "lamp_power", json::object()));
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.response["output"]["state"], "ON");
  EXPECT_EQ(o.response["output"]["retained"], true);
  EXPECT_EQ(o.response["output"]["age_s"], 90.0);
  EXPECT_EQ(o.response["output"]["detail"],
            "a retained copy the broker kept; the device may have reported it earlier than age_s says");
}

TEST_F(TrustDispatcherTest, NoStateSeenIsAnUnknownAnswerNotAnError) {
  start();
  device_says("z2m/kitchen", R"({"state":"ON"})");
  const call_outcome& o = only(call("q1", "light_state", {{"room", "hall"}}));
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.status, "unknown");
  EXPECT_EQ(o.response, json::parse(R"({"output": {"status": "unknown", "topic": "z2m/hall",
      "detail": "no state seen yet on z2m/hall"}})"));
}

TEST_F(TrustDispatcherTest, AQueryWithoutTheBrokerAnswersFromWhatItKnewAndSaysItMayBeStale) {
  start();
  device_says("z2m/kitchen", R"({"state":"ON"})");
  pub_.up = false;
  const call_outcome& known = only(call("q1", "light_state", {{"room", "kitchen"}}));
  EXPECT_TRUE(known.ok);
  EXPECT_EQ(known.response["output"]["state"]["state"], "ON");
  EXPECT_EQ(known.response["output"]["detail"], "the MQTT broker is not connected; this state may be stale");
  const call_outcome& unknown = only(call("q2", "light_state", {{"room", "hall"}}));
  EXPECT_EQ(unknown.response["output"]["detail"],
            "no state seen yet on z2m/hall; the MQTT broker is not connected");
}

TEST_F(TrustDispatcherTest, AQueryNeverWaitsBehindACommandToTheSameDevice) {
  start();
  auto command = call("c1", "set_light", {{"room", "kitchen"}, {"state", "ON"}});
  settle();
  ASSERT_EQ(pub_.sent.size(), 1u);
  const call_outcome& o = only(call("q1", "light_state", {{"room", "kitchen"}}));
  EXPECT_EQ(o.status, "unknown");
  EXPECT_TRUE(command->empty());
  // The acknowledgement confirms the command and is what the next look sees.
  now_ += std::chrono::seconds(2);
  device_says("z2m/kitchen", R"({"state":"ON"})");
  ASSERT_EQ(command->size(), 1u);
  EXPECT_EQ((*command)[0].status, "confirmed");
  now_ += std::chrono::seconds(1);
  const call_outcome& after = only(call("q2", "light_state", {{"room", "kitchen"}}));
  EXPECT_EQ(after.response["output"]["state"], json({{"state", "ON"}}));
  EXPECT_EQ(after.response["output"]["age_s"], 1.0);
  EXPECT_EQ(pub_.sent.size(), 1u);
}

TEST_F(TrustDispatcherTest, QueryArgumentsAreCheckedAsForCommands) {
  start();
  const call_outcome& missing = only(call("q1", "light_state", json::object()));
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.status, "refused");
  EXPECT_EQ(missing.response["error"],
            "invalid arguments for light_state: missing required argument 'room'; nothing was done");
  const call_outcome& wildcard = only(call("q2", "light_state", {{"room", "+"}}));
  EXPECT_EQ(wildcard.status, "refused");
  EXPECT_NE(wildcard.response.value("error", "").find("may not contain '/', '+', '#'"), std::string::npos);
}

TEST_F(TrustDispatcherTest, QueriesMayNotReadLivebridgesOwnTopics) {
  start();
  const call_outcome& o = only(call("q1", "bridge_state", {{"what", "availability"}}));
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.status, "refused");
  EXPECT_EQ(o.response["error"],
            "cannot look up the state for bridge_state: the topic \"livebridge/availability\" is one of "
            "livebridge's own topics, not a device's");
}

TEST_F(TrustDispatcherTest, TheQueryTopicsAreSubscribedExceptLivebridgesOwn) {
  EXPECT_EQ(query_subscription_filters(tools_, options()),
            (std::vector<std::string>{"z2m/+", "stat/lamp/POWER"}));
  EXPECT_EQ(ack_subscription_filters(tools_, options()),
            (std::vector<std::string>{"z2m/+", "stat/lamp/RESULT", "lb-test/rpc",
                                      "livebridge/response/lb-test", "stat/lamp/POWER"}));
  start();
  EXPECT_EQ(dispatcher_->states().filters(), (std::vector<std::string>{"z2m/+", "stat/lamp/POWER"}));
}

TEST_F(TrustDispatcherTest, AReloadedDispatcherKeepsWhatItsPredecessorSaw) {
  start();
  device_says("z2m/kitchen", R"({"state":"ON"})");
  auto next = std::make_unique<dispatcher>(io_.get_executor(), tools_, pub_, options());
  next->adopt_states(*dispatcher_);
  dispatcher_ = std::move(next);
  now_ += std::chrono::seconds(3);
  const call_outcome& o = only(call("q1", "light_state", {{"room", "kitchen"}}));
  EXPECT_EQ(o.status, "known");
  EXPECT_EQ(o.response["output"]["age_s"], 3.0);
}

TEST_F(TrustDispatcherTest, AGlobalDryRunPublishesNothingAndSaysWhatWouldHaveBeenSent) {
  start(/*dry_run=*/true);
  auto light = call("c1", "set_light", {{"room", "kitchen"}, {"state", "ON"}, {"level", 128.0}});
  auto chime = call("c2", "doorbell_chime", json::object());
  const call_outcome& o = only(light);
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.status, "dry_run");
  EXPECT_EQ(o.response,
            json::parse(R"j({"output": {"status": "dry_run", "detail": "nothing was published (dry run)",
      "would_publish": [{"topic": "z2m/kitchen/set", "payload": {"state": "ON", "brightness": 128},
                         "qos": 1, "retain": false}]
}
})j"));
  EXPECT_TRUE(o.published.empty());
  EXPECT_EQ(only(chime).response["output"]["would_publish"],
            json::parse(R"([{"topic": "chime/ring", "payload": "ring", "qos": 1, "retain": false}])"));
  run_for(std::chrono::milliseconds(300));  // past the acknowledgement timeout: no second answer
  EXPECT_EQ(light->size(), 1u);
  EXPECT_TRUE(pub_.sent.empty());
  EXPECT_EQ(dispatcher_->pending_calls(), 0u);
}

TEST_F(TrustDispatcherTest, ADryRunNeedsNoBroker) {
  pub_.up = false;
  start(/*dry_run=*/true);
  EXPECT_EQ(only(call("c1", "doorbell_chime", json::object())).status, "dry_run");
  EXPECT_TRUE(pub_.sent.empty());
}

TEST_F(TrustDispatcherTest, APerToolDryRunLeavesTheOtherToolsLive) {
  tool("doorbell_chime").guard.dry_run = true;
  start();
  auto chime = call("c1", "doorbell_chime", json::object());
  auto light = call("c2", "set_light", {{"room", "kitchen"}, {"state", "ON"}});
  settle();
  EXPECT_EQ(only(chime).status, "dry_run");
  ASSERT_EQ(pub_.sent.size(), 1u);
  EXPECT_EQ(pub_.sent[0].topic, "z2m/kitchen/set");
  EXPECT_TRUE(light->empty());
}

TEST_F(TrustDispatcherTest, ADryRunStillRefusesWhatCouldNotBeSent) {
  start(/*dry_run=*/true);
  const call_outcome& bad = only(call("c1", "set_light", {{"room", "kitchen"}, {"state", "BLUE"}}));
  EXPECT_EQ(bad.status, "refused");
  const call_outcome& own = only(call("c2", "relay", {{"base", "livebridge"}}));
  EXPECT_EQ(own.status, "refused");
}

TEST_F(TrustDispatcherTest, ACommandMayNotBePublishedUnderLivebridgesOwnTopics) {
  start();
  const call_outcome& below = only(call("c1", "relay", {{"base", "livebridge"}}));
  EXPECT_FALSE(below.ok);
  EXPECT_EQ(below.status, "refused");
  EXPECT_EQ(below.response["error"],
            "cannot build the command for relay: the topic \"livebridge/set\" may not be published under "
            "livebridge's own topics; nothing was done");
  settle();
  EXPECT_TRUE(pub_.sent.empty());

  auto lookalike = call("c2", "relay", {{"base", "livebridgex"}});  // not under "livebridge/"
  settle();
  ASSERT_EQ(pub_.sent.size(), 1u);
  EXPECT_EQ(pub_.sent[0].topic, "livebridgex/set");
  EXPECT_EQ(only(lookalike).status, "sent_unconfirmed");
}

TEST_F(TrustDispatcherTest, TheTopicEqualToThePrefixIsRefusedToo) {
  tool("relay").publish[0].topic = tt("{{base}}");
  start();
  EXPECT_EQ(only(call("c1", "relay", {{"base", "livebridge"}})).status, "refused");
  settle();
  EXPECT_TRUE(pub_.sent.empty());
}

TEST_F(TrustDispatcherTest, AnOutcomeListsTheMessagesHandedToTheBroker) {
  start();
  auto confirmed = call("c1", "set_light", {{"room", "kitchen"}, {"state", "ON"}});
  settle();
  device_says("z2m/kitchen", R"({"state":"ON"})");
  const call_outcome& o = only(confirmed);
  EXPECT_EQ(o.status, "confirmed");
  ASSERT_EQ(o.published.size(), 1u);
  EXPECT_EQ(o.published[0].topic, "z2m/kitchen/set");
  EXPECT_EQ(json::parse(o.published[0].payload), json({{"state", "ON"}}));
  EXPECT_EQ(o.published[0].qos, 1);

  auto silent = call("c2", "set_light", {{"room", "hall"}, {"state", "OFF"}});
  run_for(std::chrono::milliseconds(400));
  EXPECT_EQ(only(silent).status, "timeout");
  ASSERT_EQ(only(silent).published.size(), 1u);
  EXPECT_EQ(only(silent).published[0].topic, "z2m/hall/set");

  pub_.auto_puback = false;
  auto unverified = call("c3", "doorbell_chime", json::object());
  settle();
  pub_.held.back()(std::nullopt);
  EXPECT_EQ(only(unverified).status, "accepted_unverified");
  EXPECT_EQ(only(unverified).published.size(), 1u);
}

TEST_F(TrustDispatcherTest, AnOutcomeWithNothingPublishedListsNothing) {
  start();
  pub_.up = false;
  const call_outcome& down = only(call("c1", "set_light", {{"room", "kitchen"}, {"state", "ON"}}));
  EXPECT_EQ(down.status, "broker_error");
  EXPECT_TRUE(down.published.empty());
  pub_.up = true;
  pub_.fail_with = "error -3";
  auto refused_by_broker = call("c2", "doorbell_chime", json::object());
  settle();
  EXPECT_EQ(only(refused_by_broker).status, "broker_error");
  EXPECT_EQ(only(refused_by_broker).published.size(), 1u);  // handed over, then refused
  pub_.fail_with.reset();
  auto rejected = call("c3", "tasmota_power", {{"cmd", "POWR"}});
  settle();
  device_says("stat/lamp/RESULT", R"({"Command":"Unknown"})");
  EXPECT_EQ(only(rejected).status, "rejected");
  auto aborted = call("c4", "set_light", {{"room", "kitchen"}, {"state", "ON"}});
  settle();
  dispatcher_->fail_all("shutting down");
  EXPECT_EQ(only(aborted).status, "aborted");
}

}  // namespace
}  // namespace lb::tools
