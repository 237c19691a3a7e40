// A worker's DNS cluster as answers change: addresses that stay keep their
// index and pools, gone ones are never picked again, new ones are added;
// DNS_ROUND_ROBIN keeps one endpoint whose pools move to the new address.
// No sockets: pools are only created, never asked for a connection.
#include <gtest/gtest.h>

#include <set>

#include "gateway/cluster_manager.h"
#include "gateway/connection.h"
#include "gateway/dispatcher.h"
#include "tests/unit/gateway/loop_test.h"

namespace gh::gateway {
namespace {

std::shared_ptr<const routing::Config> DnsConfig(routing::Resolution resolution,
                                                 routing::LbPolicy policy) {
  auto config = std::make_shared<routing::Config>();
  routing::Cluster c;
  c.name = "outbound|80||svc.example";
  c.host = "svc.example";
  c.resolution = resolution;
  c.lb_policy = policy;
  c.endpoints.push_back({"svc.example", 8080, 1, {}, {}});
  config->clusters.push_back(std::move(c));
  return config;
}

std::shared_ptr<const routing::DnsAnswers> Answers(std::vector<std::string> addresses) {
  return std::make_shared<const routing::DnsAnswers>(
      routing::DnsAnswers{{"svc.example", std::move(addresses)}});
}

class ClusterStateDnsTest : public LoopTest {
 protected:
  void ReleaseLoopObjects() override { state_.reset(); }
  void Make(routing::Resolution resolution,
            routing::LbPolicy policy = routing::LbPolicy::kRoundRobin) {
    config_ = DnsConfig(resolution, policy);
    state_ =
        std::make_unique<ClusterState>(*dispatcher_, config_, config_->clusters[0], nullptr, 1);
  }
  // Every endpoint the balancer hands out over `n` picks, as ip:port.
  std::set<std::string> Picked(int n = 20) {
    std::set<std::string> out;
    for (int i = 0; i < n; ++i) {
      auto e = state_->PickEndpoint(random_, std::nullopt);
      if (e) out.insert(state_->endpoints()[*e].address_string);
    }
    return out;
  }
  size_t IndexOf(const std::string& address) {
    for (size_t i = 0; i < state_->endpoints().size(); ++i) {
      if (state_->present(i) && state_->endpoints()[i].address_string == address) return i;
    }
    return SIZE_MAX;
  }

  std::shared_ptr<const routing::Config> config_;
  std::unique_ptr<ClusterState> state_;
  FastRandom random_{7};
};

TEST_F(ClusterStateDnsTest, NoAnswerYetMeansNoEndpoint) {
  Make(routing::Resolution::kDns);
  EXPECT_FALSE(state_->PickEndpoint(random_, std::nullopt).has_value());
  state_->ApplyDns(std::make_shared<const routing::DnsAnswers>());
  EXPECT_FALSE(state_->PickEndpoint(random_, std::nullopt).has_value());
}

TEST_F(ClusterStateDnsTest, EveryAddressIsAnEndpointAndStayingOnesKeepTheirIndexAndPools) {
  Make(routing::Resolution::kDns);
  state_->ApplyDns(Answers({"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(Picked(), (std::set<std::string>{"10.0.0.1:8080", "10.0.0.2:8080"}));
  const size_t kept = IndexOf("10.0.0.2:8080");
  EndpointPool* warm = &state_->Pool(kept, "");

  state_->ApplyDns(Answers({"10.0.0.3", "10.0.0.2"}));
  EXPECT_EQ(Picked(), (std::set<std::string>{"10.0.0.2:8080", "10.0.0.3:8080"}));
  EXPECT_EQ(IndexOf("10.0.0.2:8080"), kept);
  EXPECT_EQ(&state_->Pool(kept, ""), warm) << "the pool of a staying address survives";
  EXPECT_EQ(IndexOf("10.0.0.1:8080"), SIZE_MAX);

  // The emptied (idle) slot is reused by the next new address.
  state_->ApplyDns(Answers({"10.0.0.2", "10.0.0.3", "10.0.0.4"}));
  EXPECT_EQ(state_->endpoints().size(), 3u);
  EXPECT_EQ(Picked(30), (std::set<std::string>{"10.0.0.2:8080", "10.0.0.3:8080", "10.0.0.4:8080"}));
}

TEST_F(ClusterStateDnsTest, AGoneAddressInUseKeepsItsSlotUntilReleased) {
  Make(routing::Resolution::kDns, routing::LbPolicy::kLeastRequest);
  state_->ApplyDns(Answers({"10.0.0.1"}));
  auto busy = state_->PickEndpoint(random_, std::nullopt);
  ASSERT_TRUE(busy.has_value());
  state_->AddActive(*busy);  // a request in flight holds index *busy
  state_->ApplyDns(Answers({"10.0.0.9"}));
  EXPECT_EQ(Picked(), (std::set<std::string>{"10.0.0.9:8080"}));
  EXPECT_FALSE(state_->present(*busy));
  EXPECT_EQ(state_->endpoints()[*busy].address_string, "10.0.0.1:8080");
  state_->RemoveActive(*busy);  // the index still means the old address
  state_->ApplyDns(Answers({}));
  EXPECT_FALSE(state_->PickEndpoint(random_, std::nullopt).has_value());
}

TEST_F(ClusterStateDnsTest, HashPoliciesBalanceOverResolvedAddresses) {
  Make(routing::Resolution::kDns, routing::LbPolicy::kRingHash);
  state_->ApplyDns(Answers({"10.0.0.1", "10.0.0.2"}));
  std::set<std::string> seen;
  for (uint64_t key = 0; key < 64; ++key) {
    auto e = state_->PickEndpoint(random_, std::nullopt, key * 0x9e3779b97f4a7c15ULL);
    ASSERT_TRUE(e.has_value());
    seen.insert(state_->endpoints()[*e].address_string);
  }
  EXPECT_EQ(seen, (std::set<std::string>{"10.0.0.1:8080", "10.0.0.2:8080"}));
}

TEST_F(ClusterStateDnsTest, RoundRobinDnsMovesNewConnectionsToTheFirstAddress) {
  Make(routing::Resolution::kDnsRoundRobin);
  state_->ApplyDns(Answers({"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(Picked(), (std::set<std::string>{"10.0.0.1:8080"}));
  EndpointPool* pool = &state_->Pool(0, "");
  state_->ApplyDns(Answers({"10.0.0.5"}));
  ASSERT_EQ(state_->endpoints().size(), 1u);
  EXPECT_EQ(Picked(), (std::set<std::string>{"10.0.0.5:8080"}));
  EXPECT_EQ(&state_->Pool(0, ""), pool) << "one logical endpoint: its pool stays";
}

TEST(ClusterStatsMerge, WorkersDnsEndpointsMergeByAddressNotIndex) {
  // Two workers saw the answers in different orders.
  ClusterStats a, b;
  a.endpoints = {{"10.0.0.1:80", true, 1, 0, 0, 0, 2}, {"10.0.0.2:80", true, 0, 0, 1, 0, 2}};
  b.endpoints = {{"10.0.0.2:80", true, 3, 0, 0, 0, 2}, {"10.0.0.3:80", true, 0, 1, 0, 0, 2}};
  ClusterStats merged;
  merged.Merge(a);
  merged.Merge(b);
  ASSERT_EQ(merged.endpoints.size(), 3u);
  EXPECT_EQ(merged.endpoints[0].active_requests, 1u);
  EXPECT_EQ(merged.endpoints[1].address, "10.0.0.2:80");
  EXPECT_EQ(merged.endpoints[1].active_requests, 3u);
  EXPECT_EQ(merged.endpoints[1].connections_idle, 1u);
  EXPECT_EQ(merged.endpoints[2].address, "10.0.0.3:80");
  EXPECT_EQ(merged.endpoints[2].weight, 2u);
}

}  // namespace
}  // namespace gh::gateway
