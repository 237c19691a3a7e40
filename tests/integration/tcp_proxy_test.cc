// TCP listeners (protocol TCP, VirtualService `tcp` routes) through the real
// binary: byte pipes with large transfers both ways and bounded memory,
// backpressure against a reader that stalls, half-close in both directions,
// idle timeout, connect failures (UF,URX) and retry on another endpoint,
// weighted destinations, no route (NR), the access-log line, and drain.
//
// The upstreams are small TCP servers on threads of this test process
// (echo, greeting, half-close and flood behaviours), on 127.0.0.1 with
// kernel-chosen ports.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/harness.h"

namespace gh::test {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;

constexpr int64_t kMaxGrowth = 16LL << 20;

// ------------------------------------------------------------ test server ---

// A TCP server on a thread per connection (at most a few dozen per test).
class TcpServer {
 public:
  enum class Mode {
    kEcho,           // echo every byte; on EOF shut down our side too
    kGreet,          // send "<name>\n" first, then echo
    kReplyAfterEof,  // read to EOF, then answer "got <n>" and close
    kCloseFirst,     // send "bye", shut down our side, keep reading to EOF
    kFlood,          // send `flood_bytes` of the pattern, then shut down
  };
  struct Options {
    Mode mode = Mode::kEcho;
    std::string name = "server";
    uint64_t flood_bytes = 0;
  };

  explicit TcpServer(Options options) : options_(std::move(options)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 128) != 0) {
      throw HarnessError("TcpServer: bind/listen failed");
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~TcpServer() {
    stop_ = true;
    acceptor_.join();
    ::close(listen_fd_);
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& t : workers_)
      t.join();
  }

  int port() const { return port_; }
  // Forget the connections so far (the harness's readiness probe).
  void ResetCounters() {
    accepts_ = 0;
    eofs_ = 0;
    std::lock_guard<std::mutex> lock(mutex_);
    received_after_close_.clear();
  }
  int accepts() const { return accepts_; }
  uint64_t flood_sent() const { return flood_sent_; }
  int eofs() const { return eofs_; }
  // Everything received on every connection after we shut down our side
  // (kCloseFirst), in arrival order.
  std::string received_after_close() {
    std::lock_guard<std::mutex> lock(mutex_);
    return received_after_close_;
  }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) != 1) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++accepts_;
      std::lock_guard<std::mutex> lock(mutex_);
      workers_.emplace_back([this, fd] {
        Serve(fd);
        ::close(fd);
      });
    }
  }

  // recv with a poll loop so the destructor can stop us; 0 on EOF, -1 on error/stop.
  ssize_t Recv(int fd, char* buf, size_t size) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, 50);
      if (r < 0) return -1;
      if (r == 0) continue;
      return ::recv(fd, buf, size, 0);
    }
    return -1;
  }
  bool SendAll(int fd, std::string_view data) {
    while (!data.empty() && !stop_) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return data.empty();
  }

  void Serve(int fd) {
    std::vector<char> buf(64 * 1024);
    switch (options_.mode) {
      case Mode::kGreet:
        if (!SendAll(fd, options_.name + "\n")) return;
        [[fallthrough]];
      case Mode::kEcho:
        for (;;) {
          const ssize_t n = Recv(fd, buf.data(), buf.size());
          if (n <= 0) {
            if (n == 0) {
              ++eofs_;
              ::shutdown(fd, SHUT_WR);
            }
            return;
          }
          if (!SendAll(fd, std::string_view(buf.data(), static_cast<size_t>(n)))) return;
        }
      case Mode::kReplyAfterEof: {
        uint64_t total = 0;
        for (;;) {
          const ssize_t n = Recv(fd, buf.data(), buf.size());
          if (n < 0) return;
          if (n == 0) break;
          total += static_cast<uint64_t>(n);
        }
        ++eofs_;
        // Our half is still open: answer after the client finished sending.
        std::this_thread::sleep_for(milliseconds(100));
        SendAll(fd, "got " + std::to_string(total));
        ::shutdown(fd, SHUT_WR);
        return;
      }
      case Mode::kCloseFirst: {
        if (!SendAll(fd, "bye")) return;
        ::shutdown(fd, SHUT_WR);
        for (;;) {
          const ssize_t n = Recv(fd, buf.data(), buf.size());
          if (n <= 0) {
            if (n == 0) ++eofs_;
            return;
          }
          std::lock_guard<std::mutex> lock(mutex_);
          received_after_close_.append(buf.data(), static_cast<size_t>(n));
        }
      }
      case Mode::kFlood: {
        const std::string period = PatternBytes(0, 251 * 1024);
        uint64_t sent = 0;
        while (sent < options_.flood_bytes && !stop_) {
          const size_t n =
              static_cast<size_t>(std::min<uint64_t>(options_.flood_bytes - sent, 251 * 1023));
          if (!SendAll(fd, std::string_view(period).substr(sent % 251, n))) return;
          sent += n;
          flood_sent_ = sent;
        }
        ::shutdown(fd, SHUT_WR);
        while (Recv(fd, buf.data(), buf.size()) > 0) {
        }
        return;
      }
    }
  }

  Options options_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepts_{0};
  std::atomic<int> eofs_{0};
  std::atomic<uint64_t> flood_sent_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::thread> workers_;
  std::string received_after_close_;
};

// ----------------------------------------------------------------- config ---

constexpr std::string_view kConfig = R"(
[proxy]
workers = 1
access_log = "stdout"
${PROXY}

[[gateway]]
name = "tcp"
[[gateway.servers]]
port = { number = ${PORT}, name = "tcp", protocol = "TCP" }
hosts = ["*"]

[[service_entry]]
name = "backend"
hosts = ["backend.internal"]
ports = [{ number = 9000, name = "tcp", protocol = "TCP" }]
resolution = "STATIC"
endpoints = [${ENDPOINTS}]

[[destination_rule]]
name = "backend"
host = "backend.internal"
traffic_policy = { connection_pool = { tcp = { ${POOL} } }${LB} }

[[virtual_service]]
name = "pipe"
hosts = ["*"]
gateways = ["tcp"]
${ROUTES}
)";

constexpr std::string_view kDefaultRoutes = R"(
[[virtual_service.tcp]]
route = [{ destination = { host = "backend.internal", port = { number = 9000 } } }]
)";

std::string Endpoint(int port) {
  return "{ address = \"127.0.0.1\", ports = { tcp = " + std::to_string(port) + " } }";
}

struct Setup {
  std::vector<int> endpoints;
  std::string pool = "connect_timeout = \"2s\"";
  std::string proxy;
  std::string routes = std::string(kDefaultRoutes);
  std::string extra;  // more top-level TOML
  std::string lb;     // ", load_balancer = { ... }" in the traffic policy
  // Servers whose counters start after the harness's readiness probe.
  std::vector<TcpServer*> servers;
};

GatehouseProcess StartGateway(int port, const Setup& s) {
  std::string endpoints;
  for (int e : s.endpoints) {
    if (!endpoints.empty()) endpoints += ", ";
    endpoints += Endpoint(e);
  }
  auto gw = GatehouseProcess::Start(Subst(kConfig, {{"PORT", std::to_string(port)},
                                                    {"PROXY", s.proxy},
                                                    {"ENDPOINTS", endpoints},
                                                    {"POOL", s.pool},
                                                    {"LB", s.lb},
                                                    {"ROUTES", s.routes + s.extra}}),
                                    {.wait_ports = {port}});
  // The harness's readiness probe (connect, close) was a TCP session too:
  // wait for its log line so it does not mix with the test's own.
  if (!gw.WaitForAccessLogLines(1, milliseconds(5000))) {
    throw HarnessError("no access-log line for the readiness probe");
  }
  for (TcpServer* server : s.servers)
    server->ResetCounters();
  return gw;
}

// A port nothing listens on (bound and closed again).
int DeadPort() {
  return FreePort();
}

std::string LogLineContaining(GatehouseProcess& gw, std::string_view needle,
                              milliseconds timeout = milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    for (const std::string& line : gw.AccessLogLines()) {
      if (line.find(needle) != std::string::npos) return line;
    }
    std::this_thread::sleep_for(milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  return "";
}

// The gateway's periodic pattern as a sliding window (fast send / check).
const std::string& Periodic() {
  static const std::string buffer = PatternBytes(0, 251 * 4097);
  return buffer;
}
std::string_view PatternAt(uint64_t offset, size_t n) {
  return std::string_view(Periodic()).substr(offset % 251, n);
}

// Samples the gateway's RSS every 20 ms while alive.
class RssSampler {
 public:
  explicit RssSampler(GatehouseProcess& gateway) : gateway_(gateway) {
    thread_ = std::thread([this] {
      while (!stop_) {
        peak_ = std::max(peak_.load(), gateway_.Rss());
        std::this_thread::sleep_for(milliseconds(20));
      }
    });
  }
  ~RssSampler() { Stop(); }
  int64_t Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return peak_;
  }

 private:
  GatehouseProcess& gateway_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> peak_{0};
  std::thread thread_;
};

// ------------------------------------------------------------------ tests ---

TEST(TcpProxy, EchoAndAccessLogLine) {
  TcpServer echo({.mode = TcpServer::Mode::kEcho});
  const int port = FreePort();
  auto gw = StartGateway(port, {.endpoints = {echo.port()}});

  RawClient client(port);
  const std::string payload(1000, 'x');
  ASSERT_TRUE(client.Send(payload));
  EXPECT_EQ(client.ReadExactly(payload.size(), milliseconds(5000)), payload);
  ASSERT_TRUE(client.Send("tail"));
  EXPECT_EQ(client.ReadExactly(4, milliseconds(5000)), "tail");
  const int client_port = client.LocalPort();
  client.ShutdownWrite();
  EXPECT_TRUE(client.IsClosed(milliseconds(5000)));
  client.Close();

  const std::string line = LogLineContaining(gw, ":" + std::to_string(client_port) + " ");
  ASSERT_FALSE(line.empty()) << gw.ReadStdout();
  // Istio's TCP line: no request, code 0, no flags, bytes both ways,
  // upstream host and cluster, downstream addresses, route name.
  EXPECT_THAT(line, HasSubstr("\"- - -\" 0 - - - \"-\" 1004 1004 ")) << line;
  EXPECT_THAT(line, HasSubstr("\"127.0.0.1:" + std::to_string(echo.port()) +
                              "\" outbound|9000||backend.internal 127.0.0.1:"))
      << line;
  EXPECT_THAT(line, HasSubstr(" 127.0.0.1:" + std::to_string(port) +
                              " 127.0.0.1:" + std::to_string(client_port) + " - pipe.tcp.0"))
      << line;
}

TEST(TcpProxy, LargeTransferBothWaysWithBoundedMemory) {
  constexpr uint64_t kSize = 256ULL << 20;
  TcpServer echo({.mode = TcpServer::Mode::kEcho});
  const int port = FreePort();
  auto gw = StartGateway(port, {.endpoints = {echo.port()}});
  {
    RawClient warm(port);  // the first session allocates the worker's buffers
    ASSERT_TRUE(warm.Send("w"));
    ASSERT_EQ(warm.ReadExactly(1, milliseconds(5000)), "w");
  }
  const int64_t baseline = gw.Rss();
  RssSampler sampler(gw);

  RawClient client(port, milliseconds(120000));
  std::atomic<bool> send_ok{true};
  std::thread writer([&] {
    for (uint64_t off = 0; off < kSize; off += 251 * 4096) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(251 * 4096, kSize - off));
      if (!client.Send(PatternAt(off, n))) {
        send_ok = false;
        return;
      }
    }
    ::shutdown(client.fd(), SHUT_WR);
  });
  uint64_t received = 0;
  bool match = true;
  const auto deadline = std::chrono::steady_clock::now() + seconds(120);
  while (received < kSize && std::chrono::steady_clock::now() < deadline) {
    std::string chunk = client.ReadSome(milliseconds(5000));
    if (chunk.empty()) break;
    if (match && chunk != PatternAt(received, chunk.size())) match = false;
    received += chunk.size();
  }
  writer.join();
  const int64_t peak = sampler.Stop();
  EXPECT_TRUE(send_ok);
  EXPECT_EQ(received, kSize);
  EXPECT_TRUE(match) << "echoed bytes differ from what was sent";
  EXPECT_TRUE(client.IsClosed(milliseconds(5000))) << "EOF should follow the echo";
  EXPECT_LT(peak - baseline, kMaxGrowth) << "baseline " << baseline << " peak " << peak;

  const std::string line =
      LogLineContaining(gw, std::to_string(kSize) + " " + std::to_string(kSize));
  EXPECT_FALSE(line.empty()) << "no log line with " << kSize << " bytes each way";
}

TEST(TcpProxy, StalledReaderStopsTheUpstream) {
  constexpr uint64_t kSize = 256ULL << 20;
  TcpServer flood({.mode = TcpServer::Mode::kFlood, .flood_bytes = kSize});
  const int port = FreePort();
  auto gw = StartGateway(port, {.endpoints = {flood.port()}});
  const int64_t baseline = gw.Rss();

  RawClient client(port, milliseconds(60000));
  // Read nothing: the gateway must stop reading the upstream once its
  // buffer toward us is full, so the upstream's sends block.
  std::this_thread::sleep_for(milliseconds(1500));
  const uint64_t stalled_at = flood.flood_sent();
  const int64_t stalled_rss = gw.Rss();
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(flood.flood_sent(), stalled_at) << "the upstream kept sending into the gateway";
  // Socket buffers on both hops plus the gateway's own buffer, far below kSize.
  EXPECT_LT(stalled_at, 64ULL << 20);
  EXPECT_LT(stalled_rss - baseline, kMaxGrowth) << "baseline " << baseline;

  uint64_t received = 0;
  bool match = true;
  const auto deadline = std::chrono::steady_clock::now() + seconds(60);
  while (received < kSize && std::chrono::steady_clock::now() < deadline) {
    std::string chunk = client.ReadSome(milliseconds(5000));
    if (chunk.empty()) break;
    if (match && chunk != PatternAt(received, chunk.size())) match = false;
    received += chunk.size();
  }
  EXPECT_EQ(received, kSize);
  EXPECT_TRUE(match);
  EXPECT_TRUE(client.IsClosed(milliseconds(5000)));
}

TEST(TcpProxy, ClientHalfCloseReachesTheUpstreamWhichStillAnswers) {
  TcpServer server({.mode = TcpServer::Mode::kReplyAfterEof});
  const int port = FreePort();
  auto gw = StartGateway(port, {.endpoints = {server.port()}, .servers = {&server}});
  RawClient client(port);
  ASSERT_TRUE(client.Send(std::string(70000, 'q')));
  client.ShutdownWrite();
  // The upstream saw our EOF (it only answers after it), and its answer
  // still reaches us through the half-open pipe; then EOF.
  EXPECT_EQ(client.ReadAll(milliseconds(5000)), "got 70000");
  EXPECT_TRUE(client.PeerClosed());
  EXPECT_EQ(server.eofs(), 1);
}

TEST(TcpProxy, UpstreamHalfCloseReachesTheClientWhichStillSends) {
  TcpServer server({.mode = TcpServer::Mode::kCloseFirst});
  const int port = FreePort();
  auto gw = StartGateway(port, {.endpoints = {server.port()}, .servers = {&server}});
  RawClient client(port);
  EXPECT_EQ(client.ReadExactly(3, milliseconds(5000)), "bye");
  // EOF from the upstream arrives while our half is open...
  EXPECT_TRUE(client.IsClosed(milliseconds(5000)));
  EXPECT_FALSE(client.PeerReset());
  // ...and what we send afterwards still reaches it.
  ASSERT_TRUE(client.Send("late data"));
  client.ShutdownWrite();
  const auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (server.eofs() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(server.received_after_close(), "late data");
  EXPECT_EQ(server.eofs(), 1);
  EXPECT_FALSE(LogLineContaining(gw, "pipe.tcp.0").empty());
}

TEST(TcpProxy, IdleTimeoutClosesTheSession) {
  TcpServer echo({.mode = TcpServer::Mode::kEcho});
  const int port = FreePort();
  auto gw = StartGateway(port, {.endpoints = {echo.port()}, .pool = "idle_timeout = \"600ms\""});
  RawClient client(port);
  // Activity keeps it open past the timeout...
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(client.Send("ping"));
    ASSERT_EQ(client.ReadExactly(4, milliseconds(2000)), "ping");
    std::this_thread::sleep_for(milliseconds(300));
  }
  // ...silence closes it.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.IsClosed(milliseconds(5000)));
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, milliseconds(250));
  EXPECT_LT(waited, milliseconds(3000));
  const std::string line = LogLineContaining(gw, "idle_timeout");
  EXPECT_THAT(line, HasSubstr("\" 16 16 ")) << line;
}

TEST(TcpProxy, ConnectFailureIsUfUrx) {
  const int port = FreePort();
  const int dead = DeadPort();
  auto gw = StartGateway(port, {.endpoints = {dead}});
  RawClient client(port);
  client.Send("hello");  // may or may not be taken before the close
  EXPECT_TRUE(client.IsClosed(milliseconds(5000)));
  EXPECT_EQ(client.Buffered(), "");
  const std::string line = LogLineContaining(gw, "UF,URX");
  ASSERT_FALSE(line.empty()) << gw.ReadStdout();
  EXPECT_THAT(line, HasSubstr("\"connection_failure\""));
  EXPECT_THAT(line, HasSubstr("\"127.0.0.1:" + std::to_string(dead) + "\""));
}

TEST(TcpProxy, ConnectFailureTriesAnotherEndpoint) {
  TcpServer echo({.mode = TcpServer::Mode::kGreet, .name = "live"});
  const int port = FreePort();
  auto gw = StartGateway(port, {.endpoints = {DeadPort(), echo.port()},
                                .lb = ", load_balancer = { simple = \"ROUND_ROBIN\" }",
                                .servers = {&echo}});
  for (int i = 0; i < 6; ++i) {
    RawClient client(port);
    EXPECT_EQ(client.ReadExactly(5, milliseconds(5000)), "live\n") << i;
  }
  EXPECT_EQ(echo.accepts(), 6);
  ASSERT_TRUE(gw.WaitForAccessLogLines(7, milliseconds(5000)));  // the probe and ours
  for (const std::string& line : gw.AccessLogLines())
    EXPECT_THAT(line, ::testing::Not(HasSubstr("URX"))) << line;
}

TEST(TcpProxy, ConnectTimeoutIsUfUrx) {
  // A listener whose accept queue is full drops SYNs: connects hang.
  const int full = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(full, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(full, 0), 0);
  socklen_t len = sizeof addr;
  ::getsockname(full, reinterpret_cast<sockaddr*>(&addr), &len);
  const int full_port = ntohs(addr.sin_port);
  std::vector<std::optional<RawClient>> fillers;
  for (int i = 0; i < 3; ++i)
    fillers.push_back(RawClient::TryConnect(full_port, milliseconds(300)));

  const int port = FreePort();
  auto gw = StartGateway(port, {.endpoints = {full_port}, .pool = "connect_timeout = \"400ms\""});
  RawClient client(port);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.IsClosed(milliseconds(5000)));
  const auto waited = std::chrono::steady_clock::now() - start;
  ::close(full);
  const std::string line = LogLineContaining(gw, "UF,URX");
  ASSERT_FALSE(line.empty()) << gw.ReadStdout();
  EXPECT_THAT(line, HasSubstr("\"connect_timeout\"")) << line;
  EXPECT_GE(waited, milliseconds(300));
}

TEST(TcpProxy, WeightedDestinations) {
  TcpServer a({.mode = TcpServer::Mode::kGreet, .name = "a"});
  TcpServer b({.mode = TcpServer::Mode::kGreet, .name = "b"});
  const int port = FreePort();
  const std::string other =
      "\n[[service_entry]]\nname = \"other\"\nhosts = [\"other.internal\"]\n"
      "ports = [{ number = 9000, name = \"tcp\", protocol = \"TCP\" }]\n"
      "resolution = \"STATIC\"\nendpoints = [" +
      Endpoint(b.port()) + "]\n";
  auto gw = StartGateway(port, {.endpoints = {a.port()},
                                .routes = R"(
[[virtual_service.tcp]]
route = [{ destination = { host = "backend.internal", port = { number = 9000 } }, weight = 75 },
         { destination = { host = "other.internal", port = { number = 9000 } }, weight = 25 }]
)",
                                .extra = other,
                                .servers = {&a, &b}});
  std::map<std::string, int> counts;
  constexpr int kConnections = 200;
  for (int i = 0; i < kConnections; ++i) {
    RawClient client(port);
    ++counts[client.ReadExactly(2, milliseconds(5000))];
  }
  EXPECT_EQ(counts["a\n"] + counts["b\n"], kConnections);
  // Binomial(200, 0.75): mean 150, sd 6.1; these bounds are about 4 sd.
  EXPECT_GT(counts["a\n"], 125) << counts["a\n"] << " / " << counts["b\n"];
  EXPECT_LT(counts["a\n"], 175) << counts["a\n"] << " / " << counts["b\n"];
  EXPECT_EQ(a.accepts() + b.accepts(), kConnections);
  EXPECT_FALSE(LogLineContaining(gw, "outbound|9000||other.internal").empty());
}

TEST(TcpProxy, NoRouteClosesWithNr) {
  TcpServer echo({.mode = TcpServer::Mode::kEcho});
  const int port = FreePort();
  // The only rule wants another destination address.
  auto gw = StartGateway(port, {.endpoints = {echo.port()}, .routes = R"(
[[virtual_service.tcp]]
match = [{ destination_subnets = ["10.77.0.0/16"] }]
route = [{ destination = { host = "backend.internal", port = { number = 9000 } } }]
)"});
  RawClient client(port);
  client.Send("anyone?");
  EXPECT_TRUE(client.IsClosed(milliseconds(5000)));
  EXPECT_EQ(client.Buffered(), "");
  EXPECT_EQ(echo.accepts(), 0);
  const std::string line = LogLineContaining(gw, " NR ");
  ASSERT_FALSE(line.empty()) << gw.ReadStdout();
  EXPECT_THAT(line, HasSubstr("0 NR filter_chain_not_found no_route"));
}

TEST(TcpProxy, ReloadKeepsOpenSessionsOnTheirOldRoute) {
  TcpServer old_server({.mode = TcpServer::Mode::kGreet, .name = "old"});
  TcpServer new_server({.mode = TcpServer::Mode::kGreet, .name = "new"});
  const int port = FreePort();
  auto gw = StartGateway(port, {.endpoints = {old_server.port()}});
  RawClient old_session(port);
  ASSERT_EQ(old_session.ReadExactly(4, milliseconds(5000)), "old\n");
  const int old_client_port = old_session.LocalPort();

  // New config: the route now goes to another service; the old cluster is
  // gone from the snapshot (and retired on the worker).
  std::string endpoints = Endpoint(new_server.port());
  gw.WriteConfig(Subst(kConfig, {{"PORT", std::to_string(port)},
                                 {"PROXY", ""},
                                 {"ENDPOINTS", endpoints},
                                 {"POOL", "connect_timeout = \"2s\""},
                                 {"LB", ""},
                                 {"ROUTES", R"(
[[virtual_service.tcp]]
route = [{ destination = { host = "fresh.internal", port = { number = 9000 } } }]
[[service_entry]]
name = "fresh"
hosts = ["fresh.internal"]
ports = [{ number = 9000, name = "tcp", protocol = "TCP" }]
resolution = "STATIC"
endpoints = [)" + endpoints + "]\n"}}));
  ASSERT_TRUE(gw.Signal(SIGHUP));
  ASSERT_TRUE(gw.process().WaitForStderr("published config version 2", milliseconds(5000)))
      << gw.ReadStderr();
  std::this_thread::sleep_for(milliseconds(1500));  // worker housekeeping runs
  RawClient fresh(port);
  EXPECT_EQ(fresh.ReadExactly(4, milliseconds(5000)), "new\n");
  // The old session still pipes to its old upstream.
  ASSERT_TRUE(old_session.Send("still here"));
  EXPECT_EQ(old_session.ReadExactly(10, milliseconds(5000)), "still here");
  old_session.ShutdownWrite();
  EXPECT_TRUE(old_session.IsClosed(milliseconds(5000)));
  const std::string line = LogLineContaining(gw, ":" + std::to_string(old_client_port) + " ");
  EXPECT_THAT(line, HasSubstr("outbound|9000||backend.internal")) << line;
  EXPECT_THAT(line, HasSubstr("\" 10 14 ")) << line;
}

TEST(TcpProxy, DrainKeepsSessionsUntilTheyEnd) {
  TcpServer echo({.mode = TcpServer::Mode::kEcho});
  const int port = FreePort();
  auto gw = StartGateway(port, {.endpoints = {echo.port()}, .proxy = "drain_timeout = \"20s\""});
  RawClient client(port);
  ASSERT_TRUE(client.Send("before"));
  ASSERT_EQ(client.ReadExactly(6, milliseconds(5000)), "before");
  ASSERT_TRUE(gw.Signal(SIGTERM));
  std::this_thread::sleep_for(milliseconds(300));
  // No new connections, but the open session keeps working.
  EXPECT_FALSE(RawClient::TryConnect(port, milliseconds(500)).has_value());
  ASSERT_TRUE(client.Send("during"));
  EXPECT_EQ(client.ReadExactly(6, milliseconds(5000)), "during");
  EXPECT_TRUE(gw.Running());
  // Ending the session ends the drain.
  client.ShutdownWrite();
  EXPECT_TRUE(client.IsClosed(milliseconds(5000)));
  auto status = gw.WaitExit(milliseconds(5000));
  ASSERT_TRUE(status.has_value()) << "gateway still running after its last session ended";
  EXPECT_TRUE(ExitedWith(*status, 0)) << DescribeWaitStatus(*status);
  EXPECT_FALSE(LogLineContaining(gw, "pipe.tcp.0").empty());
}

TEST(TcpProxy, DrainTimeoutEndsIdleSessions) {
  TcpServer echo({.mode = TcpServer::Mode::kEcho});
  const int port = FreePort();
  auto gw = StartGateway(port, {.endpoints = {echo.port()}, .proxy = "drain_timeout = \"700ms\""});
  RawClient client(port);
  ASSERT_TRUE(client.Send("x"));
  ASSERT_EQ(client.ReadExactly(1, milliseconds(5000)), "x");
  ASSERT_TRUE(gw.Signal(SIGTERM));
  EXPECT_TRUE(client.IsClosed(milliseconds(5000)));
  auto status = gw.WaitExit(milliseconds(5000));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(ExitedWith(*status, 0)) << DescribeWaitStatus(*status);
  EXPECT_FALSE(LogLineContaining(gw, "worker_stopped").empty()) << gw.ReadStdout();
}

}  // namespace
}  // namespace gh::test
