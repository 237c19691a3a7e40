// Route actions executed by the real binary (issue 4, data-plane half):
// direct responses, redirects, rewrites, header edits, faults, mirrors,
// CORS and per-try timeouts with retries.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/support/harness.h"

namespace gh::test {
namespace {

using Clock = std::chrono::steady_clock;

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
endpoints = [{ address = "127.0.0.1", ports = { http = ${MAIN} } }]

[[service_entry]]
name = "shadow"
hosts = ["shadow.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http = ${SHADOW} } }]

[[virtual_service]]
name = "actions"
hosts = ["act.example.com"]
gateways = ["edge"]

[[virtual_service.http]]
name = "direct"
match = [{ uri = { exact = "/direct" } }]
direct_response = { status = 418, body = { string = "short and stout" } }

[[virtual_service.http]]
name = "redirect"
match = [{ uri = { prefix = "/old/" } }]
redirect = { prefix_rewrite = "/new/", redirect_code = 308 }

[[virtual_service.http]]
name = "rewrite"
match = [{ uri = { prefix = "/api/v1/" } }]
rewrite = { uri = "/v1/", authority = "backend.internal" }
route = [{ destination = { host = "origin.internal" } }]

[[virtual_service.http]]
name = "regex-rewrite"
match = [{ uri = { regex = "/users/([0-9]+)/profile" } }]
rewrite = { uri_regex_rewrite = { match = "/users/([0-9]+)/profile", rewrite = "/profile?id=\\1" } }
route = [{ destination = { host = "origin.internal" } }]

[[virtual_service.http]]
name = "headers"
match = [{ uri = { prefix = "/headers" } }]
headers = { request = { set = { x-route = "r", x-both = "route" }, add = { x-added = "a" }, remove = ["x-secret"] }, response = { set = { x-resp = "set" }, remove = ["x-upstream-name"] } }
route = [{ destination = { host = "origin.internal" }, headers = { request = { set = { x-both = "destination" } }, response = { add = { x-dest-resp = "d" } } } }]

[[virtual_service.http]]
name = "abort"
match = [{ uri = { prefix = "/abort" } }]
fault = { abort = { http_status = 418, percentage = { value = 100 } } }
route = [{ destination = { host = "origin.internal" } }]

[[virtual_service.http]]
name = "delay"
match = [{ uri = { prefix = "/delay" } }]
fault = { delay = { fixed_delay = "400ms", percentage = { value = 100 } } }
route = [{ destination = { host = "origin.internal" } }]

[[virtual_service.http]]
name = "mirror"
match = [{ uri = { prefix = "/mirror" } }]
mirror = { host = "shadow.internal" }
route = [{ destination = { host = "origin.internal" }, headers = { request = { remove = ["x-upstream-delay-ms"] } } }]

[[virtual_service.http]]
name = "cors"
match = [{ uri = { prefix = "/cors" } }]
cors_policy = { allow_origins = [{ exact = "https://app.example.com" }], allow_methods = ["GET", "POST"], allow_headers = ["x-token"], max_age = "1h", allow_credentials = true }
route = [{ destination = { host = "origin.internal" } }]

[[virtual_service.http]]
name = "per-try"
match = [{ uri = { prefix = "/per-try" } }]
retries = { attempts = 2, per_try_timeout = "200ms", retry_on = "5xx" }
route = [{ destination = { host = "origin.internal" } }]
)";

class RouteActions : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    main_ = new UpstreamProcess(UpstreamProcess::Start({.name = "main"}));
    shadow_ = new UpstreamProcess(UpstreamProcess::Start({.name = "shadow"}));
    port_ = FreePort();
    gateway_ = new GatehouseProcess(
        GatehouseProcess::Start(Subst(kConfig, {{"PORT", std::to_string(port_)},
                                                {"MAIN", std::to_string(main_->Port())},
                                                {"SHADOW", std::to_string(shadow_->Port())}}),
                                {.wait_ports = {port_}}));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete shadow_;
    delete main_;
  }
  static CurlResult Get(std::string_view path, std::vector<std::string> extra = {}) {
    extra.push_back("-H");
    extra.push_back("Host: act.example.com");
    extra.push_back("http://127.0.0.1:" + std::to_string(port_) + std::string(path));
    return Curl(extra);
  }
  static std::string EchoHeader(const Json& echo, std::string_view name) {
    std::string values;
    for (const auto& pair : echo["headers"]) {
      if (pair[0].get<std::string>() != name) continue;
      if (!values.empty()) values += "|";
      values += pair[1].get<std::string>();
    }
    return values;
  }
  static UpstreamProcess* main_;
  static UpstreamProcess* shadow_;
  static GatehouseProcess* gateway_;
  static int port_;
};
UpstreamProcess* RouteActions::main_ = nullptr;
UpstreamProcess* RouteActions::shadow_ = nullptr;
GatehouseProcess* RouteActions::gateway_ = nullptr;
int RouteActions::port_ = 0;

TEST_F(RouteActions, DirectResponseAnsweredLocally) {
  main_->ResetStats();
  auto r = Get("/direct");
  EXPECT_EQ(r.status, 418);
  EXPECT_EQ(r.body, "short and stout");
  EXPECT_EQ(main_->Stats().requests, 0);
}

TEST_F(RouteActions, RedirectWithPrefixRewriteAndCode) {
  auto r = Get("/old/page?x=1");
  EXPECT_EQ(r.status, 308);
  EXPECT_EQ(r.Header("location"), "http://act.example.com/new/page?x=1");
}

TEST_F(RouteActions, PrefixAndAuthorityRewrite) {
  auto r = Get("/api/v1/items?q=2");
  ASSERT_EQ(r.status, 200) << r.Describe();
  Json e = ParseJson(r.body);
  EXPECT_EQ(e["target"], "/v1/items?q=2");
  EXPECT_EQ(e["authority"], "backend.internal");
}

TEST_F(RouteActions, RegexRewrite) {
  auto r = Get("/users/42/profile");
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(ParseJson(r.body)["target"], "/profile?id=42");
}

TEST_F(RouteActions, HeaderEditsRouteThenDestination) {
  auto r = Get("/headers", {"-H", "x-secret: s", "-H", "x-both: client"});
  ASSERT_EQ(r.status, 200) << r.Describe();
  Json e = ParseJson(r.body);
  EXPECT_EQ(EchoHeader(e, "x-route"), "r");
  EXPECT_EQ(EchoHeader(e, "x-added"), "a");
  EXPECT_EQ(EchoHeader(e, "x-secret"), "");
  EXPECT_EQ(EchoHeader(e, "x-both"), "destination");  // the destination's set wins
  EXPECT_EQ(r.Header("x-resp"), "set");
  EXPECT_EQ(r.Header("x-dest-resp"), "d");
  EXPECT_FALSE(r.Header("x-upstream-name").has_value());
}

TEST_F(RouteActions, FaultAbortAndDelay) {
  main_->ResetStats();
  auto aborted = Get("/abort");
  EXPECT_EQ(aborted.status, 418);
  EXPECT_EQ(main_->Stats().requests, 0);

  const auto start = Clock::now();
  auto delayed = Get("/delay");
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(delayed.status, 200);
  EXPECT_GE(elapsed, std::chrono::milliseconds(380));
  gateway_->WaitForAccessLogLines(1, milliseconds(2000));
  bool fi = false, di = false;
  for (const auto& line : gateway_->AccessLogLines()) {
    if (line.find("\"GET /abort HTTP/1.1\" 418 FI") != std::string::npos) fi = true;
    if (line.find("\"GET /delay HTTP/1.1\" 200 DI") != std::string::npos) di = true;
  }
  EXPECT_TRUE(fi);
  EXPECT_TRUE(di);
}

TEST_F(RouteActions, MirrorIsFireAndForget) {
  main_->ResetStats();
  shadow_->ResetStats();
  // The primary drops the delay header (destination-level edit); the mirror
  // copy keeps it, so the shadow is slow: the client must not wait for it.
  const auto start = Clock::now();
  auto r = Get("/mirror/x", {"-H", "x-upstream-delay-ms: 1500", "-X", "POST", "-d", "payload"});
  const auto elapsed = Clock::now() - start;
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_LT(elapsed, std::chrono::milliseconds(1000));
  EXPECT_EQ(ParseJson(r.body)["server_name"], "main");
  // The shadow gets its copy (host suffixed -shadow, same body).
  for (int i = 0; i < 40 && shadow_->Stats().requests == 0; ++i) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(shadow_->Stats().requests, 1);
  EXPECT_EQ(main_->Stats().requests, 1);
}

TEST_F(RouteActions, MirrorToADeadClusterNeverFailsTheRequest) {
  constexpr std::string_view kDeadMirror = R"(
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
name = "dead"
hosts = ["dead.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http = ${DEAD} } }]
[[virtual_service]]
name = "r"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
mirror = { host = "dead.internal" }
route = [{ destination = { host = "origin.internal" } }]
)";
  const int port = FreePort();
  auto gw = GatehouseProcess::Start(Subst(kDeadMirror, {{"PORT", std::to_string(port)},
                                                        {"MAIN", std::to_string(main_->Port())},
                                                        {"DEAD", std::to_string(FreePort())}}),
                                    {.wait_ports = {port}});
  for (int i = 0; i < 5; ++i) {
    auto r = Curl({"http://127.0.0.1:" + std::to_string(port) + "/m"});
    EXPECT_EQ(r.status, 200) << r.Describe();
  }
}

TEST_F(RouteActions, CorsPreflightAndActualRequest) {
  main_->ResetStats();
  auto preflight = Get("/cors/data", {"-X", "OPTIONS", "-H", "Origin: https://app.example.com",
                                      "-H", "Access-Control-Request-Method: POST"});
  EXPECT_EQ(preflight.status, 200);
  EXPECT_EQ(preflight.Header("access-control-allow-origin"), "https://app.example.com");
  EXPECT_EQ(preflight.Header("access-control-allow-credentials"), "true");
  EXPECT_EQ(preflight.Header("access-control-max-age"), "3600");
  EXPECT_TRUE(preflight.Header("access-control-allow-methods").has_value());
  EXPECT_EQ(main_->Stats().requests, 0) << "an allowed preflight is answered locally";

  auto actual = Get("/cors/data", {"-H", "Origin: https://app.example.com"});
  EXPECT_EQ(actual.status, 200);
  EXPECT_EQ(actual.Header("access-control-allow-origin"), "https://app.example.com");

  auto foreign = Get("/cors/data", {"-X", "OPTIONS", "-H", "Origin: https://evil.example", "-H",
                                    "Access-Control-Request-Method: POST"});
  EXPECT_FALSE(foreign.Header("access-control-allow-origin").has_value());
  EXPECT_EQ(main_->Stats().requests, 2) << "an unmatched preflight is forwarded (FORWARD)";
}

TEST_F(RouteActions, PerTryTimeoutRetriesThenGivesUp) {
  main_->ResetStats();
  const auto start = Clock::now();
  auto r = Get("/per-try", {"-H", "x-upstream-delay-ms: 1000"});
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(r.status, 504) << r.Describe();
  EXPECT_LT(elapsed, std::chrono::milliseconds(1500));
  for (int i = 0; i < 20 && main_->Stats().requests < 3; ++i) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(main_->Stats().requests, 3);
}

}  // namespace
}  // namespace gh::test
