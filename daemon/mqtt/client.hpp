// The MQTT side of the daemon, on paho-mqtt-cpp (MQTT v5). Paho calls back on its own threads;
// every callback only copies what it got and posts it onto the io_context, so all state here is
// owned by the io thread. The link's lifecycle is `link_fsm`: this class feeds it what paho and
// the timers report and carries out what it returns; paho never reconnects on its own.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/message.hpp"
#include "config/config.hpp"

namespace lb::mqtt {

class client final : public publisher {
 public:
  struct handlers {
    // Connected and every subscription answered (SUBACK), refused ones included: a filter the
    // broker refuses is logged (mqtt.subscription_refused) and listed by refused_subscriptions(),
    // and the link serves the others.
    std::function<void()> on_connected;
    std::function<void(const std::string& cause)> on_lost;  // a link that was up is gone
    std::function<void(incoming_message&&)> on_message;
  };
  struct last_will {
    std::string topic;
    std::string payload;
  };
  enum class session_kind {
    // MQTT v5 and a fresh session at every connect: commands, acknowledgements, replies.
    clean_v5,
    // MQTT 3.1.1 with clean_session=false: the broker keeps the subscriptions and queues QoS 1
    // messages while the client is away (the prompt inbox). Not v5, because a lasting v5 session
    // needs a Session Expiry Interval property, which paho-mqtt-cpp 1.2.0 cannot send safely
    // (upstream #445).
    persistent_v311,
  };

  client(boost::asio::io_context& io, const config::mqtt_config& cfg, std::string password, last_will will,
         std::vector<std::string> subscriptions, handlers h, session_kind kind = session_kind::clean_v5);
  ~client() override;
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  void start();
  // Publishes `final_message` (if any and the link is connected) and disconnects cleanly; `done`
  // runs on the io thread, within `stop_deadline` even when the broker answers nothing. A second
  // stop's `done` runs with the first's (or at once, after the end); its final message is unused.
  void stop(std::optional<outgoing_message> final_message, std::function<void()> done);

  // Subscribes to the filters not yet subscribed: now if the broker accepted the connection
  // (before the link is up, it is up only once these are acknowledged too), else at the next
  // connect.
  void add_subscriptions(const std::vector<std::string>& filters);

  // Up: connected and every subscription acknowledged (SUBACK). Only then do messages go out.
  bool connected() const override;
  // `done` always runs later on the io thread, never inside this call: nullopt once paho reports
  // the message sent (QoS 0) or acknowledged (QoS 1), else why not ("the MQTT broker is not
  // connected" when the link is not up; nothing was sent then). A QoS 1 publish the broker
  // refuses (v5 PUBACK reason code 0x80 or more) fails with the reason's name and number,
  // "not authorized (135)", and is logged as mqtt.publish_refused with its topic.
  void publish(outgoing_message msg, std::function<void(std::optional<std::string>)> done) override;
  // For the bridge's own messages (replies, availability, events). false: the link is not up and
  // nothing was sent; the caller holds or refuses the message. true: handed to paho; a later
  // failure is logged, not returned. QoS 0 ones are not followed at all: only paho refusing them
  // is logged.
  bool publish_and_forget(outgoing_message msg);

  // "connecting", "subscribing", "connected", "reconnecting in 2s after: …", "disconnecting",
  // "disconnected"; "connected (refused: a/b c/d)" while the broker refuses some subscriptions.
  const std::string& state_text() const;

  // The filters the broker refused (SUBACK reason code 0x80 or more) on the current connection;
  // judged again at every connection.
  std::vector<std::string> refused_subscriptions() const;

  // The longest a stop waits for the broker to take the final message and the DISCONNECT.
  static constexpr std::chrono::milliseconds stop_deadline{1500};

 private:
  class impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace lb::mqtt
