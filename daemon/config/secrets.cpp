#include "config/secrets.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include "common/url.hpp"
#include "trust/pin.hpp"

namespace lb::config {
namespace {

// A secret file holds the secret and perhaps a trailing newline (echo > file). An empty file gives
// an empty string: what that means is the caller's to say.
std::optional<std::string> read_secret_file(const std::string& path, std::string& error) {
  const auto cannot_read = [&](int code) {
    error = "cannot read " + path + ": " + std::strerror(code);
    return std::nullopt;
  };
  // A directory opens as a stream that reads nothing, which would be reported as an empty file.
  if (std::error_code ec; std::filesystem::is_directory(path, ec)) return cannot_read(EISDIR);
  std::ifstream in(path, std::ios::binary);
  if (!in) return cannot_read(errno);
  std::ostringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::optional<std::string> read_nonempty_secret_file(const std::string& path, std::string& error) {
  auto s = read_secret_file(path, error);
  if (s && s->empty()) {
    error = path + " is empty";
    return std::nullopt;
  }
  return s;
}

// A credential that exists but cannot be read is an error, not a reason to look elsewhere.
bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// The shape of what may stand for the owner's PIN: the PIN itself, or a stored hash of it. Only the
// shape is checked here; the content is never echoed in an error.
bool well_formed_pin(const std::string& pin) {
  constexpr std::string_view hash_prefix = "pbkdf2-sha256$";
  if (pin.starts_with(hash_prefix)) {
    return pin.size() > hash_prefix.size() &&
           std::all_of(pin.begin(), pin.end(), [](unsigned char c) { return c > ' ' && c < 0x7f; });
  }
  return pin.size() >= 4 && pin.size() <= 12 &&
         std::all_of(pin.begin(), pin.end(), [](unsigned char c) { return c >= '0' && c <= '9'; });
}

// The MQTT password: the credential, else mqtt.password_file.
void read_mqtt_password(const config& cfg, const std::string& credentials, secrets_result& out) {
  std::string error;
  if (!credentials.empty() && exists(credentials + "/mqtt-password")) {
    if (auto pw = read_nonempty_secret_file(credentials + "/mqtt-password", error)) {
      out.value.mqtt_password = *pw;
    } else {
      out.errors.push_back(error);
    }
    return;
  }
  if (cfg.mqtt.password_file) {
    if (auto pw = read_nonempty_secret_file(*cfg.mqtt.password_file, error)) {
      out.value.mqtt_password = *pw;
    } else {
      out.errors.push_back("mqtt.password_file: " + error);
    }
  }
}

}  // namespace

secrets_result load_client_secrets(const config& cfg,
                                   const std::function<const char*(const char*)>& getenv_fn) {
  const char* credentials =
      getenv_fn ? getenv_fn("CREDENTIALS_DIRECTORY") : std::getenv("CREDENTIALS_DIRECTORY");
  secrets_result out;
  read_mqtt_password(cfg, credentials == nullptr ? std::string() : std::string(credentials), out);
  return out;
}

secrets_result load_secrets(const config& cfg, const std::function<const char*(const char*)>& getenv_fn) {
  const auto env = [&](const char* name) -> std::string {
    const char* v = getenv_fn ? getenv_fn(name) : std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
  };
  secrets_result out;
  std::string error;
  const std::string credentials = env("CREDENTIALS_DIRECTORY");

  // The packaged unit falls back to a newline-only credential (SetCredential=gemini-api-key:\n)
  // while its key file does not exist, the first start after installing: that is "no key yet", and
  // the message below says where the key goes.
  bool empty_credential = false;
  if (!credentials.empty() && exists(credentials + "/gemini-api-key")) {
    if (auto key = read_secret_file(credentials + "/gemini-api-key", error)) {
      empty_credential = key->empty();
      if (!key->empty()) {
        out.value.api_key = *key;
        out.value.api_key_source = "credential gemini-api-key";
      }
    } else {
      out.errors.push_back(error);
    }
  }
  if (out.value.api_key.empty() && cfg.live.api_key_file) {
    if (auto key = read_nonempty_secret_file(*cfg.live.api_key_file, error)) {
      out.value.api_key = *key;
      out.value.api_key_source = "file " + *cfg.live.api_key_file;
    } else {
      out.errors.push_back("live.api_key_file: " + error);
    }
  }
  for (const char* name : {"GEMINI_API_KEY", "GOOGLE_API_KEY"}) {
    if (!out.value.api_key.empty()) break;
    if (std::string v = env(name); !v.empty()) {
      out.value.api_key = v;
      out.value.api_key_source = std::string("environment ") + name;
    }
  }
  const auto live_url = parse_url(cfg.live.url);
  if (out.value.api_key.empty() && out.errors.empty() && !(live_url && live_url->is_loopback())) {
    // emplace_back: GCC 12 at -O2 and -O3 reports a false -Warray-bounds for moving a temporary
    // std::string made from a literal into the vector (libstdc++'s inlined memcpy).
    if (empty_credential) {
      out.errors.emplace_back(
          "no Gemini API key: put it in /etc/livebridge/gemini-api-key (install -m 0600 /dev/stdin "
          "/etc/livebridge/gemini-api-key), or in the file your unit's LoadCredential=gemini-api-key: names, "
          "then systemctl restart livebridge");
    } else {
      out.errors.emplace_back(
          "no Gemini API key: provide the credential gemini-api-key (LoadCredential=), live.api_key_file, or "
          "GEMINI_API_KEY / GOOGLE_API_KEY in the environment");
    }
  }

  read_mqtt_password(cfg, credentials, out);

  // The PIN: the credential, else trust.pin_file. The packaged unit falls back to a newline-only
  // credential (SetCredential=livebridge-pin:\n) while /etc/livebridge/pin does not exist: that is
  // "no PIN here", and trust.pin_file is looked at next.
  std::string pin_source;
  bool pin_unreadable = false;
  if (!credentials.empty() && exists(credentials + "/livebridge-pin")) {
    if (auto pin = read_secret_file(credentials + "/livebridge-pin", error)) {
      out.value.pin = *pin;
      pin_source = "credential livebridge-pin";
    } else {
      out.errors.push_back(error);
      pin_unreadable = true;
    }
  }
  if (out.value.pin.empty() && !pin_unreadable && cfg.trust.pin_file) {
    if (auto pin = read_nonempty_secret_file(*cfg.trust.pin_file, error)) {
      out.value.pin = *pin;
      pin_source = "trust.pin_file";
    } else {
      out.errors.push_back("trust.pin_file: " + error);
      pin_unreadable = true;
    }
  }
  // The verifier's own reading decides, so that a stored hash the bridge could not use is a
  // config error here, not a PIN tool refusing every call later.
  if (!out.value.pin.empty() &&
      (!well_formed_pin(out.value.pin) ||
       std::holds_alternative<std::string>(trust::pin_verifier::from_secret(out.value.pin)))) {
    out.errors.push_back(pin_source +
                         ": expected a PIN of 4 to 12 digits, or a stored hash made by livebridge hash-pin "
                         "(the content is not shown)");
    out.value.pin.clear();
    pin_unreadable = true;
  }
  // A tool that needs a PIN never runs without one: no silent fallback to a weaker confirmation.
  if (out.value.pin.empty() && !pin_unreadable) {
    for (std::size_t i = 0; i < cfg.tools.size(); ++i) {
      if (cfg.tools[i].guard.confirm != tools::confirmation::pin) continue;
      out.errors.push_back(
          cfg.tools[i].guard.confirm_origin + ": tools[" + std::to_string(i) +
          "].confirm: pin needs the owner's PIN: put it in the credential livebridge-pin "
          "(LoadCredential=livebridge-pin:/etc/livebridge/pin) or name a file in trust.pin_file");
    }
    const auto& d = cfg.discovery;
    const bool discovery_pin =
        d.enabled && (d.risky == tools::confirmation::pin ||
                      std::any_of(d.confirm.begin(), d.confirm.end(),
                                  [](const auto& c) { return c.second == tools::confirmation::pin; }));
    if (discovery_pin) {
      out.errors.push_back(
          d.risky_origin +
          ": discovery: pin needs the owner's PIN: put it in the credential livebridge-pin "
          "(LoadCredential=livebridge-pin:/etc/livebridge/pin) or name a file in trust.pin_file");
    }
  }
  return out;
}

}  // namespace lb::config
