// parse_url's contract, as the loader, the Live session and the MQTT client rely on it.
#include <gtest/gtest.h>

#include "common/url.hpp"

namespace lb {
namespace {

TEST(Url, SplitsTheLiveEndpoint) {
  const auto u = parse_url(
      "wss://generativelanguage.googleapis.com/ws/"
      "google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "wss");
  EXPECT_EQ(u->host, "generativelanguage.googleapis.com");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->target, "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent");
  EXPECT_FALSE(u->is_loopback());
}

TEST(Url, EachSchemeHasItsDefaultPort) {
  for (const auto& [text, port] : std::vector<std::pair<std::string, std::string>>{{"ws://h", "80"},
                                                                                   {"wss://h", "443"},
                                                                                   {"mqtt://h", "1883"},
                                                                                   {"tcp://h", "1883"},
                                                                                   {"mqtts://h", "8883"},
                                                                                   {"ssl://h", "8883"},
                                                                                   {"mqtt://h:", "1883"}}) {
    const auto u = parse_url(text);
    ASSERT_TRUE(u) << text;
    EXPECT_EQ(u->port, port) << text;
    EXPECT_EQ(u->target, "/") << text;
  }
}

TEST(Url, SchemeIsCaseInsensitiveAndComesOutLowerCase) {
  const auto u = parse_url("MQTTS://Broker.Example:8884");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "mqtts");
  EXPECT_EQ(u->host, "Broker.Example");
  EXPECT_EQ(u->port, "8884");
}

TEST(Url, TargetKeepsPathAndQueryAndDropsTheFragment) {
  EXPECT_EQ(parse_url("ws://127.0.0.1:9000/ws/x?alt=json")->target, "/ws/x?alt=json");
  EXPECT_EQ(parse_url("ws://127.0.0.1:9000?alt=json")->target, "/?alt=json");
  EXPECT_EQ(parse_url("ws://127.0.0.1:9000/a%20b")->target, "/a%20b");
  EXPECT_EQ(parse_url("ws://127.0.0.1:9000/ws#part")->target, "/ws") << "a fragment is never sent";
}

TEST(Url, TheAuthorityBracketsIpv6AndLeavesOutTheDefaultPort) {
  EXPECT_EQ(parse_url("ws://[::1]:9000/x")->authority(), "[::1]:9000");
  EXPECT_EQ(parse_url("wss://[::1]/x")->authority(), "[::1]");
  EXPECT_EQ(parse_url("wss://generativelanguage.googleapis.com/ws")->authority(),
            "generativelanguage.googleapis.com");
  EXPECT_EQ(parse_url("ws://127.0.0.1:8080/")->authority(), "127.0.0.1:8080");
  EXPECT_EQ(parse_url("wss://example.org:80/")->authority(), "example.org:80");
}

TEST(Url, Ipv6LiteralsLoseTheirBrackets) {
  const auto u = parse_url("mqtts://[::1]:8884");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "8884");
  EXPECT_TRUE(u->is_loopback());
  const auto v = parse_url("ws://[2001:db8::7]/ws");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->host, "2001:db8::7");
  EXPECT_EQ(v->port, "80");
  EXPECT_FALSE(v->is_loopback());
}

TEST(Url, LoopbackMeansTheLoopbackAddressesOrLocalhost) {
  for (const char* text :
       {"ws://localhost:9", "ws://LOCALHOST:9", "ws://127.0.0.1/", "ws://127.1.2.3/", "ws://[::1]/"}) {
    const auto u = parse_url(text);
    ASSERT_TRUE(u) << text;
    EXPECT_TRUE(u->is_loopback()) << text;
  }
  for (const char* text :
       {"ws://127.example.com/", "ws://localhost.example.com/", "ws://10.0.0.1/", "ws://[::2]/"}) {
    const auto u = parse_url(text);
    ASSERT_TRUE(u) << text;
    EXPECT_FALSE(u->is_loopback()) << text << ": a name is not an address";
  }
}

// Secrets never go in a URL: the loader refuses a URL that carries them.
TEST(Url, UserinfoIsRefused) {
  EXPECT_FALSE(parse_url("ws://user:pw@host/"));
  EXPECT_FALSE(parse_url("mqtt://user@host"));
  EXPECT_FALSE(parse_url("mqtt://@host"));
  EXPECT_FALSE(parse_url("mqtt://:pw@[::1]:1883"));
}

TEST(Url, MalformedUrlsAreRefused) {
  for (const char* text :
       {"", "host:1883", "//host/", "http://host/", "ws:/host", "ws:host", "ws://", "ws:///path",
        "ws://host:99x/", "ws://host:0/", "ws://host:65536/", "ws://host:123456/", "ws://ho st/",
        "ws://[::1/", "ws://[::1]x/", "ws://[v1.x]/", "ws://ho%73t/", "mqtt://host/\n"}) {
    EXPECT_FALSE(parse_url(text)) << text;
  }
  EXPECT_TRUE(parse_url("ws://host:65535/"));
}

}  // namespace
}  // namespace lb
