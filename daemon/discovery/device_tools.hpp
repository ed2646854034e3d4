// The few tools a discovered home is run with: one per kind of entity, the entity chosen by name
// (an enum of the names a person uses), plus one look for every entity. Each call is resolved to
// the entity's own command topic and payloads and acknowledged by its own state report, read the
// way its discovery message says.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "discovery/catalog.hpp"
#include "tools/tool_spec.hpp"

namespace lb::discovery {

// The tool for each kind of entity that can be acted on; sensors are only looked at.
struct tool_naming {
  component kind;
  std::string_view tool;
};
inline constexpr tool_naming action_tools[] = {
    {component::light, "set_light"},
    {component::switch_, "set_switch"},
    {component::cover, "cover"},
    {component::lock, "lock"},
    {component::alarm_control_panel, "alarm_panel"},
};
inline constexpr std::string_view look_tool = "get_state";

// Every tool name discovery may declare with these components (empty = all): a tool of the
// config file must not take one of them.
std::vector<std::string_view> reserved_tool_names(const std::vector<std::string>& components);

struct built_tools {
  std::vector<tools::tool_spec> tools;
  std::size_t entities = 0;             // entities reachable through the tools
  std::vector<std::string> left_out;    // one line per entity not used, with the reason
  std::vector<std::string> unverified;  // entities used with the broker's PUBACK as their only answer
};

built_tools build_tools(const catalog& found, const config::discovery_config& cfg);

}  // namespace lb::discovery
