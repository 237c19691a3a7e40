#include "gateway/cluster_manager.h"

#include <algorithm>

#include "gateway/connection.h"
#include "gateway/dispatcher.h"
#include "routing/endpoint_slots.h"

namespace gh::gateway {
namespace {

bool SameEndpoints(const std::vector<routing::Endpoint>& a,
                   const std::vector<routing::Endpoint>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const routing::Endpoint& x, const routing::Endpoint& y) {
                      return x.address == y.address && x.port == y.port && x.weight == y.weight &&
                             x.labels == y.labels && x.service_account == y.service_account;
                    });
}

// A limit shared by `workers` workers without shared counters: each worker
// enforces its share (rounded up, at least 1).
uint32_t PerWorker(uint32_t limit, uint32_t workers) {
  if (limit == UINT32_MAX || workers <= 1) return limit;
  return std::max<uint32_t>(1, (limit + workers - 1) / workers);
}

}  // namespace

ClusterState::ClusterState(Dispatcher& dispatcher, std::shared_ptr<const routing::Config> config,
                           const routing::Cluster& cluster,
                           std::shared_ptr<const tls::ClientContext> tls, uint32_t workers,
                           WorkerStats* stats,
                           const std::shared_ptr<const routing::DnsAnswers>& dns)
    : dispatcher_(dispatcher),
      config_(std::move(config)),
      cluster_(&cluster),
      tls_(std::move(tls)),
      balancer_(routing::CreateLoadBalancer(cluster)),
      max_connections_(PerWorker(cluster.pool.max_connections, workers)),
      max_pending_(PerWorker(cluster.pool.http1_max_pending_requests, workers)),
      max_requests_(PerWorker(cluster.pool.http2_max_requests, workers)),
      stats_(stats) {
  if (routing::ResolvesNames(cluster)) {
    // Endpoints come from DNS answers; until the first one there are none
    // (503 UH), as with Envoy's STRICT_DNS.
    resolved_ = std::make_unique<routing::Cluster>(cluster);
    resolved_->endpoints.clear();
    resolved_->lb_table = nullptr;  // built over the resolved endpoints
    balancer_ = routing::CreateLoadBalancer(*resolved_);
    ApplyDns(dns);
    return;
  }
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
  }
}

EndpointPool& ClusterState::Pool(size_t endpoint, std::string_view sni) {
  auto& pools = endpoints_[endpoint].pools;
  auto it = pools.find(sni);
  if (it == pools.end()) {
    it = pools
             .emplace(std::string(sni),
                      std::make_unique<EndpointPool>(
                          dispatcher_, *this, endpoints_[endpoint].address, std::string(sni)))
             .first;
    if (retired_) it->second->Retire();
  }
  return *it->second;
}

ClusterState::~ClusterState() {
  // Pools close their connections; they must go before the endpoints vector.
  for (EndpointState& endpoint : endpoints_)
    endpoint.pools.clear();
}

void ClusterState::UpdateConfig(std::shared_ptr<const routing::Config> config,
                                const routing::Cluster& cluster,
                                std::shared_ptr<const tls::ClientContext> tls) {
  // The balancer holds a reference to the Cluster it was built from, which
  // lives in the config being replaced: rebuild it on the new one (its
  // hash table, if any, is precompiled and shared).
  config_ = std::move(config);
  cluster_ = &cluster;
  balancer_ = routing::CreateLoadBalancer(balanced());
  // Rotated certificates: new connections use the new context; pooled ones
  // keep the session they have.
  tls_ = std::move(tls);
}

void ClusterState::ApplyDns(const std::shared_ptr<const routing::DnsAnswers>& dns) {
  if (resolved_ == nullptr) return;
  static const routing::DnsAnswers kNone;
  std::vector<routing::Endpoint> next =
      routing::ResolvedEndpoints(*cluster_, dns != nullptr ? *dns : kNone);
  // Answers for other names changed: keep the balancer's state (round-robin
  // position) instead of rebuilding it for the same list.
  if (applied_ && SameEndpoints(*applied_, next)) return;
  applied_ = next;
  if (cluster_->resolution == routing::Resolution::kDnsRoundRobin) {
    ApplyLogicalDnsEndpoint(next);
  } else {
    ApplyDnsEndpoints(next);
  }
  // The balancer keeps per-endpoint state sized at construction (and hash
  // tables over the endpoint list): rebuilt for the new list.
  if (resolved_->lb_policy == routing::LbPolicy::kRingHash ||
      resolved_->lb_policy == routing::LbPolicy::kMaglev)
    resolved_->lb_table = routing::BuildLbTable(*resolved_);
  balancer_ = routing::CreateLoadBalancer(*resolved_);
}

bool ClusterState::SlotIdle(size_t slot) const {
  if (active_[slot] != 0) return false;
  for (const auto& [sni, pool] : endpoints_[slot].pools) {
    if (!pool->empty()) return false;
  }
  return true;
}

void ClusterState::FillSlot(size_t slot, const routing::Endpoint& endpoint) {
  EndpointState& state = endpoints_[slot];
  state.pools.clear();  // idle slot: its pools are empty
  state.address = {};
  healthy_[slot] = ParseAddress(endpoint.address, endpoint.port, &state.address) ? 1 : 0;
  state.address_string = FormatAddress(state.address);
  present_[slot] = 1;
}

void ClusterState::ApplyDnsEndpoints(const std::vector<routing::Endpoint>& next) {
  std::vector<routing::SlotView> slots(endpoints_.size());
  for (size_t i = 0; i < slots.size(); ++i) {
    slots[i].address = resolved_->endpoints[i].address;
    slots[i].port = resolved_->endpoints[i].port;
    slots[i].present = present_[i] != 0;
    slots[i].idle = SlotIdle(i);
  }
  const routing::SlotPlan plan = routing::PlanSlots(slots, next);
  endpoints_.resize(plan.slot_count);
  active_.resize(plan.slot_count, 0);
  healthy_.resize(plan.slot_count, 0);
  present_.resize(plan.slot_count, 0);
  resolved_->endpoints.resize(plan.slot_count);
  for (size_t slot : plan.retired) {
    // Busy connections finish their requests; idle ones close now.
    present_[slot] = 0;
    for (auto& [sni, pool] : endpoints_[slot].pools)
      pool->Retire();
  }
  for (size_t e = 0; e < next.size(); ++e) {
    const size_t slot = plan.slot_of[e];
    if (present_[slot] == 0) FillSlot(slot, next[e]);
    resolved_->endpoints[slot] = next[e];  // weight and labels may change
  }
}

void ClusterState::ApplyLogicalDnsEndpoint(const std::vector<routing::Endpoint>& next) {
  // One logical endpoint whose address changes under its pools: new
  // connections use the new address, open ones are kept.
  if (next.empty()) {
    if (!present_.empty()) present_[0] = 0;
    return;
  }
  if (endpoints_.empty()) {
    endpoints_.resize(1);
    active_.assign(1, 0);
    healthy_.assign(1, 0);
    present_.assign(1, 0);
    resolved_->endpoints.resize(1);
    FillSlot(0, next.front());
  } else {
    EndpointState& state = endpoints_[0];
    sockaddr_storage address{};
    healthy_[0] = ParseAddress(next.front().address, next.front().port, &address) ? 1 : 0;
    state.address = address;
    state.address_string = FormatAddress(address);
    for (auto& [sni, pool] : state.pools)
      pool->SetAddress(address);
    present_[0] = 1;
  }
  resolved_->endpoints[0] = next.front();
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
  context.present = present_;
  if (avoid) context.avoid = static_cast<uint32_t>(*avoid);
  context.hash = hash;
  const std::optional<uint32_t> picked = balancer_->Pick(context, random);
  if (!picked) return std::nullopt;
  return static_cast<size_t>(*picked);
}

void ClusterState::Retire() {
  retired_ = true;
  for (EndpointState& endpoint : endpoints_) {
    for (auto& [sni, pool] : endpoint.pools)
      pool->Retire();
  }
}

bool ClusterState::unused() const {
  if (active_requests != 0) return false;
  for (const EndpointState& endpoint : endpoints_) {
    for (const auto& [sni, pool] : endpoint.pools) {
      if (!pool->empty()) return false;
    }
  }
  return true;
}

std::string ClusterManager::Key(const routing::Cluster& cluster,
                                const std::shared_ptr<const tls::ClientContext>& tls) {
  // The TLS profile is part of the identity: a changed trust or client
  // certificate must not reuse connections made under the old one.
  return cluster.name + "#" + std::to_string(cluster.fingerprint) + "#" +
         (tls != nullptr ? tls->profile_key() : std::string("plaintext"));
}

ClusterState* ClusterManager::Get(const Snapshot& snapshot, uint32_t index) {
  if (&snapshot == indexed_snapshot_ && index < by_index_.size()) return by_index_[index];
  const routing::Config& config = *snapshot.config;
  if (index >= config.clusters.size()) return nullptr;
  const routing::Cluster& cluster = config.clusters[index];
  auto tls = snapshot.ClusterTls(index);
  std::string key = Key(cluster, tls);
  auto it = clusters_.find(key);
  if (it != clusters_.end()) return it->second.get();
  auto state = std::make_unique<ClusterState>(dispatcher_, snapshot.config, cluster, tls, workers_,
                                              stats_, dns_);
  ClusterState* raw = state.get();
  clusters_.emplace(std::move(key), std::move(state));
  return raw;
}

void ClusterManager::Apply(const Snapshot& snapshot) {
  std::unordered_map<std::string, std::unique_ptr<ClusterState>> next;
  by_index_.assign(snapshot.config->clusters.size(), nullptr);
  for (uint32_t i = 0; i < snapshot.config->clusters.size(); ++i) {
    const routing::Cluster& cluster = snapshot.config->clusters[i];
    auto tls = snapshot.ClusterTls(i);
    std::string key = Key(cluster, tls);
    auto it = clusters_.find(key);
    if (it != clusters_.end()) {
      it->second->UpdateConfig(snapshot.config, cluster, tls);
      by_index_[i] = it->second.get();
      next.emplace(std::move(key), std::move(it->second));
      clusters_.erase(it);
    } else if (auto same = next.find(key); same != next.end()) {
      by_index_[i] = same->second.get();
    } else {
      auto state = std::make_unique<ClusterState>(dispatcher_, snapshot.config, cluster, tls,
                                                  workers_, stats_, dns_);
      by_index_[i] = state.get();
      next.emplace(std::move(key), std::move(state));
    }
  }
  indexed_snapshot_ = &snapshot;
  for (auto& [key, state] : clusters_) {
    state->Retire();
    retired_.push_back(std::move(state));
  }
  clusters_ = std::move(next);
  CollectGarbage();
}

void ClusterManager::ApplyDns(std::shared_ptr<const routing::DnsAnswers> dns) {
  dns_ = std::move(dns);
  for (auto& [key, state] : clusters_)
    state->ApplyDns(dns_);
}

void ClusterManager::CollectGarbage() {
  std::erase_if(retired_, [](const std::unique_ptr<ClusterState>& s) { return s->unused(); });
}

namespace {

ClusterStats Describe(ClusterState& state) {
  ClusterStats out;
  out.host = state.cluster().host;
  out.service_namespace = state.cluster().service_namespace;
  out.retired = state.retired();
  out.active_requests = state.active_requests;
  out.connections = state.connections;
  out.pending_requests = state.pending;
  std::vector<EndpointState>& endpoints = state.endpoints();
  out.endpoints.reserve(endpoints.size());
  for (size_t i = 0; i < endpoints.size(); ++i) {
    EndpointStats e;
    e.address = endpoints[i].address_string;
    e.healthy = state.healthy(i);
    e.weight = std::max<uint32_t>(state.endpoint_spec(i).weight, 1);
    e.active_requests = state.active(i);
    for (const auto& [sni, pool] : endpoints[i].pools) {
      e.connections_active += pool->active_count();
      e.connections_idle += pool->idle_count();
      e.pending_requests += pool->pending_count();
    }
    // A slot DNS emptied, with nothing left on it, is no endpoint any more.
    if (!state.present(i) && e.active_requests == 0 && e.connections_active == 0 &&
        e.connections_idle == 0 && e.pending_requests == 0)
      continue;
    out.endpoints.push_back(std::move(e));
  }
  return out;
}

}  // namespace

void ClusterManager::Report(std::map<std::string, ClusterStats>& out) const {
  for (const auto& [key, state] : clusters_)
    out[state->cluster().name].Merge(Describe(*state));
  for (const auto& state : retired_)
    out[state->cluster().name + "#retired"].Merge(Describe(*state));
}

void ClusterManager::RetireAll() {
  indexed_snapshot_ = nullptr;
  by_index_.clear();
  for (auto& [key, state] : clusters_) {
    state->Retire();
    retired_.push_back(std::move(state));
  }
  clusters_.clear();
  CollectGarbage();
}

}  // namespace gh::gateway
