// ServiceEntry DNS resolution, the pure half: which names a cluster needs,
// and the endpoint list its answers make.
#include "routing/dns_endpoints.h"

#include <gtest/gtest.h>

namespace gh::routing {
namespace {

Endpoint Ep(std::string address, uint16_t port, uint32_t weight = 1,
            std::map<std::string, std::string> labels = {}) {
  Endpoint e;
  e.address = std::move(address);
  e.port = port;
  e.weight = weight;
  e.labels = std::move(labels);
  return e;
}

Cluster DnsCluster(Resolution resolution, std::vector<Endpoint> endpoints) {
  Cluster c;
  c.name = "outbound|80||svc.example";
  c.host = "svc.example";
  c.resolution = resolution;
  c.endpoints = std::move(endpoints);
  return c;
}

std::vector<std::string> Addresses(const std::vector<Endpoint>& endpoints) {
  std::vector<std::string> out;
  for (const Endpoint& e : endpoints)
    out.push_back(e.address + ":" + std::to_string(e.port));
  return out;
}

TEST(DnsNames, NamesOfDnsClustersOnly) {
  Cluster c = DnsCluster(Resolution::kDns, {Ep("a.example", 80), Ep("10.0.0.1", 80),
                                            Ep("a.example", 81), Ep("b.example", 80)});
  EXPECT_EQ(DnsNames(c), (std::vector<std::string>{"a.example", "b.example"}));
  c.resolution = Resolution::kStatic;
  EXPECT_TRUE(DnsNames(c).empty());
  EXPECT_FALSE(ResolvesNames(c));
  c.resolution = Resolution::kDnsRoundRobin;
  EXPECT_TRUE(ResolvesNames(c));
}

TEST(ExpandDnsEndpoints, EveryAddressCarriesItsEndpointsPortWeightAndLabels) {
  Cluster c = DnsCluster(Resolution::kDns, {Ep("a.example", 8080, 3, {{"v", "1"}}),
                                            Ep("10.9.9.9", 80), Ep("b.example", 9090, 1)});
  DnsAnswers answers{{"a.example", {"10.0.0.1", "::1"}}, {"b.example", {"10.0.0.2"}}};
  const std::vector<Endpoint> out = ExpandDnsEndpoints(c, answers);
  EXPECT_EQ(Addresses(out), (std::vector<std::string>{"10.0.0.1:8080", "::1:8080", "10.9.9.9:80",
                                                      "10.0.0.2:9090"}));
  EXPECT_EQ(out[0].weight, 3u);
  EXPECT_EQ(out[1].labels.at("v"), "1");
  EXPECT_EQ(out[3].weight, 1u);
}

TEST(ExpandDnsEndpoints, UnansweredNamesContributeNothingAndDuplicatesMerge) {
  Cluster c = DnsCluster(Resolution::kDns, {Ep("a.example", 80), Ep("b.example", 80)});
  EXPECT_TRUE(ExpandDnsEndpoints(c, {}).empty());
  DnsAnswers answers{{"a.example", {"10.0.0.1"}}, {"b.example", {"10.0.0.1", "10.0.0.2"}}};
  EXPECT_EQ(Addresses(ExpandDnsEndpoints(c, answers)),
            (std::vector<std::string>{"10.0.0.1:80", "10.0.0.2:80"}));
}

TEST(RoundRobinDnsEndpoint, OneLogicalEndpointOnTheFirstAddress) {
  Cluster c = DnsCluster(Resolution::kDnsRoundRobin, {Ep("a.example", 443, 2)});
  EXPECT_TRUE(ResolvedEndpoints(c, {}).empty());
  DnsAnswers answers{{"a.example", {"10.0.0.7", "10.0.0.8"}}};
  const std::vector<Endpoint> out = ResolvedEndpoints(c, answers);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].address, "10.0.0.7");
  EXPECT_EQ(out[0].port, 443);
  EXPECT_EQ(out[0].weight, 2u);
}

TEST(DnsRefreshDelay, ShorterTtlWinsButNeverBelowASecond) {
  EXPECT_EQ(DnsRefreshDelay(Millis(60'000), 0), Millis(60'000));  // no TTL (hosts file)
  EXPECT_EQ(DnsRefreshDelay(Millis(60'000), 30), Millis(30'000));
  EXPECT_EQ(DnsRefreshDelay(Millis(60'000), 3600), Millis(60'000));
  EXPECT_EQ(DnsRefreshDelay(Millis(5'000), 0), Millis(5'000));
  EXPECT_EQ(DnsRefreshDelay(Millis(100), 0), Millis(1'000));
}

}  // namespace
}  // namespace gh::routing
