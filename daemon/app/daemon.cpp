#include "app/daemon.hpp"
#include "app/preflight.hpp"

#include <csignal>
#include <functional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "app/bridge.hpp"
#include "common/log.hpp"
#include "common/probe.hpp"
#include "config/loader.hpp"
#include "systemd/notifier.hpp"

namespace lb::app {
namespace asio = boost::asio;

reload_candidate load_for_reload(const std::string& config_path) {
  reload_candidate out;
  auto next = config::load_file(config_path);
  for (const auto& w : next.warnings) log::warning("config.warning", log::quote(w.to_string()));
  for (const auto& e : next.errors) out.problems.push_back(e.to_string());
  if (!next.cfg) return out;
  auto next_secrets = config::load_secrets(*next.cfg);
  out.problems.insert(out.problems.end(), next_secrets.errors.begin(), next_secrets.errors.end());
  const auto unwritable = check_writable_directories(*next.cfg);
  out.problems.insert(out.problems.end(), unwritable.begin(), unwritable.end());
  if (!out.problems.empty()) return out;
  out.cfg = std::move(next.cfg);
  out.secrets = std::move(next_secrets.value);
  return out;
}

namespace {

// Owns the signals and the notifier's view of the bridge; everything runs on the io thread.
class service {
 public:
  service(asio::io_context& io, std::string config_path, config::config cfg, config::secrets secrets,
          bool dry_run_flag)
      : io_(io),
        config_path_(std::move(config_path)),
        dry_run_flag_(dry_run_flag),
        notifier_(io),
        bridge_(io, std::move(cfg), std::move(secrets)),
        stop_signals_(io, SIGTERM, SIGINT),
        reload_signal_(io, SIGHUP) {
    // While stopping or reloading, the notifier says so; the bridge's interim states would
    // contradict it.
    bridge_.set_status_listener([this](const std::string& status) {
      if (!stopping_ && !reloading_) notifier_.status(status);
    });
  }

  void run() {
    wait_for_stop();
    wait_for_reload();
    bridge_.start();
    // Ready once the config is valid and the loop runs: an offline cloud or broker must not fail
    // the unit; the session reconnects and STATUS= says so.
    notifier_.ready(bridge_.status_text());
    notifier_.start_watchdog();
    io_.run();
  }

 private:
  void wait_for_stop() {
    stop_signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
      if (ec || stopping_) return;
      stopping_ = true;
      log::notice("signal", std::string("name=") + (signo == SIGTERM ? "SIGTERM" : "SIGINT"));
      notifier_.stopping();
      bridge_.stop([this] { io_.stop(); });
    });
  }

  // SIGHUP (systemctl reload): a broken file keeps the running config; a good one is applied
  // between turns, and READY=1 follows once it is in effect.
  void wait_for_reload() {
    reload_signal_.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      wait_for_reload();
      if (stopping_ || reloading_) return;
      reload();
    });
  }

  void reload() {
    notifier_.reloading();
    log::notice("config.reloading", "file=" + log::quote(config_path_));
    auto next = load_for_reload(config_path_);
    if (!next.problems.empty()) {
      for (const auto& p : next.problems) log::error("config.error", log::quote(p));
      log::error("config.reload_rejected", "errors=" + std::to_string(next.problems.size()) +
                                               " reason=\"the running config stays in effect\"");
      notifier_.ready(bridge_.status_text() + " · reload rejected: " + std::to_string(next.problems.size()) +
                      " config error(s)");
      return;
    }
    log::add_secret(next.secrets.api_key);
    log::add_secret(next.secrets.mqtt_password);
    // Started with --dry-run: a reload must not start publishing to devices.
    if (dry_run_flag_) next.cfg->trust.dry_run = true;
    reloading_ = true;
    bridge_.reload(std::move(*next.cfg), std::move(next.secrets), [this] {
      reloading_ = false;
      notifier_.ready(bridge_.status_text());
    });
  }

  asio::io_context& io_;
  std::string config_path_;
  bool dry_run_flag_;
  systemd::notifier notifier_;
  bridge bridge_;
  asio::signal_set stop_signals_;
  asio::signal_set reload_signal_;
  bool stopping_ = false;
  bool reloading_ = false;
};

}  // namespace

int run_daemon(const std::string& config_path, config::config cfg, config::secrets secrets,
               bool dry_run_flag) {
  if (!secrets.api_key_source.empty()) {
    log::info("config.api_key", "source=" + log::quote(secrets.api_key_source));
  }
  asio::io_context io(1);
  service s(io, config_path, std::move(cfg), std::move(secrets), dry_run_flag);
  s.run();
  probe::write_report();
  log::notice("exit", "code=0");
  return 0;
}

}  // namespace lb::app
