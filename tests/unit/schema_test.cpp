#include <gtest/gtest.h>

#include "tools/schema.hpp"

namespace lb::tools {
namespace {

param_schema brightness_schema() {
  param_schema room;
  room.type = value_type::string;
  room.enum_values = {"living_room", "kitchen"};
  param_schema level;
  level.type = value_type::integer;
  level.minimum = 0;
  level.maximum = 254;
  param_schema s;
  s.properties = {{"room", room}, {"level", level}};
  s.required = {"room", "level"};
  return s;
}

std::optional<std::string> check(json args) {
  return validate_arguments(brightness_schema(), args);
}

TEST(Schema, AcceptsValidArguments) {
  EXPECT_EQ(check({{"room", "kitchen"}, {"level", 128}}), std::nullopt);
}

TEST(Schema, IntegralDoublesBecomeIntegers) {
  json args = {{"room", "kitchen"}, {"level", 128.0}};
  EXPECT_EQ(validate_arguments(brightness_schema(), args), std::nullopt);
  EXPECT_TRUE(args["level"].is_number_integer());
  EXPECT_EQ(args["level"].get<int>(), 128);
}

TEST(Schema, RejectsWithMessagesTheModelCanAct) {
  EXPECT_EQ(check({{"room", "kitchen"}, {"level", 300}}), "argument 'level': 300 is above the maximum 254.0");
  EXPECT_EQ(check({{"room", "kitchen"}, {"level", -1}}), "argument 'level': -1 is below the minimum 0.0");
  EXPECT_EQ(check({{"room", "kitchen"}, {"level", 12.5}}), "argument 'level': expected integer, got 12.5");
  EXPECT_EQ(check({{"room", "garage"}, {"level", 1}}),
            "argument 'room': \"garage\" is not one of \"living_room\", \"kitchen\"");
  EXPECT_EQ(check({{"room", "kitchen"}}), "missing required argument 'level'");
  EXPECT_EQ(check({{"room", "kitchen"}, {"level", 1}, {"colour", "red"}}),
            "unknown argument 'colour' (known: room, level)");
  EXPECT_EQ(check({{"room", 7}, {"level", 1}}), "argument 'room': expected string, got 7");
  EXPECT_EQ(check(json::array()), "arguments: expected object, got []");
}

TEST(Schema, DeclarationUsesLiveApiTypeNames) {
  const json d = to_declaration(brightness_schema());
  EXPECT_EQ(d["type"], "OBJECT");
  EXPECT_EQ(d["properties"]["level"]["type"], "INTEGER");
  EXPECT_EQ(d["properties"]["room"]["enum"], json::array({"living_room", "kitchen"}));
  EXPECT_EQ(d["required"], json::array({"room", "level"}));
  EXPECT_EQ(d["properties"]["level"]["maximum"], 254.0);
}

}  // namespace
}  // namespace lb::tools
