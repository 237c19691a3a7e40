#include "routing/load_balancer.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "base/strings.h"
#include "routing/matchers.h"

namespace gh::routing {

uint64_t HashBytes(std::string_view data) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

namespace {

std::string EndpointKey(const Endpoint& e) {
  return e.address + ":" + std::to_string(e.port);
}

}  // namespace

std::shared_ptr<const LbTable> LbTable::BuildRing(const std::vector<Endpoint>& endpoints,
                                                  uint64_t minimum_ring_size) {
  auto t = std::make_shared<LbTable>();
  t->kind_ = Kind::kRing;
  if (endpoints.empty()) return t;
  uint64_t total = 0;
  for (const Endpoint& e : endpoints)
    total += std::max<uint32_t>(e.weight, 1);
  const uint64_t ring = std::clamp<uint64_t>(minimum_ring_size, endpoints.size(), 8'388'608);
  t->ring_.reserve(ring + endpoints.size());
  for (uint32_t i = 0; i < endpoints.size(); ++i) {
    const uint64_t w = std::max<uint32_t>(endpoints[i].weight, 1);
    const uint64_t replicas = std::max<uint64_t>(1, (ring * w + total - 1) / total);
    const std::string key = EndpointKey(endpoints[i]);
    for (uint64_t r = 0; r < replicas; ++r)
      t->ring_.push_back({HashBytes(key + "_" + std::to_string(r)), i});
  }
  std::sort(t->ring_.begin(), t->ring_.end(), [](const RingEntry& a, const RingEntry& b) {
    return a.hash < b.hash || (a.hash == b.hash && a.endpoint < b.endpoint);
  });
  return t;
}

std::shared_ptr<const LbTable> LbTable::BuildMaglev(const std::vector<Endpoint>& endpoints,
                                                    uint64_t table_size) {
  auto t = std::make_shared<LbTable>();
  t->kind_ = Kind::kMaglev;
  const size_t n = endpoints.size();
  if (n == 0 || table_size < 2) return t;
  const uint64_t m = table_size;
  std::vector<uint64_t> offset(n), skip(n), next(n, 0);
  std::vector<double> weight(n), credit(n, 0);
  double max_weight = 0;
  for (size_t i = 0; i < n; ++i) {
    const std::string key = EndpointKey(endpoints[i]);
    offset[i] = HashBytes(key) % m;
    skip[i] = HashBytes(key + "#skip") % (m - 1) + 1;
    weight[i] = std::max<uint32_t>(endpoints[i].weight, 1);
    max_weight = std::max(max_weight, weight[i]);
  }
  constexpr uint32_t kEmpty = UINT32_MAX;
  t->table_.assign(m, kEmpty);
  uint64_t filled = 0;
  while (filled < m) {
    for (size_t i = 0; i < n && filled < m; ++i) {
      // Weighted maglev: each round an endpoint earns weight/max_weight
      // turns, so heavier endpoints claim proportionally more slots.
      credit[i] += weight[i] / max_weight;
      while (credit[i] >= 1.0 && filled < m) {
        credit[i] -= 1.0;
        uint64_t slot = (offset[i] + next[i] * skip[i]) % m;
        while (t->table_[slot] != kEmpty) {
          ++next[i];
          slot = (offset[i] + next[i] * skip[i]) % m;
        }
        t->table_[slot] = static_cast<uint32_t>(i);
        ++next[i];
        ++filled;
      }
    }
  }
  return t;
}

size_t LbTable::StartIndex(uint64_t hash) const {
  if (kind_ == Kind::kMaglev) return static_cast<size_t>(hash % table_.size());
  auto it = std::lower_bound(ring_.begin(), ring_.end(), hash,
                             [](const RingEntry& e, uint64_t h) { return e.hash < h; });
  return it == ring_.end() ? 0 : static_cast<size_t>(it - ring_.begin());
}

std::vector<double> LbTable::Shares(size_t endpoints) const {
  std::vector<double> out(endpoints, 0);
  const size_t n = size();
  if (n == 0) return out;
  if (kind_ == Kind::kMaglev) {
    for (uint32_t e : table_)
      out[e] += 1.0 / static_cast<double>(n);
    return out;
  }
  // Ring: each point owns the arc from its predecessor.
  const double full = 18446744073709551616.0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t prev = ring_[(i + n - 1) % n].hash;
    const uint64_t arc = ring_[i].hash - prev;  // wraps correctly for i == 0
    out[ring_[i].endpoint] += static_cast<double>(arc) / full;
  }
  return out;
}

std::shared_ptr<const LbTable> BuildLbTable(const Cluster& cluster) {
  const uint64_t ring = cluster.consistent_hash ? cluster.consistent_hash->minimum_ring_size : 1024;
  const uint64_t maglev =
      cluster.consistent_hash ? cluster.consistent_hash->maglev_table_size : 65537;
  switch (cluster.lb_policy) {
    case LbPolicy::kRingHash:
      return LbTable::BuildRing(cluster.endpoints, ring);
    case LbPolicy::kMaglev:
      return LbTable::BuildMaglev(cluster.endpoints, maglev);
    default:
      return nullptr;
  }
}

namespace {

// Health view shared by every policy: which endpoints may be picked now.
class Eligibility {
 public:
  Eligibility(const PickContext& c, size_t n, uint32_t min_health_percent) : c_(c), n_(n) {
    size_t healthy = 0, present = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!Present(i)) continue;
      ++present;
      healthy += Healthy(i) ? 1 : 0;
    }
    // Below min_health_percent healthy, health is ignored (Envoy panic mode;
    // Istio's default threshold is 0: never).
    panic_ = healthy * 100 < static_cast<size_t>(min_health_percent) * present;
    size_t usable_without_avoid = 0;
    for (size_t i = 0; i < n; ++i) {
      if (Usable(i) && !(c.avoid && *c.avoid == i)) ++usable_without_avoid;
    }
    // Avoiding the previous host is a preference: if it is the only one left,
    // it may be picked again.
    honour_avoid_ = usable_without_avoid > 0;
    any_ = usable_without_avoid > 0 || (c.avoid && *c.avoid < n && Usable(*c.avoid));
  }
  bool any() const { return any_; }
  bool operator()(uint32_t i) const {
    if (i >= n_) return false;
    if (!Usable(i)) return false;
    if (honour_avoid_ && c_.avoid && *c_.avoid == i) return false;
    return true;
  }

 private:
  bool Usable(size_t i) const { return Present(i) && (panic_ || Healthy(i)); }
  bool Present(size_t i) const {
    return c_.present.empty() || (i < c_.present.size() && c_.present[i] != 0);
  }
  bool Healthy(size_t i) const {
    return c_.healthy.empty() || (i < c_.healthy.size() && c_.healthy[i] != 0);
  }
  const PickContext& c_;
  size_t n_;
  bool panic_ = false, honour_avoid_ = false, any_ = false;
};

// Weighted random choice among eligible endpoints.
class WeightedSampler {
 public:
  explicit WeightedSampler(const std::vector<Endpoint>& endpoints) {
    uint64_t sum = 0;
    for (const Endpoint& e : endpoints) {
      sum += std::max<uint32_t>(e.weight, 1);
      cumulative_.push_back(sum);
    }
  }
  std::optional<uint32_t> Sample(const Eligibility& ok, Random& random) const {
    if (cumulative_.empty() || !ok.any()) return std::nullopt;
    // A few rejection-sampling tries keep the common case O(log n) ...
    for (int attempt = 0; attempt < 8; ++attempt) {
      const uint64_t r = random.Uniform(cumulative_.back());
      const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), r);
      const auto i = static_cast<uint32_t>(it - cumulative_.begin());
      if (ok(i)) return i;
    }
    // ... and an exact weighted pass over the eligible ones finishes it.
    uint64_t total = 0;
    for (uint32_t i = 0; i < cumulative_.size(); ++i) {
      if (ok(i)) total += Weight(i);
    }
    if (total == 0) return std::nullopt;
    uint64_t r = random.Uniform(total);
    for (uint32_t i = 0; i < cumulative_.size(); ++i) {
      if (!ok(i)) continue;
      if (r < Weight(i)) return i;
      r -= Weight(i);
    }
    return std::nullopt;
  }
  uint64_t Weight(uint32_t i) const { return cumulative_[i] - (i == 0 ? 0 : cumulative_[i - 1]); }

 private:
  std::vector<uint64_t> cumulative_;
};

class RandomLb final : public LoadBalancer {
 public:
  explicit RandomLb(const Cluster& c) : c_(c), sampler_(c.endpoints) {}
  std::optional<uint32_t> Pick(const PickContext& context, Random& random) override {
    Eligibility ok(context, c_.endpoints.size(), c_.outlier.min_health_percent);
    return sampler_.Sample(ok, random);
  }

 private:
  const Cluster& c_;
  WeightedSampler sampler_;
};

// Smooth weighted round robin (nginx): deterministic, spreads heavy
// endpoints evenly instead of in bursts.
class RoundRobinLb final : public LoadBalancer {
 public:
  explicit RoundRobinLb(const Cluster& c) : c_(c), current_(c.endpoints.size(), 0) {}
  std::optional<uint32_t> Pick(const PickContext& context, Random&) override {
    Eligibility ok(context, c_.endpoints.size(), c_.outlier.min_health_percent);
    int64_t total = 0;
    std::optional<uint32_t> best;
    for (uint32_t i = 0; i < current_.size(); ++i) {
      if (!ok(i)) continue;
      const int64_t w = std::max<uint32_t>(c_.endpoints[i].weight, 1);
      current_[i] += w;
      total += w;
      if (!best || current_[i] > current_[*best]) best = i;
    }
    if (best) current_[*best] -= total;
    return best;
  }

 private:
  const Cluster& c_;
  std::vector<int64_t> current_;
};

// Power of two choices: two weighted-random candidates, the one with fewer
// active requests per unit of weight wins.
class LeastRequestLb final : public LoadBalancer {
 public:
  explicit LeastRequestLb(const Cluster& c) : c_(c), sampler_(c.endpoints) {}
  std::optional<uint32_t> Pick(const PickContext& context, Random& random) override {
    Eligibility ok(context, c_.endpoints.size(), c_.outlier.min_health_percent);
    // Small clusters: an exact least-loaded scan costs less than a bad
    // choice (two random draws among 2-3 endpoints often draw the same one).
    if (c_.endpoints.size() <= kExactScanLimit) return ExactLeast(ok, context, random);
    const auto a = sampler_.Sample(ok, random);
    if (!a) return std::nullopt;
    const auto b = sampler_.Sample(ok, random);
    if (!b || *b == *a) return a;
    return Load(*b, context) < Load(*a, context) ? b : a;
  }

 private:
  static constexpr size_t kExactScanLimit = 8;

  std::optional<uint32_t> ExactLeast(const Eligibility& ok, const PickContext& context,
                                     Random& random) const {
    std::optional<uint32_t> best;
    double best_load = 0;
    uint64_t ties = 0;
    for (uint32_t i = 0; i < c_.endpoints.size(); ++i) {
      if (!ok(i)) continue;
      const double load = Load(i, context);
      if (!best || load < best_load) {
        best = i;
        best_load = load;
        ties = 1;
      } else if (load == best_load && random.Uniform(++ties) == 0) {
        best = i;  // reservoir sampling: uniform among the least loaded
      }
    }
    return best;
  }

  double Load(uint32_t i, const PickContext& context) const {
    const double active = i < context.active_requests.size() ? context.active_requests[i] : 0;
    return (active + 1) / std::max<uint32_t>(c_.endpoints[i].weight, 1);
  }
  const Cluster& c_;
  WeightedSampler sampler_;
};

class HashLb final : public LoadBalancer {
 public:
  explicit HashLb(const Cluster& c)
      : c_(c), table_(c.lb_table ? c.lb_table : BuildLbTable(c)), fallback_(c.endpoints) {}
  std::optional<uint32_t> Pick(const PickContext& context, Random& random) override {
    Eligibility ok(context, c_.endpoints.size(), c_.outlier.min_health_percent);
    if (!ok.any()) return std::nullopt;
    if (!context.hash || !table_) return fallback_.Sample(ok, random);
    return table_->Lookup(*context.hash, ok);
  }

 private:
  const Cluster& c_;
  std::shared_ptr<const LbTable> table_;
  WeightedSampler fallback_;
};

}  // namespace

std::unique_ptr<LoadBalancer> CreateLoadBalancer(const Cluster& cluster) {
  switch (cluster.lb_policy) {
    case LbPolicy::kRoundRobin:
      return std::make_unique<RoundRobinLb>(cluster);
    case LbPolicy::kRandom:
      return std::make_unique<RandomLb>(cluster);
    case LbPolicy::kRingHash:
    case LbPolicy::kMaglev:
      return std::make_unique<HashLb>(cluster);
    case LbPolicy::kLeastRequest:
      break;
  }
  return std::make_unique<LeastRequestLb>(cluster);
}

std::optional<uint64_t> HashKey(const ConsistentHash& hash, const RequestView& request) {
  switch (hash.source) {
    case ConsistentHash::Source::kSourceIp:
      if (request.source_ip.empty()) return std::nullopt;
      return HashBytes(request.source_ip);
    case ConsistentHash::Source::kQueryParameter: {
      const auto v = QueryParam(request.path, hash.name);
      if (!v) return std::nullopt;
      return HashBytes(*v);
    }
    case ConsistentHash::Source::kHeader: {
      if (hash.name == ":authority" || hash.name == "host") return HashBytes(request.authority);
      if (hash.name == ":path") return HashBytes(request.path);
      if (request.headers == nullptr) return std::nullopt;
      const std::string* v = request.headers->Get(hash.name);
      if (v == nullptr) return std::nullopt;
      return HashBytes(*v);
    }
    case ConsistentHash::Source::kCookie: {
      if (request.headers == nullptr) return std::nullopt;
      for (const http::Header& h : *request.headers) {
        if (h.name != "cookie") continue;
        for (std::string_view pair : SplitList(h.value, ';')) {
          const size_t eq = pair.find('=');
          if (eq == std::string_view::npos) continue;
          if (TrimOws(pair.substr(0, eq)) == hash.name)
            return HashBytes(TrimOws(pair.substr(eq + 1)));
        }
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace gh::routing
