// [[destination_rule]]: traffic policies (load balancer, connection pool,
// outlier detection, upstream TLS) and subsets.
#include <set>

#include "control/decode_internal.h"

namespace gh::control::decode_internal {
namespace {

routing::UpstreamTls DecodeUpstreamTls(Obj o) {
  routing::UpstreamTls t;
  using M = routing::UpstreamTlsMode;
  t.mode = o.Enum<M>("mode", {{"DISABLE", M::kDisable},
                              {"SIMPLE", M::kSimple},
                              {"MUTUAL", M::kMutual},
                              {"ISTIO_MUTUAL", M::kIstioMutual}})
               .value_or(M::kDisable);
  if (auto v = o.Str("client_certificate")) t.client_certificate = *v;
  if (auto v = o.Str("private_key")) t.private_key = *v;
  if (auto v = o.Str("ca_certificates")) t.ca_certificates = *v;
  if (auto v = o.Str("ca_crl")) t.ca_crl = *v;
  o.Unsupported("credential_name", "use client_certificate / private_key / ca_certificates files");
  if (auto v = o.Str("sni")) t.sni = *v;
  t.subject_alt_names = o.Strings("subject_alt_names");
  if (auto v = o.Bool("insecure_skip_verify")) t.insecure_skip_verify = *v;
  if (t.mode == M::kMutual && (t.client_certificate.empty() || t.private_key.empty()))
    o.sink().Error(o.where(), "MUTUAL needs \"client_certificate\" and \"private_key\"");
  if (t.mode == M::kIstioMutual &&
      (!t.client_certificate.empty() || !t.private_key.empty() || !t.ca_certificates.empty() ||
       !t.subject_alt_names.empty() || !t.sni.empty()))
    o.sink().Error(o.where(),
                   "ISTIO_MUTUAL takes its certificates from the mesh CA: remove the "
                   "other tls fields");
  o.Finish();
  return t;
}

void DecodeLoadBalancer(Obj o, TrafficPolicySpec& p) {
  p.has_load_balancer = true;
  using L = routing::LbPolicy;
  const auto simple = o.Enum<L>("simple", {{"LEAST_REQUEST", L::kLeastRequest},
                                           {"LEAST_CONN", L::kLeastRequest},
                                           {"ROUND_ROBIN", L::kRoundRobin},
                                           {"RANDOM", L::kRandom},
                                           {"PASSTHROUGH", L::kRandom},
                                           {"UNSPECIFIED", L::kLeastRequest}});
  if (simple && *o.Str("simple") == "PASSTHROUGH")
    o.sink().Error(o.At("simple"), "PASSTHROUGH load balancing is not supported yet");
  if (simple) p.lb_policy = *simple;
  if (auto ch = o.Table("consistent_hash")) {
    if (simple) o.sink().Error(o.where(), "load_balancer takes \"simple\" or \"consistent_hash\"");
    routing::ConsistentHash h;
    int keys = 0;
    if (auto v = ch->Str("http_header_name")) {
      h.source = routing::ConsistentHash::Source::kHeader;
      h.name = AsciiLowered(*v);
      ++keys;
    }
    if (auto c = ch->Table("http_cookie")) {
      h.source = routing::ConsistentHash::Source::kCookie;
      if (auto v = c->Str("name", true)) h.name = *v;
      if (auto v = c->Str("path")) h.cookie_path = *v;
      if (auto v = c->Duration("ttl")) h.cookie_ttl = *v;
      c->Unsupported("attributes", "cookie attributes are not implemented");
      c->Finish();
      ++keys;
    }
    if (auto v = ch->Bool("use_source_ip"); v && *v) {
      h.source = routing::ConsistentHash::Source::kSourceIp;
      ++keys;
    }
    if (auto v = ch->Str("http_query_parameter_name")) {
      h.source = routing::ConsistentHash::Source::kQueryParameter;
      h.name = *v;
      ++keys;
    }
    if (keys != 1)
      ch->sink().Error(ch->where(),
                       "consistent_hash needs exactly one of http_header_name, http_cookie, "
                       "use_source_ip, http_query_parameter_name");
    L policy = L::kRingHash;
    const bool has_ring = ch->Has("ring_hash"), has_maglev = ch->Has("maglev");
    if (auto r = ch->Table("ring_hash")) {
      if (auto v = r->Int("minimum_ring_size", 1, 8'388'608))
        h.minimum_ring_size = static_cast<uint64_t>(*v);
      r->Finish();
    }
    if (auto m = ch->Table("maglev")) {
      policy = L::kMaglev;
      if (auto v = m->Int("table_size", 1, 5'000'011)) {
        // Must be prime for the permutation to cover the table.
        bool prime = *v >= 2;
        for (int64_t d = 2; prime && d * d <= *v; ++d)
          prime = *v % d != 0;
        if (!prime)
          m->sink().Error(m->At("table_size"), "maglev \"table_size\" must be a prime number");
        else
          h.maglev_table_size = static_cast<uint64_t>(*v);
      }
      m->Finish();
    }
    if (auto v = ch->Int("minimum_ring_size", 1, 8'388'608)) {
      if (has_ring || has_maglev)
        ch->sink().Error(ch->At("minimum_ring_size"),
                         "deprecated \"minimum_ring_size\" cannot be combined with ring_hash or "
                         "maglev");
      h.minimum_ring_size = static_cast<uint64_t>(*v);
    }
    if (has_ring && has_maglev)
      ch->sink().Error(ch->where(), "consistent_hash takes ring_hash or maglev, not both");
    ch->Finish();
    p.lb_policy = policy;
    p.consistent_hash = h;
  }
  o.IgnoreWithWarning("locality_lb_setting", "Gatehouse has no locality load balancing");
  o.Unsupported("warmup", "slow start is not implemented");
  o.Unsupported("warmup_duration_secs", "slow start is not implemented");
  o.Finish();
}

void DecodeConnectionPool(Obj o, TrafficPolicySpec& p) {
  routing::ConnectionPoolSettings c;
  if (auto t = o.Table("tcp")) {
    if (auto v = t->Int("max_connections", 1, UINT32_MAX))
      c.max_connections = static_cast<uint32_t>(*v);
    if (auto v = t->Duration("connect_timeout", Millis(1), false)) c.connect_timeout = *v;
    if (auto v = t->Duration("idle_timeout")) c.tcp_idle_timeout = *v;
    t->IgnoreWithWarning("tcp_keepalive", "OS keep-alive defaults are used");
    t->Unsupported("max_connection_duration", "not implemented");
    t->Finish();
  }
  if (auto h = o.Table("http")) {
    if (auto v = h->Int("http1_max_pending_requests", 1, UINT32_MAX))
      c.http1_max_pending_requests = static_cast<uint32_t>(*v);
    if (auto v = h->Int("http2_max_requests", 1, UINT32_MAX))
      c.http2_max_requests = static_cast<uint32_t>(*v);
    if (auto v = h->Int("max_requests_per_connection", 0, UINT32_MAX))
      c.max_requests_per_connection = static_cast<uint32_t>(*v);
    if (auto v = h->Int("max_retries", 0, UINT32_MAX)) c.max_retries = static_cast<uint32_t>(*v);
    if (auto v = h->Duration("idle_timeout")) c.idle_timeout = *v;
    if (auto v = h->Int("max_concurrent_streams", 1, INT32_MAX))
      c.max_concurrent_streams = static_cast<uint32_t>(*v);
    const auto upgrade =
        h->Enum<int>("h2_upgrade_policy", {{"DEFAULT", 0}, {"DO_NOT_UPGRADE", 1}, {"UPGRADE", 2}});
    const auto client = h->Bool("use_client_protocol");
    if (upgrade && *upgrade == 2 && client && *client)
      h->sink().Error(h->where(),
                      "use_client_protocol cannot be combined with h2_upgrade_policy "
                      "UPGRADE");
    if (client && *client)
      p.protocol = routing::UpstreamProtocol::kSameAsClient;
    else if (upgrade && *upgrade == 2)
      p.protocol = routing::UpstreamProtocol::kH2c;
    h->Unsupported("http2_keep_alive", "upstream HTTP/2 PING is not implemented");
    h->Finish();
  }
  o.Finish();
  p.pool = c;
}

void DecodeOutlier(Obj o, TrafficPolicySpec& p) {
  routing::OutlierDetection d;
  d.enabled = true;
  if (auto v = o.Int("consecutive_5xx_errors", 0, UINT32_MAX))
    d.consecutive_5xx_errors = static_cast<uint32_t>(*v);
  if (auto v = o.Int("consecutive_gateway_errors", 0, UINT32_MAX))
    d.consecutive_gateway_errors = static_cast<uint32_t>(*v);
  if (auto v = o.Duration("interval", Millis(1), false)) d.interval = *v;
  if (auto v = o.Duration("base_ejection_time", Millis(1), false)) d.base_ejection_time = *v;
  if (auto v = o.Int("max_ejection_percent", 0, 100))
    d.max_ejection_percent = static_cast<uint32_t>(*v);
  if (auto v = o.Int("min_health_percent", 0, 100))
    d.min_health_percent = static_cast<uint32_t>(*v);
  o.Unsupported("split_external_local_origin_errors", "not implemented");
  o.Unsupported("consecutive_local_origin_failures", "not implemented");
  o.Unsupported("consecutive_errors", "deprecated in Istio; use consecutive_5xx_errors");
  if (d.consecutive_gateway_errors > 0 && d.consecutive_5xx_errors > 0 &&
      d.consecutive_gateway_errors >= d.consecutive_5xx_errors)
    o.sink().Warning(o.At("consecutive_gateway_errors"),
                     "has no effect: it is not below consecutive_5xx_errors");
  o.Finish();
  p.outlier = d;
}

TrafficPolicySpec DecodeTrafficPolicy(Obj o, bool allow_port_level) {
  TrafficPolicySpec p;
  p.where = o.where();
  if (auto t = o.Table("load_balancer")) DecodeLoadBalancer(std::move(*t), p);
  if (auto t = o.Table("connection_pool")) DecodeConnectionPool(std::move(*t), p);
  if (auto t = o.Table("outlier_detection")) DecodeOutlier(std::move(*t), p);
  if (auto t = o.Table("tls")) p.tls = DecodeUpstreamTls(std::move(*t));
  if (allow_port_level) {
    for (Obj& pl : o.Tables("port_level_settings")) {
      uint32_t number = 0;
      if (auto port = pl.Table("port", true)) {
        if (auto n = port->Int("number", 1, 65535, true)) number = static_cast<uint32_t>(*n);
        port->Finish();
      }
      TrafficPolicySpec sub = DecodeTrafficPolicy(std::move(pl), false);
      if (number != 0) p.port_level.push_back({number, std::move(sub)});
    }
  }
  o.Unsupported("proxy_protocol", "sending PROXY headers upstream is not implemented");
  o.Unsupported("tunnel", "tunnelling is not implemented");
  o.IgnoreWithWarning("retry_budget", "retry budgets are not implemented");
  o.Finish();
  return p;
}

}  // namespace

// DecodeTrafficPolicy on a port_level entry must tolerate its "port" key.
void DecodeDestinationRule(Obj o, std::vector<DestinationRuleSpec>& out) {
  DestinationRuleSpec d;
  d.where = o.where();
  if (!DecodeMeta(o, "destination_rule", d.name, d.ns)) {
    for (const char* k : {"host", "traffic_policy", "subsets", "export_to", "workload_selector"})
      o.Known(k);
    o.Finish();
    return;
  }
  d.where = o.where();  // with the name-based path
  if (auto h = o.Str("host", true)) {
    d.host = AsciiLowered(*h);
    const std::string why = routing::ValidateHostPattern(d.host, true);
    if (!why.empty()) o.sink().Error(o.At("host"), why);
  }
  if (auto t = o.Table("traffic_policy")) d.policy = DecodeTrafficPolicy(std::move(*t), true);
  std::set<std::string> names;
  for (Obj& s : o.Tables("subsets")) {
    SubsetSpec sub;
    sub.where = s.where();
    if (auto n = s.Str("name", true)) {
      sub.name = *n;
      if (!names.insert(sub.name).second)
        s.sink().Error(s.At("name"), "duplicate subset name " + Quoted(sub.name));
    }
    sub.labels = s.StringMap("labels");
    if (auto t = s.Table("traffic_policy")) sub.policy = DecodeTrafficPolicy(std::move(*t), true);
    s.Finish();
    d.subsets.push_back(std::move(sub));
  }
  o.IgnoreWithWarning("export_to", "Gatehouse has no namespaces to export to");
  o.Unsupported("workload_selector", "Gatehouse applies destination rules to every route");
  o.Finish();
  out.push_back(std::move(d));
}

}  // namespace gh::control::decode_internal
