#include "control/compile.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <unordered_map>

#include "base/strings.h"
#include "control/resources.h"
#include "control/toml_reader.h"
#include "control/toml_split.h"
#include "routing/host.h"
#include "routing/http_route_table.h"
#include "routing/load_balancer.h"
#include "routing/tcp_route_table.h"

namespace gh::control {
namespace {

using routing::Millis;

std::string Quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

uint64_t Fnv(uint64_t h, std::string_view data) {
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

constexpr uint64_t kFnvBasis = 14695981039346656037ULL;

std::string Hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string ClusterName(uint32_t port, std::string_view subset, std::string_view host) {
  return "outbound|" + std::to_string(port) + "|" + std::string(subset) + "|" + std::string(host);
}

// Which kind of listener a server makes, or nullopt on error (reported).
std::optional<routing::ListenerKind> ServerKind(const ServerSpec& s, DiagnosticSink& sink) {
  const std::string& p = s.port.protocol;
  using K = routing::ListenerKind;
  using M = routing::ServerTlsMode;
  if (p.empty()) return std::nullopt;
  if (p == "HTTP" || p == "HTTP2" || p == "GRPC" || p == "GRPC-WEB") {
    if (s.tls) {
      sink.Error(s.where, "plain " + p +
                              " servers may only carry tls.https_redirect; use "
                              "protocol HTTPS to terminate TLS");
      return std::nullopt;
    }
    return K::kHttp;
  }
  if (s.https_redirect)
    sink.Warning(s.where, "tls.https_redirect only applies to plain HTTP servers");
  if (p == "HTTPS" || p == "TLS") {
    if (!s.tls) {
      sink.Error(s.where, p + " servers need a \"tls\" block");
      return std::nullopt;
    }
    if (s.tls->mode == M::kPassthrough) return K::kTlsPassthrough;
    if (s.tls->mode == M::kAutoPassthrough) return std::nullopt;
    return p == "HTTPS" ? K::kHttps : K::kTlsTerminated;
  }
  // TCP, MONGO, REDIS, MYSQL: opaque TCP.
  if (s.tls) {
    sink.Error(s.where, "a " + p + " server cannot have a \"tls\" block; use protocol TLS");
    return std::nullopt;
  }
  return K::kTcp;
}

const char* KindName(routing::ListenerKind k) {
  switch (k) {
    case routing::ListenerKind::kHttp:
      return "plain HTTP";
    case routing::ListenerKind::kHttps:
      return "HTTPS (terminated)";
    case routing::ListenerKind::kTlsTerminated:
      return "TLS (terminated, TCP routes)";
    case routing::ListenerKind::kTlsPassthrough:
      return "TLS passthrough";
    case routing::ListenerKind::kTcp:
      return "TCP";
  }
  return "";
}

routing::ServerProtocol ToServerProtocol(const std::string& p) {
  using P = routing::ServerProtocol;
  if (p == "HTTP") return P::kHttp;
  if (p == "HTTPS") return P::kHttps;
  if (p == "HTTP2") return P::kHttp2;
  if (p == "GRPC") return P::kGrpc;
  if (p == "GRPC-WEB") return P::kGrpcWeb;
  if (p == "TLS") return P::kTls;
  return P::kTcp;
}

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

// ------------------------------------------------------------ compiler ---

class Compiler {
 public:
  // Takes the resources by reference and releases per-route IR once it is
  // compiled, so the IR and the compiled tables are not both held in full.
  Compiler(Resources& r, DiagnosticSink& sink) : r_(r), sink_(sink) {}

  void Run(routing::Config& out) {
    out.proxy = r_.proxy;
    out.admin = r_.admin;
    out.mesh = r_.mesh;
    CheckDuplicateNames();
    BuildServices();
    BuildRules();
    BuildClusters(out);
    IndexGateways();
    CompileVirtualServices();
    BuildListeners(out);
  }

 private:
  struct ServiceRef {
    const ServiceEntrySpec* se = nullptr;
  };
  // What later phases read of a match entry, kept so the rule's IR (about
  // 600 bytes a route) can be freed as soon as the rule is compiled.
  // A position without a key path (12 bytes instead of Where's 48).
  struct Pos {
    uint32_t file = 0, line = 0, column = 0;
    static Pos Of(const Where& w) { return {w.file, w.line, w.column}; }
    Where At(std::string path) const {
      Where w;
      w.file = file;
      w.line = line;
      w.column = column;
      w.path = std::move(path);
      return w;
    }
  };
  struct MatchRef {
    std::vector<std::string> gateways;
    Pos pos;
    uint32_t port = 0;
    bool has_port = false;
    bool present = false;  // false: a rule without match entries
  };
  struct CompiledHttpRule {
    std::vector<routing::RouteEntry> entries;  // one per match (or one catch-all)
    std::vector<MatchRef> matches;             // parallel
    Pos pos;                                   // the rule's
  };
  struct CompiledVs {
    const VirtualServiceSpec* spec = nullptr;
    size_t order = 0;
    std::vector<CompiledHttpRule> http;
    std::vector<std::vector<std::shared_ptr<const routing::TcpRoute>>> tcp, tls;  // per rule
    std::vector<std::string> gateways;  // resolved "ns/name"
  };

  // -------------------------------------------------------- names, refs ---

  void CheckDuplicateNames() {
    auto check = [&](const auto& list, const char* kind) {
      std::map<std::string, const Where*> seen;
      for (const auto& item : list) {
        const std::string key = item.ns + "/" + item.name;
        auto [it, inserted] = seen.emplace(key, &item.where);
        if (!inserted) {
          sink_.Error(item.where, std::string("duplicate ") + kind + " " + Quoted(key) +
                                      " (first defined at " + Loc(*it->second) + ")");
        }
      }
    };
    check(r_.gateways, "gateway");
    check(r_.virtual_services, "virtual_service");
    check(r_.service_entries, "service_entry");
    check(r_.destination_rules, "destination_rule");
  }

  std::string Loc(const Where& w) {
    return sink_.file_name(w.file) + ":" + std::to_string(w.line) + ":" + std::to_string(w.column);
  }

  void BuildServices() {
    for (const ServiceEntrySpec& se : r_.service_entries) {
      for (size_t i = 0; i < se.hosts.size(); ++i) {
        auto [it, inserted] = services_.emplace(se.hosts[i], ServiceRef{&se});
        if (!inserted) {
          sink_.Error(i < se.host_where.size() ? se.host_where[i] : se.where,
                      "host " + Quoted(se.hosts[i]) + " is already defined by service_entry " +
                          Quoted(it->second.se->ns + "/" + it->second.se->name));
        }
      }
    }
  }

  void BuildRules() {
    for (const DestinationRuleSpec& dr : r_.destination_rules) {
      if (dr.host.empty()) continue;
      auto [it, inserted] = rules_.emplace(dr.host, &dr);
      if (!inserted) {
        sink_.Error(dr.where, "host " + Quoted(dr.host) + " already has destination_rule " +
                                  Quoted(it->second->ns + "/" + it->second->name) +
                                  "; merge them into one");
        continue;
      }
      bool covers = false;
      for (const auto& [host, ref] : services_) {
        if (host == dr.host || routing::HostMatches(dr.host, host)) covers = true;
      }
      if (!covers)
        sink_.Warning(dr.where, "destination_rule host " + Quoted(dr.host) +
                                    " matches no service_entry host and has no effect");
    }
  }

  // The most specific destination rule for a service host.
  const DestinationRuleSpec* RuleFor(const std::string& host) const {
    if (auto it = rules_.find(host); it != rules_.end()) return it->second;
    const DestinationRuleSpec* best = nullptr;
    for (const auto& [pattern, dr] : rules_) {
      if (routing::IsWildcardHost(pattern) && routing::HostMatches(pattern, host) &&
          (best == nullptr || pattern.size() > best->host.size()))
        best = dr;
    }
    return best;
  }

  // ---------------------------------------------------------- clusters ---

  void BuildClusters(routing::Config& out) {
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

  void CheckEndpoints(const ServiceEntrySpec& se) {
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

  void AddCluster(routing::Config& out, const ServiceEntrySpec& se, const std::string& host,
                  const PortSpec& port, const DestinationRuleSpec* dr, const SubsetSpec* subset) {
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

  static bool LabelsMatch(const std::map<std::string, std::string>& want,
                          const std::map<std::string, std::string>& have) {
    for (const auto& [k, v] : want) {
      auto it = have.find(k);
      if (it == have.end() || it->second != v) return false;
    }
    return true;
  }

  static Where Pathed(Where w, std::string path) {
    w.path = std::move(path);
    return w;
  }

  // Resolves a destination to a cluster index; reports what is wrong at
  // `path` (the IR keeps only positions).
  std::optional<uint32_t> ResolveDestination(const DestinationSpec& spec, const std::string& path) {
    if (spec.host.empty()) return std::nullopt;
    DestinationSpec d_with_path = spec;
    d_with_path.where.path = path;
    const DestinationSpec& d = d_with_path;
    auto svc = services_.find(d.host);
    if (svc == services_.end()) {
      std::vector<std::string> known;
      for (const auto& [h, ref] : services_)
        known.push_back(h);
      std::string msg = "no service_entry defines host " + Quoted(d.host);
      const std::string s = Suggest(d.host, known);
      if (!s.empty()) msg += "; did you mean " + Quoted(s) + "?";
      sink_.Error(d.where, msg);
      return std::nullopt;
    }
    const ServiceEntrySpec& se = *svc->second.se;
    uint32_t port = 0;
    if (d.port) {
      port = *d.port;
      const bool known = std::any_of(se.ports.begin(), se.ports.end(),
                                     [&](const PortSpec& p) { return p.number == port; });
      if (!known) {
        sink_.Error(d.where, "service_entry " + Quoted(se.name) + " has no port " +
                                 std::to_string(port) + " for host " + Quoted(d.host));
        return std::nullopt;
      }
    } else if (se.ports.size() == 1) {
      port = se.ports[0].number;
    } else {
      sink_.Error(d.where,
                  "host " + Quoted(d.host) + " has several ports: set destination.port.number");
      return std::nullopt;
    }
    if (!d.subset.empty()) {
      const DestinationRuleSpec* dr = RuleFor(d.host);
      const bool known =
          dr != nullptr && std::any_of(dr->subsets.begin(), dr->subsets.end(),
                                       [&](const SubsetSpec& s) { return s.name == d.subset; });
      if (!known) {
        sink_.Error(d.where, "no destination_rule defines subset " + Quoted(d.subset) +
                                 " for host " + Quoted(d.host));
        return std::nullopt;
      }
    }
    auto it = cluster_index_.find(ClusterName(port, d.subset, d.host));
    if (it == cluster_index_.end()) return std::nullopt;
    return it->second;
  }

  // ---------------------------------------------------------- gateways ---

  void IndexGateways() {
    for (size_t i = 0; i < r_.gateways.size(); ++i)
      gateway_index_.emplace(r_.gateways[i].ns + "/" + r_.gateways[i].name, i);
  }

  // "name" (in `ns`) or "ns/name" -> "ns/name"; "" for mesh; nullopt unknown.
  std::optional<std::string> ResolveGateway(const std::string& ref, const std::string& ns,
                                            const Where& where) {
    if (ref == "mesh") {
      sink_.Warning(where,
                    "gateway \"mesh\" (sidecars) does not apply to Gatehouse and is "
                    "ignored");
      return std::string();
    }
    const std::string key = ref.find('/') == std::string::npos ? ns + "/" + ref : ref;
    if (gateway_index_.contains(key)) return key;
    std::vector<std::string> known;
    for (const auto& [k, i] : gateway_index_) {
      known.push_back(k);
      known.push_back(r_.gateways[i].name);
    }
    std::string msg = "virtual service is bound to unknown gateway " + Quoted(ref);
    const std::string s = Suggest(ref, known);
    if (!s.empty()) msg += "; did you mean " + Quoted(s) + "?";
    sink_.Error(where, msg);
    return std::nullopt;
  }

  // ---------------------------------------------------- virtual services ---

  std::vector<routing::Destination> CompileDestinations(
      const std::vector<RouteDestinationSpec>& route, const Where& where, uint64_t& total) {
    std::vector<routing::Destination> out;
    out.reserve(route.size());
    total = 0;
    bool resolved = true;
    for (size_t k = 0; k < route.size(); ++k) {
      const RouteDestinationSpec& d = route[k];
      const auto cluster = ResolveDestination(
          d.destination, where.path + ".route[" + std::to_string(k) + "].destination");
      if (!cluster) {
        resolved = false;
        continue;
      }
      routing::Destination dest;
      dest.cluster = *cluster;
      dest.weight = d.weight.value_or(route.size() == 1 ? 100 : 0);
      if (d.request_headers) dest.request_headers = *d.request_headers;
      if (d.response_headers) dest.response_headers = *d.response_headers;
      dest.authority = d.authority;
      if (dest.weight == 0) continue;  // dropped when others exist; total checked below
      total += dest.weight;
      out.push_back(std::move(dest));
    }
    if (resolved && !route.empty() && total == 0)
      sink_.Error(where, "route weights sum to 0: give at least one destination a weight");
    return out;
  }

  routing::RetryPolicy DefaultRetries() {
    // Gatehouse's conservative default (istio-semantics §9 #3): only failures
    // where the upstream never saw the request, never non-idempotent methods.
    routing::RetryPolicy r;
    r.attempts = 2;
    r.on_connect_failure = true;
    r.on_refused_stream = true;
    r.retry_non_idempotent = false;
    return r;
  }

  static std::string RulePath(const VirtualServiceSpec& vs, uint32_t index) {
    return vs.where.path + ".http[" + std::to_string(index) + "]";
  }

  // Moves each match out of `rule` (nothing later reads HttpMatchSpec::match).
  CompiledHttpRule CompileHttpRule(const VirtualServiceSpec& vs, HttpRouteSpec& rule,
                                   uint32_t index) {
    CompiledHttpRule out;
    out.pos = Pos::Of(rule.where);
    const std::string rule_path = RulePath(vs, index);
    const Where rule_where = Pathed(rule.where, rule_path);
    routing::Route base;
    base.name = rule.name.empty() ? vs.name + "." + std::to_string(index) : rule.name;
    base.virtual_service = vs.ns + "/" + vs.name;
    base.rule_index = index;
    if (!rule.route.empty()) {
      routing::ForwardAction fwd;
      fwd.destinations = CompileDestinations(rule.route, rule_where, fwd.total_weight);
      base.action = std::move(fwd);
    } else if (rule.redirect) {
      base.action = *rule.redirect;
    } else if (rule.direct_response) {
      base.action = *rule.direct_response;
    }
    if (rule.request_headers) base.request_headers = *rule.request_headers;
    if (rule.response_headers) base.response_headers = *rule.response_headers;
    if (rule.rewrite) base.rewrite = *rule.rewrite;
    if (rule.header_authority) base.rewrite.authority = AsciiLowered(*rule.header_authority);
    base.timeout = rule.timeout;
    base.retries = rule.retries ? *rule.retries : DefaultRetries();
    if (rule.retries && rule.retries->per_try_timeout.count() == 0)
      base.retries.per_try_timeout = rule.timeout;
    base.fault = rule.fault;
    for (size_t k = 0; k < rule.mirrors.size(); ++k) {
      const MirrorSpec& m = rule.mirrors[k];
      const std::string path = rule.mirrors_list
                                   ? rule_path + ".mirrors[" + std::to_string(k) + "].destination"
                                   : rule_path + ".mirror";
      if (auto cluster = ResolveDestination(m.destination, path))
        base.mirrors.push_back({*cluster, m.percent});
    }
    base.cors = rule.cors;
    base.max_request_body_bytes = rule.max_request_body_bytes;

    const size_t n = rule.matches.empty() ? 1 : rule.matches.size();
    for (size_t j = 0; j < n; ++j) {
      HttpMatchSpec* m = rule.matches.empty() ? nullptr : &rule.matches[j];
      if (m != nullptr && m->invalid) continue;
      auto route = j + 1 == n ? std::make_shared<routing::Route>(std::move(base))
                              : std::make_shared<routing::Route>(base);
      route->match_index = static_cast<uint32_t>(j);
      routing::HttpMatch match;
      if (m != nullptr) {
        match = std::move(m->match);
        route->match_name = m->name;
      }
      // Istio: no uri match is a prefix "/" match (relevant to rewrites).
      route->prefix_match =
          !match.uri || match.uri->kind() == routing::StringMatcher::Kind::kPrefix;
      route->matched_prefix = !match.uri ? "/" : route->prefix_match ? match.uri->value() : "";
      if (rule.redirect && rule.redirect->prefix_rewrite && !(match.uri && route->prefix_match)) {
        sink_.Error(
            m ? Pathed(m->where, rule_path + ".match[" + std::to_string(j) + "]") : rule_where,
            "redirect.prefix_rewrite needs a uri prefix match in every match entry");
      }
      out.entries.push_back({std::move(match), std::move(route)});
      MatchRef ref;
      if (m != nullptr) {
        ref.gateways = m->gateways;
        ref.pos = Pos::Of(m->where);
        ref.port = m->port.value_or(0);
        ref.has_port = m->port.has_value();
        ref.present = true;
      }
      out.matches.push_back(std::move(ref));
    }
    return out;
  }

  std::vector<std::shared_ptr<const routing::TcpRoute>> CompileL4Rule(const VirtualServiceSpec& vs,
                                                                      const L4RouteSpec& rule,
                                                                      uint32_t index, bool tls) {
    auto route = std::make_shared<routing::TcpRoute>();
    route->name = vs.name + (tls ? ".tls." : ".tcp.") + std::to_string(index);
    route->virtual_service = vs.ns + "/" + vs.name;
    route->rule_index = index;
    route->destinations = CompileDestinations(
        rule.route,
        Pathed(rule.where, vs.where.path + (tls ? ".tls[" : ".tcp[") + std::to_string(index) + "]"),
        route->total_weight);
    for (const L4MatchSpec& m : rule.matches) {
      for (const std::string& sni : m.sni_hosts) {
        const bool inside = std::any_of(vs.hosts.begin(), vs.hosts.end(), [&](const auto& h) {
          return routing::HostMatches(h, sni) || h == sni;
        });
        if (!inside && !routing::ParseIp(sni))
          sink_.Error(m.where,
                      "sni host " + Quoted(sni) + " is not within the virtual service's hosts");
      }
    }
    return {route};
  }

  void CompileVirtualServices() {
    for (size_t v = 0; v < r_.virtual_services.size(); ++v) {
      const VirtualServiceSpec& vs = r_.virtual_services[v];
      CompiledVs c;
      c.spec = &vs;
      c.order = v;
      for (size_t g = 0; g < vs.gateways.size(); ++g) {
        if (auto key = ResolveGateway(vs.gateways[g], vs.ns,
                                      g < vs.gateway_where.size() ? vs.gateway_where[g] : vs.where);
            key && !key->empty())
          c.gateways.push_back(*key);
      }
      if (vs.gateways.empty())
        sink_.Warning(vs.where,
                      "virtual service has no \"gateways\": Istio's default is "
                      "\"mesh\" (sidecars), so it binds to no Gatehouse gateway");
      for (uint32_t i = 0; i < vs.http.size(); ++i) {
        c.http.push_back(CompileHttpRule(vs, r_.virtual_services[v].http[i], i));
        for (const HttpMatchSpec& m : vs.http[i].matches) {
          for (const std::string& g : m.gateways)
            ResolveGateway(g, vs.ns, m.where);
        }
      }
      // Everything later phases need of the http rules is in c.http now.
      std::vector<HttpRouteSpec>().swap(r_.virtual_services[v].http);
      for (uint32_t i = 0; i < vs.tcp.size(); ++i)
        c.tcp.push_back(CompileL4Rule(vs, vs.tcp[i], i, false));
      for (uint32_t i = 0; i < vs.tls.size(); ++i)
        c.tls.push_back(CompileL4Rule(vs, vs.tls[i], i, true));
      vss_.push_back(std::move(c));
    }
  }

  // ---------------------------------------------------------- listeners ---

  struct ServerRef {
    const GatewaySpec* gateway;
    const ServerSpec* server;
    std::string gateway_key;
    routing::ListenerKind kind;
  };

  // Does a per-match gateways list allow gateway `key`?
  bool MatchGatewayAllows(const std::vector<std::string>& gateways, const std::string& ns,
                          const std::string& key) {
    if (gateways.empty()) return true;
    for (const std::string& g : gateways) {
      const std::string k = g.find('/') == std::string::npos ? ns + "/" + g : g;
      if (k == key) return true;
    }
    return false;
  }

  // The vhost names a VS contributes on `server` (Istio host intersection).
  std::vector<std::string> Intersections(const VirtualServiceSpec& vs, const ServerSpec& server) {
    std::vector<std::string> out;
    for (const std::string& vh : vs.hosts) {
      for (const ServerHost& sh : server.hosts) {
        if (sh.ns != "*" && sh.ns != vs.ns) continue;
        if (auto i = routing::IntersectHosts(sh.host, vh)) {
          if (std::find(out.begin(), out.end(), *i) == out.end()) out.push_back(*i);
        }
      }
    }
    return out;
  }

  struct VhostBuild {
    std::string name;
    bool https_redirect = false;
    std::vector<routing::RouteEntry> routes;
    std::vector<std::string> owners;  // "vs:<order>" appended once per VS
  };

  static int UriRank(const routing::HttpMatch& m) {
    if (!m.uri) return 3;
    switch (m.uri->kind()) {
      case routing::StringMatcher::Kind::kExact:
        return 0;
      case routing::StringMatcher::Kind::kRegex:
        return 1;
      default:
        return 2;
    }
  }

  // Gateway API precedence (istio-semantics §7.4), stable so ties keep
  // file order then rule order.
  static void SortBySpecificity(std::vector<routing::RouteEntry>& routes) {
    std::stable_sort(routes.begin(), routes.end(),
                     [](const routing::RouteEntry& a, const routing::RouteEntry& b) {
                       const int ra = UriRank(a.match), rb = UriRank(b.match);
                       if (ra != rb) return ra < rb;
                       if (ra == 2) {
                         const size_t la = a.match.uri->value().size();
                         const size_t lb = b.match.uri->value().size();
                         if (la != lb) return la > lb;
                       }
                       const bool ma = a.match.method != nullptr, mb = b.match.method != nullptr;
                       if (ma != mb) return ma;
                       if (a.match.headers.size() != b.match.headers.size())
                         return a.match.headers.size() > b.match.headers.size();
                       return a.match.query_params.size() > b.match.query_params.size();
                     });
  }

  std::shared_ptr<const routing::Route> HttpsRedirectRoute(const std::string& gateway) {
    auto r = std::make_shared<routing::Route>();
    r->name = "https_redirect";
    r->virtual_service = gateway;
    routing::RedirectAction redirect;
    redirect.scheme = "https";
    redirect.code = 301;
    r->action = redirect;
    r->retries = DefaultRetries();
    return r;
  }

  void DropShadowed(VhostBuild& vh) {
    for (size_t i = 0; i < vh.routes.size(); ++i) {
      if (!vh.routes[i].match.IsCatchAll()) continue;
      for (size_t k = i + 1; k < vh.routes.size(); ++k) {
        const routing::Route& shadowed = *vh.routes[k].route;
        const routing::Route& by = *vh.routes[i].route;
        const std::string key = shadowed.virtual_service + "#" + shadowed.name + "#" +
                                std::to_string(shadowed.match_index) + "#" + by.name;
        if (!shadow_reported_.insert(key).second) continue;
        sink_.Warning(RouteWhere(shadowed),
                      "route " + Quoted(shadowed.name) + " of virtual_service " +
                          Quoted(shadowed.virtual_service) + " never matches in virtual host " +
                          Quoted(vh.name) + ": it is shadowed by the catch-all route " +
                          Quoted(by.name) + " of " + Quoted(by.virtual_service));
      }
      vh.routes.resize(i + 1);
      break;
    }
  }

  Where RouteWhere(const routing::Route& route) {
    for (const CompiledVs& c : vss_) {
      if (c.spec->ns + "/" + c.spec->name != route.virtual_service) continue;
      if (route.rule_index >= c.http.size()) return Where{};
      const CompiledHttpRule& rule = c.http[route.rule_index];
      const std::string rule_path = RulePath(*c.spec, route.rule_index);
      const MatchRef* m = nullptr;
      for (size_t j = 0; j < rule.entries.size(); ++j) {
        if (rule.entries[j].route->match_index == route.match_index && rule.matches[j].present)
          m = &rule.matches[j];
      }
      if (m == nullptr) return rule.pos.At(rule_path);
      return m->pos.At(rule_path + ".match[" + std::to_string(route.match_index) + "]");
    }
    return Where{};
  }

  std::shared_ptr<const routing::HttpRouteTable> BuildHttpTable(
      const std::vector<const ServerRef*>& servers, uint16_t port, RouteOrder order) {
    std::vector<VhostBuild> vhosts;
    std::unordered_map<std::string, size_t> by_name;
    auto vhost = [&](const std::string& name) -> VhostBuild& {
      auto [it, inserted] = by_name.emplace(name, vhosts.size());
      if (inserted) vhosts.push_back({name, false, {}, {}});
      return vhosts[it->second];
    };
    for (const ServerRef* s : servers) {
      if (!s->server->https_redirect) continue;
      for (const ServerHost& h : s->server->hosts)
        vhost(h.host).https_redirect = true;
    }
    for (const CompiledVs& c : vss_) {
      if (c.http.empty()) continue;
      for (const ServerRef* s : servers) {
        if (std::find(c.gateways.begin(), c.gateways.end(), s->gateway_key) == c.gateways.end())
          continue;
        for (const std::string& name : Intersections(*c.spec, *s->server)) {
          bound_vs_.insert(c.order);
          VhostBuild& vh = vhost(name);
          if (s->server->https_redirect) vh.https_redirect = true;
          const std::string owner = std::to_string(c.order) + "@" + s->gateway_key;
          if (std::find(vh.owners.begin(), vh.owners.end(), owner) != vh.owners.end()) continue;
          // The same VS reached through another server of the same gateway
          // (or another gateway) is appended once per vhost.
          const std::string once = "vs" + std::to_string(c.order);
          if (std::find(vh.owners.begin(), vh.owners.end(), once) != vh.owners.end()) continue;
          vh.owners.push_back(once);
          for (const CompiledHttpRule& rule : c.http) {
            for (size_t j = 0; j < rule.entries.size(); ++j) {
              const MatchRef& m = rule.matches[j];
              if (m.has_port && m.port != port) continue;
              if (m.present && !MatchGatewayAllows(m.gateways, c.spec->ns, s->gateway_key))
                continue;
              vh.routes.push_back(rule.entries[j]);
            }
          }
        }
      }
    }
    std::vector<routing::VirtualHost> out;
    out.reserve(vhosts.size());
    for (VhostBuild& vh : vhosts) {
      if (vh.https_redirect) {
        vh.routes.clear();
        vh.routes.push_back({routing::HttpMatch{}, HttpsRedirectRoute(vh.name)});
      } else {
        if (order == RouteOrder::kSpecificity) SortBySpecificity(vh.routes);
        DropShadowed(vh);
      }
      out.push_back({std::move(vh.name), std::move(vh.routes)});
    }
    return std::make_shared<routing::CompiledHttpRouteTable>(std::move(out));
  }

  std::shared_ptr<const routing::TcpRouteTable> BuildTcpTable(
      const std::vector<const ServerRef*>& servers, uint16_t port, bool tls) {
    std::vector<routing::TcpRouteEntry> entries;
    std::map<std::string, std::string> sni_owner;
    for (const CompiledVs& c : vss_) {
      const auto& rules = tls ? c.spec->tls : c.spec->tcp;
      if (rules.empty()) continue;
      bool bound = false;
      std::vector<std::string> server_hosts;
      for (const ServerRef* s : servers) {
        if (std::find(c.gateways.begin(), c.gateways.end(), s->gateway_key) == c.gateways.end())
          continue;
        const auto names = Intersections(*c.spec, *s->server);
        if (names.empty()) continue;
        bound = true;
        for (const ServerHost& h : s->server->hosts)
          server_hosts.push_back(h.host);
        for (uint32_t i = 0; i < rules.size(); ++i) {
          const L4RouteSpec& rule = rules[i];
          const auto& route = (tls ? c.tls : c.tcp)[i][0];
          auto add = [&](const L4MatchSpec* m) {
            routing::TcpRouteEntry e;
            e.route = route;
            if (m != nullptr) {
              if (m->port && *m->port != port) return;
              if (!MatchGatewayAllows(m->gateways, c.spec->ns, s->gateway_key)) return;
              e.match.destination_subnets = m->destination_subnets;
              for (const std::string& sni : m->sni_hosts) {
                for (const std::string& sh : server_hosts) {
                  if (auto x = routing::IntersectHosts(sh, sni)) {
                    if (std::find(e.match.sni_hosts.begin(), e.match.sni_hosts.end(), *x) ==
                        e.match.sni_hosts.end())
                      e.match.sni_hosts.push_back(*x);
                  }
                }
              }
              if (tls && e.match.sni_hosts.empty()) return;
              for (const std::string& sni : e.match.sni_hosts) {
                auto [it, inserted] = sni_owner.emplace(sni, route->name);
                if (!inserted && it->second != route->name)
                  sink_.Error(m->where, "sni host " + Quoted(sni) + " on port " +
                                            std::to_string(port) + " is already routed by " +
                                            Quoted(it->second));
              }
            }
            for (const auto& existing : entries) {
              if (existing.route == e.route && existing.match.sni_hosts == e.match.sni_hosts &&
                  existing.match.destination_subnets.size() == e.match.destination_subnets.size())
                return;
            }
            entries.push_back(std::move(e));
          };
          if (rule.matches.empty()) {
            add(nullptr);
          } else {
            for (const L4MatchSpec& m : rule.matches)
              add(&m);
          }
        }
      }
      if (bound) bound_vs_.insert(c.order);
    }
    if (tls)
      return std::make_shared<routing::TcpRouteTable>(std::vector<routing::TcpRouteEntry>{},
                                                      std::move(entries));
    return std::make_shared<routing::TcpRouteTable>(std::move(entries),
                                                    std::vector<routing::TcpRouteEntry>{});
  }

  void BuildListeners(routing::Config& out) {
    // Group servers by (bind, port) in file order.
    std::vector<std::pair<std::string, std::vector<ServerRef>>> groups;
    std::map<std::string, size_t> group_index;
    for (const GatewaySpec& g : r_.gateways) {
      const std::string key = g.ns + "/" + g.name;
      std::map<std::string, const ServerSpec*> port_names;
      for (const ServerSpec& s : g.servers) {
        if (!s.port.name.empty()) {
          auto [it, inserted] = port_names.emplace(s.port.name, &s);
          if (!inserted &&
              !(it->second->port.number == s.port.number && it->second->bind == s.bind &&
                s.port.protocol == "HTTP" && it->second->port.protocol == "HTTP"))
            sink_.Error(s.port.where, "duplicate port name " + Quoted(s.port.name) +
                                          " in gateway " + Quoted(key));
        }
        const auto kind = ServerKind(s, sink_);
        if (!kind) continue;
        if (s.port.number == 0) {
          sink_.Error(s.port.where, "port number 0 is only allowed for unix sockets");
          continue;
        }
        const std::string bind = s.bind.empty() ? "0.0.0.0" : s.bind;
        const std::string lkey = bind + "_" + std::to_string(s.port.number);
        auto [it, inserted] = group_index.emplace(lkey, groups.size());
        if (inserted) groups.push_back({lkey, {}});
        groups[it->second].second.push_back({&g, &s, key, *kind});
      }
    }
    for (auto& [lkey, refs] : groups) {
      routing::Listener l;
      l.name = lkey;
      l.bind = refs[0].server->bind.empty() ? "0.0.0.0" : refs[0].server->bind;
      l.port = static_cast<uint16_t>(refs[0].server->port.number);
      l.kind = refs[0].kind;
      bool ok = true;
      for (const ServerRef& r : refs) {
        if (r.kind != l.kind) {
          sink_.Error(r.server->where, "protocol clash on " + l.bind + ":" +
                                           std::to_string(l.port) + ": this " + "server is " +
                                           KindName(r.kind) + " but gateway " +
                                           Quoted(refs[0].gateway_key) + " already serves " +
                                           KindName(l.kind) + " there");
          ok = false;
        }
      }
      // Duplicate hosts and port names across the servers of one listener.
      std::map<std::string, const ServerRef*> hosts;
      std::map<std::string, const ServerRef*> names;
      for (const ServerRef& r : refs) {
        for (const ServerHost& h : r.server->hosts) {
          auto [it, inserted] = hosts.emplace(h.host, &r);
          if (!inserted && it->second->server != r.server) {
            sink_.Error(h.where, "host " + Quoted(h.host) + " on " + l.bind + ":" +
                                     std::to_string(l.port) +
                                     " is already claimed by a server of gateway " +
                                     Quoted(it->second->gateway_key) + " (" +
                                     Loc(it->second->server->where) + ")");
            ok = false;
          } else if (!inserted) {
            sink_.Error(h.where, "duplicate host " + Quoted(h.host) + " in one server");
            ok = false;
          }
        }
        if (l.kind != routing::ListenerKind::kHttp && l.kind != routing::ListenerKind::kTcp &&
            !r.server->port.name.empty()) {
          auto [it, inserted] = names.emplace(r.server->port.name, &r);
          if (!inserted && it->second->gateway != r.gateway) {
            sink_.Error(r.server->port.where, "duplicate port name " + Quoted(r.server->port.name) +
                                                  " on " + l.bind + ":" + std::to_string(l.port) +
                                                  ": gateway " + Quoted(it->second->gateway_key) +
                                                  " uses it too");
            ok = false;
          }
        }
      }
      // Default server and route order.
      int explicit_default = -1;
      int star = -1;
      for (size_t i = 0; i < refs.size(); ++i) {
        const ServerSpec& s = *refs[i].server;
        if (s.default_server) {
          if (explicit_default >= 0) {
            sink_.Error(s.where, "two default servers on " + l.bind + ":" + std::to_string(l.port));
            ok = false;
          }
          explicit_default = static_cast<int>(i);
        }
        for (const ServerHost& h : s.hosts) {
          if (h.host == "*" && star < 0) star = static_cast<int>(i);
        }
        if (s.route_order != refs[0].server->route_order &&
            l.kind == routing::ListenerKind::kHttp) {
          sink_.Error(s.where, "servers sharing plain-HTTP port " + std::to_string(l.port) +
                                   " disagree on route_order");
          ok = false;
        }
      }
      if (!ok) continue;
      l.default_server = static_cast<uint32_t>(explicit_default >= 0 ? explicit_default
                                               : star >= 0           ? star
                                                                     : 0);
      std::vector<const ServerRef*> all;
      for (const ServerRef& r : refs)
        all.push_back(&r);
      std::shared_ptr<const routing::HttpRouteTable> shared;
      if (l.kind == routing::ListenerKind::kHttp)
        shared = BuildHttpTable(all, l.port, refs[0].server->route_order);
      if (l.kind == routing::ListenerKind::kTcp || l.kind == routing::ListenerKind::kTlsTerminated)
        l.tcp_routes = BuildTcpTable(all, l.port, false);
      if (l.kind == routing::ListenerKind::kTlsPassthrough)
        l.tcp_routes = BuildTcpTable(all, l.port, true);
      for (size_t i = 0; i < refs.size(); ++i) {
        const ServerRef& r = refs[i];
        routing::Server s;
        s.gateway = r.gateway_key;
        s.name = r.server->name.empty()
                     ? r.gateway_key + "/" + std::to_string(r.server - r.gateway->servers.data())
                     : r.server->name;
        s.port_name = r.server->port.name;
        s.protocol = ToServerProtocol(r.server->port.protocol);
        for (const ServerHost& h : r.server->hosts)
          s.hosts.push_back(h.host);
        s.tls = r.server->tls;
        s.https_redirect = r.server->https_redirect;
        if (l.kind == routing::ListenerKind::kHttp) s.http_routes = shared;
        if (l.kind == routing::ListenerKind::kHttps)
          s.http_routes = BuildHttpTable({&r}, l.port, r.server->route_order);
        l.servers.push_back(std::move(s));
      }
      out.listeners.push_back(std::move(l));
    }
    for (const CompiledVs& c : vss_) {
      if (!bound_vs_.contains(c.order) && !c.gateways.empty())
        sink_.Warning(c.spec->where, "virtual service " + Quoted(c.spec->name) +
                                         " matches no host of its gateways' servers and "
                                         "serves nothing");
    }
  }

  Resources& r_;
  DiagnosticSink& sink_;
  std::map<std::string, ServiceRef> services_;
  std::map<std::string, const DestinationRuleSpec*> rules_;
  std::unordered_map<std::string, uint32_t> cluster_index_;
  std::map<std::string, size_t> gateway_index_;
  std::vector<CompiledVs> vss_;
  std::set<size_t> bound_vs_;
  std::set<std::string> shadow_reported_;
};

}  // namespace

std::string ContentHash(const std::vector<SourceFile>& files) {
  uint64_t h = kFnvBasis;
  for (const SourceFile& f : files) {
    h = Fnv(h, f.name);
    h = Fnv(h, std::string_view("\0", 1));
    h = Fnv(h, f.content);
    h = Fnv(h, std::string_view("\0", 1));
  }
  return Hex(h);
}

namespace {

// Decodes a split file piece by piece (each piece's tree is freed before the
// next is parsed), in the order DecodeFile would decode the whole file. False
// when a piece does not parse or the head defines a split kind itself: then
// everything it decoded is undone and the caller parses the file whole, so
// syntax errors are reported exactly as before.
bool DecodeSplit(const SourceFile& f, uint32_t file, const TomlSplit& split, Resources& resources,
                 std::map<std::string, Where>& seen_process, DiagnosticSink& sink,
                 routing::MatcherCache& cache) {
  toml::table head;
  try {
    head = toml::parse(split.head, f.name);
  } catch (const toml::parse_error&) {
    return false;
  }
  for (const TomlPiece& p : split.pieces) {
    if (head.contains(p.kind)) return false;
  }
  const size_t gateways = resources.gateways.size();
  const size_t virtual_services = resources.virtual_services.size();
  const size_t service_entries = resources.service_entries.size();
  const size_t destination_rules = resources.destination_rules.size();
  const size_t diagnostics = sink.diagnostics().size();
  const routing::ProxySettings proxy = resources.proxy;
  const routing::AdminSettings admin = resources.admin;
  const routing::MeshSettings mesh = resources.mesh;
  const std::map<std::string, Where> seen = seen_process;
  bool failed = false;
  DecodeFile(head, file, resources, seen_process, sink, cache, [&](std::string_view kind) {
    for (const TomlPiece& p : split.pieces) {
      if (failed) return;
      if (p.kind != kind) continue;
      toml::table root;
      try {
        root = toml::parse(p.text, f.name);
      } catch (const toml::parse_error&) {
        failed = true;
        return;
      }
      DecodePiece(root, kind, file, p.line_offset, p.index_base, resources, sink, cache);
    }
  });
  if (!failed) return true;
  auto truncate = [](auto& list, size_t size) {
    list.erase(list.begin() + static_cast<std::ptrdiff_t>(size), list.end());
  };
  truncate(resources.gateways, gateways);
  truncate(resources.virtual_services, virtual_services);
  truncate(resources.service_entries, service_entries);
  truncate(resources.destination_rules, destination_rules);
  sink.Truncate(diagnostics);
  resources.proxy = proxy;
  resources.admin = admin;
  resources.mesh = mesh;
  seen_process = seen;
  return false;
}

}  // namespace

CompileResult Compile(const std::vector<SourceFile>& files) {
  return Compile(files, CompileOptions{});
}

CompileResult Compile(const std::vector<SourceFile>& files, const CompileOptions& options) {
  CompileResult result;
  result.content_hash = ContentHash(files);
  std::vector<std::string> names;
  for (const SourceFile& f : files)
    names.push_back(f.name);
  DiagnosticSink sink(names);
  Resources resources;
  std::map<std::string, Where> seen_process;
  routing::MatcherCache cache;
  const std::vector<std::string_view> kinds(std::begin(kSplitKinds), std::end(kSplitKinds));
  for (uint32_t i = 0; i < files.size(); ++i) {
    if (options.piece_bytes > 0 && files[i].content.size() / 2 >= options.piece_bytes) {
      const auto split = SplitToml(files[i].content, options.piece_bytes, kinds);
      if (split && DecodeSplit(files[i], i, *split, resources, seen_process, sink, cache)) continue;
    }
    toml::table root;
    try {
      root = toml::parse(files[i].content, files[i].name);
    } catch (const toml::parse_error& e) {
      Where w;
      w.file = i;
      w.line = e.source().begin.line;
      w.column = e.source().begin.column;
      sink.Error(w, "TOML syntax: " + std::string(e.description()));
      continue;
    }
    DecodeFile(root, i, resources, seen_process, sink, cache);
  }
  auto config = std::make_shared<routing::Config>();
  // Cross-resource checks run even after local errors so that every mistake
  // is reported at once; the config is only published when clean.
  Compiler compiler(resources, sink);
  compiler.Run(*config);
  config->version = result.content_hash;
  result.errors = sink.error_count();
  result.diagnostics = std::move(sink.diagnostics());
  result.warnings = result.diagnostics.size() - result.errors;
  if (result.errors == 0) result.config = std::move(config);
  return result;
}

}  // namespace gh::control
