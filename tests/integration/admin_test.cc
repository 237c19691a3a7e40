// The admin API of the real binary: every endpoint, methods, bearer token,
// port 0, /certs, run-time log levels, drain and quit, answers while the
// data plane is saturated; systemd readiness and watchdog notifications
// through a NOTIFY_SOCKET of our own; `systemd-analyze verify` on the unit.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/integration/admin_util.h"
#include "tests/integration/proxy_fixture.h"

namespace gh::test {
namespace {

using Clock = std::chrono::steady_clock;

TEST(Admin, EveryEndpointAnswersWithTheRightMethodsAndContent) {
  GatewayEnv env({.workers = 2});
  const int admin = env.gateway().AdminPort();
  ASSERT_EQ(Curl({env.Url("/warm")}).status, 200);  // one pooled upstream connection

  struct Get {
    const char* path;
    const char* content_type;
  };
  for (const Get& g :
       {Get{"/", "text/plain"}, Get{"/help", "text/plain"}, Get{"/ready", "text/plain"},
        Get{"/healthz", "text/plain"}, Get{"/server_info", "application/json"},
        Get{"/stats", "text/plain"}, Get{"/stats?format=json", "application/json"},
        Get{"/stats/prometheus", "text/plain; version=0.0.4"},
        Get{"/config_dump", "application/json"}, Get{"/clusters", "application/json"},
        Get{"/listeners", "application/json"}, Get{"/certs", "application/json"}}) {
    CurlResult r = Admin(admin, "GET", g.path);
    EXPECT_EQ(r.status, 200) << g.path << ": " << r.Describe();
    EXPECT_EQ(r.Header("content-type").value_or("").rfind(g.content_type, 0), 0u)
        << g.path << ": " << r.Header("content-type").value_or("(none)");
    // Wrong method: 405 with Allow, and no effect.
    CurlResult wrong = Admin(admin, "POST", g.path);
    EXPECT_EQ(wrong.status, 405) << g.path;
    EXPECT_EQ(wrong.Header("allow").value_or(""), "GET") << g.path;
  }
  for (const char* path : {"/reload", "/drain", "/quitquitquit", "/logging"}) {
    CurlResult r = Admin(admin, "GET", path);
    EXPECT_EQ(r.status, 405) << path;
    EXPECT_EQ(r.Header("allow").value_or(""), "POST") << path;
  }
  EXPECT_TRUE(env.gateway().Running());  // GET /quitquitquit did nothing
  Json info = ServerInfo(admin);
  EXPECT_EQ(info["state"], "LIVE");

  CurlResult missing = Admin(admin, "GET", "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("/stats/prometheus"), std::string::npos) << missing.body;
  EXPECT_NE(missing.body.find("POST /reload"), std::string::npos) << missing.body;

  EXPECT_EQ(Admin(admin, "GET", "/ready").body, "LIVE\n");
  EXPECT_EQ(info["version"], "0.1.0");
  EXPECT_EQ(info["workers"], 2);
  EXPECT_EQ(info["pid"], env.gateway().Pid());
  EXPECT_EQ(info["config"]["desired_version"], 1);
  EXPECT_EQ(info["config"]["applied_versions"], Json::array({1, 1}));
  EXPECT_TRUE(info["config"]["last_reload_error"].is_null());
  EXPECT_GE(info["uptime_seconds"].get<double>(), 0.0);

  Json listeners = ParseJson(Admin(admin, "GET", "/listeners").body)["listeners"];
  ASSERT_EQ(listeners.size(), 1u);
  EXPECT_EQ(listeners[0]["port"], env.port());
  EXPECT_EQ(listeners[0]["name"], "0.0.0.0_" + std::to_string(env.port()));

  Json clusters = ParseJson(Admin(admin, "GET", "/clusters").body)["clusters"];
  ASSERT_EQ(clusters.size(), 1u);
  EXPECT_EQ(clusters[0]["name"], "outbound|80||origin.internal");
  ASSERT_EQ(clusters[0]["endpoints"].size(), 1u);
  const Json& endpoint = clusters[0]["endpoints"][0];
  EXPECT_EQ(endpoint["address"], "127.0.0.1:" + std::to_string(env.upstream().Port()));
  EXPECT_EQ(endpoint["health"], "healthy");
  EXPECT_EQ(endpoint["active_requests"], 0);
  EXPECT_EQ(endpoint["connections_idle"], 1);  // the keep-alive connection from /warm

  Json dump = ParseJson(Admin(admin, "GET", "/config_dump").body);
  EXPECT_EQ(dump["hash"], info["config"]["hash"]);
  EXPECT_EQ(dump["version"], 1);
  EXPECT_EQ(dump["config"]["clusters"][0]["name"], "outbound|80||origin.internal");
  EXPECT_EQ(dump["config"]["listeners"][0]["port"], env.port());

  Json stats = ParseJson(Admin(admin, "GET", "/stats?format=json").body);
  EXPECT_GT(stats["stats"].size(), 10u);
  // HEAD answers like GET without a body.
  RawClient c(admin);
  ASSERT_TRUE(c.Send(BuildRequest("HEAD", "/ready")));
  HttpResponse head = c.ReadResponse(milliseconds(5000), {.head_request = true});
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("content-length"), "5");
  ASSERT_TRUE(c.Send(BuildRequest("GET", "/ready")));
  EXPECT_EQ(c.ReadResponse(milliseconds(5000)).body, "LIVE\n");  // nothing was left over
}

TEST(Admin, AdminKeepAliveAndPipelining) {
  ProxyEnv env;
  ASSERT_TRUE(WaitForReady(env.gateway().AdminPort()));
  RawClient c(env.gateway().AdminPort());
  ASSERT_TRUE(c.Send(BuildRequest("GET", "/ready") + BuildRequest("GET", "/healthz") +
                     BuildRequest("GET", "/nope")));
  HttpResponse a = c.ReadResponse(milliseconds(5000));
  HttpResponse b = c.ReadResponse(milliseconds(5000));
  HttpResponse d = c.ReadResponse(milliseconds(5000));
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "LIVE\n");
  EXPECT_EQ(b.body, "OK\n");
  EXPECT_EQ(d.status, 404);
  // Malformed input gets 400 and a close.
  ASSERT_TRUE(
      c.Send("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: "
             "chunked\r\n\r\n"));
  HttpResponse bad = c.ReadResponse(milliseconds(5000));
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(c.IsClosed(milliseconds(2000)));
}

TEST(Admin, BearerTokenGuardsMutatingEndpoints) {
  auto up = UpstreamProcess::Start();
  const int port = FreePort(), admin = FreePort();
  TempDir dir;
  const std::string token_file = dir.File("admin.token");
  WriteFile(token_file, "s3cret-token\n");
  const std::string config = Subst(kProxyConfig, {{"PORT", std::to_string(port)},
                                                  {"UPSTREAM", std::to_string(up.Port())},
                                                  {"PROXY", ""},
                                                  {"ROUTE", ""}}) +
                             "\n[admin]\naddress = \"127.0.0.1:" + std::to_string(admin) +
                             "\"\ntoken_file = \"" + token_file + "\"\n";
  auto gw = GatehouseProcess::Start(config, {.wait_ports = {port, admin}});
  ASSERT_TRUE(WaitForReady(admin));

  EXPECT_EQ(Admin(admin, "POST", "/reload").status, 401);
  CurlResult unauthorized = Admin(admin, "POST", "/quitquitquit");
  EXPECT_EQ(unauthorized.status, 401);
  EXPECT_TRUE(unauthorized.Header("www-authenticate").has_value());
  EXPECT_EQ(Admin(admin, "POST", "/reload", {"-H", "Authorization: Bearer wrong"}).status, 403);
  EXPECT_EQ(Admin(admin, "POST", "/drain", {"-H", "Authorization: Bearer s3cret"}).status, 403);
  EXPECT_EQ(
      Admin(admin, "POST", "/logging?level=trace", {"-H", "Authorization: Basic eDp5"}).status,
      401);
  EXPECT_TRUE(gw.Running());
  EXPECT_EQ(ServerInfo(admin)["config"]["reloads"], 0);  // nothing ran

  // Reads stay open; the right token works.
  EXPECT_EQ(Admin(admin, "GET", "/stats/prometheus").status, 200);
  CurlResult ok = Admin(admin, "POST", "/reload", {"-H", "Authorization: Bearer s3cret-token"});
  EXPECT_EQ(ok.status, 200) << ok.Describe();
  EXPECT_EQ(ok.body, "published config version 2\n");
  // The token file is read per request: rotating it takes effect at once.
  WriteFile(token_file, "rotated\n");
  EXPECT_EQ(Admin(admin, "POST", "/reload", {"-H", "Authorization: Bearer s3cret-token"}).status,
            403);
  // The token never shows in the config dump.
  const std::string dump = Admin(admin, "GET", "/config_dump").body;
  EXPECT_EQ(dump.find("admin.token"), std::string::npos);
  EXPECT_EQ(dump.find("s3cret"), std::string::npos);
  CurlResult quit = Admin(admin, "POST", "/quitquitquit", {"-H", "Authorization: Bearer rotated"});
  EXPECT_EQ(quit.status, 200);
  auto status = gw.WaitExit(milliseconds(5000));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(ExitedWith(*status, 0)) << DescribeWaitStatus(*status);
}

TEST(Admin, PortZeroIsBoundAndReported) {
  const int port = FreePort();
  const std::string config =
      Subst(kProxyConfig,
            {{"PORT", std::to_string(port)}, {"UPSTREAM", "1"}, {"PROXY", ""}, {"ROUTE", ""}}) +
      "\n[admin]\naddress = \"127.0.0.1:0\"\n";
  auto gw = GatehouseProcess::Start(config, {.wait_ports = {port}});
  ASSERT_TRUE(gw.process().WaitForStderr("admin listening on 127.0.0.1:", milliseconds(5000)));
  const std::string err = gw.ReadStderr();
  const size_t at = err.find("admin listening on 127.0.0.1:");
  const int admin = std::stoi(err.substr(at + std::string("admin listening on 127.0.0.1:").size()));
  ASSERT_GT(admin, 0);
  EXPECT_NE(admin, 15000);
  Json info = ServerInfo(admin);
  EXPECT_EQ(info["admin_address"], "127.0.0.1:" + std::to_string(admin));
}

TEST(Admin, SecondInstanceCannotShareTheAdminPort) {
  ProxyEnv env;
  ASSERT_TRUE(WaitForReady(env.gateway().AdminPort()));
  const int port = FreePort();
  const std::string config =
      Subst(kProxyConfig,
            {{"PORT", std::to_string(port)}, {"UPSTREAM", "1"}, {"PROXY", ""}, {"ROUTE", ""}}) +
      "\n[admin]\naddress = \"127.0.0.1:" + std::to_string(env.gateway().AdminPort()) + "\"\n";
  TempDir dir;
  WriteFile(dir.File("g.toml"), config);
  CommandResult r =
      RunCommand({GatehouseBin(), "run", "-c", dir.File("g.toml")}, milliseconds(10000));
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_NE(r.err.find("admin 127.0.0.1:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Address already in use"), std::string::npos) << r.err;
}

TEST(Admin, CertsShowSubjectSansSpiffeIdAndExpiry) {
  TempDir certs;
  CertFiles ca = MakeCa(certs.path());
  CertFiles leaf = MakeLeaf(ca, {"shop.example.com", "*.shop.example.com"},
                            {"spiffe://cluster.local/ns/edge/sa/gatehouse"});
  const int port = FreePort();
  const std::string config = R"(
[proxy]
workers = 1
access_log = "off"
[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = ${PORT}, name = "https", protocol = "HTTPS" }
hosts = ["*"]
tls = { mode = "SIMPLE", server_certificate = "${CERT}", private_key = "${KEY}" }
[[virtual_service]]
name = "routes"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
match = [{ uri = { prefix = "/" } }]
direct_response = { status = 200, body = { string = "ok" } }
)";
  auto gw = GatehouseProcess::Start(
      Subst(config, {{"PORT", std::to_string(port)}, {"CERT", leaf.cert}, {"KEY", leaf.key}}),
      {.wait_ports = {port}, .wait_admin = true});
  ASSERT_TRUE(WaitForReady(gw.AdminPort()));
  CurlResult r = Admin(gw.AdminPort(), "GET", "/certs");
  ASSERT_EQ(r.status, 200) << r.Describe();
  Json certsj = ParseJson(r.body)["certificates"];
  ASSERT_EQ(certsj.size(), 1u) << r.body;
  EXPECT_EQ(certsj[0]["path"], leaf.cert);
  EXPECT_EQ(certsj[0]["role"], "server");
  const Json& c = certsj[0]["chain"][0];
  EXPECT_NE(c["subject"].get<std::string>().find("CN="), std::string::npos) << c.dump();
  EXPECT_EQ(c["dns_sans"], Json::array({"shop.example.com", "*.shop.example.com"}));
  EXPECT_EQ(c["spiffe_id"], "spiffe://cluster.local/ns/edge/sa/gatehouse");
  // The harness makes certificates valid for about 2 days.
  const int64_t seconds = c["seconds_until_expiration"].get<int64_t>();
  EXPECT_GT(seconds, 86400);
  EXPECT_LE(seconds, 3 * 86400);
  EXPECT_EQ(c["days_until_expiration"], seconds / 86400);
  EXPECT_GT(c["expiration_time"].get<int64_t>(), c["not_before"].get<int64_t>());
  // The private key is neither listed nor dumped.
  EXPECT_EQ(r.body.find(leaf.key), std::string::npos);
  EXPECT_EQ(Admin(gw.AdminPort(), "GET", "/config_dump").body.find(leaf.key), std::string::npos);
}

TEST(Admin, LoggingLevelsChangeAtRunTime) {
  ProxyEnv env;
  ASSERT_TRUE(WaitForReady(env.gateway().AdminPort()));
  const int admin = env.gateway().AdminPort();
  ASSERT_EQ(Admin(admin, "GET", "/ready").status, 200);
  // admin requests log at debug: not shown at the default info level.
  EXPECT_EQ(env.gateway().ReadStderr().find("admin: GET /ready 200"), std::string::npos);
  CurlResult set = Admin(admin, "POST", "/logging?admin=debug");
  EXPECT_EQ(set.status, 200) << set.Describe();
  EXPECT_NE(set.body.find("  admin: debug\n"), std::string::npos) << set.body;
  EXPECT_NE(set.body.find("  http: info\n"), std::string::npos) << set.body;
  ASSERT_EQ(Admin(admin, "GET", "/ready").status, 200);
  EXPECT_TRUE(env.gateway().process().WaitForStderr("admin: GET /ready 200", milliseconds(3000)));
  CurlResult bad = Admin(admin, "POST", "/logging?admin=chatty");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("unknown level 'chatty'"), std::string::npos);
  EXPECT_EQ(Admin(admin, "POST", "/logging?paths=admin:error,http:warning").status, 200);
  CurlResult list = Admin(admin, "POST", "/logging");
  EXPECT_NE(list.body.find("  admin: error\n"), std::string::npos) << list.body;
  EXPECT_NE(list.body.find("  http: warning\n"), std::string::npos) << list.body;
}

TEST(Admin, DrainEndpointTurnsReadyOffAndExitsZero) {
  ProxyEnv env({.proxy_keys = "drain_timeout = \"10s\""});
  ASSERT_TRUE(WaitForReady(env.gateway().AdminPort()));
  const int admin = env.gateway().AdminPort();
  std::atomic<int> status{0};
  std::thread slow([&] {
    status = Curl({"-H", "x-upstream-delay-ms: 800", env.Url("/slow")}).status;
  });
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(Admin(admin, "POST", "/drain").status, 200);
  std::this_thread::sleep_for(milliseconds(100));
  CurlResult ready = Admin(admin, "GET", "/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(ready.body, "DRAINING\n");
  EXPECT_EQ(Admin(admin, "GET", "/healthz").status, 200);
  slow.join();
  EXPECT_EQ(status.load(), 200);  // the in-flight request finished
  auto exit = env.gateway().WaitExit(milliseconds(5000));
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(ExitedWith(*exit, 0)) << DescribeWaitStatus(*exit);
}

TEST(Admin, QuitQuitQuitExitsPromptly) {
  ProxyEnv env;
  ASSERT_TRUE(WaitForReady(env.gateway().AdminPort()));
  const auto start = Clock::now();
  CurlResult r = Admin(env.gateway().AdminPort(), "POST", "/quitquitquit");
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.body, "OK\n");
  auto exit = env.gateway().WaitExit(milliseconds(5000));
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(ExitedWith(*exit, 0)) << DescribeWaitStatus(*exit);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
}

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
name = "routes"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
match = [{ uri = { prefix = "/" } }]
direct_response = { status = 200, body = { string = "fast" } }
)";

TEST(Admin, AnswersWhileTheDataPlaneIsSaturated) {
  // Direct responses: the worker, not an upstream, is the bottleneck.
  const int port = FreePort();
  auto gw = GatehouseProcess::Start(Subst(kDirectConfig, {{"PORT", std::to_string(port)}}),
                                    {.wait_ports = {port}, .wait_admin = true});
  ASSERT_TRUE(WaitForReady(gw.AdminPort()));
  const int admin = gw.AdminPort();
  std::atomic<bool> done{false};
  WrkResult wrk;
  std::thread load([&] {
    wrk = RunWrk("http://127.0.0.1:" + std::to_string(port) + "/load", 64, 3);
    done = true;
  });
  std::this_thread::sleep_for(milliseconds(500));
  int answered = 0;
  std::chrono::milliseconds worst{0};
  while (!done && answered < 20) {
    const auto start = Clock::now();
    CurlResult r = Admin(admin, "GET", answered % 2 == 0 ? "/ready" : "/stats/prometheus");
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    worst = std::max(worst, took);
    EXPECT_EQ(r.status, 200) << r.Describe();
    ++answered;
    std::this_thread::sleep_for(milliseconds(50));
  }
  load.join();
  EXPECT_TRUE(wrk.ok()) << wrk.command.Describe();
  EXPECT_GE(answered, 5);
  // The main thread is not the one carrying the load.
  EXPECT_LT(worst, std::chrono::milliseconds(1500)) << worst.count() << " ms";
}

// ---------------------------------------------------------------- systemd

// A unix datagram socket standing in for systemd's notify socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw HarnessError("socket(AF_UNIX)");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw HarnessError("notify socket path too long");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw HarnessError("bind " + path);
    }
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  // One datagram, or nullopt after timeout.
  std::optional<std::string> Receive(milliseconds timeout) {
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }

 private:
  std::string path_;
  int fd_ = -1;
};

TEST(Systemd, NotifiesReadyWatchdogAndStopping) {
  TempDir dir;
  NotifySocket notify(dir.File("notify.sock"));
  const int port = FreePort();
  const std::string config = GatewayConfig(port, 1, {.workers = 2});
  const auto start = Clock::now();
  auto gw = GatehouseProcess::Start(
      config, {.wait_ports = {port},
               .env = {"NOTIFY_SOCKET=" + dir.File("notify.sock"), "WATCHDOG_USEC=200000"}});
  std::vector<std::string> messages;
  std::vector<Clock::time_point> watchdog_at;
  int ready_index = -1;
  while (Clock::now() - start < std::chrono::seconds(5) && watchdog_at.size() < 6) {
    auto m = notify.Receive(milliseconds(1000));
    if (!m) continue;
    messages.push_back(*m);
    if (m->rfind("READY=1", 0) == 0 && ready_index < 0) {
      ready_index = static_cast<int>(messages.size()) - 1;
    }
    if (*m == "WATCHDOG=1") watchdog_at.push_back(Clock::now());
  }
  ASSERT_GE(ready_index, 0) << "no READY=1";
  EXPECT_NE(messages[ready_index].find("STATUS=serving config version 1 on 2 workers"),
            std::string::npos)
      << messages[ready_index];
  // Ready means ready: the listener answers and /ready says LIVE.
  EXPECT_EQ(Admin(gw.AdminPort(), "GET", "/ready").status, 200);
  ASSERT_GE(watchdog_at.size(), 6u) << "watchdog pings: " << watchdog_at.size();
  // Pings every WATCHDOG_USEC / 2 = 100 ms (generously bounded for ASan).
  const auto span = watchdog_at.back() - watchdog_at.front();
  EXPECT_GE(span, milliseconds(5 * 100 - 60));
  EXPECT_LT(span, milliseconds(5 * 100 * 4));

  ASSERT_TRUE(gw.Signal(SIGTERM));
  bool stopping = false;
  for (int i = 0; i < 50 && !stopping; ++i) {
    auto m = notify.Receive(milliseconds(200));
    if (m && m->rfind("STOPPING=1", 0) == 0) stopping = true;
  }
  EXPECT_TRUE(stopping);
  auto exit = gw.WaitExit(milliseconds(5000));
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(ExitedWith(*exit, 0)) << DescribeWaitStatus(*exit);
}

TEST(Systemd, WithoutNotifySocketNothingIsSent) {
  // The same binary outside systemd: starts and serves normally.
  ProxyEnv env;
  ASSERT_TRUE(WaitForReady(env.gateway().AdminPort()));
  EXPECT_EQ(Admin(env.gateway().AdminPort(), "GET", "/ready").status, 200);
  EXPECT_EQ(env.gateway().ReadStderr().find("watchdog"), std::string::npos);
}

TEST(Systemd, UnitFilePassesSystemdAnalyzeVerify) {
  if (RunCommand({"sh", "-c", "command -v systemd-analyze"}).exit_code != 0) {
    GTEST_SKIP() << "systemd-analyze is not installed (scripts/setup.sh installs systemd)";
  }
  const std::string unit = ReadFile(EnvOr("GH_SOURCE_ROOT", GH_SOURCE_ROOT_DEFAULT) +
                                    std::string("/packaging/systemd/gatehouse.service"));
  ASSERT_FALSE(unit.empty());
  for (const char* key :
       {"Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "WatchdogSec=", "DynamicUser=yes",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "ProtectSystem=strict", "NoNewPrivileges=yes"}) {
    EXPECT_NE(unit.find(key), std::string::npos) << key;
  }
  // verify checks that ExecStart exists: point it at this build's binary.
  std::string local = unit;
  for (size_t at; (at = local.find("/usr/bin/gatehouse")) != std::string::npos;)
    local.replace(at, std::string("/usr/bin/gatehouse").size(), GatehouseBin());
  TempDir dir;
  WriteFile(dir.File("gatehouse.service"), local);
  CommandResult r =
      RunCommand({"systemd-analyze", "verify", dir.File("gatehouse.service")}, milliseconds(30000));
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  // verify only warns about unknown keys and values: there must be none.
  EXPECT_EQ(r.err.find("gatehouse.service"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("gatehouse.service"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace gh::test
