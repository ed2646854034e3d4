// How deeply a JSON text nests, found without parsing it: nlohmann's parser does not recurse, but
// copying a parsed value does, once per level, so an untrusted document is measured before any
// copy of it is made.
#pragma once

#include <cstddef>
#include <string_view>

namespace lb {

// The deepest nesting of [ and { outside strings (0 for a scalar).
constexpr std::size_t json_nesting(std::string_view text) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// Device reports and discovery messages nest a few levels; anything deeper is read as text.
inline constexpr std::size_t max_payload_nesting = 64;

}  // namespace lb
