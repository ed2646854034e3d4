#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/loader.hpp"
#include "config/secrets.hpp"

namespace lb::config {
namespace {

const char* const minimal = R"(live:
  model: models/gemini-live-2.5-flash-preview
)";

load_result load(const std::string& yaml) {
  return load_text(yaml, "test.yaml");
}

// The one error a defective file produces, as the operator sees it.
std::string only_error(const std::string& yaml) {
  const auto r = load(yaml);
  EXPECT_FALSE(r.cfg.has_value());
  EXPECT_EQ(r.errors.size(), 1u) << (r.errors.empty() ? "" : r.errors[0].to_string());
  return r.errors.empty() ? "" : r.errors[0].to_string();
}

TEST(Config, MinimalFileTakesDefaults) {
  const auto r = load(minimal);
  ASSERT_TRUE(r.cfg) << r.errors[0].to_string();
  EXPECT_EQ(r.cfg->live.url, default_live_url);
  EXPECT_EQ(r.cfg->live.response_modality, modality::text);
  EXPECT_EQ(r.cfg->mqtt.url, "mqtt://127.0.0.1:1883");
  EXPECT_EQ(r.cfg->mqtt.topic_prefix, "livebridge");
  EXPECT_EQ(r.cfg->live.setup_timeout, std::chrono::seconds(10));
  EXPECT_TRUE(r.cfg->tools.empty());
}

TEST(Config, LongLivedSessionDefaults) {
  const auto r = load(minimal);
  ASSERT_TRUE(r.cfg);
  EXPECT_TRUE(r.cfg->live.session_resumption);
  EXPECT_TRUE(r.cfg->live.compression.enabled);
  EXPECT_EQ(r.cfg->live.compression.trigger_tokens, 25600);
  EXPECT_EQ(r.cfg->live.idle_timeout, std::chrono::seconds(60));
  EXPECT_EQ(only_error(std::string(minimal) +
                       "  context_compression: {trigger_tokens: 5000, target_tokens: 6000}\n"),
            "test.yaml:3:24: live.context_compression.target_tokens: must be smaller than trigger_tokens");
}

TEST(Config, PlainScalarsAreTypedLikeYaml) {
  const auto r = load(std::string(minimal) + R"(tools:
  - name: t
    parameters:
      properties:
        x: {type: number, minimum: -0.5, maximum: 1e3}
        y: {type: string, enum: [inf, nan, 12abc]}
        z: {type: integer, enum: [+5, -7]}
    publish: {topic: t, payload: {a: 128, b: "128", c: 1.5, d: true, e: ~}}
)");
  ASSERT_TRUE(r.cfg) << r.errors[0].to_string();
  const auto& p = *r.cfg->tools[0].parameters;
  EXPECT_DOUBLE_EQ(*p.properties[0].schema.minimum, -0.5);
  EXPECT_DOUBLE_EQ(*p.properties[0].schema.maximum, 1000);
  EXPECT_EQ(p.properties[1].schema.enum_values, (std::vector<tools::json>{"inf", "nan", "12abc"}));
  EXPECT_EQ(p.properties[2].schema.enum_values, (std::vector<tools::json>{5, -7}));
  auto payload = r.cfg->tools[0].publish[0].payload.render({});
  EXPECT_EQ(tools::json::parse(std::get<std::string>(payload)),
            tools::json::parse(R"({"a":128,"b":"128","c":1.5,"d":true,"e":null})"));
}

TEST(Config, ModelWithoutPrefixGetsModels) {
  const auto r = load("live: {model: gemini-3.8-live}\n");
  ASSERT_TRUE(r.cfg);
  EXPECT_EQ(r.cfg->live.model, "models/gemini-3.8-live");
}

TEST(Config, FullToolDeclaration) {
  const auto r = load(std::string(minimal) + R"(tools:
  - name: set_brightness
    description: Dims a room.
    parameters:
      type: object
      properties:
        room: {type: string, enum: [living_room, kitchen]}
        level: {type: integer, minimum: 0, maximum: 254, description: Brightness}
      required: [room, level]
    publish:
      - topic: zigbee2mqtt/{{room}}/set
        payload: {state: "ON", brightness: "{{level}}"}
        qos: 1
    ack:
      topic: zigbee2mqtt/{{room}}
      match: {brightness: "{{level}}"}
      tolerance: 1
      timeout: 12s
)");
  ASSERT_TRUE(r.cfg) << r.errors[0].to_string();
  ASSERT_EQ(r.cfg->tools.size(), 1u);
  const auto& t = r.cfg->tools[0];
  EXPECT_EQ(t.ack.style, tools::ack_style::state);
  EXPECT_EQ(t.ack.timeout, std::chrono::seconds(12));
  EXPECT_DOUBLE_EQ(t.ack.tolerance, 1);
  ASSERT_TRUE(t.parameters);
  EXPECT_EQ(t.parameters->properties.size(), 2u);
  EXPECT_EQ(t.ack.topic.as_subscription_filter(), "zigbee2mqtt/+");
}

TEST(Config, UnknownKeyIsAnErrorWithPosition) {
  EXPECT_EQ(only_error(std::string(minimal) + "mqtt:\n  urll: mqtt://x\n"),
            "test.yaml:4:3: mqtt.urll: unknown key (known keys here: ca_file, client_id, events, keepalive, "
            "max_prompt_bytes, "
            "max_queued_prompts, password_file, persistent_prompts, topic_prefix, url, username)");
}

TEST(Config, MissingModel) {
  EXPECT_EQ(only_error("live:\n  response_modality: TEXT\n"),
            "test.yaml:2:3: live.model: required key is missing");
}

TEST(Config, BadDurationNamesExpectedAndFound) {
  const std::string e = only_error(std::string(minimal) + R"(tools:
  - name: a
    publish: {topic: t/set, payload: x}
    ack: {topic: t, timeout: fast}
)");
  EXPECT_EQ(e,
            "test.yaml:6:30: tools[0].ack.timeout: expected a duration such as \"5s\" or \"250ms\", found "
            "\"fast\"");
}

TEST(Config, EveryProblemIsReportedAtOnce) {
  const auto r = load(R"(live:
  model: m
  response_modality: VIDEO
mqtt:
  url: http://broker
tools:
  - name: "bad name"
    publish: {topic: "a/+/set", qos: 3}
)");
  EXPECT_FALSE(r.cfg);
  ASSERT_EQ(r.errors.size(), 5u);
  EXPECT_EQ(r.errors[0].key_path, "live.response_modality");
  EXPECT_EQ(r.errors[1].key_path, "mqtt.url");
  EXPECT_EQ(r.errors[2].key_path, "tools[0].name");
  EXPECT_EQ(r.errors[3].key_path, "tools[0].publish.topic");
  EXPECT_EQ(r.errors[4].key_path, "tools[0].publish.qos");
  EXPECT_EQ(r.errors[4].line, 8);
}

TEST(Config, PlaceholderMustBeADeclaredParameter) {
  EXPECT_EQ(only_error(std::string(minimal) + R"(tools:
  - name: a
    publish: {topic: "z/{{rooom}}/set"}
)"),
            "test.yaml:5:22: tools[0].publish.topic: placeholder {{rooom}} is not a declared parameter of a "
            "(built-ins: call.id, bridge.client_id)");
}

TEST(Config, RpcStyleNeedsTheCallIdInThePayload) {
  const std::string e = only_error(std::string(minimal) + R"(tools:
  - name: plug
    publish: {topic: shelly/rpc, payload: {method: Switch.Set}}
    ack: {style: rpc, topic: "{{bridge.client_id}}/rpc"}
)");
  EXPECT_NE(e.find("tools[0].ack.style: the rpc style needs a publish payload carrying \"{{call.id}}\""),
            std::string::npos)
      << e;
}

TEST(Config, RetainedCommandIsAWarning) {
  const auto r = load(std::string(minimal) + "tools:\n  - name: a\n    publish: {topic: t, retain: true}\n");
  ASSERT_TRUE(r.cfg);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].key_path, "tools[0].publish.retain");
  EXPECT_NE(r.warnings[0].message.find("replayed to the device"), std::string::npos);
}

TEST(Config, TextModalityWithANativeAudioModelIsAWarning) {
  const auto r = load("live: {model: models/gemini-2.5-flash-native-audio-latest}\n");
  ASSERT_TRUE(r.cfg);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].to_string(),
            "test.yaml:1:15: live.model: native-audio models answer only in AUDIO; set "
            "live.response_modality: AUDIO");
}

TEST(Config, DuplicateToolNames) {
  const std::string e =
      only_error(std::string(minimal) +
                 "tools:\n  - {name: a, publish: {topic: t}}\n  - {name: a, publish: {topic: u}}\n");
  EXPECT_NE(e.find("another tool is already named a"), std::string::npos) << e;
}

TEST(Config, InvalidYamlHasAPosition) {
  const auto r = load("live:\n  model: [unclosed\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_GT(r.errors[0].line, 0);
  EXPECT_NE(r.errors[0].message.find("not valid YAML"), std::string::npos);
}

TEST(Config, MissingFileNamesIt) {
  const auto r = load_file("/nonexistent/livebridge.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(),
            "/nonexistent/livebridge.yaml: cannot read the file: No such file or directory");
}

TEST(Config, ShippedExamplesAreValid) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(LIVEBRIDGE_SOURCE_DIR "/config/examples")) {
    const auto r = load_file(entry.path().string());
    EXPECT_TRUE(r.cfg) << entry.path() << ": " << (r.errors.empty() ? "" : r.errors[0].to_string());
    ++checked;
  }
  const auto main_example = load_file(LIVEBRIDGE_SOURCE_DIR "/config/livebridge.yaml");
  EXPECT_TRUE(main_example.cfg) << (main_example.errors.empty() ? "" : main_example.errors[0].to_string());
  EXPECT_GE(checked, 4);
}

class Secrets : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("lb-secrets-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "creds");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& content) { std::ofstream(dir_ / name) << content; }
  config cfg_with_file() {
    auto c = *load(minimal).cfg;
    c.live.api_key_file = (dir_ / "key").string();
    return c;
  }
  std::filesystem::path dir_;
};

TEST_F(Secrets, CredentialWinsOverFileAndEnvironment) {
  write("creds/gemini-api-key", "from-credential\n");
  write("key", "from-file\n");
  const std::string creds = (dir_ / "creds").string();
  const auto r = load_secrets(cfg_with_file(), [&](const char* n) -> const char* {
    if (std::string(n) == "CREDENTIALS_DIRECTORY") return creds.c_str();
    if (std::string(n) == "GEMINI_API_KEY") return "from-env";
    return nullptr;
  });
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.value.api_key, "from-credential");
}

TEST_F(Secrets, AnEmptyCredentialIsNoKeyYetAndTheErrorSaysWhereTheKeyGoes) {
  write("creds/gemini-api-key", "\n");  // the packaged unit's SetCredential= fallback
  const std::string creds = (dir_ / "creds").string();
  const auto env = [&](const char* n) -> const char* {
    return std::string(n) == "CREDENTIALS_DIRECTORY" ? creds.c_str() : nullptr;
  };
  const auto r = load_secrets(*load(minimal).cfg, env);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("no Gemini API key: put it in /etc/livebridge/gemini-api-key"),
            std::string::npos)
      << r.errors[0];
  write("key", "from-file\n");
  const auto with_file = load_secrets(cfg_with_file(), env);
  EXPECT_TRUE(with_file.errors.empty());
  EXPECT_EQ(with_file.value.api_key, "from-file");
}

TEST_F(Secrets, FileThenGeminiThenGoogleEnvironment) {
  write("key", "from-file\n");
  EXPECT_EQ(load_secrets(cfg_with_file(), [](const char*) -> const char* { return nullptr; }).value.api_key,
            "from-file");
  auto c = *load(minimal).cfg;
  auto env = [](const char* n) -> const char* {
    if (std::string(n) == "GEMINI_API_KEY") return "gemini";
    if (std::string(n) == "GOOGLE_API_KEY") return "google";
    return nullptr;
  };
  EXPECT_EQ(load_secrets(c, env).value.api_key, "gemini");
  EXPECT_EQ(load_secrets(c,
                         [](const char* n) -> const char* {
                           return std::string(n) == "GOOGLE_API_KEY" ? "google" : nullptr;
                         })
                .value.api_key,
            "google");
}

TEST_F(Secrets, NoKeyForGoogleIsAnErrorButLoopbackSimulatorNeedsNone) {
  auto c = *load(minimal).cfg;
  const auto none = [](const char*) -> const char* { return nullptr; };
  EXPECT_EQ(load_secrets(c, none).errors.size(), 1u);
  c.live.url = "ws://127.0.0.1:9000/ws/x";
  EXPECT_TRUE(load_secrets(c, none).errors.empty());
}

TEST_F(Secrets, UnreadableKeyFileIsNamed) {
  const auto r = load_secrets(cfg_with_file(), [](const char*) -> const char* { return nullptr; });
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors[0].find("live.api_key_file: cannot read"), std::string::npos) << r.errors[0];
}

TEST_F(Secrets, AKeyFileThatIsADirectoryIsNamed) {
  std::filesystem::create_directories(dir_ / "key");
  const auto r = load_secrets(cfg_with_file(), [](const char*) -> const char* { return nullptr; });
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(r.errors[0], "live.api_key_file: cannot read " + (dir_ / "key").string() + ": Is a directory");
}

TEST(Config, SchedulingNeedsANonBlockingFunctionAndAKnownValue) {
  const std::string tool = std::string(minimal) + R"(tools:
  - name: open_garage_door
    publish: {topic: garage/set, payload: open}
)";
  EXPECT_EQ(only_error(tool + "    scheduling: SILENT\n"),
            "test.yaml:6:17: tools[0].scheduling: applies only with behavior: NON_BLOCKING");
  EXPECT_EQ(only_error(tool + "    behavior: NON_BLOCKING\n    scheduling: LATER\n"),
            "test.yaml:7:17: tools[0].scheduling: expected INTERRUPT, WHEN_IDLE or SILENT, found \"LATER\"");
  EXPECT_EQ(only_error(tool + "    behavior: SOMETIMES\n"),
            "test.yaml:6:15: tools[0].behavior: expected BLOCKING or NON_BLOCKING, found \"SOMETIMES\"");
  const auto ok = load(tool + "    behavior: NON_BLOCKING\n    scheduling: INTERRUPT\n");
  ASSERT_TRUE(ok.cfg);
  EXPECT_EQ(ok.cfg->tools[0].behavior, tools::behavior::non_blocking);
  EXPECT_EQ(ok.cfg->tools[0].scheduling, tools::scheduling::interrupt);
}

TEST(Config, DuplicateKeysAreErrorsAtTheSecondOccurrence) {
  EXPECT_EQ(only_error("live: {model: m}\nlive: {model: n}\n"),
            "test.yaml:2:1: live: duplicate key (first given at line 1, column 1)");
  EXPECT_EQ(only_error(std::string(minimal) + "mqtt:\n  url: mqtt://a\n  url: mqtt://b\n"),
            "test.yaml:5:3: mqtt.url: duplicate key (first given at line 4, column 3)");
  EXPECT_EQ(only_error(std::string(minimal) + "  model: models/other\n"),
            "test.yaml:3:3: live.model: duplicate key (first given at line 2, column 3)");
  EXPECT_EQ(only_error(std::string(minimal) + "tools:\n  - {name: a, name: b, publish: {topic: t}}\n"),
            "test.yaml:4:15: tools[0].name: duplicate key (first given at line 4, column 6)");
}

TEST(Config, DuplicateKeysInsideParametersPayloadsAndMatchesAreErrors) {
  const std::string head = std::string(minimal) + "tools:\n  - name: a\n";
  EXPECT_EQ(only_error(head + R"(    parameters:
      properties:
        level: {type: integer}
        level: {type: string}
    publish: {topic: t}
)"),
            "test.yaml:8:9: tools[0].parameters.properties.level: duplicate key (first given at line 7, "
            "column 9)");
  EXPECT_EQ(
      only_error(head + "    publish: {topic: t, payload: {state: \"ON\", state: \"OFF\"}}\n"),
      "test.yaml:5:48: tools[0].publish.payload.state: duplicate key (first given at line 5, column 35)");
  EXPECT_EQ(only_error(head + R"(    publish: {topic: t/set}
    ack:
      topic: t
      match: {state: "ON", state: "OFF"}
)"),
            "test.yaml:8:28: tools[0].ack.match.state: duplicate key (first given at line 8, column 15)");
  EXPECT_EQ(only_error(head + "    publish: [{topic: a}, {topic: b, qos: 1, qos: 0}]\n"),
            "test.yaml:5:46: tools[0].publish[1].qos: duplicate key (first given at line 5, column 38)");
}

// A key "1" and a key 1 are the same member of the JSON object they become.
TEST(Config, KeysThatDifferOnlyInQuotingAreDuplicates) {
  const std::string e = only_error(std::string(minimal) +
                                   "tools:\n  - {name: a, publish: {topic: t, payload: {1: x, \"1\": y}}}\n");
  EXPECT_NE(e.find("tools[0].publish.payload.1: duplicate key"), std::string::npos) << e;
}

TEST(Config, AKeyThatIsNotAScalarIsAnError) {
  EXPECT_EQ(
      only_error(std::string(minimal) + "tools:\n  - {name: a, publish: {topic: t, payload: {[x]: 1}}}\n"),
      "test.yaml:4:45: tools[0].publish.payload: expected a plain key, found a list");
}

// An alias may name the collection it sits in; reading it as a payload must not recurse forever.
TEST(Config, AnAliasThatContainsItselfIsAnError) {
  const std::string e =
      only_error(std::string(minimal) + "tools:\n  - {name: a, publish: {topic: t, payload: &p [*p]}}\n");
  EXPECT_NE(e.find("tools[0].publish.payload"), std::string::npos) << e;
  EXPECT_NE(e.find("repeat it without end"), std::string::npos) << e;
}

// Aliases multiply: each level of this file holds the one above nine times.
TEST(Config, AFileThatExpandsBeyondTheLimitIsAnError) {
  std::string yaml = std::string(minimal) + "x0: &x0 [a, a, a, a, a, a, a, a, a]\n";
  for (int i = 1; i < 9; ++i) {
    const std::string prev = "*x" + std::to_string(i - 1);
    yaml += "x" + std::to_string(i) + ": &x" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 9; ++k) yaml += ", " + prev;
    yaml += "]\n";
  }
  const auto r = load(yaml);
  EXPECT_FALSE(r.cfg);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors[0].message.find("more than"), std::string::npos) << r.errors[0].to_string();
}

// One mistake in a parameter's schema is one error: the parameter still counts as declared, so
// the placeholders and `required` that name it are not reported as well.
TEST(Config, AnInvalidParameterSchemaIsOneErrorNotACascade) {
  const std::string head = std::string(minimal) + "tools:\n  - name: set_level\n";
  const std::string uses = R"(    publish: {topic: "l/{{level}}/set", payload: {brightness: "{{level}}"}}
    ack: {topic: "l/{{level}}", match: {brightness: "{{level}}"}}
)";
  EXPECT_EQ(only_error(head + R"(    parameters:
      properties:
        level: {type: integr}
      required: [level]
)" + uses),
            "test.yaml:7:23: tools[0].parameters.properties.level.type: expected object, string, number, "
            "integer, boolean or array, found \"integr\"");
  EXPECT_EQ(only_error(head + R"(    parameters:
      properties:
        level: {type: integr, enum: [1, 2], minimum: 0, items: {type: string}}
)" + uses),
            "test.yaml:7:23: tools[0].parameters.properties.level.type: expected object, string, number, "
            "integer, boolean or array, found \"integr\"");
  EXPECT_EQ(only_error(head + R"(    parameters:
      type: objekt
      properties:
        level: {type: integer}
)" + uses),
            "test.yaml:6:13: tools[0].parameters.type: expected object, string, number, integer, boolean or "
            "array, found \"objekt\"");
  EXPECT_EQ(only_error(head + R"(    parameters:
      properties:
        level: {type: integer, minimum: 10, maximum: 1}
)" + uses),
            "test.yaml:7:41: tools[0].parameters.properties.level.minimum: is greater than maximum");
  // Parameters that cannot be read at all declare nothing that could be checked against.
  EXPECT_EQ(only_error(head + "    parameters: [level]\n" + uses),
            "test.yaml:5:17: tools[0].parameters: expected a mapping, found a list");
  // An undeclared placeholder is still reported beside a schema error.
  const auto r = load(head + R"(    parameters:
      properties:
        level: {type: integr}
    publish: {topic: "l/{{room}}/set"}
)");
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[1].to_string(),
            "test.yaml:8:22: tools[0].publish.topic: placeholder {{room}} is not a declared parameter of "
            "set_level (built-ins: call.id, bridge.client_id)");
}

// The prompt inbox (`<client_id>-prompts`) and `livebridge ask` (`<client_id>-ask-<pid>`) connect
// with ids derived from client_id; the longest of them must stay within the 64 characters.
TEST(Config, ClientIdLeavesRoomForTheDerivedIds) {
  const std::string at_limit(max_client_id_length, 'c');
  const auto ok = load(std::string(minimal) + "mqtt: {client_id: " + at_limit + "}\n");
  ASSERT_TRUE(ok.cfg) << ok.errors[0].to_string();
  EXPECT_LE(prompts_client_id(ok.cfg->mqtt).size(), 64u);
  EXPECT_LE(ask_client_id(ok.cfg->mqtt, max_pid).size(), 64u);
  EXPECT_EQ(prompts_client_id(ok.cfg->mqtt), at_limit + "-prompts");
  EXPECT_EQ(ask_client_id(ok.cfg->mqtt, 4242), at_limit + "-ask-4242");

  EXPECT_EQ(
      only_error(std::string(minimal) + "mqtt: {client_id: " + at_limit + "c}\n"),
      "test.yaml:3:19: mqtt.client_id: must be 1 to 52 characters without '/', '+', '#' or spaces, so "
      "that <client_id>-prompts and <client_id>-ask-<pid> stay within the 64 characters of a client id");
  EXPECT_NE(
      only_error(std::string(minimal) + "mqtt: {client_id: \"\"}\n").find("mqtt.client_id: must be 1 to 52"),
      std::string::npos);
}

// A sign alone is not a number: reading it must not look past its end.
TEST(Config, ASignAloneIsNotANumber) {
  const std::string head = std::string(minimal) + "tools:\n  - name: a\n";
  EXPECT_EQ(only_error(head + "    publish: {topic: t, qos: +}\n"),
            "test.yaml:5:30: tools[0].publish.qos: expected an integer, found \"+\"");
  EXPECT_EQ(only_error(head + "    publish: {topic: t, qos: -}\n"),
            "test.yaml:5:30: tools[0].publish.qos: expected an integer, found \"-\"");
  EXPECT_EQ(only_error(head + "    publish: {topic: t/set}\n    ack: {topic: t, tolerance: +}\n"),
            "test.yaml:6:32: tools[0].ack.tolerance: expected a number of 0 or more, found \"+\"");
  EXPECT_EQ(only_error(head + R"(    parameters:
      properties:
        level: {type: integer, minimum: +}
    publish: {topic: t}
)"),
            "test.yaml:7:41: tools[0].parameters.properties.level.minimum: expected a number, found \"+\"");
  // One sign at most: "+-5" is text, as YAML's core schema has it.
  const auto r =
      load(head + "    publish: {topic: t, payload: {a: +, b: -, c: +-, d: +-5, e: +5, f: -5, g: +.5}}\n");
  ASSERT_TRUE(r.cfg) << r.errors[0].to_string();
  EXPECT_EQ(tools::json::parse(std::get<std::string>(r.cfg->tools[0].publish[0].payload.render({}))),
            tools::json::parse(R"({"a":"+","b":"-","c":"+-","d":"+-5","e":5,"f":-5,"g":0.5})"));
}

TEST(Config, EmptyAndOddScalarsAreErrorsWithTheirPosition) {
  const std::string head = std::string(minimal) + "tools:\n  - name: a\n";
  EXPECT_EQ(
      only_error(head + "    publish: {topic: t}\n    ack: {topic: t, timeout: \"\"}\n"),
      "test.yaml:6:30: tools[0].ack.timeout: expected a duration such as \"5s\" or \"250ms\", found \"\"");
  EXPECT_EQ(
      only_error(head + "    publish: {topic: t}\n    ack: {topic: t, timeout: }\n"),
      "test.yaml:6:30: tools[0].ack.timeout: expected a duration such as \"5s\" or \"250ms\", found nothing");
  EXPECT_EQ(only_error(head + "    publish: {topic: t, qos: \"\"}\n"),
            "test.yaml:5:30: tools[0].publish.qos: expected an integer, found \"\"");
  EXPECT_EQ(only_error(head + "    publish: {topic: t, qos: 99999999999999999999}\n"),
            "test.yaml:5:30: tools[0].publish.qos: expected an integer, found \"99999999999999999999\"");
  EXPECT_EQ(only_error(std::string(minimal) + "  builtin_tools: [[google_search]]\n"),
            "test.yaml:3:19: live.builtin_tools[0]: expected google_search or code_execution, found a list");
}

TEST(Config, AFileThatIsADirectoryIsNamed) {
  const auto r = load_file(std::filesystem::temp_directory_path().string());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].to_string().find("cannot read the file: Is a directory"), std::string::npos)
      << r.errors[0].to_string();
}

}  // namespace
}  // namespace lb::config
