// Follows the home's Home Assistant discovery messages and says when the set of entities has
// settled: after the broker's retained copies have arrived, and after each later change, once no
// change came for a short quiet period (a bridge announcing a newly paired device sends several
// messages in a row). The bridge then turns the catalog into tools. Runs on the io thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/message.hpp"
#include "config/config.hpp"
#include "discovery/catalog.hpp"
#include "discovery/device_tools.hpp"

namespace lb::app {

class discovery_watch {
 public:
  static constexpr std::chrono::milliseconds quiet_period{500};

  discovery_watch(boost::asio::io_context& io, config::discovery_config cfg,
                  std::function<void()> on_settled);
  ~discovery_watch();
  discovery_watch(const discovery_watch&) = delete;
  discovery_watch& operator=(const discovery_watch&) = delete;

  std::vector<std::string> subscription_filters() const { return catalog_.subscription_filters(); }
  // True when `msg` was a discovery message (it is then used up).
  bool offer(const incoming_message& msg);
  // The broker is (re)connected: its retained copies are on their way.
  void on_link_up();
  // Filters and risk settings of a reload; the prefix is the catalog's own and does not change.
  void set_config(config::discovery_config cfg) { cfg_ = std::move(cfg); }
  const config::discovery_config& config() const { return cfg_; }

  bool settled() const { return settled_; }
  std::uint64_t generation() const { return catalog_.generation(); }
  // The tools for what is known now; entities left out are logged once each, when first seen.
  discovery::built_tools build();

 private:
  void arm();

  config::discovery_config cfg_;
  discovery::catalog catalog_;
  boost::asio::steady_timer quiet_timer_;
  std::function<void()> on_settled_;
  bool settled_ = false;
  bool full_logged_ = false;
  std::set<std::string> logged_;  // left-out lines already in the log
};

}  // namespace lb::app
