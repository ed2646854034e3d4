// The MQTT messages the daemon sends and receives, and the port through which the tool dispatcher
// publishes. Plain data with no library behind it, so the dispatcher is tested without a broker and
// the MQTT adapter needs nothing from the modules that use it.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace lb {

struct outgoing_message {
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retain = false;
  std::string response_topic;    // MQTT v5 Response Topic; empty = none
  std::string correlation_data;  // MQTT v5 Correlation Data; empty = none
  int expiry_seconds = 0;        // MQTT v5 Message Expiry Interval; 0 = none
};

// A message without MQTT v5 extras: replies, availability, prompts.
inline outgoing_message plain_message(std::string topic, std::string payload, int qos, bool retain) {
  outgoing_message m;
  m.topic = std::move(topic);
  m.payload = std::move(payload);
  m.qos = qos;
  m.retain = retain;
  return m;
}

struct incoming_message {
  std::string topic;
  std::string payload;
  bool retained = false;
  std::string correlation_data;
  std::chrono::steady_clock::time_point received_at{};  // in paho's callback, before the hop to the io thread
};

// The MQTT side as the dispatcher needs it. Called on the io thread.
class publisher {
 public:
  virtual ~publisher() = default;
  virtual bool connected() const = 0;
  // `done` runs later on the io thread, exactly once: nullopt once the broker has the message
  // (PUBACK for QoS 1, PUBCOMP for QoS 2, written for QoS 0), else the reason it failed.
  virtual void publish(outgoing_message msg, std::function<void(std::optional<std::string>)> done) = 0;
};

}  // namespace lb
