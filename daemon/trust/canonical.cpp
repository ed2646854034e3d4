#include "trust/canonical.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "common/json_text.hpp"
#include "common/sha256.hpp"

namespace lb::trust {
namespace {

using json = nlohmann::json;

void append_number_float(std::string& out, double d) {
  // Bounds of the 64-bit integer types, exactly representable as doubles: [-2^63, 2^64).
  constexpr double min_signed = -9223372036854775808.0;
  constexpr double max_unsigned_exclusive = 18446744073709551616.0;
  if (std::isfinite(d) && std::trunc(d) == d && d >= min_signed && d < max_unsigned_exclusive) {
    if (d < 0)
      out += std::to_string(static_cast<std::int64_t>(d));
    else
      out += std::to_string(static_cast<std::uint64_t>(d));  // -0.0 lands here as "0"
    return;
  }
  out += json_text(json(d));
}

void append_scalar(std::string& out, const json& v) {
  switch (v.type()) {
    case json::value_t::number_integer:
      out += std::to_string(v.get<std::int64_t>());
      return;
    case json::value_t::number_unsigned:
      out += std::to_string(v.get<std::uint64_t>());
      return;
    case json::value_t::number_float:
      append_number_float(out, v.get<double>());
      return;
    default:
      out += json_text(v);  // null, booleans, strings, binary
  }
}

// A container being written: its members (in output order) and how many are done.
struct frame {
  std::vector<std::pair<const std::string*, const json*>> members;  // key null for arrays
  std::size_t next = 0;
  bool object = false;
};

frame open(const json& v) {
  frame f;
  f.object = v.is_object();
  f.members.reserve(v.size());
  if (f.object) {
    for (auto it = v.begin(); it != v.end(); ++it) f.members.emplace_back(&it.key(), &it.value());
    // nlohmann's std::map is ordered already; sorting here keeps the promise whatever the
    // object type, and std::string compares as unsigned bytes.
    std::sort(f.members.begin(), f.members.end(),
              [](const auto& a, const auto& b) { return *a.first < *b.first; });
  } else {
    for (const auto& member : v) f.members.emplace_back(nullptr, &member);
  }
  return f;
}

}  // namespace

std::string canonical_json(const json& value) {
  std::string out;
  if (!value.is_structured()) {
    append_scalar(out, value);
    return out;
  }
  std::vector<frame> stack;
  stack.push_back(open(value));
  out += stack.back().object ? '{' : '[';
  while (!stack.empty()) {
    frame& top = stack.back();
    if (top.next == top.members.size()) {
      out += top.object ? '}' : ']';
      stack.pop_back();
      continue;
    }
    const auto [key, member] = top.members[top.next];
    if (top.next++ > 0) out += ',';
    if (key != nullptr) {
      out += json_text(json(*key));
      out += ':';
    }
    if (member->is_structured()) {
      const bool object = member->is_object();
      stack.push_back(open(*member));  // invalidates `top`
      out += object ? '{' : '[';
    } else {
      append_scalar(out, *member);
    }
  }
  return out;
}

std::string action_digest(std::string_view tool, const json& args) {
  std::string text(tool);
  text += '\0';
  text += args.is_null() ? std::string("{}") : canonical_json(args);
  return sha256_hex(text);
}

}  // namespace lb::trust
