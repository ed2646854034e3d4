#include "trust/canonical.hpp"

#include <cmath>
#include <cstdint>
#include <functional>
#include <type_traits>
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

// Object members come out in the map's order, which is bytewise (std::less<> on std::string
// compares as unsigned char): no sorting needed, and none to forget.
static_assert(std::is_same_v<json::object_comparator_t, std::less<>>);

// A container being written, and how far.
struct frame {
  json::const_iterator next, end;
  bool object = false;
  bool first = true;
};

frame open(const json& v) {
  return frame{v.cbegin(), v.cend(), v.is_object()};
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
    if (top.next == top.end) {
      out += top.object ? '}' : ']';
      stack.pop_back();
      continue;
    }
    const auto member = top.next++;
    if (!top.first) out += ',';
    top.first = false;
    if (top.object) {
      out += json_text(json(member.key()));
      out += ':';
    }
    if (member->is_structured()) {
      stack.push_back(open(*member));  // invalidates `top`
      out += stack.back().object ? '{' : '[';
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
