// The admin endpoint rules without a server: methods, auth, status codes,
// bodies, redaction. A fake Backend records what the endpoints asked for.
#include "admin/api.h"

#include <gtest/gtest.h>

#include "base/log.h"
#include "control/compile.h"

namespace gh::admin {
namespace {

using nlohmann::json;

class FakeBackend final : public Backend {
 public:
  ServerInfo Info() const override { return info; }
  std::shared_ptr<const routing::Config> Config() const override { return config; }
  std::map<std::string, uint16_t> ListenerPorts() const override { return ports; }
  void CollectStats(std::function<void(std::vector<gateway::WorkerStats>)> done) override {
    pending_stats = std::move(done);
  }
  Result<uint64_t> Reload() override {
    ++reloads;
    if (!reload_error.empty()) return MakeError(reload_error);
    return ++info.desired_version;
  }
  Result<std::vector<control::ConfigChange>> DryRun() override {
    ++dry_runs;
    if (!reload_error.empty()) return MakeError(reload_error);
    return changes;
  }
  void Drain() override { ++drains; }
  void Quit() override { ++quits; }
  std::vector<CertificateEntry> Certificates() override { return {}; }
  std::optional<Result<std::string>> AdminToken() override { return token; }

  ServerInfo info;
  std::shared_ptr<const routing::Config> config;
  std::map<std::string, uint16_t> ports;
  std::function<void(std::vector<gateway::WorkerStats>)> pending_stats;
  std::string reload_error;
  std::vector<control::ConfigChange> changes;
  std::optional<Result<std::string>> token;
  int reloads = 0, dry_runs = 0, drains = 0, quits = 0;
};

class AdminApiTest : public ::testing::Test {
 protected:
  AdminApiTest() : api(backend) {
    backend.info.version = "0.1.0";
    backend.info.state = "LIVE";
    backend.info.ready = true;
    backend.info.workers = 2;
    backend.info.desired_version = 3;
    backend.info.applied_versions = {3, 2};
  }

  // Runs the request; the reply must be synchronous unless `allow_pending`.
  Response Call(const std::string& method, const std::string& target,
                std::vector<std::pair<std::string, std::string>> headers = {}) {
    Request request = Request::Make(method, target);
    for (auto& [name, value] : headers)
      request.headers.Add(name, value);
    std::optional<Response> got;
    api.Handle(request, [&](Response r) { got = std::move(r); });
    EXPECT_TRUE(got.has_value()) << method << " " << target << " did not answer";
    return got.value_or(Response::Text(0, ""));
  }

  FakeBackend backend;
  Api api;
};

TEST_F(AdminApiTest, RequestTargetSplitsAndDecodesTheQuery) {
  Request r = Request::Make("POST", "/logging?level=debug&paths=a%3Ainfo%2Cb:warn&flag&x=a+b");
  EXPECT_EQ(r.path, "/logging");
  ASSERT_EQ(r.query.size(), 4u);
  EXPECT_EQ(*r.Param("level"), "debug");
  EXPECT_EQ(*r.Param("paths"), "a:info,b:warn");
  EXPECT_EQ(*r.Param("flag"), "");
  EXPECT_EQ(*r.Param("x"), "a b");
  EXPECT_EQ(r.Param("missing"), nullptr);
}

TEST_F(AdminApiTest, UnknownPathIs404WithTheIndex) {
  Response r = Call("GET", "/no/such");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("/stats/prometheus"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("POST /quitquitquit"), std::string::npos) << r.body;
  EXPECT_EQ(Call("GET", "/").status, 200);
  EXPECT_EQ(Call("GET", "/").body, Api::Index());
}

TEST_F(AdminApiTest, WrongMethodIs405AndHasNoEffect) {
  for (const char* path : {"/reload", "/drain", "/quitquitquit", "/logging"}) {
    Response r = Call("GET", path);
    EXPECT_EQ(r.status, 405) << path;
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0].name, "allow");
    EXPECT_EQ(r.headers[0].value, "POST");
    EXPECT_EQ(Call("PUT", path).status, 405) << path;
  }
  for (const char* path : {"/ready", "/server_info", "/stats", "/config_dump", "/listeners"}) {
    Response r = Call("POST", path);
    EXPECT_EQ(r.status, 405) << path;
    EXPECT_EQ(r.headers.at(0).value, "GET");
  }
  EXPECT_EQ(backend.reloads + backend.drains + backend.quits, 0);
}

TEST_F(AdminApiTest, ReadyFollowsTheServerState) {
  Response live = Call("GET", "/ready");
  EXPECT_EQ(live.status, 200);
  EXPECT_EQ(live.body, "LIVE\n");
  backend.info.ready = false;
  backend.info.state = "DRAINING";
  Response draining = Call("GET", "/ready");
  EXPECT_EQ(draining.status, 503);
  EXPECT_EQ(draining.body, "DRAINING\n");
  EXPECT_EQ(Call("GET", "/healthz").status, 200);  // liveness stays
}

TEST_F(AdminApiTest, ServerInfoShowsDesiredAndAppliedVersions) {
  backend.info.last_reload_error = "a.toml:1:1: error: x";
  Response r = Call("GET", "/server_info");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  json j = json::parse(r.body);
  EXPECT_EQ(j["state"], "LIVE");
  EXPECT_EQ(j["workers"], 2);
  EXPECT_EQ(j["config"]["desired_version"], 3);
  EXPECT_EQ(j["config"]["applied_versions"], json::array({3, 2}));
  EXPECT_EQ(j["config"]["last_reload_error"], "a.toml:1:1: error: x");
}

TEST_F(AdminApiTest, MutatingEndpointsNeedTheBearerTokenWhenConfigured) {
  backend.token = Result<std::string>(std::string("s3cret"));
  Response none = Call("POST", "/reload");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.headers.at(0).name, "www-authenticate");
  EXPECT_EQ(Call("POST", "/reload", {{"authorization", "Basic czNjcmV0"}}).status, 401);
  EXPECT_EQ(Call("POST", "/reload", {{"authorization", "Bearer wrong"}}).status, 403);
  EXPECT_EQ(Call("POST", "/reload", {{"authorization", "Bearer s3cre"}}).status, 403);
  EXPECT_EQ(backend.reloads, 0);
  EXPECT_EQ(Call("POST", "/reload", {{"authorization", "Bearer s3cret"}}).status, 200);
  EXPECT_EQ(Call("POST", "/reload", {{"authorization", "bearer  s3cret "}}).status, 200);
  EXPECT_EQ(backend.reloads, 2);
  // Reads need no token.
  EXPECT_EQ(Call("GET", "/server_info").status, 200);
  // An unreadable token file refuses every mutation (fails closed).
  backend.token = Result<std::string>(MakeError("cannot read /t"));
  EXPECT_EQ(Call("POST", "/drain", {{"authorization", "Bearer s3cret"}}).status, 403);
  EXPECT_EQ(backend.drains, 0);
}

TEST_F(AdminApiTest, ReloadAnswers400WithEveryErrorAndDryRunListsChanges) {
  backend.reload_error = "a.toml:3:1: error: unknown key \"bogus\"\n1 error(s)";
  Response bad = Call("POST", "/reload");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("a.toml:3:1: error: unknown key"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find("still running version 3"), std::string::npos) << bad.body;
  EXPECT_EQ(Call("POST", "/reload?dry_run=1").status, 400);

  backend.reload_error.clear();
  backend.changes = {{control::ConfigChange::Kind::kAdded, "route", "l h r", "-> x"},
                     {control::ConfigChange::Kind::kRemoved, "cluster", "c", ""}};
  Response dry = Call("POST", "/reload?dry_run=1");
  EXPECT_EQ(dry.status, 200);
  EXPECT_EQ(dry.body, "+ route l h r: -> x\n- cluster c\n2 changes (dry run: nothing applied)\n");
  EXPECT_EQ(backend.reloads, 1);  // only the first, failed one

  Response ok = Call("POST", "/reload");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "published config version 4\n");
}

TEST_F(AdminApiTest, ReloadRefusedWhileDraining) {
  backend.info.state = "DRAINING";
  EXPECT_EQ(Call("POST", "/reload").status, 503);
  EXPECT_EQ(backend.reloads, 0);
}

TEST_F(AdminApiTest, DrainAndQuitAnswerFirstAndActAfter) {
  Response drain = Call("POST", "/drain");
  EXPECT_EQ(drain.status, 200);
  EXPECT_EQ(backend.drains, 0);
  ASSERT_TRUE(drain.after);
  drain.after();
  EXPECT_EQ(backend.drains, 1);
  Response quit = Call("POST", "/quitquitquit");
  ASSERT_TRUE(quit.after);
  quit.after();
  EXPECT_EQ(backend.quits, 1);
}

TEST_F(AdminApiTest, StatsAnswerWhenTheWorkersHaveReplied) {
  Request request = Request::Make("GET", "/stats/prometheus");
  std::optional<Response> got;
  api.Handle(request, [&](Response r) { got = std::move(r); });
  EXPECT_FALSE(got.has_value());
  ASSERT_TRUE(backend.pending_stats);
  std::vector<gateway::WorkerStats> shards(2);
  shards[0].downstream_cx_total = 5;
  shards[1].downstream_cx_total = 7;
  backend.pending_stats(std::move(shards));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(got->body.find("\ngatehouse_downstream_cx_total 12\n"), std::string::npos) << got->body;
  EXPECT_NE(got->body.find("gatehouse_config_applied_version{worker=\"1\"} 2\n"),
            std::string::npos);

  Response bad = Call("GET", "/stats?format=xml");
  EXPECT_EQ(bad.status, 400);
}

TEST_F(AdminApiTest, LoggingSetsLevelsPerComponentAndRejectsAtomically) {
  const log::Level http_before = log::GetLevel(log::Component::kHttp);
  Response r = Call("POST", "/logging?http=debug&paths=tls:warning,upstream:trace");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(log::GetLevel(log::Component::kHttp), log::Level::kDebug);
  EXPECT_EQ(log::GetLevel(log::Component::kTls), log::Level::kWarn);
  EXPECT_EQ(log::GetLevel(log::Component::kUpstream), log::Level::kTrace);
  EXPECT_NE(r.body.find("  http: debug\n"), std::string::npos) << r.body;

  Response bad = Call("POST", "/logging?http=info&nosuch=debug&tls=loud");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("unknown component 'nosuch'"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find("unknown level 'loud'"), std::string::npos) << bad.body;
  EXPECT_EQ(log::GetLevel(log::Component::kHttp), log::Level::kDebug);  // unchanged

  EXPECT_EQ(Call("POST", "/logging?level=info").status, 200);
  for (size_t i = 0; i < static_cast<size_t>(log::Component::kCount); ++i)
    EXPECT_EQ(log::GetLevel(static_cast<log::Component>(i)), log::Level::kInfo);
  log::SetLevel(log::Component::kHttp, http_before);
}

constexpr const char* kSecretConfig = R"(
[proxy]
workers = 1
access_log = "off"
[admin]
address = "127.0.0.1:15000"
token_file = "/etc/gatehouse/admin.token"
[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = 8443, name = "https", protocol = "HTTPS" }
hosts = ["*"]
tls = { mode = "SIMPLE", server_certificate = "/certs/shop.pem", private_key = "/keys/shop-private.key" }
[[service_entry]]
name = "origin"
hosts = ["origin.internal"]
ports = [{ number = 443, name = "https", protocol = "HTTPS" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { https = 9443 } }]
[[destination_rule]]
name = "origin-tls"
host = "origin.internal"
traffic_policy = { tls = { mode = "MUTUAL", client_certificate = "/certs/client.pem", private_key = "/keys/client-private.key", ca_certificates = "/certs/ca.pem" } }
[[virtual_service]]
name = "routes"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
match = [{ uri = { prefix = "/" } }]
route = [{ destination = { host = "origin.internal", port = { number = 443 } } }]
headers = { request = { set = { authorization = "Bearer upstream-secret", x-env = "prod" } } }
)";

TEST(ConfigDump, RedactsPrivateKeysTokenFileAndCredentialHeaders) {
  control::CompileResult compiled = control::Compile({{"secret.toml", kSecretConfig}});
  ASSERT_TRUE(compiled.ok()) << (compiled.diagnostics.empty() ? std::string()
                                                              : compiled.diagnostics[0].ToString());
  const std::string dump = ConfigDump(*compiled.config).dump();
  for (const char* secret :
       {"shop-private.key", "client-private.key", "admin.token", "upstream-secret"}) {
    EXPECT_EQ(dump.find(secret), std::string::npos) << secret << " leaked:\n" << dump;
  }
  json j = ConfigDump(*compiled.config);
  // What is not secret stays, so operators can see what runs.
  EXPECT_NE(dump.find("/certs/shop.pem"), std::string::npos);
  EXPECT_NE(dump.find("\"x-env\""), std::string::npos);
  EXPECT_EQ(j["admin"]["token_file"], "[redacted]");
  const json& tls = j["listeners"][0]["servers"][0]["tls"];
  EXPECT_EQ(tls["mode"], "SIMPLE");
  EXPECT_EQ(tls["certificates"][0]["private_key"], "[redacted]");
  EXPECT_EQ(j["clusters"][0]["tls"]["private_key"], "[redacted]");
  EXPECT_EQ(j["clusters"][0]["tls"]["client_certificate"], "/certs/client.pem");
  EXPECT_EQ(j["version"], compiled.content_hash);
  const json& route = j["listeners"][0]["servers"][0]["virtual_hosts"][0]["routes"][0];
  EXPECT_EQ(route["destinations"][0]["cluster"], "outbound|443||origin.internal");
}

TEST(ConfigDump, EndpointShowsVersionHashAndLastReloadError) {
  FakeBackend backend;
  control::CompileResult compiled = control::Compile({{"secret.toml", kSecretConfig}});
  ASSERT_TRUE(compiled.ok());
  backend.config = compiled.config;
  backend.info.desired_version = 7;
  backend.info.applied_versions = {7};
  backend.info.config_hash = compiled.content_hash;
  backend.info.last_reload_error = "b.toml:2:3: error: nope";
  backend.info.reload_failures = 1;
  Api api(backend);
  std::optional<Response> got;
  api.Handle(Request::Make("GET", "/config_dump"), [&](Response r) { got = std::move(r); });
  ASSERT_TRUE(got.has_value());
  json j = json::parse(got->body);
  EXPECT_EQ(j["version"], 7);
  EXPECT_EQ(j["hash"], compiled.content_hash);
  EXPECT_EQ(j["last_reload_error"], "b.toml:2:3: error: nope");
  EXPECT_EQ(j["reload_failures"], 1);
  EXPECT_EQ(j["config"]["proxy"]["workers"], 1);
}

TEST(Listeners, ReportBoundPorts) {
  control::CompileResult compiled = control::Compile({{"secret.toml", kSecretConfig}});
  ASSERT_TRUE(compiled.ok());
  json j = ListenersJson(*compiled.config, {{"0.0.0.0_8443", 8443}});
  ASSERT_EQ(j["listeners"].size(), 1u);
  EXPECT_EQ(j["listeners"][0]["name"], "0.0.0.0_8443");
  EXPECT_EQ(j["listeners"][0]["address"], "0.0.0.0:8443");
  EXPECT_EQ(j["listeners"][0]["kind"], "https");
}

TEST(Clusters, JoinConfigWithWorkerStateAndListDrainingOnes) {
  control::CompileResult compiled = control::Compile({{"secret.toml", kSecretConfig}});
  ASSERT_TRUE(compiled.ok());
  gateway::WorkerStats merged;
  gateway::ClusterStats& live = merged.clusters["outbound|443||origin.internal"];
  live.host = "origin.internal";
  live.active_requests = 2;
  live.endpoints.push_back({"127.0.0.1:9443", true, 2, 2, 1, 0});
  gateway::ClusterStats& old = merged.clusters["outbound|80||gone.internal#retired"];
  old.host = "gone.internal";
  old.retired = true;
  old.active_requests = 1;
  old.endpoints.push_back({"127.0.0.1:9000", true, 1, 1, 0, 0});
  json j = ClustersJson(*compiled.config, merged)["clusters"];
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["name"], "outbound|443||origin.internal");
  EXPECT_EQ(j[0]["state"], "active");
  EXPECT_EQ(j[0]["active_requests"], 2);
  EXPECT_EQ(j[0]["endpoints"][0]["connections_idle"], 1);
  EXPECT_EQ(j[0]["endpoints"][0]["health"], "healthy");
  EXPECT_EQ(j[0]["endpoints"][0]["weight"], 1);
  EXPECT_EQ(j[1]["name"], "outbound|80||gone.internal");
  EXPECT_EQ(j[1]["state"], "draining");
  EXPECT_EQ(j[1]["active_requests"], 1);
}

TEST(Certificates, ConfigFilesAreReadAndErrorsReported) {
  control::CompileResult compiled = control::Compile({{"secret.toml", kSecretConfig}});
  ASSERT_TRUE(compiled.ok());
  std::vector<std::string> asked;
  auto entries = ConfigCertificates(*compiled.config, [&](const std::string& path) {
    asked.push_back(path);
    return Result<std::string>(MakeError("cannot read " + path));
  });
  // Server chain, client certificate and CA; never a private key.
  EXPECT_EQ(asked,
            (std::vector<std::string>{"/certs/shop.pem", "/certs/client.pem", "/certs/ca.pem"}));
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].role, "server");
  EXPECT_EQ(entries[1].role, "client");
  EXPECT_EQ(entries[2].role, "ca");
  json j = CertificatesJson(entries, tls::NowSeconds());
  EXPECT_EQ(j["certificates"][0]["error"], "cannot read /certs/shop.pem");
}

}  // namespace
}  // namespace gh::admin
