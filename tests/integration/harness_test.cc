// Self-test of the integration harness: the steerable upstream driven
// directly (no gateway) with curl, nghttp, openssl and RawClient, plus the
// process, port, cert and data helpers the gateway tests build on.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/harness.h"

namespace gh::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using ::testing::HasSubstr;

int64_t ElapsedMs(steady_clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(steady_clock::now() - start).count();
}

// Finds a header in the echo's [[name, value], ...] list, case-insensitive.
std::optional<std::string> EchoHeader(const Json& echo, std::string_view name) {
  for (const auto& pair : echo.at("headers")) {
    std::string k = pair.at(0).get<std::string>();
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) {
      return pair.at(1).get<std::string>();
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- helpers

TEST(HarnessHelpers, FreePortAndWaitForPort) {
  int port = FreePort();
  ASSERT_GT(port, 0);
  auto start = steady_clock::now();
  EXPECT_FALSE(WaitForPort(port, milliseconds(100)));
  EXPECT_LT(ElapsedMs(start), 2000);
  EXPECT_FALSE(RawClient::TryConnect(port).has_value());
}

TEST(HarnessHelpers, RunCommandReportsExitOutputAndStdin) {
  auto r = RunCommand({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(r.timed_out);

  ProcessOptions po;
  po.stdin_data = "fed through stdin";
  po.env = {"GH_HARNESS_VAR=xyz"};
  auto cat = RunCommand({"sh", "-c", "cat; echo \" $GH_HARNESS_VAR\""}, milliseconds(5000), po);
  EXPECT_EQ(cat.exit_code, 0) << cat.Describe();
  EXPECT_EQ(cat.out, "fed through stdin xyz\n");
}

TEST(HarnessHelpers, RunCommandKillsOnTimeout) {
  auto start = steady_clock::now();
  auto r = RunCommand({"sleep", "30"}, milliseconds(200));
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_LT(ElapsedMs(start), 5000);
}

TEST(HarnessHelpers, ProcessSignalWaitAndDestructor) {
  Process p = Process::Spawn({"sleep", "30"});
  pid_t pid = p.Pid();
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(p.Running());
  EXPECT_FALSE(p.WaitExit(milliseconds(50)).has_value());
  EXPECT_GT(p.Rss(), 0);
  ASSERT_TRUE(p.Signal(SIGTERM));
  auto st = p.WaitExit(seconds(5));
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(WIFSIGNALED(*st) && WTERMSIG(*st) == SIGTERM) << DescribeWaitStatus(*st);
  EXPECT_FALSE(p.Signal(SIGTERM)) << "no signal may go to a reaped PID";

  // The destructor terminates a child that is still running.
  pid_t second;
  {
    Process q = Process::Spawn({"sleep", "30"});
    second = q.Pid();
  }
  EXPECT_NE(kill(second, 0), 0) << "child " << second << " survived its Process";
}

TEST(HarnessHelpers, ProcessOutputFiles) {
  Process p = Process::Spawn({"sh", "-c", "echo ready; sleep 0.1; echo later >&2"});
  EXPECT_TRUE(p.WaitForStdout("ready", seconds(5)));
  EXPECT_TRUE(p.WaitForStderr("later", seconds(5)));
  auto st = p.WaitExit(seconds(5));
  ASSERT_TRUE(st);
  EXPECT_TRUE(ExitedWith(*st, 0));
  EXPECT_EQ(p.ReadStdout(), "ready\n");
}

TEST(HarnessHelpers, SubstReplacesAndRejectsUnknownNames) {
  EXPECT_EQ(Subst("port = ${PORT}, up = ${UP}", {{"PORT", "80"}, {"UP", "81"}}),
            "port = 80, up = 81");
  EXPECT_EQ(Subst("a = { b = 1 }", {}), "a = { b = 1 }");
  EXPECT_THROW(Subst("${MISSING}", {}), HarnessError);
}

TEST(HarnessHelpers, Sha256AndPattern) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string million(1000000, 'a');
  Sha256 s;
  for (size_t i = 0; i < million.size(); i += 777) {
    s.Update(std::string_view(million).substr(i, 777));
  }
  EXPECT_EQ(s.HexDigest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(PatternSha256(1000), Sha256Hex(PatternBytes(0, 1000)));
  EXPECT_EQ(PatternMismatch(PatternBytes(500, 600), 500), -1);
  std::string bad = PatternBytes(0, 600);
  bad[300] ^= 1;
  EXPECT_EQ(PatternMismatch(bad, 0), 300);
  EXPECT_EQ(WsAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");  // RFC 6455 1.3
}

TEST(HarnessHelpers, CertificatesVerifyWithOpenssl) {
  TempDir dir;
  CertFiles ca = MakeCa(dir.path(), "Harness Root");
  CertFiles inter = MakeIntermediateCa(ca, "Harness Intermediate");
  LeafOptions lo;
  lo.dns = {"a.test", "*.wild.test"};
  lo.uris = {"spiffe://cluster.local/ns/default/sa/web"};
  lo.ips = {"127.0.0.1"};
  CertFiles leaf = MakeLeafWith(inter, lo);
  CertFiles rsa = MakeLeaf(ca, {"rsa.test"}, {}, KeyType::kRsa2048);

  auto text = RunCommand({"openssl", "x509", "-in", leaf.cert, "-noout", "-text"});
  ASSERT_EQ(text.exit_code, 0) << text.Describe();
  EXPECT_THAT(text.out, HasSubstr("DNS:a.test"));
  EXPECT_THAT(text.out, HasSubstr("DNS:*.wild.test"));
  EXPECT_THAT(text.out, HasSubstr("URI:spiffe://cluster.local/ns/default/sa/web"));
  EXPECT_THAT(text.out, HasSubstr("IP Address:127.0.0.1"));
  EXPECT_THAT(text.out, HasSubstr("CA:FALSE"));
  EXPECT_THAT(text.out, HasSubstr("id-ecPublicKey"));

  auto verify =
      RunCommand({"openssl", "verify", "-CAfile", ca.cert, "-untrusted", inter.cert, leaf.cert});
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();
  auto verify_rsa = RunCommand({"openssl", "verify", "-CAfile", ca.cert, rsa.cert});
  EXPECT_EQ(verify_rsa.exit_code, 0) << verify_rsa.Describe();
  auto rsa_text = RunCommand({"openssl", "x509", "-in", rsa.cert, "-noout", "-text"});
  EXPECT_THAT(rsa_text.out, HasSubstr("rsaEncryption"));
  // The leaf's chain file is leaf + intermediate.
  EXPECT_EQ(ReadFile(leaf.chain), ReadFile(leaf.cert) + ReadFile(inter.cert));
}

// ---------------------------------------------------------------- the upstream, plain

class UpstreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    UpstreamOptions o;
    o.mode = "h2c";
    o.name = "harness";
    upstream_ = new UpstreamProcess(UpstreamProcess::Start(o));
  }
  static void TearDownTestSuite() {
    delete upstream_;
    upstream_ = nullptr;
  }
  static UpstreamProcess& up() { return *upstream_; }
  static UpstreamProcess* upstream_;
};
UpstreamProcess* UpstreamTest::upstream_ = nullptr;

TEST_F(UpstreamTest, EchoesGetWithCurl) {
  auto r = Curl({"-H", "X-Test: hello", up().Url("/some/path?x=1&y=2")});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.http_version, "1.1");
  EXPECT_EQ(r.Header("x-upstream-name"), "harness");
  EXPECT_EQ(r.Header("content-type"), "application/json");
  Json j = ParseJson(r.body);
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["path"], "/some/path");
  EXPECT_EQ(j["query"], "x=1&y=2");
  EXPECT_EQ(j["protocol"], "HTTP/1.1");
  EXPECT_EQ(j["server_name"], "harness");
  EXPECT_EQ(j["request_number_on_connection"], 1);
  EXPECT_TRUE(j["tls"].is_null());
  EXPECT_EQ(j["body_length"], 0);
  EXPECT_EQ(EchoHeader(j, "x-test"), "hello");
  EXPECT_EQ(EchoHeader(j, "host"), "127.0.0.1:" + std::to_string(up().Port()));
}

TEST_F(UpstreamTest, EchoesPostBodyLengthAndHash) {
  auto r = Curl({"--data-binary", "hello body", up().Url("/post")});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  Json j = ParseJson(r.body);
  EXPECT_EQ(j["method"], "POST");
  EXPECT_EQ(j["body_length"], 10);
  EXPECT_EQ(j["body_sha256"], Sha256Hex("hello body"));
  EXPECT_EQ(j["body"], "hello body");
}

TEST_F(UpstreamTest, StreamsChunkedUploadWithTrailers) {
  RawClient c(up().Port());
  std::string head =
      BuildRequest("PUT", "/upload", {{"Transfer-Encoding", "chunked"}, {"Trailer", "x-sum"}});
  ASSERT_TRUE(c.Send(head));
  Sha256 sha;
  uint64_t total = 0;
  for (int i = 0; i < 48; ++i) {  // 48 x 64 KiB = 3 MiB
    std::string piece = PatternBytes(total, 64 * 1024);
    sha.Update(piece);
    total += piece.size();
    ASSERT_TRUE(c.Send(Chunk(piece)));
  }
  ASSERT_TRUE(c.Send(LastChunk({{"x-sum", "done"}})));
  HttpResponse r = c.ReadResponse();
  ASSERT_TRUE(r.ok) << r.Describe();
  Json j = ParseJson(r.body);
  EXPECT_EQ(j["body_length"], total);
  EXPECT_EQ(j["body_sha256"], sha.HexDigest());
  EXPECT_FALSE(j.contains("body")) << "bodies of 64 KiB or more are not echoed";
  ASSERT_EQ(j["trailers"].size(), 1u);
  EXPECT_EQ(j["trailers"][0][0], "x-sum");
  EXPECT_EQ(j["trailers"][0][1], "done");
}

TEST_F(UpstreamTest, StreamsLargeUploadsWithoutHoldingThem) {
  constexpr uint64_t kSize = 20ull << 20;
  int64_t rss_before = up().Rss();
  {
    RawClient c(up().Port());
    ASSERT_TRUE(c.Send(BuildRequest("PUT", "/cl", {{"Content-Length", std::to_string(kSize)}})));
    ASSERT_TRUE(c.SendPattern(kSize));
    HttpResponse r = c.ReadResponse(seconds(30));
    ASSERT_TRUE(r.ok) << r.Describe();
    Json j = ParseJson(r.body);
    EXPECT_EQ(j["body_length"], kSize);
    EXPECT_EQ(j["body_sha256"], PatternSha256(kSize));
  }
  {
    RawClient c(up().Port());
    ASSERT_TRUE(c.Send(BuildRequest("PUT", "/chunked", {{"Transfer-Encoding", "chunked"}})));
    ASSERT_TRUE(c.SendPatternChunked(kSize, 100000));
    HttpResponse r = c.ReadResponse(seconds(30));
    ASSERT_TRUE(r.ok) << r.Describe();
    EXPECT_EQ(ParseJson(r.body)["body_sha256"], PatternSha256(kSize));
  }
  int64_t growth = up().Rss() - rss_before;
  EXPECT_LT(growth, 16 << 20) << "upstream RSS grew by " << growth << " bytes";
}

TEST_F(UpstreamTest, StatusAndExtraHeaders) {
  RawClient c(up().Port());
  c.Send(BuildRequest("GET", "/",
                      {{"x-upstream-status", "503"},
                       {"x-upstream-header", "x-one=1"},
                       {"x-upstream-header", "set-cookie=a=b; Path=/"},
                       {"x-upstream-header", "x-two=2, x-three=3"}}));
  HttpResponse r = c.ReadResponse();
  ASSERT_TRUE(r.ok) << r.Describe();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Header("x-one"), "1");
  EXPECT_EQ(r.Header("set-cookie"), "a=b; Path=/");
  EXPECT_EQ(r.Header("x-two"), "2") << "lines merged by a proxy are split again";
  EXPECT_EQ(r.Header("x-three"), "3");
  EXPECT_FALSE(r.peer_closed);
}

TEST_F(UpstreamTest, DelaysBeforeHeadersAndBeforeBody) {
  auto start = steady_clock::now();
  auto r = Curl({"-H", "x-upstream-delay-ms: 300", up().Url("/slow")});
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_GE(ElapsedMs(start), 300);

  RawClient c(up().Port());
  start = steady_clock::now();
  c.Send(BuildRequest("GET", "/",
                      {{"x-upstream-body-delay-ms", "1000"}, {"x-upstream-body-size", "10"}}));
  auto head = c.ReadUntil("\r\n\r\n", seconds(5));
  ASSERT_TRUE(head);
  EXPECT_LT(ElapsedMs(start), 800) << "headers must not wait for the body delay";
  std::string body = c.ReadExactly(10, seconds(5));
  EXPECT_GE(ElapsedMs(start), 1000);
  EXPECT_EQ(body, PatternBytes(0, 10));
}

TEST_F(UpstreamTest, SizedBodyStreamsThePatternWithBoundedRss) {
  constexpr uint64_t kSize = 50ull << 20;
  int64_t rss_before = up().Rss();
  ASSERT_GT(rss_before, 0);
  RawClient c(up().Port());
  c.Send(BuildRequest("GET", "/big", {{"x-upstream-body-size", std::to_string(kSize)}}));
  PatternChecker check;
  ReadOptions ro;
  ro.keep_body = false;
  ro.on_body = std::ref(check);
  HttpResponse r = c.ReadResponse(seconds(60), ro);
  ASSERT_TRUE(r.ok) << r.Describe();
  EXPECT_EQ(r.Header("content-length"), std::to_string(kSize));
  EXPECT_TRUE(check.ok(kSize)) << "bytes " << check.bytes() << ", first mismatch at "
                               << check.first_mismatch();
  int64_t growth = up().Rss() - rss_before;
  EXPECT_LT(growth, 16 << 20) << "upstream RSS grew by " << growth << " bytes";

  // The same body through curl hashes to PatternSha256.
  auto cr =
      RunCommand({"sh", "-c",
                  "curl -sS -H 'x-upstream-body-size: 3000000' " + up().Url("/") + " | sha256sum"});
  EXPECT_EQ(cr.out.substr(0, 64), PatternSha256(3000000)) << cr.Describe();
}

TEST_F(UpstreamTest, ChunkedResponseWithTrailers) {
  RawClient c(up().Port());
  c.Send(BuildRequest("GET", "/",
                      {{"x-upstream-body-size", "100000"},
                       {"x-upstream-chunk-size", "30000"},
                       {"x-upstream-chunked", "1"},
                       {"x-upstream-trailers", "x-a=1,x-b=two"}}));
  HttpResponse r = c.ReadResponse();
  ASSERT_TRUE(r.ok) << r.Describe();
  EXPECT_TRUE(r.chunked);
  EXPECT_FALSE(r.HasHeader("content-length"));
  EXPECT_EQ(r.body, PatternBytes(0, 100000));
  EXPECT_EQ(r.Trailer("x-a"), "1");
  EXPECT_EQ(r.Trailer("x-b"), "two");
  // Keep-alive still works after a chunked response.
  c.Send(BuildRequest("GET", "/again"));
  HttpResponse r2 = c.ReadResponse();
  ASSERT_TRUE(r2.ok) << r2.Describe();
  EXPECT_EQ(ParseJson(r2.body)["request_number_on_connection"], 2);
}

TEST_F(UpstreamTest, ResetsAtEachStage) {
  {
    RawClient c(up().Port());
    c.Send(BuildRequest("GET", "/", {{"x-upstream-reset", "before-headers"}}));
    HttpResponse r = c.ReadResponse(seconds(5));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.status, 0);
    EXPECT_TRUE(r.reset) << r.Describe();
  }
  {
    RawClient c(up().Port());
    c.Send(BuildRequest("GET", "/",
                        {{"x-upstream-reset", "after-headers"}, {"x-upstream-body-size", "1000"}}));
    HttpResponse r = c.ReadResponse(seconds(5));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.status, 200) << "headers arrive before the reset";
    EXPECT_EQ(r.body_length, 0u);
    EXPECT_TRUE(r.reset) << r.Describe();
  }
  {
    RawClient c(up().Port());
    c.Send(BuildRequest("GET", "/",
                        {{"x-upstream-reset", "mid-body"}, {"x-upstream-body-size", "200000"}}));
    HttpResponse r = c.ReadResponse(seconds(5));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body_length, 100000u) << "half the body, then RST";
    EXPECT_TRUE(r.reset) << r.Describe();
  }
  auto cr = Curl({"-H", "x-upstream-reset: before-headers", up().Url("/")});
  EXPECT_EQ(cr.exit_code, 56) << cr.Describe();  // CURLE_RECV_ERROR
}

TEST_F(UpstreamTest, CloseAndCloseDelimitedBodies) {
  {
    RawClient c(up().Port());
    c.Send(BuildRequest("GET", "/", {{"x-upstream-close", "1"}}));
    HttpResponse r = c.ReadResponse();
    ASSERT_TRUE(r.ok) << r.Describe();
    EXPECT_EQ(r.Header("connection"), "close");
    EXPECT_TRUE(c.IsClosed(seconds(2)));
    EXPECT_FALSE(c.PeerReset());
  }
  {
    RawClient c(up().Port());
    c.Send(BuildRequest(
        "GET", "/", {{"x-upstream-no-content-length", "1"}, {"x-upstream-body-size", "70000"}}));
    HttpResponse r = c.ReadResponse();
    ASSERT_TRUE(r.ok) << r.Describe();
    EXPECT_TRUE(r.close_delimited);
    EXPECT_FALSE(r.HasHeader("content-length"));
    EXPECT_FALSE(r.HasHeader("transfer-encoding"));
    EXPECT_EQ(r.body, PatternBytes(0, 70000));
    EXPECT_TRUE(r.peer_closed);
  }
}

TEST_F(UpstreamTest, PipelinedRequestsAnswerInOrderOnOneConnection) {
  RawClient c(up().Port());
  c.Send(BuildRequest("GET", "/first") + BuildRequest("POST", "/second", {}, "abc") +
         BuildRequest("HEAD", "/third"));
  HttpResponse r1 = c.ReadResponse();
  HttpResponse r2 = c.ReadResponse();
  ReadOptions head;
  head.head_request = true;
  HttpResponse r3 = c.ReadResponse(seconds(5), head);
  ASSERT_TRUE(r1.ok && r2.ok && r3.ok) << r1.Describe() << r2.Describe() << r3.Describe();
  Json j1 = ParseJson(r1.body), j2 = ParseJson(r2.body);
  EXPECT_EQ(j1["path"], "/first");
  EXPECT_EQ(j2["path"], "/second");
  EXPECT_EQ(j2["body"], "abc");
  EXPECT_EQ(j1["connection_id"], j2["connection_id"]);
  EXPECT_EQ(j2["request_number_on_connection"], 2);
  EXPECT_TRUE(r3.HasHeader("content-length"));
  EXPECT_TRUE(r3.body.empty());
}

TEST_F(UpstreamTest, ExpectContinue) {
  {
    RawClient c(up().Port());
    c.Send(BuildRequest("POST", "/upload", {{"Expect", "100-continue"}, {"Content-Length", "11"}}));
    HttpResponse interim = c.ReadResponse(seconds(5));
    ASSERT_TRUE(interim.ok) << interim.Describe();
    EXPECT_EQ(interim.status, 100);
    c.Send("hello world");
    HttpResponse r = c.ReadResponse();
    ASSERT_TRUE(r.ok) << r.Describe();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(ParseJson(r.body)["body"], "hello world");
  }
  {
    RawClient c(up().Port());
    c.Send(BuildRequest("POST", "/upload",
                        {{"Expect", "100-continue"},
                         {"Content-Length", "1000000"},
                         {"x-upstream-expect-status", "417"}}));
    HttpResponse r = c.ReadResponse(seconds(5));
    ASSERT_TRUE(r.ok) << r.Describe();
    EXPECT_EQ(r.status, 417);
    EXPECT_TRUE(c.IsClosed(seconds(2)));
  }
  // curl waits for 100 Continue on large uploads.
  TempDir dir;
  WriteFile(dir.File("body"), PatternBytes(0, 2 << 20));
  auto cr = Curl({"-H", "Expect: 100-continue", "--data-binary", "@" + dir.File("body"),
                  up().Url("/curl-upload")});
  ASSERT_EQ(cr.status, 200) << cr.Describe();
  EXPECT_EQ(ParseJson(cr.body)["body_sha256"], PatternSha256(2 << 20));
}

TEST_F(UpstreamTest, WebSocketRoundTrip) {
  auto before = up().Stats();
  WebSocketClient ws(up().Port());
  HttpResponse hs = ws.Handshake("/ws");
  ASSERT_TRUE(ws.Accepted()) << hs.Describe();
  ASSERT_TRUE(ws.SendText("hello websocket"));
  auto f = ws.ReadFrame();
  ASSERT_TRUE(f) << ws.last_error();
  EXPECT_EQ(f->opcode, WsOpcode::kText);
  EXPECT_EQ(f->payload, "hello websocket");

  std::string big = PatternBytes(0, 200000);
  ASSERT_TRUE(ws.SendBinary(big));
  f = ws.ReadFrame();
  ASSERT_TRUE(f) << ws.last_error();
  EXPECT_EQ(f->opcode, WsOpcode::kBinary);
  EXPECT_TRUE(f->payload == big) << "binary echo differs, " << f->payload.size() << " bytes";

  ASSERT_TRUE(ws.Send(WsOpcode::kPing, "p1"));
  f = ws.ReadFrame();
  ASSERT_TRUE(f) << ws.last_error();
  EXPECT_EQ(f->opcode, WsOpcode::kPong);
  EXPECT_EQ(f->payload, "p1");

  auto closed = ws.Close(1000);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->payload, std::string("\x03\xe8", 2));
  EXPECT_TRUE(ws.raw().IsClosed(seconds(2)));
  EXPECT_EQ(up().Stats().websockets, before.websockets + 1);
}

TEST_F(UpstreamTest, RawUpgradeBecomesAnEchoTunnel) {
  RawClient c(up().Port());
  c.Send(BuildRequest(
      "GET", "/tunnel",
      {{"Connection", "Upgrade"}, {"Upgrade", "gh-echo"}, {"x-upstream-upgrade", "1"}}));
  HttpResponse r = c.ReadResponse();
  ASSERT_TRUE(r.ok) << r.Describe();
  EXPECT_EQ(r.status, 101);
  c.Send("raw bytes\x01\x02");
  EXPECT_EQ(c.ReadExactly(11, seconds(5)), "raw bytes\x01\x02");
}

TEST_F(UpstreamTest, MalformedRequestGets400AndIsCounted) {
  auto before = up().Stats();
  RawClient c(up().Port());
  c.Send("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
  HttpResponse r = c.ReadResponse();
  ASSERT_TRUE(r.ok) << r.Describe();
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(c.IsClosed(seconds(2)));
  EXPECT_EQ(up().Stats().bad_requests, before.bad_requests + 1);
}

TEST_F(UpstreamTest, RawResponseBytesAreSentVerbatim) {
  // base64("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi")
  RawClient c(up().Port());
  c.Send(BuildRequest("GET", "/",
                      {{"x-upstream-raw",
                        "SFRUUC8xLjEgMjAwIE9LDQpDb250ZW50LUxlbmd0aDogMg0KQ29udGVudC1MZW5ndGg6IDMN"
                        "Cg0KaGk="}}));
  EXPECT_EQ(c.ReadAll(seconds(5)),
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi");
}

TEST_F(UpstreamTest, StatsCountAcceptsSoKeepAliveReuseIsVisible) {
  up().ResetStats();
  // Two URLs in one curl invocation share one connection.
  auto r = RunCommand(
      {"curl", "-sS", "-o", "/dev/null", "-o", "/dev/null", up().Url("/a"), up().Url("/b")});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto s = up().Stats();
  EXPECT_EQ(s.accepts, 1);
  EXPECT_EQ(s.requests, 2);
  // Separate invocations: separate connections.
  ASSERT_EQ(Curl({up().Url("/c")}).status, 200);
  ASSERT_EQ(Curl({up().Url("/d")}).status, 200);
  s = up().Stats();
  EXPECT_EQ(s.accepts, 3);
  EXPECT_EQ(s.requests, 4);
  // /__stats on the data port is not counted either.
  auto direct = Curl({up().Url("/__stats")});
  ASSERT_EQ(direct.status, 200) << direct.Describe();
  EXPECT_EQ(ParseJson(direct.body)["accepts"], 3);
  EXPECT_EQ(up().Stats().open_connections, 0);
}

TEST_F(UpstreamTest, H2cPriorKnowledgeWithCurl) {
  auto r = Curl({"--http2-prior-knowledge", "--data-binary", "h2 body", up().Url("/h2?q=1")});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.http_version, "2");
  Json j = ParseJson(r.body);
  EXPECT_EQ(j["protocol"], "HTTP/2");
  EXPECT_EQ(j["method"], "POST");
  EXPECT_EQ(j["path"], "/h2");
  EXPECT_EQ(j["scheme"], "http");
  EXPECT_EQ(j["authority"], "127.0.0.1:" + std::to_string(up().Port()));
  EXPECT_EQ(j["body"], "h2 body");

  // A multi-MiB body exercises HTTP/2 flow control both ways.
  auto cr = RunCommand({"sh", "-c",
                        "curl -sS --http2-prior-knowledge -H 'x-upstream-body-size: 5000000' " +
                            up().Url("/") + " | sha256sum"});
  EXPECT_EQ(cr.out.substr(0, 64), PatternSha256(5000000)) << cr.Describe();

  // Upgrade: h2c from HTTP/1.1 (curl --http2 on a plain URL).
  auto up_r = Curl({"--http2", up().Url("/upgrade")});
  ASSERT_EQ(up_r.exit_code, 0) << up_r.Describe();
  EXPECT_EQ(up_r.http_version, "2");
  EXPECT_EQ(ParseJson(up_r.body)["protocol"], "HTTP/2");
}

TEST_F(UpstreamTest, H2cWithNghttpTrailersAndConcurrentStreams) {
  auto r = RunCommand({"nghttp", "-v", "-H", "x-upstream-trailers: x-grpc-like=0", "-H",
                       "x-upstream-body-size: 1000", up().Url("/trailers")},
                      seconds(20));
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.out, HasSubstr("x-grpc-like: 0"));
  EXPECT_THAT(r.out, HasSubstr(":status: 200"));

  // Three streams on one connection (nghttp -n: discard bodies).
  auto multi = RunCommand({"nghttp", "-n", "-s", up().Url("/1"), up().Url("/2"), up().Url("/3")},
                          seconds(20));
  ASSERT_EQ(multi.exit_code, 0) << multi.Describe();

  // A stream reset with REFUSED_STREAM (7) before headers.
  auto reset = Curl({"--http2-prior-knowledge", "-H", "x-upstream-reset: before-headers", "-H",
                     "x-upstream-reset-code: 7", up().Url("/")});
  EXPECT_NE(reset.exit_code, 0) << reset.Describe();
  EXPECT_EQ(reset.status, 0);
}

TEST_F(UpstreamTest, BoundedLoadLoopsCountEveryResponseAndConnection) {
  up().ResetStats();
  LoadOptions lo;
  lo.port = up().Port();
  lo.connections = 4;
  lo.target = "/load";
  lo.max_requests = 300;
  lo.duration = seconds(20);
  lo.requests_per_connection = 50;
  LoadResult r = RunHttpLoad(lo);
  EXPECT_EQ(r.requests, 300) << r.Describe();
  EXPECT_EQ(r.failures, 0) << r.Describe();
  EXPECT_EQ(r.Count(200), 300);
  auto s = up().Stats();
  EXPECT_EQ(s.requests, 300);
  EXPECT_EQ(s.accepts, r.connects) << "every connection the loop opened reached the upstream";
  EXPECT_GE(r.connects, 6);

  // Failures are counted, not hidden: every request here gets a TCP reset.
  lo.headers = {{"x-upstream-reset", "before-headers"}};
  lo.max_requests = 20;
  BackgroundLoad bg(lo);
  LoadResult failing = bg.Wait();
  EXPECT_EQ(failing.requests, 0) << failing.Describe();
  EXPECT_GT(failing.failures, 0);
  EXPECT_FALSE(failing.first_errors.empty());
}

TEST_F(UpstreamTest, WrkAndH2loadWrappersParseResults) {
  WrkResult w = RunWrk(up().Url("/wrk"), 4, 1);
  ASSERT_TRUE(w.ok()) << w.command.Describe();
  EXPECT_GT(w.requests, 0);
  EXPECT_GT(w.requests_per_sec, 0);
  EXPECT_EQ(w.non_2xx_3xx, 0);
  EXPECT_EQ(w.socket_errors, 0);
  EXPECT_GT(w.p50_ms, 0);
  EXPECT_GE(w.p99_ms, w.p50_ms);

  H2loadResult h = RunH2load({"-n", "200", "-c", "2", "-m", "10", up().Url("/h2load")});
  ASSERT_TRUE(h.ok()) << h.command.Describe();
  EXPECT_EQ(h.succeeded, 200);
  EXPECT_EQ(h.status_2xx, 200);
  EXPECT_EQ(h.failed + h.errored + h.timeout, 0);
}

// ---------------------------------------------------------------- the upstream, TLS

class UpstreamTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ca_ = new CertFiles(MakeCa(dir_->path(), "Upstream Test CA"));
  }
  static void TearDownTestSuite() {
    delete ca_;
    delete dir_;
  }
  static TempDir* dir_;
  static CertFiles* ca_;
};
TempDir* UpstreamTlsTest::dir_ = nullptr;
CertFiles* UpstreamTlsTest::ca_ = nullptr;

TEST_F(UpstreamTlsTest, ServesTlsWithSniAndAlpn) {
  for (KeyType key : {KeyType::kEcP256, KeyType::kRsa2048}) {
    CertFiles server = MakeLeaf(*ca_, {"upstream.test"}, {}, key);
    UpstreamOptions o;
    o.mode = "h2c";
    o.tls = true;
    o.cert = server.cert;
    o.key = server.key;
    o.name = "tls";
    auto up = UpstreamProcess::Start(o);
    std::string resolve = "upstream.test:" + std::to_string(up.Port()) + ":127.0.0.1";
    std::string url = "https://upstream.test:" + std::to_string(up.Port()) + "/tls";

    auto h2 = Curl({"--cacert", ca_->cert, "--resolve", resolve, "--http2", url});
    ASSERT_EQ(h2.exit_code, 0) << h2.Describe();
    EXPECT_EQ(h2.http_version, "2");
    Json j = ParseJson(h2.body);
    EXPECT_EQ(j["protocol"], "HTTP/2");
    EXPECT_EQ(j["scheme"], "https");
    EXPECT_EQ(j["tls"]["sni"], "upstream.test");
    EXPECT_EQ(j["tls"]["alpn"], "h2");
    EXPECT_TRUE(j["tls"]["peer_spiffe_id"].is_null());

    auto h1 = Curl({"--cacert", ca_->cert, "--resolve", resolve, "--http1.1", url});
    ASSERT_EQ(h1.exit_code, 0) << h1.Describe();
    j = ParseJson(h1.body);
    EXPECT_EQ(j["protocol"], "HTTP/1.1");
    EXPECT_EQ(j["tls"]["alpn"], "http/1.1");

    // openssl s_client sees the negotiated ALPN and a verified chain.
    ProcessOptions po;
    po.stdin_data = "Q\n";
    auto sc =
        RunCommand({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(up.Port()),
                    "-servername", "upstream.test", "-alpn", "h2", "-CAfile", ca_->cert},
                   seconds(20), po);
    EXPECT_THAT(sc.out, HasSubstr("ALPN protocol: h2")) << sc.Describe();
    EXPECT_THAT(sc.out, HasSubstr("Verify return code: 0 (ok)"));

    // Stats work over the plain control port of a TLS upstream.
    EXPECT_EQ(up.Stats().requests, 2);
  }
}

TEST_F(UpstreamTlsTest, MutualTlsReportsThePeerSpiffeId) {
  CertFiles server = MakeLeaf(*ca_, {"upstream.test"});
  LeafOptions client_opts;
  client_opts.common_name = "gateway";
  client_opts.uris = {"spiffe://cluster.local/ns/edge/sa/gatehouse"};
  client_opts.server_auth = false;
  CertFiles client = MakeLeafWith(*ca_, client_opts);
  TempDir other_dir;
  CertFiles other_ca = MakeCa(other_dir.path(), "Another CA");
  CertFiles stranger = MakeLeaf(other_ca, {}, {"spiffe://evil/ns/x/sa/y"});

  UpstreamOptions o;
  o.tls = true;
  o.cert = server.cert;
  o.key = server.key;
  o.ca = ca_->cert;
  o.require_client_cert = true;
  auto up = UpstreamProcess::Start(o);
  std::string resolve = "upstream.test:" + std::to_string(up.Port()) + ":127.0.0.1";
  std::string url = "https://upstream.test:" + std::to_string(up.Port()) + "/mtls";

  auto none = Curl({"--cacert", ca_->cert, "--resolve", resolve, url});
  EXPECT_NE(none.exit_code, 0) << "no client certificate must fail: " << none.Describe();
  auto wrong = Curl({"--cacert", ca_->cert, "--resolve", resolve, "--cert", stranger.cert, "--key",
                     stranger.key, url});
  EXPECT_NE(wrong.exit_code, 0) << "a certificate from another CA must fail: " << wrong.Describe();

  auto ok = Curl({"--cacert", ca_->cert, "--resolve", resolve, "--cert", client.cert, "--key",
                  client.key, url});
  ASSERT_EQ(ok.exit_code, 0) << ok.Describe();
  Json j = ParseJson(ok.body);
  EXPECT_EQ(j["tls"]["peer_spiffe_id"], "spiffe://cluster.local/ns/edge/sa/gatehouse");
  EXPECT_EQ(j["tls"]["peer_subject"], "CN=gateway");
  EXPECT_EQ(j["tls"]["alpn"], "http/1.1");
}

// ---------------------------------------------------------------- lifecycle

TEST(UpstreamLifecycle, SigtermExitsCleanly) {
  auto up = UpstreamProcess::Start();
  RawClient idle(up.Port());  // an open keep-alive connection must not block exit
  ASSERT_TRUE(WaitForPort(up.Port(), seconds(1)));
  auto start = steady_clock::now();
  int st = up.Stop();
  EXPECT_TRUE(ExitedWith(st, 0)) << DescribeWaitStatus(st);
  EXPECT_LT(ElapsedMs(start), 3000);
  EXPECT_TRUE(idle.IsClosed(seconds(2)));
}

TEST(GatehouseHarness, BinaryIsWiredIn) {
  auto r = RunCommand({GatehouseBin(), "version"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.out, HasSubstr("gatehouse"));
}

TEST(GatehouseHarness, StartFailsFastWithStderrWhenTheGatewayExits) {
  // Not valid TOML: whatever the gateway can do, it must exit non-zero, and
  // Start() must say so promptly instead of waiting out the port timeout.
  auto start = steady_clock::now();
  GatehouseOptions o;
  o.wait_ports = {FreePort()};
  o.start_timeout = seconds(20);
  try {
    auto gw = GatehouseProcess::Start("this is [not valid toml", o);
    ADD_FAILURE() << "gatehouse accepted an invalid config";
  } catch (const HarnessError& e) {
    EXPECT_THAT(e.what(), HasSubstr("gatehouse exited"));
  }
  EXPECT_LT(ElapsedMs(start), 10000);
}

}  // namespace
}  // namespace gh::test
