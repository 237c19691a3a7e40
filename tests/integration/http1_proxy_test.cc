// HTTP/1.1 proxying through the real binary: bodies both ways, framing,
// keep-alive and pipelining, HTTP/1.0, 100-continue, header hygiene.
#include <gtest/gtest.h>

#include "tests/integration/proxy_fixture.h"

namespace gh::test {
namespace {

std::string HeaderOf(const Json& echo, std::string_view name) {
  for (const auto& pair : echo["headers"]) {
    if (pair[0].get<std::string>() == name) return pair[1].get<std::string>();
  }
  return "<absent>";
}

TEST(Http1Proxy, GetPostPutWithBodiesEchoed) {
  ProxyEnv env;
  auto get = Curl({env.Url("/hello?x=1")});
  ASSERT_EQ(get.status, 200) << get.Describe();
  Json echo = ParseJson(get.body);
  EXPECT_EQ(echo["method"], "GET");
  EXPECT_EQ(echo["target"], "/hello?x=1");

  const std::string body = PatternBytes(0, 300000);
  TempDir dir;
  const std::string file = dir.path() + "/body";
  WriteFile(file, body);
  for (const std::string method : {"POST", "PUT"}) {
    auto r = Curl({"-X", method, "--data-binary", "@" + file, env.Url("/up")});
    ASSERT_EQ(r.status, 200) << r.Describe();
    Json e = ParseJson(r.body);
    EXPECT_EQ(e["method"], method);
    EXPECT_EQ(e["body_length"], body.size());
    EXPECT_EQ(e["body_sha256"], Sha256Hex(body));
    EXPECT_EQ(HeaderOf(e, "content-length"), std::to_string(body.size()));
  }
}

TEST(Http1Proxy, ChunkedBothWays) {
  ProxyEnv env;
  // Chunked request: the upstream sees the same bytes (re-framed chunked).
  RawClient client(env.port());
  ASSERT_TRUE(client.Send("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
                          Chunk("hello ") + Chunk("chunked world") + LastChunk({{"x-t", "1"}})));
  HttpResponse r = client.ReadResponse(milliseconds(5000));
  ASSERT_TRUE(r.ok) << r.Describe();
  Json e = ParseJson(r.body);
  EXPECT_EQ(e["body"], "hello chunked world");
  EXPECT_EQ(HeaderOf(e, "transfer-encoding"), "chunked");
  ASSERT_EQ(e["trailers"].size(), 1u);
  EXPECT_EQ(e["trailers"][0][0], "x-t");

  // Chunked response with trailers reaches the client chunked, trailers intact.
  ASSERT_TRUE(client.Send(BuildRequest("GET", "/r",
                                       {{"Host", "a"},
                                        {"x-upstream-body-size", "100000"},
                                        {"x-upstream-chunked", "1"},
                                        {"x-upstream-trailers", "grpc-status=0"}})));
  r = client.ReadResponse(milliseconds(5000));
  ASSERT_TRUE(r.ok) << r.Describe();
  EXPECT_TRUE(r.chunked);
  EXPECT_EQ(r.body, PatternBytes(0, 100000));
  EXPECT_EQ(r.Trailer("grpc-status"), "0");
}

TEST(Http1Proxy, CloseDelimitedUpstreamBodyBecomesChunked) {
  ProxyEnv env;
  RawClient client(env.port());
  ASSERT_TRUE(client.Send(BuildRequest(
      "GET", "/",
      {{"Host", "a"}, {"x-upstream-body-size", "5000"}, {"x-upstream-no-content-length", "1"}})));
  HttpResponse r = client.ReadResponse(milliseconds(5000));
  ASSERT_TRUE(r.ok) << r.Describe();
  EXPECT_TRUE(r.chunked);  // framed for a keep-alive client
  EXPECT_EQ(r.body, PatternBytes(0, 5000));
  EXPECT_FALSE(r.peer_closed);
}

TEST(Http1Proxy, KeepAliveReusesUpstreamConnections) {
  ProxyEnv env;
  for (int i = 0; i < 5; ++i) {
    auto r = Curl({env.Url("/k")});
    ASSERT_EQ(r.status, 200) << r.Describe();
  }
  const UpstreamStats stats = env.upstream().Stats();
  EXPECT_EQ(stats.requests, 5);
  EXPECT_EQ(stats.accepts, 1) << "five downstream connections shared one upstream connection";
}

TEST(Http1Proxy, PipelinedRequestsAnsweredInOrder) {
  ProxyEnv env;
  RawClient client(env.port());
  std::string batch;
  for (int i = 0; i < 5; ++i) {
    // The first is slow: later ones must still come back after it.
    Headers h = {{"Host", "a"}};
    if (i == 0) h.push_back({"x-upstream-delay-ms", "200"});
    batch += BuildRequest("GET", "/p" + std::to_string(i), h);
  }
  ASSERT_TRUE(client.Send(batch));
  for (int i = 0; i < 5; ++i) {
    HttpResponse r = client.ReadResponse(milliseconds(5000));
    ASSERT_TRUE(r.ok) << i << ": " << r.Describe();
    EXPECT_EQ(ParseJson(r.body)["path"], "/p" + std::to_string(i));
  }
}

TEST(Http1Proxy, Http10WithAndWithoutKeepAlive) {
  ProxyEnv env;
  {
    RawClient client(env.port());
    ASSERT_TRUE(client.Send("GET /a HTTP/1.0\r\n\r\n"));
    HttpResponse r = client.ReadResponse(milliseconds(5000));
    ASSERT_TRUE(r.ok) << r.Describe();
    EXPECT_EQ(r.status, 200);
    // No Host from the client: the upstream gets the service's name, not an
    // empty Host (which an HTTP/1.1 origin answers with 400).
    Json echo = ParseJson(r.body);
    std::string host = "<missing>";
    for (const auto& h : echo["headers"]) {
      if (h[0] == "host") host = h[1].get<std::string>();
    }
    EXPECT_EQ(host, "origin.internal");
    EXPECT_TRUE(client.IsClosed(milliseconds(2000)));
  }
  {
    RawClient client(env.port());
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(client.Send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
      HttpResponse r = client.ReadResponse(milliseconds(5000));
      ASSERT_TRUE(r.ok) << r.Describe();
      EXPECT_EQ(r.Header("connection"), "keep-alive");
      EXPECT_FALSE(r.peer_closed);
    }
  }
}

TEST(Http1Proxy, ExpectContinueAnsweredBeforeBody) {
  ProxyEnv env;
  RawClient client(env.port());
  ASSERT_TRUE(client.Send(
      "PUT /e HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  const std::string interim = client.ReadSome(milliseconds(3000));
  EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0), 0u) << interim;
  ASSERT_TRUE(client.Send("hello"));
  HttpResponse r = client.ReadResponse(milliseconds(5000));
  ASSERT_TRUE(r.ok) << r.Describe();
  Json e = ParseJson(r.body);
  EXPECT_EQ(e["body"], "hello");
  EXPECT_EQ(HeaderOf(e, "expect"), "<absent>");
}

TEST(Http1Proxy, HeaderHygieneBothWays) {
  ProxyEnv env;
  auto r =
      Curl({"-H", "Connection: keep-alive, x-drop-me", "-H", "x-drop-me: 1", "-H",
            "x-envoy-retry-on: 5xx", "-H", "x-gatehouse-debug: 1", "-H", "x-forwarded-proto: https",
            "-H", "x-forwarded-for: 203.0.113.1", "-H", "x-request-id: req-123", "-H",
            "x-upstream-header: x-envoy-upstream-service-time=5", "-H",
            "x-upstream-header: server=origin", env.Url("/h")});
  ASSERT_EQ(r.status, 200) << r.Describe();
  Json e = ParseJson(r.body);
  EXPECT_EQ(HeaderOf(e, "x-drop-me"), "<absent>");
  EXPECT_EQ(HeaderOf(e, "connection"), "<absent>");
  EXPECT_EQ(HeaderOf(e, "x-envoy-retry-on"), "<absent>");
  EXPECT_EQ(HeaderOf(e, "x-gatehouse-debug"), "<absent>");
  EXPECT_EQ(HeaderOf(e, "x-forwarded-proto"), "http");
  EXPECT_EQ(HeaderOf(e, "x-forwarded-for"), "203.0.113.1, 127.0.0.1");
  EXPECT_EQ(HeaderOf(e, "x-request-id"), "req-123");
  // Internal response headers never leak; the server header is ours.
  EXPECT_FALSE(r.Header("x-envoy-upstream-service-time").has_value());
  EXPECT_EQ(r.Header("server"), "gatehouse");

  auto fresh = Curl({env.Url("/id")});
  ASSERT_EQ(fresh.status, 200);
  EXPECT_EQ(HeaderOf(ParseJson(fresh.body), "x-request-id").size(), 36u);  // generated UUID
}

TEST(Http1Proxy, ConfigurableServerHeader) {
  ProxyEnv env({.proxy_keys = "server_header = \"edge-1\""});
  auto r = Curl({env.Url("/")});
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.Header("server"), "edge-1");
}

TEST(Http1Proxy, HeadAndNoContentResponses) {
  ProxyEnv env;
  RawClient client(env.port());
  ASSERT_TRUE(
      client.Send(BuildRequest("HEAD", "/", {{"Host", "a"}, {"x-upstream-body-size", "1234"}})));
  HttpResponse r = client.ReadResponse(milliseconds(5000), {.head_request = true});
  ASSERT_TRUE(r.ok) << r.Describe();
  EXPECT_EQ(r.Header("content-length"), "1234");
  ASSERT_TRUE(client.Send(BuildRequest("GET", "/", {{"Host", "a"}, {"x-upstream-status", "204"}})));
  r = client.ReadResponse(milliseconds(5000));
  ASSERT_TRUE(r.ok) << r.Describe();
  EXPECT_EQ(r.status, 204);
  EXPECT_FALSE(r.HasHeader("transfer-encoding"));
  // The connection is still usable after both.
  ASSERT_TRUE(client.Send(BuildRequest("GET", "/after", {{"Host", "a"}})));
  r = client.ReadResponse(milliseconds(5000));
  ASSERT_TRUE(r.ok) << r.Describe();
  EXPECT_EQ(ParseJson(r.body)["path"], "/after");
}

TEST(Http1Proxy, AccessLogLineHasIstioFields) {
  ProxyEnv env;
  auto r = Curl({"-A", "test-agent", env.Url("/logged?q=1")});
  ASSERT_EQ(r.status, 200);
  const std::string line = env.LastLogLine(1);
  EXPECT_NE(line.find("\"GET /logged?q=1 HTTP/1.1\" 200 - via_upstream"), std::string::npos)
      << line;
  EXPECT_NE(line.find("\"test-agent\""), std::string::npos) << line;
  EXPECT_NE(line.find("outbound|80||origin.internal"), std::string::npos) << line;
  EXPECT_NE(line.find("routes.0"), std::string::npos) << line;
}

}  // namespace
}  // namespace gh::test
