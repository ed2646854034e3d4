// A test-side MQTT v5 client: what a user's tools (mosquitto_sub, a device) would do, in-process.
// connect/subscribe block (test code may); publish never blocks, so it is safe in handlers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <mqtt/async_client.h>

namespace lb::test {

struct seen_message {
  std::string topic;
  std::string payload;
  bool retained = false;
  int qos = 0;
  std::string response_topic;
  std::string correlation_data;
};

// The port of a "tcp://host:port" URI.
std::uint16_t port_of(const std::string& broker_uri);

class mqtt_peer {
 public:
  using handler = std::function<void(mqtt_peer&, const seen_message&)>;

  mqtt_peer(const std::string& broker_uri, const std::string& client_id, handler on_message = nullptr);
  ~mqtt_peer();

  void subscribe(const std::string& filter, int qos = 1);
  void publish(const std::string& topic, const std::string& payload, int qos = 1, bool retain = false,
               const std::string& correlation_data = {}, const std::string& response_topic = {});

  std::vector<seen_message> messages() const;
  std::vector<seen_message> messages_on(const std::string& topic) const;
  // Waits for a message on `topic` that satisfies `pred`; returns it or nullopt on timeout.
  std::optional<seen_message> wait_for(const std::string& topic,
                                       const std::function<bool(const seen_message&)>& pred,
                                       std::chrono::milliseconds timeout) const;
  // Waits until at least `count` messages arrived on `topic`; returns them (fewer on timeout).
  std::vector<seen_message> wait_count(const std::string& topic, std::size_t count,
                                       std::chrono::milliseconds timeout) const;
  void clear();

 private:
  mqtt::async_client client_;
  handler on_message_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<seen_message> seen_;
};

}  // namespace lb::test
