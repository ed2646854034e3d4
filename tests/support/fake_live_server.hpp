// A stand-in for Google's Live API endpoint that speaks its documented wire protocol: the
// WebSocket path .../GenerativeService.BidiGenerateContent (a doubled leading slash tolerated),
// the key in x-goog-api-key or as ?key=, `setup` first and `setupComplete` back, server JSON pretty-printed
// in binary frames, camelCase fields, ids like "function-call-<digits>", close 1007 for a bad key. It runs on
// its own thread; the script that plays the model is called there.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

namespace lb::test {

using json = nlohmann::json;

class fake_live_server {
 public:
  struct options {
    bool tls = true;
    std::string cert_chain_file;  // PEM, for tls
    std::string private_key_file;
    std::string api_key = "test-key";  // expected x-goog-api-key; empty = accept anything
    bool answer_setup = true;          // false: never send setupComplete (a silent bad setup)
    bool keep_messages = true;         // false: received() stays empty (the benchmark's millions)
  };
  class connection;
  // Decides what a setup gets (send setupComplete, close with 1007, stay silent); when set, it
  // replaces the automatic setupComplete.
  using setup_hook = std::function<void(connection&, const json& setup)>;
  void on_setup(setup_hook hook);

  // One client connection, handed to the script. Use it only on the server thread (inside the
  // script or a callback it scheduled with after()).
  class connection {
   public:
    virtual ~connection() = default;
    virtual void send(const json& message) = 0;  // pretty-printed, binary frame
    virtual void send_raw(std::string bytes, bool binary) = 0;
    virtual void close(std::uint16_t code, std::string reason) = 0;
    virtual void drop() = 0;  // TCP close without a close frame
    // Reads nothing more, so the client's close frame is never answered: a server that hangs
    // with the connection open. The socket stays open until the server is destroyed.
    virtual void stall() = 0;
    virtual void after(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
    virtual const json& setup() const = 0;
    virtual int index() const = 0;  // 0 for the first connection, then 1, 2, …
  };

  // Called for every client message after setup (clientContent, toolResponse, realtimeInput).
  using script = std::function<void(connection&, const json& message)>;

  fake_live_server(options opts, script s);
  ~fake_live_server();
  fake_live_server(const fake_live_server&) = delete;
  fake_live_server& operator=(const fake_live_server&) = delete;

  // Runs `fn` on the server thread, e.g. to start a script's next step from another thread.
  void post(std::function<void()> fn);

  std::uint16_t port() const { return port_; }
  // The URL as the official SDKs build it against a custom base URL (note the "//ws/").
  std::string url() const;

  // Every client message in arrival order, setup included. Thread-safe copies.
  std::vector<json> received() const;
  std::vector<std::string> api_keys_seen() const;
  int connections() const { return connections_.load(); }

  // Waits until `pred(received())` holds; false on timeout.
  bool wait_until(const std::function<bool(const std::vector<json>&)>& pred,
                  std::chrono::milliseconds timeout) const;

  // A new call id in Google's format.
  static std::string new_call_id();

  // internals shared with the connection implementation
  struct state;

 private:
  std::shared_ptr<state> state_;
  std::uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

// The messages of one kind ("clientContent", "toolResponse", …) among `all`.
std::vector<json> messages_of(const std::vector<json>& all, const std::string& key);

}  // namespace lb::test
