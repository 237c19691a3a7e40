#include "routing/host.h"

#include <gtest/gtest.h>

namespace gh::routing {
namespace {

TEST(Host, StripPort) {
  EXPECT_EQ(StripPort("example.com:8080"), "example.com");
  EXPECT_EQ(StripPort("example.com"), "example.com");
  EXPECT_EQ(StripPort("[::1]:443"), "[::1]");
  EXPECT_EQ(StripPort("[::1]"), "[::1]");
  EXPECT_EQ(StripPort("::1"), "::1");
  EXPECT_EQ(AuthorityPort("a.com:8080"), 8080);
  EXPECT_EQ(AuthorityPort("a.com"), std::nullopt);
  EXPECT_EQ(AuthorityPort("a.com:99999"), std::nullopt);
  EXPECT_EQ(AuthorityPort("[::1]:80"), 80);
}

TEST(Host, WildcardMatchesOneOrMoreLabelsButNotTheApex) {
  EXPECT_TRUE(HostMatches("*", "anything"));
  EXPECT_TRUE(HostMatches("*.foo.com", "a.foo.com"));
  EXPECT_TRUE(HostMatches("*.foo.com", "a.b.foo.com"));
  EXPECT_FALSE(HostMatches("*.foo.com", "foo.com"));
  EXPECT_FALSE(HostMatches("*.foo.com", "afoo.com"));
  EXPECT_TRUE(HostMatches("a.foo.com", "a.foo.com"));
  EXPECT_FALSE(HostMatches("a.foo.com", "b.foo.com"));
}

TEST(Host, IntersectionKeepsTheMoreSpecificSide) {
  EXPECT_EQ(IntersectHosts("*.foo.com", "a.foo.com"), "a.foo.com");
  EXPECT_EQ(IntersectHosts("a.foo.com", "*.foo.com"), "a.foo.com");
  EXPECT_EQ(IntersectHosts("*", "a.foo.com"), "a.foo.com");
  EXPECT_EQ(IntersectHosts("*", "*.foo.com"), "*.foo.com");
  EXPECT_EQ(IntersectHosts("*.foo.com", "*.bar.foo.com"), "*.bar.foo.com");
  EXPECT_EQ(IntersectHosts("*.bar.foo.com", "*.foo.com"), "*.bar.foo.com");
  EXPECT_EQ(IntersectHosts("*", "*"), "*");
  EXPECT_EQ(IntersectHosts("a.com", "b.com"), std::nullopt);
  EXPECT_EQ(IntersectHosts("*.foo.com", "*.bar.com"), std::nullopt);
  EXPECT_EQ(IntersectHosts("*.foo.com", "foo.com"), std::nullopt);
}

TEST(Host, Validation) {
  EXPECT_EQ(ValidateHostPattern("a.example.com", false), "");
  EXPECT_EQ(ValidateHostPattern("*.example.com", true), "");
  EXPECT_EQ(ValidateHostPattern("*", true), "");
  EXPECT_NE(ValidateHostPattern("*", false), "");
  EXPECT_NE(ValidateHostPattern("a.*.com", true), "");
  EXPECT_NE(ValidateHostPattern("*foo.com", true), "");
  EXPECT_NE(ValidateHostPattern("a..com", true), "");
  EXPECT_NE(ValidateHostPattern("", true), "");
  EXPECT_NE(ValidateHostPattern("a b.com", true), "");
  EXPECT_NE(ValidateHostPattern(std::string(64, 'a') + ".com", true), "");
}

}  // namespace
}  // namespace gh::routing
