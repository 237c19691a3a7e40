// Every malformed or abusive request gets its exact status over a raw
// socket and the connection is closed; nothing reaches the upstream.
#include <gtest/gtest.h>

#include "tests/integration/proxy_fixture.h"

namespace gh::test {
namespace {

struct Case {
  std::string name;
  std::string bytes;
  int status;
};

class Http1Rejection : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = new ProxyEnv({.proxy_keys = "max_request_headers_bytes = 8192\n"
                                       "max_request_headers = 20\n"
                                       "max_request_body_bytes = 1000"});
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }
  static ProxyEnv* env_;
};
ProxyEnv* Http1Rejection::env_ = nullptr;

TEST_F(Http1Rejection, EachMalformedRequestGetsItsStatusAndAClose) {
  std::string many_headers = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 25; ++i)
    many_headers += "X-H" + std::to_string(i) + ": v\r\n";
  many_headers += "\r\n";
  const std::vector<Case> cases = {
      {"cl_and_te",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       400},
      {"duplicate_cl",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
       "Content-Length: 2\r\n\r\nab",
       400},
      {"malformed_cl", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1e3\r\n\r\n", 400},
      {"bad_chunk_size",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
       "xyz\r\nabc\r\n0\r\n\r\n",
       400},
      {"chunk_size_overflow",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
       "10000000000000000\r\n",
       400},
      {"bare_lf", "GET / HTTP/1.1\nHost: a\n\n", 400},
      {"obs_fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\tfolded\r\n\r\n", 400},
      {"nul_in_value", std::string("GET / HTTP/1.1\r\nHost: a\r\nX-A: a\0b\r\n\r\n", 36), 400},
      {"ctl_in_value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x07z\r\n\r\n", 400},
      {"space_before_colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
      {"invalid_method", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"invalid_target", "GET nope HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"missing_host", "GET / HTTP/1.1\r\n\r\n", 400},
      {"two_hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"absolute_form_mismatch", "GET http://evil.example/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"underscore_header", "GET / HTTP/1.1\r\nHost: a\r\nX_User: admin\r\n\r\n", 400},
      {"long_request_line", "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", 431},
      {"big_header_block",
       "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(9000, 'b') + "\r\n\r\n", 431},
      {"too_many_headers", many_headers, 431},
      {"body_over_limit", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n", 413},
      {"unsupported_te", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
      {"unknown_expectation", "GET / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n", 417},
      {"connect_method", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 405},
      {"disallowed_upgrade",
       "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
       "Upgrade: h2c\r\n\r\n",
       403},
  };
  env_->upstream().ResetStats();
  for (const Case& c : cases) {
    RawClient client(env_->port());
    ASSERT_TRUE(client.Send(c.bytes)) << c.name;
    HttpResponse r = client.ReadResponse(milliseconds(5000));
    ASSERT_TRUE(r.ok) << c.name << ": " << r.Describe();
    EXPECT_EQ(r.status, c.status) << c.name;
    if (c.status != 413) {
      EXPECT_EQ(r.Header("connection"), "close") << c.name;
    }
    EXPECT_TRUE(client.IsClosed(milliseconds(3000))) << c.name << " left the connection open";
  }
  EXPECT_EQ(env_->upstream().Stats().requests, 0) << "a rejected request reached the upstream";
}

TEST_F(Http1Rejection, ChunkedBodyOverLimitIs413) {
  RawClient client(env_->port());
  ASSERT_TRUE(client.Send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
                          Chunk(std::string(600, 'x')) + Chunk(std::string(600, 'y'))));
  HttpResponse r = client.ReadResponse(milliseconds(5000));
  ASSERT_TRUE(r.ok) << r.Describe();
  EXPECT_EQ(r.status, 413);
  EXPECT_TRUE(client.IsClosed(milliseconds(3000)));
}

TEST_F(Http1Rejection, SmuggledSecondRequestNeverReachesUpstream) {
  // A classic CL.TE desync attempt: rejected as a whole, nothing forwarded.
  env_->upstream().ResetStats();
  RawClient client(env_->port());
  ASSERT_TRUE(
      client.Send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 44\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                  "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n"));
  HttpResponse r = client.ReadResponse(milliseconds(5000));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(client.IsClosed(milliseconds(3000)));
  EXPECT_EQ(env_->upstream().Stats().requests, 0);
}

}  // namespace
}  // namespace gh::test
