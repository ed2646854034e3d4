#include "audio/wav_store.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <vector>

#include "audio/wav.hpp"

namespace lb::audio {
namespace fs = std::filesystem;

wav_store::wav_store(std::string directory, std::size_t keep_files)
    : directory_(std::move(directory)), keep_files_(keep_files) {}

wav_store::saved wav_store::save(const pcm_pieces& pcm, std::uint32_t sample_rate, const std::string& name) {
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec) return saved{{}, "cannot create " + directory_ + ": " + ec.message()};
  // A sortable UTC time with milliseconds; names sort in the order the answers were given.
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &utc);
  std::string safe_name;
  for (char c : name.substr(0, 64))
    safe_name += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  char ms[8];
  std::snprintf(ms, sizeof ms, "%03lld", static_cast<long long>(millis));
  const std::string path =
      directory_ + "/" + stamp + ms + "Z-" + (safe_name.empty() ? "turn" : safe_name) + ".wav";
  const std::string temporary = path + ".part";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    // Header and samples written apart: a copy of a long answer would double its memory.
    const std::string header = wav_header(pcm.size(), sample_rate);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const auto& piece : pcm.pieces())
      out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
    if (!out) {
      fs::remove(temporary, ec);
      return saved{{}, "cannot write " + temporary};
    }
  }
  fs::rename(temporary, path, ec);
  if (ec) return saved{{}, "cannot rename " + temporary + ": " + ec.message()};
  prune();
  return saved{path, {}};
}

void wav_store::prune() {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {
    if (entry.path().extension() == ".wav") files.push_back(entry.path());
  }
  if (files.size() <= keep_files_) return;
  std::sort(files.begin(), files.end());  // names begin with the time
  for (std::size_t i = 0; i + keep_files_ < files.size(); ++i) fs::remove(files[i], ec);
}

}  // namespace lb::audio
