#include "app/audit_cli.hpp"

#include <ctime>
#include <string>

#include "common/duration.hpp"
#include "common/json_text.hpp"
#include "trust/audit_trail.hpp"

namespace lb::app {

namespace {

constexpr int exit_ok = 0;
constexpr int exit_broken = 1;
constexpr int exit_no_trail = 66;  // EX_NOINPUT

// The packaged unit's StateDirectory=: where the service keeps the trail unless told otherwise.
constexpr const char* service_state_directory = "/var/lib/livebridge";

std::string local_time(const nlohmann::json& record) {
  const auto t = trust::audit_time(record);
  if (!t) return "(no time)          ";  // as wide as a time, so the columns stay
  const std::time_t secs = std::chrono::system_clock::to_time_t(*t);
  std::tm local{};
  ::localtime_r(&secs, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &local);
  return buf;
}

std::string plural(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_since(std::string_view text) {
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  // Days are not a config duration, but "what happened this week" is a question people ask.
  if (text.size() > 1 && text.back() == 'd') {
    const auto hours = parse_duration(std::string(text.substr(0, text.size() - 1)) + "h");
    if (!hours) return std::nullopt;
    return *hours * 24;
  }
  return parse_duration(text);
}

int run_audit(const config::config& cfg, const audit_cli_options& o, std::FILE* out, std::FILE* err) {
  std::string directory = trust::audit_directory(cfg);
  if (directory.empty()) directory = service_state_directory;
  if (trust::audit_files(directory).empty()) {
    std::fprintf(err, "livebridge audit: no audit trail in %s\n", directory.c_str());
    return exit_no_trail;
  }

  if (o.verify) {
    const auto check = trust::verify_audit(directory);
    const std::string counts =
        plural(check.records, "record", "records") + " in " + plural(check.files, "file", "files");
    if (check.intact) {
      std::fprintf(out, "audit trail intact: %s\n", counts.c_str());
      return exit_ok;
    }
    for (const auto& problem : check.problems) std::fprintf(out, "%s\n", problem.c_str());
    std::fprintf(out, "audit trail broken: %s, %s\n",
                 plural(check.problems.size(), "problem", "problems").c_str(), counts.c_str());
    return exit_broken;
  }

  std::optional<std::chrono::system_clock::time_point> since;
  if (o.since) since = std::chrono::system_clock::now() - *o.since;
  const auto records = trust::read_audit(directory, since);
  for (const auto& record : records) {
    if (o.json) {
      std::fprintf(out, "%s\n", json_text(record).c_str());
    } else {
      std::fprintf(out, "%s  %s\n", local_time(record).c_str(), trust::audit_summary(record).c_str());
    }
  }
  if (records.empty() && !o.json) {
    std::fprintf(err, "livebridge audit: no records%s\n",
                 o.since ? (" in the last " + format_duration(*o.since)).c_str() : "");
  }
  std::fflush(out);
  return exit_ok;
}

}  // namespace lb::app
