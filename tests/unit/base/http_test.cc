#include "base/http.h"

#include <gtest/gtest.h>

namespace gh::http {
namespace {

// Every length around the word sizes, a difference at every position.
TEST(HeaderMap, NameEqualsComparesEveryByte) {
  for (size_t n = 0; n <= 20; ++n) {
    const std::string a(n, 'k');
    EXPECT_TRUE(http::NameEquals(a, std::string(n, 'k')));
    EXPECT_FALSE(http::NameEquals(a, std::string(n + 1, 'k')));
    for (size_t i = 0; i < n; ++i) {
      std::string b = a;
      b[i] = 'x';
      EXPECT_FALSE(http::NameEquals(a, b)) << n << " " << i;
    }
  }
}

TEST(HeaderMap, SetReplacesAllAndKeepsPosition) {
  HeaderMap h;
  h.Add("a", "1");
  h.Add("x", "1");
  h.Add("b", "2");
  h.Add("x", "2");
  h.Set("x", "3");
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h.fields()[1].name, "x");
  EXPECT_EQ(*h.Get("x"), "3");
  EXPECT_EQ(h.Count("x"), 1u);
}

TEST(HeaderMap, AppendJoinsWithComma) {
  HeaderMap h;
  h.Append("x-forwarded-for", "10.0.0.1");
  h.Append("x-forwarded-for", "127.0.0.1");
  EXPECT_EQ(*h.Get("x-forwarded-for"), "10.0.0.1, 127.0.0.1");
}

TEST(HeaderMap, RemoveAndPrefix) {
  HeaderMap h;
  h.Add("x-envoy-a", "1");
  h.Add("x-envoy-b", "1");
  h.Add("host", "a");
  EXPECT_EQ(h.RemovePrefix("x-envoy-"), 2u);
  EXPECT_EQ(h.Remove("host"), 1u);
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.Get("host"), nullptr);
}

TEST(ReasonPhrase, Known) {
  EXPECT_EQ(ReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(ReasonPhrase(599), "Unknown");
}

}  // namespace
}  // namespace gh::http
