// livebridge-sim: the local Live simulator (and, optionally, simulated zigbee2mqtt lights) for
// trying livebridge without a Google account. Prints the URL to put in live.url, runs until
// SIGINT/SIGTERM.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "devices.hpp"
#include "fake_live_server.hpp"
#include "simulated_model.hpp"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}
}  // namespace

int main(int argc, char** argv) {
  lb::test::fake_live_server::options opts;
  opts.tls = false;
  opts.api_key.clear();  // the simulator takes any key
  std::string mqtt_uri;
  std::set<std::string> lights;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (arg == "--tls-cert") {
      opts.tls = true;
      opts.cert_chain_file = next();
    } else if (arg == "--tls-key") {
      opts.private_key_file = next();
    } else if (arg == "--api-key") {
      opts.api_key = next();
    } else if (arg == "--mqtt") {
      mqtt_uri = next();
    } else if (arg == "--z2m-light") {
      lights.insert(next());
    } else {
      std::fprintf(
          stderr,
          "usage: livebridge-sim [--tls-cert PEM --tls-key PEM] [--api-key KEY] [--mqtt tcp://HOST:PORT "
          "--z2m-light NAME...]\n");
      return 64;
    }
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  lb::test::fake_live_server server(opts, lb::test::simulated_model());
  std::unique_ptr<lb::test::z2m_bridge> z2m;
  if (!mqtt_uri.empty() && !lights.empty()) z2m = std::make_unique<lb::test::z2m_bridge>(mqtt_uri, lights);
  std::printf("url=%s\n", server.url().c_str());
  std::fflush(stdout);
  while (!g_stop) pause();
  return 0;
}
