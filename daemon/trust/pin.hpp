// The owner's PIN, found in a person's own words (typed or transcribed) and checked against a
// salted hash. Pure apart from OpenSSL's hashing and random salt: no I/O, no clock.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace lb::trust {

// A run of digits a person typed or said, and where it is in their words.
struct digit_run {
  std::string digits;
  std::size_t begin = 0, end = 0;  // byte offsets into the words, end exclusive
};

// The digit runs in `words`, in order. A token is a whole word of ASCII letters, digits and
// apostrophes; it counts as digits when it is all numerals ("1234") or an English digit word
// (zero, one … nine; case-insensitive). "oh" and "o" count as 0 only between other digits
// ("one oh seven"), since "Oh, …" and "o'clock" are words. "double" and "triple" before a digit
// repeat its first digit ("double five" → "55", "double 12" → "112", as a recogniser may have
// written "double one two"). Digit tokens separated only by spaces, tabs, commas, hyphens or
// dots join into one run ("One, two, three, four." → "1234", "12 34", "1-2-3-4"). A token with
// letters glued to digits ("4pm"), or any other word ("someone", "phone", "nineteen"), is not
// digits and ends a run; so does any other character, including bytes beyond ASCII.
std::vector<digit_run> digit_runs(std::string_view words);

// Checks a PIN without keeping it: only a salted PBKDF2-HMAC-SHA256 hash and the PIN's length
// are held, so a core dump or a stray log of the object shows no PIN. A stored hash of a 4-digit
// PIN is still found by trying all 10,000: keep it as secret as the PIN itself.
class pin_verifier {
 public:
  static constexpr std::size_t min_length = 4, max_length = 12;
  // Runs of the PIN's length hashed per check, at most: bounds the cost of words full of numbers.
  static constexpr std::size_t max_checked_runs = 16;

  // A plain PIN of 4-12 ASCII digits, or a stored hash made by hash_for_storage. Anything else
  // gives a reason, which never contains the secret.
  static std::variant<pin_verifier, std::string> from_secret(std::string_view secret);

  // "pbkdf2-sha256$<iterations>$<salt: 32 hex digits>$<hash: 64 hex digits>$<PIN length>", with
  // a fresh random salt each time and lower-case hex. Empty when `pin` is not 4-12 ASCII digits
  // or OpenSSL fails.
  static std::string hash_for_storage(std::string_view pin);

  enum class verdict {
    absent,   // no run of 4-12 digits: the words hold no PIN attempt
    correct,  // a run equals the PIN
    wrong,    // runs of 4-12 digits, none equal to the PIN
  };
  // Only runs of the PIN's length are hashed, the first max_checked_runs of them; each costs one
  // PBKDF2 (milliseconds). So a single check can try up to max_checked_runs guesses: the caller's
  // lockout should expect that.
  verdict check(std::string_view words) const;

  // `words` with every run equal to the PIN replaced by "[PIN]", all else byte for byte. Runs of
  // the PIN's length beyond the first max_checked_runs are replaced unchecked, so the cap never
  // lets a PIN through.
  std::string redact(std::string_view words) const;
  // How many hashes redact(words) would compute (windows of the PIN's length in its digit runs,
  // uncapped), so that a caller with many strings can keep its own budget.
  std::size_t checks_needed(std::string_view words) const;
  // Every digit run at least as long as the PIN replaced by "[digits]", with no hashing: the
  // fail-closed answer when checking would cost too much.
  std::string mask_long_runs(std::string_view words) const;

  std::size_t length() const { return length_; }

 private:
  pin_verifier() = default;
  // `hashed` is false when OpenSSL failed, and the answer then means nothing.
  bool matches(std::string_view digits, bool& hashed) const;

  unsigned iterations_ = 0;
  std::string salt_;  // raw bytes
  std::string hash_;  // raw bytes
  std::size_t length_ = 0;
};

}  // namespace lb::trust
