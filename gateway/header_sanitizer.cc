#include "gateway/header_sanitizer.h"

#include <array>
#include <cstring>
#include <vector>

#include "base/strings.h"

namespace gh::gateway {
namespace {

// connection, keep-alive, proxy-connection, transfer-encoding, upgrade, te:
// told apart by length first, since almost no field has one of theirs.
bool IsConnectionSpecific(std::string_view name) {
  switch (name.size()) {
    case 2:
      return http::NameEquals(name, "te");
    case 7:
      return http::NameEquals(name, "upgrade");
    case 10:
      return http::NameEquals(name, "connection") || http::NameEquals(name, "keep-alive");
    case 16:
      return http::NameEquals(name, "proxy-connection");
    case 17:
      return http::NameEquals(name, "transfer-encoding");
    default:
      return false;
  }
}

// Fields a client may not strip by naming them in Connection: framing and
// what the gateway itself adds after sanitising.
constexpr std::array<std::string_view, 5> kProtectedFromConnection = {
    "host", "content-length", "x-forwarded-for", "x-forwarded-proto", "x-request-id"};

bool IsProtected(std::string_view name) {
  for (std::string_view p : kProtectedFromConnection) {
    if (p == name) return true;
  }
  return false;
}

bool IsInternalHeader(std::string_view name) {
  return name.starts_with("x-envoy-") || name.starts_with("x-gatehouse-");
}

}  // namespace

bool RemoveHopByHopHeaders(http::HeaderMap& headers) {
  bool upgrade_requested = false;
  std::vector<std::string> named;
  for (const http::Header& h : headers) {
    if (!http::NameEquals(h.name, "connection")) continue;
    for (std::string_view token : SplitList(h.value)) {
      std::string lowered = AsciiLowered(token);
      if (lowered == "upgrade") upgrade_requested = true;
      if (!IsProtected(lowered)) named.push_back(std::move(lowered));
    }
  }
  // "TE: trailers" is the one TE value that may pass (gRPC needs it).
  bool te_trailers = false;
  if (const std::string* te = headers.Get("te")) te_trailers = ListHasToken(*te, "trailers");
  auto& fields = headers.fields();
  std::erase_if(fields, [&](const http::Header& h) {
    if (IsConnectionSpecific(h.name)) return true;
    for (const std::string& n : named) {
      if (http::NameEquals(h.name, n)) return true;
    }
    return false;
  });
  if (te_trailers) headers.Add("te", "trailers");
  return upgrade_requested;
}

SanitizeVerdict SanitizeRequestHeaders(http::HeaderMap& headers,
                                       const RequestSanitizeOptions& options, Random& random) {
  auto& fields = headers.fields();
  for (const http::Header& h : fields) {
    if (h.name.find('_') != std::string::npos &&
        options.underscores == routing::HeadersWithUnderscores::kRejectRequest) {
      return {400, "header_name_with_underscore"};
    }
  }
  if (options.underscores == routing::HeadersWithUnderscores::kDropHeader) {
    std::erase_if(fields,
                  [](const http::Header& h) { return h.name.find('_') != std::string::npos; });
  }
  RemoveHopByHopHeaders(headers);
  if (options.trusted_hops == 0) {
    std::erase_if(fields, [](const http::Header& h) { return IsInternalHeader(h.name); });
  }
  if (!options.peer_ip.empty()) headers.Append("x-forwarded-for", options.peer_ip);
  if (options.trusted_hops == 0 || !headers.Has("x-forwarded-proto")) {
    headers.Set("x-forwarded-proto", std::string(options.scheme));
  }
  const std::string* id = headers.Get("x-request-id");
  if (id == nullptr || headers.Count("x-request-id") != 1 || !IsValidRequestId(*id)) {
    headers.Set("x-request-id", GenerateRequestId(random));
  }
  return {};
}

void SanitizeResponseHeaders(http::HeaderMap& headers, std::string_view server_header,
                             bool keep_upgrade) {
  std::string upgrade;
  if (keep_upgrade) {
    if (const std::string* u = headers.Get("upgrade")) upgrade = *u;
  }
  RemoveHopByHopHeaders(headers);
  std::erase_if(headers.fields(), [](const http::Header& h) { return IsInternalHeader(h.name); });
  if (keep_upgrade && !upgrade.empty()) {
    headers.Add("connection", "upgrade");
    headers.Add("upgrade", std::move(upgrade));
  }
  if (!server_header.empty()) headers.Set("server", std::string(server_header));
}

std::string OriginalClientIp(const http::HeaderMap& headers, std::string_view peer_ip,
                             uint32_t trusted_hops) {
  if (trusted_hops == 0) return std::string(peer_ip);
  std::vector<std::string_view> hops;
  for (const http::Header& h : headers) {
    if (h.name != "x-forwarded-for") continue;
    for (std::string_view hop : SplitList(h.value))
      hops.push_back(hop);
  }
  if (hops.size() < trusted_hops) return std::string(peer_ip);
  return std::string(hops[hops.size() - trusted_hops]);
}

std::string GenerateRequestId(Random& random) {
  uint64_t hi = random.Next();
  uint64_t lo = random.Next();
  hi = (hi & ~0xF000ULL) | 0x4000ULL;                  // version 4
  lo = (lo & ~(0xC000ULL << 48)) | (0x8000ULL << 48);  // variant 10
  char hex[32];
  WriteHex64(hex, hi);
  WriteHex64(hex + 16, lo);
  // 8-4-4-4-12
  char out[36];
  std::memcpy(out, hex, 8);
  out[8] = '-';
  std::memcpy(out + 9, hex + 8, 4);
  out[13] = '-';
  std::memcpy(out + 14, hex + 12, 4);
  out[18] = '-';
  std::memcpy(out + 19, hex + 16, 4);
  out[23] = '-';
  std::memcpy(out + 24, hex + 20, 12);
  return std::string(out, sizeof out);
}

bool IsValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '-' || c == '_' || c == '.' || c == ':' || c == '+' || c == '/' ||
                    c == '=';
    if (!ok) return false;
  }
  return true;
}

}  // namespace gh::gateway
