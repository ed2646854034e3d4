// One Live API session over a WebSocket (wss:// with verified TLS, or ws:// for a loopback
// simulator): connect, send setup, wait for setupComplete, then exchange messages until the
// connection ends, and reconnect with backoff. Runs on the io thread; every callback too.
// What follows what is decided by `link_fsm`; this class carries out its actions.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/url.hpp"
#include "config/config.hpp"
#include "live/link_fsm.hpp"
#include "live/protocol.hpp"

namespace lb::live {

class session_events {
 public:
  virtual ~session_events() = default;
  virtual void on_session_ready() = 0;                          // setupComplete arrived; sending is allowed
  virtual void on_server_message(server_message& msg) = 0;      // every later frame
  virtual void on_session_lost(const std::string& reason) = 0;  // the connection ended; a new one follows
};

template <class Ws>
class connection;

class session {
 public:
  session(boost::asio::io_context& io, config::live_config cfg, std::string api_key, session_events& events);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // The setup frame sent on every (re)connection.
  void set_setup(std::string setup_frame) { setup_frame_ = std::move(setup_frame); }
  void start();
  // Queues a frame; false (and nothing queued) unless the session is ready. A frame accepted here
  // is either written to the connection or, when that connection ends first, on_session_lost is
  // reported for it (or, at stop, `done` runs): it never vanishes in silence.
  bool send(std::string frame);
  // True only between setupComplete and the start of a close: false from the moment a renew,
  // reconfigure or stop begins, and while the connection it was ready on is closing.
  bool ready() const { return link_.can_send(); }
  // Closes the current connection (close frame 1000) and connects again at once with the new
  // settings and setup frame: the way new tools reach the model after a reload.
  void reconfigure(config::live_config cfg, std::string api_key, std::string setup_frame);
  // Moves to a new connection now, resuming the session when a handle is known (after goAway);
  // while waiting to retry, retries now.
  void renew();
  bool has_resumption_handle() const { return !handle_.empty(); }
  // Sends a close frame (1000) and stops reconnecting; `done` runs when the connection is gone,
  // at the latest link_fsm::close_timeout after the call (then the socket is aborted). Every
  // call's `done` runs, a second stop's and one after the end too.
  void stop(std::function<void()> done);
  // "connecting", "connected", "connected (resumed)", "reconnecting in 4s after: …",
  // "moving to a new connection", "stopping", "stopped"
  const std::string& state_text() const { return state_text_; }

  class connection_base;

 private:
  template <class Ws>
  friend class connection;

  // Feeds the link an event and carries out what it returns.
  void feed(const link_event& ev);
  void carry_out(const link_action& action);
  void open_connection();
  template <class Ws>
  boost::asio::awaitable<void> serve(std::shared_ptr<connection<Ws>> conn, url u);
  // The attempt's coroutine finished, normally or with an exception.
  void on_attempt_end(const std::shared_ptr<connection_base>& conn, std::exception_ptr error);
  void report_lost(const std::string& reason);

  boost::asio::io_context& io_;
  config::live_config cfg_;
  std::string api_key_;
  session_events& events_;
  std::string setup_frame_;
  link_fsm link_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer setup_timer_;
  boost::asio::steady_timer close_timer_;
  std::shared_ptr<connection_base> current_;  // the one connection in flight, if any
  std::uint64_t attempt_ = 0;                 // timers of an older attempt are ignored
  std::chrono::steady_clock::time_point attempt_started_;

  // Session resumption: the newest handle that came with resumable:true, when it was last good,
  // and the file it is kept in so that a restart resumes too.
  void load_handle();
  void store_handle(std::string handle);
  void drop_handle(const std::string& why);
  std::string usable_handle() const;
  std::string handle_;
  std::chrono::system_clock::time_point handle_time_;
  std::string state_file_;
  std::vector<std::function<void()>> on_stopped_;
  std::string state_text_ = "connecting";
};

}  // namespace lb::live
