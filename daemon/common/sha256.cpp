#include "common/sha256.hpp"

#include <openssl/evp.h>

namespace lb {
namespace {

// Fetched once: OpenSSL 3 otherwise looks the algorithm up in its provider tables on every
// digest, which costs more than hashing a call's arguments. Never freed: it lives as long as the
// process, like OpenSSL's own tables. Should that one fetch fail (no memory), each digest looks
// it up again instead, as it did without the cache, so one failure is not remembered for ever.
const EVP_MD* sha256_algorithm() {
  static const EVP_MD* const fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return fetched != nullptr ? fetched : EVP_sha256();
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // EVP_Digest fails only when OpenSSL cannot allocate; an empty digest then compares unequal to
  // every real one, so a check built on it fails closed.
  const EVP_MD* algorithm = sha256_algorithm();
  if (algorithm == nullptr || EVP_Digest(data.data(), data.size(), digest, &length, algorithm, nullptr) != 1)
    return {};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0x0f];
  }
  return out;
}

}  // namespace lb
