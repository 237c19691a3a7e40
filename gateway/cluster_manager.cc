#include "gateway/cluster_manager.h"

#include <algorithm>

#include "gateway/connection.h"
#include "gateway/dispatcher.h"

namespace gh::gateway {
namespace {

// A limit shared by `workers` workers without shared counters: each worker
// enforces its share (rounded up, at least 1).
uint32_t PerWorker(uint32_t limit, uint32_t workers) {
  if (limit == UINT32_MAX || workers <= 1) return limit;
  return std::max<uint32_t>(1, (limit + workers - 1) / workers);
}

}  // namespace

ClusterState::ClusterState(Dispatcher& dispatcher, std::shared_ptr<const routing::Config> config,
                           const routing::Cluster& cluster, uint32_t workers)
    : config_(std::move(config)),
      cluster_(&cluster),
      balancer_(routing::CreateLoadBalancer(cluster)),
      max_connections_(PerWorker(cluster.pool.max_connections, workers)),
      max_pending_(PerWorker(cluster.pool.http1_max_pending_requests, workers)),
      max_requests_(PerWorker(cluster.pool.http2_max_requests, workers)) {
  // Indexed exactly like cluster.endpoints, as the balancer expects.
  endpoints_.resize(cluster.endpoints.size());
  active_.assign(cluster.endpoints.size(), 0);
  healthy_.assign(cluster.endpoints.size(), 1);
  for (size_t i = 0; i < cluster.endpoints.size(); ++i) {
    const routing::Endpoint& endpoint = cluster.endpoints[i];
    EndpointState& state = endpoints_[i];
    if (!ParseAddress(endpoint.address, endpoint.port, &state.address)) {
      healthy_[i] = 0;  // not an address we can connect to
    }
    state.address_string = FormatAddress(state.address);
    state.pool = std::make_unique<EndpointPool>(dispatcher, *this, state.address);
  }
}

ClusterState::~ClusterState() {
  // Pools close their connections; they must go before the endpoints vector.
  for (EndpointState& endpoint : endpoints_)
    endpoint.pool.reset();
}

void ClusterState::UpdateConfig(std::shared_ptr<const routing::Config> config,
                                const routing::Cluster& cluster) {
  config_ = std::move(config);
  cluster_ = &cluster;
}

uint64_t ClusterState::connect_timeout_ms() const {
  return static_cast<uint64_t>(cluster_->pool.connect_timeout.count());
}

uint64_t ClusterState::idle_timeout_ms() const {
  const auto idle = cluster_->pool.idle_timeout.count() > 0 ? cluster_->pool.idle_timeout
                                                            : config_->proxy.upstream_idle_timeout;
  return static_cast<uint64_t>(idle.count());
}

std::optional<size_t> ClusterState::PickEndpoint(Random& random, std::optional<size_t> avoid,
                                                 std::optional<uint64_t> hash) {
  if (balancer_ == nullptr) return std::nullopt;
  routing::PickContext context;
  context.active_requests = active_;
  context.healthy = healthy_;
  if (avoid) context.avoid = static_cast<uint32_t>(*avoid);
  context.hash = hash;
  const std::optional<uint32_t> picked = balancer_->Pick(context, random);
  if (!picked) return std::nullopt;
  return static_cast<size_t>(*picked);
}

void ClusterState::Retire() {
  retired_ = true;
  for (EndpointState& endpoint : endpoints_)
    endpoint.pool->Retire();
}

bool ClusterState::unused() const {
  if (active_requests != 0) return false;
  return std::all_of(endpoints_.begin(), endpoints_.end(),
                     [](const EndpointState& e) { return e.pool->empty(); });
}

std::string ClusterManager::Key(const routing::Cluster& cluster) {
  return cluster.name + "#" + std::to_string(cluster.fingerprint);
}

ClusterState* ClusterManager::Get(const std::shared_ptr<const routing::Config>& config,
                                  uint32_t index) {
  if (index >= config->clusters.size()) return nullptr;
  const routing::Cluster& cluster = config->clusters[index];
  std::string key = Key(cluster);
  auto it = clusters_.find(key);
  if (it != clusters_.end()) return it->second.get();
  auto state = std::make_unique<ClusterState>(dispatcher_, config, cluster, workers_);
  ClusterState* raw = state.get();
  clusters_.emplace(std::move(key), std::move(state));
  return raw;
}

void ClusterManager::Apply(const std::shared_ptr<const routing::Config>& config) {
  std::unordered_map<std::string, std::unique_ptr<ClusterState>> next;
  for (const routing::Cluster& cluster : config->clusters) {
    std::string key = Key(cluster);
    auto it = clusters_.find(key);
    if (it != clusters_.end()) {
      it->second->UpdateConfig(config, cluster);
      next.emplace(std::move(key), std::move(it->second));
      clusters_.erase(it);
    } else if (next.find(key) == next.end()) {
      next.emplace(std::move(key),
                   std::make_unique<ClusterState>(dispatcher_, config, cluster, workers_));
    }
  }
  for (auto& [key, state] : clusters_) {
    state->Retire();
    retired_.push_back(std::move(state));
  }
  clusters_ = std::move(next);
  CollectGarbage();
}

void ClusterManager::CollectGarbage() {
  std::erase_if(retired_, [](const std::unique_ptr<ClusterState>& s) { return s->unused(); });
}

void ClusterManager::RetireAll() {
  for (auto& [key, state] : clusters_) {
    state->Retire();
    retired_.push_back(std::move(state));
  }
  clusters_.clear();
  CollectGarbage();
}

}  // namespace gh::gateway
