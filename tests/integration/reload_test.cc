// Zero-loss reload through the real binary: 50 reloads (SIGHUP and POST
// /reload) that add, change and remove routes, clusters and a listener
// under keep-alive and new-connection load, a long streaming response and
// an open WebSocket, with an invalid config in the middle; every answer is
// checked against the config versions live when it was asked and answered.
// Also: invalid configs change nothing, watch_config, dry run, pools of
// unchanged clusters survive, access log changes on reload and SIGUSR1
// reopen, SIGTERM during load.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "tests/integration/admin_util.h"
#include "tests/integration/proxy_fixture.h"

namespace gh::test {
namespace {

using Clock = std::chrono::steady_clock;

// Config version `n`: /v answers "v<n>", /up/... goes to the origin with
// x-config-version: n on the response. Even n add a route (/extra), every
// third adds a cluster (side.internal), odd n add a second listener, and the
// origin cluster's connect timeout (its fingerprint) changes every 5.
std::string VersionedConfig(int n, int port, int port2, int upstream) {
  std::string c = R"(
[proxy]
workers = 2
access_log = "${LOG}"
drain_timeout = "10s"

[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = ${PORT}, name = "http", protocol = "HTTP" }
hosts = ["*"]
)";
  if (n % 2 == 1) {
    c += R"(
[[gateway.servers]]
port = { number = ${PORT2}, name = "http2nd", protocol = "HTTP" }
hosts = ["*"]
)";
  }
  c += R"(
[[service_entry]]
name = "origin"
hosts = ["origin.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http = ${UPSTREAM} } }]

[[destination_rule]]
name = "origin"
host = "origin.internal"
traffic_policy = { connection_pool = { tcp = { connect_timeout = "${TIMEOUT}" } } }
)";
  if (n % 3 == 0) {
    c += R"(
[[service_entry]]
name = "side"
hosts = ["side.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http = ${UPSTREAM} } }]
)";
  }
  c += R"(
[[virtual_service]]
name = "routes"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
name = "version"
match = [{ uri = { prefix = "/v" } }]
direct_response = { status = 200, body = { string = "v${N}" } }
[[virtual_service.http]]
name = "up"
match = [{ uri = { prefix = "/up" } }]
route = [{ destination = { host = "origin.internal", port = { number = 80 } } }]
headers = { response = { set = { x-config-version = "${N}" } } }
)";
  if (n % 2 == 0) {
    c += R"(
[[virtual_service.http]]
name = "extra"
match = [{ uri = { prefix = "/extra" } }]
direct_response = { status = 200, body = { string = "extra${N}" } }
)";
  }
  if (n % 3 == 0) {
    c += R"(
[[virtual_service.http]]
name = "side"
match = [{ uri = { prefix = "/side" } }]
route = [{ destination = { host = "side.internal", port = { number = 80 } } }]
)";
  }
  c += R"(
[[virtual_service.http]]
name = "rest"
match = [{ uri = { prefix = "/" } }]
route = [{ destination = { host = "origin.internal", port = { number = 80 } } }]
)";
  return Subst(c, {{"PORT", std::to_string(port)},
                   {"PORT2", std::to_string(port2)},
                   {"UPSTREAM", std::to_string(upstream)},
                   {"TIMEOUT", (n / 5) % 2 == 0 ? "5s" : "6s"},
                   {"N", std::to_string(n)},
                   // GH_RELOAD_LOG=1 (with GH_KEEP_TMP=1): keep access logs to debug.
                   {"LOG", std::getenv("GH_RELOAD_LOG") != nullptr ? "stdout" : "off"}});
}

struct Answer {
  Clock::time_point sent, received;
  int version = 0;
  int connection = 0;  // per-client connection number (keep-alive order checks)
};

struct ClientResult {
  std::vector<Answer> answers;
  int64_t failures = 0;
  std::vector<std::string> errors;
};

// A load client: keep-alive or one connection per request, to /v (version
// in the body) or /up (version in x-config-version).
class VersionClient {
 public:
  VersionClient(int port, bool keep_alive, bool upstream, std::atomic<bool>& stop)
      : thread_(
            [this, port, keep_alive, upstream, &stop] { Run(port, keep_alive, upstream, stop); }) {}
  ClientResult Join() {
    thread_.join();
    return std::move(result_);
  }

 private:
  void Fail(std::string what) {
    ++result_.failures;
    if (result_.errors.size() < 10) result_.errors.push_back(std::move(what));
  }

  void Run(int port, bool keep_alive, bool upstream, std::atomic<bool>& stop) {
    std::optional<RawClient> conn;
    int connection = 0;
    const Headers headers =
        keep_alive ? Headers{} : Headers{{"Host", "127.0.0.1"}, {"Connection", "close"}};
    for (int i = 0; i < 20000 && !stop.load(); ++i) {
      if (!conn) {
        conn = RawClient::TryConnect(port, milliseconds(3000));
        ++connection;
        if (!conn) {
          Fail("connect failed");
          continue;
        }
      }
      Answer a;
      a.connection = connection;
      a.sent = Clock::now();
      const bool sent = conn->Send(BuildRequest("GET", upstream ? "/up/load" : "/v", headers));
      HttpResponse r;
      if (sent) r = conn->ReadResponse(milliseconds(5000));
      a.received = Clock::now();
      if (!sent || !r.ok || r.status != 200 || r.reset) {
        Fail(sent ? r.Describe() : "send: " + conn->LastError());
        conn.reset();
        continue;
      }
      if (upstream) {
        a.version = std::stoi(r.Header("x-config-version").value_or("0"));
      } else {
        a.version = r.body.size() > 1 ? std::stoi(r.body.substr(1)) : 0;
      }
      result_.answers.push_back(a);
      if (!keep_alive) {
        conn.reset();
      } else if (r.peer_closed) {
        Fail("keep-alive connection closed by the gateway");
        conn.reset();
      }
      std::this_thread::sleep_for(milliseconds(2));
    }
  }

  ClientResult result_;
  std::thread thread_;
};

TEST(Reload, FiftyReloadsUnderLoadLoseNothing) {
  auto up = UpstreamProcess::Start();
  const int port = FreePort(), port2 = FreePort();
  auto config = [&](int n) { return VersionedConfig(n, port, port2, up.Port()); };
  auto gw = GatehouseProcess::Start(config(1), {.wait_ports = {port, port2}, .wait_admin = true});
  ASSERT_TRUE(WaitForReady(gw.AdminPort()));
  const int admin = gw.AdminPort();
  AdminClient control(admin);

  std::map<int, Clock::time_point> published, applied;
  published[1] = applied[1] = Clock::now();

  // Long-lived traffic first: a streaming response (~4 s) and a WebSocket.
  constexpr uint64_t kStreamBytes = 3'000'000;
  struct StreamOutcome {
    HttpResponse response;
    Clock::time_point done;
  } stream;
  std::thread streamer([&] {
    std::optional<RawClient> c = RawClient::TryConnect(port);
    if (!c) return;
    c->Send(BuildRequest("GET", "/up/stream",
                         {{"Host", "127.0.0.1"},
                          {"x-upstream-body-size", std::to_string(kStreamBytes)},
                          {"x-upstream-chunk-size", "30000"},
                          {"x-upstream-chunk-delay-ms", "40"}}));
    stream.response = c->ReadResponse(milliseconds(60000), {.keep_body = false});
    stream.done = Clock::now();
  });
  WebSocketClient ws(port);
  ASSERT_EQ(ws.Handshake("/ws").status, 101);
  ASSERT_TRUE(ws.Accepted()) << ws.last_error();
  std::atomic<bool> stop{false};
  std::atomic<int> ws_echoes{0}, ws_failures{0};
  std::thread ws_thread([&] {
    for (int i = 0; i < 5000 && !stop.load(); ++i) {
      const std::string message = "ping " + std::to_string(i);
      auto frame = ws.SendText(message) ? ws.ReadFrame(milliseconds(5000)) : std::nullopt;
      if (frame && frame->payload == message) {
        ++ws_echoes;
      } else {
        ++ws_failures;
        break;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
  });

  std::vector<std::unique_ptr<VersionClient>> clients;
  clients.push_back(std::make_unique<VersionClient>(port, true, false, stop));
  clients.push_back(std::make_unique<VersionClient>(port, true, false, stop));
  clients.push_back(std::make_unique<VersionClient>(port, false, false, stop));
  clients.push_back(std::make_unique<VersionClient>(port, true, true, stop));
  clients.push_back(std::make_unique<VersionClient>(port, false, true, stop));
  std::this_thread::sleep_for(milliseconds(100));

  uint64_t server_version = 1;
  for (int k = 1; k <= 50; ++k) {
    const int n = k + 1;
    if (k == 25) {
      // An invalid config in the middle: rejected, nothing changes.
      gw.WriteConfig(config(n) +
                     "\n[[virtual_service.http]]\nmatch = [{ uri = { prefix = 1 } }]\n");
      HttpResponse bad = control.Call("POST", "/reload");
      EXPECT_EQ(bad.status, 400) << bad.Describe();
      EXPECT_NE(bad.body.find("gatehouse.toml:"), std::string::npos) << bad.body;
      EXPECT_EQ(control.Info()["config"]["desired_version"], server_version);
      EXPECT_EQ(GetOnce(port, "/v").body, "v" + std::to_string(n - 1));
    }
    gw.WriteConfig(config(n));
    published[n] = Clock::now();
    if (k % 2 == 1) {
      HttpResponse r = control.Call("POST", "/reload");
      ASSERT_EQ(r.status, 200) << r.Describe();
    } else {
      ASSERT_TRUE(gw.Signal(SIGHUP));
    }
    ++server_version;
    ASSERT_TRUE(control.WaitForApplied(server_version)) << "version " << server_version;
    applied[n] = Clock::now();
    // The second listener exists exactly in odd versions.
    if (n % 2 == 1) {
      HttpResponse r = GetOnce(port2, "/v");
      EXPECT_EQ(r.status, 200) << "n=" << n << " " << r.Describe();
      EXPECT_EQ(r.body, "v" + std::to_string(n));
    } else {
      EXPECT_FALSE(RawClient::TryConnect(port2, milliseconds(500)).has_value()) << "n=" << n;
    }
    // Added and removed routes and clusters.
    HttpResponse extra = GetOnce(port, "/extra");
    if (n % 2 == 0) {
      EXPECT_EQ(extra.body, "extra" + std::to_string(n));
    } else {
      EXPECT_EQ(extra.status, 200);  // the catch-all forwards it to the origin
      EXPECT_EQ(extra.Header("x-config-version"), std::nullopt);
    }
    if (n % 3 == 0) {
      EXPECT_EQ(GetOnce(port, "/side").status, 200);
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  stop = true;
  int64_t failures = 0;
  size_t answered = 0;
  std::map<int, int> by_version;
  for (auto& client : clients) {
    ClientResult r = client->Join();
    failures += r.failures;
    for (const std::string& e : r.errors)
      ADD_FAILURE() << "load error: " << e;
    answered += r.answers.size();
    int last_version = 0, last_connection = 0;
    for (const Answer& a : r.answers) {
      ++by_version[a.version];
      // Routed by a snapshot live while the request was in flight: not older
      // than the newest one applied everywhere before it was sent, not newer
      // than the newest one published before its answer arrived.
      int lo = 1, hi = 1;
      for (const auto& [n, t] : applied) {
        if (t <= a.sent) lo = std::max(lo, n);
      }
      for (const auto& [n, t] : published) {
        if (t <= a.received) hi = std::max(hi, n);
      }
      EXPECT_GE(a.version, lo) << "answer older than the applied config";
      EXPECT_LE(a.version, hi) << "answer newer than the published config";
      // A keep-alive connection never goes back to an older snapshot.
      if (a.connection == last_connection) {
        EXPECT_GE(a.version, last_version);
      }
      last_version = a.version;
      last_connection = a.connection;
    }
  }
  streamer.join();
  ws_thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_GT(answered, 200u);
  EXPECT_GE(by_version.size(), 25u) << "load did not span the reloads";

  // The stream started on version 1 and finished whole, across reloads.
  EXPECT_TRUE(stream.response.ok) << stream.response.Describe();
  EXPECT_EQ(stream.response.status, 200);
  EXPECT_EQ(stream.response.body_length, kStreamBytes);
  EXPECT_EQ(stream.response.Header("x-config-version"), "1");
  EXPECT_GT(stream.done, applied[11]) << "the stream ended before 10 reloads";
  // The WebSocket stayed open and echoing through every reload.
  EXPECT_EQ(ws_failures.load(), 0);
  EXPECT_GT(ws_echoes.load(), 20);
  auto closed = ws.Close(1000);
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->opcode, WsOpcode::kClose);

  Json info = control.Info();
  EXPECT_EQ(info["config"]["desired_version"], 51);
  EXPECT_EQ(info["config"]["reloads"], 51);
  EXPECT_EQ(info["config"]["reload_failures"], 1);
  EXPECT_TRUE(info["config"]["last_reload_error"].is_null());  // cleared by a good one
}

TEST(Reload, InvalidConfigChangesNothingAndIsReportedEverywhere) {
  ProxyEnv env({.route_keys = "headers = { response = { set = { x-v = \"1\" } } }"});
  ASSERT_TRUE(WaitForReady(env.gateway().AdminPort()));
  const int admin = env.gateway().AdminPort();
  const std::string before_hash = ServerInfo(admin)["config"]["hash"];
  env.gateway().WriteConfig("[proxy]\nworkers = 1\nwrokers = 2\n\n[[gateway]]\nname = 7\n");
  ASSERT_TRUE(env.gateway().Signal(SIGHUP));
  ASSERT_TRUE(env.gateway().process().WaitForStderr("reload rejected", milliseconds(5000)));
  const std::string err = env.gateway().ReadStderr();
  const std::string file = env.gateway().ConfigPath();
  EXPECT_NE(err.find(file + ":3:1: error: unknown key \"wrokers\""), std::string::npos) << err;
  EXPECT_NE(err.find("did you mean \"workers\""), std::string::npos) << err;

  Json info = ServerInfo(admin);
  EXPECT_EQ(info["config"]["desired_version"], 1);
  EXPECT_EQ(info["config"]["applied_versions"], Json::array({1}));
  EXPECT_EQ(info["config"]["hash"], before_hash);
  EXPECT_EQ(info["config"]["reload_failures"], 1);
  EXPECT_NE(info["config"]["last_reload_error"].get<std::string>().find(file + ":3:1:"),
            std::string::npos);
  Json dump = ParseJson(Admin(admin, "GET", "/config_dump").body);
  EXPECT_NE(dump["last_reload_error"].get<std::string>().find("wrokers"), std::string::npos);
  EXPECT_EQ(dump["hash"], before_hash);
  CurlResult r = Curl({env.Url("/still")});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("x-v"), "1");
  // POST /reload says the same, with 400.
  CurlResult post = Admin(admin, "POST", "/reload");
  EXPECT_EQ(post.status, 400);
  EXPECT_NE(post.body.find(file + ":3:1: error: unknown key \"wrokers\""), std::string::npos)
      << post.body;
  EXPECT_EQ(ServerInfo(admin)["config"]["reload_failures"], 2);
}

TEST(Reload, DryRunShowsChangesAndAppliesNothing) {
  ProxyEnv env;
  ASSERT_TRUE(WaitForReady(env.gateway().AdminPort()));
  const int admin = env.gateway().AdminPort();
  const std::string old_config = ReadFile(env.gateway().ConfigPath());
  // A new route ahead of the catch-all (a shadowed one would be dropped).
  const std::string catch_all = "[[virtual_service.http]]\nmatch = [{ uri = { prefix = \"/\" } }]";
  std::string changed = old_config;
  ASSERT_NE(changed.find(catch_all), std::string::npos);
  changed.insert(changed.find(catch_all), R"([[virtual_service.http]]
name = "new-direct"
match = [{ uri = { exact = "/brand-new" } }]
direct_response = { status = 201, body = { string = "new" } }
)");
  env.gateway().WriteConfig(changed);
  CurlResult dry = Admin(admin, "POST", "/reload?dry_run=1");
  EXPECT_EQ(dry.status, 200) << dry.Describe();
  EXPECT_NE(dry.body.find("+ route"), std::string::npos) << dry.body;
  EXPECT_NE(dry.body.find("new-direct"), std::string::npos) << dry.body;
  // The unnamed catch-all is renamed by its new index: removed + added.
  EXPECT_NE(dry.body.find("3 changes (dry run: nothing applied)"), std::string::npos) << dry.body;
  EXPECT_EQ(ServerInfo(admin)["config"]["desired_version"], 1);
  EXPECT_EQ(ServerInfo(admin)["config"]["reloads"], 0);
  EXPECT_EQ(Curl({env.Url("/brand-new")}).status, 200);  // still the old routes

  // `gatehouse check --diff OLD NEW` reports the same change.
  TempDir dir;
  WriteFile(dir.File("old.toml"), old_config);
  CommandResult diff = RunCommand(
      {GatehouseBin(), "check", "--diff", dir.File("old.toml"), env.gateway().ConfigPath()});
  EXPECT_EQ(diff.exit_code, 0) << diff.Describe();
  const std::string first_line = dry.body.substr(0, dry.body.find('\n'));
  EXPECT_NE(diff.out.find(first_line), std::string::npos) << diff.out << "\nvs\n" << dry.body;

  // An invalid config: the dry run says why, with 400.
  env.gateway().WriteConfig("[proxy]\nnope = 1\n");
  CurlResult bad = Admin(admin, "POST", "/reload?dry_run=1");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("unknown key \"nope\""), std::string::npos) << bad.body;
  EXPECT_EQ(ServerInfo(admin)["config"]["reload_failures"], 0);  // a dry run is not a reload
}

TEST(Reload, UnchangedClusterKeepsItsPoolChangedAndRemovedOnesDrain) {
  auto up = UpstreamProcess::Start();
  const int port = FreePort();
  auto config = [&](const std::string& pool_keys, bool with_cluster_route, const char* extra) {
    std::string c = Subst(kProxyConfig, {{"PORT", std::to_string(port)},
                                         {"UPSTREAM", std::to_string(up.Port())},
                                         {"PROXY", ""},
                                         {"ROUTE", ""}});
    if (!pool_keys.empty()) {
      c += "\n[[destination_rule]]\nname = \"origin\"\nhost = \"origin.internal\"\n"
           "traffic_policy = { connection_pool = { tcp = { " +
           pool_keys + " } } }\n";
    }
    if (!with_cluster_route) {
      // Everything answered locally; the origin cluster is gone.
      c = Subst(R"(
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
direct_response = { status = 200, body = { string = "local" } }
)",
                {{"PORT", std::to_string(port)}});
    }
    return c + extra;
  };
  auto gw = GatehouseProcess::Start(config("", true, ""), {.wait_ports = {port}});
  ASSERT_TRUE(WaitForReady(gw.AdminPort()));
  const int admin = gw.AdminPort();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  ASSERT_EQ(Curl({url + "/a"}).status, 200);
  EXPECT_EQ(up.Stats().accepts, 1);

  // A new route, same cluster: the warm connection is reused.
  gw.WriteConfig(config("", true, R"(
[[virtual_service.http]]
match = [{ uri = { exact = "/x" } }]
direct_response = { status = 200, body = { string = "x" } }
)"));
  ASSERT_EQ(Admin(admin, "POST", "/reload").status, 200);
  ASSERT_TRUE(WaitForApplied(admin, 2));
  ASSERT_EQ(Curl({url + "/b"}).status, 200);
  EXPECT_EQ(up.Stats().accepts, 1) << "the pool of an unchanged cluster was dropped";

  // The cluster changes (connect timeout): a new pool; the old idle
  // connection is closed.
  gw.WriteConfig(config("connect_timeout = \"3s\"", true, ""));
  ASSERT_EQ(Admin(admin, "POST", "/reload").status, 200);
  ASSERT_TRUE(WaitForApplied(admin, 3));
  ASSERT_EQ(Curl({url + "/c"}).status, 200);
  EXPECT_EQ(up.Stats().accepts, 2);
  for (int i = 0; i < 100 && up.Stats().open_connections != 1; ++i)
    std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(up.Stats().open_connections, 1);

  // The cluster is removed while a request runs on it: the request finishes
  // on its old snapshot; /clusters shows the cluster draining meanwhile.
  std::atomic<int> slow_status{0};
  std::thread slow([&] {
    slow_status = Curl({"-H", "x-upstream-delay-ms: 1000", url + "/slow"}).status;
  });
  std::this_thread::sleep_for(milliseconds(300));
  gw.WriteConfig(config("", false, ""));
  ASSERT_EQ(Admin(admin, "POST", "/reload").status, 200);
  ASSERT_TRUE(WaitForApplied(admin, 4));
  EXPECT_EQ(Curl({url + "/now"}).body, "local");
  Json clusters = ParseJson(Admin(admin, "GET", "/clusters").body)["clusters"];
  ASSERT_EQ(clusters.size(), 1u) << clusters.dump(1);
  EXPECT_EQ(clusters[0]["state"], "draining");
  EXPECT_EQ(clusters[0]["active_requests"], 1);
  slow.join();
  EXPECT_EQ(slow_status.load(), 200);
  // Freed once unused (the workers' housekeeping runs every second).
  for (int i = 0; i < 100; ++i) {
    clusters = ParseJson(Admin(admin, "GET", "/clusters").body)["clusters"];
    if (clusters.empty()) break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_TRUE(clusters.empty()) << clusters.dump(1);
}

TEST(Reload, WatchConfigReloadsOnChangeDebouncedAndIgnoresBadOrSameContent) {
  ProxyEnv env({.proxy_keys = "watch_config = true",
                .route_keys = "headers = { response = { set = { x-v = \"1\" } } }"});
  ASSERT_TRUE(WaitForReady(env.gateway().AdminPort()));
  const int admin = env.gateway().AdminPort();
  std::string config = ReadFile(env.gateway().ConfigPath());
  auto with_version = [&](const std::string& v) {
    std::string c = config;
    c.replace(c.find("x-v = \"1\""), 9, "x-v = \"" + v + "\"");
    return c;
  };
  // Several quick writes: one reload.
  for (const char* v : {"a", "b", "2"}) {
    env.gateway().WriteConfig(with_version(v));
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_TRUE(WaitForApplied(admin, 2, milliseconds(5000)));
  EXPECT_EQ(Curl({env.Url("/w")}).Header("x-v"), "2");
  std::this_thread::sleep_for(milliseconds(600));
  EXPECT_EQ(ServerInfo(admin)["config"]["desired_version"], 2);

  // A broken write: rejected and counted once; the running config stays.
  env.gateway().WriteConfig(with_version("3") + "\nbroken = [\n");
  for (int i = 0; i < 100 && ServerInfo(admin)["config"]["reload_failures"] == 0; ++i)
    std::this_thread::sleep_for(milliseconds(50));
  Json info = ServerInfo(admin);
  EXPECT_EQ(info["config"]["reload_failures"], 1);
  EXPECT_EQ(info["config"]["desired_version"], 2);
  EXPECT_EQ(Curl({env.Url("/w")}).Header("x-v"), "2");

  // Back to the running content: nothing to do.
  env.gateway().WriteConfig(with_version("2"));
  std::this_thread::sleep_for(milliseconds(800));
  info = ServerInfo(admin);
  EXPECT_EQ(info["config"]["desired_version"], 2);
  EXPECT_EQ(info["config"]["reloads"], 2);  // the good one and the broken one
}

TEST(Reload, AccessLogTargetAndFormatChangeOnReloadAndReopenOnSigusr1) {
  ProxyEnv env;
  ASSERT_TRUE(WaitForReady(env.gateway().AdminPort()));
  const int admin = env.gateway().AdminPort();
  ASSERT_EQ(Curl({env.Url("/text")}).status, 200);
  ASSERT_TRUE(env.gateway().WaitForAccessLogLines(1, milliseconds(3000)));
  EXPECT_NE(env.gateway().AccessLogLines()[0].find("\"GET /text HTTP/1.1\" 200"),
            std::string::npos);

  const std::string log = env.gateway().dir().File("access.json");
  std::string config = ReadFile(env.gateway().ConfigPath());
  auto set_log = [&](const std::string& target, const std::string& format) {
    std::string c = config;
    c.replace(c.find("access_log = \"stdout\""), std::string("access_log = \"stdout\"").size(),
              "access_log = \"" + target + "\"\naccess_log_format = \"" + format + "\"");
    return c;
  };
  env.gateway().WriteConfig(set_log(log, "json"));
  ASSERT_EQ(Admin(admin, "POST", "/reload").status, 200);
  ASSERT_TRUE(WaitForApplied(admin, 2));
  ASSERT_EQ(Curl({"-A", "json-agent", env.Url("/json?q=1")}).status, 200);
  std::string content;
  for (int i = 0; i < 100 && content.empty(); ++i) {
    content = ReadFile(log);
    if (content.empty()) std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_FALSE(content.empty());
  Json line = ParseJson(content.substr(0, content.find('\n')));
  EXPECT_EQ(line["path"], "/json?q=1");
  EXPECT_EQ(line["response_code"], 200);
  EXPECT_EQ(line["user_agent"], "json-agent");
  EXPECT_EQ(line["upstream_cluster"], "outbound|80||origin.internal");
  EXPECT_EQ(env.gateway().AccessLogLines().size(), 1u);  // stdout no longer used

  // logrotate: move the file away, SIGUSR1, the next line goes to a new file.
  ASSERT_EQ(std::rename(log.c_str(), (log + ".1").c_str()), 0);
  ASSERT_TRUE(env.gateway().Signal(SIGUSR1));
  ASSERT_TRUE(env.gateway().process().WaitForStderr("access log reopened", milliseconds(3000)));
  ASSERT_EQ(Curl({env.Url("/rotated")}).status, 200);
  std::string fresh;
  for (int i = 0; i < 100 && fresh.empty(); ++i) {
    fresh = ReadFile(log);
    if (fresh.empty()) std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_NE(fresh.find("/rotated"), std::string::npos) << fresh;
  EXPECT_EQ(ReadFile(log + ".1").find("/rotated"), std::string::npos);

  // "off": nothing more anywhere.
  env.gateway().WriteConfig(set_log("off", "text"));
  ASSERT_EQ(Admin(admin, "POST", "/reload").status, 200);
  ASSERT_TRUE(WaitForApplied(admin, 3));
  ASSERT_EQ(Curl({env.Url("/silent")}).status, 200);
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(ReadFile(log).find("/silent"), std::string::npos);
  EXPECT_EQ(env.gateway().ReadStdout().find("/silent"), std::string::npos);
}

TEST(Reload, ListenerBindFailureRejectsTheWholeReload) {
  ProxyEnv env;
  ASSERT_TRUE(WaitForReady(env.gateway().AdminPort()));
  const int admin = env.gateway().AdminPort();
  // Someone else holds the port a new listener wants (no SO_REUSEPORT).
  const int taken = FreePort();
  const int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(holder, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(taken));
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(holder, 16), 0);

  std::string config = ReadFile(env.gateway().ConfigPath());
  const std::string log = env.gateway().dir().File("never.log");
  config.replace(config.find("access_log = \"stdout\""),
                 std::string("access_log = \"stdout\"").size(), "access_log = \"" + log + "\"");
  config.insert(config.find("[[service_entry]]"),
                "[[gateway.servers]]\nport = { number = " + std::to_string(taken) +
                    ", name = \"more\", protocol = \"HTTP\" }\nhosts = [\"*\"]\n\n");
  env.gateway().WriteConfig(config);
  CurlResult r = Admin(admin, "POST", "/reload");
  EXPECT_EQ(r.status, 400) << r.Describe();
  EXPECT_NE(r.body.find("Address already in use"), std::string::npos) << r.body;
  ::close(holder);
  Json info = ServerInfo(admin);
  EXPECT_EQ(info["config"]["desired_version"], 1);
  EXPECT_EQ(info["config"]["reload_failures"], 1);
  // Nothing changed: the access log still goes to stdout.
  ASSERT_EQ(Curl({env.Url("/after-rejected")}).status, 200);
  EXPECT_TRUE(env.gateway().WaitForAccessLogLines(1, milliseconds(3000)));
  EXPECT_NE(env.gateway().ReadStdout().find("/after-rejected"), std::string::npos);
  EXPECT_EQ(ReadFile(log).find("/after-rejected"), std::string::npos);
  Json listeners = ParseJson(Admin(admin, "GET", "/listeners").body)["listeners"];
  EXPECT_EQ(listeners.size(), 1u);
}

TEST(Reload, SigtermDuringLoadTurnsReadyOffAndFinishesInFlight) {
  GatewayEnv env({.workers = 2, .access_log = "off", .proxy_keys = "drain_timeout = \"10s\""});
  const int admin = env.gateway().AdminPort();
  BackgroundLoad load({.port = env.port(),
                       .connections = 2,
                       .target = "/load",
                       .duration = std::chrono::seconds(10),
                       .max_requests = 20000,
                       .requests_per_connection = 20});
  std::atomic<int> slow_ok{0};
  std::vector<std::thread> slow;
  for (int i = 0; i < 3; ++i) {
    slow.emplace_back([&] {
      if (Curl({"-H", "x-upstream-delay-ms: 1200", env.Url("/inflight")}).status == 200) ++slow_ok;
    });
  }
  std::this_thread::sleep_for(milliseconds(400));
  const int64_t before = load.RequestsSoFar();
  EXPECT_GT(before, 0);
  const auto start = Clock::now();
  ASSERT_TRUE(env.gateway().Signal(SIGTERM));
  // /ready turns 503 at once (the admin server keeps answering while draining).
  int ready = 0;
  for (int i = 0; i < 50; ++i) {
    ready = Admin(admin, "GET", "/ready").status;
    if (ready == 503) break;
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(ready, 503);
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
  for (auto& t : slow)
    t.join();
  EXPECT_EQ(slow_ok.load(), 3) << "an in-flight request was lost";
  auto exit = env.gateway().WaitExit(milliseconds(10000));
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(ExitedWith(*exit, 0)) << DescribeWaitStatus(*exit);
  EXPECT_LT(Clock::now() - start, milliseconds(10000));
  LoadResult r = load.Stop();
  // Every answer the load got before the listeners closed was a 200.
  EXPECT_EQ(r.Count(200), r.requests) << r.Describe();
}

}  // namespace
}  // namespace gh::test
