// The process-wide settings tables: [proxy], [admin] and [mesh]. Separate
// from the resource kinds: each table is set once, not a list of resources.
#include "control/decode_internal.h"

namespace gh::control::decode_internal {

void DecodeProxy(Obj o, routing::ProxySettings& p) {
  if (auto v = o.Int("workers", 0, 1024)) p.workers = static_cast<uint32_t>(*v);
  if (auto v = o.Str("access_log")) {
    if (v->empty())
      o.sink().Error(o.At("access_log"), "\"access_log\" must be \"stdout\", \"off\" or a path");
    else
      p.access_log = *v;
  }
  if (auto v = o.Enum<routing::AccessLogFormat>(
          "access_log_format",
          {{"text", routing::AccessLogFormat::kText}, {"json", routing::AccessLogFormat::kJson}}))
    p.access_log_format = *v;
  if (auto v = o.Int("trusted_hops", 0, 64)) p.trusted_hops = static_cast<uint32_t>(*v);
  if (auto v = o.Str("server_header")) p.server_header = *v;
  if (auto v = o.Int("max_request_headers_bytes", 1024, 8 * 1024 * 1024))
    p.max_request_headers_bytes = static_cast<uint32_t>(*v);
  if (auto v = o.Int("max_request_headers", 1, 10000))
    p.max_request_headers = static_cast<uint32_t>(*v);
  if (auto v = o.Int("connection_buffer_bytes", 1024, 64 * 1024 * 1024))
    p.connection_buffer_bytes = static_cast<uint32_t>(*v);
  if (auto v = o.Int("max_request_body_bytes", 0, INT64_MAX))
    p.max_request_body_bytes = static_cast<uint64_t>(*v);
  if (auto v = o.Int("max_connections", 1, 10'000'000))
    p.max_connections = static_cast<uint32_t>(*v);
  if (auto v = o.Enum<routing::HeadersWithUnderscores>(
          "headers_with_underscores",
          {{"ALLOW", routing::HeadersWithUnderscores::kAllow},
           {"REJECT_REQUEST", routing::HeadersWithUnderscores::kRejectRequest},
           {"DROP_HEADER", routing::HeadersWithUnderscores::kDropHeader}}))
    p.headers_with_underscores = *v;
  if (auto pn = o.Table("path_normalization")) {
    if (auto v = pn->Bool("normalize")) p.path_normalization.normalize = *v;
    if (auto v = pn->Bool("merge_slashes")) p.path_normalization.merge_slashes = *v;
    if (auto v = pn->Enum<routing::EscapedSlashes>(
            "escaped_slashes",
            {{"KEEP_UNCHANGED", routing::EscapedSlashes::kKeep},
             {"REJECT_REQUEST", routing::EscapedSlashes::kReject},
             {"UNESCAPE_AND_REDIRECT", routing::EscapedSlashes::kUnescapeAndRedirect},
             {"UNESCAPE_AND_FORWARD", routing::EscapedSlashes::kUnescapeAndForward}}))
      p.path_normalization.escaped_slashes = *v;
    pn->Finish();
  }
  if (o.Has("upgrades")) p.upgrades = o.Strings("upgrades");
  for (std::string& u : p.upgrades)
    AsciiLowerInPlace(u);
  struct Dur {
    const char* key;
    Millis* field;
  } durations[] = {
      {"request_headers_timeout", &p.request_headers_timeout},
      {"idle_timeout", &p.idle_timeout},
      {"stream_idle_timeout", &p.stream_idle_timeout},
      {"request_timeout", &p.request_timeout},
      {"drain_timeout", &p.drain_timeout},
      {"upstream_idle_timeout", &p.upstream_idle_timeout},
  };
  for (const Dur& d : durations) {
    if (auto v = o.Duration(d.key, Millis(1))) *d.field = *v;
  }
  // Below a second a refresh would mostly re-ask for what it just got.
  if (auto v = o.Duration("dns_refresh_rate", Millis(1000), false)) p.dns_refresh_rate = *v;
  if (auto v = o.Enum<routing::DnsLookupFamily>("dns_lookup_family",
                                                {{"ALL", routing::DnsLookupFamily::kAll},
                                                 {"V4_ONLY", routing::DnsLookupFamily::kV4Only},
                                                 {"V6_ONLY", routing::DnsLookupFamily::kV6Only}}))
    p.dns_lookup_family = *v;
  if (auto v = o.Int("http2_max_concurrent_streams", 1, INT32_MAX))
    p.http2_max_concurrent_streams = static_cast<uint32_t>(*v);
  if (auto v = o.Int("http2_initial_stream_window", 65535, INT32_MAX))
    p.http2_initial_stream_window = static_cast<uint32_t>(*v);
  if (auto v = o.Int("http2_initial_connection_window", 65535, INT32_MAX))
    p.http2_initial_connection_window = static_cast<uint32_t>(*v);
  if (auto v = o.Int("http2_max_continuations", 1, 1024))
    p.http2_max_continuations = static_cast<uint32_t>(*v);
  if (auto v = o.Int("http2_stream_reset_burst", 1, UINT32_MAX))
    p.http2_stream_reset_burst = static_cast<uint32_t>(*v);
  if (auto v = o.Int("http2_stream_reset_rate", 1, UINT32_MAX))
    p.http2_stream_reset_rate = static_cast<uint32_t>(*v);
  if (auto v = o.Int("http2_max_outbound_control_frames", 1, UINT32_MAX))
    p.http2_max_outbound_control_frames = static_cast<uint32_t>(*v);
  if (auto v = o.Int("http2_max_consecutive_empty_frames", 0, UINT32_MAX))
    p.http2_max_consecutive_empty_frames = static_cast<uint32_t>(*v);
  if (auto v = o.Bool("watch_config")) p.watch_config = *v;
  if (auto v = o.Bool("tls_reject_unknown_sni")) p.tls_reject_unknown_sni = *v;
  o.Finish();
}

void DecodeAdmin(Obj o, routing::AdminSettings& a) {
  if (auto v = o.Str("address")) {
    const std::string_view host = routing::StripPort(*v);
    if (host.size() == v->size() || !routing::AuthorityPort(*v)) {
      o.sink().Error(o.At("address"), "\"address\" must be host:port, e.g. \"127.0.0.1:15000\"");
    } else {
      a.address = *v;
    }
  }
  if (auto v = o.Str("token_file")) a.token_file = *v;
  o.Finish();
}

void DecodeMesh(Obj o, routing::MeshSettings& m) {
  if (auto v = o.Bool("enabled")) m.enabled = *v;
  if (auto v = o.Str("trust_domain")) {
    if (v->empty() || !routing::ValidateHostPattern(*v, false).empty())
      o.sink().Error(o.At("trust_domain"), "\"trust_domain\" must be a DNS-like name");
    else
      m.trust_domain = *v;
  }
  if (auto t = o.Table("outbound_traffic_policy")) {
    if (auto v = t->Enum<routing::OutboundTrafficPolicy>(
            "mode", {{"REGISTRY_ONLY", routing::OutboundTrafficPolicy::kRegistryOnly},
                     {"ALLOW_ANY", routing::OutboundTrafficPolicy::kAllowAny}}))
      m.outbound_traffic_policy = *v;
    t->Finish();
  }
  if (auto v = o.Str("ca_dir")) m.ca_dir = *v;
  if (auto v = o.Str("namespace")) m.namespace_name = *v;
  if (auto v = o.Str("service_account")) m.service_account = *v;
  if (auto v = o.Duration("certificate_ttl", Millis(10'000), false)) m.certificate_ttl = *v;
  o.Finish();
}

}  // namespace gh::control::decode_internal
