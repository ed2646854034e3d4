// livebridge: flags, config, exit codes. Everything else lives in the library.
#include <cstdio>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/ask.hpp"
#include "app/audit_cli.hpp"
#include "app/confirm_cli.hpp"
#include "app/daemon.hpp"
#include "app/preflight.hpp"
#include "audio/wav.hpp"
#include "common/duration.hpp"
#include "common/log.hpp"
#include "config/json_schema.hpp"
#include "config/loader.hpp"
#include "config/secrets.hpp"

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 64;   // EX_USAGE
constexpr int exit_config = 78;  // EX_CONFIG: listed in RestartPreventExitStatus=

constexpr const char* default_config = "/etc/livebridge/livebridge.yaml";

void usage(std::FILE* to) {
  std::fprintf(
      to,
      "usage: livebridge [--config PATH] [--log-level LEVEL] [--dry-run]\n"
      "                                                               run the bridge; --dry-run publishes\n"
      "                                                               nothing to devices\n"
      "       livebridge --check-config [--config PATH]               validate the config and exit\n"
      "       livebridge ask [--config PATH] [--timeout 60s] [--json] TEXT...\n"
      "                                                               send a prompt, print the reply\n"
      "       livebridge ask [--config PATH] [--timeout 60s] [--json] --wav FILE\n"
      "                                                               send a recorded prompt (16 kHz mono "
      "WAV)\n"
      "       livebridge confirm [--config PATH]                      list the requests waiting for a yes\n"
      "       livebridge confirm [--config PATH] [--timeout 30s] ID yes|no\n"
      "                                                               answer one, print what was done\n"
      "       livebridge audit [--config PATH] [--since 1h] [--json]    print the audit trail\n"
      "       livebridge audit [--config PATH] --verify                check the audit trail's chain\n"
      "       livebridge hash-pin < PIN                               print a stored hash of the PIN (for\n"
      "                                                               /etc/livebridge/pin)\n"
      "       livebridge --print-config-schema                       print the config's JSON Schema (for\n"
      "                                                               editors; also in "
      "/usr/share/livebridge/)\n"
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
  bool dry_run = false;
  bool audit = false;
  lb::app::audit_cli_options audit_options;
  bool confirm = false;
  lb::app::confirm_request confirm_request;
  std::vector<std::string> confirm_words;
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
    } else if (arg == "--print-config-schema") {
      std::fputs(lb::config::json_schema_text().c_str(), stdout);
      return exit_ok;
    } else if (arg == "--config" || arg == "-c") {
      auto v = value("--config");
      if (!v) return exit_usage;
      o.config_path = *v;
    } else if (arg == "--check-config") {
      o.check_config = true;
    } else if (arg == "--dry-run" && !o.ask) {
      o.dry_run = true;
    } else if (arg == "--log-level") {
      auto v = value("--log-level");
      lb::log::level level;
      if (!v || !lb::log::parse_level(*v, level)) {
        std::fprintf(stderr, "livebridge: --log-level takes error, warning, notice, info or debug\n");
        return exit_usage;
      }
      lb::log::set_level(level);
      o.log_level_given = true;
    } else if (arg == "--timeout" && o.confirm) {
      auto v = value("--timeout");
      auto d = v ? lb::parse_duration(*v) : std::nullopt;
      if (!d || d->count() == 0) {
        std::fprintf(stderr, "livebridge: --timeout takes a duration such as 30s\n");
        return exit_usage;
      }
      o.confirm_request.timeout = *d;
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
    } else if (arg == "--since" && o.audit) {
      auto v = value("--since");
      auto d = v ? lb::app::parse_since(*v) : std::nullopt;
      if (!d) {
        std::fprintf(stderr, "livebridge audit: --since takes a duration such as 30m, 1h or 2d\n");
        return exit_usage;
      }
      o.audit_options.since = *d;
    } else if (arg == "--json" && o.audit) {
      o.audit_options.json = true;
    } else if (arg == "--verify" && o.audit) {
      o.audit_options.verify = true;
    } else if (arg == "ask" && !o.ask && !o.audit && !o.confirm && o.words.empty()) {
      o.ask = true;
    } else if (arg == "audit" && !o.ask && !o.audit && !o.confirm) {
      o.audit = true;
    } else if (arg == "confirm" && !o.ask && !o.audit && !o.confirm) {
      o.confirm = true;
    } else if (o.confirm && !arg.empty() && arg[0] != '-' && o.confirm_words.size() < 2) {
      o.confirm_words.push_back(arg);
    } else if (o.ask && (arg.empty() || arg[0] != '-' || !o.words.empty())) {
      o.words.push_back(arg);
    } else {
      std::fprintf(stderr, "livebridge: unknown argument %s\n", arg.c_str());
      usage(stderr);
      return exit_usage;
    }
  }
  if (o.confirm) {
    if (o.confirm_words.size() == 1) {
      std::fprintf(stderr, "livebridge confirm: answer %s with yes or no\n", o.confirm_words[0].c_str());
      return exit_usage;
    }
    if (o.confirm_words.size() == 2) {
      const std::string& answer = o.confirm_words[1];
      if (answer != "yes" && answer != "no") {
        std::fprintf(stderr, "livebridge confirm: the answer is yes or no, not %s\n", answer.c_str());
        return exit_usage;
      }
      o.confirm_request.id = o.confirm_words[0];
      o.confirm_request.yes = answer == "yes";
    }
  }
  if ((o.ask || o.confirm) && o.dry_run) {
    std::fprintf(stderr, "livebridge: --dry-run is for the bridge itself, not for ask or confirm\n");
    return exit_usage;
  }
  if (o.ask && o.words.empty() && o.wav_file.empty()) {
    std::fprintf(stderr, "livebridge ask: what should I ask? (livebridge ask \"Turn on the lights\")\n");
    return exit_usage;
  }
  if (o.audit_options.verify && (o.audit_options.since || o.audit_options.json)) {
    std::fprintf(stderr,
                 "livebridge audit: --verify checks the whole trail and takes no --since or --json\n");
    return exit_usage;
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string_view(argv[1]) == "hash-pin") return lb::app::run_hash_pin(std::cin);
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
  if (opts.audit) {
    // Reading the trail needs no secrets: root reads it from a shell without the API key.
    if (!opts.log_level_given) lb::log::set_level(lb::log::level::warning);
    return lb::app::run_audit(*loaded.cfg, opts.audit_options);
  }
  // The CLI's MQTT clients need only the MQTT password; the daemon needs every secret.
  const bool client = opts.ask || opts.confirm;
  auto secrets =
      client ? lb::config::load_client_secrets(*loaded.cfg) : lb::config::load_secrets(*loaded.cfg);
  if (!secrets.errors.empty()) {
    for (const auto& e : secrets.errors) std::fprintf(stderr, "<3>config error: %s\n", e.c_str());
    return exit_config;
  }
  lb::log::add_secret(secrets.value.api_key);
  lb::log::add_secret(secrets.value.mqtt_password);

  if (!client) {
    // Under ProtectSystem=strict a directory outside the state directory reads fine but cannot be
    // written: refuse it here, in --check-config and at the start, instead of at every answer.
    const auto unwritable = lb::app::check_writable_directories(*loaded.cfg);
    for (const auto& e : unwritable) std::fprintf(stderr, "<3>config error: %s\n", e.c_str());
    if (!unwritable.empty()) return exit_config;
  }
  if (opts.check_config) {
    if (loaded.cfg->discovery.enabled)
      std::printf("%s: ok (%zu tools, and those discovery finds under %s/)\n", opts.config_path.c_str(),
                  loaded.cfg->tools.size(), loaded.cfg->discovery.prefix.c_str());
    else
      std::printf("%s: ok (%zu tools)\n", opts.config_path.c_str(), loaded.cfg->tools.size());
    return exit_ok;
  }
  // Exceptions mean a broken environment (a PEM file that cannot be loaded): reported, never a
  // crash, whichever way livebridge runs.
  try {
    if (opts.confirm) {
      if (!opts.log_level_given) lb::log::set_level(lb::log::level::warning);
      return lb::app::run_confirm(*loaded.cfg, secrets.value, opts.confirm_request);
    }
    if (opts.ask) {
      lb::app::ask_request request;
      for (const auto& w : opts.words) request.text += (request.text.empty() ? "" : " ") + w;
      if (!opts.wav_file.empty()) {
        std::string why;
        auto samples = lb::audio::read_voice_recording(opts.wav_file, why);
        if (!samples) {
          std::fprintf(stderr, "livebridge ask: %s: %s\n", opts.wav_file.c_str(), why.c_str());
          return exit_usage;
        }
        request.voice_pcm = std::move(*samples);
      }
      if (!opts.log_level_given)
        lb::log::set_level(lb::log::level::warning);  // a CLI prints results, not progress
      return lb::app::run_ask(*loaded.cfg, secrets.value, request, opts.ask_timeout, opts.ask_json);
    }
    if (opts.dry_run) loaded.cfg->trust.dry_run = true;
    if (loaded.cfg->trust.dry_run)
      lb::log::warning("bridge.dry_run",
                       "detail=" + lb::log::quote("dry run: nothing is published to devices"));
    return lb::app::run_daemon(opts.config_path, std::move(*loaded.cfg), std::move(secrets.value),
                               opts.dry_run);
  } catch (const std::exception& e) {
    lb::log::error("fatal", "what=" + lb::log::quote(e.what()));
    return exit_failure;
  }
}
