#include "gateway/http1_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gh::gateway {
namespace {

struct Recorder : Http1Parser::Callbacks {
  std::vector<MessageHead> heads;
  std::string body;
  int completed = 0;
  http::HeaderMap trailers;
  bool skip_body = false;
  bool OnHead(MessageHead& head) override {
    heads.push_back(head);
    return skip_body;
  }
  void OnBody(std::string_view data) override { body.append(data); }
  void OnMessageComplete(http::HeaderMap* t) override {
    ++completed;
    if (t != nullptr) trailers = *t;
  }
};

Http1Parser::Outcome ParseRequest(std::string_view bytes, Recorder& r,
                                  Http1Parser::Limits limits = {}) {
  Http1Parser parser(Http1Parser::Kind::kRequest, limits, &r);
  return parser.Feed(bytes);
}

int StatusOf(std::string_view bytes) {
  Recorder r;
  const auto outcome = ParseRequest(bytes, r);
  return outcome.status == Http1Parser::Status::kError ? outcome.http_status : 0;
}

TEST(Http1Parser, SimpleGetPausesAfterMessage) {
  Recorder r;
  const std::string req = "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-Foo:  bar \r\n\r\nGET /next";
  Http1Parser parser(Http1Parser::Kind::kRequest, {}, &r);
  const auto outcome = parser.Feed(req);
  EXPECT_EQ(outcome.status, Http1Parser::Status::kPaused);
  EXPECT_EQ(req.substr(outcome.consumed), "GET /next");
  ASSERT_EQ(r.heads.size(), 1u);
  EXPECT_EQ(r.heads[0].method, "GET");
  EXPECT_EQ(r.heads[0].target, "/a?b=1");
  EXPECT_EQ(*r.heads[0].headers.Get("x-foo"), "bar");  // lowercased name, trimmed value
  EXPECT_TRUE(r.heads[0].keep_alive);
  EXPECT_EQ(r.completed, 1);
}

TEST(Http1Parser, ChunkedBodyWithTrailers) {
  Recorder r;
  const auto outcome = ParseRequest(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n",
      r);
  EXPECT_EQ(outcome.status, Http1Parser::Status::kPaused);
  EXPECT_TRUE(r.heads[0].chunked);
  EXPECT_EQ(r.body, "hello world");
  EXPECT_EQ(*r.trailers.Get("x-sum"), "42");
}

TEST(Http1Parser, BodySplitAcrossFeeds) {
  Recorder r;
  Http1Parser parser(Http1Parser::Kind::kRequest, {}, &r);
  EXPECT_EQ(parser.Feed("PUT / HTTP/1.1\r\nHost: x\r\nContent-Le").status,
            Http1Parser::Status::kOk);
  EXPECT_EQ(parser.Feed("ngth: 10\r\n\r\n01234").status, Http1Parser::Status::kOk);
  EXPECT_EQ(parser.Feed("56789").status, Http1Parser::Status::kPaused);
  EXPECT_EQ(r.heads[0].content_length, 10u);
  EXPECT_EQ(r.body, "0123456789");
}

// Names and values are kept as views into the buffer being parsed; one cut
// by the end of a buffer must be copied before the caller reuses it.
TEST(Http1Parser, HeadersSplitAcrossReusedBuffers) {
  const std::string req =
      "GET / HTTP/1.1\r\nHost: example.com\r\nX-Long-Header-Name: some value here\r\n"
      "Accept:  */* \r\n\r\n";
  for (size_t cut = 1; cut <= 7; ++cut) {
    Recorder r;
    Http1Parser parser(Http1Parser::Kind::kRequest, {}, &r);
    std::string buffer;
    Http1Parser::Outcome outcome;
    for (size_t at = 0; at < req.size(); at += cut) {
      buffer = req.substr(at, cut);
      outcome = parser.Feed(buffer);
      buffer.assign(buffer.size(), '#');  // the read buffer is reused
    }
    ASSERT_EQ(outcome.status, Http1Parser::Status::kPaused) << "cut " << cut;
    ASSERT_EQ(r.heads.size(), 1u);
    EXPECT_EQ(*r.heads[0].headers.Get("host"), "example.com") << "cut " << cut;
    EXPECT_EQ(*r.heads[0].headers.Get("x-long-header-name"), "some value here") << "cut " << cut;
    EXPECT_EQ(*r.heads[0].headers.Get("accept"), "*/*") << "cut " << cut;
  }
}

TEST(Http1Parser, SmugglingAndSyntaxRejectedWith400) {
  // CL + TE together.
  EXPECT_EQ(StatusOf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            400);
  // Duplicate and malformed Content-Length.
  EXPECT_EQ(StatusOf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"
                     "abc"),
            400);
  EXPECT_EQ(StatusOf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3x\r\n\r\nabc"), 400);
  EXPECT_EQ(StatusOf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"), 400);
  // Bad chunk syntax and chunk-size overflow.
  EXPECT_EQ(StatusOf("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
            400);
  EXPECT_EQ(StatusOf("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "fffffffffffffffffff\r\n"),
            400);
  // Bare LF line endings.
  EXPECT_EQ(StatusOf("GET / HTTP/1.1\nHost: x\n\n"), 400);
  EXPECT_EQ(StatusOf("GET / HTTP/1.1\r\nHost: x\n\r\n"), 400);
  // obs-fold.
  EXPECT_EQ(StatusOf("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  continued\r\n\r\n"), 400);
  // NUL / CTL in a value, space before colon, bad name characters.
  EXPECT_EQ(StatusOf(std::string("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 35)), 400);
  EXPECT_EQ(StatusOf("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01"
                     "b\r\n\r\n"),
            400);
  // Every control byte but HTAB, and DEL, in request and response values
  // (llhttp's strict mode checks them; the parser adds no second pass).
  for (int c = 0; c < 0x80; ++c) {
    if (c == '\r' || c == '\n' || (c >= 0x20 && c != 0x7f)) continue;
    const std::string value = std::string("a") + static_cast<char>(c) + "b";
    const int want = c == '\t' ? 0 : 400;
    EXPECT_EQ(StatusOf("GET / HTTP/1.1\r\nHost: x\r\nX-A: " + value + "\r\n\r\n"), want) << c;
    Recorder r;
    Http1Parser response(Http1Parser::Kind::kResponse, {}, &r);
    const auto outcome =
        response.Feed("HTTP/1.1 200 OK\r\nX-A: " + value + "\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(outcome.status == Http1Parser::Status::kError, want != 0) << c;
  }
  EXPECT_EQ(StatusOf("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), 400);
  EXPECT_EQ(StatusOf("GET / HTTP/1.1\r\nX(A): 1\r\nHost: x\r\n\r\n"), 400);
  // Invalid method and request-target, unknown version.
  EXPECT_EQ(StatusOf("G@T / HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
  EXPECT_EQ(StatusOf("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
  EXPECT_EQ(StatusOf("GET / HTTP/3.7\r\nHost: x\r\n\r\n"), 400);
}

TEST(Http1Parser, UnsupportedTransferEncodingIs501) {
  EXPECT_EQ(StatusOf("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            501);
  EXPECT_EQ(StatusOf("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"), 501);
}

TEST(Http1Parser, HeaderLimitsGive431) {
  Http1Parser::Limits limits{1024, 5};
  Recorder r;
  std::string many = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 5; ++i)
    many += "X-" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  auto outcome = ParseRequest(many, r, limits);
  EXPECT_EQ(outcome.status, Http1Parser::Status::kError);
  EXPECT_EQ(outcome.http_status, 431);

  std::string big = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n";
  Recorder r2;
  outcome = ParseRequest(big, r2, limits);
  EXPECT_EQ(outcome.http_status, 431);

  std::string long_line = "GET /" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n";
  Recorder r3;
  outcome = ParseRequest(long_line, r3, limits);
  EXPECT_EQ(outcome.http_status, 431);
}

TEST(Http1Parser, RejectFromOnHead) {
  struct Rejecter : Recorder {
    Http1Parser* parser = nullptr;
    bool OnHead(MessageHead& head) override {
      parser->Reject(400, "missing_host_header");
      return Recorder::OnHead(head);
    }
  } r;
  Http1Parser parser(Http1Parser::Kind::kRequest, {}, &r);
  r.parser = &parser;
  const auto outcome = parser.Feed("GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(outcome.status, Http1Parser::Status::kError);
  EXPECT_EQ(outcome.http_status, 400);
  EXPECT_EQ(outcome.detail, "missing_host_header");
}

TEST(Http1Parser, Http10KeepAliveSemantics) {
  Recorder r;
  ParseRequest("GET / HTTP/1.0\r\n\r\n", r);
  EXPECT_FALSE(r.heads[0].keep_alive);
  Recorder r2;
  ParseRequest("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", r2);
  EXPECT_TRUE(r2.heads[0].keep_alive);
}

TEST(Http1Parser, UpgradeStopsAtTunnelBytes) {
  Recorder r;
  const std::string req =
      "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nRAW";
  Http1Parser parser(Http1Parser::Kind::kRequest, {}, &r);
  const auto outcome = parser.Feed(req);
  EXPECT_EQ(outcome.status, Http1Parser::Status::kUpgrade);
  EXPECT_EQ(req.substr(outcome.consumed), "RAW");
  EXPECT_TRUE(r.heads[0].upgrade);
}

TEST(Http1Parser, ResponseSkipsInterimAndHonoursSkipBody) {
  Recorder r;
  Http1Parser parser(Http1Parser::Kind::kResponse, {}, &r);
  auto outcome =
      parser.Feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(outcome.status, Http1Parser::Status::kPaused);
  ASSERT_EQ(r.heads.size(), 1u);  // the 100 never reaches the owner
  EXPECT_EQ(r.heads[0].status, 200);
  EXPECT_EQ(r.body, "hello");

  Recorder head;
  head.skip_body = true;  // response to HEAD
  Http1Parser p2(Http1Parser::Kind::kResponse, {}, &head);
  outcome = p2.Feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
  EXPECT_EQ(outcome.status, Http1Parser::Status::kPaused);
  EXPECT_EQ(head.completed, 1);
}

TEST(Http1Parser, CloseDelimitedResponseEndsAtEof) {
  Recorder r;
  Http1Parser parser(Http1Parser::Kind::kResponse, {}, &r);
  EXPECT_EQ(parser.Feed("HTTP/1.1 200 OK\r\n\r\nabc").status, Http1Parser::Status::kOk);
  EXPECT_TRUE(parser.body_needs_eof());
  EXPECT_NE(parser.FinishEof().status, Http1Parser::Status::kError);
  EXPECT_EQ(r.body, "abc");
  EXPECT_EQ(r.completed, 1);
}

}  // namespace
}  // namespace gh::gateway
