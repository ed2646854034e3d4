#include "common/base64.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>

namespace lb {
namespace {

// Decoding stays here rather than with OpenSSL: its decoder is made for PEM and skips whitespace,
// stops without an error at '-', and EVP_DecodeBlock counts padding as data and takes "====";
// audio from the network is checked strictly instead.
constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<signed char, 256> decode_table() {
  std::array<signed char, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<signed char>(i);
  return t;
}
constexpr auto table = decode_table();

}  // namespace

bool base64_decode_append(std::string_view text, std::string& out) {
  if (text.size() % 4 != 0) return false;
  const std::size_t start = out.size();
  out.reserve(start + text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int padding = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=' && last && j >= 2 && (j == 3 || text[i + 3] == '=')) {
        v[j] = 0;
        ++padding;
        continue;
      }
      v[j] = table[static_cast<unsigned char>(c)];
      if (v[j] < 0 || padding > 0) {
        out.resize(start);
        return false;
      }
    }
    const unsigned n =
        (unsigned(v[0]) << 18) | (unsigned(v[1]) << 12) | (unsigned(v[2]) << 6) | unsigned(v[3]);
    out.push_back(static_cast<char>(n >> 16));
    if (padding < 2) out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (padding < 1) out.push_back(static_cast<char>(n & 0xff));
  }
  return true;
}

std::string base64_encode(std::string_view bytes) {
  // EVP_EncodeBlock takes an int length, so long input goes in pieces of a multiple of 3 bytes:
  // only the last piece can need padding, and the pieces' output simply follows each other.
  constexpr std::size_t piece = std::size_t{3} << 20;
  std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');  // + the NUL EVP_EncodeBlock writes
  std::size_t written = 0;
  for (std::size_t i = 0; i < bytes.size(); i += piece) {
    const std::size_t n = std::min(piece, bytes.size() - i);
    written += static_cast<std::size_t>(
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + written),
                        reinterpret_cast<const unsigned char*>(bytes.data() + i), static_cast<int>(n)));
  }
  out.resize(written);
  return out;
}

}  // namespace lb
