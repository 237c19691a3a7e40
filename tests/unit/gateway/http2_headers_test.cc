#include "gateway/http2_headers.h"

#include <gtest/gtest.h>

namespace gh::gateway {
namespace {

class FixedRandom final : public Random {
 public:
  uint64_t Next() override { return 0x0706050403020100ULL + (n_++ << 56); }

 private:
  uint64_t n_ = 0;
};

struct Built {
  Http2RequestHeaders::Outcome outcome;
  RequestHead head;
};

Built BuildRequest(std::vector<std::pair<std::string, std::string>> fields,
                   Http2RequestHeaders::Limits limits = {}) {
  Http2RequestHeaders headers(limits);
  for (auto& [n, v] : fields)
    headers.Add(n, v);
  FixedRandom random;
  Built built;
  built.outcome = headers.Build("http", {"websocket"}, random, &built.head);
  return built;
}

TEST(Http2RequestHeaders, MapsPseudoHeadersAndFields) {
  Built b = BuildRequest({{":method", "POST"},
                          {":scheme", "https"},
                          {":authority", "api.test:8443"},
                          {":path", "/v1/x?y=1"},
                          {"content-type", "application/json"},
                          {"content-length", "12"},
                          {"x-a", "1"}});
  ASSERT_EQ(b.outcome.status, 0) << b.outcome.detail;
  EXPECT_EQ(b.head.method, "POST");
  EXPECT_EQ(b.head.scheme, "http") << "the connection's scheme, not the client's claim";
  EXPECT_EQ(b.head.authority, "api.test:8443");
  EXPECT_EQ(b.head.path, "/v1/x?y=1");
  EXPECT_EQ(b.head.protocol, "HTTP/2");
  EXPECT_EQ(b.head.content_length, 12u);
  EXPECT_FALSE(b.head.headers.Has("content-length"));
  EXPECT_EQ(*b.head.headers.Get("x-a"), "1");
  EXPECT_TRUE(b.head.upgrade.empty());
}

TEST(Http2RequestHeaders, AuthorityFromHostAndMismatch) {
  Built host = BuildRequest({{":method", "GET"}, {":path", "/"}, {"host", "h.test"}});
  ASSERT_EQ(host.outcome.status, 0);
  EXPECT_EQ(host.head.authority, "h.test");
  EXPECT_FALSE(host.head.headers.Has("host"));

  Built same = BuildRequest(
      {{":method", "GET"}, {":path", "/"}, {":authority", "A.test"}, {"host", "a.test"}});
  EXPECT_EQ(same.outcome.status, 0);

  Built differ = BuildRequest(
      {{":method", "GET"}, {":path", "/"}, {":authority", "a.test"}, {"host", "b.test"}});
  EXPECT_EQ(differ.outcome.status, 400);
  EXPECT_EQ(differ.outcome.detail, "authority_host_mismatch");

  Built none = BuildRequest({{":method", "GET"}, {":path", "/"}});
  EXPECT_EQ(none.outcome.status, 400);
  EXPECT_EQ(none.outcome.detail, "missing_authority");

  Built bad = BuildRequest({{":method", "GET"}, {":path", "/"}, {":authority", "a b"}});
  EXPECT_EQ(bad.outcome.status, 400);
}

TEST(Http2RequestHeaders, PathRules) {
  EXPECT_EQ(BuildRequest({{":method", "GET"}, {":authority", "a"}}).outcome.detail, "missing_path");
  EXPECT_EQ(BuildRequest({{":method", "GET"}, {":authority", "a"}, {":path", "x"}}).outcome.status,
            400);
  EXPECT_EQ(
      BuildRequest({{":method", "OPTIONS"}, {":authority", "a"}, {":path", "*"}}).outcome.status,
      0);
  EXPECT_EQ(BuildRequest({{":method", "GET"}, {":authority", "a"}, {":path", "*"}}).outcome.status,
            400);
}

TEST(Http2RequestHeaders, ContentLengthAndExpect) {
  EXPECT_EQ(BuildRequest({{":method", "POST"},
                          {":authority", "a"},
                          {":path", "/"},
                          {"content-length", "1"},
                          {"content-length", "2"}})
                .outcome.detail,
            "conflicting_content_length");
  Built same = BuildRequest({{":method", "POST"},
                             {":authority", "a"},
                             {":path", "/"},
                             {"content-length", "5"},
                             {"content-length", "5"}});
  EXPECT_EQ(same.outcome.status, 0);
  EXPECT_EQ(same.head.content_length, 5u);
  EXPECT_EQ(BuildRequest(
                {{":method", "POST"}, {":authority", "a"}, {":path", "/"}, {"content-length", "x"}})
                .outcome.status,
            400);
  Built cont = BuildRequest(
      {{":method", "PUT"}, {":authority", "a"}, {":path", "/"}, {"expect", "100-continue"}});
  EXPECT_TRUE(cont.head.expect_continue);
  EXPECT_FALSE(cont.head.headers.Has("expect"));
  EXPECT_EQ(BuildRequest({{":method", "PUT"}, {":authority", "a"}, {":path", "/"}, {"expect", "x"}})
                .outcome.status,
            417);
}

TEST(Http2RequestHeaders, CookieCrumbsAreJoined) {
  Built b = BuildRequest({{":method", "GET"},
                          {":authority", "a"},
                          {":path", "/"},
                          {"cookie", "a=1"},
                          {"x", "y"},
                          {"cookie", "b=2"}});
  ASSERT_EQ(b.outcome.status, 0);
  EXPECT_EQ(b.head.headers.Count("cookie"), 1u);
  EXPECT_EQ(*b.head.headers.Get("cookie"), "a=1; b=2");
}

TEST(Http2RequestHeaders, SizeAndCountLimitsGive431) {
  Http2RequestHeaders::Limits limits;
  limits.max_list_bytes = 200;
  limits.max_fields = 3;
  Built big = BuildRequest(
      {{":method", "GET"}, {":authority", "a"}, {":path", "/"}, {"x", std::string(200, 'v')}},
      limits);
  EXPECT_EQ(big.outcome.status, 431);
  Built many = BuildRequest({{":method", "GET"},
                             {":authority", "a"},
                             {":path", "/"},
                             {"a", "1"},
                             {"b", "1"},
                             {"c", "1"},
                             {"d", "1"}},
                            limits);
  EXPECT_EQ(many.outcome.status, 431);
  Built ok = BuildRequest(
      {{":method", "GET"}, {":authority", "a"}, {":path", "/"}, {"a", "1"}, {"b", "1"}}, limits);
  EXPECT_EQ(ok.outcome.status, 0);
  EXPECT_EQ(HeaderListEntrySize("ab", "cde"), 37u);
}

TEST(Http2RequestHeaders, ConnectAndExtendedConnect) {
  Built plain = BuildRequest({{":method", "CONNECT"}, {":authority", "a:443"}});
  EXPECT_EQ(plain.outcome.status, 405);

  Built ws = BuildRequest({{":method", "CONNECT"},
                           {":protocol", "websocket"},
                           {":scheme", "http"},
                           {":authority", "ws.test"},
                           {":path", "/chat"},
                           {"sec-websocket-version", "13"}});
  ASSERT_EQ(ws.outcome.status, 0) << ws.outcome.detail;
  EXPECT_EQ(ws.head.method, "GET");
  EXPECT_EQ(ws.head.upgrade, "websocket");
  EXPECT_EQ(ws.head.path, "/chat");
  const std::string* key = ws.head.headers.Get("sec-websocket-key");
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->size(), 24u) << "base64 of 16 bytes";
  EXPECT_EQ(ws.head.headers.Count("sec-websocket-version"), 1u);

  Built other = BuildRequest(
      {{":method", "CONNECT"}, {":protocol", "h2c-tunnel"}, {":authority", "a"}, {":path", "/"}});
  EXPECT_EQ(other.outcome.status, 403);
  Built stray = BuildRequest(
      {{":method", "GET"}, {":protocol", "websocket"}, {":authority", "a"}, {":path", "/"}});
  EXPECT_EQ(stray.outcome.status, 400);
}

TEST(Http2ResponseHeaders, StatusLengthAndForbiddenFields) {
  Http2ResponseHeaders r(1024);
  r.Add(":status", "201");
  r.Add("content-length", "42");
  r.Add("connection", "keep-alive");
  r.Add("x-b", "2");
  ResponseHead head;
  ASSERT_TRUE(r.Build(&head));
  EXPECT_EQ(head.status, 201);
  EXPECT_EQ(head.content_length, 42u);
  EXPECT_FALSE(head.headers.Has("content-length"));
  EXPECT_FALSE(head.headers.Has("connection"));
  EXPECT_EQ(*head.headers.Get("x-b"), "2");

  Http2ResponseHeaders missing(1024);
  missing.Add("x", "1");
  EXPECT_FALSE(missing.Build(&head));
  Http2ResponseHeaders bad(1024);
  bad.Add(":status", "2000");
  EXPECT_FALSE(bad.Build(&head));
  Http2ResponseHeaders huge(64);
  huge.Add(":status", "200");
  huge.Add("x", std::string(100, 'a'));
  EXPECT_TRUE(huge.over_limit());
  EXPECT_FALSE(huge.Build(&head));

  Http2ResponseHeaders trailers(1024);
  trailers.Add("grpc-status", "0");
  trailers.Add("grpc-message", "");
  http::HeaderMap t = trailers.TakeFields();
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(*t.Get("grpc-status"), "0");
}

TEST(Http2Headers, ConnectionSpecificFieldsAndBase64) {
  for (const char* name : {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                           "upgrade", "te", "host"}) {
    EXPECT_TRUE(IsConnectionSpecificHeader(name)) << name;
  }
  EXPECT_FALSE(IsConnectionSpecificHeader("content-length"));
  EXPECT_FALSE(IsConnectionSpecificHeader("x-te"));
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

}  // namespace
}  // namespace gh::gateway
