// The directory of spoken answers: one WAV file per turn, the oldest deleted beyond a count, so a
// talkative home never fills the disk.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace lb::audio {

class wav_store {
 public:
  wav_store(std::string directory, std::size_t keep_files);
  const std::string& directory() const { return directory_; }

  // Writes `pcm` as <directory>/<UTC time>-<name>.wav (complete or not at all: written to a
  // temporary name, then renamed) and prunes. The path, or why it failed.
  std::variant<std::string, std::string> save(std::string_view pcm, std::uint32_t sample_rate,
                                              const std::string& name);

 private:
  void prune();
  std::string directory_;
  std::size_t keep_files_;
};

}  // namespace lb::audio
