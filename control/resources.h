// The decoded configuration, one struct per Istio resource, before
// cross-resource validation and compilation (control/compile*.cc). Field names
// follow Istio's spec in snake_case; values are already typed and checked
// locally (types, ranges, enums, regexes). Internal to control/.
#pragma once

#include <toml++/toml.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/diagnostics.h"
#include "routing/matchers.h"
#include "routing/model.h"
#include "routing/net.h"

namespace gh::control {

enum class RouteOrder : uint8_t { kFirstMatch, kSpecificity };

struct PortSpec {
  uint32_t number = 0;
  std::string protocol;  // upper-case Istio name
  std::string name;
  uint32_t target_port = 0;
  Where where;
};

struct ServerHost {
  std::string ns;    // "*": any namespace, otherwise the namespace allowed
  std::string host;  // lowercase
  Where where;
};

struct ServerSpec {
  PortSpec port;
  std::string bind;  // empty: 0.0.0.0
  std::vector<ServerHost> hosts;
  std::optional<routing::ServerTls> tls;
  bool https_redirect = false;
  std::string name;
  bool default_server = false;
  RouteOrder route_order = RouteOrder::kFirstMatch;
  Where where;
};

struct GatewaySpec {
  std::string name, ns;
  std::vector<ServerSpec> servers;
  Where where;
};

struct DestinationSpec {
  std::string host;
  std::string subset;
  std::optional<uint32_t> port;
  Where where;
};

// Per-route IR keeps positions only (no key path): the compiler rebuilds the
// path from indices when it reports something, so 100 000 routes do not
// carry 400 000 path strings.
struct RouteDestinationSpec {
  DestinationSpec destination;
  std::optional<uint32_t> weight;
  std::unique_ptr<routing::HeaderOps> request_headers, response_headers;  // null: none
  std::optional<std::string> authority;  // from a request `:authority`/`host` header op
};

struct HttpMatchSpec {
  bool invalid = false;  // a condition failed to decode (reported): never served
  std::string name;
  routing::HttpMatch match;
  std::optional<uint32_t> port;
  std::vector<std::string> gateways;
  Where where;
};

struct MirrorSpec {
  DestinationSpec destination;
  double percent = 100;
  Where where;
};

// Optional parts are heap-allocated only when present: most routes have none.
struct HttpRouteSpec {
  std::string name;
  std::vector<HttpMatchSpec> matches;  // empty: match everything
  std::vector<RouteDestinationSpec> route;
  std::unique_ptr<routing::RedirectAction> redirect;
  std::optional<routing::DirectResponseAction> direct_response;
  std::unique_ptr<routing::Rewrite> rewrite;
  std::unique_ptr<routing::HeaderOps> request_headers, response_headers;
  std::optional<std::string> header_authority;  // `:authority`/`host` request header op
  routing::Millis timeout{0};
  std::unique_ptr<routing::RetryPolicy> retries;  // null: Gatehouse's default
  std::shared_ptr<const routing::Fault> fault;
  std::vector<MirrorSpec> mirrors;
  bool mirrors_list = false;  // written as `mirrors` (not `mirror`)
  std::shared_ptr<const routing::CorsPolicy> cors;
  uint64_t max_request_body_bytes = 0;
  Where where;  // position only
};

struct L4MatchSpec {
  std::vector<routing::Cidr> destination_subnets;
  std::optional<uint32_t> port;
  std::vector<std::string> gateways;
  std::vector<std::string> sni_hosts;  // tls only, lowercase
  Where where;
};

struct L4RouteSpec {
  std::vector<L4MatchSpec> matches;
  std::vector<RouteDestinationSpec> route;
  Where where;
};

struct VirtualServiceSpec {
  std::string name, ns;
  std::vector<std::string> hosts;  // lowercase
  std::vector<Where> host_where;
  std::vector<std::string> gateways;
  std::vector<Where> gateway_where;
  std::vector<HttpRouteSpec> http;
  std::vector<L4RouteSpec> tcp, tls;
  Where where;
};

struct SeEndpointSpec {
  std::string address;
  std::map<std::string, uint32_t> ports;  // port name -> number
  std::map<std::string, std::string> labels;
  uint32_t weight = 1;
  std::string service_account;
  Where where;
};

struct ServiceEntrySpec {
  std::string name, ns;
  std::vector<std::string> hosts;  // lowercase
  std::vector<Where> host_where;
  std::vector<std::string> addresses;
  std::vector<PortSpec> ports;
  bool mesh_internal = false;
  routing::Resolution resolution = routing::Resolution::kNone;
  std::vector<SeEndpointSpec> endpoints;
  std::vector<std::string> subject_alt_names;
  Where where;
};

struct PortLevelPolicy;

// Each block replaces the inherited one wholesale (Istio subset semantics).
struct TrafficPolicySpec {
  std::optional<routing::LbPolicy> lb_policy;
  std::optional<routing::ConsistentHash> consistent_hash;
  bool has_load_balancer = false;
  std::optional<routing::ConnectionPoolSettings> pool;
  std::optional<routing::UpstreamProtocol> protocol;  // from connection_pool.http
  std::optional<routing::OutlierDetection> outlier;
  std::optional<routing::UpstreamTls> tls;
  std::vector<PortLevelPolicy> port_level;
  Where where;
};

struct PortLevelPolicy {
  uint32_t port = 0;
  TrafficPolicySpec policy;
};

struct SubsetSpec {
  std::string name;
  std::map<std::string, std::string> labels;
  std::optional<TrafficPolicySpec> policy;
  Where where;
};

struct DestinationRuleSpec {
  std::string name, ns;
  std::string host;  // lowercase
  std::optional<TrafficPolicySpec> policy;
  std::vector<SubsetSpec> subsets;
  Where where;
};

struct Resources {
  routing::ProxySettings proxy;
  routing::AdminSettings admin;
  routing::MeshSettings mesh;
  std::vector<GatewaySpec> gateways;
  std::vector<VirtualServiceSpec> virtual_services;
  std::vector<ServiceEntrySpec> service_entries;
  std::vector<DestinationRuleSpec> destination_rules;
};

// The resource kinds decoded from arrays of tables, in decoding order; a large
// file may be split into pieces at their `[[kind]]` headers (toml_split.h).
inline constexpr std::string_view kSplitKinds[] = {"gateway", "virtual_service", "service_entry",
                                                   "destination_rule"};

// Decodes one parsed file into `out` (appending resources in file order).
// `seen_process` tracks which of [proxy]/[admin]/[mesh] an earlier file set.
// `cache` interns matchers across all files of one compilation. When the file
// was split, `root` is its head and `more(kind)` is called right after the
// head's own `kind` resources, to decode that kind's pieces (DecodePiece), so
// resources and diagnostics come out in the same order as for the whole file.
void DecodeFile(const toml::table& root, uint32_t file, Resources& out,
                std::map<std::string, Where>& seen_process, DiagnosticSink& sink,
                routing::MatcherCache& cache,
                const std::function<void(std::string_view kind)>& more = {});

// Decodes one piece of a split file: its `kind` elements, numbered from
// `index_base`, with lines shifted by `line_offset`.
void DecodePiece(const toml::table& root, std::string_view kind, uint32_t file,
                 uint32_t line_offset, size_t index_base, Resources& out, DiagnosticSink& sink,
                 routing::MatcherCache& cache);

}  // namespace gh::control
