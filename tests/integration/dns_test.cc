// ServiceEntry resolution DNS / DNS_ROUND_ROBIN through the real binary:
// names resolve asynchronously on the main thread (c-ares reads
// /etc/hosts first, so `localhost` works without a name server), workers
// get the addresses, and an unresolvable name answers 503 UH without
// hurting anything else.
#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/admin_util.h"

namespace gh::test {
namespace {

// The test upstream listens on 127.0.0.1 only: V4_ONLY keeps a ::1 entry
// for localhost (present on some machines) out of the endpoint list.
constexpr std::string_view kDnsConfig = R"(
[proxy]
workers = 2
access_log = "stdout"
dns_lookup_family = "V4_ONLY"
dns_refresh_rate = "2s"

[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = ${PORT}, name = "http", protocol = "HTTP" }
hosts = ["*"]

[[service_entry]]
name = "by-name"
hosts = ["by-name.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "DNS"
endpoints = [{ address = "localhost", ports = { http = ${UPSTREAM} } }]

[[service_entry]]
name = "host-itself"
hosts = ["localhost"]
ports = [{ number = ${UPSTREAM}, name = "http", protocol = "HTTP" }]
resolution = "DNS"

[[service_entry]]
name = "logical"
hosts = ["logical.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "DNS_ROUND_ROBIN"
endpoints = [{ address = "localhost", ports = { http = ${UPSTREAM} } }]

[[service_entry]]
name = "nowhere"
hosts = ["nowhere.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "DNS"
endpoints = [{ address = "does-not-exist.invalid", ports = { http = ${UPSTREAM} } }]

[[virtual_service]]
name = "routes"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
match = [{ uri = { prefix = "/by-name" } }]
route = [{ destination = { host = "by-name.internal", port = { number = 80 } } }]
[[virtual_service.http]]
match = [{ uri = { prefix = "/host-itself" } }]
route = [{ destination = { host = "localhost", port = { number = ${UPSTREAM} } } }]
[[virtual_service.http]]
match = [{ uri = { prefix = "/logical" } }]
route = [{ destination = { host = "logical.internal", port = { number = 80 } } }]
[[virtual_service.http]]
match = [{ uri = { prefix = "/nowhere" } }]
route = [{ destination = { host = "nowhere.internal", port = { number = 80 } } }]
)";

class DnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    up_.emplace(UpstreamProcess::Start({.name = "resolved"}));
    port_ = FreePort();
    gw_.emplace(GatehouseProcess::Start(
        Subst(kDnsConfig,
              {{"PORT", std::to_string(port_)}, {"UPSTREAM", std::to_string(up_->Port())}}),
        {.wait_ports = {port_}, .wait_admin = true}));
    ASSERT_TRUE(WaitForReady(gw_->AdminPort()));
  }

  std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }

  // Answers are posted to the workers right after the config: allow a
  // moment for them to land before calling a name unresolved.
  CurlResult GetWhenResolved(std::string_view path) {
    const auto deadline = std::chrono::steady_clock::now() + milliseconds(5000);
    CurlResult r = Curl({Url(path)});
    while (r.status != 200 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(50));
      r = Curl({Url(path)});
    }
    return r;
  }

  double DnsResolutions(std::string_view result) {
    return FindMetric(Scrape(gw_->AdminPort()), "gatehouse_dns_resolutions_total",
                      {{"result", std::string(result)}})
        .value;
  }

  std::optional<UpstreamProcess> up_;
  int port_ = 0;
  std::optional<GatehouseProcess> gw_;
};

TEST_F(DnsTest, EndpointHostnameResolvesAndProxies) {
  CurlResult r = GetWhenResolved("/by-name/x");
  ASSERT_EQ(r.status, 200) << r.Describe();
  Json body = ParseJson(r.body);
  EXPECT_EQ(body["server_name"], "resolved");
  EXPECT_EQ(body["path"], "/by-name/x");
  EXPECT_GE(DnsResolutions("success"), 1);
  // /clusters lists the resolved address, not the name.
  Json clusters = ParseJson(Admin(gw_->AdminPort(), "GET", "/clusters").body)["clusters"];
  bool listed = false;
  for (const Json& c : clusters) {
    if (c["name"] != "outbound|80||by-name.internal") continue;
    ASSERT_EQ(c["endpoints"].size(), 1u) << c.dump();
    EXPECT_EQ(c["endpoints"][0]["address"], "127.0.0.1:" + std::to_string(up_->Port()));
    EXPECT_EQ(c["endpoints"][0]["health"], "healthy");
    EXPECT_EQ(c["endpoints"][0]["weight"], 1);
    listed = true;
  }
  EXPECT_TRUE(listed) << clusters.dump();
}

TEST_F(DnsTest, ServiceHostResolvesWhenThereAreNoEndpoints) {
  CurlResult r = GetWhenResolved("/host-itself");
  ASSERT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(ParseJson(r.body)["server_name"], "resolved");
}

TEST_F(DnsTest, DnsRoundRobinUsesTheFirstAddress) {
  for (int i = 0; i < 3; ++i) {
    CurlResult r = GetWhenResolved("/logical");
    ASSERT_EQ(r.status, 200) << r.Describe();
  }
}

TEST_F(DnsTest, UnresolvableNameAnswers503UhAndNothingElseSuffers) {
  CurlResult r = Curl({Url("/nowhere")});
  EXPECT_EQ(r.status, 503) << r.Describe();
  ASSERT_TRUE(gw_->WaitForAccessLogLines(1, milliseconds(5000)));
  EXPECT_NE(gw_->ReadStdout().find("\"GET /nowhere HTTP/1.1\" 503 UH"), std::string::npos)
      << gw_->ReadStdout();
  // The failure is counted once the name server (or its timeout) answers.
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(20000);
  while (DnsResolutions("failure") < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(100));
  EXPECT_GE(DnsResolutions("failure"), 1);
  EXPECT_EQ(Curl({Url("/nowhere")}).status, 503);
  // The process stays up and the resolvable services keep working, through
  // refreshes (every 2 s here).
  std::this_thread::sleep_for(milliseconds(2500));
  EXPECT_EQ(GetWhenResolved("/by-name").status, 200);
  EXPECT_TRUE(gw_->Running());
  EXPECT_TRUE(WaitForReady(gw_->AdminPort()));
  EXPECT_GE(DnsResolutions("success"), 2) << "localhost at start and again after 2 s";
}

}  // namespace
}  // namespace gh::test
