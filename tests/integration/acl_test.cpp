// Prompt sources and the broker's access list, with the real livebridge binary: a prompt's source
// is its topic's last level, and a mosquitto started with deploy/mosquitto-acl.example decides who
// may speak as which source. Where the broker refuses livebridge a subscription or a publish,
// livebridge says so.
#include <glob.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <sstream>

#include "bridge_fixture.hpp"

namespace lb::test {
namespace {

const std::string acl_example = std::string(LIVEBRIDGE_SOURCE_DIR) + "/deploy/mosquitto-acl.example";
// The example's users.
const std::vector<std::string> acl_users = {"livebridge",  "kitchen", "phone",        "automation",
                                            "zigbee2mqtt", "devices", "homeassistant"};

std::string password_of(const std::string& user) {
  return user + "-Pw-7f3a";
}

// A model that says what it heard.
fake_live_server::script echo_model() {
  return [](fake_live_server::connection& conn, const json& msg) {
    if (msg.contains("clientContent"))
      answer_text(conn, "Heard: " + msg["clientContent"]["turns"][0]["parts"][0]["text"].get<std::string>());
  };
}

bool model_heard(const fake_live_server& server, const std::string& text) {
  for (const auto& m : messages_of(server.received(), "clientContent"))
    if (m["turns"][0]["parts"][0]["text"] == text) return true;
  return false;
}

// A client logged in as one user of the access list, over MQTT v5, so that a refused QoS 1
// publish comes back as its PUBACK reason code.
class user_client {
 public:
  user_client(const std::string& uri, const std::string& user, const std::string& password)
      : client_(uri, "test-" + user, ::mqtt::create_options(MQTTVERSION_5)) {
    client_.set_message_callback([this](::mqtt::const_message_ptr msg) {
      {
        std::lock_guard lock(mutex_);
        seen_.push_back({msg->get_topic(), msg->to_string(), msg->is_retained(), msg->get_qos(), {}, {}});
      }
      changed_.notify_all();
    });
    auto opts = ::mqtt::connect_options_builder()
                    .mqtt_version(MQTTVERSION_5)
                    .clean_start(true)
                    .user_name(user)
                    .password(password)
                    .finalize();
    client_.connect(opts)->wait_for(patience);
    if (!client_.is_connected()) throw std::runtime_error(user + " could not connect to " + uri);
  }
  ~user_client() {
    try {
      client_.disable_callbacks();
      if (client_.is_connected()) client_.disconnect()->wait_for(std::chrono::seconds(2));
    } catch (...) {
    }
  }

  void subscribe(const std::string& filter) { client_.subscribe(filter, 1)->wait_for(patience); }

  // Publishes at QoS 1 and returns the PUBACK's reason code: below 0x80 the broker took it; -1
  // when no PUBACK came.
  int publish(const std::string& topic, const std::string& payload) {
    auto token = client_.publish(::mqtt::make_message(topic, payload, 1, false));
    try {
      if (!token->wait_for(patience)) return -1;
    } catch (const ::mqtt::exception& e) {
      return e.get_reason_code();
    }
    return token->get_reason_code();
  }

  // The reply to prompt `id` on livebridge/reply; null when none came in time.
  json reply_to(const std::string& id) const {
    std::unique_lock lock(mutex_);
    json found;
    changed_.wait_for(lock, patience, [&] {
      for (const auto& m : seen_) {
        if (m.topic != "livebridge/reply") continue;
        const json r = json::parse(m.payload, nullptr, false);
        if (r.is_object() && r.value("id", json()) == json(id)) {
          found = r;
          return true;
        }
      }
      return false;
    });
    return found;
  }

  // The first message on `topic` that satisfies `pred`; nullopt when none came in time.
  std::optional<seen_message> first(const std::string& topic,
                                    const std::function<bool(const seen_message&)>& pred) const {
    std::unique_lock lock(mutex_);
    std::optional<seen_message> found;
    changed_.wait_for(lock, patience, [&] {
      for (const auto& m : seen_)
        if (m.topic == topic && pred(m)) {
          found = m;
          return true;
        }
      return false;
    });
    return found;
  }

  // Whether `n` messages came on `topic` in time.
  bool saw_count(const std::string& topic, std::size_t n) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, patience, [&] {
      return static_cast<std::size_t>(std::count_if(
                 seen_.begin(), seen_.end(), [&](const seen_message& m) { return m.topic == topic; })) >= n;
    });
  }

  bool saw(const std::string& topic, const std::string& payload) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, patience, [&] {
      for (const auto& m : seen_)
        if (m.topic == topic && m.payload == payload) return true;
      return false;
    });
  }

 private:
  ::mqtt::async_client client_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<seen_message> seen_;
};

std::string prompt_json(const std::string& id, const std::string& text) {
  return json{{"id", id}, {"text", text}}.dump();
}

// Replaces the one line `from` of the access list with `to` (empty: removes it); fails the test
// when the example no longer has that line.
void edit_line(std::string& acl, const std::string& from, const std::string& to) {
  const auto at = acl.find("\n" + from + "\n");
  ASSERT_NE(at, std::string::npos) << "the example has no line \"" << from << "\"";
  acl.replace(at + 1, from.size() + 1, to.empty() ? "" : to + "\n");
}

// The rules of a mosquitto acl_file for the dynamic-security plugin, which (unlike the acl_file)
// judges a subscription at SUBSCRIBE: `read` becomes subscribePattern and publishClientReceive,
// `write` publishClientSend. Every user gets the password of `hashed` (a client entry written
// by mosquitto_ctrl, with the password already hashed).
json dynsec_config(const std::string& acl, const json& hashed) {
  json clients = json::array();
  json roles = json::array();
  std::istringstream lines(acl);
  std::string line;
  std::set<std::pair<std::string, std::string>> seen;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string keyword, access, topic;
    words >> keyword >> access >> topic;
    if (keyword == "user") {
      clients.push_back({{"username", access},
                         {"password", hashed["password"]},
                         {"salt", hashed["salt"]},
                         {"iterations", hashed["iterations"]},
                         {"roles", json::array({{{"rolename", access}}})}});
      roles.push_back({{"rolename", access}, {"acls", json::array()}});
      seen.clear();
      continue;
    }
    if (keyword != "topic" || roles.empty()) continue;
    if (topic.empty()) {  // `topic <filter>` alone is readwrite
      topic = access;
      access = "readwrite";
    }
    std::vector<std::string> types;
    if (access == "read" || access == "readwrite") types = {"subscribePattern", "publishClientReceive"};
    if (access == "write" || access == "readwrite") types.push_back("publishClientSend");
    for (const auto& type : types)
      if (seen.insert({type, topic}).second)
        roles.back()["acls"].push_back({{"acltype", type}, {"topic", topic}, {"allow", true}});
  }
  return {{"clients", clients},
          {"roles", roles},
          {"defaultACLAccess",
           {{"publishClientSend", false},
            {"publishClientReceive", false},
            {"subscribe", false},
            {"unsubscribe", true}}}};
}

std::string dynsec_plugin() {
  for (const char* pattern :
       {"/usr/lib/*/mosquitto_dynamic_security.so", "/usr/lib/mosquitto_dynamic_security.so"}) {
    glob_t found{};
    if (::glob(pattern, 0, nullptr, &found) == 0 && found.gl_pathc > 0) {
      std::string path = found.gl_pathv[0];
      ::globfree(&found);
      return path;
    }
    ::globfree(&found);
  }
  return {};
}

class AclTest : public BridgeTest {
 protected:
  // The broker comes with each test (it needs the access list); the fixture's anonymous observer
  // would be refused, so there is none.
  void SetUp() override {
    dir_.write("gemini-api-key", "test-key\n");
    dir_.write("mqtt-password", password_of("livebridge") + "\n");
  }

  // mosquitto with the example's access list (or `acl`) and a password file with every user.
  void start_broker_with_acl_file(const std::string& acl) {
    dir_.write("acl", acl);
    const std::string passwd = dir_.file("passwd");
    ASSERT_EQ(run({"mosquitto_passwd", "-c", "-b", passwd, acl_users[0], password_of(acl_users[0])}), 0);
    for (std::size_t i = 1; i < acl_users.size(); ++i)
      ASSERT_EQ(run({"mosquitto_passwd", "-b", passwd, acl_users[i], password_of(acl_users[i])}), 0);
    broker_ = std::make_unique<mosquitto_broker>(
        dir_, "allow_anonymous false\npassword_file " + passwd + "\nacl_file " + dir_.file("acl") + "\n");
  }

  // mosquitto whose dynamic-security plugin enforces `acl`, subscriptions included. Every user's
  // password is password_of("livebridge").
  void start_broker_with_dynsec(const std::string& acl) {
    const std::string plugin = dynsec_plugin();
    if (plugin.empty()) GTEST_SKIP() << "mosquitto's dynamic-security plugin is not installed";
    const std::string file = dir_.file("dynamic-security.json");
    ASSERT_EQ(
        run({"mosquitto_ctrl", "dynsec", "init", dir_.file("admin.json"), "admin", password_of("livebridge")},
            dir_.file("mosquitto_ctrl.log")),
        0)
        << read_file(dir_.file("mosquitto_ctrl.log"));
    const json admin = json::parse(read_file(dir_.file("admin.json")))["clients"][0];
    dir_.write("dynamic-security.json", dynsec_config(acl, admin).dump(2));
    broker_ = std::make_unique<mosquitto_broker>(
        dir_, "allow_anonymous false\nplugin " + plugin + "\nplugin_opt_config_file " + file + "\n");
  }

  std::unique_ptr<user_client> login(const std::string& user,
                                     const std::string& password_user = std::string()) const {
    return std::make_unique<user_client>(broker_->uri(), user,
                                         password_of(password_user.empty() ? user : password_user));
  }

  // The daemon as the user livebridge, with the example's client id; ready once the automation
  // user sees it online.
  void start_daemon(const std::string& tools, const user_client& automation) {
    std::string yaml = config(tools);
    const std::string id_line = "  client_id: lb-it\n";
    yaml.replace(yaml.find(id_line), id_line.size(), "  client_id: livebridge\n  username: livebridge\n");
    start_bridge(yaml, false);
    ASSERT_TRUE(automation.saw("livebridge/availability", "online")) << bridge_->log();
    ASSERT_TRUE(bridge_->wait_for_log("live.ready", patience)) << bridge_->log();
    // Both links up: the prompt inbox too.
    ASSERT_TRUE(bridge_->wait_for_log("mqtt.connected", patience, 2)) << bridge_->log();
  }
};

TEST_F(AclTest, EachClientSpeaksOnlyAsItsOwnSource) {
  ASSERT_NO_FATAL_FAILURE(start_broker_with_acl_file(read_file(acl_example)));
  start_server(echo_model());
  auto automation = login("automation");
  automation->subscribe("livebridge/availability");
  ASSERT_NO_FATAL_FAILURE(start_daemon(seed_tools, *automation));
  auto kitchen = login("kitchen");
  kitchen->subscribe("livebridge/reply");
  auto phone = login("phone");

  // The kitchen speaks as "kitchen": the model hears it, and the reply comes back.
  EXPECT_LT(kitchen->publish("livebridge/prompt/kitchen", prompt_json("k1", "Lights in the kitchen")), 0x80);
  const json reply = kitchen->reply_to("k1");
  EXPECT_EQ(reply.value("text", ""), "Heard: Lights in the kitchen") << reply.dump();
  EXPECT_TRUE(model_heard(*server_, "Lights in the kitchen"));
  EXPECT_TRUE(bridge_->wait_for_log("prompt.received id=\"k1\" source=kitchen", patience)) << bridge_->log();

  // It may not pass as the phone, nor answer an approval request: the broker refuses both.
  EXPECT_EQ(kitchen->publish("livebridge/prompt/phone", prompt_json("k2", "Open the garage")), 135);
  EXPECT_EQ(kitchen->publish("livebridge/confirm/abcd1234", R"({"approve":true})"), 135);
  EXPECT_EQ(kitchen->publish("livebridge/prompt", prompt_json("k3", "As the default source")), 135);
  // Nor may the phone speak as the kitchen; its own approval answer reaches livebridge.
  EXPECT_EQ(phone->publish("livebridge/prompt/kitchen", prompt_json("p1", "Open the garage")), 135);
  EXPECT_LT(phone->publish("livebridge/confirm/abcd1234", R"({"approve":true})"), 0x80);
  EXPECT_TRUE(bridge_->wait_for_log("confirm.answer_received topic=livebridge/confirm/abcd1234", patience))
      << bridge_->log();

  // A later prompt is answered: whatever the broker had let through would have reached
  // livebridge first.
  EXPECT_LT(kitchen->publish("livebridge/prompt/kitchen", prompt_json("k4", "Still there?")), 0x80);
  EXPECT_EQ(kitchen->reply_to("k4").value("text", ""), "Heard: Still there?");
  EXPECT_EQ(bridge_->log_count("prompt.received"), 2u) << bridge_->log();
  EXPECT_EQ(bridge_->log_count("confirm.answer_received"), 1u) << bridge_->log();
  EXPECT_FALSE(model_heard(*server_, "Open the garage"));
  EXPECT_FALSE(model_heard(*server_, "As the default source"));
  EXPECT_EQ(bridge_->log_count("mqtt.subscription_refused"), 0u) << bridge_->log();
  EXPECT_EQ(bridge_->log_count("mqtt.publish_refused"), 0u) << bridge_->log();

  // `livebridge ask` runs as the daemon's user and speaks as "cli".
  process ask_cli({LIVEBRIDGE_BINARY, "ask", "--config", dir_.file("livebridge.yaml"), "From the shell"},
                  dir_.file("ask.log"), {{"CREDENTIALS_DIRECTORY", dir_.path()}});
  EXPECT_EQ(ask_cli.wait(patience), 0) << ask_cli.log();
  EXPECT_NE(ask_cli.log().find("Heard: From the shell"), std::string::npos) << ask_cli.log();
  EXPECT_TRUE(bridge_->wait_for_log("source=cli", patience)) << bridge_->log();
}

// The example's lines for home_assistant.discovery, on both sides: livebridge announces itself and
// hears Home Assistant's birth; Home Assistant reads the entities' topics and types a prompt.
TEST_F(AclTest, HomeAssistantSeesLivebridgeAsADeviceAndTypesToIt) {
  ASSERT_NO_FATAL_FAILURE(start_broker_with_acl_file(read_file(acl_example)));
  start_server(echo_model());
  auto home_assistant = login("homeassistant");
  for (const char* topic : {"homeassistant/device/+/config", "livebridge/availability", "livebridge/status",
                            "livebridge/confirm/pending", "livebridge/reply"})
    home_assistant->subscribe(topic);
  ASSERT_NO_FATAL_FAILURE(
      start_daemon(std::string(seed_tools) + "home_assistant: {discovery: true}\n", *home_assistant));
  const std::string device_topic = "homeassistant/device/livebridge/config";
  const auto any = [](const seen_message&) { return true; };
  const auto announced = home_assistant->first(device_topic, any);
  ASSERT_TRUE(announced) << bridge_->log();
  EXPECT_TRUE(home_assistant->first("livebridge/status", any)) << bridge_->log();
  EXPECT_TRUE(home_assistant->first("livebridge/confirm/pending", any)) << bridge_->log();

  // Its birth reaches livebridge, which announces again.
  EXPECT_LT(home_assistant->publish("homeassistant/status", "online"), 0x80);
  EXPECT_TRUE(home_assistant->saw_count(device_topic, 2)) << bridge_->log();

  // Typing into the Prompt entity: the broker lets it through, and the reply comes back.
  const auto command_topic =
      json::parse(announced->payload)["cmps"]["prompt"]["command_topic"].get<std::string>();
  EXPECT_LT(home_assistant->publish(command_topic, "Hello from the dashboard"), 0x80);
  EXPECT_TRUE(home_assistant->first("livebridge/reply", [](const seen_message& m) {
    return m.payload.find("Heard: Hello from the dashboard") != std::string::npos;
  })) << bridge_->log();
  EXPECT_EQ(bridge_->log_count("mqtt.subscription_refused"), 0u) << bridge_->log();
  EXPECT_EQ(bridge_->log_count("mqtt.publish_refused"), 0u) << bridge_->log();
}

// Without the option livebridge still clears a device a previous run may have announced, at every
// connection: an access list from before the option must not turn that into refusals in the log.
TEST_F(AclTest, AnAccessListWithoutTheHomeAssistantLinesStaysQuietWhileTheOptionIsOff) {
  std::string acl = read_file(acl_example);
  for (const char* line : {"topic write homeassistant/device/livebridge/config",
                           "topic write livebridge/status", "topic read homeassistant/status"})
    ASSERT_NO_FATAL_FAILURE(edit_line(acl, line, ""));
  ASSERT_NO_FATAL_FAILURE(start_broker_with_acl_file(acl));
  start_server(echo_model());
  auto automation = login("automation");
  automation->subscribe("livebridge/availability");
  ASSERT_NO_FATAL_FAILURE(start_daemon(seed_tools, *automation));
  auto kitchen = login("kitchen");
  kitchen->subscribe("livebridge/reply");
  EXPECT_LT(kitchen->publish("livebridge/prompt/kitchen", prompt_json("k1", "Hello?")), 0x80);
  // The reply goes out on the connection the clearing went out on, after it: a refusal of the
  // clearing would have come back first.
  EXPECT_EQ(kitchen->reply_to("k1").value("text", ""), "Heard: Hello?");
  EXPECT_EQ(bridge_->log_count("mqtt.publish_refused"), 0u) << bridge_->log();
}

TEST_F(AclTest, AnAskTheBrokerRefusesIsReportedAtOnce) {
  ASSERT_NO_FATAL_FAILURE(start_broker_with_acl_file(read_file(acl_example)));
  start_server(echo_model());
  // The kitchen's user may speak as "kitchen", not as the CLI's "cli".
  std::string yaml = config(seed_tools);
  const std::string id_line = "  client_id: lb-it\n";
  yaml.replace(yaml.find(id_line), id_line.size(),
               "  client_id: kitchen-shell\n  username: kitchen\n  password_file: " +
                   dir_.file("kitchen-password") + "\n");
  dir_.write("kitchen.yaml", yaml);
  dir_.write("kitchen-password", password_of("kitchen") + "\n");
  process ask_cli(
      {LIVEBRIDGE_BINARY, "ask", "--config", dir_.file("kitchen.yaml"), "--timeout", "60s", "Hello?"},
      dir_.file("ask-refused.log"));
  const auto code = ask_cli.wait(patience);
  ASSERT_TRUE(code) << "ask waited for a reply to a prompt the broker refused";
  EXPECT_EQ(*code, 1);
  EXPECT_NE(ask_cli.log().find("refused the prompt: not authorized (135)"), std::string::npos)
      << ask_cli.log();
}

TEST_F(AclTest, AnonymousClientsAndWrongPasswordsGetNothing) {
  ASSERT_NO_FATAL_FAILURE(start_broker_with_acl_file(read_file(acl_example)));
  EXPECT_ANY_THROW(mqtt_peer(broker_->uri(), "anonymous"));
  EXPECT_ANY_THROW(login("kitchen", "phone"));
}

TEST_F(AclTest, ACommandTheBrokerRefusesIsAnErrorNamingTheReason) {
  // The livebridge user may write zigbee2mqtt/+/set but nothing under vault/.
  ASSERT_NO_FATAL_FAILURE(start_broker_with_acl_file(read_file(acl_example)));
  start_server(
      model_calling({call("open_the_vault", json::object()), call("turn_on_the_lights", json::object())}));
  auto automation = login("automation");
  automation->subscribe("livebridge/availability");
  ASSERT_NO_FATAL_FAILURE(start_daemon(R"(  - name: open_the_vault
    publish: {topic: vault/door/set, payload: {state: "OPEN"}}
  - name: turn_on_the_lights
    publish: {topic: zigbee2mqtt/living_room/set, payload: {state: "ON"}}
)",
                                       *automation));
  auto kitchen = login("kitchen");
  kitchen->subscribe("livebridge/reply");
  ASSERT_LT(kitchen->publish("livebridge/prompt/kitchen", prompt_json("k1", "Open the vault and the lights")),
            0x80);
  const json reply = kitchen->reply_to("k1");
  ASSERT_TRUE(reply.is_object()) << bridge_->log();

  json vault, lights;
  for (const auto& r : tool_responses()) (r["name"] == "open_the_vault" ? vault : lights) = r["response"];
  ASSERT_TRUE(vault.contains("error")) << vault.dump();
  EXPECT_NE(vault["error"].get<std::string>().find("not authorized (135)"), std::string::npos)
      << vault.dump();
  EXPECT_TRUE(lights.contains("output")) << lights.dump();
  EXPECT_TRUE(bridge_->wait_for_log(
      "mqtt.publish_refused topic=vault/door/set reason=\"not authorized (135)\"", patience))
      << bridge_->log();
}

TEST_F(AclTest, ARefusedSubscriptionIsReportedAndTheRestIsServed) {
  // mosquitto's acl_file grants every SUBSCRIBE and filters at delivery, so the refusal comes
  // from its dynamic-security plugin enforcing the same rules, less two of livebridge's reads:
  // the microphone (main link, MQTT v5) and the default prompt topic (prompt inbox, MQTT 3.1.1).
  std::string acl = read_file(acl_example);
  edit_line(acl, "topic readwrite livebridge/audio/in", "topic write livebridge/audio/in");
  edit_line(acl, "topic read livebridge/prompt", "");
  start_broker_with_dynsec(acl);
  if (IsSkipped() || HasFatalFailure()) return;
  start_server(echo_model());
  auto automation = login("automation", "livebridge");
  automation->subscribe("livebridge/availability");
  ASSERT_NO_FATAL_FAILURE(start_daemon(seed_tools, *automation));

  EXPECT_TRUE(bridge_->wait_for_log(
      "mqtt.subscription_refused filter=livebridge/audio/in reason=\"not authorized (135)\"", patience))
      << bridge_->log();
  EXPECT_TRUE(bridge_->wait_for_log(
      "mqtt.subscription_refused filter=livebridge/prompt reason=\"failure (128)\"", patience))
      << bridge_->log();
  EXPECT_EQ(bridge_->log_count("mqtt.subscription_refused"), 2u) << bridge_->log();

  auto kitchen = login("kitchen", "livebridge");
  kitchen->subscribe("livebridge/reply");
  ASSERT_LT(kitchen->publish("livebridge/prompt/kitchen", prompt_json("k1", "Anyone home?")), 0x80);
  EXPECT_EQ(kitchen->reply_to("k1").value("text", ""), "Heard: Anyone home?") << bridge_->log();
}

// Without an access list (anyone may write anything), the source still comes from the topic,
// and the names a topic may not claim are refused by livebridge itself.
class PromptSourceTest : public BridgeTest {};

TEST_F(PromptSourceTest, TheTopicNamesTheSource) {
  start_server(echo_model());
  start_bridge(config(seed_tools));
  auto reply_to = [&](const std::string& id) {
    const auto m = observer_->wait_for(
        "livebridge/reply",
        [&](const seen_message& r) {
          const json j = json::parse(r.payload, nullptr, false);
          return j.is_object() && j.value("id", json()) == json(id);
        },
        patience);
    return m ? json::parse(m->payload) : json();
  };

  observer_->publish("livebridge/prompt/garden", prompt_json("g1", "Water the roses"), 1);
  EXPECT_EQ(reply_to("g1").value("text", ""), "Heard: Water the roses");
  EXPECT_TRUE(bridge_->wait_for_log("prompt.received id=\"g1\" source=garden", patience)) << bridge_->log();
  observer_->publish("livebridge/prompt", prompt_json("d1", "Plain"), 1);
  EXPECT_EQ(reply_to("d1").value("text", ""), "Heard: Plain");
  EXPECT_TRUE(bridge_->wait_for_log("prompt.received id=\"d1\" source=default", patience)) << bridge_->log();

  const std::vector<std::pair<std::string, std::string>> refused = {
      {"voice", "the microphone's"},
      {"default", "the plain prompt topic's"},
      {"two words", "1 to 64"},
      {std::string(65, 'a'), "1 to 64"},
      {"", "1 to 64"},
  };
  int n = 0;
  for (const auto& [source, why] : refused) {
    const std::string id = "bad-" + std::to_string(++n);
    observer_->publish("livebridge/prompt/" + source, prompt_json(id, "Unlock the door"), 1);
    const json r = reply_to(id);
    EXPECT_NE(r.value("error", "").find(why), std::string::npos) << source << ": " << r.dump();
  }
  EXPECT_FALSE(model_heard(*server_, "Unlock the door"));
}

TEST_F(PromptSourceTest, ApprovalAnswersAreRoutedAndTheBridgesOwnTopicsIgnored) {
  start_server(echo_model());
  start_bridge(config(seed_tools));
  observer_->publish("livebridge/confirm/request", R"({"id":"x"})", 1);
  observer_->publish("livebridge/confirm/pending", "[]", 1);
  observer_->publish("livebridge/confirm/result", R"({"id":"x"})", 1);
  observer_->publish("livebridge/confirm/abcd1234", R"({"approve":true})", 1);
  EXPECT_TRUE(bridge_->wait_for_log("confirm.answer_received topic=livebridge/confirm/abcd1234", patience))
      << bridge_->log();
  EXPECT_EQ(bridge_->log_count("confirm.answer_received"), 1u) << bridge_->log();
  // Nor do they reach the dispatcher or the prompt path.
  EXPECT_EQ(bridge_->log_count("prompt.received"), 0u) << bridge_->log();
}

}  // namespace
}  // namespace lb::test
