// Per-worker state of every upstream cluster: endpoint pools, active request
// counts (for least-request balancing and circuit breakers), health. Keyed
// by cluster name + config fingerprint, so a reload that leaves a cluster
// unchanged keeps its warm connections; removed clusters are retired (idle
// connections closed, busy ones finish) and freed once unused.
#pragma once

#include <sys/socket.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/random.h"
#include "gateway/snapshot.h"
#include "gateway/stats.h"
#include "gateway/upstream_pool.h"
#include "routing/dns_endpoints.h"
#include "routing/load_balancer.h"
#include "routing/model.h"

namespace gh::gateway {

class Dispatcher;

struct EndpointState {
  sockaddr_storage address{};
  std::string address_string;  // ip:port, for logs
  // Pools by TLS SNI ("" for plaintext and fixed-SNI clusters): connections
  // are only reused for the server name they were opened for.
  std::map<std::string, std::unique_ptr<EndpointPool>, std::less<>> pools;
};

class ClusterState {
 public:
  // `dns`: the latest answers, for DNS / DNS_ROUND_ROBIN clusters (may be null).
  ClusterState(Dispatcher& dispatcher, std::shared_ptr<const routing::Config> config,
               const routing::Cluster& cluster, std::shared_ptr<const tls::ClientContext> tls,
               uint32_t workers, WorkerStats* stats = nullptr,
               const std::shared_ptr<const routing::DnsAnswers>& dns = nullptr);
  ~ClusterState();
  ClusterState(const ClusterState&) = delete;
  ClusterState& operator=(const ClusterState&) = delete;

  const routing::Cluster& cluster() const { return *cluster_; }
  const routing::ProxySettings& proxy() const { return config_->proxy; }
  std::vector<EndpointState>& endpoints() { return endpoints_; }
  // The pool for `endpoint` and TLS server name `sni` (created on first use).
  EndpointPool& Pool(size_t endpoint, std::string_view sni);
  // Upstream TLS origination; null for plaintext.
  const std::shared_ptr<const tls::ClientContext>& tls() const { return tls_; }

  // Picks an endpoint for a new request (the cluster's balancing policy),
  // avoiding `avoid` when another is available (retries prefer a different
  // host). `hash`: the consistent-hash key, if the policy uses one.
  // nullopt: no healthy endpoint.
  std::optional<size_t> PickEndpoint(Random& random, std::optional<size_t> avoid,
                                     std::optional<uint64_t> hash = std::nullopt);
  // Active requests per endpoint (least-request balancing).
  void AddActive(size_t endpoint) { ++active_[endpoint]; }
  void RemoveActive(size_t endpoint) { --active_[endpoint]; }
  uint32_t active(size_t endpoint) const { return active_[endpoint]; }
  bool healthy(size_t endpoint) const { return healthy_[endpoint] != 0; }
  // False for an endpoint DNS no longer returns (its slot lives on while
  // requests and connections on it finish).
  bool present(size_t endpoint) const { return present_.empty() || present_[endpoint] != 0; }
  // The endpoint (config or resolved) behind index `endpoint`.
  const routing::Endpoint& endpoint_spec(size_t endpoint) const {
    return balanced().endpoints[endpoint];
  }
  // New DNS answers: DNS clusters re-expand their endpoints (addresses that
  // stay keep their slot and pools, gone ones are retired, new ones added);
  // DNS_ROUND_ROBIN points new connections at the first address. Other
  // clusters ignore it.
  void ApplyDns(const std::shared_ptr<const routing::DnsAnswers>& dns);

  // Circuit-breaker limits for this worker's share.
  uint32_t max_connections() const { return max_connections_; }
  uint32_t max_pending() const { return max_pending_; }
  uint32_t max_requests() const { return max_requests_; }
  uint32_t buffer_limit() const { return config_->proxy.connection_buffer_bytes; }
  uint64_t connect_timeout_ms() const;
  uint64_t idle_timeout_ms() const;
  // The worker's stats shard for upstream connection counters (may be null).
  WorkerStats* stats() const { return stats_; }

  uint32_t connections = 0;  // open or connecting, all endpoints
  uint32_t pending = 0;      // waiting for a connection, all endpoints
  uint32_t active_requests = 0;

  void Retire();
  bool retired() const { return retired_; }
  bool unused() const;
  void UpdateConfig(std::shared_ptr<const routing::Config> config, const routing::Cluster& cluster,
                    std::shared_ptr<const tls::ClientContext> tls);

 private:
  Dispatcher& dispatcher_;
  std::shared_ptr<const routing::Config> config_;  // keeps cluster_ alive
  const routing::Cluster* cluster_;
  std::shared_ptr<const tls::ClientContext> tls_;
  std::vector<EndpointState> endpoints_;
  std::vector<uint32_t> active_;  // indexed like endpoints_
  std::vector<uint8_t> healthy_;
  std::unique_ptr<routing::LoadBalancer> balancer_;
  // DNS / DNS_ROUND_ROBIN: the cluster with its resolved endpoints, indexed
  // like endpoints_ (the balancer picks over it); empty slots keep their last
  // endpoint. Null for STATIC clusters, which balance over the config's.
  std::unique_ptr<routing::Cluster> resolved_;
  std::vector<uint8_t> present_;  // DNS clusters only, indexed like endpoints_
  std::optional<std::vector<routing::Endpoint>> applied_;  // the last resolved list
  uint32_t max_connections_;
  uint32_t max_pending_;
  uint32_t max_requests_;
  WorkerStats* stats_;
  bool retired_ = false;

  void ApplyDnsEndpoints(const std::vector<routing::Endpoint>& next);
  void ApplyLogicalDnsEndpoint(const std::vector<routing::Endpoint>& next);
  bool SlotIdle(size_t slot) const;
  void FillSlot(size_t slot, const routing::Endpoint& endpoint);
  const routing::Cluster& balanced() const { return resolved_ ? *resolved_ : *cluster_; }
};

class ClusterManager {
 public:
  ClusterManager(Dispatcher& dispatcher, uint32_t workers, WorkerStats* stats = nullptr)
      : dispatcher_(dispatcher), workers_(workers), stats_(stats) {}

  // The state for cluster `index` of `snapshot` (created on first use).
  ClusterState* Get(const Snapshot& snapshot, uint32_t index);
  // A new snapshot: warm states for its clusters, retire the others.
  void Apply(const Snapshot& snapshot);
  // New DNS answers for every DNS cluster, now and created later.
  void ApplyDns(std::shared_ptr<const routing::DnsAnswers> dns);
  // Frees retired clusters nobody uses any more.
  void CollectGarbage();
  void RetireAll();
  size_t size() const { return clusters_.size(); }
  // Copies every cluster's state (live and retired) for /clusters and the
  // pool metrics. Not on the request path: called when stats are asked for.
  void Report(std::map<std::string, ClusterStats>& out) const;

 private:
  static std::string Key(const routing::Cluster& cluster,
                         const std::shared_ptr<const tls::ClientContext>& tls);

  Dispatcher& dispatcher_;
  uint32_t workers_;
  WorkerStats* stats_;
  std::unordered_map<std::string, std::unique_ptr<ClusterState>> clusters_;
  // The request path's shortcut: states by cluster index for the snapshot
  // last applied (the worker holds it, so its address cannot be reused
  // while cached). Other snapshots take the keyed lookup.
  const Snapshot* indexed_snapshot_ = nullptr;
  std::vector<ClusterState*> by_index_;
  std::vector<std::unique_ptr<ClusterState>> retired_;
  std::shared_ptr<const routing::DnsAnswers> dns_;
};

}  // namespace gh::gateway
