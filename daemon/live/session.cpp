#include "live/session.hpp"
#include "common/json_text.hpp"

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "common/duration.hpp"
#include "common/log.hpp"
#include "common/probe.hpp"
#include "common/url.hpp"

namespace lb::live {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using boost::system::error_code;
using nlohmann::json;

namespace {

constexpr auto config_error_delay = std::chrono::minutes(5);
// A handle stays valid for 2 h after the session it belongs to ended (Live API documentation).
constexpr auto handle_validity = std::chrono::hours(2);

using plain_ws = websocket::stream<beast::tcp_stream>;
using tls_ws = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

struct connection_outcome {
  std::string reason;
  bool config_error = false;
  bool setup_timed_out = false;
};

}  // namespace

class session::connection_base {
 public:
  virtual ~connection_base() = default;
  virtual void send(std::string frame) = 0;
  virtual void close() = 0;  // close frame 1000 after the queued frames
  virtual void abort() = 0;  // drop the socket now
};

// One WebSocket connection. The reader runs inside session::run; frames to send are written one
// at a time (Beast allows one read and one write in flight), straight from send() when the writer
// is idle: a toolResponse reaches the socket within the handler that produced it, with no hop
// through the event loop.
template <class Ws>
class connection : public session::connection_base, public std::enable_shared_from_this<connection<Ws>> {
 public:
  template <class... Args>
  explicit connection(Args&&... args) : ws_(std::forward<Args>(args)...) {}

  Ws& ws() { return ws_; }

  // After the WebSocket handshake: from here on, queued frames go out.
  void open() {
    open_ = true;
    write_next();
  }
  void send(std::string frame) override {
    if (dead_ || closing_) return;
    queue_.push_back(std::move(frame));
    if (!writing_) write_next();
  }
  void close() override {
    closing_ = true;
    if (!writing_) write_next();
  }
  void abort() override {
    if (dead_) return;
    dead_ = true;
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

 private:
  void write_next() {
    if (!open_ || dead_) return;
    if (queue_.empty()) {
      if (!closing_ || close_sent_) return;  // closing: a close frame after everything queued
      close_sent_ = writing_ = true;
      ws_.async_close(websocket::close_code::normal,
                      [self = this->shared_from_this()](const error_code&) { self->writing_ = false; });
      return;
    }
    writing_ = true;
    if (log::enabled(log::level::debug)) log::debug("live.out", summarize_frame(queue_.front()));
    ws_.async_write(asio::buffer(queue_.front()),
                    [self = this->shared_from_this()](const error_code& ec, std::size_t) {
                      self->writing_ = false;
                      if (ec) return self->abort();
                      self->queue_.pop_front();
                      self->write_next();
                    });
    // Asio writes at once when the socket can take the bytes, so the frame is with the kernel now.
    probe::end(probe::stage::ack_to_response);
  }

  Ws ws_;
  std::deque<std::string> queue_;  // front() is being written while writing_
  bool open_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool close_sent_ = false;
  bool dead_ = false;
};

namespace {

template <class Ws>
asio::awaitable<connection_outcome> handshake(connection<Ws>& conn, const url& u,
                                              const config::live_config& cfg, const std::string& api_key) {
  auto ex = co_await asio::this_coro::executor;
  error_code ec;
  auto& tcp_layer = beast::get_lowest_layer(conn.ws());

  tcp::resolver resolver(ex);
  asio::steady_timer resolve_deadline(ex);
  resolve_deadline.expires_after(cfg.connect_timeout);
  resolve_deadline.async_wait([&resolver](const error_code& e) {
    if (!e) resolver.cancel();
  });
  const auto endpoints =
      co_await resolver.async_resolve(u.host, u.port, asio::redirect_error(asio::use_awaitable, ec));
  resolve_deadline.cancel();
  if (ec) co_return connection_outcome{"cannot resolve " + u.host + ": " + ec.message()};

  tcp_layer.expires_after(cfg.connect_timeout);  // covers TCP connect and the TLS handshake
  co_await tcp_layer.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return connection_outcome{"cannot connect to " + u.host + ":" + u.port + ": " + ec.message()};
  tcp_layer.socket().set_option(tcp::no_delay(true), ec);

  if constexpr (std::is_same_v<Ws, tls_ws>) {
    auto& tls = conn.ws().next_layer();
    if (!SSL_set_tlsext_host_name(tls.native_handle(), u.host.c_str())) {
      co_return connection_outcome{"cannot set TLS SNI for " + u.host};
    }
    tls.set_verify_mode(asio::ssl::verify_peer);
    tls.set_verify_callback(asio::ssl::host_name_verification(u.host));
    co_await tls.async_handshake(asio::ssl::stream_base::client,
                                 asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return connection_outcome{"TLS handshake with " + u.host + " failed: " + ec.message()};
  }

  tcp_layer.expires_never();  // from here the WebSocket's own timeouts apply
  // Beast pings after half the idle time in silence and gives up after all of it.
  conn.ws().set_option(websocket::stream_base::timeout{cfg.connect_timeout, cfg.idle_timeout, true});
  conn.ws().set_option(websocket::stream_base::decorator([key = api_key](websocket::request_type& req) {
    req.set(beast::http::field::user_agent, "livebridge/" LIVEBRIDGE_VERSION);
    // The key travels in a header, never in the URL, so that no access log ever holds it.
    if (!key.empty()) req.set("x-goog-api-key", key);
  }));
  conn.ws().read_message_max(cfg.max_frame_bytes);
  conn.ws().text(true);

  const bool default_port = (u.scheme == "wss" && u.port == "443") || (u.scheme == "ws" && u.port == "80");
  const std::string host_header = default_port ? u.host : u.host + ":" + u.port;
  websocket::response_type response;
  co_await conn.ws().async_handshake(response, host_header, u.target,
                                     asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    std::string reason = "WebSocket upgrade failed: " + ec.message();
    if (response.result_int() != 0) reason += " (HTTP " + std::to_string(response.result_int()) + ")";
    const unsigned status = response.result_int();
    co_return connection_outcome{reason, status == 401 || status == 403 || status == 404};
  }
  co_return connection_outcome{};
}

}  // namespace

session::session(asio::io_context& io, config::live_config cfg, std::string api_key, session_events& events)
    : io_(io),
      cfg_(std::move(cfg)),
      api_key_(std::move(api_key)),
      events_(events),
      backoff_(std::chrono::seconds(1), cfg_.reconnect_delay_max, config_error_delay),
      retry_timer_(io) {
  const std::string dir = config::resolved_state_directory(cfg_);
  if (cfg_.session_resumption && !dir.empty()) state_file_ = dir + "/live-session.json";
  load_handle();
}

void session::load_handle() {
  if (state_file_.empty()) return;
  std::ifstream in(state_file_);
  if (!in) return;
  const json doc = json::parse(in, nullptr, false);
  if (!doc.is_object() || doc.value("model", "") != cfg_.model || !doc.contains("handle") ||
      !doc["handle"].is_string() || !doc.contains("saved_at") || !doc["saved_at"].is_number_integer()) {
    return;  // another model's handle, or not ours: a fresh session
  }
  handle_ = doc["handle"].get<std::string>();
  handle_time_ =
      std::chrono::system_clock::time_point(std::chrono::seconds(doc["saved_at"].get<long long>()));
  if (usable_handle().empty()) {
    handle_.clear();
    return;
  }
  log::info("live.handle_loaded", "file=" + log::quote(state_file_));
}

void session::store_handle(std::string handle) {
  handle_ = std::move(handle);
  handle_time_ = std::chrono::system_clock::now();
  if (state_file_.empty()) return;
  const json doc = {
      {"model", cfg_.model},
      {"handle", handle_},
      {"saved_at",
       std::chrono::duration_cast<std::chrono::seconds>(handle_time_.time_since_epoch()).count()}};
  // Written aside and renamed, so a crash never leaves half a file.
  const std::string tmp = state_file_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << json_text(doc);
    if (!out) {
      log::warning("live.handle_not_saved", "file=" + log::quote(state_file_));
      return;
    }
  }
  std::rename(tmp.c_str(), state_file_.c_str());
}

void session::drop_handle(const std::string& why) {
  log::warning("live.resume_rejected", "reason=" + log::quote(why) + " next=\"a fresh session\"");
  handle_.clear();
  if (!state_file_.empty()) std::remove(state_file_.c_str());
}

std::string session::usable_handle() const {
  if (!cfg_.session_resumption || handle_.empty()) return {};
  if (std::chrono::system_clock::now() - handle_time_ > handle_validity) return {};
  return handle_;
}

void session::renew() {
  if (!current_) return;
  log::info("live.renewing", std::string("resume=") + (usable_handle().empty() ? "no" : "yes"));
  reconnect_now_ = true;
  if (ready_) {
    current_->close();
  } else {
    current_->abort();
  }
}

session::~session() = default;

bool session::send(std::string frame) {
  if (!ready_ || !current_) return false;
  current_->send(std::move(frame));
  return true;
}

void session::start() {
  run();
}

void session::stop(std::function<void()> done) {
  stopping_ = true;
  on_stopped_ = std::move(done);
  retry_timer_.cancel();
  if (current_) {
    if (ready_) {
      current_->close();
    } else {
      current_->abort();
    }
  }
}

void session::run() {
  asio::co_spawn(
      io_,
      [this]() -> asio::awaitable<void> {
        while (!stopping_) {
          // Per attempt: a reload may have changed the URL or the CA file.
          const auto u = parse_url(cfg_.url);  // validated by the config loader
          const bool tls = u->scheme == "wss";
          std::shared_ptr<asio::ssl::context> tls_context;
          if (tls) {
            tls_context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
            tls_context->set_default_verify_paths();
            error_code ca_error;
            if (cfg_.ca_file) tls_context->load_verify_file(*cfg_.ca_file, ca_error);
            if (ca_error)
              log::error("live.ca_file",
                         "file=" + log::quote(*cfg_.ca_file) + " reason=" + log::quote(ca_error.message()));
          }
          state_text_ = "connecting";
          log::info("live.connecting", "url=" + log::quote(cfg_.url) + " model=" + cfg_.model);
          connection_outcome outcome;
          bool resuming = false;  // this attempt offers a resumption handle
          const auto started = std::chrono::steady_clock::now();
          auto serve =
              [&]<class Ws>(std::shared_ptr<connection<Ws>> conn) -> asio::awaitable<connection_outcome> {
            current_ = conn;
            if (stopping_) co_return connection_outcome{"stopped"};
            connection_outcome result = co_await handshake(*conn, *u, cfg_, api_key_);
            if (!result.reason.empty()) co_return result;
            if (stopping_) co_return connection_outcome{"stopped"};

            conn->open();
            resuming = !usable_handle().empty();
            conn->send(resuming ? with_resumption_handle(setup_frame_, usable_handle()) : setup_frame_);
            bool setup_timed_out = false;
            asio::steady_timer setup_deadline(io_);
            setup_deadline.expires_after(cfg_.setup_timeout);
            setup_deadline.async_wait(
                [this, &setup_timed_out, weak = std::weak_ptr(conn)](const error_code& e) {
                  if (e || ready_) return;
                  setup_timed_out = true;
                  if (auto c = weak.lock()) c->abort();
                });

            beast::flat_buffer buffer;
            error_code ec;
            for (;;) {
              co_await conn->ws().async_read(buffer, asio::redirect_error(asio::use_awaitable, ec));
              if (ec) break;
              const auto received_at = std::chrono::steady_clock::now();
              const std::string frame = beast::buffers_to_string(buffer.data());
              buffer.consume(buffer.size());
              if (log::enabled(log::level::debug)) log::debug("live.in", summarize_frame(frame));
              auto parsed = parse_server_message(frame);
              if (auto* bad = std::get_if<std::string>(&parsed)) {
                log::warning("live.bad_frame", "reason=" + log::quote(*bad) +
                                                   " frame=" + log::quote(log::abbreviate(frame, 200)));
                continue;
              }
              auto& msg = std::get<server_message>(parsed);
              msg.received_at = received_at;
              for (const auto& problem : msg.problems) log::warning("live.bad_field", log::quote(problem));
              if (!ready_) {
                if (!msg.setup_complete) {
                  log::warning("live.early_frame", "reason=\"frame before setupComplete ignored\"");
                  continue;
                }
                ready_ = true;
                setup_deadline.cancel();
                backoff_.reset();
                const auto setup_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - started);
                state_text_ = resuming ? "connected (resumed)" : "connected";
                log::notice("live.ready", "setup_ms=" + std::to_string(setup_ms.count()) +
                                              (resuming ? " resumed=yes" : " resumed=no"));
                events_.on_session_ready();
                continue;
              }
              if (msg.resumption && msg.resumption->resumable && !msg.resumption->new_handle.empty()) {
                store_handle(msg.resumption->new_handle);
              }
              events_.on_server_message(msg);
            }
            setup_deadline.cancel();
            if (ec == websocket::error::closed) {
              const auto& cr = conn->ws().reason();
              result.reason = "closed by the server: " + std::to_string(cr.code) +
                              (cr.reason.empty() ? std::string() : " " + std::string(cr.reason.c_str()));
              result.config_error = cr.code == 1007 || cr.code == 1008;
            } else if (setup_timed_out) {
              result.reason = "no setupComplete within " + format_duration(cfg_.setup_timeout);
              result.setup_timed_out = true;
            } else {
              result.reason = ec.message();
            }
            conn->abort();
            co_return result;
          };
          if (tls) {
            outcome = co_await serve(std::make_shared<connection<tls_ws>>(io_, *tls_context));
          } else {
            outcome = co_await serve(std::make_shared<connection<plain_ws>>(io_));
          }
          const bool reached_ready = ready_;
          ready_ = false;
          current_.reset();
          if (reached_ready && !handle_.empty()) handle_time_ = std::chrono::system_clock::now();
          if (stopping_) break;
          if (resuming && !reached_ready && (outcome.config_error || outcome.setup_timed_out)) {
            // The server refused to resume (an expired or foreign handle closes with 1007): start
            // a fresh session right away instead of waiting out a configuration error.
            drop_handle(outcome.reason);
            events_.on_session_lost(outcome.reason);
            continue;
          }
          if (reconnect_now_) {
            // A reload or a goAway closed the connection on purpose: no backoff.
            reconnect_now_ = false;
            events_.on_session_lost("moved to a new connection");
            continue;
          }
          const auto delay = backoff_.next(outcome.config_error);
          state_text_ = "reconnecting in " + format_duration(delay) + " after: " + outcome.reason;
          log::write(outcome.config_error ? log::level::error : log::level::warning, "live.lost",
                     "reason=" + log::quote(outcome.reason) + " retry_in=" + format_duration(delay));
          events_.on_session_lost(outcome.reason);
          retry_timer_.expires_after(delay);
          error_code ec;
          co_await retry_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        state_text_ = "stopped";
        log::info("live.stopped");
        if (on_stopped_) asio::post(io_, std::move(on_stopped_));
      },
      asio::detached);
}

void session::reconfigure(config::live_config cfg, std::string api_key, std::string setup_frame) {
  cfg_ = std::move(cfg);
  api_key_ = std::move(api_key);
  setup_frame_ = std::move(setup_frame);
  backoff_.reset();
  if (current_) {
    reconnect_now_ = true;
    if (ready_) {
      current_->close();
    } else {
      current_->abort();
    }
  } else {
    retry_timer_.cancel();  // waiting to retry: retry now, with the new setup
  }
}

}  // namespace lb::live
