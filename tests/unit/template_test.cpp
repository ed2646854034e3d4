#include <gtest/gtest.h>

#include "tools/template.hpp"

namespace lb::tools {
namespace {

text_template text(const std::string& s) {
  return std::get<text_template>(text_template::parse(s));
}
json_template doc(const json& j) {
  return std::get<json_template>(json_template::parse(j));
}

TEST(Template, TopicRendersArguments) {
  auto r = text("zigbee2mqtt/{{ room }}/set").render({{"room", "kitchen"}}, true);
  EXPECT_EQ(std::get<std::string>(r), "zigbee2mqtt/kitchen/set");
}

TEST(Template, TopicInjectionIsRefused) {
  for (const std::string& evil :
       std::vector<std::string>{"kitchen/../#", "+", "#", "a/b", std::string("a\0b", 3), ""}) {
    auto r = text("zigbee2mqtt/{{room}}/set").render({{"room", evil}}, true);
    ASSERT_TRUE(std::holds_alternative<render_error>(r)) << evil;
  }
  auto r = text("z/{{room}}/set").render({{"room", "a/b"}}, true);
  EXPECT_EQ(std::get<render_error>(r).message,
            "argument 'room' may not contain '/', '+', '#' or NUL (it is used in an MQTT topic)");
}

TEST(Template, PayloadTextMayHoldAnything) {
  auto r = text("say {{x}}").render({{"x", "a/b+#"}}, false);
  EXPECT_EQ(std::get<std::string>(r), "say a/b+#");
}

TEST(Template, ExactPlaceholderKeepsJsonType) {
  auto r = doc({{"state", "ON"}, {"brightness", "{{level}}"}, {"note", "level {{level}}"}})
               .render({{"level", 128}});
  EXPECT_EQ(std::get<json>(r), json({{"state", "ON"}, {"brightness", 128}, {"note", "level 128"}}));
}

TEST(Template, JsonIsBuiltNotConcatenated) {
  // A quote in an argument cannot break out of the string it lands in.
  auto r = doc({{"name", "{{n}}"}, {"msg", "hi {{n}}"}}).render({{"n", "\",\"state\":\"OFF"}});
  const json out = std::get<json>(r);
  EXPECT_EQ(out["name"], "\",\"state\":\"OFF");
  EXPECT_FALSE(out.contains("state"));
}

TEST(Template, OptionalArgumentLeavesItsMemberOut) {
  auto r = doc({{"state", "{{state}}"}, {"brightness", "{{level}}"}}).render({{"state", "ON"}});
  EXPECT_EQ(std::get<json>(r), json({{"state", "ON"}}));
}

TEST(Template, MissingArgumentInTextIsAnError) {
  auto r = text("a/{{room}}").render({}, true);
  EXPECT_EQ(std::get<render_error>(r).message, "missing argument 'room'");
}

TEST(Template, IntegralDoubleRendersWithoutFraction) {
  EXPECT_EQ(value_to_text(json(40.0)), "40");
  EXPECT_EQ(value_to_text(json(true)), "true");
}

TEST(Template, ParseErrors) {
  EXPECT_EQ(std::get<std::string>(text_template::parse("a/{{room")), "unclosed '{{' in \"a/{{room\"");
  EXPECT_EQ(std::get<std::string>(text_template::parse("a/{{ }}")),
            "invalid placeholder name '' in \"a/{{ }}\"");
  EXPECT_TRUE(std::holds_alternative<text_template>(text_template::parse(R"({"a":{"b":1}})")));
}

TEST(Template, SubscriptionFilterReplacesTemplatedLevels) {
  EXPECT_EQ(text("zigbee2mqtt/{{room}}").as_subscription_filter(), "zigbee2mqtt/+");
  EXPECT_EQ(text("stat/lamp_{{n}}/RESULT").as_subscription_filter(), "stat/+/RESULT");
  EXPECT_EQ(text("/abs/{{x}}").as_subscription_filter(), "/abs/+");
  EXPECT_EQ(text("plain/topic").as_subscription_filter(), "plain/topic");
}

TEST(Template, PublishTopicCheck) {
  EXPECT_EQ(check_publish_topic("a/b"), std::nullopt);
  EXPECT_TRUE(check_publish_topic("a/#"));
  EXPECT_TRUE(check_publish_topic(""));
}

}  // namespace
}  // namespace lb::tools
