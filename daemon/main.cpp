// livebridge: flags, config, run, exit codes. Everything else lives in the library.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "app/ask.hpp"
#include "app/bridge.hpp"
#include "audio/wav.hpp"
#include "common/duration.hpp"
#include "common/log.hpp"
#include "common/probe.hpp"
#include "config/loader.hpp"
#include "config/secrets.hpp"
#include "systemd/notifier.hpp"

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 64;   // EX_USAGE
constexpr int exit_config = 78;  // EX_CONFIG: listed in RestartPreventExitStatus=

constexpr const char* default_config = "/etc/livebridge/livebridge.yaml";

void usage(std::FILE* to) {
  std::fprintf(
      to,
      "usage: livebridge [--config PATH] [--log-level LEVEL]         run the bridge\n"
      "       livebridge --check-config [--config PATH]               validate the config and exit\n"
      "       livebridge ask [--config PATH] [--timeout 60s] [--json] TEXT...\n"
      "                                                               send a prompt, print the reply\n"
      "       livebridge ask [--config PATH] [--timeout 60s] [--json] --wav FILE\n"
      "                                                               send a recorded prompt (16 kHz mono "
      "WAV)\n"
      "       livebridge --version\n"
      "LEVEL: error, warning, notice, info (default), debug. Default config: %s\n",
      default_config);
}

struct options {
  std::string config_path = default_config;
  bool check_config = false;
  bool ask = false;
  bool ask_json = false;
  lb::millis ask_timeout = std::chrono::seconds(60);
  std::vector<std::string> words;
  std::string wav_file;
  bool log_level_given = false;
};

// Returns an exit code when the process should end right away.
std::optional<int> parse_args(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* name) -> std::optional<std::string> {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "livebridge: %s needs a value\n", name);
        return std::nullopt;
      }
      return std::string(argv[++i]);
    };
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return exit_ok;
    } else if (arg == "--version") {
      std::printf("livebridge %s\n", LIVEBRIDGE_VERSION);
      return exit_ok;
    } else if (arg == "--config" || arg == "-c") {
      auto v = value("--config");
      if (!v) return exit_usage;
      o.config_path = *v;
    } else if (arg == "--check-config") {
      o.check_config = true;
    } else if (arg == "--log-level") {
      auto v = value("--log-level");
      lb::log::level level;
      if (!v || !lb::log::parse_level(*v, level)) {
        std::fprintf(stderr, "livebridge: --log-level takes error, warning, notice, info or debug\n");
        return exit_usage;
      }
      lb::log::set_level(level);
      o.log_level_given = true;
    } else if (arg == "--timeout" && o.ask) {
      auto v = value("--timeout");
      auto d = v ? lb::parse_duration(*v) : std::nullopt;
      if (!d || d->count() == 0) {
        std::fprintf(stderr, "livebridge: --timeout takes a duration such as 30s\n");
        return exit_usage;
      }
      o.ask_timeout = *d;
    } else if (arg == "--wav" && o.ask) {
      auto v = value("--wav");
      if (!v) return exit_usage;
      o.wav_file = *v;
    } else if (arg == "--json" && o.ask) {
      o.ask_json = true;
    } else if (arg == "ask" && !o.ask && o.words.empty()) {
      o.ask = true;
    } else if (o.ask && (arg.empty() || arg[0] != '-' || !o.words.empty())) {
      o.words.push_back(arg);
    } else {
      std::fprintf(stderr, "livebridge: unknown argument %s\n", arg.c_str());
      usage(stderr);
      return exit_usage;
    }
  }
  if (o.ask && o.words.empty() && o.wav_file.empty()) {
    std::fprintf(stderr, "livebridge ask: what should I ask? (livebridge ask \"Turn on the lights\")\n");
    return exit_usage;
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  options opts;
  if (auto code = parse_args(argc, argv, opts)) return *code;

  auto loaded = lb::config::load_file(opts.config_path);
  for (const auto& w : loaded.warnings) lb::log::warning("config.warning", lb::log::quote(w.to_string()));
  if (!loaded.cfg) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "<3>config error: %s\n", e.to_string().c_str());
    std::fprintf(stderr, "<3>%s: %zu error(s); nothing was started\n", opts.config_path.c_str(),
                 loaded.errors.size());
    return exit_config;
  }
  auto secrets = lb::config::load_secrets(*loaded.cfg);
  if (!secrets.errors.empty()) {
    for (const auto& e : secrets.errors) std::fprintf(stderr, "<3>config error: %s\n", e.c_str());
    return exit_config;
  }
  lb::log::add_secret(secrets.value.api_key);
  lb::log::add_secret(secrets.value.mqtt_password);

  if (opts.check_config) {
    std::printf("%s: ok (%zu tools)\n", opts.config_path.c_str(), loaded.cfg->tools.size());
    return exit_ok;
  }
  if (opts.ask) {
    lb::app::ask_request request;
    for (const auto& w : opts.words) request.text += (request.text.empty() ? "" : " ") + w;
    if (!opts.wav_file.empty()) {
      std::ifstream in(opts.wav_file, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::string why;
      std::optional<lb::audio::pcm_audio> wav;
      if (!in) {
        why = "cannot read the file";
      } else if (wav = lb::audio::parse_wav(bytes, why); !wav) {
        // parse_wav said why
      } else if (wav->sample_rate != 16000) {
        why = "the recording is " + std::to_string(wav->sample_rate) + " Hz; voice input is 16 kHz";
      } else if (wav->samples.empty()) {
        why = "the recording is empty";
      }
      if (!why.empty()) {
        std::fprintf(stderr, "livebridge ask: %s: %s\n", opts.wav_file.c_str(), why.c_str());
        return exit_usage;
      }
      request.voice_pcm = std::move(wav->samples);
    }
    if (!opts.log_level_given)
      lb::log::set_level(lb::log::level::warning);  // a CLI prints results, not progress
    return lb::app::run_ask(*loaded.cfg, secrets.value, request, opts.ask_timeout, opts.ask_json);
  }

  if (!secrets.value.api_key_source.empty()) {
    lb::log::info("config.api_key", "source=" + lb::log::quote(secrets.value.api_key_source));
  }
  try {
    boost::asio::io_context io(1);
    lb::systemd::notifier notifier(io);
    lb::app::bridge bridge(io, std::move(*loaded.cfg), std::move(secrets.value));
    bool stopping = false;
    bool reloading = false;
    bridge.set_status_listener([&](const std::string& status) {
      if (!stopping && !reloading) notifier.status(status);
    });

    boost::asio::signal_set stop_signals(io, SIGTERM, SIGINT);
    stop_signals.async_wait([&](const boost::system::error_code& ec, int signo) {
      if (ec || stopping) return;
      stopping = true;
      lb::log::notice("signal", std::string("name=") + (signo == SIGTERM ? "SIGTERM" : "SIGINT"));
      notifier.stopping();
      bridge.stop([&io] { io.stop(); });
    });

    // SIGHUP (systemctl reload): a broken file keeps the running config; a good one is applied
    // between turns, and READY=1 follows once it is in effect.
    boost::asio::signal_set reload_signal(io, SIGHUP);
    std::function<void()> wait_for_reload = [&] {
      reload_signal.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) return;
        wait_for_reload();
        if (stopping || reloading) return;
        notifier.reloading();
        lb::log::notice("config.reloading", "file=" + lb::log::quote(opts.config_path));
        auto next = lb::config::load_file(opts.config_path);
        for (const auto& w : next.warnings) lb::log::warning("config.warning", lb::log::quote(w.to_string()));
        std::vector<std::string> problems;
        for (const auto& e : next.errors) problems.push_back(e.to_string());
        std::optional<lb::config::secrets_result> next_secrets;
        if (next.cfg) {
          next_secrets = lb::config::load_secrets(*next.cfg);
          problems.insert(problems.end(), next_secrets->errors.begin(), next_secrets->errors.end());
        }
        if (!problems.empty()) {
          for (const auto& p : problems) lb::log::error("config.error", lb::log::quote(p));
          lb::log::error("config.reload_rejected", "errors=" + std::to_string(problems.size()) +
                                                       " reason=\"the running config stays in effect\"");
          notifier.ready(bridge.status_text() + " · reload rejected: " + std::to_string(problems.size()) +
                         " config error(s)");
          return;
        }
        lb::log::add_secret(next_secrets->value.api_key);
        lb::log::add_secret(next_secrets->value.mqtt_password);
        reloading = true;
        bridge.reload(std::move(*next.cfg), std::move(next_secrets->value), [&] {
          reloading = false;
          notifier.ready(bridge.status_text());
        });
      });
    };
    wait_for_reload();

    bridge.start();
    // Ready once the config is valid and the loop runs: an offline cloud or broker must not fail
    // the unit; the session reconnects and STATUS= says so.
    notifier.ready(bridge.status_text());
    notifier.start_watchdog();
    io.run();
    lb::probe::write_report();
    lb::log::notice("exit", "code=0");
    return exit_ok;
  } catch (const std::exception& e) {
    lb::log::error("fatal", "what=" + lb::log::quote(e.what()));
    return exit_failure;
  }
}
