#include "mqtt_peer.hpp"

#include "mqtt/tcp_nodelay.hpp"

namespace lb::test {

std::uint16_t port_of(const std::string& broker_uri) {
  return static_cast<std::uint16_t>(std::stoi(broker_uri.substr(broker_uri.rfind(':') + 1)));
}

mqtt_peer::mqtt_peer(const std::string& broker_uri, const std::string& client_id, handler on_message)
    : client_(broker_uri, client_id, ::mqtt::create_options(MQTTVERSION_5, 100000)),
      on_message_(std::move(on_message)) {
  client_.set_message_callback([this](::mqtt::const_message_ptr msg) {
    seen_message m;
    m.topic = msg->get_topic();
    m.payload = msg->to_string();
    m.retained = msg->is_retained();
    m.qos = msg->get_qos();
    const auto& props = msg->get_properties();
    if (props.contains(::mqtt::property::CORRELATION_DATA)) {
      m.correlation_data = ::mqtt::get<std::string>(props, ::mqtt::property::CORRELATION_DATA);
    }
    if (props.contains(::mqtt::property::RESPONSE_TOPIC)) {
      m.response_topic = ::mqtt::get<std::string>(props, ::mqtt::property::RESPONSE_TOPIC);
    }
    {
      std::lock_guard lock(mutex_);
      seen_.push_back(m);
    }
    changed_.notify_all();
    try {
      if (on_message_) on_message_(*this, m);
    } catch (...) {
    }
  });
  auto opts = ::mqtt::connect_options_builder().mqtt_version(MQTTVERSION_5).clean_start(true).finalize();
  client_.connect(opts)->wait_for(std::chrono::seconds(10));
  if (!client_.is_connected())
    throw std::runtime_error("mqtt_peer " + client_id + " could not connect to " + broker_uri);
  // Devices and tools answer without Nagle's delay, as livebridge itself does.
  lb::mqtt::set_tcp_nodelay_towards(port_of(broker_uri));
}

mqtt_peer::~mqtt_peer() {
  try {
    client_.disable_callbacks();
    if (client_.is_connected()) client_.disconnect()->wait_for(std::chrono::seconds(2));
  } catch (...) {
  }
}

void mqtt_peer::subscribe(const std::string& filter, int qos) {
  client_.subscribe(filter, qos)->wait_for(std::chrono::seconds(5));
}

void mqtt_peer::publish(const std::string& topic, const std::string& payload, int qos, bool retain,
                        const std::string& correlation_data, const std::string& response_topic) {
  auto msg = ::mqtt::make_message(topic, payload, qos, retain);
  ::mqtt::properties props;
  if (!correlation_data.empty())
    props.add(::mqtt::property(::mqtt::property::CORRELATION_DATA, correlation_data));
  if (!response_topic.empty()) props.add(::mqtt::property(::mqtt::property::RESPONSE_TOPIC, response_topic));
  if (!props.empty()) msg->set_properties(props);
  client_.publish(msg);
}

std::vector<seen_message> mqtt_peer::messages() const {
  std::lock_guard lock(mutex_);
  return seen_;
}

std::vector<seen_message> mqtt_peer::messages_on(const std::string& topic) const {
  std::lock_guard lock(mutex_);
  std::vector<seen_message> out;
  for (const auto& m : seen_) {
    if (m.topic == topic) out.push_back(m);
  }
  return out;
}

std::optional<seen_message> mqtt_peer::wait_for(const std::string& topic,
                                                const std::function<bool(const seen_message&)>& pred,
                                                std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  std::optional<seen_message> found;
  changed_.wait_for(lock, timeout, [&] {
    for (const auto& m : seen_) {
      if (m.topic == topic && (!pred || pred(m))) {
        found = m;
        return true;
      }
    }
    return false;
  });
  return found;
}

std::vector<seen_message> mqtt_peer::wait_count(const std::string& topic, std::size_t count,
                                                std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  std::vector<seen_message> found;
  changed_.wait_for(lock, timeout, [&] {
    found.clear();
    for (const auto& m : seen_) {
      if (m.topic == topic) found.push_back(m);
    }
    return found.size() >= count;
  });
  return found;
}

void mqtt_peer::clear() {
  std::lock_guard lock(mutex_);
  seen_.clear();
}

}  // namespace lb::test
