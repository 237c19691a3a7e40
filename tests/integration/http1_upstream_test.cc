// Upstream trouble gives the right status and response flag, retries follow
// the route's policy (and only it), and the keep-alive race is absorbed.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/integration/proxy_fixture.h"

namespace gh::test {
namespace {

using Clock = std::chrono::steady_clock;

bool LogHas(ProxyEnv& env, size_t lines, std::string_view needle) {
  return env.LastLogLine(lines).find(needle) != std::string::npos;
}

TEST(Http1Upstream, ConnectionRefusedIs503UF) {
  const int dead_port = FreePort();  // nothing listens there
  ProxyEnv env({.upstream_port = dead_port});
  auto r = Curl({env.Url("/")});
  EXPECT_EQ(r.status, 503) << r.Describe();
  EXPECT_NE(r.body.find("connection failure"), std::string::npos) << r.body;
  EXPECT_TRUE(LogHas(env, 1, " 503 UF")) << env.LastLogLine(1);
}

TEST(Http1Upstream, SlowUpstreamHitsRouteTimeout504UT) {
  ProxyEnv env({.route_keys = "timeout = \"300ms\""});
  const auto start = Clock::now();
  auto r = Curl({"-H", "x-upstream-delay-ms: 3000", env.Url("/slow")});
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(r.status, 504) << r.Describe();
  EXPECT_LT(elapsed, std::chrono::milliseconds(2000));
  EXPECT_GE(elapsed, std::chrono::milliseconds(250));
  EXPECT_TRUE(LogHas(env, 1, " 504 UT")) << env.LastLogLine(1);
}

TEST(Http1Upstream, ResetBeforeHeadersIs503UCAndNotRetriedByDefault) {
  ProxyEnv env;
  auto r = Curl({"-X", "POST", "-d", "x", "-H", "x-upstream-reset: before-headers", env.Url("/")});
  EXPECT_EQ(r.status, 503) << r.Describe();
  EXPECT_TRUE(LogHas(env, 1, " 503 UC")) << env.LastLogLine(1);
  EXPECT_EQ(env.upstream().Stats().requests, 1) << "a POST was retried without a retry policy";
}

TEST(Http1Upstream, ResetMidBodyCutsTheClient) {
  ProxyEnv env;
  RawClient client(env.port());
  ASSERT_TRUE(client.Send(BuildRequest(
      "GET", "/",
      {{"Host", "a"}, {"x-upstream-body-size", "2000000"}, {"x-upstream-reset", "mid-body"}})));
  HttpResponse r = client.ReadResponse(milliseconds(5000));
  EXPECT_FALSE(r.ok) << "a truncated body must not look complete";
  EXPECT_EQ(r.status, 200);
  EXPECT_LT(r.body_length, 2000000u);
  EXPECT_TRUE(r.peer_closed || r.reset);
  EXPECT_TRUE(LogHas(env, 1, "UR")) << env.LastLogLine(1);
}

TEST(Http1Upstream, RetryPolicyRetries5xxThenGivesUpWithURX) {
  ProxyEnv env({.route_keys = "retries = { attempts = 2, retry_on = \"5xx\" }"});
  auto r = Curl({"-H", "x-upstream-status: 503", env.Url("/flaky")});
  EXPECT_EQ(r.status, 503) << r.Describe();
  EXPECT_EQ(env.upstream().Stats().requests, 3);  // 1 + 2 retries
  const std::string line = env.LastLogLine(1);
  EXPECT_NE(line.find("URX"), std::string::npos) << line;
}

TEST(Http1Upstream, NoRouteIs404NR) {
  constexpr std::string_view kConfig = R"(
[proxy]
workers = 1
[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = ${PORT}, name = "http", protocol = "HTTP" }
hosts = ["*"]
[[service_entry]]
name = "origin"
hosts = ["origin.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http = ${UPSTREAM} } }]
[[virtual_service]]
name = "routes"
hosts = ["shop.example.com"]
gateways = ["edge"]
[[virtual_service.http]]
match = [{ uri = { prefix = "/api" } }]
route = [{ destination = { host = "origin.internal", port = { number = 80 } } }]
)";
  auto up = UpstreamProcess::Start();
  const int port = FreePort();
  auto gw = GatehouseProcess::Start(
      Subst(kConfig, {{"PORT", std::to_string(port)}, {"UPSTREAM", std::to_string(up.Port())}}),
      {.wait_ports = {port}});
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(Curl({"-H", "Host: shop.example.com", base + "/api/x"}).status, 200);
  EXPECT_EQ(Curl({"-H", "Host: shop.example.com", base + "/other"}).status, 404);
  EXPECT_EQ(Curl({"-H", "Host: elsewhere.example.com", base + "/api/x"}).status, 404);
  gw.WaitForAccessLogLines(3, milliseconds(3000));
  auto lines = gw.AccessLogLines();
  ASSERT_GE(lines.size(), 3u);
  EXPECT_NE(lines[1].find(" 404 NR route_not_found"), std::string::npos) << lines[1];
}

TEST(Http1Upstream, PendingLimitOverflowIs503UO) {
  // One connection, one waiting request: the third concurrent one overflows.
  constexpr std::string_view kPolicy = R"(
[[destination_rule]]
name = "limits"
host = "origin.internal"
traffic_policy = { connection_pool = { tcp = { max_connections = 1 }, http = { http1_max_pending_requests = 1 } } }
)";
  ProxyEnv env({.route_keys = std::string("\n") + std::string(kPolicy)});
  std::vector<std::thread> slow;
  std::atomic<int> ok{0};
  auto start_slow = [&] {
    slow.emplace_back([&] {
      if (Curl({"-H", "x-upstream-delay-ms: 2000", env.Url("/slow")}).status == 200) ++ok;
    });
  };
  // The first holds the only connection once the upstream has seen it; the
  // second then waits in the pending queue (a loaded machine may take a
  // while to start curl, so wait for the upstream rather than a fixed time).
  start_slow();
  for (int i = 0; i < 200 && env.upstream().Stats().requests < 1; ++i)
    std::this_thread::sleep_for(milliseconds(10));
  ASSERT_GE(env.upstream().Stats().requests, 1);
  start_slow();
  std::this_thread::sleep_for(milliseconds(700));
  auto r = Curl({env.Url("/third")});
  for (auto& t : slow)
    t.join();
  EXPECT_EQ(r.status, 503) << r.Describe();
  EXPECT_EQ(ok.load(), 2);

  env.gateway().WaitForAccessLogLines(3, milliseconds(3000));
  bool saw_uo = false;
  for (const auto& line : env.gateway().AccessLogLines()) {
    if (line.find(" 503 UO") != std::string::npos) saw_uo = true;
  }
  EXPECT_TRUE(saw_uo);
}

// A hand-rolled origin that answers one request per connection with
// keep-alive, then closes the connection the moment the next request
// arrives without answering it: the keep-alive race, made deterministic.
class RacyOrigin {
 public:
  RacyOrigin() {
    // CLOEXEC: children the test spawns (curl) must not inherit these sockets.
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~RacyOrigin() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  int accepts() const { return accepts_; }

 private:
  void Serve() {
    while (!stop_) {
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      ++accepts_;
      std::thread([c] {
        char buf[4096];
        bool answered = false;
        while (true) {
          const ssize_t n = ::recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          if (answered) break;  // second request: hang up without a word
          const char kResponse[] =
              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok";
          ::send(c, kResponse, sizeof kResponse - 1, MSG_NOSIGNAL);
          answered = true;
        }
        ::close(c);
      }).detach();
    }
  }
  int fd_;
  int port_ = 0;
  std::atomic<int> accepts_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(Http1Upstream, KeepAliveRaceRetriedOnceOnFreshConnection) {
  RacyOrigin origin;
  ProxyEnv env({.upstream_port = origin.port()});
  for (int i = 0; i < 3; ++i) {
    auto r = Curl({env.Url("/race")});
    EXPECT_EQ(r.status, 200) << i << ": " << r.Describe();
    EXPECT_EQ(r.body, "ok");
  }
  EXPECT_EQ(origin.accepts(), 3);  // each reuse failed once and moved on
}

}  // namespace
}  // namespace gh::test
