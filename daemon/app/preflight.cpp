#include "app/preflight.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "app/audio_sink.hpp"

namespace lb::app {
namespace fs = std::filesystem;

namespace {

// Why a file cannot be created in `dir`, or empty when it can. access(W_OK) alone is not enough:
// it says yes to root for directories nobody can create files in (/proc).
std::string write_problem(const std::string& dir, int& error_number) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    error_number = ec.value();
    return "cannot be created (" + ec.message() + ")";
  }
  std::string probe = dir + "/.livebridge-write-check-XXXXXX";
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) {
    error_number = errno;
    return std::string("is not writable (") + std::strerror(errno) + ")";
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return {};
}

std::string how_to_fix(const written_directory& d, int error_number) {
  if (error_number == EROFS) {
    return "the service sees it read-only (ProtectSystem=strict lets it write only below its state "
           "directory): "
           "choose a directory below it, or allow this one in a drop-in (systemctl edit livebridge: "
           "[Service] ReadWritePaths=" +
           d.path + ")";
  }
  return "make it writable for the user livebridge runs as, or choose another directory";
}

}  // namespace

std::vector<written_directory> written_directories(const config::config& cfg) {
  std::vector<written_directory> out;
  const std::string state = config::resolved_state_directory(cfg.live);
  const bool state_is_default = !cfg.live.state_directory || cfg.live.state_directory->empty();
  if (cfg.live.session_resumption && !state.empty()) {
    out.push_back({"live.state_directory", state, state_is_default});
  }
  if (cfg.live.response_modality == config::modality::audio) {
    const bool chosen = cfg.live.audio.directory && !cfg.live.audio.directory->empty();
    if (const std::string dir = spoken_answer_directory(cfg.live); !dir.empty())
      out.push_back({"live.audio.directory", dir, !chosen});
  }
  // The audit trail: an owner who named its directory wants it written, or told why not.
  if (cfg.trust.audit.directory && !cfg.trust.audit.directory->empty()) {
    const std::string audit = *cfg.trust.audit.directory;
    if (std::none_of(out.begin(), out.end(), [&](const auto& d) { return d.path == audit; }))
      out.push_back({"trust.audit.directory", audit, false});
  }
  return out;
}

std::vector<std::string> check_writable_directories(const config::config& cfg) {
  std::vector<std::string> problems;
  for (const auto& d : written_directories(cfg)) {
    int error_number = 0;
    const std::string problem = write_problem(d.path, error_number);
    if (problem.empty()) continue;
    problems.push_back(d.field + (d.is_default ? " (not set, so the default)" : "") + ": " + d.path + " " +
                       problem + "; " + how_to_fix(d, error_number));
  }
  return problems;
}

}  // namespace lb::app
