// HTTP/2 through the gateway: h2c prior knowledge beside HTTP/1.1 on one
// port, HTTP/2 and HTTP/1.1 upstreams (and the translation between them:
// bodies of unknown length, trailers, TE), the upstream HTTP/2 pool
// (multiplexing, stream caps, REFUSED_STREAM, GOAWAY), WebSocket over HTTP/2
// (RFC 8441), graceful drain, and flow control in both directions.
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/h2_support.h"

namespace gh::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

constexpr std::string_view kConfig = R"(
[proxy]
workers = 1
${PROXY}
[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = ${PORT}, name = "http", protocol = "HTTP" }
hosts = ["*"]

[[service_entry]]
name = "h1"
hosts = ["h1.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http = ${UP} } }]
[[service_entry]]
name = "h2"
hosts = ["h2.internal"]
ports = [{ number = 80, name = "http2", protocol = "HTTP2" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http2 = ${UP} } }]
[[service_entry]]
name = "same"
hosts = ["same.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http = ${UP} } }]
[[service_entry]]
name = "upg"
hosts = ["upg.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http = ${UP} } }]
[[service_entry]]
name = "narrow"
hosts = ["narrow.internal"]
ports = [{ number = 80, name = "http2", protocol = "HTTP2" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http2 = ${UP} } }]

[[destination_rule]]
name = "same"
host = "same.internal"
traffic_policy = { connection_pool = { http = { use_client_protocol = true } } }
[[destination_rule]]
name = "upg"
host = "upg.internal"
traffic_policy = { connection_pool = { http = { h2_upgrade_policy = "UPGRADE" } } }
[[destination_rule]]
name = "narrow"
host = "narrow.internal"
traffic_policy = { connection_pool = { http = { max_concurrent_streams = 2 } } }

[[virtual_service]]
name = "routes"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
match = [{ uri = { prefix = "/h2/" } }]
route = [{ destination = { host = "h2.internal", port = { number = 80 } } }]
[[virtual_service.http]]
match = [{ uri = { prefix = "/same/" } }]
route = [{ destination = { host = "same.internal", port = { number = 80 } } }]
[[virtual_service.http]]
match = [{ uri = { prefix = "/upg/" } }]
route = [{ destination = { host = "upg.internal", port = { number = 80 } } }]
[[virtual_service.http]]
match = [{ uri = { prefix = "/narrow/" } }]
route = [{ destination = { host = "narrow.internal", port = { number = 80 } } }]
[[virtual_service.http]]
match = [{ uri = { prefix = "/" } }]
route = [{ destination = { host = "h1.internal", port = { number = 80 } } }]
)";

std::optional<std::string> EchoHeader(const Json& echo, std::string_view name) {
  for (const auto& pair : echo.at("headers")) {
    if (pair.at(0).get<std::string>() == name) return pair.at(1).get<std::string>();
  }
  return std::nullopt;
}

class H2ProxyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    UpstreamOptions o;
    o.mode = "h2c";  // HTTP/1.1 and prior-knowledge h2c on one port
    o.name = "origin";
    upstream_ = new UpstreamProcess(UpstreamProcess::Start(o));
  }
  static void TearDownTestSuite() {
    delete upstream_;
    upstream_ = nullptr;
  }
  static UpstreamProcess& up() { return *upstream_; }

  GatehouseProcess StartGateway(std::string_view proxy_extra = "access_log = \"stdout\"") {
    port_ = FreePort();
    return GatehouseProcess::Start(Subst(kConfig, {{"PORT", std::to_string(port_)},
                                                   {"UP", std::to_string(up().Port())},
                                                   {"PROXY", std::string(proxy_extra)}}),
                                   {.wait_ports = {port_}});
  }
  std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  std::string Port() const { return std::to_string(port_); }

  static UpstreamProcess* upstream_;
  int port_ = 0;
};
UpstreamProcess* H2ProxyTest::upstream_ = nullptr;

// ------------------------------------------------------------- downstream h2

TEST_F(H2ProxyTest, PriorKnowledgeH2cAndHttp11ShareThePort) {
  auto gw = StartGateway();
  auto h2 = Curl({"--http2-prior-knowledge", "-H", "x-test: one", Url("/plain?q=1")});
  ASSERT_EQ(h2.status, 200) << h2.Describe();
  EXPECT_EQ(h2.http_version, "2");
  Json echo = ParseJson(h2.body);
  EXPECT_EQ(echo["protocol"], "HTTP/1.1") << "an HTTP/1.1 cluster gets HTTP/1.1";
  EXPECT_EQ(echo["path"], "/plain");
  EXPECT_EQ(echo["query"], "q=1");
  EXPECT_EQ(EchoHeader(echo, "x-test"), "one");
  EXPECT_EQ(echo["authority"], "127.0.0.1:" + Port());
  EXPECT_TRUE(EchoHeader(echo, "x-request-id").has_value());
  EXPECT_EQ(h2.Header("server"), "gatehouse");

  auto h1 = Curl({Url("/plain")});
  ASSERT_EQ(h1.status, 200) << h1.Describe();
  EXPECT_EQ(h1.http_version, "1.1");

  // Keep-alive HTTP/1.1 on the same port, byte by byte.
  RawClient c(port_);
  for (int i = 0; i < 2; ++i) {
    c.Send(BuildRequest("GET", "/ka"));
    HttpResponse r = c.ReadResponse();
    ASSERT_TRUE(r.ok) << r.Describe();
    EXPECT_EQ(r.status, 200);
  }

  // The preface split over many reads is still recognised.
  RawClient slow(port_);
  const std::string settings("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);
  ASSERT_TRUE(slow.SendSlowly(std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + settings, 3,
                              milliseconds(5)));
  std::string frame = slow.ReadExactly(9, seconds(5));
  ASSERT_EQ(frame.size(), 9u);
  EXPECT_EQ(frame[3], '\x04') << "the server's first frame is SETTINGS";

  auto ng = RunCommand({"nghttp", "-v", Url("/nghttp")}, seconds(20));
  ASSERT_EQ(ng.exit_code, 0) << ng.Describe();
  EXPECT_THAT(ng.out, HasSubstr(":status: 200"));
  EXPECT_THAT(ng.out, HasSubstr("SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100"));
  EXPECT_THAT(ng.out, HasSubstr("SETTINGS_INITIAL_WINDOW_SIZE(0x04):65536"));
  EXPECT_THAT(ng.out, HasSubstr("SETTINGS_ENABLE_CONNECT_PROTOCOL(0x08):1"));

  // The access log says which protocol the client spoke.
  ASSERT_TRUE(gw.WaitForAccessLogLines(5, seconds(5)));
  const std::string log = gw.ReadStdout();
  EXPECT_THAT(log, HasSubstr("\"GET /plain?q=1 HTTP/2\" 200"));
  EXPECT_THAT(log, HasSubstr("\"GET /plain HTTP/1.1\" 200"));
}

TEST_F(H2ProxyTest, PostBodiesAndLargeTransfersToBothUpstreamProtocols) {
  auto gw = StartGateway();
  TempDir dir;
  constexpr size_t kUpload = 8 << 20;
  WriteFile(dir.File("body"), PatternBytes(0, kUpload));
  for (std::string prefix : {"/h1/", "/h2/"}) {
    SCOPED_TRACE(prefix);
    const std::string protocol = prefix == "/h1/" ? "HTTP/1.1" : "HTTP/2";
    auto post = Curl({"--http2-prior-knowledge", "--data-binary", "hello h2", Url(prefix + "p")});
    ASSERT_EQ(post.status, 200) << post.Describe();
    Json echo = ParseJson(post.body);
    EXPECT_EQ(echo["method"], "POST");
    EXPECT_EQ(echo["body"], "hello h2");
    EXPECT_EQ(echo["protocol"], protocol);

    auto upload = Curl({"--http2-prior-knowledge", "--data-binary", "@" + dir.File("body"),
                        Url(prefix + "upload")});
    ASSERT_EQ(upload.status, 200) << upload.Describe();
    echo = ParseJson(upload.body);
    EXPECT_EQ(echo["body_length"], kUpload);
    EXPECT_EQ(echo["body_sha256"], PatternSha256(kUpload));

    auto download =
        RunCommand({"sh", "-c",
                    "curl -sS --http2-prior-knowledge -H 'x-upstream-body-size: 20000000' '" +
                        Url(prefix + "download") + "' | sha256sum"},
                   seconds(60));
    EXPECT_EQ(download.out.substr(0, 64), PatternSha256(20000000)) << download.Describe();
  }
}

TEST_F(H2ProxyTest, TrailersCrossBetweenHttp11AndHttp2BothWays) {
  auto gw = StartGateway();
  // Response trailers: h2 client, HTTP/1.1 chunked origin and HTTP/2 origin.
  for (std::string prefix : {"/h1/", "/h2/"}) {
    auto ng = RunCommand({"nghttp", "-v", "-H", "x-upstream-trailers: x-a=1,x-b=two", "-H",
                          "x-upstream-body-size: 1000", Url(prefix + "trailers")},
                         seconds(20));
    ASSERT_EQ(ng.exit_code, 0) << ng.Describe();
    EXPECT_THAT(ng.out, HasSubstr("recv (stream_id=13) x-a: 1")) << prefix;
    EXPECT_THAT(ng.out, HasSubstr("recv (stream_id=13) x-b: two")) << prefix;
  }
  // Response trailers: HTTP/1.1 client (TE: trailers) from the HTTP/2 origin.
  {
    RawClient c(port_);
    c.Send(BuildRequest(
        "GET", "/h2/t",
        {{"TE", "trailers"}, {"x-upstream-trailers", "x-a=1"}, {"x-upstream-body-size", "5000"}}));
    HttpResponse r = c.ReadResponse();
    ASSERT_TRUE(r.ok) << r.Describe();
    EXPECT_TRUE(r.chunked);
    EXPECT_EQ(r.body, PatternBytes(0, 5000));
    EXPECT_EQ(r.Trailer("x-a"), "1");
  }
  // Request trailers: h2 client -> HTTP/1.1 origin (chunked) and h2 origin.
  for (std::string prefix : {"/h1/", "/h2/"}) {
    Json r = H2Client({"request", "--port", Port(), "--method", "POST", "--path", prefix + "rt",
                       "--body-size", "70000", "--trailer", "x-sum: 42"});
    ASSERT_EQ(r["status"], 200) << r.dump();
    Json echo = ParseJson(r["body"].get<std::string>());
    EXPECT_EQ(echo["body_length"], 70000);
    EXPECT_EQ(echo["body_sha256"], PatternSha256(70000));
    ASSERT_EQ(echo["trailers"].size(), 1u) << echo.dump();
    EXPECT_EQ(echo["trailers"][0][0], "x-sum");
    EXPECT_EQ(echo["trailers"][0][1], "42");
    if (prefix == "/h1/") {
      EXPECT_EQ(EchoHeader(echo, "transfer-encoding"), "chunked") << "unknown length: chunked";
    }
  }
  // Request trailers: HTTP/1.1 chunked client -> HTTP/2 origin; TE passes.
  {
    RawClient c(port_);
    c.Send(
        BuildRequest("PUT", "/h2/chunked", {{"Transfer-Encoding", "chunked"}, {"TE", "trailers"}}));
    c.Send(Chunk("abc") + Chunk(std::string(40000, 'z')) + LastChunk({{"x-done", "yes"}}));
    HttpResponse r = c.ReadResponse();
    ASSERT_TRUE(r.ok) << r.Describe();
    Json echo = ParseJson(r.body);
    EXPECT_EQ(echo["protocol"], "HTTP/2");
    EXPECT_EQ(echo["body_length"], 40003);
    EXPECT_FALSE(EchoHeader(echo, "content-length").has_value()) << "length was never known";
    EXPECT_EQ(EchoHeader(echo, "te"), "trailers");
    ASSERT_EQ(echo["trailers"].size(), 1u);
    EXPECT_EQ(echo["trailers"][0][1], "yes");
  }
}

TEST_F(H2ProxyTest, H2loadSixteenBySixteenHasNoFailures) {
  auto gw = StartGateway("access_log = \"off\"");
  for (std::string prefix : {"/h1/", "/h2/"}) {
    up().ResetStats();
    H2loadResult h = RunH2load({"-n", "20000", "-c", "16", "-m", "16", Url(prefix + "load")},
                               milliseconds(120000));
    ASSERT_TRUE(h.ok()) << h.command.Describe();
    EXPECT_EQ(h.succeeded, 20000) << prefix;
    EXPECT_EQ(h.failed + h.errored + h.timeout, 0) << prefix;
    EXPECT_EQ(h.status_2xx, 20000) << prefix;
    auto stats = up().Stats();
    EXPECT_EQ(stats.requests, 20000) << prefix;
    if (prefix == "/h2/") {
      EXPECT_LE(stats.accepts, 8) << "256 concurrent streams need a few multiplexed connections";
    }
  }
}

// ------------------------------------------------------------- upstream h2

TEST_F(H2ProxyTest, UpstreamStreamsShareConnectionsUpToTheStreamCap) {
  auto gw = StartGateway();
  std::vector<std::string> argv = {"nghttp", "-n", "-H", "x-upstream-delay-ms: 300"};
  for (int i = 0; i < 10; ++i)
    argv.push_back(Url("/h2/m" + std::to_string(i)));
  up().ResetStats();
  auto multi = RunCommand(argv, seconds(30));
  ASSERT_EQ(multi.exit_code, 0) << multi.Describe();
  auto s = up().Stats();
  EXPECT_EQ(s.requests, 10);
  EXPECT_EQ(s.accepts, 1) << "ten concurrent streams on one HTTP/2 connection";

  // max_concurrent_streams = 2: ten concurrent requests need five connections.
  argv.resize(4);
  for (int i = 0; i < 10; ++i)
    argv.push_back(Url("/narrow/m" + std::to_string(i)));
  up().ResetStats();
  multi = RunCommand(argv, seconds(30));
  ASSERT_EQ(multi.exit_code, 0) << multi.Describe();
  s = up().Stats();
  EXPECT_EQ(s.requests, 10);
  EXPECT_EQ(s.accepts, 5);
}

TEST_F(H2ProxyTest, UpstreamProtocolFollowsTheDestinationRule) {
  auto gw = StartGateway();
  // use_client_protocol: the client's protocol goes upstream.
  auto h1 = Curl({Url("/same/a")});
  ASSERT_EQ(h1.status, 200) << h1.Describe();
  EXPECT_EQ(ParseJson(h1.body)["protocol"], "HTTP/1.1");
  auto h2 = Curl({"--http2-prior-knowledge", Url("/same/a")});
  ASSERT_EQ(h2.status, 200) << h2.Describe();
  EXPECT_EQ(ParseJson(h2.body)["protocol"], "HTTP/2");
  // h2_upgrade_policy UPGRADE: HTTP/1.1 clients reach the origin over h2c.
  auto upg = Curl({Url("/upg/a")});
  ASSERT_EQ(upg.status, 200) << upg.Describe();
  EXPECT_EQ(ParseJson(upg.body)["protocol"], "HTTP/2");
  EXPECT_EQ(upg.http_version, "1.1");
}

TEST_F(H2ProxyTest, RefusedStreamsAreRetriedOthersAreNot) {
  auto gw = StartGateway();
  // Refused once: the unprocessed stream is retried on a fresh connection.
  for (std::string client : {"h2", "h1"}) {
    up().ResetStats();
    std::vector<std::string> args = {"-H", "x-upstream-reset-once: refused-" + client, "-H",
                                     "x-upstream-reset-code: 7", Url("/h2/refused")};
    if (client == "h2") args.insert(args.begin(), "--http2-prior-knowledge");
    auto r = Curl(args);
    ASSERT_EQ(r.status, 200) << client << ": " << r.Describe();
    EXPECT_EQ(up().Stats().requests, 2) << client;
  }
  // Always refused: the one safe retry, then the route's retry policy (the
  // Istio default: 2 retries, refused-stream among them), then 503.
  up().ResetStats();
  auto refused = Curl({"-H", "x-upstream-reset: before-headers", "-H", "x-upstream-reset-code: 7",
                       Url("/h2/always")});
  EXPECT_EQ(refused.status, 503) << refused.Describe();
  EXPECT_EQ(up().Stats().requests, 4);
  // Reset with INTERNAL_ERROR: the origin may have acted, no retry.
  up().ResetStats();
  auto internal = Curl({"-H", "x-upstream-reset: before-headers", "-H", "x-upstream-reset-code: 2",
                        Url("/h2/internal")});
  EXPECT_EQ(internal.status, 503) << internal.Describe();
  EXPECT_EQ(up().Stats().requests, 1);
  ASSERT_TRUE(gw.WaitForAccessLogLines(4, seconds(5)));
  const std::string log = gw.ReadStdout();
  bool always_logged = false;
  for (const std::string& line : gw.AccessLogLines()) {
    if (line.find("GET /h2/always ") == std::string::npos) continue;
    always_logged = true;
    EXPECT_THAT(line, HasSubstr("\" 503 "));
    EXPECT_THAT(line, HasSubstr("URX")) << "retried, then gave up";
    EXPECT_THAT(line, HasSubstr("{refused_stream}"));
  }
  EXPECT_TRUE(always_logged) << log;
  EXPECT_THAT(log, HasSubstr("\"GET /h2/internal HTTP/1.1\" 503 UC"));
}

TEST_F(H2ProxyTest, UpstreamGoawayRetiresTheConnectionWithoutFailingStreams) {
  auto gw = StartGateway();
  up().ResetStats();
  auto first = Curl({"-H", "x-upstream-goaway: 1", Url("/h2/goaway")});
  ASSERT_EQ(first.status, 200) << first.Describe();
  auto second = Curl({Url("/h2/after")});
  ASSERT_EQ(second.status, 200) << second.Describe();
  EXPECT_EQ(up().Stats().accepts, 2) << "the connection that sent GOAWAY takes no new streams";

  // A stream above the GOAWAY's last stream id is refused by the rules of
  // HTTP/2 and retried on a new connection; the one below it completes.
  up().ResetStats();
  Json r = H2Client({"multi", "--port", Port(), "--requests",
                     R"([{"path": "/h2/g1", "headers": [["x-upstream-goaway", "1"],
                                                        ["x-upstream-delay-ms", "100"]]},
                         {"path": "/h2/g2", "headers": [["x-upstream-delay-ms", "400"]]}])"});
  ASSERT_EQ(r["streams"].size(), 2u) << r.dump();
  EXPECT_EQ(r["streams"][0]["status"], 200) << r.dump();
  EXPECT_EQ(r["streams"][1]["status"], 200) << r.dump();
  EXPECT_EQ(up().Stats().accepts, 1) << "the refused stream went to a new connection";
  ASSERT_TRUE(gw.WaitForAccessLogLines(4, seconds(5)));
  bool refused_then_served = false;
  for (const std::string& line : gw.AccessLogLines()) {
    if (line.find("GET /h2/g2 HTTP/2\" 200") != std::string::npos &&
        line.find("\"refused_stream\"") != std::string::npos) {
      refused_then_served = true;
    }
  }
  EXPECT_TRUE(refused_then_served) << gw.ReadStdout();
}

// ------------------------------------------------------------- streams

TEST_F(H2ProxyTest, WebSocketOverHttp2ExtendedConnect) {
  auto gw = StartGateway();
  for (std::string path : {"/ws", "/h2/ws"}) {
    const int64_t before = up().Stats().websockets;
    Json r = H2Client({"websocket", "--port", Port(), "--path", path});
    EXPECT_TRUE(r["enable_connect_protocol"].get<bool>()) << r.dump();
    ASSERT_EQ(r["status"], 200) << r.dump();
    EXPECT_FALSE(JsonHeader(r["headers"], "sec-websocket-accept").has_value());
    EXPECT_FALSE(JsonHeader(r["headers"], "upgrade").has_value());
    EXPECT_EQ(r["echo_opcode"], 1) << r.dump();
    EXPECT_EQ(r["echo"], "hello over h2 websocket");
    EXPECT_EQ(r["close_opcode"], 8);
    EXPECT_TRUE(r["ended"].get<bool>());
    EXPECT_TRUE(r["reset"].is_null());
    EXPECT_EQ(up().Stats().websockets, before + 1)
        << "an HTTP/1.1 WebSocket upgrade upstream, whatever the cluster's protocol";
  }
}

TEST_F(H2ProxyTest, ClientStreamResetIsLoggedAsDR) {
  auto gw = StartGateway();
  Json r = H2Client({"attack", "rapid-reset", "--port", Port(), "--count", "3", "--settle", "1"});
  EXPECT_TRUE(r["goaway"].is_null()) << r.dump();
  ASSERT_TRUE(gw.WaitForAccessLogLines(4, seconds(5))) << gw.ReadStdout();
  int resets = 0;
  for (const std::string& line : gw.AccessLogLines()) {
    if (line.find("GET /rr ") == std::string::npos) continue;  // the follow-up request
    ++resets;
    EXPECT_THAT(line, HasSubstr("\"GET /rr HTTP/2\" 0 DR downstream_remote_reset"));
  }
  EXPECT_EQ(resets, 3);
}

TEST_F(H2ProxyTest, GracefulDrainSendsGoawayAndFinishesInFlightStreams) {
  auto gw = StartGateway();
  Json r = H2Client({"multi", "--port", Port(), "--pid", std::to_string(gw.Pid()),
                     "--sigterm-after-ms", "200", "--requests",
                     R"([{"path": "/h1/d", "headers": [["x-upstream-delay-ms", "700"]]},
           {"path": "/h2/d", "headers": [["x-upstream-delay-ms", "700"]]}])"});
  ASSERT_FALSE(r["goaway"].is_null()) << r.dump();
  EXPECT_EQ(r["goaway"]["error_code"], 0);
  EXPECT_EQ(r["goaway"]["last_stream_id"], 3);
  EXPECT_EQ(r["streams"][0]["status"], 200) << r.dump();
  EXPECT_EQ(r["streams"][1]["status"], 200) << r.dump();
  ASSERT_TRUE(r.contains("late")) << r.dump();
  EXPECT_TRUE(r["late"]["status"].is_null()) << "a stream after GOAWAY is not processed";
  EXPECT_TRUE(r["closed_at_end"].get<bool>());
  auto status = gw.WaitExit(seconds(10));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(ExitedWith(*status, 0)) << DescribeWaitStatus(*status);
}

TEST_F(H2ProxyTest, HeaderBlockThatNeverEndsHitsTheRequestHeaderTimeout) {
  auto gw = StartGateway("access_log = \"stdout\"\nrequest_headers_timeout = \"300ms\"");
  // HEADERS without END_HEADERS and then silence: the connection is stuck
  // until the header timeout ends it.
  Json r =
      H2Client({"attack", "continuation-flood", "--port", Port(), "--count", "0", "--settle", "3"});
  ASSERT_FALSE(r["goaway"].is_null()) << r.dump();
  EXPECT_EQ(r["goaway"]["error_code"], 0);
  EXPECT_TRUE(r["closed"].get<bool>());
  // A client that stops halfway through the preface is closed too.
  RawClient c(port_);
  c.Send("PRI * HTTP/2.0\r\n");
  EXPECT_TRUE(c.IsClosed(seconds(3)));
}

// ------------------------------------------------------------- flow control

TEST_F(H2ProxyTest, SlowHttp2ReaderKeepsGatewayMemoryBounded) {
  auto gw = StartGateway();
  for (std::string prefix : {"/h1/", "/h2/"}) {
    const int64_t before = gw.Rss();
    ASSERT_GT(before, 0);
    // 2 GB available upstream; the reader returns 16 KiB of window every 100 ms.
    Json r = H2Client({"slow-download", "--port", Port(), "--path", prefix + "slow", "--header",
                       "x-upstream-body-size: 2000000000", "--seconds", "3", "--window", "16384",
                       "--step-bytes", "16384", "--step-ms", "100"});
    ASSERT_EQ(r["status"], 200) << r.dump();
    EXPECT_LT(r["body_received"].get<int64_t>(), 2 << 20) << r.dump();
    const int64_t growth = gw.Rss() - before;
    EXPECT_LT(growth, 16 << 20) << prefix << ": RSS grew by " << growth << " bytes";
  }
}

// An origin that accepts connections and never reads from them.
class StalledOrigin {
 public:
  StalledOrigin() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 16);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
        const int c = accept(fd_, nullptr, nullptr);
        if (c >= 0) accepted_.push_back(c);
      }
    });
  }
  ~StalledOrigin() {
    stop_ = true;
    thread_.join();
    close(fd_);
    for (int c : accepted_)
      close(c);
  }
  int Port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<int> accepted_;
  std::thread thread_;
};

TEST_F(H2ProxyTest, UploadToAStalledOriginIsHeldByFlowControl) {
  StalledOrigin origin;
  const int port = FreePort();
  std::string config(kConfig);
  auto gw = GatehouseProcess::Start(Subst(config, {{"PORT", std::to_string(port)},
                                                   {"UP", std::to_string(origin.Port())},
                                                   {"PROXY", "access_log = \"off\""}}),
                                    {.wait_ports = {port}});
  const int64_t before = gw.Rss();
  for (std::string prefix : {"/h1/", "/h2/"}) {
    Json r = H2Client({"upload-flood", "--port", std::to_string(port), "--path", prefix + "up",
                       "--seconds", "2"});
    // Windows reopen only as bytes leave for the origin: what the client
    // could send is bounded by the kernel socket buffers plus one window,
    // not by the 2 s it kept trying (loopback moves GB/s otherwise).
    EXPECT_LT(r["sent"].get<int64_t>(), 16 << 20) << prefix << r.dump();
    EXPECT_GT(r["stalled_ms"].get<int64_t>(), 1000) << prefix << r.dump();
  }
  const int64_t growth = gw.Rss() - before;
  EXPECT_LT(growth, 16 << 20) << "RSS grew by " << growth << " bytes";
}

}  // namespace
}  // namespace gh::test

namespace gh::test {
namespace {

// HTTP/2 over TLS: ALPN "h2" on an HTTPS server picks the HTTP/2 session; a
// cluster with TLS origination and an HTTP2 port offers only "h2" upstream.
constexpr std::string_view kTlsConfig = R"(
[proxy]
workers = 1
access_log = "stdout"
[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = ${PORT}, name = "https", protocol = "HTTPS" }
hosts = ["*"]
tls = { mode = "SIMPLE", server_certificate = "${CERT}", private_key = "${KEY}" }
[[service_entry]]
name = "secure"
hosts = ["api.backend.test"]
ports = [{ number = 443, name = "http2", protocol = "HTTP2" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http2 = ${UP} } }]
[[service_entry]]
name = "secure-h1"
hosts = ["h1.backend.test"]
ports = [{ number = 443, name = "https", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { https = ${UP} } }]
[[destination_rule]]
name = "secure"
host = "api.backend.test"
traffic_policy = { tls = { mode = "SIMPLE", ca_certificates = "${CA}", sni = "api.backend.test" } }
[[destination_rule]]
name = "secure-h1"
host = "h1.backend.test"
traffic_policy = { tls = { mode = "SIMPLE", ca_certificates = "${CA}", sni = "h1.backend.test" } }
[[virtual_service]]
name = "routes"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
match = [{ uri = { prefix = "/h1/" } }]
route = [{ destination = { host = "h1.backend.test", port = { number = 443 } } }]
[[virtual_service.http]]
route = [{ destination = { host = "api.backend.test", port = { number = 443 } } }]
)";

TEST(H2Tls, AlpnSelectsHttp2OnBothSides) {
  TempDir dir;
  CertFiles ca = MakeCa(dir.path(), "H2 CA");
  CertFiles front = MakeLeaf(ca, {"edge.test"});
  CertFiles back = MakeLeaf(ca, {"api.backend.test", "h1.backend.test"});
  UpstreamOptions uo;
  uo.mode = "h2c";  // with TLS: ALPN h2 and http/1.1
  uo.tls = true;
  uo.cert = back.chain;
  uo.key = back.key;
  auto up = UpstreamProcess::Start(uo);
  const int port = FreePort();
  auto gw = GatehouseProcess::Start(Subst(kTlsConfig, {{"PORT", std::to_string(port)},
                                                       {"CERT", front.chain},
                                                       {"KEY", front.key},
                                                       {"CA", ca.cert},
                                                       {"UP", std::to_string(up.Port())}}),
                                    {.wait_ports = {port}});
  const std::string resolve = "edge.test:" + std::to_string(port) + ":127.0.0.1";
  const std::string base = "https://edge.test:" + std::to_string(port);

  auto h2 = Curl({"--cacert", ca.cert, "--resolve", resolve, "--http2", base + "/a"});
  ASSERT_EQ(h2.status, 200) << h2.Describe();
  EXPECT_EQ(h2.http_version, "2") << "ALPN h2 downstream";
  Json echo = ParseJson(h2.body);
  EXPECT_EQ(echo["protocol"], "HTTP/2") << "an h2 cluster over TLS";
  EXPECT_EQ(echo["tls"]["alpn"], "h2");
  EXPECT_EQ(echo["tls"]["sni"], "api.backend.test");
  EXPECT_EQ(echo["scheme"], "https");

  auto h1 = Curl({"--cacert", ca.cert, "--resolve", resolve, "--http1.1", base + "/h1/b"});
  ASSERT_EQ(h1.status, 200) << h1.Describe();
  EXPECT_EQ(h1.http_version, "1.1");
  echo = ParseJson(h1.body);
  EXPECT_EQ(echo["protocol"], "HTTP/1.1");
  EXPECT_EQ(echo["tls"]["alpn"], "http/1.1");

  // Many streams over one TLS connection each way.
  // (h2load does not verify certificates; it connects by IP, without SNI.)
  H2loadResult load = RunH2load(
      {"-n", "2000", "-c", "4", "-m", "16", "https://127.0.0.1:" + std::to_string(port) + "/load"});
  EXPECT_EQ(load.succeeded, 2000) << load.command.Describe();
  EXPECT_EQ(load.failed + load.errored, 0);
  auto big = RunCommand({"sh", "-c",
                         "curl -sS --http2 --cacert " + ca.cert + " --resolve " + resolve +
                             " -H 'x-upstream-body-size: 10000000' " + base + "/big | sha256sum"},
                        seconds(60));
  EXPECT_EQ(big.out.substr(0, 64), PatternSha256(10000000)) << big.Describe();
}

}  // namespace
}  // namespace gh::test
