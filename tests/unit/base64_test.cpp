// Base64 as the Live API carries audio (RFC 4648 §4, padded).
#include <gtest/gtest.h>

#include "common/base64.hpp"

namespace lb {
namespace {

TEST(Base64, EncodesTheRfcVectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\0\xff\xfe", 3)), "AP/+");
}

TEST(Base64, DecodesWhatItEncodes) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); n += 17) {
    std::string out = "kept:";
    ASSERT_TRUE(base64_decode_append(base64_encode(all.substr(0, n)), out)) << n;
    EXPECT_EQ(out, "kept:" + all.substr(0, n));
  }
}

// What a PEM-oriented decoder would let through is refused here, and `out` is left as it was.
TEST(Base64, RefusesAnythingButCanonicalPaddedText) {
  for (const char* bad :
       {"Zg", "Zg=", "Z===", "====", "Zg=A", "Zg==Zm9v", "Zm9v-", "Zm 9v", "Zm9v\n", " Zm9v",
        "Zm9v_A==", "Zm9v=", "Zm9v-garbage!", "Zm 9", "Zm9-", "Zm9v-AAA", "Zm9v\n\n\n\n"}) {
    std::string out = "kept";
    EXPECT_FALSE(base64_decode_append(bad, out)) << bad;
    EXPECT_EQ(out, "kept") << bad;
  }
}

}  // namespace
}  // namespace lb
