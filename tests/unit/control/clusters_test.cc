// Clusters from ServiceEntry + DestinationRule: endpoints, subsets, ports,
// resolution, traffic policy merging and load-balancer tables.
#include <gtest/gtest.h>

#include "routing/load_balancer.h"
#include "tests/unit/control/test_util.h"

namespace gh::control {
namespace {

using testing::MustCompile;

const routing::Cluster* Find(const routing::Config& c, const std::string& name) {
  for (const auto& cl : c.clusters) {
    if (cl.name == name) return &cl;
  }
  return nullptr;
}

constexpr const char* kServices = R"(
[[service_entry]]
name = "reviews"
hosts = ["reviews.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP", target_port = 8080 }, { number = 9000, name = "grpc", protocol = "GRPC" }]
location = "MESH_INTERNAL"
resolution = "STATIC"
subject_alt_names = ["spiffe://cluster.local/ns/default/sa/reviews"]
endpoints = [
  { address = "10.0.0.1", labels = { version = "v1" }, weight = 3 },
  { address = "10.0.0.2", labels = { version = "v2" }, ports = { http = 9999 } },
]

[[service_entry]]
name = "external"
hosts = ["api.partner.com"]
ports = [{ number = 443, name = "https", protocol = "HTTPS" }]
resolution = "DNS"

[[destination_rule]]
name = "reviews"
host = "reviews.internal"
[destination_rule.traffic_policy]
load_balancer = { simple = "ROUND_ROBIN" }
connection_pool = { tcp = { max_connections = 100, connect_timeout = "2s" }, http = { http1_max_pending_requests = 10, idle_timeout = "30s" } }
outlier_detection = { consecutive_5xx_errors = 3, interval = "5s", base_ejection_time = "1m", max_ejection_percent = 50 }
[[destination_rule.traffic_policy.port_level_settings]]
port = { number = 9000 }
load_balancer = { simple = "RANDOM" }
[[destination_rule.subsets]]
name = "v1"
labels = { version = "v1" }
[[destination_rule.subsets]]
name = "v2"
labels = { version = "v2" }
traffic_policy = { load_balancer = { consistent_hash = { http_header_name = "X-User", maglev = { table_size = 251 } } } }

[[destination_rule]]
name = "external"
host = "api.partner.com"
traffic_policy = { tls = { mode = "SIMPLE", sni = "api.partner.com" } }
)";

TEST(Clusters, OnePerHostPortAndSubset) {
  auto c = MustCompile(kServices);
  ASSERT_TRUE(c);
  std::vector<std::string> names;
  for (const auto& cl : c->clusters)
    names.push_back(cl.name);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "outbound|80||reviews.internal", "outbound|80|v1|reviews.internal",
                       "outbound|80|v2|reviews.internal", "outbound|9000||reviews.internal",
                       "outbound|9000|v1|reviews.internal", "outbound|9000|v2|reviews.internal",
                       "outbound|443||api.partner.com"}));
}

TEST(Clusters, EndpointsPortsWeightsAndLabels) {
  auto c = MustCompile(kServices);
  const auto* all = Find(*c, "outbound|80||reviews.internal");
  ASSERT_NE(all, nullptr);
  ASSERT_EQ(all->endpoints.size(), 2u);
  EXPECT_EQ(all->endpoints[0].port, 8080);  // target_port
  EXPECT_EQ(all->endpoints[0].weight, 3u);
  EXPECT_EQ(all->endpoints[1].port, 9999);  // endpoint ports override
  EXPECT_EQ(all->endpoints[1].labels.at("version"), "v2");
  EXPECT_TRUE(all->mesh_internal);
  EXPECT_EQ(all->resolution, routing::Resolution::kStatic);
  EXPECT_EQ(all->subject_alt_names.size(), 1u);
  const auto* v1 = Find(*c, "outbound|80|v1|reviews.internal");
  ASSERT_EQ(v1->endpoints.size(), 1u);
  EXPECT_EQ(v1->endpoints[0].address, "10.0.0.1");
  EXPECT_EQ(v1->subset, "v1");
  const auto* grpc = Find(*c, "outbound|9000||reviews.internal");
  EXPECT_EQ(grpc->endpoints[0].port, 9000);
  EXPECT_EQ(grpc->protocol, routing::UpstreamProtocol::kH2c);
}

TEST(Clusters, TrafficPolicyPortLevelAndSubsetReplaceBlocks) {
  auto c = MustCompile(kServices);
  const auto* all = Find(*c, "outbound|80||reviews.internal");
  EXPECT_EQ(all->lb_policy, routing::LbPolicy::kRoundRobin);
  EXPECT_EQ(all->pool.max_connections, 100u);
  EXPECT_EQ(all->pool.connect_timeout, routing::Millis(2000));
  EXPECT_EQ(all->pool.http1_max_pending_requests, 10u);
  EXPECT_EQ(all->pool.idle_timeout, routing::Millis(30000));
  EXPECT_TRUE(all->outlier.enabled);
  EXPECT_EQ(all->outlier.consecutive_5xx_errors, 3u);
  EXPECT_EQ(all->outlier.base_ejection_time, routing::Millis(60000));
  EXPECT_EQ(all->outlier.max_ejection_percent, 50u);
  // Port-level load balancer replaces the top-level one on port 9000 only.
  EXPECT_EQ(Find(*c, "outbound|9000||reviews.internal")->lb_policy, routing::LbPolicy::kRandom);
  // The subset's load_balancer replaces the block; other blocks inherited.
  const auto* v2 = Find(*c, "outbound|80|v2|reviews.internal");
  EXPECT_EQ(v2->lb_policy, routing::LbPolicy::kMaglev);
  ASSERT_TRUE(v2->consistent_hash);
  EXPECT_EQ(v2->consistent_hash->source, routing::ConsistentHash::Source::kHeader);
  EXPECT_EQ(v2->consistent_hash->name, "x-user");
  ASSERT_TRUE(v2->lb_table);
  EXPECT_EQ(v2->lb_table->size(), 251u);
  EXPECT_EQ(v2->pool.max_connections, 100u);
  EXPECT_EQ(Find(*c, "outbound|80|v1|reviews.internal")->lb_policy, routing::LbPolicy::kRoundRobin);
}

TEST(Clusters, DnsAndUpstreamTls) {
  auto c = MustCompile(kServices);
  const auto* ext = Find(*c, "outbound|443||api.partner.com");
  ASSERT_NE(ext, nullptr);
  EXPECT_EQ(ext->resolution, routing::Resolution::kDns);
  ASSERT_EQ(ext->endpoints.size(), 1u);  // the host itself, resolved by the data plane
  EXPECT_EQ(ext->endpoints[0].address, "api.partner.com");
  EXPECT_EQ(ext->endpoints[0].port, 443);
  EXPECT_EQ(ext->tls.mode, routing::UpstreamTlsMode::kSimple);
  EXPECT_EQ(ext->tls.sni, "api.partner.com");
  EXPECT_EQ(ext->lb_policy, routing::LbPolicy::kLeastRequest);  // Istio default
}

TEST(Clusters, FingerprintChangesOnlyWithTheCluster) {
  auto a = MustCompile(kServices);
  std::string changed = kServices;
  changed.replace(changed.find("max_connections = 100"), 21, "max_connections = 101");
  auto b = MustCompile(changed);
  EXPECT_NE(Find(*a, "outbound|80||reviews.internal")->fingerprint,
            Find(*b, "outbound|80||reviews.internal")->fingerprint);
  EXPECT_EQ(Find(*a, "outbound|443||api.partner.com")->fingerprint,
            Find(*b, "outbound|443||api.partner.com")->fingerprint);
}

}  // namespace
}  // namespace gh::control
