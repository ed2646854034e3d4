// The YAML config loader: any file yields a config or diagnostics, never a crash; a loaded
// config always builds a setup frame.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/loader.hpp"
#include "live/protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto result = lb::config::load_text(yaml, "fuzz.yaml");
  for (const auto& e : result.errors) (void)e.to_string();
  if (result.cfg) (void)lb::live::build_setup(result.cfg->live, result.cfg->tools);
  return 0;
}
