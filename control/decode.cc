// TOML -> typed resources (control/resources.h): local validation only.
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "base/strings.h"
#include "control/resources.h"
#include "control/toml_reader.h"
#include "routing/host.h"

namespace gh::control {
namespace {

using routing::Millis;
using routing::StringMatcher;

std::string Quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

// ------------------------------------------------------------- process ---

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

// ---------------------------------------------------------- primitives ---

// name + namespace, renaming the path to kind["name"].
bool DecodeMeta(Obj& o, std::string_view kind, std::string& name, std::string& ns) {
  const auto n = o.Str("name", true);
  if (auto v = o.Str("namespace")) ns = *v;
  if (ns.empty()) ns = "default";
  if (!n) return false;
  if (n->empty()) {
    o.sink().Error(o.At("name"), "\"name\" must not be empty");
    return false;
  }
  name = *n;
  o.Rename(std::string(kind) + "[" + Quoted(name) + "]");
  return true;
}

// StringMatch: exactly one of exact / prefix / regex. `{}` means present when
// `allow_present`. Returns null on error (already reported).
std::shared_ptr<const StringMatcher> DecodeStringMatch(Obj o, bool allow_present,
                                                       bool allow_empty_prefix,
                                                       bool ignore_case = false) {
  const auto exact = o.Str("exact");
  const auto prefix = o.Str("prefix");
  const auto regex = o.Str("regex");
  o.Finish();
  routing::MatcherCache& cache = o.cache();
  const int count = (exact ? 1 : 0) + (prefix ? 1 : 0) + (regex ? 1 : 0);
  if (count == 0) {
    if (allow_present) return cache.Present();
    o.sink().Error(o.where(), "a string match needs one of \"exact\", \"prefix\" or \"regex\"");
    return nullptr;
  }
  if (count > 1) {
    o.sink().Error(o.where(),
                   "a string match takes only one of \"exact\", \"prefix\" or \"regex\"");
    return nullptr;
  }
  if (exact) return cache.Exact(*exact, ignore_case);
  if (prefix) {
    if (prefix->empty() && !allow_empty_prefix) {
      o.sink().Error(o.At("prefix"), "\"prefix\" must not be empty");
      return nullptr;
    }
    return cache.Prefix(*prefix, ignore_case);
  }
  if (regex->empty()) {
    o.sink().Error(o.At("regex"), "\"regex\" must not be empty");
    return nullptr;
  }
  // Istio: a header regex of "*" means "present".
  if (allow_present && *regex == "*") return cache.Present();
  auto compiled = cache.Regex(*regex);
  if (!compiled) {
    o.sink().Error(o.At("regex"), compiled.error().message);
    return nullptr;
  }
  return *compiled;
}

bool IsValidHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                    c == '.' || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' ||
                    c == '\'' || c == '*' || c == '+' || c == '^' || c == '`' || c == '|' ||
                    c == '~';
    if (!ok) return false;
  }
  return true;
}

// headers = { request = { set, add, remove }, response = { ... } }
void DecodeHeaderOps(Obj o, routing::HeaderOps& ops, std::optional<std::string>* authority,
                     bool request) {
  auto read_map = [&](std::string_view key, std::vector<http::Header>& out) {
    auto m = o.StringMap(key);
    for (auto& [name, value] : m) {
      std::string lower = AsciiLowered(name);
      const Where w = o.At(key);
      if (request && (lower == ":authority" || lower == "host") && authority != nullptr) {
        // Istio: set beats add for the authority rewrite.
        if (key == "set" || !authority->has_value()) *authority = value;
        continue;
      }
      if (lower.starts_with(':') || lower == "host") {
        o.sink().Error(w, "header " + Quoted(name) + " cannot be modified" +
                              (request ? "" : " in a response"));
        continue;
      }
      if (!IsValidHeaderName(lower)) {
        o.sink().Error(w, "invalid header name " + Quoted(name));
        continue;
      }
      if (value.find_first_of("\r\n") != std::string::npos ||
          value.find('\0') != std::string::npos) {
        o.sink().Error(w, "header value for " + Quoted(name) + " contains CR, LF or NUL");
        continue;
      }
      out.push_back({std::move(lower), std::move(value)});
    }
    std::sort(out.begin(), out.end(),
              [](const http::Header& a, const http::Header& b) { return a.name < b.name; });
  };
  read_map("set", ops.set);
  read_map("add", ops.add);
  std::vector<Where> where;
  for (std::string& name : o.Strings("remove", &where)) {
    std::string lower = AsciiLowered(name);
    if (lower.starts_with(':') || lower == "host") {
      o.sink().Error(o.At("remove"), "header " + Quoted(name) + " cannot be removed");
      continue;
    }
    ops.remove.push_back(std::move(lower));
  }
  std::sort(ops.remove.begin(), ops.remove.end());
  o.Finish();
}

void DecodeHeaders(Obj o, routing::HeaderOps& req, routing::HeaderOps& resp,
                   std::optional<std::string>& authority) {
  if (auto r = o.Table("request")) DecodeHeaderOps(std::move(*r), req, &authority, true);
  if (auto r = o.Table("response")) DecodeHeaderOps(std::move(*r), resp, nullptr, false);
  o.Finish();
}

std::optional<double> DecodePercent(Obj& o, std::string_view key) {
  auto t = o.Table(key);
  if (!t) return std::nullopt;
  auto v = t->Number("value", 0, 100);
  t->Finish();
  return v ? v : std::optional<double>(0.0);
}

DestinationSpec DecodeDestination(Obj o) {
  DestinationSpec d;
  d.where = o.position();
  if (auto h = o.Str("host", true)) d.host = AsciiLowered(*h);
  if (auto s = o.Str("subset")) d.subset = *s;
  if (auto p = o.Table("port")) {
    if (auto n = p->Int("number", 1, 65535, true)) d.port = static_cast<uint32_t>(*n);
    p->Finish();
  }
  if (!d.host.empty()) {
    const std::string why = routing::ValidateHostPattern(d.host, true);
    if (!why.empty()) o.sink().Error(o.At("host"), why);
  }
  o.Finish();
  return d;
}

RouteDestinationSpec DecodeRouteDestination(Obj o, bool http) {
  RouteDestinationSpec r;
  if (auto d = o.Table("destination", true)) r.destination = DecodeDestination(std::move(*d));
  if (auto w = o.Int("weight", 0, 1'000'000)) r.weight = static_cast<uint32_t>(*w);
  if (http) {
    if (auto h = o.Table("headers")) {
      r.request_headers = std::make_unique<routing::HeaderOps>();
      r.response_headers = std::make_unique<routing::HeaderOps>();
      DecodeHeaders(std::move(*h), *r.request_headers, *r.response_headers, r.authority);
    }
  }
  o.Finish();
  return r;
}

// ------------------------------------------------------------- gateway ---

const std::set<std::string_view> kProtocols = {"HTTP",  "HTTPS", "GRPC",  "GRPC-WEB", "HTTP2",
                                               "MONGO", "REDIS", "MYSQL", "TCP",      "TLS"};

PortSpec DecodePort(Obj o, bool gateway) {
  PortSpec p;
  p.where = o.where();
  if (auto n = o.Int("number", gateway ? 0 : 1, 65535, true)) p.number = static_cast<uint32_t>(*n);
  if (auto pr = o.Str("protocol", true)) {
    p.protocol = *pr;
    const std::string upper = [&] {
      std::string u = *pr;
      for (char& c : u)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return u;
    }();
    if (!kProtocols.contains(p.protocol)) {
      std::string msg = "invalid protocol " + Quoted(*pr) +
                        ": expected one of HTTP, HTTPS, GRPC, GRPC-WEB, HTTP2, TCP, TLS, MONGO, "
                        "REDIS, MYSQL";
      if (kProtocols.contains(upper)) msg += " (did you mean " + Quoted(upper) + "?)";
      o.sink().Error(o.At("protocol"), msg);
      p.protocol.clear();
    }
  }
  if (auto n = o.Str("name", gateway)) p.name = *n;
  if (gateway) {
    o.Unsupported("target_port", "Istio rejects target_port on a gateway port");
  } else if (auto t = o.Int("target_port", 1, 65535)) {
    p.target_port = static_cast<uint32_t>(*t);
  }
  o.Finish();
  return p;
}

routing::TlsVersion ReadTlsVersion(Obj& o, std::string_view key, routing::TlsVersion dflt) {
  return o
      .Enum<routing::TlsVersion>(key, {{"TLS_AUTO", routing::TlsVersion::kAuto},
                                       {"TLSV1_0", routing::TlsVersion::k1_0},
                                       {"TLSV1_1", routing::TlsVersion::k1_1},
                                       {"TLSV1_2", routing::TlsVersion::k1_2},
                                       {"TLSV1_3", routing::TlsVersion::k1_3}})
      .value_or(dflt);
}

void DecodeServerTls(Obj o, ServerSpec& s) {
  routing::ServerTls tls;
  tls.mode = o.Enum<routing::ServerTlsMode>(
                  "mode", {{"PASSTHROUGH", routing::ServerTlsMode::kPassthrough},
                           {"SIMPLE", routing::ServerTlsMode::kSimple},
                           {"MUTUAL", routing::ServerTlsMode::kMutual},
                           {"OPTIONAL_MUTUAL", routing::ServerTlsMode::kOptionalMutual},
                           {"ISTIO_MUTUAL", routing::ServerTlsMode::kIstioMutual},
                           {"AUTO_PASSTHROUGH", routing::ServerTlsMode::kAutoPassthrough}})
                 .value_or(routing::ServerTlsMode::kPassthrough);
  if (auto v = o.Bool("https_redirect")) s.https_redirect = *v;
  const auto cert = o.Str("server_certificate");
  const auto key = o.Str("private_key");
  if (cert || key) tls.certificates.push_back({cert.value_or(""), key.value_or("")});
  for (Obj& c : o.Tables("tls_certificates")) {
    routing::CertificateFiles f;
    if (auto v = c.Str("server_certificate", true)) f.certificate_chain = *v;
    if (auto v = c.Str("private_key", true)) f.private_key = *v;
    c.Finish();
    tls.certificates.push_back(std::move(f));
  }
  o.Unsupported("credential_name",
                "Gatehouse reads certificates from files: use server_certificate and private_key");
  o.Unsupported("credential_names", "use tls_certificates with file paths");
  o.Unsupported("ca_cert_credential_name", "use ca_certificates with a file path");
  if (auto v = o.Str("ca_certificates")) tls.ca_certificates = *v;
  if (auto v = o.Str("ca_crl")) tls.ca_crl = *v;
  tls.subject_alt_names = o.Strings("subject_alt_names");
  tls.verify_certificate_spki = o.Strings("verify_certificate_spki");
  tls.verify_certificate_hash = o.Strings("verify_certificate_hash");
  tls.min_protocol_version = ReadTlsVersion(o, "min_protocol_version", routing::TlsVersion::k1_2);
  tls.max_protocol_version = ReadTlsVersion(o, "max_protocol_version", routing::TlsVersion::k1_3);
  tls.cipher_suites = o.Strings("cipher_suites");
  tls.ecdh_curves = o.Strings("ecdh_curves");
  if (auto v = o.Bool("insecure_skip_verify")) tls.insecure_skip_verify = *v;

  // Mode-specific rules (Istio validation.go), checked here because they only
  // involve this block. Protocol-dependent rules are in the compiler.
  const Where w = o.where();
  DiagnosticSink& sink = o.sink();
  using M = routing::ServerTlsMode;
  const bool terminating =
      tls.mode == M::kSimple || tls.mode == M::kMutual || tls.mode == M::kOptionalMutual;
  if (terminating) {
    if (tls.certificates.empty()) {
      sink.Error(w, "tls mode needs \"server_certificate\" and \"private_key\"");
    }
    for (const auto& c : tls.certificates) {
      if (c.certificate_chain.empty()) sink.Error(w, "missing \"server_certificate\"");
      if (c.private_key.empty()) sink.Error(w, "missing \"private_key\"");
    }
    if (tls.certificates.size() > 2)
      sink.Error(w, "at most two certificates (one RSA, one ECDSA) are allowed");
    if ((tls.mode == M::kMutual || tls.mode == M::kOptionalMutual) && tls.ca_certificates.empty())
      sink.Error(w, "MUTUAL and OPTIONAL_MUTUAL need \"ca_certificates\"");
    if (tls.mode == M::kSimple && !tls.ca_crl.empty())
      sink.Error(o.At("ca_crl"), "\"ca_crl\" is not allowed with mode SIMPLE");
  } else if (tls.mode == M::kIstioMutual) {
    if (!tls.certificates.empty() || !tls.ca_certificates.empty() || !tls.ca_crl.empty() ||
        !tls.subject_alt_names.empty())
      sink.Error(w,
                 "ISTIO_MUTUAL takes its certificates from the mesh CA: remove the other "
                 "tls fields");
  } else if (tls.mode == M::kPassthrough && !s.https_redirect) {
    if (!tls.certificates.empty() || !tls.ca_certificates.empty())
      sink.Warning(w, "certificate fields are ignored with mode PASSTHROUGH");
  } else if (tls.mode == M::kAutoPassthrough) {
    sink.Error(o.At("mode"), "AUTO_PASSTHROUGH is not supported yet");
  }
  if (tls.min_protocol_version != routing::TlsVersion::kAuto &&
      tls.max_protocol_version != routing::TlsVersion::kAuto &&
      tls.min_protocol_version > tls.max_protocol_version)
    sink.Error(o.At("min_protocol_version"),
               "\"min_protocol_version\" is greater than \"max_protocol_version\"");
  if ((tls.min_protocol_version == routing::TlsVersion::k1_0 ||
       tls.min_protocol_version == routing::TlsVersion::k1_1) &&
      tls.cipher_suites.empty())
    sink.Warning(o.At("min_protocol_version"),
                 "TLS 1.0/1.1 without \"cipher_suites\": the default ciphers do not cover them");
  std::set<std::string> seen;
  for (const std::string& c : tls.cipher_suites) {
    if (!seen.insert(c).second)
      sink.Warning(o.At("cipher_suites"), "duplicate cipher suite " + Quoted(c) + " is ignored");
  }
  o.Finish();
  // A block that only says https_redirect (plain HTTP servers) is no TLS config.
  const bool only_redirect = s.https_redirect && !o.Has("mode") && tls.certificates.empty();
  if (!only_redirect) s.tls = std::move(tls);
}

ServerSpec DecodeServer(Obj o, const std::string& gateway_ns) {
  ServerSpec s;
  s.where = o.where();
  if (auto p = o.Table("port", true)) s.port = DecodePort(std::move(*p), true);
  if (auto b = o.Str("bind")) {
    if (b->starts_with("unix://")) {
      o.sink().Error(o.At("bind"), "unix socket binds are not supported yet");
    } else if (!routing::ParseIp(*b)) {
      o.sink().Error(o.At("bind"), "\"bind\" must be an IP address, got " + Quoted(*b));
    } else {
      s.bind = *b;
    }
  }
  std::vector<Where> where;
  const auto hosts = o.Strings("hosts", &where);
  if (!o.Has("hosts"))
    o.sink().Error(o.where(), "missing required key \"hosts\"");
  else if (hosts.empty())
    o.sink().Error(o.At("hosts"), "\"hosts\" must not be empty");
  for (size_t i = 0; i < hosts.size(); ++i) {
    ServerHost h;
    h.where = where[i];
    std::string_view text = hosts[i];
    const size_t slash = text.find('/');
    h.ns = "*";
    if (slash != std::string_view::npos) {
      const std::string_view ns = text.substr(0, slash);
      h.ns = ns == "." ? gateway_ns : std::string(ns);
      text = text.substr(slash + 1);
    }
    h.host = AsciiLowered(text);
    const std::string why = routing::ValidateHostPattern(h.host, true);
    if (!why.empty()) {
      o.sink().Error(h.where, why);
      continue;
    }
    s.hosts.push_back(std::move(h));
  }
  if (auto t = o.Table("tls")) DecodeServerTls(std::move(*t), s);
  if (auto n = o.Str("name")) s.name = *n;
  if (auto d = o.Bool("default_server")) s.default_server = *d;
  if (auto r = o.Enum<RouteOrder>("route_order", {{"first_match", RouteOrder::kFirstMatch},
                                                  {"specificity", RouteOrder::kSpecificity}}))
    s.route_order = *r;
  o.Finish();
  return s;
}

void DecodeGateway(Obj o, std::vector<GatewaySpec>& out) {
  GatewaySpec g;
  g.where = o.where();
  if (!DecodeMeta(o, "gateway", g.name, g.ns)) {
    o.Tables("servers");
    o.Known("selector");
    o.Finish();
    return;
  }
  g.where = o.where();  // with the name-based path
  o.IgnoreWithWarning("selector", "every Gatehouse instance runs every gateway");
  for (Obj& s : o.Tables("servers", true))
    g.servers.push_back(DecodeServer(std::move(s), g.ns));
  if (const toml::node* n = o.table().get("servers"); n && n->as_array() && n->as_array()->empty())
    o.sink().Error(o.At("servers"), "a gateway needs at least one server");
  o.Finish();
  out.push_back(std::move(g));
}

// ------------------------------------------------------ virtual service ---

HttpMatchSpec DecodeHttpMatch(Obj o) {
  HttpMatchSpec m;
  m.where = o.position();
  const size_t errors_before = o.sink().error_count();
  if (auto n = o.Str("name")) m.name = *n;
  const bool ignore_case = o.Bool("ignore_uri_case").value_or(false);
  if (auto u = o.Table("uri")) {
    m.match.uri = DecodeStringMatch(std::move(*u), false, true, ignore_case);
    if (ignore_case && m.match.uri && m.match.uri->kind() == StringMatcher::Kind::kRegex)
      o.sink().Warning(o.At("ignore_uri_case"),
                       "\"ignore_uri_case\" does not apply to regex; use (?i) in the regex");
  }
  if (auto t = o.Table("scheme")) m.match.scheme = DecodeStringMatch(std::move(*t), false, false);
  if (auto t = o.Table("method")) m.match.method = DecodeStringMatch(std::move(*t), false, false);
  if (auto t = o.Table("authority"))
    m.match.authority = DecodeStringMatch(std::move(*t), false, false);
  auto read_headers = [&](std::string_view key, bool negate) {
    for (auto& [name, sub] : o.TableMap(key)) {
      const Where w = sub.where();
      if (name != AsciiLowered(name)) {
        o.sink().Error(w, "header names must be lowercase: " + Quoted(name));
        sub.Finish();
        continue;
      }
      if (name == "uri" || name == "scheme" || name == "method" || name == "authority") {
        o.sink().Warning(
            w, "header key " + Quoted(name) + " is ignored (Istio); use the match's own field");
        sub.Known("exact");
        sub.Known("prefix");
        sub.Known("regex");
        sub.Finish();
        continue;
      }
      if (name.starts_with("@request.auth.claims")) {
        o.sink().Error(w, "JWT claim matches are not supported yet");
        sub.Finish();
        continue;
      }
      auto matcher = DecodeStringMatch(std::move(sub), true, false);
      if (matcher) m.match.headers.push_back({name, std::move(matcher), negate});
    }
  };
  read_headers("headers", false);
  read_headers("without_headers", true);
  for (auto& [name, sub] : o.TableMap("query_params")) {
    auto matcher = DecodeStringMatch(std::move(sub), true, false);
    if (matcher) m.match.query_params.push_back({name, std::move(matcher)});
  }
  if (auto p = o.Int("port", 1, 65535)) m.port = static_cast<uint32_t>(*p);
  m.gateways = o.Strings("gateways");
  o.Unsupported("source_labels", "Gatehouse has no client workloads");
  o.Unsupported("source_namespace", "Gatehouse has no client workloads");
  o.IgnoreWithWarning("stat_prefix", "per-route stats prefixes are not implemented");
  o.Finish();
  // A match whose condition did not decode must not degrade into a broader
  // one (and must not produce follow-up warnings such as shadowing).
  m.invalid = o.sink().error_count() != errors_before;
  return m;
}

routing::RedirectAction DecodeRedirect(Obj o) {
  routing::RedirectAction r;
  if (auto v = o.Str("uri")) r.uri = *v;
  if (auto v = o.Str("prefix_rewrite")) r.prefix_rewrite = *v;
  if (auto v = o.Str("authority")) r.authority = *v;
  if (auto v = o.Str("scheme")) {
    if (*v != "http" && *v != "https")
      o.sink().Error(o.At("scheme"), "redirect \"scheme\" must be \"http\" or \"https\"");
    else
      r.scheme = *v;
  }
  if (auto v = o.Int("port", 1, 65535)) r.port = static_cast<uint16_t>(*v);
  using D = routing::RedirectAction::DerivePort;
  if (auto v = o.Enum<D>("derive_port", {{"FROM_PROTOCOL_DEFAULT", D::kFromProtocolDefault},
                                         {"FROM_REQUEST_PORT", D::kFromRequestPort}}))
    r.derive_port = *v;
  if (auto v = o.Int("redirect_code", 300, 399)) {
    if (*v != 301 && *v != 302 && *v != 303 && *v != 307 && *v != 308)
      o.sink().Error(o.At("redirect_code"),
                     "\"redirect_code\" must be one of 301, 302, 303, 307, 308");
    else
      r.code = static_cast<uint32_t>(*v);
  }
  if (r.uri && r.prefix_rewrite)
    o.sink().Error(o.where(), "redirect takes \"uri\" or \"prefix_rewrite\", not both");
  if (r.port && r.derive_port != D::kNone)
    o.sink().Error(o.where(), "redirect takes \"port\" or \"derive_port\", not both");
  if (!r.uri && !r.prefix_rewrite && !r.authority && !r.scheme && !r.port &&
      r.derive_port == D::kNone)
    o.sink().Error(o.where(),
                   "redirect needs at least one of uri, authority, scheme, port, derive_port");
  o.Finish();
  return r;
}

constexpr size_t kDirectResponseWarn = 100 * 1024, kDirectResponseMax = 1024 * 1024;

std::optional<std::string> Base64Decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = val(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

routing::DirectResponseAction DecodeDirectResponse(Obj o) {
  routing::DirectResponseAction d;
  if (auto s = o.Int("status", 200, 599, true)) d.status = static_cast<uint32_t>(*s);
  if (auto b = o.Table("body")) {
    const auto str = b->Str("string");
    const auto bytes = b->Str("bytes");
    if (str && bytes) b->sink().Error(b->where(), "body takes \"string\" or \"bytes\", not both");
    if (str) d.body = *str;
    if (bytes) {
      if (auto decoded = Base64Decode(*bytes))
        d.body = *decoded;
      else
        b->sink().Error(b->At("bytes"), "\"bytes\" must be base64");
    }
    if (d.body.size() > kDirectResponseMax)
      b->sink().Error(b->where(), "direct response body is larger than 1 MB");
    else if (d.body.size() > kDirectResponseWarn)
      b->sink().Warning(b->where(), "direct response body is larger than 100 KB");
    b->Finish();
  }
  o.Finish();
  return d;
}

const std::set<std::string_view> kRetryOn = {"5xx",
                                             "gateway-error",
                                             "reset",
                                             "reset-before-request",
                                             "connect-failure",
                                             "retriable-4xx",
                                             "refused-stream",
                                             "retriable-status-codes",
                                             "retriable-headers",
                                             "envoy-ratelimited",
                                             "http3-post-connect-failure",
                                             "cancelled",
                                             "deadline-exceeded",
                                             "internal",
                                             "resource-exhausted",
                                             "unavailable"};

routing::RetryPolicy DecodeRetries(Obj o) {
  routing::RetryPolicy r;
  r.attempts = static_cast<uint32_t>(o.Int("attempts", 0, 1000).value_or(0));
  if (auto t = o.Duration("per_try_timeout", Millis(1), false)) r.per_try_timeout = *t;
  if (auto on = o.Str("retry_on")) {
    for (std::string_view token : SplitList(*on)) {
      if (auto code = ParseUint(token, 599)) {
        if (*code < 100) {
          o.sink().Error(o.At("retry_on"), "invalid status code " + Quoted(token));
          continue;
        }
        r.retriable_status_codes.push_back(static_cast<uint32_t>(*code));
        r.on_retriable_status_codes = true;
        continue;
      }
      if (!kRetryOn.contains(token)) {
        std::vector<std::string> known(kRetryOn.begin(), kRetryOn.end());
        std::string msg = "unknown retry_on condition " + Quoted(token);
        const std::string s = Suggest(token, known);
        if (!s.empty()) msg += "; did you mean " + Quoted(s) + "?";
        o.sink().Error(o.At("retry_on"), msg);
        continue;
      }
      if (token == "5xx")
        r.on_5xx = true;
      else if (token == "gateway-error")
        r.on_gateway_error = true;
      else if (token == "reset")
        r.on_reset = true;
      else if (token == "reset-before-request")
        r.on_reset_before_request = true;
      else if (token == "connect-failure")
        r.on_connect_failure = true;
      else if (token == "retriable-4xx")
        r.on_retriable_4xx = true;
      else if (token == "refused-stream")
        r.on_refused_stream = true;
      else if (token == "retriable-status-codes")
        r.on_retriable_status_codes = true;
      else if (token == "cancelled" || token == "deadline-exceeded" || token == "internal" ||
               token == "resource-exhausted" || token == "unavailable")
        r.grpc_statuses.emplace_back(token);
      else
        o.sink().Warning(o.At("retry_on"), "retry_on condition " + Quoted(token) +
                                               " is accepted but never triggers in Gatehouse");
    }
  } else if (r.attempts > 0) {
    // Istio's default retry_on when a retries block omits it.
    r.on_connect_failure = r.on_refused_stream = r.on_retriable_status_codes = true;
    r.grpc_statuses = {"unavailable", "cancelled"};
  }
  if (auto v = o.Bool("retry_ignore_previous_hosts")) r.retry_ignore_previous_hosts = *v;
  if (auto b = o.Duration("backoff", Millis(1), false)) {
    r.backoff_base = *b;
    r.backoff_max = *b * 10;
  }
  if (auto v = o.Bool("retry_non_idempotent")) r.retry_non_idempotent = *v;
  o.IgnoreWithWarning("retry_remote_localities", "Gatehouse has no locality load balancing");
  if (r.attempts == 0 && (o.Has("per_try_timeout") || o.Has("retry_on") || o.Has("backoff")))
    o.sink().Error(o.where(), "retry fields are set but \"attempts\" is 0 (retries disabled)");
  o.Finish();
  return r;
}

const std::set<std::string_view> kGrpcStatus = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

routing::Fault DecodeFault(Obj o) {
  routing::Fault f;
  bool any = false;
  if (auto d = o.Table("delay")) {
    any = true;
    if (auto v = d->Duration("fixed_delay", Millis(1), false))
      f.delay = *v;
    else if (!d->Has("fixed_delay"))
      d->sink().Error(d->where(), "delay needs \"fixed_delay\"");
    d->Unsupported("exponential_delay", "use fixed_delay");
    if (auto p = DecodePercent(*d, "percentage")) f.delay_percent = *p;
    if (auto p = d->Int("percent", 0, 100)) {
      d->sink().Warning(d->At("percent"), "\"percent\" is deprecated; use percentage.value");
      if (!d->Has("percentage")) f.delay_percent = static_cast<double>(*p);
    }
    d->Finish();
  }
  if (auto a = o.Table("abort")) {
    any = true;
    const auto status = a->Int("http_status", 200, 599);
    const auto grpc = a->Str("grpc_status");
    a->Unsupported("http2_error", "use http_status or grpc_status");
    if (status && grpc)
      a->sink().Error(a->where(), "abort takes http_status or grpc_status, not both");
    if (status) f.abort_status = static_cast<uint32_t>(*status);
    if (grpc) {
      if (!kGrpcStatus.contains(*grpc))
        a->sink().Error(a->At("grpc_status"),
                        "\"grpc_status\" must be an upper-case gRPC status name such as "
                        "\"UNAVAILABLE\", got " +
                            Quoted(*grpc));
      else
        f.abort_grpc_status = *grpc;
    }
    if (!status && !grpc && !a->Has("http2_error"))
      a->sink().Error(a->where(), "abort needs \"http_status\" or \"grpc_status\"");
    if (auto p = DecodePercent(*a, "percentage")) f.abort_percent = *p;
    a->Finish();
  }
  if (!any) o.sink().Error(o.where(), "fault needs \"delay\" or \"abort\"");
  o.Finish();
  return f;
}

routing::CorsPolicy DecodeCors(Obj o) {
  routing::CorsPolicy c;
  for (Obj& m : o.Tables("allow_origins")) {
    if (auto matcher = DecodeStringMatch(std::move(m), false, false))
      c.allow_origins.push_back(std::move(matcher));
  }
  for (const std::string& origin : o.Strings("allow_origin")) {
    c.allow_origins.push_back(o.cache().Exact(origin));
  }
  if (o.Has("allow_origin"))
    o.sink().Warning(o.At("allow_origin"), "\"allow_origin\" is deprecated; use allow_origins");
  auto join = [&](std::string_view key) {
    std::string out;
    for (const std::string& s : o.Strings(key))
      out += (out.empty() ? "" : ",") + s;
    return out;
  };
  c.allow_methods = join("allow_methods");
  c.allow_headers = join("allow_headers");
  c.expose_headers = join("expose_headers");
  if (auto m = o.Duration("max_age", Millis(0))) {
    if (m->count() % 1000 != 0)
      o.sink().Error(o.At("max_age"), "\"max_age\" must be whole seconds");
    else
      c.max_age = std::to_string(m->count() / 1000);
  }
  if (auto v = o.Bool("allow_credentials")) c.allow_credentials = *v;
  if (auto v = o.Enum<bool>("unmatched_preflights", {{"FORWARD", true}, {"IGNORE", false}}))
    c.forward_unmatched_preflights = *v;
  o.Finish();
  return c;
}

HttpRouteSpec DecodeHttpRoute(Obj o) {
  HttpRouteSpec r;
  r.where = o.position();
  if (auto n = o.Str("name")) r.name = *n;
  auto matches = o.Tables("match");
  r.matches.reserve(matches.size());
  for (Obj& m : matches)
    r.matches.push_back(DecodeHttpMatch(std::move(m)));
  auto route = o.Tables("route");
  r.route.reserve(route.size());
  for (Obj& d : route)
    r.route.push_back(DecodeRouteDestination(std::move(d), true));
  if (auto t = o.Table("redirect"))
    r.redirect = std::make_unique<routing::RedirectAction>(DecodeRedirect(std::move(*t)));
  if (auto t = o.Table("direct_response")) r.direct_response = DecodeDirectResponse(std::move(*t));
  o.Unsupported("delegate", "write the delegate's routes into this virtual service");
  bool has_rewrite = false;
  if (auto t = o.Table("rewrite")) {
    has_rewrite = true;
    r.rewrite = std::make_unique<routing::Rewrite>();
    if (auto v = t->Str("uri")) r.rewrite->uri = *v;
    if (auto v = t->Str("authority")) r.rewrite->authority = AsciiLowered(*v);
    if (auto rr = t->Table("uri_regex_rewrite")) {
      const auto match = rr->Str("match", true);
      const auto sub = rr->Str("rewrite", true);
      if (match) {
        RE2::Options options;
        options.set_log_errors(false);
        auto re = std::make_shared<RE2>(*match, options);
        if (!re->ok())
          rr->sink().Error(rr->At("match"), "invalid regex: " + re->error());
        else if (re->ProgramSize() > routing::kMaxRegexProgramSize)
          rr->sink().Error(rr->At("match"), "regex program is too large");
        else {
          std::string why;
          if (sub && !re->CheckRewriteString(*sub, &why))
            rr->sink().Error(rr->At("rewrite"), "invalid rewrite: " + why);
          r.rewrite->uri_regex = std::move(re);
        }
      }
      if (sub) r.rewrite->uri_regex_substitution = *sub;
      rr->Finish();
    }
    if (r.rewrite->uri && r.rewrite->uri_regex)
      t->sink().Error(t->where(), "rewrite takes \"uri\" or \"uri_regex_rewrite\", not both");
    t->Finish();
  }
  if (auto t = o.Table("headers")) {
    r.request_headers = std::make_unique<routing::HeaderOps>();
    r.response_headers = std::make_unique<routing::HeaderOps>();
    DecodeHeaders(std::move(*t), *r.request_headers, *r.response_headers, r.header_authority);
  }
  if (auto t = o.Duration("timeout", Millis(1))) r.timeout = *t;
  if (auto t = o.Table("retries"))
    r.retries = std::make_unique<routing::RetryPolicy>(DecodeRetries(std::move(*t)));
  if (auto t = o.Table("fault"))
    r.fault = std::make_shared<const routing::Fault>(DecodeFault(std::move(*t)));
  if (auto t = o.Table("mirror")) {
    MirrorSpec m;
    m.where = t->position();
    m.destination = DecodeDestination(std::move(*t));
    if (auto p = DecodePercent(o, "mirror_percentage")) m.percent = *p;
    if (auto p = o.Int("mirror_percent", 0, 100)) {
      o.sink().Warning(o.At("mirror_percent"),
                       "\"mirror_percent\" is deprecated; use mirror_percentage.value");
      if (!o.Has("mirror_percentage")) m.percent = static_cast<double>(*p);
    }
    r.mirrors.push_back(std::move(m));
  } else if (o.Has("mirror_percentage")) {
    o.Known("mirror_percentage");
    o.sink().Error(o.At("mirror_percentage"), "\"mirror_percentage\" needs \"mirror\"");
  }
  for (Obj& t : o.Tables("mirrors")) {
    if (o.Has("mirror")) {
      o.sink().Error(o.At("mirrors"), "\"mirror\" and \"mirrors\" cannot be combined");
      t.Known("destination");
      t.Known("percentage");
      t.Finish();
      break;
    }
    r.mirrors_list = true;
    MirrorSpec m;
    m.where = t.position();
    if (auto d = t.Table("destination", true)) m.destination = DecodeDestination(std::move(*d));
    if (auto p = DecodePercent(t, "percentage")) m.percent = *p;
    t.Finish();
    r.mirrors.push_back(std::move(m));
  }
  if (auto t = o.Table("cors_policy"))
    r.cors = std::make_shared<const routing::CorsPolicy>(DecodeCors(std::move(*t)));
  // Gatehouse extension: per-route request body cap (0: the [proxy] default).
  if (auto v = o.Int("max_request_body_bytes", 0, INT64_MAX))
    r.max_request_body_bytes = static_cast<uint64_t>(*v);

  // Exactly one action.
  const int actions = (r.route.empty() ? 0 : 1) + (r.redirect ? 1 : 0) +
                      (r.direct_response ? 1 : 0) + (o.Has("delegate") ? 1 : 0);
  if (actions == 0)
    o.sink().Error(o.where(),
                   "an http route needs one of \"route\", \"redirect\" or \"direct_response\"");
  else if (actions > 1)
    o.sink().Error(o.where(),
                   "an http route takes only one of \"route\", \"redirect\", "
                   "\"direct_response\" and \"delegate\"");
  if ((r.redirect || r.direct_response) && has_rewrite)
    o.sink().Error(o.At("rewrite"),
                   "\"rewrite\" cannot be combined with redirect or "
                   "direct_response");
  if ((r.redirect || r.direct_response) && r.fault)
    o.sink().Error(o.At("fault"), "\"fault\" cannot be combined with redirect or direct_response");
  if ((r.redirect || r.direct_response) && !r.mirrors.empty())
    o.sink().Error(o.where(), "mirrors need a \"route\" action");
  if (r.rewrite && r.rewrite->authority && r.header_authority)
    o.sink().Error(o.where(),
                   "the authority is rewritten twice: in rewrite.authority and in a "
                   ":authority/host header");
  o.Finish();
  return r;
}

L4RouteSpec DecodeL4Route(Obj o, bool tls) {
  L4RouteSpec r;
  r.where = o.where();
  for (Obj& m : o.Tables("match", tls)) {
    L4MatchSpec s;
    s.where = m.where();
    std::vector<Where> where;
    const auto subnets = m.Strings("destination_subnets", &where);
    for (size_t i = 0; i < subnets.size(); ++i) {
      if (auto c = routing::ParseCidr(subnets[i]))
        s.destination_subnets.push_back(*c);
      else
        m.sink().Error(where[i], "invalid subnet " + Quoted(subnets[i]));
    }
    if (auto p = m.Int("port", 1, 65535)) s.port = static_cast<uint32_t>(*p);
    s.gateways = m.Strings("gateways");
    m.Unsupported("source_labels", "Gatehouse has no client workloads");
    m.Unsupported("source_namespace", "Gatehouse has no client workloads");
    if (tls) {
      std::vector<Where> sw;
      for (const std::string& h : m.Strings("sni_hosts", &sw))
        s.sni_hosts.push_back(AsciiLowered(h));
      if (s.sni_hosts.empty()) m.sink().Error(m.At("sni_hosts"), "tls matches need \"sni_hosts\"");
      for (size_t i = 0; i < s.sni_hosts.size(); ++i) {
        if (routing::ParseIp(s.sni_hosts[i])) {
          m.sink().Warning(sw[i], "an IP address in sni_hosts never matches an SNI");
          continue;
        }
        const std::string why = routing::ValidateHostPattern(s.sni_hosts[i], true);
        if (!why.empty()) m.sink().Error(sw[i], why);
      }
    } else {
      m.Unsupported("sni_hosts", "sni_hosts belongs to tls rules");
    }
    m.Finish();
    r.matches.push_back(std::move(s));
  }
  for (Obj& d : o.Tables("route", true))
    r.route.push_back(DecodeRouteDestination(std::move(d), false));
  o.Finish();
  return r;
}

void DecodeVirtualService(Obj o, std::vector<VirtualServiceSpec>& out) {
  VirtualServiceSpec v;
  v.where = o.where();
  if (!DecodeMeta(o, "virtual_service", v.name, v.ns)) {
    for (const char* k : {"hosts", "gateways", "http", "tcp", "tls", "export_to"})
      o.Known(k);
    o.Finish();
    return;
  }
  v.where = o.where();  // with the name-based path
  const auto hosts = o.Strings("hosts", &v.host_where);
  std::set<std::string> seen;
  for (size_t i = 0; i < hosts.size(); ++i) {
    std::string h = AsciiLowered(hosts[i]);
    std::string why = routing::ValidateHostPattern(h, true);
    if (why.empty() && !seen.insert(h).second) why = "duplicate host " + Quoted(h);
    if (!why.empty()) {
      o.sink().Error(v.host_where[i], why);
      continue;
    }
    v.hosts.push_back(std::move(h));
  }
  // Keep host_where aligned with the accepted hosts.
  if (v.hosts.size() != v.host_where.size()) {
    std::vector<Where> kept;
    size_t j = 0;
    for (size_t i = 0; i < hosts.size() && j < v.hosts.size(); ++i) {
      if (AsciiLowered(hosts[i]) == v.hosts[j]) {
        kept.push_back(v.host_where[i]);
        ++j;
      }
    }
    v.host_where = std::move(kept);
  }
  if (hosts.empty()) o.sink().Error(o.At("hosts"), "a virtual service needs at least one host");
  v.gateways = o.Strings("gateways", &v.gateway_where);
  auto http = o.Tables("http");
  v.http.reserve(http.size());
  for (Obj& r : http)
    v.http.push_back(DecodeHttpRoute(std::move(r)));
  for (Obj& r : o.Tables("tcp"))
    v.tcp.push_back(DecodeL4Route(std::move(r), false));
  for (Obj& r : o.Tables("tls"))
    v.tls.push_back(DecodeL4Route(std::move(r), true));
  if (!o.Has("http") && !o.Has("tcp") && !o.Has("tls"))
    o.sink().Error(o.where(), "a virtual service needs \"http\", \"tcp\" or \"tls\" rules");
  o.IgnoreWithWarning("export_to", "Gatehouse has no namespaces to export to");
  o.Finish();
  out.push_back(std::move(v));
}

// -------------------------------------------------------- service entry ---

void DecodeServiceEntry(Obj o, std::vector<ServiceEntrySpec>& out) {
  ServiceEntrySpec s;
  s.where = o.where();
  if (!DecodeMeta(o, "service_entry", s.name, s.ns)) {
    for (const char* k : {"hosts", "addresses", "ports", "location", "resolution", "endpoints",
                          "subject_alt_names", "export_to", "workload_selector"})
      o.Known(k);
    o.Finish();
    return;
  }
  s.where = o.where();  // with the name-based path
  const auto hosts = o.Strings("hosts", &s.host_where);
  if (hosts.empty()) o.sink().Error(o.At("hosts"), "a service entry needs at least one host");
  if (hosts.size() > 256) o.sink().Error(o.At("hosts"), "at most 256 hosts are allowed");
  for (size_t i = 0; i < hosts.size(); ++i) {
    std::string h = AsciiLowered(hosts[i]);
    if (h == "*") {
      o.sink().Error(s.host_where[i], "a service entry host cannot be \"*\"");
    } else if (const std::string why = routing::ValidateHostPattern(h, true); !why.empty()) {
      o.sink().Error(s.host_where[i], why);
    }
    s.hosts.push_back(std::move(h));
  }
  s.addresses = o.Strings("addresses");
  for (const std::string& a : s.addresses) {
    if (!routing::ParseCidr(a)) o.sink().Error(o.At("addresses"), "invalid address " + Quoted(a));
  }
  std::set<uint32_t> numbers;
  std::set<std::string> names;
  for (Obj& p : o.Tables("ports")) {
    const Where w = p.where();
    PortSpec port = DecodePort(std::move(p), false);
    if (port.number != 0 && !numbers.insert(port.number).second)
      o.sink().Error(w, "duplicate port number " + std::to_string(port.number));
    if (!port.name.empty() && !names.insert(port.name).second)
      o.sink().Error(w, "duplicate port name " + Quoted(port.name));
    s.ports.push_back(std::move(port));
  }
  if (s.ports.empty()) o.sink().Error(o.At("ports"), "a service entry needs at least one port");
  if (auto l = o.Enum<bool>("location", {{"MESH_EXTERNAL", false}, {"MESH_INTERNAL", true}}))
    s.mesh_internal = *l;
  using R = routing::Resolution;
  if (auto r = o.Enum<R>("resolution", {{"NONE", R::kNone},
                                        {"STATIC", R::kStatic},
                                        {"DNS", R::kDns},
                                        {"DNS_ROUND_ROBIN", R::kDnsRoundRobin},
                                        {"DYNAMIC_DNS", R::kNone}})) {
    if (*o.Str("resolution") == "DYNAMIC_DNS")
      o.sink().Error(o.At("resolution"), "DYNAMIC_DNS is not supported yet");
    s.resolution = *r;
  }
  for (Obj& e : o.Tables("endpoints")) {
    SeEndpointSpec ep;
    ep.where = e.where();
    if (auto a = e.Str("address", true)) ep.address = *a;
    e.Known("ports");
    if (const toml::node* n = e.table().get("ports"); n && !n->as_table()) {
      e.sink().Error(e.At("ports"), "endpoint \"ports\" must be a table of name = number");
    } else if (n != nullptr) {
      for (auto&& [k, v] : *n->as_table()) {
        if (const auto* i = v.as_integer(); i && i->get() >= 1 && i->get() <= 65535)
          ep.ports.emplace(std::string(k.str()), static_cast<uint32_t>(i->get()));
        else
          e.sink().Error(e.Locate(v, e.PathOf("ports") + "." + std::string(k.str())),
                         "endpoint ports map port names to numbers 1-65535");
      }
    }
    ep.labels = e.StringMap("labels");
    if (auto w = e.Int("weight", 0, UINT32_MAX))
      ep.weight = *w == 0 ? 1 : static_cast<uint32_t>(*w);
    if (auto sa = e.Str("service_account")) ep.service_account = *sa;
    e.IgnoreWithWarning("network", "Gatehouse has a single network");
    e.IgnoreWithWarning("locality", "Gatehouse has no locality load balancing");
    e.Finish();
    s.endpoints.push_back(std::move(ep));
  }
  if (s.endpoints.size() > 4096) o.sink().Error(o.At("endpoints"), "at most 4096 endpoints");
  s.subject_alt_names = o.Strings("subject_alt_names");
  o.IgnoreWithWarning("export_to", "Gatehouse has no namespaces to export to");
  o.Unsupported("workload_selector", "list endpoints explicitly");
  o.Finish();
  out.push_back(std::move(s));
}

// ------------------------------------------------------ destination rule ---

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

// One resource kind of a file's root (or of a piece of one), in file order.
void DecodeKind(Obj& top, std::string_view kind, Resources& out) {
  if (kind == "gateway") {
    for (Obj& o : top.Tables("gateway"))
      DecodeGateway(std::move(o), out.gateways);
  } else if (kind == "virtual_service") {
    for (Obj& o : top.Tables("virtual_service"))
      DecodeVirtualService(std::move(o), out.virtual_services);
  } else if (kind == "service_entry") {
    for (Obj& o : top.Tables("service_entry"))
      DecodeServiceEntry(std::move(o), out.service_entries);
  } else if (kind == "destination_rule") {
    for (Obj& o : top.Tables("destination_rule"))
      DecodeDestinationRule(std::move(o), out.destination_rules);
  }
}

}  // namespace

void DecodeFile(const toml::table& root, uint32_t file, Resources& out,
                std::map<std::string, Where>& seen_process, DiagnosticSink& sink,
                routing::MatcherCache& cache, const std::function<void(std::string_view)>& more) {
  Obj top(root, file, sink, cache);
  auto process = [&](const char* key, auto&& decode) {
    if (!top.Has(key)) return;
    const Where w = top.At(key);
    if (auto [it, inserted] = seen_process.emplace(key, w); !inserted) {
      sink.Error(w, std::string("[") + key + "] is already set in " +
                        sink.file_name(it->second.file) + ":" + std::to_string(it->second.line));
      top.Known(key);
      return;
    }
    if (auto t = top.Table(key)) decode(std::move(*t));
  };
  process("proxy", [&](Obj o) { DecodeProxy(std::move(o), out.proxy); });
  process("admin", [&](Obj o) { DecodeAdmin(std::move(o), out.admin); });
  process("mesh", [&](Obj o) { DecodeMesh(std::move(o), out.mesh); });
  for (std::string_view kind : kSplitKinds) {
    DecodeKind(top, kind, out);
    if (more) more(kind);
  }
  for (const char* kind :
       {"authorization_policy", "peer_authentication", "request_authentication", "sidecar",
        "envoy_filter", "telemetry", "workload_entry", "workload_group"}) {
    top.Unsupported(kind, "this resource kind is not implemented in Gatehouse");
  }
  top.Finish();
}

void DecodePiece(const toml::table& root, std::string_view kind, uint32_t file,
                 uint32_t line_offset, size_t index_base, Resources& out, DiagnosticSink& sink,
                 routing::MatcherCache& cache) {
  Obj top(root, file, sink, cache, line_offset, index_base);
  DecodeKind(top, kind, out);
  top.Finish();
}

}  // namespace gh::control
