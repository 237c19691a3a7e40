// istio_tcp_* counters of TCP sessions (gateway/tcp_proxy.cc), read from the
// workers' stats shards of an in-process Server: real config compiler, real
// workers and sockets on 127.0.0.1, an echo upstream on a thread. (The
// admin endpoint that renders these counters is not part of this test.)
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "control/compile.h"
#include "gateway/server.h"

namespace gh::gateway {
namespace {

using namespace std::chrono_literals;

int ListenLoopback(int* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

// Echoes every connection until EOF, then closes it (one thread, poll loop).
class EchoServer {
 public:
  EchoServer() {
    fd_ = ListenLoopback(&port_);
    thread_ = std::thread([this] { Loop(); });
  }
  ~EchoServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }

 private:
  void Loop() {
    std::vector<int> clients;
    while (!stop_) {
      std::vector<pollfd> fds{{fd_, POLLIN, 0}};
      for (int c : clients)
        fds.push_back({c, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) clients.push_back(c);
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buf[4096];
        const ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        if (n > 0) {
          ::send(fds[i].fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
        } else {
          ::close(fds[i].fd);
          std::erase(clients, fds[i].fd);
        }
      }
    }
    for (int c : clients)
      ::close(c);
  }
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

int FreePort() {
  int port = 0;
  const int fd = ListenLoopback(&port);
  ::close(fd);
  return port;
}

std::string Config(int port, const std::string& endpoints, const std::string& match) {
  return R"(
[proxy]
workers = 2
access_log = "off"
[admin]
address = "127.0.0.1:0"
[[gateway]]
name = "tcp"
[[gateway.servers]]
port = { number = )" +
         std::to_string(port) + R"(, name = "tcp", protocol = "TCP" }
bind = "127.0.0.1"
hosts = ["*"]
[[service_entry]]
name = "backend"
hosts = ["backend.internal"]
ports = [{ number = 9000, name = "tcp", protocol = "TCP" }]
resolution = "STATIC"
endpoints = [)" +
         endpoints + R"(]
[[virtual_service]]
name = "pipe"
hosts = ["*"]
gateways = ["tcp"]
[[virtual_service.tcp]]
)" + match +
         R"(
route = [{ destination = { host = "backend.internal", port = { number = 9000 } } }]
)";
}

std::string Endpoint(int port) {
  return "{ address = \"127.0.0.1\", ports = { tcp = " + std::to_string(port) + " } }";
}

// A Server running its main loop on a thread.
class InProcessGateway {
 public:
  explicit InProcessGateway(std::string toml)
      : server_([toml]() -> Result<LoadedConfig> {
          control::CompileResult compiled = control::Compile({{"test.toml", toml}});
          if (!compiled.ok()) {
            std::string errors;
            for (const auto& d : compiled.diagnostics)
              errors += d.ToString() + "\n";
            return MakeError(errors);
          }
          LoadedConfig loaded;
          loaded.config = compiled.config;
          loaded.hash = compiled.content_hash;
          return loaded;
        }) {
    Status started = server_.Start();
    EXPECT_TRUE(started.ok()) << (started.ok() ? "" : started.error().message);
    ok_ = started.ok();
    if (ok_) thread_ = std::thread([this] { server_.Run(); });
  }
  ~InProcessGateway() {
    if (!ok_) return;
    server_.dispatcher().Post([this] { server_.Quit(); });
    thread_.join();
  }
  bool ok() const { return ok_; }

  WorkerStats Stats() {
    auto promise = std::make_shared<std::promise<WorkerStats>>();
    std::future<WorkerStats> future = promise->get_future();
    server_.dispatcher().Post([this, promise] {
      server_.CollectStats([promise](WorkerStats s) { promise->set_value(std::move(s)); });
    });
    if (future.wait_for(5s) != std::future_status::ready) return {};
    return future.get();
  }
  // Polls until `done(stats)` or 5 s.
  template <class Pred>
  WorkerStats WaitFor(Pred done) {
    WorkerStats stats;
    for (int i = 0; i < 250; ++i) {
      stats = Stats();
      if (done(stats)) break;
      std::this_thread::sleep_for(20ms);
    }
    return stats;
  }

 private:
  Server server_;
  std::thread thread_;
  bool ok_ = false;
};

// Connects, sends `payload`, reads the echo (if any), half-closes, waits for EOF.
std::string EchoOnce(int port, const std::string& payload) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string got;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    ::send(fd, payload.data(), payload.size(), MSG_NOSIGNAL);
    ::shutdown(fd, SHUT_WR);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) != 1) continue;
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return got;
}

uint64_t Closed(const WorkerStats& s, const std::string& service, const std::string& flags) {
  auto it = s.tcp.find(TcpLabels{service, flags});
  return it == s.tcp.end() ? 0 : it->second.closed;
}

TEST(TcpProxyStats, SessionsCountOpenedClosedAndBytesByService) {
  EchoServer echo;
  const int port = FreePort();
  InProcessGateway gw(Config(port, Endpoint(echo.port()), ""));
  ASSERT_TRUE(gw.ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(EchoOnce(port, std::string(100 + i, 'x')), std::string(100 + i, 'x'));
  }
  const WorkerStats s =
      gw.WaitFor([](const WorkerStats& st) { return Closed(st, "backend.internal", "-") == 3; });
  const TcpMetrics& m = s.tcp.at(TcpLabels{"backend.internal", "-"});
  EXPECT_EQ(m.opened, 3u);
  EXPECT_EQ(m.closed, 3u);
  EXPECT_EQ(m.received_bytes, 303u);
  EXPECT_EQ(m.sent_bytes, 303u);
  EXPECT_EQ(s.tcp.size(), 1u);
  EXPECT_EQ(s.downstream_cx_total, 3u);
  EXPECT_EQ(s.downstream_cx_active, 0u);
  EXPECT_EQ(s.upstream_cx_total, 3u);
}

TEST(TcpProxyStats, NoRouteIsCountedUnderUnknownNr) {
  EchoServer echo;
  const int port = FreePort();
  InProcessGateway gw(
      Config(port, Endpoint(echo.port()), "match = [{ destination_subnets = [\"10.0.0.0/8\"] }]"));
  ASSERT_TRUE(gw.ok());
  EXPECT_EQ(EchoOnce(port, "hello"), "");
  const WorkerStats s =
      gw.WaitFor([](const WorkerStats& st) { return Closed(st, "unknown", "NR") == 1; });
  const TcpMetrics& m = s.tcp.at(TcpLabels{"unknown", "NR"});
  EXPECT_EQ(m.opened, 1u);
  EXPECT_EQ(m.closed, 1u);
  EXPECT_LE(m.received_bytes, 5u);  // what arrived before the close
  EXPECT_EQ(m.sent_bytes, 0u);
  EXPECT_EQ(s.upstream_cx_total, 0u);
}

TEST(TcpProxyStats, ConnectFailureIsCountedUfUrx) {
  const int port = FreePort();
  InProcessGateway gw(Config(port, Endpoint(FreePort()), ""));
  ASSERT_TRUE(gw.ok());
  EXPECT_EQ(EchoOnce(port, "hello"), "");
  const WorkerStats s = gw.WaitFor(
      [](const WorkerStats& st) { return Closed(st, "backend.internal", "UF,URX") == 1; });
  EXPECT_EQ(Closed(s, "backend.internal", "UF,URX"), 1u);
  EXPECT_EQ(s.upstream_cx_connect_fail, 1u);
  EXPECT_EQ(s.tcp.count(TcpLabels{"backend.internal", "-"}), 0u);
}

TEST(TcpProxyStats, OpenSessionIsActive) {
  EchoServer echo;
  const int port = FreePort();
  InProcessGateway gw(Config(port, Endpoint(echo.port()), ""));
  ASSERT_TRUE(gw.ok());
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  WorkerStats s = gw.WaitFor([](const WorkerStats& st) {
    auto it = st.tcp.find(TcpLabels{"backend.internal", "-"});
    return it != st.tcp.end() && it->second.opened == 1;
  });
  EXPECT_EQ(s.downstream_cx_active, 1u);
  EXPECT_EQ(Closed(s, "backend.internal", "-"), 0u);
  ::close(fd);
  s = gw.WaitFor([](const WorkerStats& st) { return Closed(st, "backend.internal", "-") == 1; });
  EXPECT_EQ(s.downstream_cx_active, 0u);
}

}  // namespace
}  // namespace gh::gateway
