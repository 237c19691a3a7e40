#include "admin/api.h"

#include <openssl/crypto.h>

#include <array>
#include <set>

#include "admin/metrics.h"
#include "base/log.h"
#include "base/strings.h"
#include "control/explain.h"
#include "routing/http_route_table.h"
#include "routing/tcp_route_table.h"

namespace gh::admin {
namespace {

using nlohmann::json;

constexpr std::string_view kRedacted = "[redacted]";

enum class Method : uint8_t { kGet, kPost };

struct Endpoint {
  std::string_view path;
  Method method;
  std::string_view help;
};

// Envoy's names where the semantics match (operator muscle memory).
constexpr std::array<Endpoint, 16> kEndpoints = {{
    {"/", Method::kGet, "this index"},
    {"/ready", Method::kGet, "200 LIVE once every worker runs the first config; 503 otherwise"},
    {"/healthz", Method::kGet, "200 while the process runs (liveness)"},
    {"/server_info", Method::kGet,
     "version, uptime, state, workers, config versions (desired and applied per worker)"},
    {"/stats", Method::kGet, "every metric as text; ?format=json for JSON, ?format=prometheus"},
    {"/stats/prometheus", Method::kGet, "Prometheus text exposition format 0.0.4"},
    {"/config_dump", Method::kGet,
     "effective config as JSON (secrets redacted), version, hash, last reload error"},
    {"/clusters", Method::kGet,
     "clusters: endpoints, health, active requests, pool connections, pending requests"},
    {"/listeners", Method::kGet, "listeners: names and bound addresses"},
    {"/certs", Method::kGet, "certificates: subject, SANs, SPIFFE ID, expiry"},
    {"/reload", Method::kPost,
     "reload the config (400 with every error when invalid); ?dry_run=1 shows the changes"},
    {"/drain", Method::kPost, "graceful drain: stop accepting, finish in-flight, exit 0"},
    {"/drain_listeners", Method::kPost, "alias of /drain"},
    {"/quitquitquit", Method::kPost, "exit now (in-flight requests are cut)"},
    {"/logging", Method::kPost,
     "application log levels: ?level=L (all), ?<component>=L, ?paths=a:L,b:L; no "
     "parameter lists them"},
    {"/help", Method::kGet, "this index"},
}};

const Endpoint* FindEndpoint(std::string_view path) {
  for (const Endpoint& e : kEndpoints) {
    if (e.path == path) return &e;
  }
  return nullptr;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool SensitiveHeader(std::string_view name) {
  static const std::set<std::string, std::less<>> kNames = {
      "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token"};
  return kNames.count(AsciiLowered(name)) != 0;
}

// ---------------------------------------------------------------- config dump

const char* Name(routing::AccessLogFormat f) {
  return f == routing::AccessLogFormat::kJson ? "json" : "text";
}

const char* Name(routing::DnsLookupFamily f) {
  switch (f) {
    case routing::DnsLookupFamily::kV4Only:
      return "V4_ONLY";
    case routing::DnsLookupFamily::kV6Only:
      return "V6_ONLY";
    case routing::DnsLookupFamily::kAll:
      break;
  }
  return "ALL";
}

const char* Name(routing::ListenerKind k) {
  switch (k) {
    case routing::ListenerKind::kHttp:
      return "http";
    case routing::ListenerKind::kHttps:
      return "https";
    case routing::ListenerKind::kTlsTerminated:
      return "tls_terminated";
    case routing::ListenerKind::kTlsPassthrough:
      return "tls_passthrough";
    case routing::ListenerKind::kTcp:
      return "tcp";
  }
  return "unknown";
}

const char* Name(routing::ServerProtocol p) {
  switch (p) {
    case routing::ServerProtocol::kHttp:
      return "HTTP";
    case routing::ServerProtocol::kHttps:
      return "HTTPS";
    case routing::ServerProtocol::kHttp2:
      return "HTTP2";
    case routing::ServerProtocol::kGrpc:
      return "GRPC";
    case routing::ServerProtocol::kGrpcWeb:
      return "GRPC-WEB";
    case routing::ServerProtocol::kTcp:
      return "TCP";
    case routing::ServerProtocol::kTls:
      return "TLS";
  }
  return "unknown";
}

const char* Name(routing::ServerTlsMode m) {
  switch (m) {
    case routing::ServerTlsMode::kPassthrough:
      return "PASSTHROUGH";
    case routing::ServerTlsMode::kSimple:
      return "SIMPLE";
    case routing::ServerTlsMode::kMutual:
      return "MUTUAL";
    case routing::ServerTlsMode::kOptionalMutual:
      return "OPTIONAL_MUTUAL";
    case routing::ServerTlsMode::kIstioMutual:
      return "ISTIO_MUTUAL";
    case routing::ServerTlsMode::kAutoPassthrough:
      return "AUTO_PASSTHROUGH";
  }
  return "unknown";
}

const char* Name(routing::UpstreamTlsMode m) {
  switch (m) {
    case routing::UpstreamTlsMode::kDisable:
      return "DISABLE";
    case routing::UpstreamTlsMode::kSimple:
      return "SIMPLE";
    case routing::UpstreamTlsMode::kMutual:
      return "MUTUAL";
    case routing::UpstreamTlsMode::kIstioMutual:
      return "ISTIO_MUTUAL";
  }
  return "unknown";
}

const char* Name(routing::LbPolicy p) {
  switch (p) {
    case routing::LbPolicy::kLeastRequest:
      return "LEAST_REQUEST";
    case routing::LbPolicy::kRoundRobin:
      return "ROUND_ROBIN";
    case routing::LbPolicy::kRandom:
      return "RANDOM";
    case routing::LbPolicy::kRingHash:
      return "RING_HASH";
    case routing::LbPolicy::kMaglev:
      return "MAGLEV";
  }
  return "unknown";
}

const char* Name(routing::UpstreamProtocol p) {
  switch (p) {
    case routing::UpstreamProtocol::kHttp1:
      return "HTTP1";
    case routing::UpstreamProtocol::kH2c:
      return "H2C";
    case routing::UpstreamProtocol::kH2:
      return "H2";
    case routing::UpstreamProtocol::kSameAsClient:
      return "SAME_AS_CLIENT";
  }
  return "unknown";
}

const char* Name(routing::Resolution r) {
  switch (r) {
    case routing::Resolution::kStatic:
      return "STATIC";
    case routing::Resolution::kDns:
      return "DNS";
    case routing::Resolution::kDnsRoundRobin:
      return "DNS_ROUND_ROBIN";
    case routing::Resolution::kNone:
      return "NONE";
  }
  return "unknown";
}

int64_t Ms(routing::Millis ms) {
  return static_cast<int64_t>(ms.count());
}

// uint32 "unlimited" sentinels print as null.
json Limit(uint64_t value, uint64_t unlimited) {
  return value >= unlimited ? json(nullptr) : json(value);
}

std::string Redact(const std::string& secret) {
  return secret.empty() ? std::string() : std::string(kRedacted);
}

json HeaderOpsJson(const routing::HeaderOps& ops) {
  json out = json::object();
  auto list = [](const std::vector<http::Header>& headers) {
    json a = json::array();
    for (const http::Header& h : headers) {
      a.push_back(
          {{"name", h.name}, {"value", SensitiveHeader(h.name) ? Redact(h.value) : h.value}});
    }
    return a;
  };
  if (!ops.set.empty()) out["set"] = list(ops.set);
  if (!ops.add.empty()) out["add"] = list(ops.add);
  if (!ops.remove.empty()) out["remove"] = ops.remove;
  return out;
}

json ProxyJson(const routing::ProxySettings& p) {
  return {
      {"workers", p.workers},
      {"access_log", p.access_log},
      {"access_log_format", Name(p.access_log_format)},
      {"trusted_hops", p.trusted_hops},
      {"server_header", p.server_header},
      {"max_request_headers_bytes", p.max_request_headers_bytes},
      {"max_request_headers", p.max_request_headers},
      {"connection_buffer_bytes", p.connection_buffer_bytes},
      {"max_request_body_bytes", p.max_request_body_bytes},
      {"max_connections", p.max_connections},
      {"upgrades", p.upgrades},
      {"request_headers_timeout_ms", Ms(p.request_headers_timeout)},
      {"idle_timeout_ms", Ms(p.idle_timeout)},
      {"stream_idle_timeout_ms", Ms(p.stream_idle_timeout)},
      {"request_timeout_ms", Ms(p.request_timeout)},
      {"drain_timeout_ms", Ms(p.drain_timeout)},
      {"upstream_idle_timeout_ms", Ms(p.upstream_idle_timeout)},
      {"dns_refresh_rate_ms", Ms(p.dns_refresh_rate)},
      {"dns_lookup_family", Name(p.dns_lookup_family)},
      {"http2_max_concurrent_streams", p.http2_max_concurrent_streams},
      {"http2_initial_stream_window", p.http2_initial_stream_window},
      {"http2_initial_connection_window", p.http2_initial_connection_window},
      {"watch_config", p.watch_config},
  };
}

json ServerTlsJson(const routing::ServerTls& tls) {
  json certificates = json::array();
  for (const routing::CertificateFiles& c : tls.certificates) {
    certificates.push_back(
        {{"certificate_chain", c.certificate_chain}, {"private_key", Redact(c.private_key)}});
  }
  return {
      {"mode", Name(tls.mode)},
      {"certificates", std::move(certificates)},
      {"credential_name", tls.credential_name},
      {"ca_certificates", tls.ca_certificates},
      {"ca_crl", tls.ca_crl},
      {"subject_alt_names", tls.subject_alt_names},
      {"min_protocol_version", static_cast<int>(tls.min_protocol_version)},
      {"max_protocol_version", static_cast<int>(tls.max_protocol_version)},
      {"cipher_suites", tls.cipher_suites},
  };
}

json RouteJson(const routing::RouteEntry& entry, const routing::Config& config) {
  const routing::Route& r = *entry.route;
  json out = {
      {"name", r.name},
      {"virtual_service", r.virtual_service},
      {"rule_index", r.rule_index},
      {"match_index", r.match_index},
      {"match", control::DescribeMatch(entry.match)},
      {"action", control::DescribeAction(r, config)},
  };
  if (!r.match_name.empty()) out["match_name"] = r.match_name;
  if (const auto* fwd = std::get_if<routing::ForwardAction>(&r.action)) {
    json destinations = json::array();
    for (const routing::Destination& d : fwd->destinations) {
      json dj = {{"cluster", d.cluster < config.clusters.size() ? config.clusters[d.cluster].name
                                                                : std::string("?")},
                 {"weight", d.weight}};
      if (!d.request_headers.empty()) dj["request_headers"] = HeaderOpsJson(d.request_headers);
      if (!d.response_headers.empty()) dj["response_headers"] = HeaderOpsJson(d.response_headers);
      destinations.push_back(std::move(dj));
    }
    out["destinations"] = std::move(destinations);
  } else if (const auto* direct = std::get_if<routing::DirectResponseAction>(&r.action)) {
    out["direct_response"] = {{"status", direct->status}, {"body_bytes", direct->body.size()}};
  }
  if (!r.request_headers.empty()) out["request_headers"] = HeaderOpsJson(r.request_headers);
  if (!r.response_headers.empty()) out["response_headers"] = HeaderOpsJson(r.response_headers);
  if (r.timeout.count() > 0) out["timeout_ms"] = Ms(r.timeout);
  if (r.retries.attempts > 0) {
    out["retries"] = {{"attempts", r.retries.attempts},
                      {"per_try_timeout_ms", Ms(r.retries.per_try_timeout)}};
  }
  return out;
}

json ListenerJson(const routing::Listener& l, const routing::Config& config) {
  json servers = json::array();
  for (const routing::Server& s : l.servers) {
    json sj = {{"name", s.name},           {"gateway", s.gateway},
               {"port_name", s.port_name}, {"protocol", Name(s.protocol)},
               {"hosts", s.hosts},         {"https_redirect", s.https_redirect}};
    if (s.tls) sj["tls"] = ServerTlsJson(*s.tls);
    if (const auto* table =
            dynamic_cast<const routing::CompiledHttpRouteTable*>(s.http_routes.get())) {
      json vhosts = json::array();
      for (const routing::VirtualHost& vh : table->virtual_hosts()) {
        json routes = json::array();
        for (const routing::RouteEntry& e : vh.routes)
          routes.push_back(RouteJson(e, config));
        vhosts.push_back({{"name", vh.name}, {"routes", std::move(routes)}});
      }
      sj["virtual_hosts"] = std::move(vhosts);
    }
    servers.push_back(std::move(sj));
  }
  json out = {{"name", l.name},
              {"bind", l.bind},
              {"port", l.port},
              {"kind", Name(l.kind)},
              {"servers", std::move(servers)}};
  if (l.tcp_routes) {
    json tcp = json::array();
    for (const auto* list : {&l.tcp_routes->tcp_routes(), &l.tcp_routes->tls_routes()}) {
      for (const routing::TcpRouteEntry& e : *list) {
        json destinations = json::array();
        for (const routing::Destination& d : e.route->destinations) {
          destinations.push_back(
              {{"cluster", d.cluster < config.clusters.size() ? config.clusters[d.cluster].name
                                                              : std::string("?")},
               {"weight", d.weight}});
        }
        tcp.push_back({{"name", e.route->name},
                       {"virtual_service", e.route->virtual_service},
                       {"sni_hosts", e.match.sni_hosts},
                       {"destinations", std::move(destinations)}});
      }
    }
    out["tcp_routes"] = std::move(tcp);
  }
  return out;
}

json ClusterConfigJson(const routing::Cluster& c) {
  json endpoints = json::array();
  for (const routing::Endpoint& e : c.endpoints) {
    endpoints.push_back({{"address", e.address},
                         {"port", e.port},
                         {"weight", e.weight},
                         {"labels", e.labels},
                         {"service_account", e.service_account}});
  }
  const routing::ConnectionPoolSettings& p = c.pool;
  json out = {
      {"name", c.name},
      {"host", c.host},
      {"port", c.port},
      {"subset", c.subset},
      {"namespace", c.service_namespace},
      {"resolution", Name(c.resolution)},
      {"lb_policy", Name(c.lb_policy)},
      {"protocol", Name(c.protocol)},
      {"mesh_internal", c.mesh_internal},
      {"fingerprint", std::to_string(c.fingerprint)},
      {"endpoints", std::move(endpoints)},
      {"connection_pool",
       {{"max_connections", Limit(p.max_connections, UINT32_MAX)},
        {"connect_timeout_ms", Ms(p.connect_timeout)},
        {"http1_max_pending_requests", Limit(p.http1_max_pending_requests, UINT32_MAX)},
        {"http2_max_requests", Limit(p.http2_max_requests, UINT32_MAX)},
        {"max_requests_per_connection", p.max_requests_per_connection},
        {"idle_timeout_ms", Ms(p.idle_timeout)}}},
      {"outlier_detection",
       {{"enabled", c.outlier.enabled},
        {"consecutive_5xx_errors", c.outlier.consecutive_5xx_errors},
        {"interval_ms", Ms(c.outlier.interval)},
        {"base_ejection_time_ms", Ms(c.outlier.base_ejection_time)}}},
      {"tls",
       {{"mode", Name(c.tls.mode)},
        {"client_certificate", c.tls.client_certificate},
        {"private_key", Redact(c.tls.private_key)},
        {"ca_certificates", c.tls.ca_certificates},
        {"credential_name", c.tls.credential_name},
        {"sni", c.tls.sni},
        {"subject_alt_names", c.tls.subject_alt_names},
        {"insecure_skip_verify", c.tls.insecure_skip_verify}}},
  };
  return out;
}

// ---------------------------------------------------------------- handlers

std::string StateLine(const ServerInfo& info) {
  return info.state + "\n";
}

json ServerInfoJson(const ServerInfo& info) {
  json applied = json::array();
  for (uint64_t v : info.applied_versions)
    applied.push_back(v);
  return {
      {"version", info.version},
      {"state", info.state},
      {"ready", info.ready},
      {"uptime_seconds", info.uptime_seconds},
      {"pid", info.pid},
      {"workers", info.workers},
      {"admin_address", info.admin_address},
      {"command_line", {{"config", info.config_path}, {"watch_config", info.watch_config}}},
      {"config",
       {{"desired_version", info.desired_version},
        {"applied_versions", std::move(applied)},
        {"hash", info.config_hash},
        {"reloads", info.reloads},
        {"reload_failures", info.reload_failures},
        {"last_reload_error",
         info.last_reload_error.empty() ? json(nullptr) : json(info.last_reload_error)},
        {"last_publish_latency_ms", info.last_publish_latency_ms}}},
  };
}

Response NotFound() {
  return Response::Text(404, "no such endpoint\n\n" + Api::Index());
}

Response MethodNotAllowed(Method allowed) {
  Response r = Response::Text(405, std::string("method not allowed: use ") +
                                       (allowed == Method::kGet ? "GET" : "POST") + "\n");
  r.headers.push_back({"allow", allowed == Method::kGet ? "GET" : "POST"});
  return r;
}

// Bearer token check for mutating endpoints; nullopt when allowed.
std::optional<Response> CheckToken(Backend& backend, const Request& request) {
  std::optional<Result<std::string>> token = backend.AdminToken();
  if (!token.has_value()) return std::nullopt;  // no token_file configured
  if (!token->ok()) {
    GH_LOG(kAdmin, kError, "admin token unavailable: " << token->error().message);
    return Response::Text(403, "admin token unavailable; refusing mutating requests\n");
  }
  const std::string* authorization = request.headers.Get("authorization");
  constexpr std::string_view kBearer = "bearer ";
  if (authorization == nullptr || authorization->size() <= kBearer.size() ||
      !AsciiIEquals(std::string_view(*authorization).substr(0, kBearer.size()), kBearer)) {
    Response r = Response::Text(401, "authorization required: Authorization: Bearer <token>\n");
    r.headers.push_back({"www-authenticate", "Bearer realm=\"gatehouse-admin\""});
    return r;
  }
  const std::string_view presented =
      TrimOws(std::string_view(*authorization).substr(kBearer.size()));
  if (!ConstantTimeEquals(presented, **token)) {
    GH_LOG(kAdmin, kWarn,
           "admin request " << request.method << " " << request.path
                            << " refused: wrong bearer token");
    return Response::Text(403, "forbidden: wrong token\n");
  }
  return std::nullopt;
}

bool Truthy(const std::string* value) {
  return value != nullptr &&
         (value->empty() || *value == "1" || *value == "true" || *value == "yes");
}

void HandleStats(Backend& backend, const Request& request, Reply reply, bool prometheus) {
  std::string format = prometheus ? "prometheus" : "text";
  if (const std::string* f = request.Param("format")) format = *f;
  if (format != "prometheus" && format != "json" && format != "text") {
    reply(Response::Text(400, "unknown format '" + format + "': use json, prometheus or text\n"));
    return;
  }
  backend.CollectStats(
      [&backend, format, reply = std::move(reply)](std::vector<gateway::WorkerStats> shards) {
        const ServerInfo info = backend.Info();
        const std::shared_ptr<const routing::Config> config = backend.Config();
        const std::map<std::string, std::string> namespaces = backend.KnownClusterNamespaces();
        MetricsInput input;
        input.server = &info;
        input.workers = &shards;
        input.config = config.get();
        input.cluster_namespaces = &namespaces;
        const auto families = BuildMetricFamilies(input);
        if (format == "json") {
          reply(Response::Json(200, RenderStatsJson(families)));
        } else if (format == "prometheus") {
          Response r = Response::Text(200, RenderPrometheus(families));
          r.content_type = "text/plain; version=0.0.4; charset=utf-8";
          reply(std::move(r));
        } else {
          reply(Response::Text(200, RenderStatsText(families)));
        }
      });
}

void HandleReload(Backend& backend, const Request& request, Reply reply) {
  if (Truthy(request.Param("dry_run"))) {
    Result<std::vector<control::ConfigChange>> changes = backend.DryRun();
    if (!changes.ok()) {
      reply(Response::Text(
          400, "invalid config; nothing would change:\n" + changes.error().message + "\n"));
      return;
    }
    std::string body;
    for (const control::ConfigChange& c : *changes)
      body += c.ToString() + "\n";
    body += std::to_string(changes->size()) + (changes->size() == 1 ? " change" : " changes") +
            " (dry run: nothing applied)\n";
    reply(Response::Text(200, std::move(body)));
    return;
  }
  if (backend.Info().state == "DRAINING" || backend.Info().state == "STOPPED") {
    reply(Response::Text(503, "draining: reload refused\n"));
    return;
  }
  Result<uint64_t> version = backend.Reload();
  if (!version.ok()) {
    reply(Response::Text(400, "reload rejected; still running version " +
                                  std::to_string(backend.Info().desired_version) + ":\n" +
                                  version.error().message + "\n"));
    return;
  }
  reply(Response::Text(200, "published config version " + std::to_string(*version) + "\n"));
}

}  // namespace

// ---------------------------------------------------------------- Request / Response

Request Request::Make(std::string method, std::string target) {
  Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  const size_t q = r.target.find('?');
  r.path = PercentDecode(std::string_view(r.target).substr(0, q));
  if (q != std::string::npos) {
    for (std::string_view part : SplitList(std::string_view(r.target).substr(q + 1), '&')) {
      if (part.empty()) continue;
      const size_t eq = part.find('=');
      r.query.emplace_back(PercentDecode(part.substr(0, eq)),
                           eq == std::string_view::npos ? "" : PercentDecode(part.substr(eq + 1)));
    }
  }
  return r;
}

const std::string* Request::Param(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return &v;
  }
  return nullptr;
}

Response Response::Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::Json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  r.body.push_back('\n');
  return r;
}

// ---------------------------------------------------------------- Api

std::string Api::Index() {
  std::string out = "gatehouse admin\n\n";
  for (const Endpoint& e : kEndpoints) {
    std::string line =
        std::string(e.method == Method::kGet ? "GET  " : "POST ") + std::string(e.path);
    line.resize(std::max<size_t>(line.size() + 1, 24), ' ');
    out += line + std::string(e.help) + "\n";
  }
  return out;
}

void Api::Handle(const Request& request, Reply reply) {
  const Endpoint* endpoint = FindEndpoint(request.path);
  if (endpoint == nullptr) {
    reply(NotFound());
    return;
  }
  const bool get = request.method == "GET" || request.method == "HEAD";
  if ((endpoint->method == Method::kGet && !get) ||
      (endpoint->method == Method::kPost && request.method != "POST")) {
    reply(MethodNotAllowed(endpoint->method));
    return;
  }
  if (endpoint->method == Method::kPost) {
    if (std::optional<Response> refused = CheckToken(backend_, request)) {
      reply(std::move(*refused));
      return;
    }
    GH_LOG(kAdmin, kInfo, "admin: POST " << request.target);
  }
  const std::string_view path = request.path;
  if (path == "/" || path == "/help") {
    reply(Response::Text(200, Index()));
  } else if (path == "/ready") {
    const ServerInfo info = backend_.Info();
    reply(Response::Text(info.ready ? 200 : 503, StateLine(info)));
  } else if (path == "/healthz") {
    reply(Response::Text(200, "OK\n"));
  } else if (path == "/server_info") {
    reply(Response::Json(200, ServerInfoJson(backend_.Info())));
  } else if (path == "/stats" || path == "/stats/prometheus") {
    HandleStats(backend_, request, std::move(reply), path == "/stats/prometheus");
  } else if (path == "/config_dump") {
    const ServerInfo info = backend_.Info();
    std::shared_ptr<const routing::Config> config = backend_.Config();
    json out = {{"version", info.desired_version},
                {"applied_versions", info.applied_versions},
                {"hash", info.config_hash},
                {"last_reload_error",
                 info.last_reload_error.empty() ? json(nullptr) : json(info.last_reload_error)},
                {"reload_failures", info.reload_failures}};
    out["config"] = config != nullptr ? ConfigDump(*config) : json(nullptr);
    reply(Response::Json(200, out));
  } else if (path == "/clusters") {
    std::shared_ptr<const routing::Config> config = backend_.Config();
    backend_.CollectStats(
        [config, reply = std::move(reply)](std::vector<gateway::WorkerStats> shards) {
          gateway::WorkerStats merged;
          for (const gateway::WorkerStats& s : shards)
            merged.Merge(s);
          reply(Response::Json(200, config != nullptr ? ClustersJson(*config, merged)
                                                      : json{{"clusters", json::array()}}));
        });
  } else if (path == "/listeners") {
    std::shared_ptr<const routing::Config> config = backend_.Config();
    reply(Response::Json(200, config != nullptr ? ListenersJson(*config, backend_.ListenerPorts())
                                                : json{{"listeners", json::array()}}));
  } else if (path == "/certs") {
    reply(Response::Json(200, CertificatesJson(backend_.Certificates(), tls::NowSeconds())));
  } else if (path == "/reload") {
    HandleReload(backend_, request, std::move(reply));
  } else if (path == "/drain" || path == "/drain_listeners") {
    Response r = Response::Text(200, "draining\n");
    r.after = [this] { backend_.Drain(); };
    reply(std::move(r));
  } else if (path == "/quitquitquit") {
    Response r = Response::Text(200, "OK\n");
    r.after = [this] { backend_.Quit(); };
    reply(std::move(r));
  } else if (path == "/logging") {
    const std::string error = ApplyLogging(request);
    if (!error.empty()) {
      reply(Response::Text(400, error + "\n" + DescribeLogLevels()));
    } else {
      reply(Response::Text(200, DescribeLogLevels()));
    }
  } else {
    reply(NotFound());
  }
}

// ---------------------------------------------------------------- renderers

json ConfigDump(const routing::Config& config) {
  json listeners = json::array();
  for (const routing::Listener& l : config.listeners)
    listeners.push_back(ListenerJson(l, config));
  json clusters = json::array();
  for (const routing::Cluster& c : config.clusters)
    clusters.push_back(ClusterConfigJson(c));
  const routing::MeshSettings& mesh = config.mesh;
  return {
      {"version", config.version},
      {"proxy", ProxyJson(config.proxy)},
      {"admin",
       {{"address", config.admin.address}, {"token_file", Redact(config.admin.token_file)}}},
      {"mesh",
       {{"enabled", mesh.enabled},
        {"trust_domain", mesh.trust_domain},
        {"namespace", mesh.namespace_name},
        {"service_account", mesh.service_account},
        {"ca_dir", Redact(mesh.ca_dir)},
        {"certificate_ttl_ms", Ms(mesh.certificate_ttl)}}},
      {"listeners", std::move(listeners)},
      {"clusters", std::move(clusters)},
  };
}

json ClustersJson(const routing::Config& config, const gateway::WorkerStats& merged) {
  json out = json::array();
  auto stats_json = [](const gateway::ClusterStats& s) {
    json endpoints = json::array();
    for (const gateway::EndpointStats& e : s.endpoints) {
      endpoints.push_back({{"address", e.address},
                           {"health", e.healthy ? "healthy" : "unhealthy"},
                           {"weight", e.weight},
                           {"active_requests", e.active_requests},
                           {"connections_active", e.connections_active},
                           {"connections_idle", e.connections_idle},
                           {"pending_requests", e.pending_requests}});
    }
    return json{{"active_requests", s.active_requests},
                {"connections", s.connections},
                {"pending_requests", s.pending_requests},
                {"endpoints", std::move(endpoints)}};
  };
  for (const routing::Cluster& c : config.clusters) {
    json cj = {{"name", c.name},
               {"host", c.host},
               {"port", c.port},
               {"subset", c.subset},
               {"namespace", c.service_namespace},
               {"lb_policy", Name(c.lb_policy)},
               {"state", "active"},
               {"circuit_breakers",
                {{"max_connections", Limit(c.pool.max_connections, UINT32_MAX)},
                 {"max_pending_requests", Limit(c.pool.http1_max_pending_requests, UINT32_MAX)},
                 {"max_requests", Limit(c.pool.http2_max_requests, UINT32_MAX)}}}};
    auto it = merged.clusters.find(c.name);
    if (it != merged.clusters.end()) {
      cj.update(stats_json(it->second));
      // Weights the workers did not report: the configured ones, joined by
      // index (static endpoints keep config order).
      for (size_t i = 0; i < cj["endpoints"].size() && i < c.endpoints.size(); ++i) {
        if (cj["endpoints"][i]["weight"] == 0) cj["endpoints"][i]["weight"] = c.endpoints[i].weight;
      }
    } else {
      // No worker has used it yet: configured endpoints, nothing open.
      json endpoints = json::array();
      for (const routing::Endpoint& e : c.endpoints) {
        endpoints.push_back({{"address", e.address + ":" + std::to_string(e.port)},
                             {"health", "healthy"},
                             {"weight", e.weight},
                             {"active_requests", 0},
                             {"connections_active", 0},
                             {"connections_idle", 0},
                             {"pending_requests", 0}});
      }
      cj.update(json{{"active_requests", 0},
                     {"connections", 0},
                     {"pending_requests", 0},
                     {"endpoints", std::move(endpoints)}});
    }
    out.push_back(std::move(cj));
  }
  // Clusters removed or changed by a reload, still finishing their requests.
  for (const auto& [key, s] : merged.clusters) {
    const size_t retired = key.rfind("#retired");
    if (retired == std::string::npos) continue;
    json cj = {{"name", key.substr(0, retired)},
               {"host", s.host},
               {"namespace", s.service_namespace},
               {"state", "draining"}};
    cj.update(stats_json(s));
    out.push_back(std::move(cj));
  }
  return json{{"clusters", std::move(out)}};
}

json ListenersJson(const routing::Config& config, const std::map<std::string, uint16_t>& ports) {
  json out = json::array();
  for (const routing::Listener& l : config.listeners) {
    auto it = ports.find(l.name);
    const uint16_t port = it != ports.end() ? it->second : l.port;
    const std::string host = l.bind.find(':') != std::string::npos ? "[" + l.bind + "]" : l.bind;
    json servers = json::array();
    for (const routing::Server& s : l.servers) {
      servers.push_back({{"name", s.name}, {"protocol", Name(s.protocol)}, {"hosts", s.hosts}});
    }
    out.push_back({{"name", l.name},
                   {"address", host + ":" + std::to_string(port)},
                   {"configured_port", l.port},
                   {"port", port},
                   {"kind", Name(l.kind)},
                   {"servers", std::move(servers)}});
  }
  return json{{"listeners", std::move(out)}};
}

json CertificatesJson(const std::vector<CertificateEntry>& entries, tls::UnixSeconds now) {
  json out = json::array();
  for (const CertificateEntry& e : entries) {
    json ej = {{"path", e.path}, {"role", e.role}, {"used_by", e.used_by}};
    if (!e.error.empty()) {
      ej["error"] = e.error;
      out.push_back(std::move(ej));
      continue;
    }
    json chain = json::array();
    for (const tls::CertInfo& c : e.chain) {
      const int64_t seconds = c.SecondsToExpiry(now);
      chain.push_back({{"subject", c.subject},
                       {"issuer", c.issuer},
                       {"serial_number", c.serial_hex},
                       {"dns_sans", c.dns_sans},
                       {"uri_sans", c.uri_sans},
                       {"ip_sans", c.ip_sans},
                       {"spiffe_id", c.spiffe_id},
                       {"not_before", c.not_before.time_since_epoch().count()},
                       {"expiration_time", c.not_after.time_since_epoch().count()},
                       {"seconds_until_expiration", seconds},
                       {"days_until_expiration", seconds / 86400},
                       {"key_type", c.key_type},
                       {"is_ca", c.is_ca},
                       {"sha256", c.sha256_hex}});
    }
    ej["chain"] = std::move(chain);
    out.push_back(std::move(ej));
  }
  return json{{"certificates", std::move(out)}};
}

std::vector<CertificateEntry> CertificateReferences(const routing::Config& config) {
  std::vector<CertificateEntry> out;
  std::set<std::pair<std::string, std::string>> seen;  // (path, used_by)
  auto add = [&](const std::string& path, const char* role, const std::string& used_by) {
    if (path.empty() || !seen.insert({path, used_by}).second) return;
    CertificateEntry e;
    e.path = path;
    e.role = role;
    e.used_by = used_by;
    out.push_back(std::move(e));
  };
  for (const routing::Listener& l : config.listeners) {
    for (const routing::Server& s : l.servers) {
      if (!s.tls) continue;
      for (const routing::CertificateFiles& c : s.tls->certificates)
        add(c.certificate_chain, "server", l.name + " " + s.name);
      add(s.tls->ca_certificates, "ca", l.name + " " + s.name);
    }
  }
  for (const routing::Cluster& c : config.clusters) {
    add(c.tls.client_certificate, "client", c.name);
    add(c.tls.ca_certificates, "ca", c.name);
  }
  return out;
}

std::vector<CertificateEntry> ConfigCertificates(
    const routing::Config& config,
    const std::function<Result<std::string>(const std::string&)>& read) {
  std::vector<CertificateEntry> out = CertificateReferences(config);
  for (CertificateEntry& e : out) {
    Result<std::string> pem = read(e.path);
    if (!pem.ok()) {
      e.error = pem.error().message;
      continue;
    }
    Result<std::vector<tls::CertInfo>> chain = tls::ParsePemChainInfo(*pem);
    if (chain.ok()) {
      e.chain = std::move(*chain);
    } else {
      e.error = chain.error().message;
    }
  }
  return out;
}

std::string ApplyLogging(const Request& request) {
  // Validate everything first: a request with one bad item changes nothing.
  std::string errors;
  std::vector<std::pair<std::optional<log::Component>, log::Level>> changes;  // nullopt: all
  auto add = [&](std::optional<std::string_view> component, std::string_view level) {
    std::optional<log::Component> c;
    if (component.has_value()) {
      c = log::ParseComponent(*component);
      if (!c) errors += "unknown component '" + std::string(*component) + "'\n";
    }
    const std::optional<log::Level> l = log::ParseLevel(level);
    if (!l) errors += "unknown level '" + std::string(level) + "'\n";
    if (l && (c || !component.has_value())) changes.emplace_back(c, *l);
  };
  for (const auto& [key, value] : request.query) {
    if (key == "level") {
      add(std::nullopt, value);
    } else if (key == "paths") {
      for (std::string_view item : SplitList(value)) {
        const size_t colon = item.find(':');
        if (colon == std::string_view::npos) {
          errors += "bad paths item '" + std::string(item) + "': use component:level\n";
          continue;
        }
        add(TrimOws(item.substr(0, colon)), TrimOws(item.substr(colon + 1)));
      }
    } else {
      add(std::string_view(key), value);
    }
  }
  if (!errors.empty()) {
    errors.pop_back();
    return errors;
  }
  for (const auto& [component, level] : changes) {
    if (component.has_value()) {
      log::SetLevel(*component, level);
    } else {
      log::SetAllLevels(level);
    }
  }
  return "";
}

std::string DescribeLogLevels() {
  std::string out = "active loggers:\n";
  for (size_t i = 0; i < static_cast<size_t>(log::Component::kCount); ++i) {
    const auto c = static_cast<log::Component>(i);
    out +=
        "  " + std::string(log::Name(c)) + ": " + std::string(log::Name(log::GetLevel(c))) + "\n";
  }
  return out;
}

}  // namespace gh::admin
