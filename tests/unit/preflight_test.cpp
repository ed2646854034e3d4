#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include <filesystem>

#include "app/preflight.hpp"
#include "process.hpp"

namespace lb {
namespace {

config::config audio_config(const std::string& state_dir, std::optional<std::string> audio_dir) {
  config::config cfg;
  cfg.live.model = "models/m";
  cfg.live.response_modality = config::modality::audio;
  cfg.live.state_directory = state_dir;
  cfg.live.audio.directory = std::move(audio_dir);
  return cfg;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Preflight, CreatesMissingDirectoriesAndLeavesNoProbeFileBehind) {
  test::temp_dir dir;
  const auto cfg = audio_config(dir.file("state"), dir.file("spoken/answers"));
  EXPECT_EQ(app::check_writable_directories(cfg), std::vector<std::string>{});
  EXPECT_TRUE(std::filesystem::is_directory(dir.file("state")));
  EXPECT_TRUE(std::filesystem::is_directory(dir.file("spoken/answers")));
  EXPECT_TRUE(std::filesystem::is_empty(dir.file("state")));
  EXPECT_TRUE(std::filesystem::is_empty(dir.file("spoken/answers")));
}

TEST(Preflight, TheDefaultAudioDirectoryIsBelowTheStateDirectory) {
  test::temp_dir dir;
  const auto dirs = app::written_directories(audio_config(dir.file("state"), std::nullopt));
  ASSERT_EQ(dirs.size(), 2u);
  EXPECT_EQ(dirs[1].field, "live.audio.directory");
  EXPECT_EQ(dirs[1].path, dir.file("state") + "/audio");
  EXPECT_TRUE(dirs[1].is_default);
}

TEST(Preflight, OnlyDirectoriesTheDaemonWillWriteAreChecked) {
  auto cfg = audio_config("/proc/no-state-here", "/proc/no-audio-here");
  cfg.live.session_resumption = false;
  cfg.live.response_modality = config::modality::text;
  EXPECT_TRUE(app::written_directories(cfg).empty());
  EXPECT_EQ(app::check_writable_directories(cfg), std::vector<std::string>{});
}

TEST(Preflight, AFileWhereTheDirectoryShouldBeNamesTheFieldAndThePath) {
  test::temp_dir dir;
  dir.write("in-the-way", "a file, not a directory");
  const auto problems =
      app::check_writable_directories(audio_config(dir.file("state"), dir.file("in-the-way/audio")));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_TRUE(
      contains(problems[0], "live.audio.directory: " + dir.file("in-the-way/audio") + " cannot be created"))
      << problems[0];
}

// access(W_OK) says yes to root for /proc, where nobody can create a file: the check must not.
TEST(Preflight, ADirectoryNobodyCanCreateFilesInIsRefusedEvenForRoot) {
  test::temp_dir dir;
  const auto problems = app::check_writable_directories(audio_config("/proc", dir.file("audio")));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_TRUE(contains(problems[0], "live.state_directory: /proc is not writable")) << problems[0];
}

// Root writes into a 0555 directory, so the check runs in a child that has become an ordinary user.
TEST(Preflight, ADirectoryTheUserCannotWriteIsRefused) {
  test::temp_dir dir;
  ::chmod(dir.path().c_str(), 0755);
  std::filesystem::create_directory(dir.file("audio"));
  ::chmod(dir.file("audio").c_str(), 0555);
  const auto cfg = audio_config(dir.path(), dir.file("audio"));
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(2);
    auto only_audio = cfg;
    only_audio.live.session_resumption = false;  // the temp dir itself stays writable only for its owner
    const auto problems = app::check_writable_directories(only_audio);
    for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.c_str());
    ::_exit(problems.size() == 1 && contains(problems[0], "live.audio.directory: " + dir.file("audio") +
                                                              " is not writable (Permission denied)")
                ? 0
                : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ::chmod(dir.file("audio").c_str(), 0755);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child printed what the check reported";
}

}  // namespace
}  // namespace lb
