// SHA-256 (OpenSSL) as lower-case hex: what approvals are bound to and the audit chain links by.
#pragma once

#include <string>
#include <string_view>

namespace lb {

std::string sha256_hex(std::string_view data);

}  // namespace lb
