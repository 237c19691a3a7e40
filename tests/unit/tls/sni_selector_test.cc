#include "tls/sni_selector.h"

#include <gtest/gtest.h>

namespace gh::tls {
namespace {

TEST(SniSelector, ExactBeatsWildcardAndLongestWildcardWins) {
  SniSelector s;
  ASSERT_TRUE(s.Add("*.example.com", 1).ok());
  ASSERT_TRUE(s.Add("api.example.com", 2).ok());
  ASSERT_TRUE(s.Add("*.eu.example.com", 3).ok());
  ASSERT_TRUE(s.Add("*", 4).ok());
  EXPECT_EQ(s.Select("api.example.com"), 2u);
  EXPECT_EQ(s.Select("www.example.com"), 1u);
  EXPECT_EQ(s.Select("a.b.example.com"), 1u);  // any depth under the suffix
  EXPECT_EQ(s.Select("x.eu.example.com"), 3u);
  EXPECT_EQ(s.Select("eu.example.com"), 1u);
  EXPECT_EQ(s.Select("example.com"), 4u);  // the wildcard needs a label
  EXPECT_EQ(s.Select("other.org"), 4u);
  EXPECT_EQ(s.Select(""), 4u);  // catch-all also takes a missing SNI
}

TEST(SniSelector, CaseAndTrailingDotInsensitive) {
  SniSelector s;
  ASSERT_TRUE(s.Add("API.Example.com", 7).ok());
  EXPECT_EQ(s.Select("api.example.COM."), 7u);
}

TEST(SniSelector, DefaultOrReject) {
  SniSelector s;
  ASSERT_TRUE(s.Add("a.example.com", 0).ok());
  ASSERT_TRUE(s.Add("b.example.com", 1).ok());
  EXPECT_EQ(s.Select("c.example.com"), std::nullopt);  // no default: reject
  EXPECT_EQ(s.Select(""), std::nullopt);
  s.SetDefault(1);
  EXPECT_EQ(s.Select("c.example.com"), 1u);
  EXPECT_EQ(s.Select(""), 1u);
  EXPECT_EQ(s.Select("not a hostname"), 1u);  // malformed SNI: unknown
  EXPECT_EQ(s.Select("a.example.com"), 0u);
}

TEST(SniSelector, OwnerIgnoresTheDefault) {
  SniSelector s;
  ASSERT_TRUE(s.Add("a.example.com", 0).ok());
  ASSERT_TRUE(s.Add("*.b.example.com", 1).ok());
  s.SetDefault(0);
  EXPECT_EQ(s.Owner("a.example.com"), 0u);
  EXPECT_EQ(s.Owner("x.b.example.com"), 1u);          // owned by server 1: 421 on server 0
  EXPECT_EQ(s.Owner("c.example.com"), std::nullopt);  // nobody: 404
  EXPECT_EQ(s.Select("c.example.com"), 0u);
}

TEST(SniSelector, ReportsDuplicatesAndMalformedNames) {
  SniSelector s;
  ASSERT_TRUE(s.Add("a.example.com", 0).ok());
  auto dup = s.Add("A.example.com", 1);
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("already served by server #0"), std::string::npos);
  ASSERT_TRUE(s.Add("*.example.com", 0).ok());
  EXPECT_FALSE(s.Add("*.example.com", 2).ok());
  ASSERT_TRUE(s.Add("*", 0).ok());
  EXPECT_FALSE(s.Add("*", 1).ok());
  EXPECT_FALSE(s.Add("a.*.example.com", 0).ok());
  EXPECT_FALSE(s.Add("*foo.example.com", 0).ok());
  EXPECT_FALSE(s.Add("a..example.com", 0).ok());
  EXPECT_FALSE(s.Add("", 0).ok());
  EXPECT_FALSE(s.Add("bad host", 0).ok());
}

}  // namespace
}  // namespace gh::tls
