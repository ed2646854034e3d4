#include "live/session.hpp"
#include "common/json_text.hpp"

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
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

struct handshake_outcome {
  std::string reason;  // empty: the WebSocket is open
  bool config_error = false;
};

}  // namespace

class session::connection_base {
 public:
  virtual ~connection_base() = default;
  virtual void send(std::string frame) = 0;
  virtual void close() = 0;  // close frame 1000 after the queued frames
  virtual void abort() = 0;  // drop the socket now, and end a resolve or connect in progress
  virtual bool dead() const = 0;

  // How the attempt ended, filled in by session::serve.
  bool handshake_failed = false;
  std::string end_reason;
  int close_code = 0;
  bool config_error = false;
  std::shared_ptr<void> keep_alive;  // the TLS context, for as long as the stream uses it
};

// One WebSocket connection. The reader runs inside session::serve; frames to send are written one
// at a time (Beast allows one read and one write in flight), straight from send() when the writer
// is idle: a toolResponse reaches the socket within the handler that produced it, with no hop
// through the event loop.
template <class Ws>
class connection : public session::connection_base, public std::enable_shared_from_this<connection<Ws>> {
 public:
  template <class... Args>
  explicit connection(asio::io_context& io, Args&&... args)
      : ws_(io, std::forward<Args>(args)...), resolver_(io), resolve_wait_(io) {}

  Ws& ws() { return ws_; }
  bool dead() const override { return dead_; }

  // Resolves `host`, ending at once when abort() is called: the resolver runs getaddrinfo on a
  // thread of its own that a cancel cannot interrupt, so the coroutine waits on a timer that the
  // result, the deadline and abort() all end, never on the resolve itself.
  asio::awaitable<error_code> resolve(const std::string& host, const std::string& port,
                                      std::chrono::milliseconds timeout) {
    resolve_wait_.expires_after(timeout);
    resolver_.async_resolve(
        host, port,
        [self = this->shared_from_this()](const error_code& ec, tcp::resolver::results_type results) {
          self->resolved_ = true;
          self->resolve_error_ = ec;
          self->endpoints_ = std::move(results);
          self->resolve_wait_.cancel();
        });
    error_code ignored;
    co_await resolve_wait_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    if (dead_) co_return asio::error::operation_aborted;
    if (!resolved_) {
      resolver_.cancel();
      co_return asio::error::timed_out;
    }
    co_return resolve_error_;
  }
  const tcp::resolver::results_type& endpoints() const { return endpoints_; }

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
    resolver_.cancel();
    resolve_wait_.cancel();
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
  tcp::resolver resolver_;
  asio::steady_timer resolve_wait_;
  bool resolved_ = false;
  error_code resolve_error_;
  tcp::resolver::results_type endpoints_;
  std::deque<std::string> queue_;  // front() is being written while writing_
  bool open_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool close_sent_ = false;
  bool dead_ = false;
};

namespace {

template <class Ws>
asio::awaitable<handshake_outcome> handshake(connection<Ws>& conn, const url& u,
                                             const config::live_config& cfg, const std::string& api_key) {
  const handshake_outcome aborted{"closed before the connection was open"};
  error_code ec;
  auto& tcp_layer = beast::get_lowest_layer(conn.ws());

  if (conn.dead()) co_return aborted;
  ec = co_await conn.resolve(u.host, u.port, cfg.connect_timeout);
  if (conn.dead()) co_return aborted;
  if (ec) co_return handshake_outcome{"cannot resolve " + u.host + ": " + ec.message()};

  tcp_layer.expires_after(cfg.connect_timeout);  // covers TCP connect and the TLS handshake
  co_await tcp_layer.async_connect(conn.endpoints(), asio::redirect_error(asio::use_awaitable, ec));
  if (conn.dead()) co_return aborted;
  if (ec) co_return handshake_outcome{"cannot connect to " + u.host + ":" + u.port + ": " + ec.message()};
  tcp_layer.socket().set_option(tcp::no_delay(true), ec);

  if constexpr (std::is_same_v<Ws, tls_ws>) {
    auto& tls = conn.ws().next_layer();
    if (!SSL_set_tlsext_host_name(tls.native_handle(), u.host.c_str())) {
      co_return handshake_outcome{"cannot set TLS SNI for " + u.host};
    }
    tls.set_verify_mode(asio::ssl::verify_peer);
    tls.set_verify_callback(asio::ssl::host_name_verification(u.host));
    co_await tls.async_handshake(asio::ssl::stream_base::client,
                                 asio::redirect_error(asio::use_awaitable, ec));
    if (conn.dead()) co_return aborted;
    if (ec) co_return handshake_outcome{"TLS handshake with " + u.host + " failed: " + ec.message()};
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

  const std::string host_header = u.authority();
  websocket::response_type response;
  co_await conn.ws().async_handshake(response, host_header, u.target,
                                     asio::redirect_error(asio::use_awaitable, ec));
  if (conn.dead()) co_return aborted;
  if (ec) {
    std::string reason = "WebSocket upgrade failed: " + ec.message();
    if (response.result_int() != 0) reason += " (HTTP " + std::to_string(response.result_int()) + ")";
    const unsigned status = response.result_int();
    co_return handshake_outcome{reason, status == 401 || status == 403 || status == 404};
  }
  co_return handshake_outcome{};
}

}  // namespace

session::session(asio::io_context& io, config::live_config cfg, std::string api_key, session_events& events)
    : io_(io),
      cfg_(std::move(cfg)),
      api_key_(std::move(api_key)),
      events_(events),
      link_(backoff(std::chrono::seconds(1), cfg_.reconnect_delay_max, config_error_delay)),
      retry_timer_(io),
      setup_timer_(io),
      close_timer_(io) {
  const std::string dir = config::resolved_state_directory(cfg_);
  if (cfg_.session_resumption && !dir.empty()) state_file_ = dir + "/live-session.json";
  load_handle();
}

void session::load_handle() {
  if (state_file_.empty()) return;
  std::ifstream in(state_file_);
  if (!in) return;
  const json doc = json::parse(in, nullptr, false);
  // A damaged file costs the resumption, never the start.
  auto ignore = [this](const char* why) {
    log::warning("live.state_file_ignored", "file=" + log::quote(state_file_) + " reason=" + log::quote(why) +
                                                " next=\"a fresh session\"");
  };
  if (doc.is_discarded()) return ignore("not JSON");
  if (!doc.is_object()) return ignore("not a JSON object");
  const auto model = doc.find("model");
  const auto handle = doc.find("handle");
  const auto saved_at = doc.find("saved_at");
  if (model == doc.end() || !model->is_string() || handle == doc.end() || !handle->is_string() ||
      saved_at == doc.end() || !saved_at->is_number_integer()) {
    return ignore("model, handle or saved_at missing or of the wrong type");
  }
  if (model->get_ref<const std::string&>() != cfg_.model) return;  // another model's handle: a fresh session
  handle_ = handle->get<std::string>();
  handle_time_ = std::chrono::system_clock::time_point(std::chrono::seconds(saved_at->get<long long>()));
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

session::~session() = default;

void session::start() {
  feed(link_event::of(link_event_kind::start));
}

bool session::send(std::string frame) {
  if (!link_.can_send() || !current_) return false;
  current_->send(std::move(frame));
  return true;
}

void session::renew() {
  if (link_.state() == link_state::idle || link_.state() == link_state::stopped) return;
  log::info("live.renewing", std::string("resume=") + (usable_handle().empty() ? "no" : "yes"));
  feed(link_event::of(link_event_kind::renew_requested));
  if (link_.state() == link_state::closing) state_text_ = "moving to a new connection";
}

void session::reconfigure(config::live_config cfg, std::string api_key, std::string setup_frame) {
  cfg_ = std::move(cfg);
  api_key_ = std::move(api_key);
  setup_frame_ = std::move(setup_frame);
  feed(link_event::of(link_event_kind::reconfigure));
  if (link_.state() == link_state::closing) state_text_ = "moving to a new connection";
}

void session::stop(std::function<void()> done) {
  if (done) on_stopped_.push_back(std::move(done));
  feed(link_event::of(link_event_kind::stop_requested));
  if (link_.state() == link_state::closing) state_text_ = "stopping";
}

void session::feed(const link_event& ev) {
  for (const auto& action : link_.handle(ev)) carry_out(action);
}

void session::carry_out(const link_action& action) {
  const std::uint64_t attempt = attempt_;
  switch (action.kind) {
    case link_action_kind::open_connection:
      open_connection();
      break;
    case link_action_kind::send_setup:
      if (!current_) break;
      current_->send(action.resume ? with_resumption_handle(setup_frame_, usable_handle()) : setup_frame_);
      break;
    case link_action_kind::start_setup_timer:
      // The handlers hold the attempt number, never a reference into a coroutine's frame: they
      // may run after that attempt is long over.
      setup_timer_.expires_after(cfg_.setup_timeout);
      setup_timer_.async_wait([this, attempt](const error_code& ec) {
        if (ec || attempt != attempt_) return;
        feed(link_event::setup_timeout("no setupComplete within " + format_duration(cfg_.setup_timeout)));
      });
      break;
    case link_action_kind::cancel_setup_timer:
      setup_timer_.cancel();
      break;
    case link_action_kind::send_close:
      if (current_) current_->close();
      break;
    case link_action_kind::abort_socket:
      if (current_) current_->abort();
      break;
    case link_action_kind::start_close_timer:
      close_timer_.expires_after(action.delay);
      close_timer_.async_wait([this, attempt](const error_code& ec) {
        if (ec || attempt != attempt_) return;
        log::warning("live.close_deadline", "reason=\"the connection did not end in time; aborted\"");
        feed(link_event::of(link_event_kind::close_deadline));
      });
      break;
    case link_action_kind::cancel_close_timer:
      close_timer_.cancel();
      break;
    case link_action_kind::arm_retry:
      state_text_ = "reconnecting in " + format_duration(action.delay) + " after: " + action.reason;
      log::write(action.config_error ? log::level::error : log::level::warning, "live.lost",
                 "reason=" + log::quote(action.reason) + " retry_in=" + format_duration(action.delay));
      retry_timer_.expires_after(action.delay);
      retry_timer_.async_wait([this](const error_code& ec) {
        if (ec) return;
        feed(link_event::of(link_event_kind::retry_timer_fired));
      });
      break;
    case link_action_kind::cancel_retry:
      retry_timer_.cancel();
      break;
    case link_action_kind::report_ready: {
      const auto setup_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - attempt_started_);
      state_text_ = link_.resuming() ? "connected (resumed)" : "connected";
      log::notice("live.ready", "setup_ms=" + std::to_string(setup_ms.count()) +
                                    (link_.resuming() ? " resumed=yes" : " resumed=no"));
      events_.on_session_ready();  // only from the reader: an exception ends the attempt
      break;
    }
    case link_action_kind::report_lost:
      report_lost(action.reason);
      break;
    case link_action_kind::drop_handle:
      drop_handle(action.reason);
      break;
    case link_action_kind::report_stopped: {
      state_text_ = "stopped";
      log::info("live.stopped");
      auto waiting = std::move(on_stopped_);
      on_stopped_.clear();
      for (auto& done : waiting) asio::post(io_, std::move(done));
      break;
    }
  }
}

void session::report_lost(const std::string& reason) {
  // Called from a completion handler: an exception here would leave the io thread.
  try {
    events_.on_session_lost(reason);
  } catch (const std::exception& e) {
    log::error("live.internal_error", "in=on_session_lost reason=" + log::quote(e.what()));
  } catch (...) {
    log::error("live.internal_error", "in=on_session_lost reason=\"unknown exception\"");
  }
}

template <class Ws>
asio::awaitable<void> session::serve(std::shared_ptr<connection<Ws>> conn, url u) {
  const handshake_outcome opened = co_await handshake(*conn, u, cfg_, api_key_);
  if (!opened.reason.empty()) {
    conn->handshake_failed = true;
    conn->end_reason = opened.reason;
    conn->config_error = opened.config_error;
    co_return;
  }
  conn->open();
  feed(link_event::handshake_done(!usable_handle().empty()));

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
      log::warning("live.bad_frame",
                   "reason=" + log::quote(*bad) + " frame=" + log::quote(log::abbreviate(frame, 200)));
      continue;
    }
    auto& msg = std::get<server_message>(parsed);
    msg.received_at = received_at;
    for (const auto& problem : msg.problems) log::warning("live.bad_field", log::quote(problem));
    if (link_.state() == link_state::awaiting_setup) {
      if (!msg.setup_complete) {
        log::warning("live.early_frame", "reason=\"frame before setupComplete ignored\"");
        continue;
      }
      feed(link_event::of(link_event_kind::setup_complete));
      continue;
    }
    // After setupComplete, also while the connection closes: the end of a turn may still come.
    if (!link_.reached_ready()) continue;
    if (msg.resumption && msg.resumption->resumable && !msg.resumption->new_handle.empty()) {
      store_handle(msg.resumption->new_handle);
    }
    events_.on_server_message(msg);
  }
  if (ec == websocket::error::closed) {
    const auto& cr = conn->ws().reason();
    conn->close_code = cr.code;
    conn->end_reason = "closed by the server: " + std::to_string(cr.code) +
                       (cr.reason.empty() ? std::string() : " " + std::string(cr.reason.c_str()));
  } else {
    conn->end_reason = ec.message();
  }
}

void session::open_connection() {
  ++attempt_;
  attempt_started_ = std::chrono::steady_clock::now();
  // Per attempt: a reload may have changed the URL or the CA file.
  const auto u = parse_url(cfg_.url);  // validated by the config loader
  state_text_ = "connecting";
  log::info("live.connecting", "url=" + log::quote(cfg_.url) + " model=" + cfg_.model);
  auto launch = [this, &u]<class Ws>(std::shared_ptr<connection<Ws>> conn) {
    current_ = conn;
    asio::co_spawn(io_, serve(conn, *u),
                   [this, conn](std::exception_ptr error) { on_attempt_end(conn, error); });
  };
  if (u->scheme == "wss") {
    auto tls_context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    tls_context->set_default_verify_paths();
    error_code ca_error;
    if (cfg_.ca_file) tls_context->load_verify_file(*cfg_.ca_file, ca_error);
    if (ca_error)
      log::error("live.ca_file",
                 "file=" + log::quote(*cfg_.ca_file) + " reason=" + log::quote(ca_error.message()));
    auto conn = std::make_shared<connection<tls_ws>>(io_, *tls_context);
    conn->keep_alive = tls_context;
    launch(std::move(conn));
  } else {
    launch(std::make_shared<connection<plain_ws>>(io_));
  }
}

void session::on_attempt_end(const std::shared_ptr<connection_base>& conn, std::exception_ptr error) {
  if (error) {
    // A bug, most likely in a callback: logged loudly, and handled like a lost connection so that
    // the bridge answers the running turn and the link comes back.
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    log::error("live.internal_error", "reason=" + log::quote(what) + " next=\"reconnect\"");
    conn->handshake_failed = false;
    conn->close_code = 0;
    conn->end_reason = "internal error: " + what;
  }
  conn->abort();
  if (current_ == conn) current_.reset();
  if (link_.reached_ready() && !handle_.empty()) handle_time_ = std::chrono::system_clock::now();
  feed(conn->handshake_failed ? link_event::handshake_failed(conn->end_reason, conn->config_error)
                              : link_event::connection_ended(conn->end_reason, conn->close_code));
}

}  // namespace lb::live
