#include "tls/internal.h"

#include <openssl/err.h>

#include <algorithm>

#include "base/strings.h"
#include "tls/ossl_util.h"

namespace gh::tls::internal {
namespace {

// Istio tlsDefaults, then CHACHA20 (after the AES-GCM ECDHE suites), then the
// non-forward-secret AES-GCM pair Istio keeps for old clients.
constexpr const char* kDefaultCipherList =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "AES256-GCM-SHA384:AES128-GCM-SHA256";
constexpr const char* kDefaultCiphersuites =
    "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* kDefaultGroups = "X25519:P-256:P-384";

}  // namespace

int MinVersion(routing::TlsVersion v) {
  switch (v) {
    case routing::TlsVersion::k1_0:
      return TLS1_VERSION;
    case routing::TlsVersion::k1_1:
      return TLS1_1_VERSION;
    case routing::TlsVersion::k1_3:
      return TLS1_3_VERSION;
    case routing::TlsVersion::k1_2:
    case routing::TlsVersion::kAuto:
      return TLS1_2_VERSION;
  }
  return TLS1_2_VERSION;
}

int MaxVersion(routing::TlsVersion v) {
  switch (v) {
    case routing::TlsVersion::k1_0:
      return TLS1_VERSION;
    case routing::TlsVersion::k1_1:
      return TLS1_1_VERSION;
    case routing::TlsVersion::k1_2:
      return TLS1_2_VERSION;
    case routing::TlsVersion::k1_3:
    case routing::TlsVersion::kAuto:
      return TLS1_3_VERSION;
  }
  return TLS1_3_VERSION;
}

Result<CipherSettings> ResolveCipherSettings(const std::vector<std::string>& cipher_suites,
                                             const std::vector<std::string>& ecdh_curves,
                                             int min_version, std::string_view where,
                                             std::vector<std::string>& warnings) {
  SslCtxPtr scratch(SSL_CTX_new(TLS_method()));
  if (!scratch) return OpenSslError("SSL_CTX_new");
  CipherSettings out;
  std::vector<std::string> list, suites, groups;
  auto warn = [&](const std::string& what) {
    warnings.push_back(std::string(where) + ": " + what);
  };
  for (const auto& name : cipher_suites) {
    if (std::find(list.begin(), list.end(), name) != list.end() ||
        std::find(suites.begin(), suites.end(), name) != suites.end()) {
      warn("duplicate cipher suite \"" + name + "\" ignored");
      continue;
    }
    const bool tls13 = name.rfind("TLS_", 0) == 0;
    const int ok = tls13 ? SSL_CTX_set_ciphersuites(scratch.get(), name.c_str())
                         : SSL_CTX_set_cipher_list(scratch.get(), name.c_str());
    ERR_clear_error();
    if (ok != 1 || name.find_first_of(":, ") != std::string::npos) {
      warn("unknown cipher suite \"" + name + "\" ignored");
      continue;
    }
    (tls13 ? suites : list).push_back(name);
  }
  if (!cipher_suites.empty() && list.empty() && suites.empty())
    warn("no usable cipher suite configured; using the defaults");
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v)
      s += (s.empty() ? "" : ":") + x;
    return s;
  };
  out.cipher_list = list.empty() ? kDefaultCipherList : join(list);
  out.ciphersuites = suites.empty() ? kDefaultCiphersuites : join(suites);
  for (const auto& name : ecdh_curves) {
    if (std::find(groups.begin(), groups.end(), name) != groups.end()) {
      warn("duplicate ECDH curve \"" + name + "\" ignored");
      continue;
    }
    const int ok = SSL_CTX_set1_groups_list(scratch.get(), name.c_str());
    ERR_clear_error();
    if (ok != 1 || name.find(':') != std::string::npos) {
      warn("unknown ECDH curve \"" + name + "\" ignored");
      continue;
    }
    groups.push_back(name);
  }
  out.groups = groups.empty() ? kDefaultGroups : join(groups);
  if (min_version < TLS1_2_VERSION) {
    // TLS 1.0/1.1 sign handshakes with SHA-1, which security level 1 refuses.
    out.security_level = 0;
    if (cipher_suites.empty())
      warn("TLS 1.0/1.1 without cipher_suites: the default (AEAD-only) ciphers need TLS 1.2");
  }
  return out;
}

Status ApplyCipherSettings(SSL_CTX* ctx, const CipherSettings& s, int min_version,
                           int max_version) {
  if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, max_version) != 1)
    return OpenSslError("protocol versions");
  if (SSL_CTX_set_cipher_list(ctx, s.cipher_list.c_str()) != 1) return OpenSslError("cipher list");
  if (SSL_CTX_set_ciphersuites(ctx, s.ciphersuites.c_str()) != 1)
    return OpenSslError("TLS 1.3 cipher suites");
  if (SSL_CTX_set1_groups_list(ctx, s.groups.c_str()) != 1) return OpenSslError("ECDH groups");
  SSL_CTX_set_security_level(ctx, s.security_level);
  return Status::Ok();
}

Result<std::string> AlpnWire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255) return MakeError("invalid ALPN protocol \"" + p + "\"");
    wire.push_back(static_cast<char>(p.size()));
    wire += p;
  }
  return wire;
}

namespace {

bool DnsSanMatches(std::string_view san, std::string_view name) {
  if (AsciiIEquals(san, name)) return true;
  // "*.example.com" covers exactly one label.
  if (san.size() > 2 && san.substr(0, 2) == "*.") {
    const size_t dot = name.find('.');
    return dot != std::string_view::npos && dot > 0 &&
           AsciiIEquals(san.substr(1), name.substr(dot));
  }
  return false;
}

}  // namespace

bool SanAllowed(const CertInfo& cert, const std::vector<std::string>& allowed) {
  for (const auto& want : allowed) {
    for (const auto& dns : cert.dns_sans)
      if (DnsSanMatches(dns, want)) return true;
    for (const auto* list : {&cert.uri_sans, &cert.ip_sans, &cert.email_sans})
      if (std::find(list->begin(), list->end(), want) != list->end()) return true;
  }
  return false;
}

std::string DescribeSans(const CertInfo& cert) {
  std::string out;
  auto add = [&](std::string_view kind, const std::vector<std::string>& v) {
    for (const auto& x : v) {
      if (!out.empty()) out += ", ";
      out.append(kind).append(":").append(x);
    }
  };
  add("DNS", cert.dns_sans);
  add("URI", cert.uri_sans);
  add("IP", cert.ip_sans);
  add("email", cert.email_sans);
  return out.empty() ? "no SANs" : out;
}

}  // namespace gh::tls::internal
