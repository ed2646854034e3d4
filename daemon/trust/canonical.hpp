// One spelling for arguments that mean the same, so that an approval is bound to what will be
// carried out and not to how the model happened to write it. Pure; never throws.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace lb::trust {

// Compact JSON with object keys sorted bytewise, arrays in order, and one form per number: an
// integral value is written without a fraction whatever its type (128, 128u, 128.0 and -0.0 as
// "128" and "0"), within the 64-bit integer range; other doubles in nlohmann's shortest
// round-trip form. Strings are escaped as nlohmann dumps them, invalid UTF-8 replaced by U+FFFD.
// Iterative, so arguments nested arbitrarily deep cannot exhaust the stack.
std::string canonical_json(const nlohmann::json& value);

// What an approval is bound to: sha256_hex(tool + '\0' + canonical_json(args)), lower-case hex.
// Null arguments are the same as {} (a function without parameters is called either way).
std::string action_digest(std::string_view tool, const nlohmann::json& args);

}  // namespace lb::trust
