// What a SIGHUP reload takes from the config file: a config with its secrets, or the problems
// that keep the running config in effect.
#include <gtest/gtest.h>

#include "app/daemon.hpp"
#include "process.hpp"

namespace lb {
namespace {

const char* const good_yaml = R"(live: {model: m, url: "wss://127.0.0.1:9/ws"}
mqtt: {client_id: lb-test}
tools:
  - name: ring
    publish: {topic: bell/set, payload: "ON"}
)";

TEST(DaemonReload, AGoodFileGivesItsConfigAndSecrets) {
  test::temp_dir dir;
  dir.write("key", "from-file\n");
  dir.write("livebridge.yaml", good_yaml);
  dir.write("with-key.yaml", "live: {model: m, url: \"wss://127.0.0.1:9/ws\", api_key_file: " +
                                 dir.file("key") + "}\nmqtt: {client_id: lb-test}\n");
  const auto plain = app::load_for_reload(dir.file("livebridge.yaml"));
  EXPECT_TRUE(plain.problems.empty()) << plain.problems.front();
  ASSERT_TRUE(plain.cfg);
  EXPECT_EQ(plain.cfg->tools.size(), 1u);
  const auto keyed = app::load_for_reload(dir.file("with-key.yaml"));
  ASSERT_TRUE(keyed.cfg) << keyed.problems.front();
  EXPECT_EQ(keyed.secrets.api_key, "from-file");
}

TEST(DaemonReload, ProblemsKeepTheRunningConfig) {
  test::temp_dir dir;
  dir.write("bad.yaml", "live: {model: m, setup_timeout: fast}\nmqtt: {client_id: lb-test}\n");
  dir.write("no-key.yaml", "live: {model: m, url: \"wss://127.0.0.1:9/ws\", api_key_file: " +
                               dir.file("missing") + "}\nmqtt: {client_id: lb-test}\n");
  const std::pair<std::string, std::string> cases[] = {
      {dir.file("bad.yaml"), "live.setup_timeout"},
      {dir.file("no-key.yaml"), "live.api_key_file: cannot read"},
      {dir.file("missing.yaml"), "missing.yaml"},
  };
  for (const auto& [path, expected] : cases) {
    const auto r = app::load_for_reload(path);
    EXPECT_FALSE(r.cfg) << path;
    ASSERT_FALSE(r.problems.empty()) << path;
    EXPECT_NE(r.problems.front().find(expected), std::string::npos) << r.problems.front();
  }
}

}  // namespace
}  // namespace lb
