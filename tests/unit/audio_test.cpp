#include <gtest/gtest.h>

#include <filesystem>

#include "audio/wav.hpp"
#include "audio/wav_store.hpp"
#include "common/base64.hpp"
#include "process.hpp"

namespace lb {
namespace {

TEST(Base64, RoundTripsEveryLengthAndRejectsGarbage) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    std::string decoded;
    ASSERT_TRUE(base64_decode_append(base64_encode(bytes), decoded)) << i;
    EXPECT_EQ(decoded, bytes);
    bytes.push_back(static_cast<char>(i * 37));
  }
  EXPECT_EQ(base64_encode("Man"), "TWFu");
  EXPECT_EQ(base64_encode("Ma"), "TWE=");
  std::string out = "kept";
  for (const char* bad : {"TWF", "TW=u", "T===", "TWE=TWFu", "TW\xff\x75", "TWE*"}) {
    EXPECT_FALSE(base64_decode_append(bad, out)) << bad;
    EXPECT_EQ(out, "kept");
  }
}

TEST(Wav, HeaderDescribes24kHzMono16BitAndParsesBack) {
  const std::string pcm(48000, '\x01');  // one second at 24 kHz
  const std::string wav = audio::make_wav(pcm, 24000);
  ASSERT_EQ(wav.size(), 44u + pcm.size());
  EXPECT_EQ(wav.substr(0, 4), "RIFF");
  EXPECT_EQ(wav.substr(8, 8), "WAVEfmt ");
  std::string why;
  const auto parsed = audio::parse_wav(wav, why);
  ASSERT_TRUE(parsed) << why;
  EXPECT_EQ(parsed->sample_rate, 24000u);
  EXPECT_EQ(parsed->samples, pcm);
}

TEST(Wav, RefusesWhatIsNotMono16BitPcm) {
  std::string wav = audio::make_wav("abcd", 16000);
  wav[22] = 2;  // stereo
  std::string why;
  EXPECT_FALSE(audio::parse_wav(wav, why));
  EXPECT_EQ(why, "only 16-bit mono PCM WAV is supported");
  EXPECT_FALSE(audio::parse_wav("RIFF", why));
  std::string truncated = audio::make_wav("abcd", 16000);
  truncated.resize(46);
  EXPECT_FALSE(audio::parse_wav(truncated, why));
  EXPECT_EQ(why, "the WAV chunk 'data' runs past the end of the file");
}

TEST(Wav, RateFromMimeType) {
  EXPECT_EQ(audio::pcm_rate_of("audio/pcm;rate=16000", 24000), 16000u);
  EXPECT_EQ(audio::pcm_rate_of("audio/pcm", 24000), 24000u);
  EXPECT_EQ(audio::pcm_rate_of("audio/pcm;rate=banana", 24000), 24000u);
}

TEST(WavStore, WritesThePiecesInTheOrderTheyArrivedAndKeepsTheNewestFiles) {
  test::temp_dir dir;
  audio::wav_store store(dir.file("audio"), 2);
  audio::pcm_pieces pcm;
  std::string whole;
  for (int i = 0; i < 50; ++i) {
    std::string piece(960 + static_cast<std::size_t>(i), static_cast<char>(i));
    whole += piece;
    pcm.append(std::move(piece));
  }
  ASSERT_EQ(pcm.size(), whole.size());
  std::vector<std::string> paths;
  for (const char* name : {"first", "second", "third"}) {
    const auto saved = store.save(pcm, 24000, name);
    ASSERT_EQ(saved.error, "");
    paths.push_back(saved.path);
  }
  std::string why;
  const auto parsed = audio::parse_wav(test::read_file(paths.back()), why);
  ASSERT_TRUE(parsed) << why;
  EXPECT_EQ(parsed->sample_rate, 24000u);
  EXPECT_EQ(parsed->samples, whole);
  EXPECT_FALSE(std::filesystem::exists(paths[0]));  // beyond keep_files: 2
  EXPECT_TRUE(std::filesystem::exists(paths[1]));
}

TEST(WavStore, SaysWhyWhenItCannotWrite) {
  test::temp_dir dir;
  dir.write("audio", "a file where the directory should be");
  audio::wav_store store(dir.file("audio"), 2);
  audio::pcm_pieces pcm;
  pcm.append("abcd");
  const auto saved = store.save(pcm, 24000, "turn");
  EXPECT_EQ(saved.path, "");
  EXPECT_NE(saved.error.find("cannot create " + dir.file("audio")), std::string::npos) << saved.error;
}

}  // namespace
}  // namespace lb
