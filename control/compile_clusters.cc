// Clusters: one per service entry host and port, and per destination rule
// subset, with the merged traffic policy and a fingerprint of what they hold.
#include <map>

#include "control/compile_internal.h"
#include "routing/host.h"
#include "routing/load_balancer.h"

namespace gh::control::compile_internal {
namespace {

struct EffectivePolicy {
  routing::LbPolicy lb_policy = routing::LbPolicy::kLeastRequest;
  std::optional<routing::ConsistentHash> consistent_hash;
  routing::ConnectionPoolSettings pool;
  std::optional<routing::UpstreamProtocol> protocol;
  routing::OutlierDetection outlier;
  routing::UpstreamTls tls;

  // Each block set in `p` replaces the inherited one (Istio subset merging).
  void Apply(const TrafficPolicySpec& p) {
    if (p.has_load_balancer) {
      lb_policy = p.lb_policy.value_or(routing::LbPolicy::kLeastRequest);
      consistent_hash = p.consistent_hash;
    }
    if (p.pool) {
      pool = *p.pool;
      protocol = p.protocol;
    }
    if (p.outlier) outlier = *p.outlier;
    if (p.tls) tls = *p.tls;
  }
  void ApplyWithPort(const TrafficPolicySpec& p, uint32_t port) {
    Apply(p);
    for (const PortLevelPolicy& pl : p.port_level) {
      if (pl.port == port) Apply(pl.policy);
    }
  }
};

uint64_t ClusterFingerprint(const routing::Cluster& c) {
  std::string s;
  auto add = [&](std::string_view v) {
    s.append(v);
    s.push_back('\x1f');
  };
  auto num = [&](uint64_t v) { add(std::to_string(v)); };
  add(c.name);
  for (const auto& e : c.endpoints) {
    add(e.address);
    num(e.port);
    num(e.weight);
    for (const auto& [k, v] : e.labels) {
      add(k);
      add(v);
    }
    add(e.service_account);
  }
  num(static_cast<uint64_t>(c.lb_policy));
  if (c.consistent_hash) {
    num(static_cast<uint64_t>(c.consistent_hash->source));
    add(c.consistent_hash->name);
    add(c.consistent_hash->cookie_path);
    num(static_cast<uint64_t>(c.consistent_hash->cookie_ttl.count()));
    num(c.consistent_hash->minimum_ring_size);
    num(c.consistent_hash->maglev_table_size);
  }
  const auto& p = c.pool;
  for (uint64_t v : {uint64_t{p.max_connections}, uint64_t(p.connect_timeout.count()),
                     uint64_t{p.http1_max_pending_requests}, uint64_t{p.http2_max_requests},
                     uint64_t{p.max_requests_per_connection}, uint64_t{p.max_retries},
                     uint64_t{p.max_concurrent_streams}, uint64_t(p.idle_timeout.count()),
                     uint64_t(p.tcp_idle_timeout.count())})
    num(v);
  const auto& o = c.outlier;
  for (uint64_t v : {uint64_t{o.enabled}, uint64_t{o.consecutive_5xx_errors},
                     uint64_t{o.consecutive_gateway_errors}, uint64_t(o.interval.count()),
                     uint64_t(o.base_ejection_time.count()), uint64_t{o.max_ejection_percent},
                     uint64_t{o.min_health_percent}})
    num(v);
  num(static_cast<uint64_t>(c.tls.mode));
  for (const std::string* f : {&c.tls.client_certificate, &c.tls.private_key,
                               &c.tls.ca_certificates, &c.tls.ca_crl, &c.tls.sni})
    add(*f);
  for (const auto& san : c.tls.subject_alt_names)
    add(san);
  num(c.tls.insecure_skip_verify);
  num(static_cast<uint64_t>(c.protocol));
  num(c.mesh_internal);
  num(static_cast<uint64_t>(c.resolution));
  for (const auto& san : c.subject_alt_names)
    add(san);
  return Fnv(kFnvBasis, s);
}

bool LabelsMatch(const std::map<std::string, std::string>& want,
                 const std::map<std::string, std::string>& have) {
  for (const auto& [k, v] : want) {
    auto it = have.find(k);
    if (it == have.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

std::string ClusterName(uint32_t port, std::string_view subset, std::string_view host) {
  return "outbound|" + std::to_string(port) + "|" + std::string(subset) + "|" + std::string(host);
}

void Compiler::BuildClusters(routing::Config& out) {
  for (const ServiceEntrySpec& se : r_.service_entries) {
    CheckEndpoints(se);
    for (const std::string& host : se.hosts) {
      if (services_.at(host).se != &se) continue;  // duplicate host, reported
      const DestinationRuleSpec* dr = RuleFor(host);
      for (const PortSpec& port : se.ports) {
        if (port.number == 0) continue;
        AddCluster(out, se, host, port, dr, nullptr);
        if (dr == nullptr) continue;
        for (const SubsetSpec& subset : dr->subsets)
          AddCluster(out, se, host, port, dr, &subset);
      }
    }
  }
}

void Compiler::CheckEndpoints(const ServiceEntrySpec& se) {
  using R = routing::Resolution;
  if (se.resolution == R::kNone && !se.endpoints.empty())
    sink_.Error(se.where,
                "resolution NONE forwards to the original address: remove "
                "\"endpoints\" or set resolution STATIC or DNS");
  if (se.resolution == R::kStatic && se.endpoints.empty())
    sink_.Warning(se.where,
                  "resolution STATIC without endpoints: every request gets 503 (no healthy "
                  "upstream)");
  if (se.resolution == R::kDnsRoundRobin && se.endpoints.size() > 1)
    sink_.Error(se.where, "resolution DNS_ROUND_ROBIN allows at most one endpoint");
  if ((se.resolution == R::kDns || se.resolution == R::kDnsRoundRobin) && se.endpoints.empty()) {
    for (const std::string& h : se.hosts) {
      if (routing::IsWildcardHost(h))
        sink_.Error(se.where, "resolution DNS needs endpoints for wildcard host " + Quoted(h));
    }
  }
  for (const SeEndpointSpec& ep : se.endpoints) {
    if (ep.address.starts_with("unix://")) {
      sink_.Error(ep.where, "unix socket endpoints are not supported yet");
    } else if (se.resolution == R::kStatic && !routing::ParseIp(ep.address)) {
      sink_.Error(ep.where, "resolution STATIC needs IP addresses, got " + Quoted(ep.address) +
                                " (use resolution DNS for names)");
    }
    for (const auto& entry : ep.ports) {
      const std::string& name = entry.first;
      const bool known = std::any_of(se.ports.begin(), se.ports.end(),
                                     [&](const PortSpec& p) { return p.name == name; });
      if (!known)
        sink_.Error(ep.where,
                    "endpoint port " + Quoted(name) + " names no port of this service_entry");
    }
  }
  for (const std::string& a : se.addresses) {
    if (a.find('/') != std::string::npos && se.resolution != R::kNone &&
        se.resolution != R::kStatic)
      sink_.Error(se.where, "CIDR addresses need resolution NONE or STATIC");
  }
}

void Compiler::AddCluster(routing::Config& out, const ServiceEntrySpec& se, const std::string& host,
                          const PortSpec& port, const DestinationRuleSpec* dr,
                          const SubsetSpec* subset) {
  routing::Cluster c;
  c.host = host;
  c.port = static_cast<uint16_t>(port.number);
  c.subset = subset ? subset->name : "";
  c.name = ClusterName(port.number, c.subset, host);
  c.service_namespace = se.ns;
  c.mesh_internal = se.mesh_internal;
  c.resolution = se.resolution;
  c.subject_alt_names = se.subject_alt_names;
  const uint32_t target = port.target_port != 0 ? port.target_port : port.number;
  using R = routing::Resolution;
  if (se.resolution == R::kStatic || !se.endpoints.empty()) {
    for (const SeEndpointSpec& ep : se.endpoints) {
      if (subset != nullptr && !LabelsMatch(subset->labels, ep.labels)) continue;
      routing::Endpoint e;
      e.address = ep.address;
      auto named = ep.ports.find(port.name);
      e.port = static_cast<uint16_t>(named != ep.ports.end() ? named->second : target);
      e.weight = ep.weight;
      e.labels = ep.labels;
      e.service_account = ep.service_account;
      c.endpoints.push_back(std::move(e));
    }
  } else if (se.resolution == R::kDns || se.resolution == R::kDnsRoundRobin) {
    if (!routing::IsWildcardHost(host) && subset == nullptr)
      c.endpoints.push_back({host, static_cast<uint16_t>(target), 1, {}, {}});
    else if (!routing::IsWildcardHost(host) && subset->labels.empty())
      c.endpoints.push_back({host, static_cast<uint16_t>(target), 1, {}, {}});
  }
  if (subset != nullptr && !se.endpoints.empty() && c.endpoints.empty())
    sink_.Warning(subset->where, "subset " + Quoted(subset->name) + " selects no endpoint of " +
                                     Quoted(host) + ": requests to it get 503");
  EffectivePolicy policy;
  if (dr != nullptr && dr->policy) policy.ApplyWithPort(*dr->policy, port.number);
  if (subset != nullptr && subset->policy) policy.ApplyWithPort(*subset->policy, port.number);
  c.lb_policy = policy.lb_policy;
  c.consistent_hash = policy.consistent_hash;
  c.pool = policy.pool;
  c.outlier = policy.outlier;
  c.tls = policy.tls;
  const bool upstream_tls = c.tls.mode != routing::UpstreamTlsMode::kDisable;
  const bool h2 =
      port.protocol == "HTTP2" || port.protocol == "GRPC" || port.protocol == "GRPC-WEB";
  c.protocol =
      h2 ? (upstream_tls ? routing::UpstreamProtocol::kH2 : routing::UpstreamProtocol::kH2c)
         : routing::UpstreamProtocol::kHttp1;
  if (policy.protocol) {
    c.protocol = *policy.protocol;
    if (c.protocol == routing::UpstreamProtocol::kH2c && upstream_tls)
      c.protocol = routing::UpstreamProtocol::kH2;
  }
  if (c.lb_policy == routing::LbPolicy::kRingHash || c.lb_policy == routing::LbPolicy::kMaglev)
    c.lb_table = routing::BuildLbTable(c);
  c.fingerprint = ClusterFingerprint(c);
  cluster_index_.emplace(c.name, static_cast<uint32_t>(out.clusters.size()));
  out.clusters.push_back(std::move(c));
}

}  // namespace gh::control::compile_internal
