// SPIFFE IDs (pure): parse and validate `spiffe://<trust-domain>/<path>` per
// the SPIFFE ID specification, and the Istio workload form
// `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace gh::tls {

// Any valid SPIFFE ID. `path` is empty or starts with '/'.
struct SpiffeUri {
  std::string trust_domain;
  std::string path;
  std::string ToString() const { return "spiffe://" + trust_domain + path; }
};

// An Istio workload identity.
struct SpiffeId {
  std::string trust_domain;
  std::string ns;
  std::string service_account;
  std::string ToString() const;
  bool operator==(const SpiffeId&) const = default;
};

// Trust domain: 1..255 chars of [a-z0-9.-_] (lowercase only, no port).
bool IsValidTrustDomain(std::string_view trust_domain);
// Path segment: 1+ chars of [A-Za-z0-9.-_], and neither "." nor "..".
bool IsValidPathSegment(std::string_view segment);

// Strict: lowercase scheme, no userinfo/port/query/fragment/percent-encoding,
// no empty, "." or ".." segments, no trailing slash, at most 2048 bytes.
Result<SpiffeUri> ParseSpiffeUri(std::string_view uri);
// ParseSpiffeUri plus the exact path shape /ns/<ns>/sa/<sa>.
Result<SpiffeId> ParseSpiffeId(std::string_view uri);
// Validates the parts and renders the ID.
Result<SpiffeId> MakeSpiffeId(std::string_view trust_domain, std::string_view ns,
                              std::string_view service_account);

}  // namespace gh::tls
