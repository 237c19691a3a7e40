#include "base/http.h"

#include <gtest/gtest.h>

namespace gh::http {
namespace {

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
