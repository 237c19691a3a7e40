// Connection-level behaviour: WebSocket tunnels, slowloris and idle
// timeouts, graceful drain on SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/integration/proxy_fixture.h"

namespace gh::test {
namespace {

using Clock = std::chrono::steady_clock;

TEST(Http1Connection, WebSocketRoundTripThroughTheTunnel) {
  ProxyEnv env;
  {
    WebSocketClient ws(env.port());
    HttpResponse hs = ws.Handshake("/chat");
    ASSERT_EQ(hs.status, 101) << hs.Describe();
    ASSERT_TRUE(ws.Accepted()) << ws.last_error();
    for (const std::string& message : std::vector<std::string>{"hello", std::string(70000, 'w')}) {
      ASSERT_TRUE(ws.SendText(message));
      auto frame = ws.ReadFrame();
      ASSERT_TRUE(frame.has_value()) << ws.last_error();
      EXPECT_EQ(frame->payload, message);
    }
    ASSERT_TRUE(ws.SendBinary(std::string("\x00\x01\x02", 3)));
    auto binary = ws.ReadFrame();
    ASSERT_TRUE(binary.has_value());
    EXPECT_EQ(binary->opcode, WsOpcode::kBinary);
    auto closed = ws.Close(1000);
    ASSERT_TRUE(closed.has_value());
    EXPECT_EQ(closed->opcode, WsOpcode::kClose);
  }  // the client closes its socket: both halves of the tunnel have ended
  EXPECT_EQ(env.upstream().Stats().websockets, 1);
  const std::string line = env.LastLogLine(1);
  EXPECT_NE(line.find("\"GET /chat HTTP/1.1\" 101"), std::string::npos) << line;
}

TEST(Http1Connection, SlowlorisClosedAtTheHeaderTimeout) {
  ProxyEnv env({.proxy_keys = "request_headers_timeout = \"1s\""});
  RawClient client(env.port());
  const auto start = Clock::now();
  // Trickle a header block that never ends.
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: a\r\n"));
  std::string got;
  for (int i = 0; i < 40 && !client.IsClosed(milliseconds(0)); ++i) {
    if (!client.Send("X-Slow-" + std::to_string(i) + ": 1\r\n")) break;
    got += client.ReadSome(milliseconds(100));
  }
  got += client.ReadAll(milliseconds(3000));
  const auto elapsed = Clock::now() - start;
  EXPECT_NE(got.find("HTTP/1.1 408"), std::string::npos) << got;
  EXPECT_LT(elapsed, std::chrono::milliseconds(3000));
  EXPECT_GE(elapsed, std::chrono::milliseconds(900));
  EXPECT_EQ(env.upstream().Stats().requests, 0);
}

TEST(Http1Connection, IdleKeepAliveConnectionClosed) {
  ProxyEnv env({.proxy_keys = "idle_timeout = \"500ms\""});
  RawClient client(env.port());
  ASSERT_TRUE(client.Send(BuildRequest("GET", "/", {{"Host", "a"}})));
  HttpResponse r = client.ReadResponse(milliseconds(3000));
  ASSERT_TRUE(r.ok);
  const auto start = Clock::now();
  EXPECT_TRUE(client.IsClosed(milliseconds(3000)));
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(2000));
}

TEST(Http1Connection, StreamIdleTimeoutEndsAStalledResponse) {
  ProxyEnv env({.proxy_keys = "stream_idle_timeout = \"400ms\""});
  auto r = Curl({"-H", "x-upstream-delay-ms: 3000", env.Url("/stall")});
  EXPECT_EQ(r.status, 504) << r.Describe();
  EXPECT_NE(env.LastLogLine(1).find("SI"), std::string::npos) << env.LastLogLine(1);
}

TEST(Http1Connection, SigtermDrainsInFlightRequestsAndExitsZero) {
  ProxyEnv env({.proxy_keys = "drain_timeout = \"10s\""});
  // Three slow requests in flight, plus an idle keep-alive connection.
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&] {
      auto r = Curl({"-H", "x-upstream-delay-ms: 1500", env.Url("/inflight")});
      if (r.status == 200) ++ok;
    });
  }
  RawClient idle(env.port());
  ASSERT_TRUE(idle.Send(BuildRequest("GET", "/", {{"Host", "a"}})));
  ASSERT_TRUE(idle.ReadResponse(milliseconds(3000)).ok);
  std::this_thread::sleep_for(milliseconds(400));
  const auto start = Clock::now();
  ASSERT_TRUE(env.gateway().Signal(SIGTERM));
  // The idle keep-alive connection is closed promptly.
  EXPECT_TRUE(idle.IsClosed(milliseconds(2000)));
  // New connections are refused once draining.
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_FALSE(RawClient::TryConnect(env.port(), milliseconds(500)).has_value());
  for (auto& t : clients)
    t.join();
  EXPECT_EQ(ok.load(), 3) << "an in-flight request was lost during drain";
  auto status = env.gateway().WaitExit(milliseconds(5000));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(5000));
}

TEST(Http1Connection, DrainTimeoutBoundsTheExit) {
  ProxyEnv env({.proxy_keys = "drain_timeout = \"1s\""});
  std::thread slow([&] { Curl({"-H", "x-upstream-delay-ms: 8000", env.Url("/forever")}); });
  std::this_thread::sleep_for(milliseconds(300));
  const auto start = Clock::now();
  ASSERT_TRUE(env.gateway().Signal(SIGTERM));
  auto status = env.gateway().WaitExit(milliseconds(5000));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(3000));
  slow.join();
}

}  // namespace
}  // namespace gh::test
