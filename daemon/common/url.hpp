// The parts of ws://, wss://, mqtt:// style URLs the daemon needs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lb {

struct url {
  std::string scheme;  // lower-case
  std::string host;    // without brackets for IPv6 literals
  std::string port;    // the default for the scheme when absent
  std::string target;  // path and query, "/" when absent

  // Loopback hosts are the only ones a local simulator may live on.
  bool is_loopback() const;
  // The host as an HTTP Host header or an authority names it: IPv6 literals in brackets, the port
  // left out when it is the scheme's default.
  std::string authority() const;
};

// Accepts ws, wss, mqtt, mqtts, tcp, ssl. Returns nullopt for anything malformed.
std::optional<url> parse_url(std::string_view text);

}  // namespace lb
