#include "app/discovery_watch.hpp"

#include "common/log.hpp"

namespace lb::app {

discovery_watch::discovery_watch(boost::asio::io_context& io, config::discovery_config cfg,
                                 std::function<void()> on_settled)
    : cfg_(std::move(cfg)), catalog_(cfg_.prefix), quiet_timer_(io), on_settled_(std::move(on_settled)) {}

discovery_watch::~discovery_watch() = default;

bool discovery_watch::offer(const incoming_message& msg) {
  if (!catalog_.is_config_topic(msg.topic)) return false;
  switch (catalog_.on_config(msg.topic, msg.payload)) {
    case discovery::catalog::change::updated:
      arm();
      break;
    case discovery::catalog::change::refused_full:
      if (!full_logged_)
        log::warning("discovery.full",
                     "configs=" + std::to_string(catalog_.configs()) +
                         " reason=\"more discovery messages than livebridge keeps; new ones are "
                         "ignored\"");
      full_logged_ = true;
      break;
    case discovery::catalog::change::none:
      break;
  }
  return true;
}

void discovery_watch::on_link_up() {
  arm();
}

void discovery_watch::arm() {
  quiet_timer_.expires_after(quiet_period);
  quiet_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    settled_ = true;
    // A copy: what it sets off (a reload that changes the prefix) may destroy this watch.
    if (auto settled = on_settled_) settled();
  });
}

discovery::built_tools discovery_watch::build() {
  discovery::built_tools built = discovery::build_tools(catalog_, cfg_);
  std::set<std::string> now;
  for (const auto& line : catalog_.problems()) now.insert(line);
  for (const auto& line : built.left_out) now.insert(line);
  for (const auto& line : now)
    if (!logged_.contains(line)) log::warning("discovery.left_out", log::quote(line));
  logged_ = std::move(now);
  for (const auto& name : built.unverified)
    log::info("discovery.unverified",
              "entity=" + log::quote(name) + " reason=\"acknowledged by the broker only\"");
  log::notice("discovery.tools", "tools=" + std::to_string(built.tools.size()) +
                                     " entities=" + std::to_string(built.entities) +
                                     " left_out=" + std::to_string(built.left_out.size()) +
                                     " configs=" + std::to_string(catalog_.configs()));
  return built;
}

}  // namespace lb::app
