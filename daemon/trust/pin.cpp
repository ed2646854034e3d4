#include "trust/pin.hpp"

#include "common/ascii.hpp"

#include <array>
#include <charconv>
#include <optional>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace lb::trust {
namespace {

// --- finding digits ------------------------------------------------------------------------

bool is_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
// What may stand between two digit tokens of one run.
bool is_joiner(char c) {
  return c == ' ' || c == '\t' || c == ',' || c == '-' || c == '.';
}

enum class token_kind {
  numeral,     // "1234"
  digit_word,  // "seven"
  soft_zero,   // "oh", "o": a zero only between other digits
  multiplier,  // "double", "triple"
  other,
};

struct token {
  token_kind kind = token_kind::other;
  std::string digits;   // numeral, digit_word, soft_zero
  unsigned repeat = 1;  // multiplier
  std::size_t begin = 0, end = 0;
  bool joined = false;  // only joiners lie between the previous token and this one
};

token classify(std::string_view words, std::size_t begin, std::size_t end) {
  static constexpr std::array<std::string_view, 10> digit_words{"zero", "one", "two",   "three", "four",
                                                                "five", "six", "seven", "eight", "nine"};
  token t;
  t.begin = begin;
  t.end = end;
  const std::string_view w = words.substr(begin, end - begin);
  bool all_digits = true;
  for (char c : w) all_digits = all_digits && is_digit(c);
  if (all_digits) {
    t.kind = token_kind::numeral;
    t.digits = std::string(w);
    return t;
  }
  for (std::size_t d = 0; d < digit_words.size(); ++d)
    if (ascii_iequals(w, digit_words[d])) {
      t.kind = token_kind::digit_word;
      t.digits = std::string(1, static_cast<char>('0' + d));
      return t;
    }
  if (ascii_iequals(w, "oh") || ascii_iequals(w, "o")) {
    t.kind = token_kind::soft_zero;
    t.digits = "0";
  } else if (ascii_iequals(w, "double")) {
    t.kind = token_kind::multiplier;
    t.repeat = 2;
  } else if (ascii_iequals(w, "triple")) {
    t.kind = token_kind::multiplier;
    t.repeat = 3;
  }
  return t;
}

// Whole words: letters, digits and apostrophes inside a word ("o'clock" is one word, "'1234'" is
// a quoted numeral).
std::vector<token> tokenize(std::string_view words) {
  std::vector<token> tokens;
  bool gap_joins = true;  // everything since the previous token was a joiner
  std::size_t i = 0;
  while (i < words.size()) {
    if (!is_alnum(words[i])) {
      gap_joins = gap_joins && is_joiner(words[i]);
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < words.size() && (is_alnum(words[end]) || words[end] == '\'')) ++end;
    while (words[end - 1] == '\'') --end;  // a closing quote is not part of the word
    token t = classify(words, i, end);
    t.joined = !tokens.empty() && gap_joins;
    tokens.push_back(std::move(t));
    gap_joins = true;
    i = end;
  }
  return tokens;
}

// One element of a run: a digit token, perhaps with the multiplier before it.
struct unit {
  std::string digits;
  bool soft = false;
  std::size_t begin = 0, end = 0;
};

void close_run(std::vector<unit>& chain, std::vector<digit_run>& runs) {
  std::size_t first = 0, last = chain.size();
  while (first < last && chain[first].soft) ++first;
  while (last > first && chain[last - 1].soft) --last;
  if (first < last) {
    digit_run r;
    r.begin = chain[first].begin;
    r.end = chain[last - 1].end;
    for (std::size_t k = first; k < last; ++k) r.digits += chain[k].digits;
    runs.push_back(std::move(r));
  }
  chain.clear();
}

bool is_digit_token(const token& t) {
  return t.kind == token_kind::numeral || t.kind == token_kind::digit_word || t.kind == token_kind::soft_zero;
}

}  // namespace

std::vector<digit_run> digit_runs(std::string_view words) {
  const std::vector<token> tokens = tokenize(words);
  std::vector<digit_run> runs;
  std::vector<unit> chain;
  for (std::size_t k = 0; k < tokens.size(); ++k) {
    const token& t = tokens[k];
    if (!t.joined) close_run(chain, runs);
    if (t.kind == token_kind::multiplier && k + 1 < tokens.size() && tokens[k + 1].joined &&
        is_digit_token(tokens[k + 1])) {
      const token& target = tokens[k + 1];
      // "double oh" is digits wherever it stands: nobody says it otherwise.
      unit u{std::string(t.repeat - 1, target.digits[0]) + target.digits, false, t.begin, target.end};
      chain.push_back(std::move(u));
      ++k;
    } else if (is_digit_token(t)) {
      chain.push_back(unit{t.digits, t.kind == token_kind::soft_zero, t.begin, t.end});
    } else {
      close_run(chain, runs);
    }
  }
  close_run(chain, runs);
  return runs;
}

// --- the verifier --------------------------------------------------------------------------

namespace {

// One check costs milliseconds on a current core: unnoticeable in a turn, and slow enough that a
// stolen stored hash of a longer PIN is not tried through in an instant.
constexpr unsigned default_iterations = 32000;
// A stored hash outside these bounds is refused: too weak, or so slow that each check would
// stall the io thread.
constexpr unsigned min_iterations = 1000, max_iterations = 2000000;
constexpr std::size_t salt_bytes = 16, hash_bytes = 32;
constexpr std::string_view scheme = "pbkdf2-sha256";

bool all_ascii_digits(std::string_view s) {
  for (char c : s)
    if (!is_digit(c)) return false;
  return true;
}

bool plain_pin(std::string_view s) {
  return s.size() >= pin_verifier::min_length && s.size() <= pin_verifier::max_length && all_ascii_digits(s);
}

std::string to_hex(std::string_view bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (unsigned char b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 0x0f];
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Exactly `bytes` bytes of hex, or nothing.
std::optional<std::string> from_hex(std::string_view hex, std::size_t bytes) {
  if (hex.size() != 2 * bytes) return std::nullopt;
  std::string out(bytes, '\0');
  for (std::size_t i = 0; i < bytes; ++i) {
    const int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

template <class T>
std::optional<T> decimal(std::string_view s) {
  T value{};
  if (s.empty() || !all_ascii_digits(s)) return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

bool pbkdf2(std::string_view digits, std::string_view salt, unsigned iterations, unsigned char* out) {
  return PKCS5_PBKDF2_HMAC(digits.data(), static_cast<int>(digits.size()),
                           reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                           static_cast<int>(iterations), EVP_sha256(), static_cast<int>(hash_bytes),
                           out) == 1;
}

const std::string format_reason =
    "a stored PIN hash must read pbkdf2-sha256$<iterations>$<32 hex digits of salt>$<64 hex digits of "
    "hash>$<PIN length>";

}  // namespace

std::string pin_verifier::hash_for_storage(std::string_view pin) {
  if (!plain_pin(pin)) return {};
  unsigned char salt[salt_bytes];
  unsigned char hash[hash_bytes];
  if (RAND_bytes(salt, sizeof salt) != 1) return {};
  const std::string_view salt_view(reinterpret_cast<const char*>(salt), sizeof salt);
  if (!pbkdf2(pin, salt_view, default_iterations, hash)) return {};
  return std::string(scheme) + '$' + std::to_string(default_iterations) + '$' + to_hex(salt_view) + '$' +
         to_hex(std::string_view(reinterpret_cast<const char*>(hash), sizeof hash)) + '$' +
         std::to_string(pin.size());
}

std::variant<pin_verifier, std::string> pin_verifier::from_secret(std::string_view secret) {
  if (plain_pin(secret)) {
    std::string stored = hash_for_storage(secret);
    if (stored.empty()) return std::string("could not hash the PIN (OpenSSL failed)");
    auto made = from_secret(stored);
    OPENSSL_cleanse(stored.data(), stored.size());
    return made;
  }
  if (secret.substr(0, scheme.size() + 1) != std::string(scheme) + '$') {
    if (all_ascii_digits(secret))
      return "the PIN has " + std::to_string(secret.size()) + " digits; it must have " +
             std::to_string(min_length) + " to " + std::to_string(max_length);
    return "the PIN must be " + std::to_string(min_length) + " to " + std::to_string(max_length) +
           " digits 0-9, or a stored hash (pbkdf2-sha256$…)";
  }
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t dollar = secret.find('$', start);
    fields.push_back(secret.substr(start, dollar == std::string_view::npos ? dollar : dollar - start));
    if (dollar == std::string_view::npos) break;
    start = dollar + 1;
  }
  if (fields.size() != 5) return format_reason;
  const auto iterations = decimal<unsigned>(fields[1]);
  if (!iterations || *iterations < min_iterations || *iterations > max_iterations)
    return "a stored PIN hash needs " + std::to_string(min_iterations) + " to " +
           std::to_string(max_iterations) + " iterations";
  auto salt = from_hex(fields[2], salt_bytes);
  auto hash = from_hex(fields[3], hash_bytes);
  const auto length = decimal<std::size_t>(fields[4]);
  if (!salt || !hash || !length) return format_reason;
  if (*length < min_length || *length > max_length)
    return "a stored PIN hash must be of a PIN of " + std::to_string(min_length) + " to " +
           std::to_string(max_length) + " digits";
  pin_verifier v;
  v.iterations_ = *iterations;
  v.salt_ = std::move(*salt);
  v.hash_ = std::move(*hash);
  v.length_ = *length;
  return v;
}

bool pin_verifier::matches(std::string_view digits, bool& hashed) const {
  unsigned char out[hash_bytes];
  hashed = pbkdf2(digits, salt_, iterations_, out);
  const bool equal = hashed && CRYPTO_memcmp(out, hash_.data(), hash_bytes) == 0;
  OPENSSL_cleanse(out, sizeof out);
  return equal;
}

pin_verifier::verdict pin_verifier::check(std::string_view words) const {
  bool attempt = false;
  std::size_t checked = 0;
  for (const auto& run : digit_runs(words)) {
    if (run.digits.size() < min_length || run.digits.size() > max_length) continue;
    attempt = true;
    if (run.digits.size() != length_ || checked == max_checked_runs) continue;
    ++checked;
    bool hashed = false;
    if (matches(run.digits, hashed)) return verdict::correct;
  }
  return attempt ? verdict::wrong : verdict::absent;
}

std::string pin_verifier::redact(std::string_view words) const {
  std::string out;
  out.reserve(words.size());
  std::size_t copied = 0, checked = 0;
  for (const auto& run : digit_runs(words)) {
    if (run.digits.size() < length_) continue;
    // A longer run may hold the PIN joined to other digits ("1234, 10 minutes" reads as one run):
    // every window of the PIN's length is looked at, and the whole run hidden if one matches.
    bool hide = false;
    for (std::size_t at = 0; !hide && at + length_ <= run.digits.size(); ++at) {
      if (checked >= max_checked_runs) {
        hide = true;  // unchecked beyond the cap: hide rather than leak
        break;
      }
      ++checked;
      bool hashed = false;
      hide = matches(run.digits.substr(at, length_), hashed) || !hashed;  // OpenSSL failed: hide
    }
    if (!hide) continue;
    out.append(words.substr(copied, run.begin - copied));
    out += "[PIN]";
    copied = run.end;
  }
  out.append(words.substr(copied));
  return out;
}

std::size_t pin_verifier::checks_needed(std::string_view words) const {
  std::size_t n = 0;
  for (const auto& run : digit_runs(words))
    if (run.digits.size() >= length_) n += run.digits.size() - length_ + 1;
  return n;
}

std::string pin_verifier::mask_long_runs(std::string_view words) const {
  std::string out;
  std::size_t copied = 0;
  for (const auto& run : digit_runs(words)) {
    if (run.digits.size() < length_) continue;
    out.append(words.substr(copied, run.begin - copied));
    out += "[digits]";
    copied = run.end;
  }
  out.append(words.substr(copied));
  return out;
}

}  // namespace lb::trust
