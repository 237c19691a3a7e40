#include "tls/spiffe.h"

#include <gtest/gtest.h>

namespace gh::tls {
namespace {

TEST(SpiffeId, ParsesIstioForm) {
  auto id = ParseSpiffeId("spiffe://cluster.local/ns/default/sa/bookinfo-productpage");
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->trust_domain, "cluster.local");
  EXPECT_EQ(id->ns, "default");
  EXPECT_EQ(id->service_account, "bookinfo-productpage");
  EXPECT_EQ(id->ToString(), "spiffe://cluster.local/ns/default/sa/bookinfo-productpage");
}

TEST(SpiffeId, RejectsOtherPathShapes) {
  for (const char* bad : {
           "spiffe://cluster.local",
           "spiffe://cluster.local/ns/default",
           "spiffe://cluster.local/ns/default/sa",
           "spiffe://cluster.local/sa/x/ns/y",
           "spiffe://cluster.local/ns/default/sa/x/extra",
           "spiffe://cluster.local/namespace/default/sa/x",
       }) {
    EXPECT_FALSE(ParseSpiffeId(bad).ok()) << bad;
  }
}

TEST(SpiffeUri, FollowsTheSpecification) {
  EXPECT_TRUE(ParseSpiffeUri("spiffe://example.org").ok());
  EXPECT_TRUE(ParseSpiffeUri("spiffe://example.org/a/B_c-d.e").ok());
  EXPECT_TRUE(ParseSpiffeUri("spiffe://td_with-under.score/x").ok());
  for (const char* bad : {
           "", "spiffe://", "spiffe:///path", "SPIFFE://example.org/x", "https://example.org/x",
           "spiffe://Example.org/x",       // uppercase trust domain
           "spiffe://example.org:8080/x",  // port
           "spiffe://user@example.org/x",  // userinfo
           "spiffe://example.org/",        // trailing slash
           "spiffe://example.org/a//b",    // empty segment
           "spiffe://example.org/a/./b",   // dot segment
           "spiffe://example.org/a/../b",  // dot-dot segment
           "spiffe://example.org/a%20b",   // percent encoding
           "spiffe://example.org/a?b=c",   // query
           "spiffe://example.org/a#frag",  // fragment
       }) {
    EXPECT_FALSE(ParseSpiffeUri(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseSpiffeUri("spiffe://example.org/" + std::string(2040, 'a')).ok());
}

TEST(SpiffeId, MakeValidates) {
  EXPECT_TRUE(MakeSpiffeId("cluster.local", "ns1", "sa1").ok());
  EXPECT_FALSE(MakeSpiffeId("Cluster.local", "ns1", "sa1").ok());
  EXPECT_FALSE(MakeSpiffeId("cluster.local", "", "sa1").ok());
  EXPECT_FALSE(MakeSpiffeId("cluster.local", "ns1", "a/b").ok());
  EXPECT_FALSE(MakeSpiffeId("cluster.local", "..", "sa").ok());
}

}  // namespace
}  // namespace gh::tls
