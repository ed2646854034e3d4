// Templates: the first line is a topic/payload template, the rest a JSON object of arguments and
// a JSON document template. Rendering never crashes, and a rendered topic never carries a
// wildcard or separator that came from an argument.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tools/template.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string text = input.substr(0, newline);
  const std::string rest = newline == std::string::npos ? "" : input.substr(newline + 1);

  lb::tools::variables vars;
  const auto args = nlohmann::json::parse(rest, nullptr, false);
  if (args.is_object()) {
    for (auto it = args.begin(); it != args.end(); ++it) vars.emplace(it.key(), it.value());
  }
  auto parsed = lb::tools::text_template::parse(text);
  if (auto* t = std::get_if<lb::tools::text_template>(&parsed)) {
    auto topic = t->render(vars, true);
    if (auto* rendered = std::get_if<std::string>(&topic)) {
      // Every '/', '+', '#' in the result must come from the template's own text.
      std::size_t from_template = 0;
      std::size_t in_result = 0;
      for (char c : text) from_template += (c == '/' || c == '+' || c == '#') ? 1 : 0;
      for (char c : *rendered) in_result += (c == '/' || c == '+' || c == '#') ? 1 : 0;
      if (in_result > from_template) std::abort();
    }
    (void)t->render(vars, false);
    (void)t->as_subscription_filter();
  }
  if (args.is_object() || args.is_array()) {
    auto doc = lb::tools::json_template::parse(args);
    if (auto* t = std::get_if<lb::tools::json_template>(&doc)) (void)t->render(vars);
  }
  return 0;
}
