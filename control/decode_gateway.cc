// [[gateway]]: servers, their ports, hosts and TLS blocks.
#include <set>

#include "control/decode_internal.h"

namespace gh::control::decode_internal {
namespace {

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

}  // namespace

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

}  // namespace gh::control::decode_internal
