// The compiled data-plane configuration: immutable once built by control/,
// shared read-only by every worker through a Snapshot. This header is the
// contract between the config compiler (control/) and the data plane
// (gateway/): plain data plus pure lookup functions, no I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/http.h"

namespace re2 {
class RE2;
}

namespace gh::routing {

using Millis = std::chrono::milliseconds;

// ---------------------------------------------------------------- process ---

enum class AccessLogFormat : uint8_t { kText, kJson };
enum class HeadersWithUnderscores : uint8_t { kAllow, kRejectRequest, kDropHeader };
// What to do with %2F / %5C in a path (Envoy path_with_escaped_slashes_action).
enum class EscapedSlashes : uint8_t { kKeep, kReject, kUnescapeAndRedirect, kUnescapeAndForward };
// Which address families DNS resolution of ServiceEntry names asks for
// (Envoy dns_lookup_family): ALL uses every A and AAAA answer.
enum class DnsLookupFamily : uint8_t { kAll, kV4Only, kV6Only };

struct PathNormalization {
  bool normalize = true;      // RFC 3986 dot segments, unreserved %-decoding
  bool merge_slashes = true;  // "//" -> "/"
  EscapedSlashes escaped_slashes = EscapedSlashes::kUnescapeAndRedirect;
};

// [proxy]: edge-safe defaults (DESIGN.md "Edge-safe defaults").
struct ProxySettings {
  uint32_t workers = 0;               // 0: one per core
  std::string access_log = "stdout";  // "stdout", "off", or a file path
  AccessLogFormat access_log_format = AccessLogFormat::kText;
  uint32_t trusted_hops = 0;
  std::string server_header = "gatehouse";  // "" keeps the upstream's (never adds one)

  uint32_t max_request_headers_bytes = 60 * 1024;
  uint32_t max_request_headers = 100;
  uint32_t connection_buffer_bytes = 32 * 1024;  // high watermark; low = half
  uint64_t max_request_body_bytes = 0;           // 0: unlimited (routes may cap)
  uint32_t max_connections = 50000;              // per process, across workers
  HeadersWithUnderscores headers_with_underscores = HeadersWithUnderscores::kRejectRequest;
  PathNormalization path_normalization;
  std::vector<std::string> upgrades = {"websocket"};  // allowed Upgrade tokens

  Millis request_headers_timeout{10'000};
  Millis idle_timeout{300'000};         // downstream connection without streams
  Millis stream_idle_timeout{300'000};  // no bytes either way on a stream
  Millis request_timeout{0};            // whole request; 0: off
  Millis drain_timeout{30'000};
  Millis upstream_idle_timeout{60'000};  // pooled keep-alive connections
  // ServiceEntry resolution DNS / DNS_ROUND_ROBIN: how often names are
  // resolved again (a shorter record TTL wins, never below 1 s).
  Millis dns_refresh_rate{60'000};
  DnsLookupFamily dns_lookup_family = DnsLookupFamily::kAll;

  // HTTP/2 (downstream)
  uint32_t http2_max_concurrent_streams = 100;
  uint32_t http2_initial_stream_window = 64 * 1024;
  uint32_t http2_initial_connection_window = 1024 * 1024;
  // Abuse limits (each violation: GOAWAY, connection closed, counted by kind).
  uint32_t http2_max_continuations = 8;               // CONTINUATION frames per header block
  uint32_t http2_stream_reset_burst = 1000;           // RST_STREAM token bucket (rapid reset)
  uint32_t http2_stream_reset_rate = 33;              // tokens per second
  uint32_t http2_max_outbound_control_frames = 1000;  // queued PING/SETTINGS ACKs
  uint32_t http2_max_consecutive_empty_frames = 1;    // DATA/HEADERS without payload

  bool watch_config = false;
  // TLS listeners: a ClientHello with no or an unknown SNI is refused
  // (unrecognized_name) instead of going to the listener's default server.
  bool tls_reject_unknown_sni = false;
};

struct AdminSettings {
  std::string address = "127.0.0.1:15000";  // host:port; port 0 picks one
  std::string token_file;                   // empty: no bearer token required
};

enum class OutboundTrafficPolicy : uint8_t { kRegistryOnly, kAllowAny };

struct MeshSettings {
  bool enabled = false;
  std::string trust_domain = "cluster.local";
  OutboundTrafficPolicy outbound_traffic_policy = OutboundTrafficPolicy::kRegistryOnly;
  std::string ca_dir;                      // directory written by `gatehouse ca init`
  std::string namespace_name = "default";  // this gateway's own identity
  std::string service_account = "gatehouse";
  Millis certificate_ttl{24 * 3600 * 1000};
};

// --------------------------------------------------------------- clusters ---

enum class LbPolicy : uint8_t { kLeastRequest, kRoundRobin, kRandom, kRingHash, kMaglev };

struct ConsistentHash {
  enum class Source : uint8_t { kHeader, kCookie, kSourceIp, kQueryParameter };
  Source source = Source::kSourceIp;
  std::string name;  // header (lowercase), cookie or parameter name
  std::string cookie_path;
  Millis cookie_ttl{0};  // > 0: generate the cookie when absent
  uint64_t minimum_ring_size = 1024;
  uint64_t maglev_table_size = 65537;
};

enum class UpstreamTlsMode : uint8_t { kDisable, kSimple, kMutual, kIstioMutual };

struct UpstreamTls {
  UpstreamTlsMode mode = UpstreamTlsMode::kDisable;
  std::string client_certificate, private_key, ca_certificates, ca_crl, credential_name;
  std::string sni;  // empty: the request's Host
  std::vector<std::string> subject_alt_names;
  bool insecure_skip_verify = false;
};

enum class UpstreamProtocol : uint8_t { kHttp1, kH2c, kH2, kSameAsClient };

struct ConnectionPoolSettings {
  uint32_t max_connections = UINT32_MAX;
  Millis connect_timeout{10'000};
  uint32_t http1_max_pending_requests = UINT32_MAX;
  uint32_t http2_max_requests = UINT32_MAX;  // max active requests (any protocol)
  uint32_t max_requests_per_connection = 0;  // 0: unlimited
  uint32_t max_retries = UINT32_MAX;
  uint32_t max_concurrent_streams = INT32_MAX;
  Millis idle_timeout{0};  // 0: ProxySettings::upstream_idle_timeout
  Millis tcp_idle_timeout{3600'000};
};

struct OutlierDetection {
  bool enabled = false;
  uint32_t consecutive_5xx_errors = 5;
  uint32_t consecutive_gateway_errors = 0;
  Millis interval{10'000};
  Millis base_ejection_time{30'000};
  uint32_t max_ejection_percent = 10;
  uint32_t min_health_percent = 0;
};

struct Endpoint {
  std::string address;  // IP literal (STATIC) or resolved name
  uint16_t port = 0;
  uint32_t weight = 1;
  std::map<std::string, std::string> labels;
  std::string service_account;  // expected SPIFFE identity for ISTIO_MUTUAL
};

// ServiceEntry resolution: how endpoint addresses become IPs.
enum class Resolution : uint8_t { kStatic, kDns, kDnsRoundRobin, kNone };

class LbTable;  // consistent-hash ring or maglev table (routing/load_balancer.h)

// One routable upstream: a ServiceEntry host and port, optionally narrowed to
// a DestinationRule subset, with the effective traffic policy.
struct Cluster {
  std::string name;  // Envoy style: outbound|<port>|<subset>|<host>
  std::string host;
  uint16_t port = 0;
  std::string subset;
  std::string service_namespace = "default";
  std::vector<Endpoint> endpoints;
  LbPolicy lb_policy = LbPolicy::kLeastRequest;
  std::optional<ConsistentHash> consistent_hash;
  ConnectionPoolSettings pool;
  OutlierDetection outlier;
  UpstreamTls tls;
  UpstreamProtocol protocol = UpstreamProtocol::kHttp1;
  bool mesh_internal = false;
  std::vector<std::string> subject_alt_names;  // from the ServiceEntry
  // STATIC: endpoints hold IP literals. DNS / DNS_ROUND_ROBIN: endpoints hold
  // names the data plane resolves (every IP / the first IP). NONE: no
  // endpoints; forward to the original destination.
  Resolution resolution = Resolution::kStatic;
  // RING_HASH / MAGLEV: the table, built once at compile time, shared by
  // every worker's picker. Null for the other policies.
  std::shared_ptr<const LbTable> lb_table;
  // Content hash of every field above: pools survive a reload when unchanged.
  uint64_t fingerprint = 0;
};

// ----------------------------------------------------------------- routes ---

struct HeaderOps {
  std::vector<http::Header> set;  // applied in sorted key order
  std::vector<http::Header> add;
  std::vector<std::string> remove;
  bool empty() const { return set.empty() && add.empty() && remove.empty(); }
};

struct Destination {
  uint32_t cluster = 0;  // index into Config::clusters
  uint32_t weight = 1;
  HeaderOps request_headers, response_headers;
  // A destination-level `:authority`/`host` header op: rewrites the authority
  // for this destination only (wins over Route::rewrite.authority).
  std::optional<std::string> authority;
};

struct RetryPolicy {
  uint32_t attempts = 0;  // retries, so at most 1 + attempts tries
  Millis per_try_timeout{0};
  // retry_on, decoded
  bool on_5xx = false, on_gateway_error = false, on_reset = false, on_reset_before_request = false,
       on_connect_failure = false, on_retriable_4xx = false, on_refused_stream = false,
       on_retriable_status_codes = false;
  std::vector<uint32_t> retriable_status_codes;
  std::vector<std::string> grpc_statuses;  // "cancelled", "unavailable", ...
  Millis backoff_base{25};
  Millis backoff_max{250};           // Envoy: 10 x base
  bool retry_non_idempotent = true;  // only when the route's policy says so
  bool retry_ignore_previous_hosts = true;
};

struct Fault {
  Millis delay{0};
  double delay_percent = 0;
  uint32_t abort_status = 0;      // HTTP status, or 0
  std::string abort_grpc_status;  // e.g. "UNAVAILABLE"
  double abort_percent = 0;
};

struct Mirror {
  uint32_t cluster = 0;
  double percent = 100;
};

class StringMatcher;  // exact / prefix / regex, compiled (routing/matchers.h)

struct CorsPolicy {
  std::vector<std::shared_ptr<const StringMatcher>> allow_origins;
  std::string allow_methods, allow_headers, expose_headers, max_age;
  std::optional<bool> allow_credentials;
  bool forward_unmatched_preflights = true;
};

struct Rewrite {
  std::optional<std::string> uri;  // replaces the matched prefix (or whole exact path)
  std::optional<std::string> authority;
  std::shared_ptr<const re2::RE2> uri_regex;  // uri_regex_rewrite.match
  std::string uri_regex_substitution;
};

struct ForwardAction {
  std::vector<Destination> destinations;
  uint64_t total_weight = 0;
};

struct RedirectAction {
  std::optional<std::string> uri, prefix_rewrite, authority, scheme;
  std::optional<uint16_t> port;
  enum class DerivePort : uint8_t { kNone, kFromProtocolDefault, kFromRequestPort };
  DerivePort derive_port = DerivePort::kNone;
  uint32_t code = 301;
};

struct DirectResponseAction {
  uint32_t status = 200;
  std::string body;
};

using Action = std::variant<ForwardAction, RedirectAction, DirectResponseAction>;

// One compiled HTTP route: one `match` entry of one virtual-service rule.
// The matcher itself is owned by the route table; this is what it resolves to.
struct Route {
  std::string name;             // rule name, or "<vs>.<rule index>"
  std::string virtual_service;  // "namespace/name"
  uint32_t rule_index = 0;
  uint32_t match_index = 0;  // index of the `match` entry within the rule
  std::string match_name;    // the match entry's `name`, if any
  Action action;
  HeaderOps request_headers, response_headers;
  Rewrite rewrite;
  Millis timeout{0};  // 0: none (Istio default)
  RetryPolicy retries;
  std::shared_ptr<const Fault> fault;  // null: no fault injection
  std::vector<Mirror> mirrors;
  std::shared_ptr<const CorsPolicy> cors;  // null: no CORS handling
  uint64_t max_request_body_bytes = 0;     // 0: proxy default
  // Length of the matched uri prefix, for prefix rewrites (set per match).
  bool prefix_match = false;
  std::string matched_prefix;
};

// What a request looks like to the router. `path` includes the query string
// and is already normalised by the data plane (routing/path_normalizer.h).
struct RequestView {
  std::string_view method;
  std::string_view scheme;     // "http" / "https"
  std::string_view authority;  // Host or :authority, as received
  std::string_view path;
  const http::HeaderMap* headers = nullptr;
  uint16_t port = 0;           // listener port
  std::string_view source_ip;  // peer address
};

// ------------------------------------------------------------- listeners ---

enum class ServerProtocol : uint8_t { kHttp, kHttps, kHttp2, kGrpc, kGrpcWeb, kTcp, kTls };
enum class ServerTlsMode : uint8_t {
  kPassthrough,
  kSimple,
  kMutual,
  kOptionalMutual,
  kIstioMutual,
  kAutoPassthrough
};
enum class TlsVersion : uint8_t { kAuto, k1_0, k1_1, k1_2, k1_3 };

struct CertificateFiles {
  std::string certificate_chain, private_key;
};

struct ServerTls {
  ServerTlsMode mode = ServerTlsMode::kPassthrough;
  std::vector<CertificateFiles> certificates;  // one or two (RSA + ECDSA)
  std::string credential_name;
  std::string ca_certificates, ca_crl;
  std::vector<std::string> subject_alt_names, verify_certificate_spki, verify_certificate_hash;
  TlsVersion min_protocol_version = TlsVersion::k1_2;
  TlsVersion max_protocol_version = TlsVersion::k1_3;
  std::vector<std::string> cipher_suites, ecdh_curves;
  bool insecure_skip_verify = false;
};

class HttpRouteTable;  // routing/route_table.h
class TcpRouteTable;   // routing/tcp_route_table.h

struct Server {
  std::string name;     // "<gateway ns>/<gateway name>/<index>" unless named
  std::string gateway;  // "namespace/name"
  std::string port_name;
  ServerProtocol protocol = ServerProtocol::kHttp;
  std::vector<std::string> hosts;  // lowercase; "*" or "*.suffix" allowed
  std::optional<ServerTls> tls;
  bool https_redirect = false;
  // HTTP-ish servers: the table answering for this server. Plain-HTTP servers
  // sharing a port share one table; each terminating HTTPS server has its own.
  std::shared_ptr<const HttpRouteTable> http_routes;
};

enum class ListenerKind : uint8_t {
  kHttp,            // plain HTTP/1.1 and h2c
  kHttps,           // TLS termination, then HTTP
  kTlsTerminated,   // TLS termination, then tcp routes
  kTlsPassthrough,  // SNI peek, tls routes
  kTcp,             // tcp routes
};

struct Listener {
  std::string name;  // "<bind>_<port>"
  std::string bind = "0.0.0.0";
  uint16_t port = 0;
  ListenerKind kind = ListenerKind::kHttp;
  std::vector<Server> servers;
  // Server used when the ClientHello has no SNI or an SNI no server claims:
  // the one marked `default_server = true`, else the first with host "*",
  // else the first server (routing/server_select.h).
  uint32_t default_server = 0;
  std::shared_ptr<const TcpRouteTable> tcp_routes;  // tcp + tls (sni) routes
};

// ------------------------------------------------------------------ config ---

// Every compiled resource of one configuration version.
struct Config {
  ProxySettings proxy;
  AdminSettings admin;
  MeshSettings mesh;
  std::vector<Listener> listeners;
  std::vector<Cluster> clusters;
  // Content hash of the source files (hex), the config version.
  std::string version;
};

}  // namespace gh::routing
