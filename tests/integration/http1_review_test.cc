// Review findings on the HTTP/1.1 data plane: each test failed on main when
// it was written (fixes, where made, follow it in history). Raw-socket
// origins (RawOrigin) play misbehaving upstreams.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/integration/proxy_fixture.h"

namespace gh::test {
namespace {

using Clock = std::chrono::steady_clock;

// A loopback origin that runs `serve(fd, n)` on a thread for the n-th
// accepted connection (0-based) and closes the fd afterwards.
class RawOrigin {
 public:
  using Handler = std::function<void(int fd, int index)>;
  explicit RawOrigin(Handler serve, int rcvbuf = 0) : serve_(std::move(serve)) {
    // CLOEXEC: children the test spawns (curl) must not inherit these sockets.
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Accept(); });
  }
  ~RawOrigin() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (auto& t : workers_)
      t.join();
  }
  int port() const { return port_; }
  int accepts() const { return accepts_; }
  std::atomic<bool>& stop() { return stop_; }

 private:
  void Accept() {
    while (!stop_) {
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      const int index = accepts_++;
      workers_.emplace_back([this, c, index] {
        serve_(c, index);
        ::close(c);
      });
    }
  }
  Handler serve_;
  int fd_;
  int port_ = 0;
  std::atomic<int> accepts_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> workers_;
};

// Reads until `delim` (inclusive) or EOF/timeout; returns what was read.
[[maybe_unused]] std::string RecvUntil(int fd, std::string_view delim, milliseconds timeout) {
  std::string got;
  const auto deadline = Clock::now() + timeout;
  char buf[4096];
  while (got.find(delim) == std::string::npos && Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// Reads up to `want` bytes, stopping after `idle` without data; returns the count.
[[maybe_unused]] size_t RecvCount(int fd, size_t want, milliseconds idle, bool* reset = nullptr) {
  size_t total = 0;
  char buf[16384];
  while (total < want) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(idle.count())) <= 0) break;
    const ssize_t n = ::recv(fd, buf, std::min(sizeof buf, want - total), 0);
    if (n < 0 && reset != nullptr && errno == ECONNRESET) *reset = true;
    if (n <= 0) break;
    total += static_cast<size_t>(n);
  }
  return total;
}

[[maybe_unused]] void SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

[[maybe_unused]] void SendReset(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

[[maybe_unused]] bool WaitFor(const std::function<bool()>& done, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

// A reload that keeps a cluster (same fingerprint) swaps the ClusterState's
// config but keeps its load balancer, which holds a reference into the old
// config's Cluster: once the old snapshot is released every pick reads freed
// memory (ASan: heap-use-after-free in the balancer's Pick).
TEST(Http1Review, ReloadKeepingAClusterKeepsItsBalancerValid) {
  ProxyEnv env;
  ASSERT_EQ(Curl({env.Url("/before")}).status, 200);
  const std::string config = ReadFile(env.gateway().ConfigPath());
  for (int reload = 1; reload <= 3; ++reload) {
    // Only the proxy table changes: the cluster stays warm.
    std::string next = config;
    next.replace(next.find("[proxy]\n"), 8,
                 "[proxy]\nserver_header = \"gh" + std::to_string(reload) + "\"\n");
    env.gateway().WriteConfig(next);
    env.gateway().Signal(SIGHUP);
    ASSERT_TRUE(WaitFor(
        [&] { return Curl({env.Url("/probe")}).Header("server") == "gh" + std::to_string(reload); },
        milliseconds(5000)))
        << env.gateway().ReadStderr();
    for (int i = 0; i < 5; ++i) {
      auto r = Curl({env.Url("/after")});
      ASSERT_EQ(r.status, 200) << r.Describe() << env.gateway().ReadStderr();
    }
  }
  EXPECT_EQ(env.gateway().ReadStderr().find("AddressSanitizer"), std::string::npos)
      << env.gateway().ReadStderr();
}

// The origin of a tunnel resets its connection: the codec frees itself but
// the proxy keeps its UpstreamStream pointer, and the next client bytes are
// written through freed memory (ASan: heap-use-after-free). The downstream is
// left half-open instead of being reset.
TEST(Http1Review, TunnelUpstreamResetDoesNotLeaveADanglingStream) {
  RawOrigin origin([](int fd, int) {
    RecvUntil(fd, "\r\n\r\n", milliseconds(3000));
    SendAll(
        fd,
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    std::this_thread::sleep_for(milliseconds(200));
    SendReset(fd);  // close() now sends an RST
  });
  ProxyEnv env({.upstream_port = origin.port()});
  RawClient c(env.port());
  ASSERT_TRUE(
      c.Send("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"));
  HttpResponse r = c.ReadResponse(milliseconds(3000));
  ASSERT_EQ(r.status, 101) << r.Describe();
  std::this_thread::sleep_for(milliseconds(500));  // the upstream reset has been seen
  bool sent = true;
  for (int i = 0; i < 5 && sent; ++i) {
    sent = c.Send("more tunnel bytes");
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_FALSE(sent) << "the tunnel stayed half-open after its upstream was reset";
  auto died = env.gateway().WaitExit(milliseconds(200));
  EXPECT_FALSE(died.has_value()) << "the gateway died: " << DescribeWaitStatus(died.value_or(0))
                                 << env.gateway().ReadStderr();
  EXPECT_EQ(env.gateway().ReadStderr().find("AddressSanitizer"), std::string::npos)
      << env.gateway().ReadStderr();
}

// An upgrade request's body is framed by its Content-Length for the gateway,
// but forwarded upstream without any framing: the origin (which refuses the
// upgrade) reads it as a second request the gateway never routed.
TEST(Http1Review, UpgradeRequestBodyIsNotSmuggledUpstream) {
  ProxyEnv env;
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: internal\r\n\r\n";
  RawClient c(env.port());
  ASSERT_TRUE(
      c.Send("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
             "Content-Length: " +
             std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled));
  HttpResponse r = c.ReadResponse(milliseconds(3000));
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_LE(env.upstream().Stats().requests, 1)
      << "the origin saw a request the gateway never routed; first response: " << r.Describe();
}

// A retry scheduled while the request body is still arriving: body bytes
// that arrive before the retry starts push the body over the replay limit,
// and the bytes the failed attempt had sent are dropped from the replay.
TEST(Http1Review, RetryReplaysTheWholeRequestBody) {
  constexpr size_t kTotal = 100000;
  constexpr size_t kFirst = 10000;
  std::atomic<bool> answered_503{false};
  RawOrigin origin([&](int fd, int index) {
    std::string got = RecvUntil(fd, "\r\n\r\n", milliseconds(3000));
    const size_t head_end = got.find("\r\n\r\n");
    if (head_end == std::string::npos) return;
    size_t body = got.size() - head_end - 4;
    if (index == 0) {
      // Take the first part of the body, then refuse.
      body += RecvCount(fd, kFirst - std::min(body, kFirst), milliseconds(2000));
      SendAll(fd, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
      answered_503 = true;
      RecvCount(fd, SIZE_MAX, milliseconds(2000));
      return;
    }
    body += RecvCount(fd, kTotal - std::min(body, kTotal), milliseconds(1500));
    const std::string text = std::to_string(body);
    SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(text.size()) +
                    "\r\nConnection: close\r\n\r\n" + text);
  });
  ProxyEnv env({.route_keys = "retries = { attempts = 1, retry_on = \"5xx\", backoff = \"1s\" }",
                .upstream_port = origin.port()});
  RawClient c(env.port());
  ASSERT_TRUE(c.Send("PUT /upload HTTP/1.1\r\nHost: a\r\nContent-Length: " +
                     std::to_string(kTotal) + "\r\n\r\n" + PatternBytes(0, kFirst)));
  ASSERT_TRUE(WaitFor([&] { return answered_503.load(); }, milliseconds(3000)));
  std::this_thread::sleep_for(milliseconds(10));
  ASSERT_TRUE(c.Send(PatternBytes(kFirst, kTotal - kFirst)));
  HttpResponse r = c.ReadResponse(milliseconds(6000));
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.body, std::to_string(kTotal)) << "bytes of the request body the retry delivered";
  EXPECT_EQ(origin.accepts(), 2);
}

// More than 16 blocks of request body waiting for the upstream (a large
// connection buffer and a fault delay): SendBufferedBody peeks the same 16
// spans forever and the worker spins.
TEST(Http1Review, LargeBufferedBodyIsForwardedAfterFaultDelay) {
  ProxyEnv env({.proxy_keys = "connection_buffer_bytes = 1048576",
                .route_keys = "fault = { delay = { fixed_delay = \"300ms\", percentage = { value = "
                              "100 } } }"});
  constexpr size_t kSize = 600000;
  RawClient c(env.port());
  ASSERT_TRUE(c.Send("POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(kSize) +
                     "\r\n\r\n"));
  ASSERT_TRUE(c.SendPattern(kSize));
  HttpResponse r = c.ReadResponse(milliseconds(5000));
  ASSERT_EQ(r.status, 200) << r.Describe();
  auto echo = ParseJson(r.body);
  EXPECT_EQ(echo["body_length"], kSize);
  EXPECT_EQ(echo["body_sha256"], PatternSha256(kSize));
}

// A retry after a config reload resolves the cluster again, gets a new
// ClusterState, and the finished request decrements a counter it never
// incremented: active_requests wraps to UINT32_MAX and, once a reload brings
// that cluster back, every request is 503 UO.
TEST(Http1Review, RetryAcrossReloadKeepsTheActiveRequestCount) {
  auto up = UpstreamProcess::Start();
  const int port = FreePort();
  const std::string base = Subst(kProxyConfig, {{"PORT", std::to_string(port)},
                                                {"UPSTREAM", std::to_string(up.Port())},
                                                {"PROXY", ""},
                                                {"ROUTE",
                                                 "retries = { attempts = 1, retry_on = "
                                                 "\"503\", backoff = \"10ms\" }"}});
  const std::string changed = base + R"(
[[destination_rule]]
name = "limits"
host = "origin.internal"
traffic_policy = { connection_pool = { tcp = { max_connections = 100 } } }
)";
  auto gw = GatehouseProcess::Start(base, {.wait_ports = {port}});
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  ASSERT_EQ(Curl({url + "/warm"}).status, 200);

  std::atomic<int> slow_status{0};
  std::thread slow([&] {
    slow_status =
        Curl({"-H", "x-upstream-delay-ms: 1000", "-H", "x-upstream-status: 503", url + "/slow"},
             milliseconds(8000))
            .status;
  });
  std::this_thread::sleep_for(milliseconds(300));
  gw.WriteConfig(changed);  // the cluster's fingerprint changes under the request
  gw.Signal(SIGHUP);
  slow.join();
  EXPECT_EQ(slow_status.load(), 503);

  gw.WriteConfig(base);  // and back: the state the retry created is reused
  gw.Signal(SIGHUP);
  std::this_thread::sleep_for(milliseconds(500));
  auto r = Curl({url + "/after"});
  const auto lines = gw.AccessLogLines();
  EXPECT_EQ(r.status, 200) << r.Describe() << "\n" << (lines.empty() ? "" : lines.back());
}

constexpr std::string_view kTlsConfig = R"(
[proxy]
workers = 1
[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = ${HTTPS}, name = "https", protocol = "HTTPS" }
hosts = ["*"]
tls = { mode = "SIMPLE", server_certificate = "${DIR}/leaf.pem", private_key = "${DIR}/leaf.key" }
[[service_entry]]
name = "origin"
hosts = ["origin.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http = ${UPSTREAM} } }]
[[virtual_service]]
name = "r"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
route = [{ destination = { host = "origin.internal" } }]
)";

// A TLS client whose last tunnel bytes and close_notify arrive together,
// after the origin half-closed: DrainTls hands over the bytes (queued for
// the upstream, not yet written) and then the EOF, the stream finishes and
// resets the upstream connection with those bytes still queued. The origin
// gets an RST instead of the bytes and a FIN.
constexpr std::string_view kTlsTunnelClient = R"PY(
import socket, ssl, sys
port, size = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
raw = socket.create_connection(("127.0.0.1", port))
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(inc, out, server_hostname="a.test")
def flush():
    data = out.read()
    if data:
        raw.sendall(data)
def pump():
    data = raw.recv(65536)
    if not data:
        inc.write_eof()
        return False
    inc.write(data)
    return True
while True:
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        flush()
        pump()
flush()
tls.write(b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
flush()
head = b""
while True:  # the 101, then the gateway's close_notify (the origin half-closed)
    try:
        data = tls.read(65536)
        if not data:
            break
        head += data
    except ssl.SSLWantReadError:
        if not pump():
            break
    except ssl.SSLZeroReturnError:
        break
print(head.split(b"\r\n")[0].decode(), flush=True)
tls.write(b"z" * size)
try:
    tls.unwrap()
except ssl.SSLError:
    pass
flush()  # the last bytes and close_notify in one segment
raw.settimeout(3)
try:
    while raw.recv(65536):
        pass
except OSError:
    pass
)PY";

TEST(Http1Review, TlsTunnelClientLastBytesReachTheOriginBeforeItsFin) {
  constexpr size_t kSize = 10000;
  std::atomic<size_t> received{0};
  std::atomic<bool> reset{false};
  std::atomic<bool> done{false};
  RawOrigin origin([&](int fd, int) {
    RecvUntil(fd, "\r\n\r\n", milliseconds(3000));
    SendAll(
        fd,
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    ::shutdown(fd, SHUT_WR);  // the origin is done sending
    bool was_reset = false;
    received = RecvCount(fd, SIZE_MAX, milliseconds(3000), &was_reset);
    reset = was_reset;
    done = true;
  });
  TempDir dir;
  CertFiles ca = MakeCa(dir.path());
  CertFiles leaf = MakeLeaf(ca, {"a.test"});
  WriteFile(dir.path() + "/leaf.pem", ReadFile(leaf.cert));
  WriteFile(dir.path() + "/leaf.key", ReadFile(leaf.key));
  WriteFile(dir.path() + "/client.py", std::string(kTlsTunnelClient));
  const int https = FreePort();
  auto gw =
      GatehouseProcess::Start(Subst(kTlsConfig, {{"HTTPS", std::to_string(https)},
                                                 {"DIR", dir.path()},
                                                 {"UPSTREAM", std::to_string(origin.port())}}),
                              {.wait_ports = {https}});
  CommandResult client = RunCommand(
      {Python(), dir.path() + "/client.py", std::to_string(https), std::to_string(kSize)},
      milliseconds(10000));
  EXPECT_EQ(client.exit_code, 0) << client.Describe();
  EXPECT_NE(client.out.find("101"), std::string::npos) << client.out;
  ASSERT_TRUE(WaitFor([&] { return done.load(); }, milliseconds(5000)));
  EXPECT_EQ(received.load(), kSize);
  EXPECT_FALSE(reset.load()) << "the origin got an RST instead of the client's last bytes and FIN";
}

// A 101 answer to a request that asked for no upgrade: the upstream codec
// becomes a tunnel the proxy does not know about and, after the origin's
// FIN, the connection is never closed nor released: with max_connections =
// 1 every later request waits forever.
TEST(Http1Review, Unsolicited101DoesNotLeakTheUpstreamConnection) {
  constexpr std::string_view kPolicy = R"(
[[destination_rule]]
name = "limits"
host = "origin.internal"
traffic_policy = { connection_pool = { tcp = { max_connections = 1 } } }
)";
  ProxyEnv env({.route_keys = "timeout = \"3s\"\n" + std::string(kPolicy)});
  {
    RawClient c(env.port());
    // base64("HTTP/1.1 101 Switching Protocols\r\n\r\n")
    ASSERT_TRUE(c.Send(BuildRequest(
        "GET", "/",
        {{"Host", "a"}, {"x-upstream-raw", "SFRUUC8xLjEgMTAxIFN3aXRjaGluZyBQcm90b2NvbHMNCg0K"}})));
    HttpResponse r = c.ReadResponse(milliseconds(3000));
    EXPECT_NE(r.status, 101) << "a 101 the client never asked for was forwarded";
    c.IsClosed(milliseconds(1000));
  }
  auto r = Curl({env.Url("/next")}, milliseconds(6000));
  EXPECT_EQ(r.status, 200) << r.Describe();
}

constexpr std::string_view kMirrorConfig = R"(
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
endpoints = [{ address = "127.0.0.1", ports = { http = ${MAIN} } }]
[[service_entry]]
name = "shadow"
hosts = ["shadow.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http = ${SHADOW} } }]
[[virtual_service]]
name = "r"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
timeout = "${TIMEOUT}"
mirror = { host = "shadow.internal" }
route = [{ destination = { host = "origin.internal" }, headers = { request = { remove = ["x-upstream-delay-ms"] } } }]
)";

// A mirror still waiting for its (slow) shadow at stop: nothing ends it (its
// deadline is a timer), so the process waits for the shadow. With a shadow
// that answers, the mirror is then freed after its ClusterState (ASan:
// heap-use-after-free at exit).
TEST(Http1Review, SigtermExitsWithAMirrorInFlight) {
  auto main = UpstreamProcess::Start({.name = "main"});
  auto shadow = UpstreamProcess::Start({.name = "shadow"});
  const int port = FreePort();
  auto gw = GatehouseProcess::Start(Subst(kMirrorConfig, {{"PORT", std::to_string(port)},
                                                          {"MAIN", std::to_string(main.Port())},
                                                          {"SHADOW", std::to_string(shadow.Port())},
                                                          {"TIMEOUT", "30s"}}),
                                    {.wait_ports = {port}});
  auto r =
      Curl({"-H", "x-upstream-delay-ms: 2500", "http://127.0.0.1:" + std::to_string(port) + "/m"});
  ASSERT_EQ(r.status, 200) << r.Describe();
  ASSERT_TRUE(WaitFor([&] { return shadow.Stats().open_connections > 0; }, milliseconds(2000)));
  gw.Signal(SIGTERM);
  const auto start = Clock::now();
  auto status = gw.WaitExit(milliseconds(8000));
  ASSERT_TRUE(status.has_value()) << "still running 8 s after SIGTERM";
  EXPECT_LT(Clock::now() - start, milliseconds(1500)) << "shutdown waited for the mirror";
  EXPECT_TRUE(ExitedWith(*status, 0)) << DescribeWaitStatus(*status) << gw.ReadStderr();
}

// A client that connects to a TLS listener and says nothing: its handshake
// is never abandoned at stop, so SIGTERM never ends the process.
TEST(Http1Review, SigtermExitsWithATlsHandshakePending) {
  TempDir dir;
  CertFiles ca = MakeCa(dir.path());
  CertFiles leaf = MakeLeaf(ca, {"a.test"});
  WriteFile(dir.path() + "/leaf.pem", ReadFile(leaf.cert));
  WriteFile(dir.path() + "/leaf.key", ReadFile(leaf.key));
  auto up = UpstreamProcess::Start();
  const int https = FreePort();
  auto gw = GatehouseProcess::Start(Subst(kTlsConfig, {{"HTTPS", std::to_string(https)},
                                                       {"DIR", dir.path()},
                                                       {"UPSTREAM", std::to_string(up.Port())}}),
                                    {.wait_ports = {https}});
  RawClient silent(https);
  std::this_thread::sleep_for(milliseconds(200));
  gw.Signal(SIGTERM);
  auto status = gw.WaitExit(milliseconds(5000));
  ASSERT_TRUE(status.has_value()) << "still running 5 s after SIGTERM";
  EXPECT_TRUE(ExitedWith(*status, 0)) << DescribeWaitStatus(*status) << gw.ReadStderr();
}

// A pooled keep-alive connection to an origin that does not close when it
// reads our FIN: its lingering close waits for a timer that no longer runs.
TEST(Http1Review, SigtermExitsWithAnIdlePooledConnection) {
  std::atomic<bool> quit{false};
  RawOrigin origin([&](int fd, int) {
    if (RecvUntil(fd, "\r\n\r\n", milliseconds(3000)).empty()) return;
    SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    // Ignore the gateway's FIN: keep the socket open for a long while.
    for (int i = 0; i < 300 && !quit; ++i)
      std::this_thread::sleep_for(milliseconds(100));
  });
  struct Quit {
    std::atomic<bool>& q;
    ~Quit() { q = true; }
  } quit_on_exit{quit};
  ProxyEnv env({.upstream_port = origin.port()});
  ASSERT_EQ(Curl({env.Url("/x")}).status, 200);
  env.gateway().Signal(SIGTERM);
  auto status = env.gateway().WaitExit(milliseconds(5000));
  ASSERT_TRUE(status.has_value()) << "still running 5 s after SIGTERM";
  EXPECT_TRUE(ExitedWith(*status, 0)) << DescribeWaitStatus(*status);
}

// A client that pipelines requests and never reads: each finished response
// lets the next pipelined request start, whatever is already queued for the
// client (OnWriteAboveHighWatermark does nothing), so the write queue grows
// without bound: here ~80 MB of responses for 256 KB of requests.
constexpr std::string_view kDirectConfig = R"(
[proxy]
workers = 1
access_log = "off"
[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = ${PORT}, name = "http", protocol = "HTTP" }
hosts = ["*"]
[[virtual_service]]
name = "r"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
direct_response = { status = 200, body = { string = "${BODY}" } }
)";

TEST(Http1Review, PipelinedRequestsStopWhileTheClientDoesNotRead) {
  const int port = FreePort();
  auto gw = GatehouseProcess::Start(
      Subst(kDirectConfig, {{"PORT", std::to_string(port)}, {"BODY", std::string(8192, 'x')}}),
      {.wait_ports = {port}});
  ASSERT_EQ(Curl({"http://127.0.0.1:" + std::to_string(port) + "/warm"}).status, 200);
  const int64_t baseline = gw.Rss();
  RawClient c(port);
  std::string batch;
  for (int i = 0; i < 64; ++i)
    batch += "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  size_t sent = 0;
  auto last_progress = Clock::now();
  while (sent < 256 * 1024 && Clock::now() - last_progress < milliseconds(1000)) {
    const ssize_t n = ::send(c.fd(), batch.data(), batch.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      last_progress = Clock::now();
      if (static_cast<size_t>(n) < batch.size()) {
        // Keep the stream of requests well-formed: finish this batch.
        std::string_view rest = std::string_view(batch).substr(static_cast<size_t>(n));
        while (!rest.empty() && Clock::now() - last_progress < milliseconds(1000)) {
          const ssize_t m = ::send(c.fd(), rest.data(), rest.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
          if (m > 0) {
            rest.remove_prefix(static_cast<size_t>(m));
            sent += static_cast<size_t>(m);
            last_progress = Clock::now();
          } else {
            std::this_thread::sleep_for(milliseconds(5));
          }
        }
      }
    } else {
      std::this_thread::sleep_for(milliseconds(5));
    }
  }
  std::this_thread::sleep_for(milliseconds(500));
  const int64_t growth = gw.Rss() - baseline;
  EXPECT_LT(growth, 32LL << 20) << "RSS grew by " << (growth >> 20) << " MiB after " << sent
                                << " bytes of pipelined requests nobody read the answers to";
  // Reading again lets the pipeline resume: every request gets its answer.
  const size_t requests = sent / (batch.size() / 64);
  HttpResponse first = c.ReadResponse(milliseconds(3000));
  ASSERT_EQ(first.status, 200) << first.Describe();
  const size_t each = first.raw_head.size() + first.body.size();  // all answers are alike
  size_t rest = 0;
  while (rest < (requests - 1) * each) {
    const std::string got = c.ReadSome(milliseconds(3000));
    if (got.empty()) break;
    rest += got.size();
  }
  EXPECT_EQ(rest, (requests - 1) * each) << "answers after the first, for " << requests;
}

// A TLS connection closed gracefully with more than 64 KiB of plaintext
// still queued: Close() encrypts one 64 KiB batch, then queues close_notify,
// after which the session refuses the rest: the response is cut short
// (and StartWrite is left with plaintext it can never encrypt).
constexpr std::string_view kTlsDirectConfig = R"(
[proxy]
workers = 1
[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = ${HTTPS}, name = "https", protocol = "HTTPS" }
hosts = ["*"]
tls = { mode = "SIMPLE", server_certificate = "${DIR}/leaf.pem", private_key = "${DIR}/leaf.key" }
[[virtual_service]]
name = "r"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
direct_response = { status = 200, body = { string = "${BODY}" } }
)";

TEST(Http1Review, TlsResponseIsCompleteWhenTheConnectionCloses) {
  TempDir dir;
  CertFiles ca = MakeCa(dir.path());
  CertFiles leaf = MakeLeaf(ca, {"a.test"});
  WriteFile(dir.path() + "/leaf.pem", ReadFile(leaf.cert));
  WriteFile(dir.path() + "/leaf.key", ReadFile(leaf.key));
  constexpr size_t kSize = 200000;
  const int https = FreePort();
  auto gw = GatehouseProcess::Start(Subst(kTlsDirectConfig, {{"HTTPS", std::to_string(https)},
                                                             {"DIR", dir.path()},
                                                             {"BODY", std::string(kSize, 'b')}}),
                                    {.wait_ports = {https}});
  const std::string url = "https://a.test:" + std::to_string(https) + "/";
  const std::string resolve = "a.test:" + std::to_string(https) + ":127.0.0.1";
  auto keep = Curl({"-k", "--resolve", resolve, url}, milliseconds(5000));
  EXPECT_EQ(keep.status, 200) << keep.Describe();
  EXPECT_EQ(keep.body.size(), kSize) << "keep-alive";
  auto close =
      Curl({"-k", "--resolve", resolve, "-H", "Connection: close", url}, milliseconds(5000));
  EXPECT_EQ(close.exit_code, 0) << close.Describe();
  EXPECT_EQ(close.body.size(), kSize) << "Connection: close";
  EXPECT_FALSE(gw.WaitExit(milliseconds(100)).has_value()) << gw.ReadStderr();
}

// Out of file descriptors: accept4 fails with EMFILE, the level-triggered
// poll fires again at once, and the worker spins on it (logging a warning
// each time) for as long as the backlog holds a connection.
TEST(Http1Review, AcceptOutOfDescriptorsDoesNotSpin) {
  TempDir dir;
  const std::string wrapper = dir.path() + "/gatehouse-lowfd";
  WriteFile(wrapper,
            "#!/bin/sh\nexec /usr/bin/prlimit --nofile=40:40 " + GatehouseBin() + " \"$@\"\n");
  ::chmod(wrapper.c_str(), 0755);
  const std::string real = GatehouseBin();
  ::setenv("GATEHOUSE_BIN", wrapper.c_str(), 1);
  std::optional<ProxyEnv> env;
  try {
    env.emplace();
  } catch (...) {
    ::setenv("GATEHOUSE_BIN", real.c_str(), 1);
    throw;
  }
  ::setenv("GATEHOUSE_BIN", real.c_str(), 1);
  std::vector<RawClient> clients;
  for (int i = 0; i < 60; ++i)
    clients.emplace_back(env->port());  // the kernel completes them; the gateway cannot accept all
  std::this_thread::sleep_for(milliseconds(300));
  auto cpu_ticks = [&] {
    std::string stat = ReadFile("/proc/" + std::to_string(env->gateway().Pid()) + "/stat");
    stat = stat.substr(stat.rfind(')') + 2);
    std::istringstream in(stat);
    std::string field;
    long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && in >> field; ++i) {
      if (i == 14) utime = std::stoll(field);
      if (i == 15) stime = std::stoll(field);
    }
    return utime + stime;
  };
  const long long before = cpu_ticks();
  std::this_thread::sleep_for(milliseconds(1000));
  const long long used = cpu_ticks() - before;
  const long hz = ::sysconf(_SC_CLK_TCK);
  EXPECT_LT(used, hz / 4) << "the gateway burnt " << (100 * used / hz)
                          << "% of a core waiting for a file descriptor";
  clients.clear();
  auto r = Curl({env->Url("/after")});
  EXPECT_EQ(r.status, 200) << r.Describe();
}

}  // namespace
}  // namespace gh::test
