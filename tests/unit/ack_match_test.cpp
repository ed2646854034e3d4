#include <gtest/gtest.h>

#include "tools/ack_match.hpp"

namespace lb::tools {
namespace {

bool matches(const json& expected, std::string_view payload, double tolerance = 0) {
  return subset_matches(expected, payload_to_json(payload), tolerance);
}

TEST(AckMatch, Zigbee2mqttStateContainsTheWantedFields) {
  const auto state = R"({"state":"ON","brightness":128,"linkquality":96})";
  EXPECT_TRUE(matches({{"state", "ON"}}, state));
  EXPECT_TRUE(matches({{"state", "ON"}, {"brightness", 128}}, state));
  EXPECT_FALSE(matches({{"state", "OFF"}}, state));
  EXPECT_FALSE(matches({{"color_temp", 300}}, state));
}

TEST(AckMatch, StringsCompareCaseInsensitively) {
  EXPECT_TRUE(matches({{"POWER", "on"}}, R"({"POWER":"ON"})"));
  EXPECT_TRUE(matches(json("on"), "ON"));  // Tasmota stat/…/POWER plain text
  EXPECT_TRUE(matches(json("true"), "true"));
}

TEST(AckMatch, NumericToleranceForRoundingDevices) {
  EXPECT_FALSE(matches({{"brightness", 128}}, R"({"brightness":127})"));
  EXPECT_TRUE(matches({{"brightness", 128}}, R"({"brightness":127})", 1));
  EXPECT_FALSE(matches({{"brightness", 128}}, R"({"brightness":126})", 1));
  EXPECT_TRUE(matches({{"Dimmer", 40}}, R"({"Dimmer":"40"})"));
}

TEST(AckMatch, NestedObjectsAndArrays) {
  EXPECT_TRUE(matches({{"color", {{"r", 255}}}}, R"({"color":{"r":255,"g":0}})"));
  EXPECT_FALSE(matches({{"rgb", {255, 0}}}, R"({"rgb":[255,0,0]})"));
  EXPECT_TRUE(matches({{"rgb", {255, 0, 0}}}, R"({"rgb":[255,0,0]})"));
}

TEST(AckMatch, NonJsonPayloadIsItsText) {
  EXPECT_EQ(payload_to_json("Online"), json("Online"));
  EXPECT_EQ(payload_to_json("{broken"), json("{broken"));
  EXPECT_FALSE(matches({{"state", "ON"}}, "{broken"));
}

}  // namespace
}  // namespace lb::tools
