// Load balancing over real endpoints: round robin spreads evenly, a
// consistent hash pins a key to one endpoint, least-request avoids the busy
// one, and a retry prefers another endpoint.
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "tests/support/harness.h"

namespace gh::test {
namespace {

constexpr std::string_view kConfig = R"(
[proxy]
workers = 1
access_log = "off"
[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = ${PORT}, name = "http", protocol = "HTTP" }
hosts = ["*"]
[[service_entry]]
name = "pool"
hosts = ["pool.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http = ${A} } },
             { address = "127.0.0.1", ports = { http = ${B} } }]
[[destination_rule]]
name = "lb"
host = "pool.internal"
traffic_policy = { load_balancer = ${LB} }
[[virtual_service]]
name = "r"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
route = [{ destination = { host = "pool.internal" } }]
${ROUTE}
)";

class Balancing {
 public:
  explicit Balancing(std::string_view lb, std::string_view route = "")
      : a_(UpstreamProcess::Start({.name = "a"})),
        b_(UpstreamProcess::Start({.name = "b"})),
        port_(FreePort()),
        gw_(GatehouseProcess::Start(Subst(kConfig, {{"PORT", std::to_string(port_)},
                                                    {"A", std::to_string(a_.Port())},
                                                    {"B", std::to_string(b_.Port())},
                                                    {"LB", std::string(lb)},
                                                    {"ROUTE", std::string(route)}}),
                                    {.wait_ports = {port_}})) {}
  std::string ServedBy(std::vector<std::string> args = {}) {
    args.push_back("http://127.0.0.1:" + std::to_string(port_) + "/");
    auto r = Curl(args);
    if (r.status != 200) return "status " + std::to_string(r.status);
    return ParseJson(r.body)["server_name"];
  }
  UpstreamProcess& a() { return a_; }
  UpstreamProcess& b() { return b_; }

 private:
  UpstreamProcess a_, b_;
  int port_;
  GatehouseProcess gw_;
};

TEST(LoadBalancing, RoundRobinAlternates) {
  Balancing env("{ simple = \"ROUND_ROBIN\" }");
  std::map<std::string, int> counts;
  for (int i = 0; i < 10; ++i)
    ++counts[env.ServedBy()];
  EXPECT_EQ(counts["a"], 5);
  EXPECT_EQ(counts["b"], 5);
}

TEST(LoadBalancing, ConsistentHashOnHeaderPinsKeys) {
  Balancing env("{ consistent_hash = { http_header_name = \"x-user\" } }");
  std::map<std::string, std::string> owner;
  for (int round = 0; round < 3; ++round) {
    for (int user = 0; user < 8; ++user) {
      const std::string key = "user-" + std::to_string(user);
      const std::string served = env.ServedBy({"-H", "x-user: " + key});
      if (round == 0) {
        owner[key] = served;
      } else {
        EXPECT_EQ(served, owner[key]) << key;
      }
    }
  }
  std::map<std::string, int> spread;
  for (const auto& [key, who] : owner)
    ++spread[who];
  EXPECT_EQ(spread.size(), 2u) << "8 keys all landed on one endpoint";
}

TEST(LoadBalancing, LeastRequestAvoidsTheBusyEndpoint) {
  Balancing env("{ simple = \"LEAST_REQUEST\" }");
  // Keep one request busy on some endpoint, then see where new ones go.
  std::string busy;
  std::thread slow([&] { busy = env.ServedBy({"-H", "x-upstream-delay-ms: 1500"}); });
  std::this_thread::sleep_for(milliseconds(300));
  std::map<std::string, int> counts;
  for (int i = 0; i < 6; ++i)
    ++counts[env.ServedBy()];
  slow.join();
  ASSERT_TRUE(busy == "a" || busy == "b") << busy;
  const std::string idle = busy == "a" ? "b" : "a";
  EXPECT_EQ(counts[idle], 6) << "least-request sent work to the busy endpoint";
}

TEST(LoadBalancing, RetryPrefersAnotherEndpoint) {
  Balancing env("{ simple = \"ROUND_ROBIN\" }",
                "retries = { attempts = 1, retry_on = \"connect-failure\" }");
  env.b().Stop();  // b is down: every request that picks it retries on a
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(env.ServedBy(), "a") << i;
}

}  // namespace
}  // namespace gh::test
