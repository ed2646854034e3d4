// Standard base64 (RFC 4648 §4, with padding), as the Live API carries audio in inlineData.data.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lb {

// Appends the decoded bytes of `text` to `out`; false (and `out` unchanged) when `text` is not
// valid base64.
bool base64_decode_append(std::string_view text, std::string& out);
std::string base64_encode(std::string_view bytes);

}  // namespace lb
