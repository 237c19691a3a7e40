#include "tls/spiffe.h"

#include <vector>

namespace gh::tls {
namespace {

constexpr std::string_view kScheme = "spiffe://";
constexpr size_t kMaxUriLength = 2048;
constexpr size_t kMaxTrustDomainLength = 255;

bool IsTrustDomainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

bool IsPathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

}  // namespace

std::string SpiffeId::ToString() const {
  return std::string(kScheme) + trust_domain + "/ns/" + ns + "/sa/" + service_account;
}

bool IsValidTrustDomain(std::string_view td) {
  if (td.empty() || td.size() > kMaxTrustDomainLength) return false;
  for (char c : td)
    if (!IsTrustDomainChar(c)) return false;
  return true;
}

bool IsValidPathSegment(std::string_view segment) {
  if (segment.empty() || segment == "." || segment == "..") return false;
  for (char c : segment)
    if (!IsPathChar(c)) return false;
  return true;
}

Result<SpiffeUri> ParseSpiffeUri(std::string_view uri) {
  if (uri.size() > kMaxUriLength) return MakeError("SPIFFE ID longer than 2048 bytes");
  if (uri.substr(0, kScheme.size()) != kScheme)
    return MakeError("SPIFFE ID must start with \"spiffe://\"");
  std::string_view rest = uri.substr(kScheme.size());
  const size_t slash = rest.find('/');
  const std::string_view td = rest.substr(0, slash);
  if (td.empty()) return MakeError("SPIFFE ID has an empty trust domain");
  if (!IsValidTrustDomain(td))
    return MakeError("SPIFFE trust domain \"" + std::string(td) +
                     "\" may only contain [a-z0-9.-_] (no port, userinfo or uppercase)");
  SpiffeUri out{std::string(td), {}};
  if (slash == std::string_view::npos) return out;
  std::string_view path = rest.substr(slash);
  if (path == "/") return MakeError("SPIFFE ID path must not end with '/'");
  std::string_view p = path.substr(1);
  while (true) {
    const size_t next = p.find('/');
    const std::string_view seg = p.substr(0, next);
    if (!IsValidPathSegment(seg))
      return MakeError("SPIFFE ID path segment \"" + std::string(seg) +
                       "\" is empty, \".\", \"..\" or has characters outside [A-Za-z0-9.-_]");
    if (next == std::string_view::npos) break;
    p = p.substr(next + 1);
  }
  out.path = std::string(path);
  return out;
}

Result<SpiffeId> ParseSpiffeId(std::string_view uri) {
  auto parsed = ParseSpiffeUri(uri);
  if (!parsed.ok()) return parsed.error();
  std::vector<std::string_view> segs;
  std::string_view p = parsed->path;
  while (!p.empty()) {
    p.remove_prefix(1);  // leading '/'
    const size_t next = p.find('/');
    segs.push_back(p.substr(0, next));
    p = next == std::string_view::npos ? std::string_view() : p.substr(next);
  }
  if (segs.size() != 4 || segs[0] != "ns" || segs[2] != "sa")
    return MakeError("SPIFFE ID \"" + std::string(uri) +
                     "\" is not of the form spiffe://<trust-domain>/ns/<namespace>/sa/<account>");
  return SpiffeId{std::move(parsed->trust_domain), std::string(segs[1]), std::string(segs[3])};
}

Result<SpiffeId> MakeSpiffeId(std::string_view trust_domain, std::string_view ns,
                              std::string_view service_account) {
  if (!IsValidTrustDomain(trust_domain))
    return MakeError("invalid trust domain \"" + std::string(trust_domain) + "\"");
  if (!IsValidPathSegment(ns)) return MakeError("invalid namespace \"" + std::string(ns) + "\"");
  if (!IsValidPathSegment(service_account))
    return MakeError("invalid service account \"" + std::string(service_account) + "\"");
  return SpiffeId{std::string(trust_domain), std::string(ns), std::string(service_account)};
}

}  // namespace gh::tls
