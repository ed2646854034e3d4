#include "common/url.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

// Boost.URL compiled into this program (header-only use), so that no separate library package is
// needed; this is the only translation unit that includes its sources.
#include <boost/url/src.hpp>

namespace lb {
namespace {

namespace urls = boost::urls;

std::string default_port(std::string_view scheme) {
  if (scheme == "ws") return "80";
  if (scheme == "wss") return "443";
  if (scheme == "mqtt" || scheme == "tcp") return "1883";
  if (scheme == "mqtts" || scheme == "ssl") return "8883";
  return {};
}

std::string text_of(urls::string_view s) {
  return std::string(s.data(), s.size());
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The host as a resolver and TLS (SNI, name verification) take it; nullopt for hosts this daemon
// cannot connect to.
std::optional<std::string> host_of(const urls::url_view& v) {
  switch (v.host_type()) {
    case urls::host_type::ipv4:
      return text_of(v.encoded_host());
    case urls::host_type::ipv6:
      return text_of(v.encoded_host_address());  // without the brackets
    case urls::host_type::name: {
      // A percent-encoded name would decode to something no resolver would be asked for as written.
      const std::string name = text_of(v.encoded_host());
      if (name.empty() || name.find('%') != std::string::npos) return std::nullopt;
      return name;
    }
    default:  // none, IPvFuture
      return std::nullopt;
  }
}

}  // namespace

bool url::is_loopback() const {
  if (lower(host) == "localhost") return true;
  if (const auto v4 = urls::parse_ipv4_address(host)) return v4->is_loopback();
  if (const auto v6 = urls::parse_ipv6_address(host)) return v6->is_loopback();
  return false;
}

std::optional<url> parse_url(std::string_view text) {
  const auto parsed = urls::parse_uri(urls::string_view(text.data(), text.size()));
  if (!parsed) return std::nullopt;
  const urls::url_view& v = *parsed;
  // Credentials never go in URLs here: they would show in logs and in `ps`.
  if (!v.has_authority() || v.has_userinfo()) return std::nullopt;

  url u;
  u.scheme = lower(text_of(v.scheme()));
  const std::string fallback_port = default_port(u.scheme);
  if (fallback_port.empty()) return std::nullopt;
  auto host = host_of(v);
  if (!host) return std::nullopt;
  u.host = std::move(*host);

  const std::string port = text_of(v.port());  // "" for "host" and for "host:"
  if (port.empty()) {
    u.port = fallback_port;
  } else {
    unsigned number = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (ec != std::errc{} || end != port.data() + port.size() || number == 0 || number > 65535)
      return std::nullopt;
    u.port = std::to_string(number);
  }

  // The request target is path and query; a fragment is never sent. After an authority the path
  // is empty or begins with '/' (RFC 3986 §3.3); checked here because the parser takes
  // "host:99x/" as port 99 with the path "x/".
  u.target = text_of(v.encoded_path());
  if (!u.target.empty() && u.target.front() != '/') return std::nullopt;
  if (u.target.empty()) u.target = "/";
  if (v.has_query()) u.target += "?" + text_of(v.encoded_query());
  return u;
}

std::string url::authority() const {
  const std::string bracketed = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const bool default_port = ((scheme == "wss" || scheme == "https") && port == "443") ||
                            ((scheme == "ws" || scheme == "http") && port == "80");
  return default_port ? bracketed : bracketed + ":" + port;
}

}  // namespace lb
