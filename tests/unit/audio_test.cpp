#include <gtest/gtest.h>

#include "audio/wav.hpp"
#include "common/base64.hpp"

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

}  // namespace
}  // namespace lb
