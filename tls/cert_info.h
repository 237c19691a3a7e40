// Certificate facts for /certs, the expiry metric, XFCC and identity checks.
#pragma once

#include <openssl/x509.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace gh::tls {

using UnixSeconds = std::chrono::sys_seconds;

struct CertInfo {
  std::string subject;     // RFC 2253, e.g. "CN=example.com,O=Example"
  std::string issuer;      // RFC 2253
  std::string serial_hex;  // lowercase hex, no leading zeros (at least one digit)
  std::vector<std::string> dns_sans, uri_sans, ip_sans, email_sans;
  // The URI SAN when the certificate carries exactly one URI SAN and it is a
  // valid SPIFFE ID (X.509-SVID rule); empty otherwise.
  std::string spiffe_id;
  UnixSeconds not_before{}, not_after{};
  std::string sha256_hex;          // of the DER certificate, lowercase, no colons
  std::string spki_sha256_base64;  // of the DER SubjectPublicKeyInfo
  std::string key_type;            // "EC P-256", "RSA 2048", "ED25519", ...
  bool is_ca = false;

  // Negative once expired.
  int64_t SecondsToExpiry(UnixSeconds now) const { return (not_after - now).count(); }
  bool ValidAt(UnixSeconds now) const { return now >= not_before && now <= not_after; }
};

CertInfo CertInfoFromX509(X509* cert);

// Every certificate of a PEM chain, leaf first as given.
Result<std::vector<CertInfo>> ParsePemChainInfo(std::string_view pem);

// The current wall clock in whole seconds (for callers at the edges; the
// functions above take `now`).
UnixSeconds NowSeconds();

}  // namespace gh::tls
