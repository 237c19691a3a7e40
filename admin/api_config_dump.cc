// /config_dump: the effective config rendered as JSON, with private keys,
// token paths and sensitive header values redacted.
#include <set>

#include "admin/api_internal.h"
#include "base/strings.h"
#include "control/explain.h"
#include "routing/http_route_table.h"
#include "routing/tcp_route_table.h"

namespace gh::admin {

using api_internal::Limit;
using api_internal::Ms;
using api_internal::Name;
using nlohmann::json;

namespace {

constexpr std::string_view kRedacted = "[redacted]";

bool SensitiveHeader(std::string_view name) {
  static const std::set<std::string, std::less<>> kNames = {
      "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token"};
  return kNames.count(AsciiLowered(name)) != 0;
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

}  // namespace

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

}  // namespace gh::admin
