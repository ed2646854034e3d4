#include "mqtt/client.hpp"

#include <algorithm>
#include <atomic>
#include <list>
#include <map>
#include <mutex>

#include <mqtt/async_client.h>
#include <boost/asio/post.hpp>

#include "common/duration.hpp"
#include "common/log.hpp"
#include "common/probe.hpp"
#include "common/url.hpp"
#include "mqtt/tcp_nodelay.hpp"

namespace lb::mqtt {
namespace asio = boost::asio;

namespace {

// paho.mqtt.c 1.3.11 (Debian 12) can miss the wake-up of its send thread: a command queued just
// as that thread goes back to sleep waits for the thread's 1 s timeout (upstream #1039 and #1457,
// fixed in later releases). Measured here: about one command in 10,000 left a full second late.
// A publish still unfinished after `send_stall_limit` gets the thread woken by another command,
// an UNSUBSCRIBE of a filter this client never subscribed: the broker merely says so, and no
// other client sees anything.
constexpr auto send_stall_limit = std::chrono::milliseconds(50);

class listener_pool;

// Paho wants an action listener object per operation; this one posts the outcome to the io
// thread and then releases itself from its pool.
class posting_listener final : public ::mqtt::iaction_listener {
 public:
  using handler = std::function<void(std::optional<std::string>)>;
  posting_listener(listener_pool& pool, asio::io_context& io, handler h)
      : pool_(pool), io_(io), handler_(std::move(h)) {}

  void on_success(const ::mqtt::token&) override { complete(std::nullopt); }
  void on_failure(const ::mqtt::token& tok) override {
    std::string why = "error " + std::to_string(tok.get_return_code());
    if (tok.get_reason_code() != 0) why += ", reason code " + std::to_string(tok.get_reason_code());
    complete(why);
  }

 private:
  friend class listener_pool;
  void complete(std::optional<std::string> outcome);

  listener_pool& pool_;
  asio::io_context& io_;
  handler handler_;
  std::list<posting_listener>::iterator self_;
};

// Owns the listeners of operations paho has not reported yet. Paho reports most of them, but
// not all: the DISCONNECT to a broker that died during the stop never completes. Those left are
// freed with the pool, which outlives paho's client (it is declared before it).
class listener_pool {
 public:
  posting_listener& make(asio::io_context& io, posting_listener::handler h) {
    std::lock_guard lock(mutex_);
    auto it = listeners_.emplace(listeners_.end(), *this, io, std::move(h));
    it->self_ = it;
    return *it;
  }

  // Called from paho's thread by the listener itself, as its last act.
  void release(std::list<posting_listener>::iterator it) {
    std::lock_guard lock(mutex_);
    listeners_.erase(it);
  }

  // Paho refused the operation (it threw), so it will never call `listener`: its handler back,
  // for the caller to report the refusal with.
  posting_listener::handler take_back(posting_listener& listener) {
    std::lock_guard lock(mutex_);
    auto handler = std::move(listener.handler_);
    listeners_.erase(listener.self_);
    return handler;
  }

 private:
  std::mutex mutex_;
  std::list<posting_listener> listeners_;
};

void posting_listener::complete(std::optional<std::string> outcome) {
  try {
    asio::post(io_, [h = std::move(handler_), outcome = std::move(outcome)] { h(outcome); });
  } catch (...) {
  }
  pool_.release(self_);  // destroys *this
}

// The connect token may report success more than once (paho 1.2 calls it again from its
// connected callback), so its listener lives as long as the client instead of deleting itself.
class connect_listener final : public ::mqtt::iaction_listener {
 public:
  connect_listener(asio::io_context& io, std::function<void(const std::string&)> on_failure)
      : io_(io), on_failure_(std::move(on_failure)) {}
  void on_success(const ::mqtt::token&) override {}  // the connected handler reports success
  void on_failure(const ::mqtt::token& tok) override {
    try {
      asio::post(io_, [this, code = tok.get_return_code()] { on_failure_("error " + std::to_string(code)); });
    } catch (...) {
    }
  }

 private:
  asio::io_context& io_;
  std::function<void(const std::string&)> on_failure_;
};

std::string paho_uri(const url& u) {
  const bool tls = u.scheme == "mqtts" || u.scheme == "ssl";
  const std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  return std::string(tls ? "ssl://" : "tcp://") + host + ":" + u.port;
}

}  // namespace

class client::impl {
 public:
  impl(client& owner, asio::io_context& io, const config::mqtt_config& cfg, std::string password,
       last_will will, std::vector<std::string> subscriptions, handlers h, session_kind kind)
      : owner_(owner),
        io_(io),
        cfg_(cfg),
        password_(std::move(password)),
        will_(std::move(will)),
        subscriptions_(std::move(subscriptions)),
        handlers_(std::move(h)),
        v5_(kind == session_kind::clean_v5),
        uri_(paho_uri(*parse_url(cfg.url))),
        broker_port_(static_cast<std::uint16_t>(std::stoi(parse_url(cfg.url)->port))),
        cli_(uri_, cfg.client_id, ::mqtt::create_options(v5_ ? MQTTVERSION_5 : MQTTVERSION_3_1_1)),
        retry_timer_(io),
        stop_deadline_(io),
        stall_check_(io),
        wake_filter_(cfg.client_id + "/wake-send-thread"),
        connect_listener_(io,
                          [this](const std::string& error) {
                            if (!stopping_) retry_connect("connect failed: " + error);
                          }),
        backoff_(std::chrono::seconds(1), std::chrono::seconds(30), std::chrono::seconds(30)) {
    auto builder = ::mqtt::connect_options_builder()
                       .mqtt_version(v5_ ? MQTTVERSION_5 : MQTTVERSION_3_1_1)
                       .keep_alive_interval(std::chrono::duration_cast<std::chrono::seconds>(cfg.keepalive))
                       .connect_timeout(std::chrono::seconds(10))
                       .automatic_reconnect(std::chrono::seconds(1), std::chrono::seconds(30));
    // No CONNECT properties (so no Session Expiry Interval, no persistent session): paho-mqtt-cpp
    // 1.2.0 copies connect_options inside connect() and the copy's v5 properties dangle (upstream
    // #445, fixed in 1.3.0); MQTTAsync_connect then reads freed memory.
    if (v5_) {
      builder.clean_start(true);
    } else {
      builder.clean_session(false);
    }
    if (!will_.topic.empty()) builder.will(::mqtt::message(will_.topic, will_.payload, 1, true));
    if (!cfg.username.empty()) builder.user_name(cfg.username);
    if (!password_.empty()) builder.password(password_);
    if (uri_.rfind("ssl://", 0) == 0) {
      auto ssl = ::mqtt::ssl_options_builder().enable_server_cert_auth(true).verify(true);
      if (cfg.ca_file) {
        ssl.trust_store(*cfg.ca_file);
      } else {
        ssl.ca_path("/etc/ssl/certs");
      }
      builder.ssl(ssl.finalize());
    }
    // Kept for the client's lifetime: paho 1.2 does not copy everything it points into.
    options_ = builder.finalize();

    cli_.set_connected_handler([this](const std::string&) {
      set_tcp_nodelay_towards(broker_port_);  // here, before anything is sent on the new socket
      post([this] { on_connected(); });
    });
    cli_.set_connection_lost_handler([this](const std::string& cause) {
      post([this, cause] { on_lost(cause.empty() ? std::string("connection lost") : cause); });
    });
    cli_.set_message_callback([this](::mqtt::const_message_ptr msg) {
      incoming_message in;
      in.received_at = std::chrono::steady_clock::now();
      in.topic = msg->get_topic();
      in.payload = msg->to_string();
      in.retained = msg->is_retained();
      const auto& props = msg->get_properties();
      if (props.contains(::mqtt::property::CORRELATION_DATA)) {
        in.correlation_data = ::mqtt::get<std::string>(props, ::mqtt::property::CORRELATION_DATA);
      }
      post([this, in = std::move(in)]() mutable {
        if (handlers_.on_message) handlers_.on_message(std::move(in));
      });
    });
  }

  ~impl() {
    try {
      cli_.disable_callbacks();
    } catch (...) {
    }
  }

  void connect() {
    if (stopping_) return;
    log::info("mqtt.connecting", "url=" + log::quote(cfg_.url) + " client_id=" + cfg_.client_id);
    try {
      cli_.connect(options_, nullptr, connect_listener_);
    } catch (const ::mqtt::exception& e) {
      retry_connect(std::string("connect failed: ") + e.what());
    }
  }

  void retry_connect(const std::string& why) {
    const auto delay = backoff_.next(false);
    owner_.state_text_ = "reconnecting in " + format_duration(delay) + " after: " + why;
    log::warning("mqtt.connect_failed", "reason=" + log::quote(why) + " retry_in=" + format_duration(delay));
    retry_timer_.expires_after(delay);
    retry_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) connect();
    });
  }

  void on_connected() {
    if (stopping_) return;
    backoff_.reset();
    // The broker forgot our subscriptions (clean start): subscribe again, and only call the
    // bridge connected once every SUBACK is in, so no acknowledgement can slip past.
    auto remaining = std::make_shared<std::size_t>(subscriptions_.size());
    const auto generation = ++generation_;
    if (subscriptions_.empty()) {
      mark_connected();
      return;
    }
    for (const auto& filter : subscriptions_) {
      try {
        // no_local: never receive our own commands back; retained copies still arrive and are
        // recognised by their retain flag.
        cli_.subscribe(
            filter, 1, nullptr,
            listeners_.make(io_,
                            [this, filter, remaining, generation](std::optional<std::string> error) {
                              if (generation != generation_) return;
                              if (error) {
                                log::error("mqtt.subscribe_failed",
                                           "filter=" + log::quote(filter) + " reason=" + log::quote(*error));
                              }
                              if (--*remaining == 0) mark_connected();
                            }),
            subscribe_options());
      } catch (const ::mqtt::exception& e) {
        log::error("mqtt.subscribe_failed",
                   "filter=" + log::quote(filter) + " reason=" + log::quote(e.what()));
        if (--*remaining == 0) mark_connected();
      }
    }
  }

  void add_subscriptions(const std::vector<std::string>& filters) {
    for (const auto& filter : filters) {
      if (std::find(subscriptions_.begin(), subscriptions_.end(), filter) != subscriptions_.end()) continue;
      subscriptions_.push_back(filter);
      if (!owner_.connected_) continue;  // on_connected subscribes everything
      try {
        cli_.subscribe(
            filter, 1, nullptr,
            listeners_.make(io_,
                            [filter](std::optional<std::string> error) {
                              if (error)
                                log::error("mqtt.subscribe_failed",
                                           "filter=" + log::quote(filter) + " reason=" + log::quote(*error));
                            }),
            subscribe_options());
      } catch (const ::mqtt::exception& e) {
        log::error("mqtt.subscribe_failed",
                   "filter=" + log::quote(filter) + " reason=" + log::quote(e.what()));
      }
    }
  }

  void mark_connected() {
    if (stopping_) return;
    owner_.connected_ = true;
    owner_.state_text_ = "connected";
    log::notice("mqtt.connected",
                "url=" + log::quote(cfg_.url) + " subscriptions=" + std::to_string(subscriptions_.size()));
    if (handlers_.on_connected) handlers_.on_connected();
  }

  void on_lost(const std::string& cause) {
    ++generation_;
    unfinished_.clear();  // paho resends or fails them on its own; no thread to wake meanwhile
    const bool was_connected = owner_.connected_;
    owner_.connected_ = false;
    if (stopping_) return;
    owner_.state_text_ = "reconnecting after: " + cause;
    if (was_connected) log::warning("mqtt.lost", "reason=" + log::quote(cause));
    if (handlers_.on_lost) handlers_.on_lost(cause);
  }

  void publish(const outgoing_message& m, std::function<void(std::optional<std::string>)> done) {
    if (!owner_.connected_) {
      post([done = std::move(done)] { done(std::string("the MQTT broker is not connected")); });
      return;
    }
    send(m, std::move(done));
  }

  static ::mqtt::message_ptr to_paho(const outgoing_message& m) {
    auto msg = ::mqtt::make_message(m.topic, m.payload, m.qos, m.retain);
    ::mqtt::properties props;
    if (!m.response_topic.empty())
      props.add(::mqtt::property(::mqtt::property::RESPONSE_TOPIC, m.response_topic));
    if (!m.correlation_data.empty())
      props.add(::mqtt::property(::mqtt::property::CORRELATION_DATA, m.correlation_data));
    if (m.expiry_seconds > 0) {
      props.add(::mqtt::property(::mqtt::property::MESSAGE_EXPIRY_INTERVAL,
                                 static_cast<int32_t>(m.expiry_seconds)));
    }
    if (!props.empty()) msg->set_properties(props);
    return msg;
  }

  // QoS 0 without a completion: it would only say the bytes reached the socket, and observing it
  // costs a listener, a hand-off back to the io thread and a stall-watch entry. The per-call
  // events are such messages, two per tool call: leaving them unobserved cut the daemon's CPU per
  // call in the throughput benchmark by about 14 % (252 to 218 µs, three alternating runs each).
  void send_unobserved(const outgoing_message& m) {
    try {
      cli_.publish(to_paho(m));
    } catch (const ::mqtt::exception& e) {
      log::warning("mqtt.publish_failed", "topic=" + log::quote(m.topic) + " reason=" + log::quote(e.what()));
    }
  }

  // Hands the message to paho; only publish() and stop() decide whether the link may carry it.
  void send(const outgoing_message& m, std::function<void(std::optional<std::string>)> done) {
    auto msg = to_paho(m);
    const std::uint64_t seq = ++publish_seq_;
    unfinished_.emplace(seq, std::chrono::steady_clock::now());
    watch_for_stalls();
    done = [this, seq, done = std::move(done)](std::optional<std::string> outcome) {
      unfinished_.erase(seq);
      done(std::move(outcome));
    };
    auto& listener = listeners_.make(io_, std::move(done));
    try {
      cli_.publish(msg, nullptr, listener);
      probe::end(probe::stage::frame_to_publish);
    } catch (const ::mqtt::exception& e) {
      post([done = listeners_.take_back(listener), why = std::string(e.what())] { done(why); });
    }
  }

  // One timer for all publishes, armed only while some are unfinished.
  void watch_for_stalls() {
    if (stall_check_armed_) return;
    stall_check_armed_ = true;
    stall_check_.expires_after(send_stall_limit);
    stall_check_.async_wait([this](const boost::system::error_code& ec) {
      stall_check_armed_ = false;
      if (ec || unfinished_.empty()) return;
      const auto oldest = unfinished_.begin()->second;  // sequence order is age order
      if (owner_.connected_ && std::chrono::steady_clock::now() - oldest >= send_stall_limit) {
        ++send_thread_wakes_;
        log::debug("mqtt.wake_send_thread", "unfinished=" + std::to_string(unfinished_.size()) +
                                                " wakes=" + std::to_string(send_thread_wakes_));
        try {
          cli_.unsubscribe(wake_filter_, nullptr, listeners_.make(io_, [](std::optional<std::string>) {}));
        } catch (const ::mqtt::exception&) {
        }
      }
      watch_for_stalls();
    });
  }

  void stop(std::optional<outgoing_message> final_message, std::function<void()> done) {
    stopping_ = true;
    retry_timer_.cancel();
    ++generation_;  // SUBACKs still on their way must not report a connection now
    // `done` runs exactly once: when the disconnect completes, or at the deadline. A broker that
    // dies during the stop (both stopped together) never acknowledges the final message nor the
    // DISCONNECT, and a stop must not hang on that.
    auto finish = std::make_shared<std::function<void()>>(std::move(done));
    auto finish_once = [this, finish] {
      if (!*finish) return;
      auto f = std::move(*finish);
      *finish = nullptr;
      stop_deadline_.cancel();
      stall_check_.cancel();
      unfinished_.clear();
      owner_.connected_ = false;
      owner_.state_text_ = "disconnected";
      f();
    };
    stop_deadline_.expires_after(std::chrono::seconds(3));
    stop_deadline_.async_wait([this, finish_once](const boost::system::error_code& ec) {
      if (ec) return;
      log::warning("mqtt.stop_timeout", "reason=\"the broker did not acknowledge the disconnect in time\"");
      try {
        cli_.disconnect(0);
      } catch (...) {
      }
      finish_once();
    });
    // The link may be up with SUBACKs pending (a stop right after a start): the final message
    // (`offline`) still goes out, or the broker would keep an `online` from before.
    bool link_up = owner_.connected_;
    try {
      link_up = link_up || cli_.is_connected();
    } catch (...) {
    }
    if (!link_up) {
      try {
        cli_.disconnect(0)->wait_for(std::chrono::milliseconds(100));
      } catch (...) {
      }
      post(finish_once);
      return;
    }
    auto disconnect = [this, finish_once](std::optional<std::string>) {
      try {
        cli_.disconnect(std::chrono::seconds(2), nullptr,
                        listeners_.make(io_, [finish_once](std::optional<std::string>) { finish_once(); }));
      } catch (const ::mqtt::exception&) {
        finish_once();
      }
    };
    if (final_message) {
      send(*final_message, std::move(disconnect));
    } else {
      disconnect(std::nullopt);
    }
  }

 private:
  // v5: No Local, so our own commands never come back to us. 3.1.1 has no subscribe options.
  ::mqtt::subscribe_options subscribe_options() const {
    return v5_ ? ::mqtt::subscribe_options(true) : ::mqtt::subscribe_options();
  }

  template <class F>
  void post(F&& f) {
    try {
      asio::post(io_, std::forward<F>(f));
    } catch (...) {
      // Never let an exception escape into paho's C code.
    }
  }

  client& owner_;
  asio::io_context& io_;
  config::mqtt_config cfg_;
  std::string password_;
  last_will will_;
  std::vector<std::string> subscriptions_;
  handlers handlers_;
  bool v5_;
  std::string uri_;
  std::uint16_t broker_port_;
  listener_pool listeners_;  // before cli_: destroyed after it, when paho can no longer report
  ::mqtt::async_client cli_;
  ::mqtt::connect_options options_;
  asio::steady_timer retry_timer_;
  asio::steady_timer stop_deadline_;
  // Publishes handed to paho and not yet completed (QoS 0: written; QoS 1: PUBACK), by sequence.
  std::map<std::uint64_t, std::chrono::steady_clock::time_point> unfinished_;
  std::uint64_t publish_seq_ = 0;
  asio::steady_timer stall_check_;
  bool stall_check_armed_ = false;
  std::string wake_filter_;
  std::uint64_t send_thread_wakes_ = 0;
  connect_listener connect_listener_;
  backoff backoff_;
  std::uint64_t generation_ = 0;  // bumped per connection; stale SUBACKs are ignored
  bool stopping_ = false;
};

client::client(asio::io_context& io, const config::mqtt_config& cfg, std::string password, last_will will,
               std::vector<std::string> subscriptions, handlers h, session_kind kind)
    : impl_(std::make_unique<impl>(*this, io, cfg, std::move(password), std::move(will),
                                   std::move(subscriptions), std::move(h), kind)) {}

client::~client() = default;

void client::start() {
  impl_->connect();
}

void client::stop(std::optional<outgoing_message> final_message, std::function<void()> done) {
  impl_->stop(std::move(final_message), std::move(done));
}

void client::publish(outgoing_message msg, std::function<void(std::optional<std::string>)> done) {
  impl_->publish(msg, std::move(done));  // `done` always runs later, never inside this call
}

void client::add_subscriptions(const std::vector<std::string>& filters) {
  impl_->add_subscriptions(filters);
}

void client::publish_and_forget(outgoing_message msg) {
  if (!connected_) return;
  if (msg.qos == 0) {
    impl_->send_unobserved(msg);
    return;
  }
  std::string topic = msg.topic;
  impl_->publish(msg, [topic](std::optional<std::string> error) {
    if (error)
      log::warning("mqtt.publish_failed", "topic=" + log::quote(topic) + " reason=" + log::quote(*error));
  });
}

}  // namespace lb::mqtt
