// The directory of spoken answers: one WAV file per turn, the oldest deleted beyond a count, so a
// talkative home never fills the disk.
#pragma once

#include <cstdint>
#include <string>

#include "audio/pcm_pieces.hpp"

namespace lb::audio {

class wav_store {
 public:
  wav_store(std::string directory, std::size_t keep_files);
  const std::string& directory() const { return directory_; }

  struct saved {
    std::string path;   // the file written, or empty
    std::string error;  // why nothing was written, or empty
  };
  // Writes `pcm` as <directory>/<UTC time>-<name>.wav (complete or not at all: written to a
  // temporary name, then renamed) and prunes.
  saved save(const pcm_pieces& pcm, std::uint32_t sample_rate, const std::string& name);

 private:
  void prune();
  std::string directory_;
  std::size_t keep_files_;
};

}  // namespace lb::audio
