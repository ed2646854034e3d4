// Acknowledgement matching and argument validation: a device's payload (after the first line)
// against an expected subset (the first line, JSON), and the same document as model arguments
// against a fixed schema.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tools/ack_match.hpp"
#include "tools/schema.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string expected_text = input.substr(0, newline);
  const std::string payload = newline == std::string::npos ? "" : input.substr(newline + 1);

  const auto expected = lb::tools::payload_to_json(expected_text);
  const auto actual = lb::tools::payload_to_json(payload);
  (void)lb::tools::subset_matches(expected, actual, 1.0);
  (void)lb::tools::subset_matches(actual, expected, 0.0);

  static const lb::tools::param_schema schema = [] {
    lb::tools::param_schema level;
    level.type = lb::tools::value_type::integer;
    level.minimum = 0;
    level.maximum = 254;
    lb::tools::param_schema room;
    room.type = lb::tools::value_type::string;
    room.enum_values = {"kitchen", "hall"};
    lb::tools::param_schema list;
    list.type = lb::tools::value_type::array;
    list.items = std::make_shared<lb::tools::param_schema>(level);
    lb::tools::param_schema s;
    s.properties = {{"room", room}, {"level", level}, {"steps", list}};
    s.required = {"room"};
    return s;
  }();
  auto args = actual;
  (void)lb::tools::validate_arguments(schema, args);
  return 0;
}
