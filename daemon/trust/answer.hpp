// A person's yes or no to an approval request, as it arrives on <prefix>/confirm/<id> or from
// `livebridge confirm`. Untrusted input: parsed without exceptions, every field type-checked.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

namespace lb::trust {

struct person_answer {
  bool yes = false;
  std::string by;  // who answered, as they said; empty when not given (the caller names the channel)
};

// Larger payloads are refused unread.
inline constexpr std::size_t max_answer_bytes = 1024;

// Plain "yes", "no", "approve", "deny", "true", "false", "1" or "0" (any case, surrounding
// whitespace allowed), or a JSON object {"answer": <one of those words> | true | false,
// "by": "<at most 64 characters, no control characters>"} with "by" optional and no other
// member (a misspelt member is refused rather than ignored). Anything else gives a reason, which
// never quotes the payload.
std::variant<person_answer, std::string> parse_person_answer(std::string_view payload);

}  // namespace lb::trust
