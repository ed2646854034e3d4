// Home Assistant discovery messages from anyone who may publish under the prefix: any topic and
// payload yields entities or problems, never a crash, and the tools built from them resolve any
// arguments to a command or an error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "discovery/catalog.hpp"
#include "discovery/device_tools.hpp"

namespace {

// The first line of the input is the topic below the prefix, the rest the payload; a second
// message and a call's arguments follow after further newlines.
std::string_view take_line(std::string_view& rest) {
  const auto nl = rest.find('\n');
  const std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  lb::discovery::catalog found("homeassistant");
  const std::string topic = "homeassistant/" + std::string(take_line(rest));
  const std::string payload(take_line(rest));
  found.on_config(topic, payload);
  const std::string second_topic = "homeassistant/" + std::string(take_line(rest));
  found.on_config(second_topic, take_line(rest));
  (void)found.problems();
  lb::config::discovery_config cfg;
  cfg.unverified = !payload.empty() && payload.back() == '!';
  const auto built = lb::discovery::build_tools(found, cfg);
  const nlohmann::json args = nlohmann::json::parse(rest, nullptr, false);
  lb::tools::state_cache states({"#"});
  for (const auto& t : built.tools) {
    if (!t.source) continue;
    (void)t.source->resolve(args, states);
    (void)t.source->confirmation_for(args);
    (void)t.source->confirm_text(args);
    (void)t.source->ack_topics();
    (void)t.source->watched_topics();
  }
  return 0;
}
