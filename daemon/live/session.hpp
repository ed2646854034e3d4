// One Live API session over a WebSocket (wss:// with verified TLS, or ws:// for a loopback
// simulator): connect, send setup, wait for setupComplete, then exchange messages until the
// connection ends, and reconnect with backoff. Runs on the io thread; every callback too.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/backoff.hpp"
#include "config/config.hpp"
#include "live/protocol.hpp"

namespace lb::live {

class session_events {
 public:
  virtual ~session_events() = default;
  virtual void on_session_ready() = 0;                          // setupComplete arrived; sending is allowed
  virtual void on_server_message(server_message& msg) = 0;      // every later frame
  virtual void on_session_lost(const std::string& reason) = 0;  // the connection ended; a new one follows
};

class session {
 public:
  session(boost::asio::io_context& io, config::live_config cfg, std::string api_key, session_events& events);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // The setup frame sent on every (re)connection.
  void set_setup(std::string setup_frame) { setup_frame_ = std::move(setup_frame); }
  void start();
  // Queues a frame; false (and nothing sent) unless the session is ready.
  bool send(std::string frame);
  bool ready() const { return ready_; }
  // Closes the current connection (close frame 1000) and connects again at once with the new
  // settings and setup frame: the way new tools reach the model after a reload.
  void reconfigure(config::live_config cfg, std::string api_key, std::string setup_frame);
  // Moves to a new connection now, resuming the session when a handle is known (after goAway).
  void renew();
  bool has_resumption_handle() const { return !handle_.empty(); }
  // Sends a close frame (1000) and stops reconnecting; `done` runs when the connection is gone.
  void stop(std::function<void()> done);
  // "connecting", "connected (setup 42 ms)", "reconnecting in 4s after: …"
  const std::string& state_text() const { return state_text_; }

  class connection_base;

 private:
  template <class Ws>
  friend class connection;

  void run();

  boost::asio::io_context& io_;
  config::live_config cfg_;
  std::string api_key_;
  session_events& events_;
  std::string setup_frame_;
  backoff backoff_;
  boost::asio::steady_timer retry_timer_;
  std::shared_ptr<connection_base> current_;
  bool ready_ = false;
  bool stopping_ = false;
  bool reconnect_now_ = false;

  // Session resumption: the newest handle that came with resumable:true, when it was last good,
  // and the file it is kept in so that a restart resumes too.
  void load_handle();
  void store_handle(std::string handle);
  void drop_handle(const std::string& why);
  std::string usable_handle() const;
  std::string handle_;
  std::chrono::system_clock::time_point handle_time_;
  std::string state_file_;
  std::function<void()> on_stopped_;
  std::string state_text_ = "connecting";
};

}  // namespace lb::live
