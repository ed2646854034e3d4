// What a broker's refusal says: the reason code of a SUBACK or PUBACK, named for the log and for
// the tool response the model gets. Pure; no paho.
#pragma once

#include <string>

namespace lb::mqtt {

// MQTT v5: codes from 0x80 up are failures (SUBACK, PUBACK and the rest). MQTT 3.1.1 has one, the
// SUBACK return code 0x80; its PUBACK carries no code, so a broker cannot refuse a v3.1.1 publish
// in a way the client sees.
inline constexpr int first_refusal_code = 0x80;
constexpr bool is_refusal(int code) {
  return code >= first_refusal_code && code <= 0xff;
}

// "not authorized (135)": the code's name in the MQTT 5.0 specification (section 2.4), lower
// case, with its number. `v5` false: the 3.1.1 SUBACK's 0x80, "failure (128)". An unknown code is
// "reason code N".
std::string reason_code_text(int code, bool v5 = true);

}  // namespace lb::mqtt
