#include "routing/load_balancer.h"

#include <gtest/gtest.h>

#include <map>

namespace gh::routing {
namespace {

Cluster MakeCluster(LbPolicy policy, std::vector<uint32_t> weights) {
  Cluster c;
  c.name = "outbound|80||svc";
  c.lb_policy = policy;
  for (size_t i = 0; i < weights.size(); ++i) {
    Endpoint e;
    e.address = "10.0.0." + std::to_string(i + 1);
    e.port = 80;
    e.weight = weights[i];
    c.endpoints.push_back(e);
  }
  if (policy == LbPolicy::kRingHash || policy == LbPolicy::kMaglev) {
    c.consistent_hash = ConsistentHash{};
    c.lb_table = BuildLbTable(c);
  }
  return c;
}

std::vector<int> Count(LoadBalancer& lb, const PickContext& ctx, size_t n, int picks, Random& rng) {
  std::vector<int> counts(n, 0);
  for (int i = 0; i < picks; ++i) {
    auto p = lb.Pick(ctx, rng);
    EXPECT_TRUE(p.has_value());
    if (p) ++counts[*p];
  }
  return counts;
}

TEST(RoundRobin, SmoothWeightedIsExactAndInterleaved) {
  Cluster c = MakeCluster(LbPolicy::kRoundRobin, {5, 1, 1});
  auto lb = CreateLoadBalancer(c);
  FastRandom rng(1);
  std::vector<uint32_t> seq;
  for (int i = 0; i < 7; ++i)
    seq.push_back(*lb->Pick({}, rng));
  // nginx smooth weighted round robin for 5,1,1.
  EXPECT_EQ(seq, (std::vector<uint32_t>{0, 0, 1, 0, 2, 0, 0}));
}

TEST(RoundRobin, SkipsUnhealthyAndAvoided) {
  Cluster c = MakeCluster(LbPolicy::kRoundRobin, {1, 1, 1});
  auto lb = CreateLoadBalancer(c);
  FastRandom rng(1);
  const uint8_t healthy[] = {1, 0, 1};
  PickContext ctx;
  ctx.healthy = healthy;
  auto counts = Count(*lb, ctx, 3, 100, rng);
  EXPECT_EQ(counts[1], 0);
  EXPECT_EQ(counts[0], 50);
  ctx.avoid = 0;
  counts = Count(*lb, ctx, 3, 10, rng);
  EXPECT_EQ(counts[2], 10);
}

TEST(LoadBalancer, NoHealthyEndpointMeansNone) {
  for (LbPolicy p : {LbPolicy::kRoundRobin, LbPolicy::kLeastRequest, LbPolicy::kRandom,
                     LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    Cluster c = MakeCluster(p, {1, 1});
    auto lb = CreateLoadBalancer(c);
    FastRandom rng(3);
    const uint8_t healthy[] = {0, 0};
    PickContext ctx;
    ctx.healthy = healthy;
    ctx.hash = 42;
    EXPECT_FALSE(lb->Pick(ctx, rng).has_value()) << static_cast<int>(p);
    Cluster empty = MakeCluster(p, {});
    EXPECT_FALSE(CreateLoadBalancer(empty)->Pick({}, rng).has_value());
  }
}

TEST(LoadBalancer, AvoidIsOnlyAPreference) {
  Cluster c = MakeCluster(LbPolicy::kRandom, {1, 1});
  auto lb = CreateLoadBalancer(c);
  FastRandom rng(3);
  const uint8_t healthy[] = {1, 0};
  PickContext ctx;
  ctx.healthy = healthy;
  ctx.avoid = 0;  // the only healthy host: picked again
  EXPECT_EQ(lb->Pick(ctx, rng), 0u);
}

TEST(LoadBalancer, PanicThresholdIgnoresHealth) {
  Cluster c = MakeCluster(LbPolicy::kRoundRobin, {1, 1, 1, 1});
  c.outlier.min_health_percent = 50;
  auto lb = CreateLoadBalancer(c);
  FastRandom rng(1);
  const uint8_t healthy[] = {1, 0, 0, 0};  // 25% healthy < 50%: use all
  PickContext ctx;
  ctx.healthy = healthy;
  auto counts = Count(*lb, ctx, 4, 40, rng);
  for (int n : counts)
    EXPECT_EQ(n, 10);
}

TEST(LoadBalancer, AbsentEndpointsAreNeverPickedNotEvenInPanic) {
  // Slots DNS no longer returns stay in place while requests finish.
  for (LbPolicy policy : {LbPolicy::kRoundRobin, LbPolicy::kRandom, LbPolicy::kLeastRequest,
                          LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    Cluster c = MakeCluster(policy, {1, 1, 1, 1});
    c.outlier.min_health_percent = 50;
    auto lb = CreateLoadBalancer(c);
    FastRandom rng(3);
    const uint8_t present[] = {0, 1, 0, 1};
    const uint8_t healthy[] = {1, 1, 1, 0};  // 1 of 2 present healthy: no panic
    PickContext ctx;
    ctx.present = present;
    ctx.healthy = healthy;
    for (uint64_t i = 0; i < 50; ++i) {
      ctx.hash = i * 7919;
      EXPECT_EQ(lb->Pick(ctx, rng), 1u) << static_cast<int>(policy);
    }
    const uint8_t none_healthy[] = {1, 0, 1, 0};  // panic: health ignored, presence not
    ctx.healthy = none_healthy;
    for (uint64_t i = 0; i < 50; ++i) {
      ctx.hash = i * 7919;
      const auto picked = lb->Pick(ctx, rng);
      ASSERT_TRUE(picked.has_value());
      EXPECT_TRUE(*picked == 1 || *picked == 3) << *picked;
    }
    const uint8_t gone[] = {0, 0, 0, 0};
    ctx.present = gone;
    EXPECT_FALSE(lb->Pick(ctx, rng).has_value());
  }
}

TEST(Random, WeightedDistribution) {
  Cluster c = MakeCluster(LbPolicy::kRandom, {1, 3});
  auto lb = CreateLoadBalancer(c);
  FastRandom rng(11);
  auto counts = Count(*lb, {}, 2, 40000, rng);
  EXPECT_NEAR(counts[1] / 40000.0, 0.75, 0.02);
}

TEST(LeastRequest, LargeClustersUsePowerOfTwoChoices) {
  Cluster c = MakeCluster(LbPolicy::kLeastRequest, std::vector<uint32_t>(16, 1));
  auto lb = CreateLoadBalancer(c);
  FastRandom rng(9);
  std::vector<uint32_t> active(16, 0);
  active[0] = 50;  // the busy one loses every comparison it is part of
  PickContext ctx;
  ctx.active_requests = active;
  auto counts = Count(*lb, ctx, 16, 16000, rng);
  // Endpoint 0 wins only when both draws hit it: about 1/256.
  EXPECT_LT(counts[0], 16000 / 100);
  EXPECT_GT(counts[1], 16000 / 32);
}

TEST(LeastRequest, PrefersLessLoadedEndpoint) {
  Cluster c = MakeCluster(LbPolicy::kLeastRequest, {1, 1});
  auto lb = CreateLoadBalancer(c);
  FastRandom rng(5);
  const uint32_t active[] = {100, 0};
  PickContext ctx;
  ctx.active_requests = active;
  auto counts = Count(*lb, ctx, 2, 1000, rng);
  // Small clusters get an exact scan: the idle endpoint always wins.
  EXPECT_EQ(counts[1], 1000);
  const uint32_t equal[] = {0, 0};
  ctx.active_requests = equal;
  counts = Count(*lb, ctx, 2, 10000, rng);
  EXPECT_NEAR(counts[0] / 10000.0, 0.5, 0.03);
}

TEST(ConsistentHash, SameKeySameEndpointAndMinimalDisruption) {
  for (LbPolicy p : {LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    Cluster c = MakeCluster(p, {1, 1, 1, 1});
    auto lb = CreateLoadBalancer(c);
    FastRandom rng(1);
    std::map<uint64_t, uint32_t> first;
    int moved = 0;
    const uint8_t one_down[] = {1, 1, 0, 1};
    for (uint64_t k = 0; k < 1000; ++k) {
      PickContext ctx;
      ctx.hash = HashBytes("user-" + std::to_string(k));
      const uint32_t a = *lb->Pick(ctx, rng);
      EXPECT_EQ(*lb->Pick(ctx, rng), a);
      ctx.healthy = one_down;
      const uint32_t b = *lb->Pick(ctx, rng);
      EXPECT_NE(b, 2u);
      if (a != 2 && a != b) ++moved;
    }
    // Only keys of the unhealthy endpoint move.
    EXPECT_EQ(moved, 0) << static_cast<int>(p);
  }
}

TEST(ConsistentHash, TableSharesFollowWeights) {
  Cluster ring = MakeCluster(LbPolicy::kRingHash, {1, 3});
  ring.consistent_hash->minimum_ring_size = 4096;
  auto shares = LbTable::BuildRing(ring.endpoints, 4096)->Shares(2);
  EXPECT_NEAR(shares[1], 0.75, 0.06);
  auto maglev = LbTable::BuildMaglev(ring.endpoints, 65537);
  EXPECT_EQ(maglev->size(), 65537u);
  shares = maglev->Shares(2);
  EXPECT_NEAR(shares[1], 0.75, 0.01);
  EXPECT_EQ(BuildLbTable(MakeCluster(LbPolicy::kRandom, {1})), nullptr);
}

TEST(ConsistentHash, MissingKeyFallsBackToRandom) {
  Cluster c = MakeCluster(LbPolicy::kRingHash, {1, 1});
  auto lb = CreateLoadBalancer(c);
  FastRandom rng(9);
  auto counts = Count(*lb, {}, 2, 2000, rng);
  EXPECT_GT(counts[0], 800);
  EXPECT_GT(counts[1], 800);
}

TEST(HashKey, Sources) {
  http::HeaderMap h;
  h.Add("x-user", "alice");
  h.Add("cookie", "a=1; session=abc; b=2");
  RequestView v;
  v.path = "/p?uid=7";
  v.headers = &h;
  v.source_ip = "10.1.1.1";
  v.authority = "a.com";
  ConsistentHash ch;
  ch.source = ConsistentHash::Source::kHeader;
  ch.name = "x-user";
  EXPECT_EQ(HashKey(ch, v), HashBytes("alice"));
  ch.name = "x-missing";
  EXPECT_EQ(HashKey(ch, v), std::nullopt);
  ch.source = ConsistentHash::Source::kCookie;
  ch.name = "session";
  EXPECT_EQ(HashKey(ch, v), HashBytes("abc"));
  ch.source = ConsistentHash::Source::kQueryParameter;
  ch.name = "uid";
  EXPECT_EQ(HashKey(ch, v), HashBytes("7"));
  ch.source = ConsistentHash::Source::kSourceIp;
  EXPECT_EQ(HashKey(ch, v), HashBytes("10.1.1.1"));
}

}  // namespace
}  // namespace gh::routing
