#include "fake_live_server.hpp"

#include <deque>
#include <random>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace lb::test {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using boost::system::error_code;

struct fake_live_server::state {
  options opts;
  script play;
  fake_live_server::setup_hook on_setup;  // guarded by mutex
  asio::io_context io;
  std::unique_ptr<asio::ssl::context> tls;
  tcp::acceptor acceptor{io};
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::vector<json> received;
  std::vector<std::string> keys;
  std::atomic<int>* connections = nullptr;

  void record(json message) {
    {
      std::lock_guard lock(mutex);
      received.push_back(std::move(message));
    }
    changed.notify_all();
  }
};

namespace {

constexpr const char* method_path =
    "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent";

// The value of `name` in the target's query string, as sent; empty when absent.
std::string query_value(const std::string& target, const std::string& name) {
  const auto q = target.find('?');
  if (q == std::string::npos) return {};
  std::size_t at = q + 1;
  while (at <= target.size()) {
    const auto end = std::min(target.find('&', at), target.size());
    const std::string pair = target.substr(at, end - at);
    if (pair.rfind(name + "=", 0) == 0) return pair.substr(name.size() + 1);
    at = end + 1;
  }
  return {};
}

template <class Ws>
class server_connection final : public fake_live_server::connection,
                                public std::enable_shared_from_this<server_connection<Ws>> {
 public:
  template <class... Args>
  server_connection(fake_live_server::state& st, int index, Args&&... args)
      : st_(st), index_(index), ws_(std::forward<Args>(args)...), wake_(st.io) {}

  void send(const json& message) override { send_raw(message.dump(2), true); }
  void send_raw(std::string bytes, bool binary) override {
    if (closed_) return;
    queue_.push_back({std::move(bytes), binary, false, 0, {}});
    wake_.cancel();
  }
  void close(std::uint16_t code, std::string reason) override {
    if (closed_) return;
    queue_.push_back({{}, false, true, code, std::move(reason)});
    wake_.cancel();
  }
  void drop() override {
    closed_ = true;
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).socket().close(ignored);
    wake_.cancel();
  }
  void after(std::chrono::milliseconds delay, std::function<void()> fn) override {
    auto timer = std::make_shared<asio::steady_timer>(st_.io, delay);
    timer->async_wait([timer, self = this->shared_from_this(), fn = std::move(fn)](const error_code& ec) {
      if (!ec && !self->closed_) fn();
    });
  }
  void stall() override { stalled_ = true; }
  const json& setup() const override { return setup_; }
  int index() const override { return index_; }

  Ws& ws() { return ws_; }

  asio::awaitable<void> run(bool tls) {
    auto self = this->shared_from_this();
    error_code ec;
    if constexpr (std::is_same_v<Ws, websocket::stream<beast::ssl_stream<beast::tcp_stream>>>) {
      if (tls) {
        co_await ws_.next_layer().async_handshake(asio::ssl::stream_base::server,
                                                  asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
      }
    }
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    co_await http::async_read(ws_.next_layer(), buffer, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    std::string target(req.target());
    while (target.rfind("//", 0) == 0) target.erase(0, 1);  // the SDKs send "//ws/…"
    if (!websocket::is_upgrade(req) || target.substr(0, target.find('?')) != method_path) {
      http::response<http::string_body> res{http::status::not_found, req.version()};
      res.body() = "not a Live API endpoint";
      res.prepare_payload();
      co_await http::async_write(ws_.next_layer(), res, asio::redirect_error(asio::use_awaitable, ec));
      co_return;
    }
    // The key in x-goog-api-key (livebridge, the Python SDK) or as ?key= (the JS SDK).
    std::string key(req["x-goog-api-key"]);
    if (key.empty()) key = query_value(target, "key");
    {
      std::lock_guard lock(st_.mutex);
      st_.keys.push_back(key);
    }
    co_await ws_.async_accept(req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    ws_.binary(true);
    asio::co_spawn(st_.io, write_loop(), asio::detached);

    if (!st_.opts.api_key.empty() && key != st_.opts.api_key) {
      close(1007, "API key not valid. Please pass a valid API key.");
    }

    for (;;) {
      if (stalled_) {
        asio::steady_timer hold(st_.io, asio::steady_timer::time_point::max());
        co_await hold.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        co_return;
      }
      co_await ws_.async_read(buffer, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      const std::string text = beast::buffers_to_string(buffer.data());
      buffer.consume(buffer.size());
      json message = json::parse(text, nullptr, false);
      if (message.is_discarded() || !message.is_object()) {
        close(1007, "Invalid JSON payload received.");
        continue;
      }
      if (st_.opts.keep_messages || setup_.is_null()) st_.record(message);
      if (setup_.is_null()) {
        if (!message.contains("setup")) {
          close(1007, "Request contains an invalid argument.");
          continue;
        }
        setup_ = message["setup"];
        fake_live_server::setup_hook hook;
        {
          std::lock_guard lock(st_.mutex);
          hook = st_.on_setup;
        }
        if (hook) {
          hook(*this, setup_);
        } else if (st_.opts.answer_setup) {
          send(json{{"setupComplete", json::object()}});
        }
        continue;
      }
      if (message.contains("setup")) {
        close(1007, "Request contains an invalid argument.");
        continue;
      }
      if (st_.play) st_.play(*this, message);
    }
    closed_ = true;
    wake_.cancel();
  }

 private:
  struct outgoing {
    std::string bytes;
    bool binary;
    bool is_close;
    std::uint16_t code;
    std::string reason;
  };

  asio::awaitable<void> write_loop() {
    auto self = this->shared_from_this();
    error_code ec;
    for (;;) {
      while (queue_.empty() && !closed_) {
        wake_.expires_at(asio::steady_timer::time_point::max());
        co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      if (closed_ && queue_.empty()) co_return;
      outgoing out = std::move(queue_.front());
      queue_.pop_front();
      if (out.is_close) {
        closed_ = true;
        co_await ws_.async_close(
            websocket::close_reason(static_cast<websocket::close_code>(out.code), out.reason),
            asio::redirect_error(asio::use_awaitable, ec));
        co_return;
      }
      ws_.binary(out.binary);
      co_await ws_.async_write(asio::buffer(out.bytes), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
    }
  }

  fake_live_server::state& st_;
  int index_;
  Ws ws_;
  asio::steady_timer wake_;
  std::deque<outgoing> queue_;
  json setup_;
  bool closed_ = false;
  bool stalled_ = false;
};

using tls_ws = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;
using plain_ws = websocket::stream<beast::tcp_stream>;

asio::awaitable<void> accept_loop(fake_live_server::state& st) {
  int index = 0;
  for (;;) {
    error_code ec;
    tcp::socket socket = co_await st.acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    ++*st.connections;
    if (st.opts.tls) {
      auto conn = std::make_shared<server_connection<tls_ws>>(st, index++,
                                                              beast::tcp_stream(std::move(socket)), *st.tls);
      asio::co_spawn(st.io, conn->run(true), asio::detached);
    } else {
      auto conn =
          std::make_shared<server_connection<plain_ws>>(st, index++, beast::tcp_stream(std::move(socket)));
      asio::co_spawn(st.io, conn->run(false), asio::detached);
    }
  }
}

}  // namespace

fake_live_server::fake_live_server(options opts, script s) : state_(std::make_shared<state>()) {
  state_->opts = std::move(opts);
  state_->play = std::move(s);
  state_->connections = &connections_;
  if (state_->opts.tls) {
    state_->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    state_->tls->use_certificate_chain_file(state_->opts.cert_chain_file);
    state_->tls->use_private_key_file(state_->opts.private_key_file, asio::ssl::context::pem);
  }
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  state_->acceptor.open(endpoint.protocol());
  state_->acceptor.set_option(asio::socket_base::reuse_address(true));
  state_->acceptor.bind(endpoint);
  state_->acceptor.listen();
  port_ = state_->acceptor.local_endpoint().port();
  asio::co_spawn(state_->io, accept_loop(*state_), asio::detached);
  thread_ = std::thread([st = state_] { st->io.run(); });
}

fake_live_server::~fake_live_server() {
  state_->io.stop();
  if (thread_.joinable()) thread_.join();
}

void fake_live_server::post(std::function<void()> fn) {
  asio::post(state_->io, std::move(fn));
}

void fake_live_server::on_setup(setup_hook hook) {
  std::lock_guard lock(state_->mutex);
  state_->on_setup = std::move(hook);
}

std::string fake_live_server::url() const {
  return std::string(state_->opts.tls ? "wss" : "ws") + "://127.0.0.1:" + std::to_string(port_) + "/" +
         method_path;
}

std::vector<json> fake_live_server::received() const {
  std::lock_guard lock(state_->mutex);
  return state_->received;
}

std::vector<std::string> fake_live_server::api_keys_seen() const {
  std::lock_guard lock(state_->mutex);
  return state_->keys;
}

bool fake_live_server::wait_until(const std::function<bool(const std::vector<json>&)>& pred,
                                  std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mutex);
  return state_->changed.wait_for(lock, timeout, [&] { return pred(state_->received); });
}

std::string fake_live_server::new_call_id() {
  static std::mt19937_64 rng{std::random_device{}()};
  static std::mutex m;
  std::lock_guard lock(m);
  return "function-call-" +
         std::to_string(rng() % 9'000'000'000'000'000'000ULL + 1'000'000'000'000'000'000ULL);
}

std::vector<json> messages_of(const std::vector<json>& all, const std::string& key) {
  std::vector<json> out;
  for (const auto& m : all) {
    if (m.contains(key)) out.push_back(m[key]);
  }
  return out;
}

}  // namespace lb::test
