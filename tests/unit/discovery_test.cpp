#include <gtest/gtest.h>

#include "discovery/catalog.hpp"
#include "discovery/device_tools.hpp"
#include "discovery/entity.hpp"
#include "discovery/value_path.hpp"
#include "tools/ack_match.hpp"

namespace lb::discovery {
namespace {

using nlohmann::json;

TEST(DiscoveryValueTemplate, ReadsThePlainFormsAndRefusesJinja) {
  struct row {
    const char* text;
    std::optional<std::vector<std::string>> members;
  };
  const row rows[] = {
      {"{{ value_json.state }}", std::vector<std::string>{"state"}},
      {"{{value_json.POWER}}", std::vector<std::string>{"POWER"}},
      {"{{ value_json[\"state_left\"] }}", std::vector<std::string>{"state_left"}},
      {"{{ value_json['state'] }}", std::vector<std::string>{"state"}},
      {"{{ value_json.update.state }}", std::vector<std::string>{"update", "state"}},
      {"{{ value }}", std::vector<std::string>{}},
      {"{{ value_json.state | lower }}", std::nullopt},
      {"{% if value_json.moving %}moving{% endif %}", std::nullopt},
      {"{{ value_json.state }} extra", std::nullopt},
      {"{{ value_json }}", std::nullopt},
      {"{{ values }}", std::nullopt},
      {"{{ value_json.1 }}", std::nullopt},
      {"{{ value_json[\"a\" }}", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& r : rows) {
    const auto p = parse_value_template(r.text);
    if (!r.members) {
      EXPECT_FALSE(p) << r.text;
    } else {
      ASSERT_TRUE(p) << r.text;
      EXPECT_EQ(p->members, *r.members) << r.text;
    }
  }
}

TEST(DiscoveryValueTemplate, ExpectAtBuildsTheReportAValueSitsIn) {
  EXPECT_EQ(expect_at(value_path{{"a", "b"}}, json("ON")), (json{{"a", {{"b", "ON"}}}}));
  EXPECT_EQ(expect_at(value_path{}, json("ON")), json("ON"));
  const json report{{"a", {{"b", 3}}}};
  ASSERT_NE(value_at(value_path{{"a", "b"}}, report), nullptr);
  EXPECT_EQ(*value_at(value_path{{"a", "b"}}, report), json(3));
  EXPECT_EQ(value_at(value_path{{"a", "c"}}, report), nullptr);
  EXPECT_EQ(value_at(value_path{{"a", "b", "c"}}, report), nullptr);
}

TEST(DiscoveryEntity, ExpandsAbbreviationsAndTheBaseTopic) {
  const auto parsed = parse_config(
      "homeassistant", "homeassistant/switch/hall/kettle/config",
      R"({"~":"hall/switch/kettle","name":"Kettle","stat_t":"~/state","cmd_t":"~/command","avty_t":"hall/status",
          "pl_avail":"up","uniq_id":"k1","dev":{"ids":"x","name":"Hall"}})");
  ASSERT_EQ(parsed.entities.size(), 1u);
  const entity& e = parsed.entities[0];
  EXPECT_EQ(e.kind, component::switch_);
  EXPECT_EQ(e.name, "Hall Kettle");
  EXPECT_EQ(e.unique_id, "k1");
  EXPECT_EQ(e.text("state_topic"), "hall/switch/kettle/state");
  EXPECT_EQ(e.text("command_topic"), "hall/switch/kettle/command");
  ASSERT_EQ(e.availability.size(), 1u);
  EXPECT_EQ(e.availability[0].topic, "hall/status");
  EXPECT_EQ(e.availability[0].available, "up");
  EXPECT_EQ(e.availability[0].not_available, "offline");
}

TEST(DiscoveryEntity, ADeviceMessageGivesEachComponentWithTheSharedOptions) {
  const auto parsed = parse_config("homeassistant", "homeassistant/device/porch/config", R"({
      "dev":{"ids":["p1"],"name":"Porch"},"o":{"name":"someone"},"avty_t":"porch/status","stat_t":"porch/state",
      "cmps":{"lamp":{"p":"light","uniq_id":"porch_lamp","name":"Lamp","cmd_t":"porch/lamp/set","schema":"json"},
              "temp":{"p":"sensor","uniq_id":"porch_t","name":"Temperature","val_tpl":"{{ value_json.t }}"},
              "pick":{"p":"select","uniq_id":"porch_sel","cmd_t":"porch/sel"}}})");
  ASSERT_EQ(parsed.entities.size(), 2u) << "the select has no tool and is skipped";
  for (const auto& e : parsed.entities) {
    EXPECT_EQ(e.text("state_topic"), "porch/state");
    ASSERT_EQ(e.availability.size(), 1u);
    EXPECT_EQ(e.device_name, "Porch");
  }
}

TEST(DiscoveryEntity, BadPayloadsNeverThrow) {
  for (const char* payload : {"not json", "[1,2]", "{\"cmps\": 3}", "{\"name\": {\"a\": 1}, \"cmd_t\": [1]}",
                              "{\"avty\": [1, {\"t\": 3}], \"dev\": \"x\", \"~\": 5}", "null", "\"str\""}) {
    for (const char* topic : {"homeassistant/light/a/config", "homeassistant/device/a/config",
                              "homeassistant/light/config", "homeassistant/light/a/b/c/config", "other"}) {
      EXPECT_NO_THROW(parse_config("homeassistant", topic, payload)) << topic << " " << payload;
    }
  }
}

TEST(DiscoveryEntity, NamesFollowHomeAssistant) {
  const auto name_of = [](const char* payload) {
    auto p = parse_config("homeassistant", "homeassistant/switch/x/config", payload);
    return p.entities.empty() ? std::string("?") : p.entities[0].name;
  };
  EXPECT_EQ(name_of(R"({"name":null,"dev":{"name":"Bulb"}})"), "Bulb");
  EXPECT_EQ(name_of(R"({"name":"Left","dev":{"name":"Switch"}})"), "Switch Left");
  EXPECT_EQ(name_of(R"({"name":"Switch left","dev":{"name":"Switch"}})"), "Switch left");
  EXPECT_EQ(name_of(R"({"name":"Plug"})"), "Plug");
  EXPECT_EQ(name_of(R"({})"), "x");
}

TEST(DiscoveryCatalog, UnchangedPayloadsChangeNothingAndEmptyOnesRemove) {
  catalog c("homeassistant");
  const std::string topic = "homeassistant/switch/x/config";
  const std::string payload = R"({"name":"Plug","cmd_t":"p/set","stat_t":"p"})";
  EXPECT_EQ(c.on_config(topic, payload), catalog::change::updated);
  EXPECT_EQ(c.on_config(topic, payload), catalog::change::none);
  EXPECT_EQ(c.generation(), 1u);
  EXPECT_EQ(c.entities().size(), 1u);
  EXPECT_EQ(c.on_config(topic, ""), catalog::change::updated);
  EXPECT_TRUE(c.entities().empty());
  EXPECT_EQ(c.on_config(topic, ""), catalog::change::none);
  EXPECT_EQ(c.on_config("zigbee2mqtt/x/config", payload), catalog::change::none) << "not under the prefix";
}

// --- the tools -------------------------------------------------------------------------------

class DiscoveryToolsTest : public ::testing::Test {
 protected:
  void add(const std::string& topic, const json& payload) { found_.on_config(topic, payload.dump()); }

  const tools::tool_spec* tool(const std::string& name) {
    built_ = build_tools(found_, cfg_);
    for (const auto& t : built_.tools)
      if (t.name == name) return &t;
    return nullptr;
  }

  std::variant<tools::resolved_command, std::string> resolve(const std::string& name, const json& args) {
    const auto* t = tool(name);
    if (t == nullptr) return std::string("no tool");
    return t->source->resolve(args, states_);
  }

  void report(const std::string& topic, const std::string& payload) {
    incoming_message m;
    m.topic = topic;
    m.payload = payload;
    m.retained = true;
    states_.offer(m, tools::state_cache::clock::now());
  }

  catalog found_{"homeassistant"};
  config::discovery_config cfg_;
  built_tools built_;
  tools::state_cache states_{{"#"}};
};

TEST_F(DiscoveryToolsTest, TasmotasDimmerSendsOnlyTheDimmerAndIsAcknowledgedOnItsStateTopic) {
  add("homeassistant/light/AA_LI_1/config", {{"name", "Desk"},
                                             {"cmd_t", "cmnd/desk/POWER"},
                                             {"stat_t", "tele/desk/STATE"},
                                             {"stat_val_tpl", "{{value_json.POWER}}"},
                                             {"bri_cmd_t", "cmnd/desk/Dimmer"},
                                             {"bri_stat_t", "tele/desk/STATE"},
                                             {"bri_scl", 100},
                                             {"on_cmd_type", "brightness"},
                                             {"bri_val_tpl", "{{value_json.Dimmer}}"}});
  auto r = resolve("set_light", {{"name", "Desk"}, {"state", "on"}, {"brightness", 30}});
  ASSERT_TRUE(std::holds_alternative<tools::resolved_command>(r)) << std::get<std::string>(r);
  const auto& c = std::get<tools::resolved_command>(r);
  ASSERT_EQ(c.messages.size(), 1u);
  EXPECT_EQ(c.messages[0].topic, "cmnd/desk/Dimmer");
  EXPECT_EQ(c.messages[0].payload, "30");
  EXPECT_EQ(c.ack_topic, "tele/desk/STATE");
  ASSERT_EQ(c.matches.size(), 1u);
  EXPECT_EQ(c.matches[0], (json{{"POWER", "ON"}, {"Dimmer", 30}}));

  auto off = resolve("set_light", {{"name", "Desk"}, {"state", "off"}});
  const auto& o = std::get<tools::resolved_command>(off);
  ASSERT_EQ(o.messages.size(), 1u);
  EXPECT_EQ(o.messages[0].topic, "cmnd/desk/POWER");
  EXPECT_EQ(o.messages[0].payload, "OFF");
  EXPECT_EQ(o.matches[0], (json{{"POWER", "OFF"}}));
  EXPECT_TRUE(std::holds_alternative<std::string>(
      resolve("set_light", {{"name", "Desk"}, {"state", "off"}, {"brightness", 30}})));
}

TEST_F(DiscoveryToolsTest, RiskyActionsNeedAPersonAndTheOwnerCanChangeThat) {
  add("homeassistant/cover/n/garage/config",
      {{"name", "Garage"}, {"dev_cla", "garage"}, {"cmd_t", "g/cmd"}, {"stat_t", "g/state"}});
  add("homeassistant/cover/n/blind/config",
      {{"name", "Blind"}, {"dev_cla", "blind"}, {"cmd_t", "b/cmd"}, {"stat_t", "b/state"}});
  add("homeassistant/lock/n/door/config", {{"name", "Door"}, {"cmd_t", "d/cmd"}, {"stat_t", "d/state"}});
  add("homeassistant/alarm_control_panel/n/alarm/config",
      {{"name", "Alarm"}, {"cmd_t", "a/cmd"}, {"stat_t", "a/state"}});
  add("homeassistant/switch/n/kettle/config",
      {{"name", "Kettle"}, {"cmd_t", "k/cmd"}, {"stat_t", "k/state"}});
  const auto need = [&](const char* tool_name, json args) {
    const auto* t = tool(tool_name);
    return t == nullptr ? tools::confirmation::pin : tools::confirmation_needed(*t, args);
  };
  using tools::confirmation;
  EXPECT_EQ(need("cover", {{"name", "Garage"}, {"action", "open"}}), confirmation::ack);
  EXPECT_EQ(need("cover", {{"name", "Garage"}, {"action", "close"}}), confirmation::none);
  EXPECT_EQ(need("cover", {{"name", "Blind"}, {"action", "open"}}), confirmation::none);
  EXPECT_EQ(need("lock", {{"name", "Door"}, {"action", "unlock"}}), confirmation::ack);
  EXPECT_EQ(need("lock", {{"name", "Door"}, {"action", "lock"}}), confirmation::none);
  EXPECT_EQ(need("alarm_panel", {{"name", "Alarm"}, {"action", "disarm"}}), confirmation::ack);
  EXPECT_EQ(need("alarm_panel", {{"name", "Alarm"}, {"action", "arm_away"}}), confirmation::none);
  EXPECT_EQ(need("set_switch", {{"name", "Kettle"}, {"state", "on"}}), confirmation::none);

  cfg_.risky = confirmation::pin;
  cfg_.confirm = {{"Door", confirmation::none}, {"Kettle", confirmation::ack}};
  EXPECT_EQ(need("cover", {{"name", "Garage"}, {"action", "open"}}), confirmation::pin);
  EXPECT_EQ(need("lock", {{"name", "Door"}, {"action", "unlock"}}), confirmation::none);
  EXPECT_EQ(need("set_switch", {{"name", "Kettle"}, {"state", "off"}}), confirmation::ack);
  const auto* lock = tool("lock");
  ASSERT_NE(lock, nullptr);
  EXPECT_EQ(lock->source->confirm_text({{"name", "Door"}, {"action", "unlock"}}), "Unlock Door?");
}

TEST_F(DiscoveryToolsTest, AvailabilityModesDecideAsHomeAssistantDoes) {
  add("homeassistant/switch/n/plug/config",
      {{"name", "Plug"},
       {"cmd_t", "p/cmd"},
       {"stat_t", "p/state"},
       {"avty",
        json::array({{{"t", "bridge/state"}, {"val_tpl", "{{ value_json.state }}"}}, {{"t", "p/avty"}}})},
       {"avty_mode", "all"}});
  const auto refused = [&] {
    return std::holds_alternative<std::string>(resolve("set_switch", {{"name", "Plug"}, {"state", "on"}}));
  };
  EXPECT_TRUE(refused()) << "nothing seen yet: unavailable, as in Home Assistant";
  report("bridge/state", R"({"state":"online"})");
  EXPECT_TRUE(refused()) << "all: both must be online";
  report("p/avty", "online");
  EXPECT_FALSE(refused());
  report("p/avty", "offline");
  EXPECT_TRUE(refused());
  const auto why = std::get<std::string>(resolve("set_switch", {{"name", "Plug"}, {"state", "on"}}));
  EXPECT_NE(why.find("p/avty"), std::string::npos) << why;
}

TEST_F(DiscoveryToolsTest, JinjaStatesAreLeftOutUnlessTheOwnerAcceptsUnverifiedAnswers) {
  add("homeassistant/cover/n/blind/config",
      {{"name", "Blind"},
       {"cmd_t", "b/cmd"},
       {"stat_t", "b/state"},
       {"val_tpl", "{% if value_json.moving %}moving{% else %}{{ value_json.state }}{% endif %}"}});
  add("homeassistant/switch/n/plug/config", {{"name", "Plug"}, {"cmd_t", "p/cmd"}});
  add("homeassistant/lock/n/door/config",
      {{"name", "Door"}, {"cmd_t", "d/cmd"}, {"stat_t", "d/state"}, {"cmd_tpl", "{{ value }}"}});
  EXPECT_EQ(tool("cover"), nullptr);
  EXPECT_EQ(tool("set_switch"), nullptr);
  EXPECT_EQ(tool("lock"), nullptr) << "a command template is Jinja too";
  EXPECT_EQ(built_.left_out.size(), 3u);
  cfg_.unverified = true;
  auto r = resolve("cover", {{"name", "Blind"}, {"action", "open"}});
  ASSERT_TRUE(std::holds_alternative<tools::resolved_command>(r));
  EXPECT_TRUE(std::get<tools::resolved_command>(r).ack_topic.empty()) << "the broker's PUBACK only";
  EXPECT_EQ(built_.unverified.size(), 2u);
}

TEST_F(DiscoveryToolsTest, IncludeAndExcludeMatchNamesAndTopics) {
  add("homeassistant/switch/n/a/config",
      {{"name", "Garden pump"}, {"cmd_t", "garden/pump/set"}, {"stat_t", "garden/pump"}});
  add("homeassistant/switch/n/b/config",
      {{"name", "Kettle"}, {"cmd_t", "kitchen/kettle/set"}, {"stat_t", "kitchen/kettle"}});
  add("homeassistant/switch/n/c/config",
      {{"name", "Garden lights"}, {"cmd_t", "garden/lights/set"}, {"stat_t", "garden/lights"}});
  cfg_.include = {"garden/*"};
  cfg_.exclude = {"*LIGHTS"};
  const auto* t = tool("set_switch");
  ASSERT_NE(t, nullptr);
  const auto& e = t->parameters->property("name")->enum_values;
  EXPECT_EQ(e, (std::vector<json>{json("Garden pump")}));
}

TEST_F(DiscoveryToolsTest, RepeatedNamesAreMadeDistinct) {
  add("homeassistant/switch/n/a/config",
      {{"name", "Lamp"}, {"uniq_id", "a1"}, {"cmd_t", "a/set"}, {"stat_t", "a"}});
  add("homeassistant/switch/n/b/config",
      {{"name", "Lamp"}, {"uniq_id", "b1"}, {"cmd_t", "b/set"}, {"stat_t", "b"}});
  const auto* t = tool("set_switch");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->parameters->property("name")->enum_values,
            (std::vector<json>{json("Lamp (a1)"), json("Lamp (b1)")}));
  auto r = resolve("set_switch", {{"name", "Lamp (b1)"}, {"state", "on"}});
  ASSERT_TRUE(std::holds_alternative<tools::resolved_command>(r));
  EXPECT_EQ(std::get<tools::resolved_command>(r).messages[0].topic, "b/set");
}

TEST(DiscoveryEntity, ADeeplyNestedOrHugeMessageIsRefusedBeforeItIsCopied) {
  const std::string deep = "{\"a\":" + std::string(100'000, '[') + std::string(100'000, ']') + "}";
  const auto parsed = parse_config("homeassistant", "homeassistant/sensor/x/config", deep);
  EXPECT_TRUE(parsed.entities.empty());
  EXPECT_EQ(parsed.problems.size(), 1u);
  EXPECT_TRUE(tools::payload_to_json(deep).is_string()) << "a report that deep stays text";
  const std::string huge = R"({"name":")" + std::string(64 * 1024, 'x') + R"(","stat_t":"a"})";
  EXPECT_TRUE(parse_config("homeassistant", "homeassistant/sensor/x/config", huge).entities.empty());
}

TEST(DiscoveryEntity, ATopicWithAWildcardKeepsTheEntityOut) {
  for (const char* payload :
       {R"({"name":"S","stat_t":"#"})", R"({"name":"S","stat_t":"+/prompt"})",
        R"({"name":"S","stat_t":"a","cmd_t":"a/#/b"})", R"({"name":"S","stat_t":"a","avty":[{"t":"x/+"}]})",
        R"({"name":"S","stat_t":""})"}) {
    const auto parsed = parse_config("homeassistant", "homeassistant/switch/x/config", payload);
    EXPECT_TRUE(parsed.entities.empty()) << payload;
    EXPECT_EQ(parsed.problems.size(), 1u) << payload;
  }
}

TEST_F(DiscoveryToolsTest, NumericOnOffStatesMatchExactlyAndCommandsAreNeverRetained) {
  add("homeassistant/light/n/l/config", {{"name", "Lamp"},
                                         {"cmd_t", "l/set"},
                                         {"stat_t", "l/state"},
                                         {"pl_on", "1"},
                                         {"pl_off", "0"},
                                         {"ret", true}});
  auto r = resolve("set_light", {{"name", "Lamp"}, {"state", "on"}});
  ASSERT_TRUE(std::holds_alternative<tools::resolved_command>(r));
  const auto& c = std::get<tools::resolved_command>(r);
  ASSERT_EQ(c.matches.size(), 1u);
  EXPECT_FALSE(tools::subset_matches(c.matches[0], tools::payload_to_json("0"), c.tolerance))
      << "a lamp that reports 0 did not switch on";
  EXPECT_TRUE(tools::subset_matches(c.matches[0], tools::payload_to_json("1"), c.tolerance));
  EXPECT_FALSE(c.messages[0].retain);
}

TEST_F(DiscoveryToolsTest, AnEntityWithNoStateThatCouldConfirmIsRefused) {
  add("homeassistant/lock/n/door/config", {{"name", "Door"},
                                           {"cmd_t", "d/cmd"},
                                           {"stat_t", "d/state"},
                                           {"stat_unlocked", ""},
                                           {"stat_unlocking", ""}});
  EXPECT_TRUE(std::holds_alternative<std::string>(resolve("lock", {{"name", "Door"}, {"action", "unlock"}})));
  EXPECT_TRUE(std::holds_alternative<tools::resolved_command>(
      resolve("lock", {{"name", "Door"}, {"action", "lock"}})));
}

TEST_F(DiscoveryToolsTest, APerEntityConfirmStillAppliesWhenTheNameIsRepeated) {
  cfg_.risky = tools::confirmation::none;
  cfg_.confirm = {{"Front door", tools::confirmation::pin}};
  add("homeassistant/lock/n/a/config",
      {{"name", "Front door"}, {"uniq_id", "a"}, {"cmd_t", "a/c"}, {"stat_t", "a/s"}});
  add("homeassistant/lock/n/b/config",
      {{"name", "Front door"}, {"uniq_id", "b"}, {"cmd_t", "b/c"}, {"stat_t", "b/s"}});
  const auto* t = tool("lock");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(tools::confirmation_needed(*t, {{"name", "Front door (a)"}, {"action", "unlock"}}),
            tools::confirmation::pin);
  EXPECT_EQ(tools::confirmation_needed(*t, {{"name", "Front door (b)"}, {"action", "unlock"}}),
            tools::confirmation::pin);
}

TEST_F(DiscoveryToolsTest, TheCoverClassIsReadWithoutCaseAndAnUnreadableAvailabilityKeepsItOut) {
  add("homeassistant/cover/n/g/config",
      {{"name", "Garage"}, {"dev_cla", "Garage"}, {"cmd_t", "g/c"}, {"stat_t", "g/s"}});
  add("homeassistant/switch/n/p/config",
      {{"name", "Pump"},
       {"cmd_t", "p/c"},
       {"stat_t", "p/s"},
       {"avty", json::array({{{"t", "p/online"},
                              {"val_tpl", "{{ 'online' if value == 'true' else 'offline' }}"}}})}});
  const auto* t = tool("cover");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(tools::confirmation_needed(*t, {{"name", "Garage"}, {"action", "open"}}),
            tools::confirmation::ack);
  EXPECT_EQ(tool("set_switch"), nullptr);
}

}  // namespace
}  // namespace lb::discovery
