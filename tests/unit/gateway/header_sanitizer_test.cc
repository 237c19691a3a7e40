#include "gateway/header_sanitizer.h"

#include <gtest/gtest.h>

namespace gh::gateway {
namespace {

TEST(HeaderSanitizer, RemovesHopByHopAndConnectionNamed) {
  http::HeaderMap h;
  h.Add("connection", "keep-alive, x-secret, Upgrade");
  h.Add("keep-alive", "timeout=5");
  h.Add("proxy-connection", "close");
  h.Add("transfer-encoding", "chunked");
  h.Add("x-secret", "1");
  h.Add("te", "trailers, deflate");
  h.Add("accept", "*/*");
  h.Add("upgrade", "websocket");
  // Same lengths as connection-specific names, so they must survive.
  h.Add("x-abcde", "7");
  h.Add("keep-alivx", "10");
  h.Add("tx", "2");
  EXPECT_TRUE(RemoveHopByHopHeaders(h));
  EXPECT_FALSE(h.Has("upgrade"));
  EXPECT_TRUE(h.Has("x-abcde"));
  EXPECT_TRUE(h.Has("keep-alivx"));
  EXPECT_TRUE(h.Has("tx"));
  EXPECT_FALSE(h.Has("connection"));
  EXPECT_FALSE(h.Has("keep-alive"));
  EXPECT_FALSE(h.Has("proxy-connection"));
  EXPECT_FALSE(h.Has("transfer-encoding"));
  EXPECT_FALSE(h.Has("x-secret"));
  EXPECT_EQ(*h.Get("te"), "trailers");  // only "trailers" may pass
  EXPECT_TRUE(h.Has("accept"));
}

TEST(HeaderSanitizer, ConnectionCannotStripForwardingHeaders) {
  http::HeaderMap h;
  h.Add("connection", "host, content-length, x-forwarded-for");
  h.Add("x-forwarded-for", "10.0.0.1");
  RemoveHopByHopHeaders(h);
  EXPECT_TRUE(h.Has("x-forwarded-for"));
}

TEST(HeaderSanitizer, RequestForwardingHeadersAndInternalOnes) {
  FastRandom random(1);
  http::HeaderMap h;
  h.Add("x-envoy-retry-on", "5xx");
  h.Add("x-gatehouse-debug", "1");
  h.Add("x-forwarded-proto", "https");
  h.Add("x-forwarded-for", "203.0.113.9");
  RequestSanitizeOptions options;
  options.peer_ip = "127.0.0.1";
  options.scheme = "http";
  EXPECT_EQ(SanitizeRequestHeaders(h, options, random).status, 0);
  EXPECT_FALSE(h.Has("x-envoy-retry-on"));
  EXPECT_FALSE(h.Has("x-gatehouse-debug"));
  EXPECT_EQ(*h.Get("x-forwarded-proto"), "http");  // client value not trusted
  EXPECT_EQ(*h.Get("x-forwarded-for"), "203.0.113.9, 127.0.0.1");
  ASSERT_TRUE(h.Has("x-request-id"));
  EXPECT_TRUE(IsValidRequestId(*h.Get("x-request-id")));
}

TEST(HeaderSanitizer, TrustedHopsKeepControlHeaders) {
  FastRandom random(1);
  http::HeaderMap h;
  h.Add("x-envoy-retry-on", "5xx");
  h.Add("x-forwarded-proto", "https");
  h.Add("x-request-id", "abc-123");
  RequestSanitizeOptions options;
  options.trusted_hops = 1;
  options.peer_ip = "10.0.0.2";
  EXPECT_EQ(SanitizeRequestHeaders(h, options, random).status, 0);
  EXPECT_TRUE(h.Has("x-envoy-retry-on"));
  EXPECT_EQ(*h.Get("x-forwarded-proto"), "https");
  EXPECT_EQ(*h.Get("x-request-id"), "abc-123");
}

TEST(HeaderSanitizer, UnderscoresRejectedOrDropped) {
  FastRandom random(1);
  http::HeaderMap h;
  h.Add("x_user", "admin");
  RequestSanitizeOptions options;
  EXPECT_EQ(SanitizeRequestHeaders(h, options, random).status, 400);
  options.underscores = routing::HeadersWithUnderscores::kDropHeader;
  EXPECT_EQ(SanitizeRequestHeaders(h, options, random).status, 0);
  EXPECT_FALSE(h.Has("x_user"));
}

TEST(HeaderSanitizer, InvalidRequestIdReplaced) {
  FastRandom random(1);
  http::HeaderMap h;
  h.Add("x-request-id", "bad id with spaces");
  RequestSanitizeOptions options;
  ASSERT_EQ(SanitizeRequestHeaders(h, options, random).status, 0);
  EXPECT_NE(*h.Get("x-request-id"), "bad id with spaces");
}

TEST(HeaderSanitizer, ResponseStripsInternalAndSetsServer) {
  http::HeaderMap h;
  h.Add("x-envoy-upstream-service-time", "3");
  h.Add("server", "origin/1.0");
  h.Add("connection", "close");
  h.Add("transfer-encoding", "chunked");
  h.Add("content-type", "text/plain");
  SanitizeResponseHeaders(h, "gatehouse", false);
  EXPECT_FALSE(h.Has("x-envoy-upstream-service-time"));
  EXPECT_FALSE(h.Has("connection"));
  EXPECT_FALSE(h.Has("transfer-encoding"));
  EXPECT_EQ(*h.Get("server"), "gatehouse");
  EXPECT_TRUE(h.Has("content-type"));
}

TEST(HeaderSanitizer, UpgradeResponseKeepsUpgradeHeaders) {
  http::HeaderMap h;
  h.Add("connection", "Upgrade");
  h.Add("upgrade", "websocket");
  h.Add("sec-websocket-accept", "abc");
  SanitizeResponseHeaders(h, "", true);
  EXPECT_EQ(*h.Get("upgrade"), "websocket");
  EXPECT_EQ(*h.Get("connection"), "upgrade");
  EXPECT_TRUE(h.Has("sec-websocket-accept"));
}

TEST(HeaderSanitizer, OriginalClientIpHonoursTrustedHops) {
  http::HeaderMap h;
  h.Add("x-forwarded-for", "198.51.100.7, 10.0.0.1");
  EXPECT_EQ(OriginalClientIp(h, "10.0.0.2", 0), "10.0.0.2");
  EXPECT_EQ(OriginalClientIp(h, "10.0.0.2", 1), "10.0.0.1");
  EXPECT_EQ(OriginalClientIp(h, "10.0.0.2", 2), "198.51.100.7");
  EXPECT_EQ(OriginalClientIp(h, "10.0.0.2", 3), "10.0.0.2");  // not enough hops
}

TEST(HeaderSanitizer, GeneratedRequestIdIsUuidV4) {
  FastRandom random(99);
  const std::string id = GenerateRequestId(random);
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[8], '-');
  EXPECT_EQ(id[14], '4');
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
  EXPECT_NE(id, GenerateRequestId(random));
}

}  // namespace
}  // namespace gh::gateway
