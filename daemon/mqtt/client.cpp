#include "mqtt/client.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <deque>
#include <list>
#include <map>
#include <mutex>

#include <mqtt/async_client.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/duration.hpp"
#include "common/log.hpp"
#include "common/probe.hpp"
#include "common/url.hpp"
#include "mqtt/link_fsm.hpp"
#include "mqtt/reason_code.hpp"
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

// paho.mqtt.c records its own internals in an in-memory trace by default, formatting an entry
// under a process-wide mutex at every traced step of every publish and receive; nothing ever
// reads that trace here. Only its errors are kept, unless the user asked paho for a trace with
// MQTT_C_CLIENT_TRACE_LEVEL. Once per process, before any client connects.
void keep_only_paho_errors() {
  static const bool once = [] {
    if (std::getenv("MQTT_C_CLIENT_TRACE_LEVEL") == nullptr) MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
    return true;
  }();
  (void)once;
}

class listener_pool;

// Why an operation failed. `refused`: the broker answered with a reason code of 0x80 or more (an
// ACL said no); anything else is the client's own failure (not connected, timed out, …).
struct op_failure {
  std::string why;
  bool refused = false;
};

// paho reports a broker's refusal in two ways. v5: the SUBACK's or PUBACK's reason code, with
// return code 0. v3.1.1: only a SUBACK can refuse, as return code 0x80, and paho-mqtt-cpp then
// sets its stand-in reason code MQTTPP_V3_CODE (255), which is no protocol code.
op_failure failure_of(const ::mqtt::token& tok) {
  const int reason = tok.get_reason_code();
  const int rc = tok.get_return_code();
  if (reason != ::mqtt::MQTTPP_V3_CODE && is_refusal(reason)) return {reason_code_text(reason), true};
  if (reason == ::mqtt::MQTTPP_V3_CODE && rc == MQTT_BAD_SUBSCRIBE)
    return {reason_code_text(rc, false), true};
  return {"error " + std::to_string(rc), false};
}

// Paho wants an action listener object per operation; this one posts the outcome to the io
// thread and then releases itself from its pool.
class posting_listener final : public ::mqtt::iaction_listener {
 public:
  using handler = std::function<void(std::optional<op_failure>)>;
  posting_listener(listener_pool& pool, asio::io_context& io, handler h)
      : pool_(pool), io_(io), handler_(std::move(h)) {}

  void on_success(const ::mqtt::token&) override { complete(std::nullopt); }
  void on_failure(const ::mqtt::token& tok) override { complete(failure_of(tok)); }

 private:
  friend class listener_pool;
  void complete(std::optional<op_failure> outcome);

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

void posting_listener::complete(std::optional<op_failure> outcome) {
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
  impl(asio::io_context& io, const config::mqtt_config& cfg, std::string password, last_will will,
       std::vector<std::string> subscriptions, handlers h, session_kind kind)
      : io_(io),
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
        stop_timer_(io),
        stall_check_(io),
        wake_filter_(cfg.client_id + "/wake-send-thread"),
        connect_listener_(io, [this](const std::string& error) { feed(link_event::connect_failed(error)); }),
        fsm_(subscriptions_.size(),
             backoff(std::chrono::seconds(1), std::chrono::seconds(30), std::chrono::seconds(30)),
             stop_deadline) {
    keep_only_paho_errors();
    // No automatic_reconnect: the link's machine decides every attempt, so there is one
    // reconnect loop and it always knows whether the link is up.
    auto builder = ::mqtt::connect_options_builder()
                       .mqtt_version(v5_ ? MQTTVERSION_5 : MQTTVERSION_3_1_1)
                       .keep_alive_interval(std::chrono::duration_cast<std::chrono::seconds>(cfg.keepalive))
                       .connect_timeout(std::chrono::seconds(10));
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
      post([this] { feed(link_event::connack()); });
    });
    cli_.set_connection_lost_handler([this](const std::string& cause) {
      post([this, cause] {
        unfinished_.clear();  // paho resends or fails them on its own; no thread to wake meanwhile
        feed(link_event::connection_lost(cause.empty() ? std::string("connection lost") : cause));
      });
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

  bool up() const { return fsm_.up(); }
  const std::string& state_text() const { return state_text_; }

  void start() { feed(link_event::start()); }

  void stop(std::optional<outgoing_message> final_message, std::function<void()> done) {
    if (!fsm_.stopping_or_stopped()) final_message_ = std::move(final_message);
    stop_waiters_.push_back(std::move(done));
    feed(link_event::stop_requested());
  }

  void add_subscriptions(const std::vector<std::string>& filters) {
    std::size_t added = 0;
    for (const auto& filter : filters) {
      if (std::find(subscriptions_.begin(), subscriptions_.end(), filter) != subscriptions_.end()) continue;
      subscriptions_.push_back(filter);
      ++added;
    }
    if (added > 0) feed(link_event::filters_added(added));
  }

  void publish(const outgoing_message& m, std::function<void(std::optional<std::string>)> done) {
    if (!fsm_.up()) {
      post([done = std::move(done)] { done(std::string("the MQTT broker is not connected")); });
      return;
    }
    send(m, [done = std::move(done)](std::optional<op_failure> failure) {
      done(failure ? std::optional<std::string>(std::move(failure->why)) : std::nullopt);
    });
  }

  // QoS 1 whose failure is only logged: a refusal has been logged by send() already.
  void publish_logged(const outgoing_message& m) {
    send(m, [topic = m.topic](std::optional<op_failure> failure) {
      if (failure && !failure->refused)
        log::warning("mqtt.publish_failed",
                     "topic=" + log::quote(topic) + " reason=" + log::quote(failure->why));
    });
  }

  const std::vector<std::string>& refused_subscriptions() const { return refused_; }

  // QoS 0 without a completion: it would only say the bytes reached the socket, and observing it
  // costs a listener, a hand-off back to the io thread and a stall-watch entry. The per-call
  // events are such messages, two per tool call: leaving them unobserved cut the daemon's CPU per
  // call noticeably in the throughput benchmark.
  void send_unobserved(const outgoing_message& m) {
    try {
      cli_.publish(to_paho(m));
    } catch (const ::mqtt::exception& e) {
      log::warning("mqtt.publish_failed", "topic=" + log::quote(m.topic) + " reason=" + log::quote(e.what()));
    }
  }

 private:
  // Events may arrive while actions are carried out (paho refusing a connect or a subscribe
  // synchronously): they wait their turn, so the machine sees one event at a time, in order.
  void feed(link_event e) {
    pending_events_.push_back(std::move(e));
    if (feeding_) return;
    feeding_ = true;
    while (!pending_events_.empty()) {
      const link_event next = std::move(pending_events_.front());
      pending_events_.pop_front();
      const auto actions = fsm_.on(next);
      update_state_text();  // before the actions: handlers they call read it
      for (const auto& a : actions) carry_out(a);
    }
    feeding_ = false;
  }

  void carry_out(const link_action& a) {
    switch (a.what) {
      case link_action::kind::connect:
        return connect();
      case link_action::kind::subscribe:
        return subscribe(a.connection, a.first_filter);
      case link_action::kind::arm_retry:
        return arm_retry(a.delay, a.cause);
      case link_action::kind::report_up:
        log::notice("mqtt.connected",
                    "url=" + log::quote(cfg_.url) +
                        " subscriptions=" + std::to_string(subscriptions_.size()) +
                        (refused_.empty() ? "" : " refused=" + std::to_string(refused_.size())));
        if (handlers_.on_connected) handlers_.on_connected();
        return;
      case link_action::kind::report_down:
        log::warning("mqtt.lost", "reason=" + log::quote(a.cause));
        if (handlers_.on_lost) handlers_.on_lost(a.cause);
        return;
      case link_action::kind::arm_stop_deadline:
        stop_timer_.expires_after(a.delay);
        stop_timer_.async_wait([this](const boost::system::error_code& ec) {
          if (ec) return;
          log::warning("mqtt.stop_timeout",
                       "reason=\"the broker did not acknowledge the disconnect in time\"");
          feed(link_event::stop_deadline());
        });
        return;
      case link_action::kind::publish_final_then_disconnect:
        return publish_final_then_disconnect();
      case link_action::kind::disconnect_now:
        try {
          cli_.disconnect(0);
        } catch (...) {
        }
        return;
      case link_action::kind::report_stopped:
        return report_stopped();
    }
  }

  void connect() {
    // A new connection: the broker judges every subscription again (its ACL may have changed).
    refused_.clear();
    log::info("mqtt.connecting", "url=" + log::quote(cfg_.url) + " client_id=" + cfg_.client_id);
    try {
      cli_.connect(options_, nullptr, connect_listener_);
    } catch (const ::mqtt::exception& e) {
      feed(link_event::connect_failed(e.what()));
    }
  }

  void arm_retry(std::chrono::milliseconds delay, const std::string& cause) {
    retry_text_ = "reconnecting in " + format_duration(delay) + " after: " + cause;
    update_state_text();
    log::warning("mqtt.retry", "reason=" + log::quote(cause) + " retry_in=" + format_duration(delay));
    retry_timer_.expires_after(delay);
    retry_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) feed(link_event::retry_timer_fired());
    });
  }

  // The broker forgot our subscriptions (clean start), or they are new: each SUBACK goes to the
  // machine with the connection it belongs to, so one from before a reconnect counts for nothing.
  void subscribe(std::uint64_t connection, std::size_t first_filter) {
    for (std::size_t i = first_filter; i < subscriptions_.size(); ++i) {
      const std::string filter = subscriptions_[i];
      auto report = [this, filter, connection](std::optional<op_failure> failure) {
        if (failure && failure->refused) {
          // Logged at every connection, for the ACL may have changed. Still counted as answered:
          // the broker would say the same again, and the rest of the link serves what it can.
          log::error("mqtt.subscription_refused",
                     "filter=" + log::quote(filter) + " reason=" + log::quote(failure->why));
          if (connection == fsm_.connection() &&
              std::find(refused_.begin(), refused_.end(), filter) == refused_.end())
            refused_.push_back(filter);
        } else if (failure) {
          log::error("mqtt.subscribe_failed",
                     "filter=" + log::quote(filter) + " reason=" + log::quote(failure->why));
        }
        feed(link_event::suback(connection, !failure));
      };
      auto& listener = listeners_.make(io_, std::move(report));
      try {
        // No Local (v5): never receive our own commands back; retained copies still arrive and
        // are recognised by their retain flag.
        cli_.subscribe(filter, 1, nullptr, listener, subscribe_options());
      } catch (const ::mqtt::exception& e) {
        listeners_.take_back(listener)(op_failure{e.what()});
      }
    }
  }

  void publish_final_then_disconnect() {
    auto disconnect = [this](std::optional<op_failure>) {
      if (fsm_.state() != link_state::stopping) return;  // the deadline came first
      try {
        cli_.disconnect(
            std::chrono::duration_cast<std::chrono::milliseconds>(stop_deadline) / 2, nullptr,
            listeners_.make(io_, [this](std::optional<op_failure>) { feed(link_event::disconnected()); }));
      } catch (const ::mqtt::exception&) {
        feed(link_event::disconnected());
      }
    };
    // The link may be connected with SUBACKs pending (a stop right after a start): the final
    // message (`offline`) still goes out, or the broker would keep an `online` from before.
    if (final_message_) {
      send(*final_message_, std::move(disconnect));
    } else {
      disconnect(std::nullopt);
    }
  }

  void report_stopped() {
    retry_timer_.cancel();
    stop_timer_.cancel();
    stall_check_.cancel();
    unfinished_.clear();
    auto waiters = std::move(stop_waiters_);
    stop_waiters_.clear();
    for (auto& done : waiters)
      if (done) done();
  }

  void update_state_text() {
    switch (fsm_.state()) {
      case link_state::idle:
      case link_state::connecting:
        state_text_ = "connecting";
        break;
      case link_state::subscribing:
        state_text_ = "subscribing";
        break;
      case link_state::up:
        state_text_ = "connected";
        if (!refused_.empty()) {
          state_text_ += " (refused:";
          for (const auto& f : refused_) state_text_ += " " + f;
          state_text_ += ")";
        }
        break;
      case link_state::down:
        state_text_ = retry_text_;
        break;
      case link_state::stopping:
        state_text_ = "disconnecting";
        break;
      case link_state::stopped:
        state_text_ = "disconnected";
        break;
    }
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

  // Hands the message to paho; only publish() and the stop decide whether the link may carry it.
  // A publish the broker refuses (a v5 PUBACK of 0x80 or more: mosquitto answers 135 when its ACL
  // denies a QoS 1 publish) is logged here, with its topic, whoever sent it.
  void send(const outgoing_message& m, std::function<void(std::optional<op_failure>)> done) {
    auto msg = to_paho(m);
    const std::uint64_t seq = ++publish_seq_;
    unfinished_.emplace(seq, std::chrono::steady_clock::now());
    watch_for_stalls();
    done = [this, seq, topic = m.topic, done = std::move(done)](std::optional<op_failure> outcome) {
      unfinished_.erase(seq);
      if (outcome && outcome->refused)
        log::error("mqtt.publish_refused",
                   "topic=" + log::quote(topic) + " reason=" + log::quote(outcome->why));
      done(std::move(outcome));
    };
    auto& listener = listeners_.make(io_, std::move(done));
    try {
      cli_.publish(msg, nullptr, listener);
      probe::end(probe::stage::frame_to_publish);
    } catch (const ::mqtt::exception& e) {
      post([done = listeners_.take_back(listener), why = std::string(e.what())] { done(op_failure{why}); });
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
      if (fsm_.up() && std::chrono::steady_clock::now() - oldest >= send_stall_limit) {
        ++send_thread_wakes_;
        log::debug("mqtt.wake_send_thread", "unfinished=" + std::to_string(unfinished_.size()) +
                                                " wakes=" + std::to_string(send_thread_wakes_));
        try {
          cli_.unsubscribe(wake_filter_, nullptr, listeners_.make(io_, [](std::optional<op_failure>) {}));
        } catch (const ::mqtt::exception&) {
        }
      }
      watch_for_stalls();
    });
  }

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
  asio::steady_timer stop_timer_;
  // Publishes handed to paho and not yet completed (QoS 0: written; QoS 1: PUBACK), by sequence.
  std::map<std::uint64_t, std::chrono::steady_clock::time_point> unfinished_;
  std::uint64_t publish_seq_ = 0;
  asio::steady_timer stall_check_;
  bool stall_check_armed_ = false;
  std::string wake_filter_;
  std::uint64_t send_thread_wakes_ = 0;
  connect_listener connect_listener_;
  link_fsm fsm_;
  std::deque<link_event> pending_events_;
  bool feeding_ = false;
  std::optional<outgoing_message> final_message_;
  std::vector<std::function<void()>> stop_waiters_;
  std::string retry_text_;
  std::string state_text_ = "connecting";
  std::vector<std::string> refused_;  // filters the broker refused on the current connection
};

client::client(asio::io_context& io, const config::mqtt_config& cfg, std::string password, last_will will,
               std::vector<std::string> subscriptions, handlers h, session_kind kind)
    : impl_(std::make_unique<impl>(io, cfg, std::move(password), std::move(will), std::move(subscriptions),
                                   std::move(h), kind)) {}

client::~client() = default;

void client::start() {
  impl_->start();
}

void client::stop(std::optional<outgoing_message> final_message, std::function<void()> done) {
  impl_->stop(std::move(final_message), std::move(done));
}

bool client::connected() const {
  return impl_->up();
}

const std::string& client::state_text() const {
  return impl_->state_text();
}

void client::publish(outgoing_message msg, std::function<void(std::optional<std::string>)> done) {
  impl_->publish(msg, std::move(done));  // `done` always runs later, never inside this call
}

void client::add_subscriptions(const std::vector<std::string>& filters) {
  impl_->add_subscriptions(filters);
}

bool client::publish_and_forget(outgoing_message msg) {
  if (!impl_->up()) return false;
  if (msg.qos == 0) {
    impl_->send_unobserved(msg);
    return true;
  }
  impl_->publish_logged(msg);
  return true;
}

std::vector<std::string> client::refused_subscriptions() const {
  return impl_->refused_subscriptions();
}

}  // namespace lb::mqtt
