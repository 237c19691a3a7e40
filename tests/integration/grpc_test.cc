// gRPC through the gateway with a real python3-grpcio server and client:
// the four call shapes, status and trailers passing through, deadlines
// (the client's and the gateway's own from grpc-timeout), and locally
// generated errors shaped as gRPC (HTTP 200 + grpc-status) with the status
// in the access log.
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
access_log = "stdout"
access_log_format = "json"
[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = ${PORT}, name = "grpc", protocol = "GRPC" }
hosts = ["*"]
[[service_entry]]
name = "grpc"
hosts = ["grpc.internal"]
ports = [{ number = 80, name = "grpc", protocol = "GRPC" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { grpc = ${GRPC} } }]
[[service_entry]]
name = "down"
hosts = ["down.internal"]
ports = [{ number = 80, name = "grpc", protocol = "GRPC" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { grpc = ${DOWN} } }]
[[service_entry]]
name = "plain"
hosts = ["plain.internal"]
ports = [{ number = 80, name = "http2", protocol = "HTTP2" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http2 = ${UP} } }]
[[virtual_service]]
name = "routes"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
match = [{ authority = { exact = "down.test" } }]
route = [{ destination = { host = "down.internal", port = { number = 80 } } }]
[[virtual_service.http]]
match = [{ authority = { exact = "plain.test" } }]
route = [{ destination = { host = "plain.internal", port = { number = 80 } } }]
[[virtual_service.http]]
name = "timed"
match = [{ uri = { prefix = "/timed/" } }]
timeout = "300ms"
route = [{ destination = { host = "plain.internal", port = { number = 80 } } }]
[[virtual_service.http]]
match = [{ uri = { prefix = "/test.Echo/" } }]
route = [{ destination = { host = "grpc.internal", port = { number = 80 } } }]
)";

class GrpcTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new GrpcServer();
    UpstreamOptions o;
    o.mode = "h2c";
    upstream_ = new UpstreamProcess(UpstreamProcess::Start(o));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete upstream_;
    server_ = nullptr;
    upstream_ = nullptr;
  }

  void SetUp() override {
    port_ = FreePort();
    gw_.emplace(GatehouseProcess::Start(Subst(kConfig, {{"PORT", std::to_string(port_)},
                                                        {"GRPC", std::to_string(server_->Port())},
                                                        {"DOWN", std::to_string(FreePort())},
                                                        {"UP", std::to_string(upstream_->Port())}}),
                                        {.wait_ports = {port_}}));
  }
  std::string Target() const { return "127.0.0.1:" + std::to_string(port_); }

  // The JSON access-log entries so far, waiting for at least n.
  std::vector<Json> Log(size_t n) {
    EXPECT_TRUE(gw_->WaitForAccessLogLines(n, seconds(5))) << gw_->ReadStdout();
    std::vector<Json> entries;
    for (const std::string& line : gw_->AccessLogLines())
      entries.push_back(ParseJson(line));
    return entries;
  }

  static GrpcServer* server_;
  static UpstreamProcess* upstream_;
  int port_ = 0;
  std::optional<GatehouseProcess> gw_;
};
GrpcServer* GrpcTest::server_ = nullptr;
UpstreamProcess* GrpcTest::upstream_ = nullptr;

TEST_F(GrpcTest, FourCallShapesPassThrough) {
  Json unary = GrpcCall({"--target", Target(), "--call", "unary", "--message", "ping"});
  ASSERT_EQ(unary["code"], "OK") << unary.dump();
  EXPECT_EQ(unary["result"], "ping");
  EXPECT_EQ(JsonHeader(unary["initial_metadata"], "x-echo-md"), "hello-md");
  EXPECT_EQ(JsonHeader(unary["trailing_metadata"], "x-trailer"), "t1") << "trailers untouched";

  Json server = GrpcCall(
      {"--target", Target(), "--call", "server-stream", "--count", "200", "--size", "1000"});
  ASSERT_EQ(server["code"], "OK") << server.dump();
  EXPECT_EQ(server["count"], 200);
  EXPECT_EQ(server["first"], "0:ssssss");
  EXPECT_EQ(server["last"], "199:ssss");

  Json client = GrpcCall(
      {"--target", Target(), "--call", "client-stream", "--count", "200", "--size", "1000"});
  ASSERT_EQ(client["code"], "OK") << client.dump();
  EXPECT_EQ(client["result"], "200:200000");

  Json bidi = GrpcCall({"--target", Target(), "--call", "bidi", "--count", "200", "--size", "500"});
  ASSERT_EQ(bidi["code"], "OK") << bidi.dump();
  EXPECT_EQ(bidi["count"], 200);
  EXPECT_TRUE(bidi["in_order_and_equal"].get<bool>());

  auto log = Log(4);
  ASSERT_EQ(log.size(), 4u);
  for (const Json& e : log) {
    EXPECT_EQ(e["protocol"], "HTTP/2");
    EXPECT_EQ(e["response_code"], 200);
    EXPECT_EQ(e["grpc_status"], "0") << e.dump();
  }
}

TEST_F(GrpcTest, ErrorStatusAndMessageComeFromTheServer) {
  Json fail = GrpcCall({"--target", Target(), "--call", "fail"});
  EXPECT_EQ(fail["code"], "NOT_FOUND") << fail.dump();
  EXPECT_EQ(fail["details"], "no such thing");
  auto log = Log(1);
  EXPECT_EQ(log.back()["grpc_status"], "5");
  EXPECT_EQ(log.back()["response_flags"], "-");
}

TEST_F(GrpcTest, ClientDeadlineExceeded) {
  Json slow =
      GrpcCall({"--target", Target(), "--call", "slow", "--sleep-ms", "3000", "--timeout", "0.5"});
  EXPECT_EQ(slow["code"], "DEADLINE_EXCEEDED") << slow.dump();
  EXPECT_LT(slow["elapsed_ms"].get<int64_t>(), 2000);
  // Who noticed first is a race: the origin (grpc-timeout, status 4), the
  // gateway (grpc-timeout, 4 with UT) or the client (RST_STREAM: DR).
  auto log = Log(1);
  const Json& e = log.back();
  const bool deadline = e.value("grpc_status", Json()) == "4";
  const bool client_reset =
      e.value("response_flags", std::string()).find("DR") != std::string::npos;
  EXPECT_TRUE(deadline || client_reset) << e.dump();
}

TEST_F(GrpcTest, GatewayEnforcesGrpcTimeoutWithAGrpcShapedReply) {
  // The origin here ignores grpc-timeout: the deadline is the gateway's.
  Json r =
      H2Client({"request", "--port", std::to_string(port_), "--authority", "plain.test", "--method",
                "POST", "--path", "/pkg.Svc/Slow", "--header", "content-type: application/grpc",
                "--header", "te: trailers", "--header", "grpc-timeout: 300m", "--header",
                "x-upstream-delay-ms: 3000", "--body-size", "5"});
  ASSERT_EQ(r["status"], 200) << r.dump();
  EXPECT_EQ(JsonHeader(r["headers"], "grpc-status"), "4") << r.dump();
  EXPECT_EQ(JsonHeader(r["headers"], "content-type"), "application/grpc");
  EXPECT_TRUE(r["ended"].get<bool>()) << "trailers-only: one HEADERS frame ends the stream";
  EXPECT_GE(r["elapsed_ms"].get<int64_t>(), 250);
  EXPECT_LT(r["elapsed_ms"].get<int64_t>(), 2000);
  auto log = Log(1);
  EXPECT_EQ(log.back()["grpc_status"], "4");
  EXPECT_EQ(log.back()["response_flags"], "UT");
  EXPECT_EQ(log.back()["response_code"], 200);

  // A shorter route timeout wins over a longer grpc-timeout.
  r = H2Client({"request", "--port", std::to_string(port_), "--method", "POST", "--path",
                "/timed/x", "--header", "content-type: application/grpc", "--header",
                "grpc-timeout: 20S", "--header", "x-upstream-delay-ms: 3000", "--body-size", "5"});
  ASSERT_EQ(r["status"], 200) << r.dump();
  EXPECT_EQ(JsonHeader(r["headers"], "grpc-status"), "4") << r.dump();
  EXPECT_LT(r["elapsed_ms"].get<int64_t>(), 2000);
}

TEST_F(GrpcTest, UpstreamDownIsUnavailable) {
  Json r = GrpcCall({"--target", Target(), "--authority", "down.test", "--call", "unary"});
  EXPECT_EQ(r["code"], "UNAVAILABLE") << r.dump();
  EXPECT_THAT(r["details"].get<std::string>(), HasSubstr("connection failure"));
  auto log = Log(1);
  EXPECT_EQ(log.back()["grpc_status"], "14");
  EXPECT_EQ(log.back()["response_flags"], "UF");
  EXPECT_EQ(log.back()["response_code"], 200);
}

TEST_F(GrpcTest, NoRouteIsUnimplementedAndPlainHttpStaysPlain) {
  Json r = H2Client({"request", "--port", std::to_string(port_), "--method", "POST", "--path",
                     "/other.Svc/Call", "--header", "content-type: application/grpc+proto",
                     "--body-size", "5"});
  ASSERT_EQ(r["status"], 200) << r.dump();
  EXPECT_EQ(JsonHeader(r["headers"], "grpc-status"), "12");
  EXPECT_EQ(JsonHeader(r["headers"], "grpc-message"), "route_not_found");
  // The same miss without a gRPC content type is an ordinary 404.
  r = H2Client({"request", "--port", std::to_string(port_), "--path", "/other.Svc/Call"});
  EXPECT_EQ(r["status"], 404) << r.dump();
  EXPECT_FALSE(JsonHeader(r["headers"], "grpc-status").has_value());
  auto log = Log(2);
  EXPECT_EQ(log[0]["grpc_status"], "12");
  EXPECT_EQ(log[0]["response_flags"], "NR");
  EXPECT_FALSE(log[1].contains("grpc_status")) << log[1].dump();
}

}  // namespace
}  // namespace gh::test
