// What `livebridge ask --wav` accepts as a recorded prompt, and what it says about the rest.
#include <gtest/gtest.h>

#include "audio/wav.hpp"
#include "process.hpp"
#include "simulated_model.hpp"

namespace lb {
namespace {

TEST(VoiceRecording, A16kHzWavGivesItsSamples) {
  test::temp_dir dir;
  const std::string pcm = test::tone(0.2, 16000);
  dir.write("q.wav", audio::make_wav(pcm, 16000));
  std::string why;
  const auto samples = audio::read_voice_recording(dir.file("q.wav"), why);
  ASSERT_TRUE(samples) << why;
  EXPECT_EQ(*samples, pcm);
}

TEST(VoiceRecording, SaysWhyItRefusesAFile) {
  test::temp_dir dir;
  dir.write("cd.wav", audio::make_wav(test::tone(0.1, 44100), 44100));
  dir.write("empty.wav", audio::make_wav(std::string(), 16000));
  dir.write("notes.txt", "Turn on the lights");
  const std::pair<std::string, std::string> cases[] = {
      {dir.file("missing.wav"), "cannot read the file"},
      {dir.file("notes.txt"), "not a WAV file (no RIFF/WAVE header)"},
      {dir.file("cd.wav"), "the recording is 44100 Hz; voice input is 16 kHz"},
      {dir.file("empty.wav"), "the recording is empty"},
  };
  for (const auto& [path, expected] : cases) {
    std::string why;
    EXPECT_EQ(audio::read_voice_recording(path, why), std::nullopt) << path;
    EXPECT_EQ(why, expected) << path;
  }
}

}  // namespace
}  // namespace lb
