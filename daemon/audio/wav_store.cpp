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

std::variant<std::string, std::string> wav_store::save(std::string_view pcm, std::uint32_t sample_rate,
                                                       const std::string& name) {
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec)
    return std::variant<std::string, std::string>(std::in_place_index<1>,
                                                  "cannot create " + directory_ + ": " + ec.message());
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
    const std::string wav = make_wav(pcm, sample_rate);
    out.write(wav.data(), static_cast<std::streamsize>(wav.size()));
    if (!out) {
      fs::remove(temporary, ec);
      return std::variant<std::string, std::string>(std::in_place_index<1>, "cannot write " + temporary);
    }
  }
  fs::rename(temporary, path, ec);
  if (ec)
    return std::variant<std::string, std::string>(std::in_place_index<1>,
                                                  "cannot rename " + temporary + ": " + ec.message());
  prune();
  return std::variant<std::string, std::string>(std::in_place_index<0>, path);
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
