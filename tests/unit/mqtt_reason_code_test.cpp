// How a broker's refusal is named in the log and in the tool response the model gets.
#include <gtest/gtest.h>

#include "mqtt/reason_code.hpp"

namespace lb::mqtt {
namespace {

TEST(MqttReasonCode, NamesTheCodesAnAclAnswersWith) {
  EXPECT_EQ(reason_code_text(135), "not authorized (135)");  // mosquitto's PUBACK for a denied publish
  EXPECT_EQ(reason_code_text(0x80), "unspecified error (128)");
  EXPECT_EQ(reason_code_text(0x8f), "topic filter invalid (143)");
  EXPECT_EQ(reason_code_text(0x97), "quota exceeded (151)");
  EXPECT_EQ(reason_code_text(0xa2), "wildcard subscriptions not supported (162)");
}

TEST(MqttReasonCode, TheV311SubackFailureHasNoOtherName) {
  EXPECT_EQ(reason_code_text(0x80, false), "failure (128)");
  EXPECT_EQ(reason_code_text(0x87, false), "reason code 135");
}

TEST(MqttReasonCode, AnUnknownCodeKeepsItsNumber) {
  EXPECT_EQ(reason_code_text(0xb0), "reason code 176");
}

TEST(MqttReasonCode, OnlyCodesFrom0x80AreRefusals) {
  EXPECT_FALSE(is_refusal(0x00));
  EXPECT_FALSE(is_refusal(0x02));  // granted QoS 2
  EXPECT_FALSE(is_refusal(0x10));  // no matching subscribers: the publish was taken
  EXPECT_TRUE(is_refusal(0x80));
  EXPECT_TRUE(is_refusal(0x87));
  EXPECT_FALSE(is_refusal(0x100));
}

}  // namespace
}  // namespace lb::mqtt
