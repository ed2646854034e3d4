#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/loader.hpp"
#include "config/secrets.hpp"
#include "trust/pin.hpp"

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

// --- trust -------------------------------------------------------------------------------------

TEST(Config, TrustDefaultsWhenTheSectionIsAbsent) {
  const auto r = load(minimal);
  ASSERT_TRUE(r.cfg);
  const trust_config& t = r.cfg->trust;
  EXPECT_FALSE(t.pin_file);
  EXPECT_EQ(t.confirm_timeout, std::chrono::seconds(120));
  EXPECT_EQ(t.pin_attempts, 3u);
  EXPECT_EQ(t.lockout, std::chrono::seconds(300));
  EXPECT_EQ(t.loop_guard, 3u);
  EXPECT_EQ(t.transcript_grace, std::chrono::milliseconds(1500));
  EXPECT_FALSE(t.dry_run);
  EXPECT_FALSE(t.audit.directory);
  EXPECT_EQ(t.audit.max_bytes, 10u << 20);
  EXPECT_EQ(t.audit.keep_files, 5u);
}

TEST(Config, TrustSectionKeysAreRead) {
  const auto r = load(std::string(minimal) + R"(trust:
  pin_file: /etc/livebridge/pin
  confirm_timeout: 90s
  pin_attempts: 5
  lockout: 10m
  loop_guard: 4
  transcript_grace: 0s
  dry_run: true
  audit: {directory: /var/lib/livebridge/audit, max_bytes: 4096, keep_files: 0}
)");
  ASSERT_TRUE(r.cfg) << r.errors[0].to_string();
  const trust_config& t = r.cfg->trust;
  EXPECT_EQ(t.pin_file, "/etc/livebridge/pin");
  EXPECT_EQ(t.confirm_timeout, std::chrono::seconds(90));
  EXPECT_EQ(t.pin_attempts, 5u);
  EXPECT_EQ(t.lockout, std::chrono::minutes(10));
  EXPECT_EQ(t.loop_guard, 4u);
  EXPECT_EQ(t.transcript_grace, std::chrono::milliseconds(0));
  EXPECT_TRUE(t.dry_run);
  EXPECT_EQ(t.audit.directory, "/var/lib/livebridge/audit");
  EXPECT_EQ(t.audit.max_bytes, 4096u);
  EXPECT_EQ(t.audit.keep_files, 0u);
}

TEST(Config, TrustValuesOutOfRangeAreErrorsWithTheirPosition) {
  const std::string head = std::string(minimal) + "trust:\n";
  EXPECT_EQ(only_error(head + "  confirm_timeout: 0s\n"),
            "test.yaml:4:20: trust.confirm_timeout: must be between 1ms and 1h, found \"0s\"");
  EXPECT_EQ(only_error(head + "  confirm_timeout: 2h\n"),
            "test.yaml:4:20: trust.confirm_timeout: must be between 1ms and 1h, found \"2h\"");
  EXPECT_EQ(only_error(head + "  pin_attempts: 0\n"),
            "test.yaml:4:17: trust.pin_attempts: must be between 1 and 100, found \"0\"");
  EXPECT_EQ(only_error(head + "  pin_attempts: 101\n"),
            "test.yaml:4:17: trust.pin_attempts: must be between 1 and 100, found \"101\"");
  EXPECT_EQ(only_error(head + "  lockout: 500ms\n"),
            "test.yaml:4:12: trust.lockout: must be between 1s and 24h, found \"500ms\"");
  EXPECT_EQ(only_error(head + "  loop_guard: 1001\n"),
            "test.yaml:4:15: trust.loop_guard: must be between 1 and 1000, found \"1001\"");
  EXPECT_EQ(only_error(head + "  transcript_grace: 11s\n"),
            "test.yaml:4:21: trust.transcript_grace: must be between 0s and 10s, found \"11s\"");
  EXPECT_EQ(only_error(head + "  dry_run: maybe\n"),
            "test.yaml:4:12: trust.dry_run: expected true or false, found \"maybe\"");
  EXPECT_EQ(only_error(head + "  audit: {max_bytes: 4095}\n"),
            "test.yaml:4:22: trust.audit.max_bytes: must be between 4096 and 1073741824, found \"4095\"");
  EXPECT_EQ(only_error(head + "  audit: {max_bytes: 10MB}\n"),
            "test.yaml:4:22: trust.audit.max_bytes: expected an integer, found \"10MB\"");
  EXPECT_EQ(only_error(head + "  audit: {keep_files: 1001}\n"),
            "test.yaml:4:23: trust.audit.keep_files: must be between 0 and 1000, found \"1001\"");
  EXPECT_EQ(only_error(head + "  pin_file: [a, b]\n"),
            "test.yaml:4:13: trust.pin_file: expected a string, found a list");
  EXPECT_EQ(only_error(std::string(minimal) + "trust: [dry_run]\n"),
            "test.yaml:3:8: trust: expected a mapping, found a list");
}

TEST(Config, UnknownAndDuplicateTrustKeysAreErrors) {
  EXPECT_EQ(
      only_error(std::string(minimal) + "trust:\n  pin: 1234\n"),
      "test.yaml:4:3: trust.pin: unknown key (known keys here: audit, confirm_timeout, dry_run, lockout, "
      "loop_guard, pin_attempts, pin_file, transcript_grace)");
  EXPECT_EQ(
      only_error(std::string(minimal) + "trust:\n  audit: {dir: /tmp}\n"),
      "test.yaml:4:11: trust.audit.dir: unknown key (known keys here: directory, keep_files, max_bytes)");
  EXPECT_EQ(only_error(std::string(minimal) + "trust:\n  lockout: 1m\n  lockout: 2m\n"),
            "test.yaml:5:3: trust.lockout: duplicate key (first given at line 4, column 3)");
  EXPECT_EQ(only_error(std::string(minimal) + "trust:\n  audit: {keep_files: 1, keep_files: 2}\n"),
            "test.yaml:4:26: trust.audit.keep_files: duplicate key (first given at line 4, column 11)");
  EXPECT_EQ(only_error(std::string(minimal) + "trust: {dry_run: true}\ntrust: {dry_run: false}\n"),
            "test.yaml:4:1: trust: duplicate key (first given at line 3, column 1)");
}

// --- a tool's guard ------------------------------------------------------------------------------

const char* const garage_head = R"(live:
  model: models/gemini-live-2.5-flash-preview
tools:
  - name: open_garage_door
    parameters:
      properties:
        door: {type: string, enum: [left, right]}
        percent: {type: integer, minimum: 0, maximum: 100}
    publish: {topic: "garage/{{door}}/set", payload: {open: "{{percent}}"}}
)";

// garage_head with one more line of the tool: `key: "value"`. Appended in place, because GCC 12 at
// -O2 reports a false -Warray-bounds for a chain of operator+ on temporaries built in a loop.
std::string garage_with(std::string_view key, std::string_view quoted_value) {
  std::string yaml = garage_head;
  yaml.append("    ").append(key).append(": \"").append(quoted_value).append("\"\n");
  return yaml;
}

// `message`, found "<text>": the error a bad value on line 10 of garage_with gets.
std::string found(std::string_view position_and_message, std::string_view text) {
  std::string out(position_and_message);
  out.append(", found \"").append(text).append("\"");
  return out;
}

TEST(Config, GuardKeysAreRead) {
  const auto r = load(std::string(garage_head) + R"(    confirm: ack
    confirm_message: "Open the {{door}} garage door?"
    rate_limit: 6/min
    allowed_hours: "07:00-22:00"
    bounds: {percent: {minimum: 10, maximum: 90}}
    sources: [default, kitchen, phone-1]
    dry_run: true
)");
  ASSERT_TRUE(r.cfg) << r.errors[0].to_string();
  EXPECT_TRUE(r.warnings.empty()) << r.warnings[0].to_string();
  const tools::guard_spec& g = r.cfg->tools[0].guard;
  EXPECT_EQ(g.confirm, tools::confirmation::ack);
  EXPECT_EQ(g.confirm_origin, "test.yaml:10:5");
  ASSERT_TRUE(g.confirm_message);
  EXPECT_EQ(std::get<std::string>(g.confirm_message->render({{"door", "left"}}, false)),
            "Open the left garage door?");
  ASSERT_TRUE(g.rate);
  EXPECT_EQ(g.rate->calls, 6u);
  EXPECT_EQ(g.rate->per, std::chrono::minutes(1));
  ASSERT_TRUE(g.allowed_hours);
  EXPECT_EQ(g.allowed_hours->from_minute, 7 * 60);
  EXPECT_EQ(g.allowed_hours->to_minute, 22 * 60);
  ASSERT_EQ(g.bounds.size(), 1u);
  EXPECT_EQ(g.bounds[0].argument, "percent");
  EXPECT_EQ(g.bounds[0].minimum, 10.0);
  EXPECT_EQ(g.bounds[0].maximum, 90.0);
  EXPECT_EQ(g.sources, (std::vector<std::string>{"default", "kitchen", "phone-1"}));
  EXPECT_TRUE(g.dry_run);
  EXPECT_FALSE(r.cfg->tools[0].query);
}

TEST(Config, AToolWithoutGuardKeysHasNoGuard) {
  const auto r = load(garage_head);
  ASSERT_TRUE(r.cfg) << r.errors[0].to_string();
  const tools::guard_spec& g = r.cfg->tools[0].guard;
  EXPECT_EQ(g.confirm, tools::confirmation::none);
  EXPECT_EQ(g.confirm_origin, "");
  EXPECT_FALSE(g.confirm_message);
  EXPECT_FALSE(g.rate);
  EXPECT_FALSE(g.allowed_hours);
  EXPECT_TRUE(g.bounds.empty());
  EXPECT_TRUE(g.sources.empty());
  EXPECT_FALSE(g.dry_run);
}

TEST(Config, ConfirmTakesNoneAckOrPinAndItsMessageNeedsOne) {
  const std::string head = garage_head;
  const auto pin = load(head + "    confirm: pin\n");
  ASSERT_TRUE(pin.cfg) << pin.errors[0].to_string();
  EXPECT_EQ(pin.cfg->tools[0].guard.confirm, tools::confirmation::pin);
  EXPECT_EQ(pin.cfg->tools[0].guard.confirm_origin, "test.yaml:10:5");
  EXPECT_EQ(only_error(head + "    confirm: yes\n"),
            "test.yaml:10:14: tools[0].confirm: expected none, ack or pin, found \"yes\"");
  EXPECT_EQ(only_error(head + "    confirm_message: Sure?\n"),
            "test.yaml:10:22: tools[0].confirm_message: applies only with confirm: ack or pin");
  EXPECT_EQ(only_error(head + "    confirm: none\n    confirm_message: Sure?\n"),
            "test.yaml:11:22: tools[0].confirm_message: applies only with confirm: ack or pin");
  EXPECT_EQ(only_error(head + "    confirm: ack\n    confirm_message: \"Open the {{dor}} door?\"\n"),
            "test.yaml:11:22: tools[0].confirm_message: placeholder {{dor}} is not a declared parameter of "
            "open_garage_door (built-ins: call.id, bridge.client_id)");
  EXPECT_EQ(only_error(head + "    confirm: ack\n    confirm_message: \"\"\n"),
            "test.yaml:11:22: tools[0].confirm_message: is empty; leave it out to ask with the description");
  EXPECT_EQ(only_error(head + "    confirm: ack\n    confirm_message: \"Open {{door\"\n"),
            "test.yaml:11:22: tools[0].confirm_message: " +
                std::get<std::string>(tools::text_template::parse("Open {{door")));
  // A mistaken confirm is one error, not two.
  EXPECT_EQ(only_error(head + "    confirm: pn\n    confirm_message: Sure?\n"),
            "test.yaml:10:14: tools[0].confirm: expected none, ack or pin, found \"pn\"");
}

TEST(Config, RateLimitsInEveryUnit) {
  using std::chrono::hours;
  using std::chrono::seconds;
  const std::pair<const char*, tools::rate_limit> cases[] = {
      {"1/s", {1, seconds(1)}},    {"2/sec", {2, seconds(1)}},     {"3/second", {3, seconds(1)}},
      {"6/min", {6, seconds(60)}}, {"7/minute", {7, seconds(60)}}, {"10/h", {10, hours(1)}},
      {"11/hour", {11, hours(1)}}, {"20/d", {20, hours(24)}},      {"100000/day", {100000, hours(24)}}};
  for (const auto& [text, expected] : cases) {
    const auto r = load(garage_with("rate_limit", text));
    ASSERT_TRUE(r.cfg) << text << ": " << r.errors[0].to_string();
    ASSERT_TRUE(r.cfg->tools[0].guard.rate) << text;
    EXPECT_EQ(r.cfg->tools[0].guard.rate->calls, expected.calls) << text;
    EXPECT_EQ(r.cfg->tools[0].guard.rate->per, expected.per) << text;
  }
}

TEST(Config, BadRateLimitsNameTheExpectedShape) {
  const std::string shape =
      "expected calls per period such as \"6/min\" (N/s, N/min, N/h or N/d; also sec, second, minute, hour, "
      "day)";
  for (const char* text : {"6", "/min", "six/min", "-1/min", "+1/min", "6 /min", "6/week", "6/", "6/mins",
                           "1.5/min", "6/min/h"}) {
    EXPECT_EQ(only_error(garage_with("rate_limit", text)),
              found("test.yaml:10:17: tools[0].rate_limit: " + shape, text))
        << text;
  }
  for (const char* text : {"0/min", "100001/min", "99999999999999999999999/min"}) {
    EXPECT_EQ(
        only_error(garage_with("rate_limit", text)),
        found("test.yaml:10:17: tools[0].rate_limit: the number of calls must be between 1 and 100000", text))
        << text;
  }
  EXPECT_EQ(only_error(std::string(garage_head) + "    rate_limit: {calls: 6, per: min}\n"),
            "test.yaml:10:17: tools[0].rate_limit: expected a string, found a mapping");
}

TEST(Config, AllowedHoursMayWrapPastMidnight) {
  const auto r = load(std::string(garage_head) + "    allowed_hours: 22:30-06:00\n");
  ASSERT_TRUE(r.cfg) << r.errors[0].to_string();
  ASSERT_TRUE(r.cfg->tools[0].guard.allowed_hours);
  EXPECT_EQ(r.cfg->tools[0].guard.allowed_hours->from_minute, 22 * 60 + 30);
  EXPECT_EQ(r.cfg->tools[0].guard.allowed_hours->to_minute, 6 * 60);
  const auto whole_day = load(std::string(garage_head) + "    allowed_hours: 00:00-23:59\n");
  ASSERT_TRUE(whole_day.cfg) << whole_day.errors[0].to_string();
  EXPECT_EQ(whole_day.cfg->tools[0].guard.allowed_hours->to_minute, 23 * 60 + 59);
}

TEST(Config, BadAllowedHoursAreErrors) {
  const std::string shape = "expected a daily window such as \"07:00-22:00\" (HH:MM-HH:MM, 24-hour clock)";
  for (const char* text : {"7:00-22:00", "07:00-22", "24:00-06:00", "07:60-08:00", "07:00 - 22:00", "07:00",
                           "07:00-22:00-23:00", "07.00-22.00", "ab:cd-ef:gh"}) {
    EXPECT_EQ(only_error(garage_with("allowed_hours", text)),
              found("test.yaml:10:20: tools[0].allowed_hours: " + shape, text))
        << text;
  }
  EXPECT_EQ(
      only_error(std::string(garage_head) + "    allowed_hours: \"08:15-08:15\"\n"),
      "test.yaml:10:20: tools[0].allowed_hours: starts and ends at the same minute; leave allowed_hours out "
      "to allow every hour, found \"08:15-08:15\"");
}

TEST(Config, BoundsNeedADeclaredNumericParameterAndARange) {
  const std::string head = std::string(garage_head) + "    bounds:\n";
  EXPECT_EQ(
      only_error(head + "      precent: {maximum: 50}\n"),
      "test.yaml:11:7: tools[0].bounds.precent: \"precent\" is not a declared parameter of open_garage_door");
  EXPECT_EQ(
      only_error(head + "      door: {maximum: 50}\n"),
      "test.yaml:11:7: tools[0].bounds.door: only number and integer parameters have bounds; door is of "
      "type string");
  EXPECT_EQ(only_error(head + "      percent: {}\n"),
            "test.yaml:11:16: tools[0].bounds.percent: expected minimum, maximum or both");
  EXPECT_EQ(only_error(head + "      percent: {maximum: half}\n"),
            "test.yaml:11:26: tools[0].bounds.percent.maximum: expected a number, found \"half\"");
  EXPECT_EQ(only_error(head + "      percent: {minimum: 60, maximum: 40}\n"),
            "test.yaml:11:26: tools[0].bounds.percent.minimum: is greater than maximum");
  EXPECT_EQ(only_error(head + "      percent: {min: 5}\n"),
            "test.yaml:11:17: tools[0].bounds.percent.min: unknown key (known keys here: maximum, minimum)");
  EXPECT_EQ(only_error(head + "      percent: 50\n"),
            "test.yaml:11:16: tools[0].bounds.percent: expected a mapping, found \"50\"");
  EXPECT_EQ(only_error(std::string(garage_head) + "    bounds: [percent]\n"),
            "test.yaml:10:13: tools[0].bounds: expected a mapping, found a list");
  EXPECT_EQ(only_error(head + "      percent: {minimum: 101}\n"),
            "test.yaml:11:16: tools[0].bounds.percent: no value within the parameter's own range (minimum 0, "
            "maximum 100) passes this bound: every call would be refused");
  EXPECT_EQ(only_error(head + "      percent: {maximum: -0.5}\n"),
            "test.yaml:11:16: tools[0].bounds.percent: no value within the parameter's own range (minimum 0, "
            "maximum 100) passes this bound: every call would be refused");
  // A tool without parameters has none to bound.
  EXPECT_EQ(only_error(std::string(minimal) + R"(tools:
  - name: a
    publish: {topic: t}
    bounds: {level: {maximum: 3}}
)"),
            "test.yaml:6:14: tools[0].bounds.level: \"level\" is not a declared parameter of a");
}

// A bound looser than the schema's own range never refuses anything: a warning, since the file
// still does what it says.
TEST(Config, ABoundLooserThanTheSchemaIsAWarning) {
  const auto r = load(std::string(garage_head) + "    bounds: {percent: {minimum: 0, maximum: 150}}\n");
  ASSERT_TRUE(r.cfg) << r.errors[0].to_string();
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_EQ(
      r.warnings[0].to_string(),
      "test.yaml:10:33: tools[0].bounds.percent.minimum: is not above the parameter's own minimum 0, so it "
      "never refuses a call");
  EXPECT_EQ(
      r.warnings[1].to_string(),
      "test.yaml:10:45: tools[0].bounds.percent.maximum: is not below the parameter's own maximum 100, so "
      "it never refuses a call");
  const auto tighter = load(std::string(garage_head) + "    bounds: {percent: {maximum: 99.5}}\n");
  ASSERT_TRUE(tighter.cfg);
  EXPECT_TRUE(tighter.warnings.empty());
}

TEST(Config, SourcesAreANonEmptyListOfNamesWithoutRepeats) {
  const std::string head = garage_head;
  EXPECT_EQ(
      only_error(head + "    sources: kitchen\n"),
      "test.yaml:10:14: tools[0].sources: expected a list of prompt sources such as [default, kitchen], "
      "found \"kitchen\"");
  EXPECT_EQ(
      only_error(head + "    sources: []\n"),
      "test.yaml:10:14: tools[0].sources: expected at least one source; leave sources out to allow every "
      "source");
  EXPECT_EQ(
      only_error(head + "    sources: [kitchen, \"living room\"]\n"),
      "test.yaml:10:24: tools[0].sources[1]: a prompt source is 1 to 64 letters, digits, '_' or '-', found "
      "\"living room\"");
  EXPECT_EQ(
      only_error(head + "    sources: [\"a/b\"]\n"),
      "test.yaml:10:15: tools[0].sources[0]: a prompt source is 1 to 64 letters, digits, '_' or '-', found "
      "\"a/b\"");
  EXPECT_EQ(
      only_error(head + "    sources: [\"\"]\n"),
      "test.yaml:10:15: tools[0].sources[0]: a prompt source is 1 to 64 letters, digits, '_' or '-', found "
      "\"\"");
  EXPECT_EQ(
      only_error(head + "    sources: [[voice]]\n"),
      "test.yaml:10:15: tools[0].sources[0]: a prompt source is 1 to 64 letters, digits, '_' or '-', found "
      "a list");
  EXPECT_EQ(
      only_error(head + "    sources: [" + std::string(65, 's') + "]\n"),
      "test.yaml:10:15: tools[0].sources[0]: a prompt source is 1 to 64 letters, digits, '_' or '-', found "
      "\"" +
          std::string(65, 's') + "\"");
  EXPECT_EQ(only_error(head + "    sources: [voice, cli, voice]\n"),
            "test.yaml:10:27: tools[0].sources[2]: \"voice\" is listed twice");
  const auto at_limit = load(head + "    sources: [" + std::string(64, 's') + ", voice, cli]\n");
  ASSERT_TRUE(at_limit.cfg) << at_limit.errors[0].to_string();
  EXPECT_EQ(at_limit.cfg->tools[0].guard.sources.size(), 3u);
}

TEST(Config, DryRunIsABoolean) {
  EXPECT_EQ(only_error(std::string(garage_head) + "    dry_run: sometimes\n"),
            "test.yaml:10:14: tools[0].dry_run: expected true or false, found \"sometimes\"");
}

TEST(Config, DuplicateKeysInTheGuardAreErrors) {
  const std::string head = garage_head;
  EXPECT_EQ(only_error(head + "    confirm: ack\n    confirm: none\n"),
            "test.yaml:11:5: tools[0].confirm: duplicate key (first given at line 10, column 5)");
  EXPECT_EQ(only_error(head + "    bounds: {percent: {maximum: 50}, percent: {maximum: 60}}\n"),
            "test.yaml:10:38: tools[0].bounds.percent: duplicate key (first given at line 10, column 14)");
  EXPECT_EQ(
      only_error(head + "    bounds: {percent: {maximum: 50, maximum: 60}}\n"),
      "test.yaml:10:37: tools[0].bounds.percent.maximum: duplicate key (first given at line 10, column 24)");
}

// --- query tools ---------------------------------------------------------------------------------

const char* const query_head = R"(live:
  model: models/gemini-live-2.5-flash-preview
tools:
  - name: is_the_light_on
    description: Tells whether a room's light is on.
    parameters:
      properties:
        room: {type: string, enum: [kitchen, hall]}
      required: [room]
)";

TEST(Config, AQueryToolReadsATopicAndPublishesNothing) {
  const auto r = load(std::string(query_head) + R"(    query: {topic: "zigbee2mqtt/{{room}}_light"}
    allowed_hours: "06:00-23:00"
    sources: [default]
)");
  ASSERT_TRUE(r.cfg) << r.errors[0].to_string();
  const auto& t = r.cfg->tools[0];
  ASSERT_TRUE(t.query);
  EXPECT_EQ(t.query->topic.source(), "zigbee2mqtt/{{room}}_light");
  EXPECT_EQ(std::get<std::string>(t.query->topic.render({{"room", "hall"}}, true)), "zigbee2mqtt/hall_light");
  EXPECT_TRUE(t.publish.empty());
  EXPECT_TRUE(t.guard.allowed_hours);
  EXPECT_EQ(t.guard.sources, std::vector<std::string>{"default"});
}

TEST(Config, AQueryToolHasNoPublishAckOrConfirmation) {
  const std::string head = std::string(query_head) + "    query: {topic: \"z/{{room}}\"}\n";
  EXPECT_EQ(only_error(head + "    publish: {topic: z/set}\n"),
            "test.yaml:11:14: tools[0].publish: a query tool publishes nothing; give either query (to read a "
            "state) or publish (to act)");
  EXPECT_EQ(
      only_error(head + "    ack: {topic: z}\n"),
      "test.yaml:11:10: tools[0].ack: a query tool answers from the latest message on query.topic and waits "
      "for no acknowledgement");
  for (const std::string key :
       {"confirm: ack", "confirm_message: Sure?", "rate_limit: 6/min", "dry_run: true"}) {
    const std::string name = key.substr(0, key.find(':'));
    EXPECT_EQ(only_error(head + "    " + key + "\n"),
              "test.yaml:11:" + std::to_string(5 + name.size() + 2) + ": tools[0]." + name +
                  ": a query tool publishes nothing; " + name + " applies only to tools that publish");
  }
}

TEST(Config, AQueryTopicIsCheckedLikeAPublishTopic) {
  const std::string head = query_head;
  EXPECT_EQ(only_error(head + "    query: {topic: \"z/{{rooom}}\"}\n"),
            "test.yaml:10:20: tools[0].query.topic: placeholder {{rooom}} is not a declared parameter of "
            "is_the_light_on (built-ins: call.id, bridge.client_id)");
  EXPECT_EQ(only_error(head + "    query: {topic: \"z/+/state\"}\n"),
            "test.yaml:10:20: tools[0].query.topic: a query topic may not contain wildcards");
  EXPECT_EQ(only_error(head + "    query: {topic: \"z/#\"}\n"),
            "test.yaml:10:20: tools[0].query.topic: a query topic may not contain wildcards");
  EXPECT_EQ(only_error(head + "    query: {}\n"),
            "test.yaml:10:12: tools[0].query.topic: required key is missing");
  EXPECT_EQ(only_error(head + "    query: {topic: z, retain: true}\n"),
            "test.yaml:10:23: tools[0].query.retain: unknown key (known keys here: topic)");
  EXPECT_EQ(only_error(head + "    query: zigbee2mqtt/hall\n"),
            "test.yaml:10:12: tools[0].query: expected a mapping, found \"zigbee2mqtt/hall\"");
  EXPECT_EQ(only_error(head + "    query: {topic: a, topic: b}\n"),
            "test.yaml:10:23: tools[0].query.topic: duplicate key (first given at line 10, column 13)");
}

// --- livebridge's own topics ---------------------------------------------------------------------

TEST(Config, AToolCannotPublishOnLivebridgesOwnTopics) {
  const std::string head = std::string(minimal) + "tools:\n  - name: a\n";
  EXPECT_EQ(
      only_error(head + "    publish: {topic: livebridge/confirm/17, payload: yes}\n"),
      "test.yaml:5:22: tools[0].publish.topic: \"livebridge/confirm/17\" is under mqtt.topic_prefix "
      "\"livebridge\": livebridge's own topics (confirmations, prompts) cannot be a tool's command topic");
  EXPECT_EQ(
      only_error(std::string(minimal) + "mqtt: {topic_prefix: home/lb}\ntools:\n  - name: a\n" +
                 "    publish: [{topic: x/set}, {topic: home/lb/prompt/kitchen}]\n"),
      "test.yaml:6:39: tools[0].publish[1].topic: \"home/lb/prompt/kitchen\" is under mqtt.topic_prefix "
      "\"home/lb\": livebridge's own topics (confirmations, prompts) cannot be a tool's command topic");
  // The prefix is mqtt's whichever comes first in the file.
  EXPECT_FALSE(load(head + "    publish: {topic: home/lb/prompt}\nmqtt: {topic_prefix: home/lb}\n").cfg);
  // Beside the prefix, or the prefix alone, is not under it; placeholders are checked when rendered.
  for (const char* topic :
       {"livebridgex/set", "livebridge", "home/livebridge/set", "\"livebridge/{{call.id}}\""}) {
    const auto r = load(head + "    publish: {topic: " + topic + "}\n");
    EXPECT_TRUE(r.cfg) << topic << ": " << (r.errors.empty() ? "" : r.errors[0].to_string());
  }
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

// --- the owner's PIN -----------------------------------------------------------------------------

class PinSecret : public Secrets {
 protected:
  // A loopback Live URL needs no API key, so the PIN's errors are the only ones.
  config cfg_with(const std::string& confirm, bool with_pin_file) {
    auto r = load(std::string(R"(live:
  model: m
  url: ws://127.0.0.1:9000/ws
tools:
  - name: a
    publish: {topic: t}
  - name: unlock_front_door
    publish: {topic: lock/set, payload: UNLOCK}
    confirm: )") + confirm +
                  "\n");
    EXPECT_TRUE(r.cfg) << r.errors[0].to_string();
    if (with_pin_file) r.cfg->trust.pin_file = (dir_ / "pin").string();
    return *r.cfg;
  }
  std::function<const char*(const char*)> credentials() {
    creds_ = (dir_ / "creds").string();
    return [this](const char* n) -> const char* {
      return std::string(n) == "CREDENTIALS_DIRECTORY" ? creds_.c_str() : nullptr;
    };
  }
  static std::function<const char*(const char*)> no_environment() {
    return [](const char*) -> const char* { return nullptr; };
  }
  const std::string needs_pin =
      "test.yaml:9:5: tools[1].confirm: pin needs the owner's PIN: put it in the credential livebridge-pin "
      "(LoadCredential=livebridge-pin:/etc/livebridge/pin) or name a file in trust.pin_file";
  std::string creds_;
};

TEST_F(PinSecret, TheCredentialWinsOverThePinFile) {
  write("creds/livebridge-pin", "2468\n");
  write("pin", "1357\n");
  const auto r = load_secrets(cfg_with("pin", true), credentials());
  EXPECT_TRUE(r.errors.empty()) << r.errors[0];
  EXPECT_EQ(r.value.pin, "2468");
}

TEST_F(PinSecret, AnEmptyCredentialIsNoPinAndThePinFileIsReadNext) {
  write("creds/livebridge-pin", "\n");  // the packaged unit's SetCredential= fallback
  write("pin", "1357\n");
  const auto r = load_secrets(cfg_with("pin", true), credentials());
  EXPECT_TRUE(r.errors.empty()) << r.errors[0];
  EXPECT_EQ(r.value.pin, "1357");
}

TEST_F(PinSecret, APinToolWithoutAPinIsAnErrorThatSaysWhereThePinGoes) {
  write("creds/livebridge-pin", "\n");
  const auto from_unit = load_secrets(cfg_with("pin", false), credentials());
  EXPECT_EQ(from_unit.errors, std::vector<std::string>{needs_pin});
  const auto from_shell = load_secrets(cfg_with("pin", false), no_environment());
  EXPECT_EQ(from_shell.errors, std::vector<std::string>{needs_pin});
  // Without a PIN tool, no PIN is needed; an ack needs none either.
  EXPECT_TRUE(load_secrets(cfg_with("ack", false), credentials()).errors.empty());
  EXPECT_TRUE(load_secrets(cfg_with("none", false), no_environment()).errors.empty());
}

TEST_F(PinSecret, AStoredHashIsAcceptedInPlaceOfThePin) {
  const std::string stored = trust::pin_verifier::hash_for_storage("4711");
  write("creds/livebridge-pin", stored + "\n");
  const auto r = load_secrets(cfg_with("pin", false), credentials());
  EXPECT_TRUE(r.errors.empty()) << r.errors[0];
  EXPECT_EQ(r.value.pin, stored);
}

TEST_F(PinSecret, AHashTheBridgeCouldNotUseIsAConfigError) {
  // Shaped like a stored hash, but not one: refused at the start, not by every PIN call later.
  write("creds/livebridge-pin", "pbkdf2-sha256$600000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo\n");
  const auto r = load_secrets(cfg_with("pin", false), credentials());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("livebridge hash-pin"), std::string::npos) << r.errors[0];
}

TEST_F(PinSecret, AMalformedPinIsAnErrorThatNeverShowsIt) {
  const std::string expected_credential =
      "credential livebridge-pin: expected a PIN of 4 to 12 digits, or a stored hash made by livebridge "
      "hash-pin (the content is not shown)";
  for (const std::string pin :
       {"123", "1234567890123", "12a4", "12 34", "\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94",
        "pbkdf2-sha256$", "pbkdf2-sha256$abc def", "sha256$abcdef", "hunter2hunter2"}) {
    write("creds/livebridge-pin", pin + "\n");
    const auto r = load_secrets(cfg_with("pin", false), credentials());
    // The only error: not also "needs the owner's PIN", which would send the owner looking elsewhere.
    EXPECT_EQ(r.errors, std::vector<std::string>{expected_credential}) << pin;
    EXPECT_EQ(r.value.pin, "") << pin;
  }
  // Without any PIN tool a malformed PIN is still an error: it is a mistake either way.
  write("pin", "98765x\n");
  const auto r = load_secrets(cfg_with("none", true), no_environment());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(
      r.errors[0],
      "trust.pin_file: expected a PIN of 4 to 12 digits, or a stored hash made by livebridge hash-pin (the "
      "content is not shown)");
  EXPECT_EQ(r.errors[0].find("98765"), std::string::npos);
}

TEST_F(PinSecret, FourAndTwelveDigitsAreTheLimits) {
  for (const std::string pin : {"0000", "123456789012"}) {
    write("pin", pin);
    const auto r = load_secrets(cfg_with("pin", true), no_environment());
    EXPECT_TRUE(r.errors.empty()) << pin << ": " << r.errors[0];
    EXPECT_EQ(r.value.pin, pin);
  }
}

TEST_F(PinSecret, AnUnreadableOrEmptyPinFileIsNamed) {
  const auto missing = load_secrets(cfg_with("pin", true), no_environment());
  EXPECT_EQ(missing.errors,
            std::vector<std::string>{"trust.pin_file: cannot read " + (dir_ / "pin").string() +
                                     ": No such file or directory"});
  write("pin", "\n");
  const auto empty = load_secrets(cfg_with("none", true), no_environment());
  EXPECT_EQ(empty.errors,
            std::vector<std::string>{"trust.pin_file: " + (dir_ / "pin").string() + " is empty"});
  // A credential that exists but cannot be read is not a reason to look elsewhere.
  std::filesystem::create_directories(dir_ / "creds" / "livebridge-pin");
  write("pin", "1357\n");
  const auto unreadable = load_secrets(cfg_with("pin", true), credentials());
  EXPECT_EQ(unreadable.errors,
            std::vector<std::string>{"cannot read " + (dir_ / "creds" / "livebridge-pin").string() +
                                     ": Is a directory"});
}

// Each shipped config loads, and its secrets too when the owner has put a key and a PIN where the
// packaged unit finds them.
TEST_F(Secrets, ShippedExamplesAreValid) {
  write("creds/gemini-api-key", "test-key\n");
  write("creds/livebridge-pin", "4711\n");
  const std::string creds = (dir_ / "creds").string();
  const auto env = [&](const char* n) -> const char* {
    return std::string(n) == "CREDENTIALS_DIRECTORY" ? creds.c_str() : nullptr;
  };
  int checked = 0;
  std::vector<std::filesystem::path> files{LIVEBRIDGE_SOURCE_DIR "/config/livebridge.yaml"};
  for (const auto& entry : std::filesystem::directory_iterator(LIVEBRIDGE_SOURCE_DIR "/config/examples"))
    files.push_back(entry.path());
  for (const auto& file : files) {
    const auto r = load_file(file.string());
    ASSERT_TRUE(r.cfg) << file << ": " << (r.errors.empty() ? "" : r.errors[0].to_string());
    const auto s = load_secrets(*r.cfg, env);
    EXPECT_TRUE(s.errors.empty()) << file << ": " << (s.errors.empty() ? "" : s.errors[0]);
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

// The lock example's unlock needs a PIN: without one, the start fails and says where it goes.
TEST_F(Secrets, TheLockExampleRefusesToStartWithoutAPin) {
  write("creds/gemini-api-key", "test-key\n");
  write("creds/livebridge-pin", "\n");
  const std::string creds = (dir_ / "creds").string();
  const std::string file = LIVEBRIDGE_SOURCE_DIR "/config/examples/front-door-lock.yaml";
  const auto r = load_file(file);
  ASSERT_TRUE(r.cfg) << (r.errors.empty() ? "" : r.errors[0].to_string());
  const auto s = load_secrets(*r.cfg, [&](const char* n) -> const char* {
    return std::string(n) == "CREDENTIALS_DIRECTORY" ? creds.c_str() : nullptr;
  });
  ASSERT_EQ(s.errors.size(), 1u);
  EXPECT_TRUE(s.errors[0].starts_with(file + ":")) << s.errors[0];
  EXPECT_NE(s.errors[0].find(".confirm: pin needs the owner's PIN: put it in the credential livebridge-pin"),
            std::string::npos)
      << s.errors[0];
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

TEST(Config, ADiscoveryNameClashIsFoundPastABrokenToolEntry) {
  const auto r = lb::config::load_text(
      "live: {model: m}\ndiscovery: {}\ntools:\n  - oops\n  - name: lock\n    publish: {topic: a/b}\n",
      "test.yaml");
  EXPECT_FALSE(r.cfg);
  bool clash = false;
  for (const auto& e : r.errors) clash = clash || e.key_path == "tools[1].name";
  EXPECT_TRUE(clash) << "the clash is reported at the entry that has it";
}
