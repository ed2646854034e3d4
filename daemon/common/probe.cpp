#include "common/probe.hpp"

#ifdef LIVEBRIDGE_PROBES

#include <array>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <vector>

namespace lb::probe {
namespace {

struct recorder {
  std::optional<clock::time_point> open;
  std::vector<long long> samples_ns;
};

// Only the io thread calls in; no locking.
std::array<recorder, 2>& recorders() {
  static std::array<recorder, 2> all;
  return all;
}

}  // namespace

void begin_at(stage s, clock::time_point started) {
  recorders()[static_cast<std::size_t>(s)].open = started;
}

// Enough for the benchmark's percentiles; reserved at once so the probes never grow the RSS the
// benchmark measures.
constexpr std::size_t max_samples = 20000;

void end(stage s) {
  auto& r = recorders()[static_cast<std::size_t>(s)];
  if (!r.open) return;
  if (r.samples_ns.capacity() == 0) r.samples_ns.reserve(max_samples);
  if (r.samples_ns.size() == max_samples) {
    r.open.reset();
    return;
  }
  r.samples_ns.push_back(
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - *r.open).count());
  r.open.reset();
}

void write_report() {
  const char* path = std::getenv("LIVEBRIDGE_PROBE_FILE");
  if (path == nullptr || *path == '\0') return;
  std::ofstream out(path);
  const char* names[] = {"frame_to_publish_ns", "ack_to_response_ns"};
  out << "{";
  for (std::size_t i = 0; i < recorders().size(); ++i) {
    out << (i ? ",\"" : "\"") << names[i] << "\":[";
    const auto& samples = recorders()[i].samples_ns;
    for (std::size_t j = 0; j < samples.size(); ++j) out << (j ? "," : "") << samples[j];
    out << "]";
  }
  out << "}\n";
}

}  // namespace lb::probe

#endif
