// Edge header hygiene, pure: what may cross the gateway in each direction.
// Hop-by-hop and Connection-named fields never pass; clients cannot steer the
// gateway or the upstream with x-envoy-* / x-gatehouse-* unless the hop in
// front is trusted; x-forwarded-* and x-request-id are the gateway's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/http.h"
#include "base/random.h"
#include "routing/model.h"

namespace gh::gateway {

struct RequestSanitizeOptions {
  uint32_t trusted_hops = 0;
  routing::HeadersWithUnderscores underscores = routing::HeadersWithUnderscores::kRejectRequest;
  std::string_view scheme = "http";  // of the downstream connection
  std::string_view peer_ip;
};

struct SanitizeVerdict {
  int status = 0;  // 0: accepted; otherwise the local reply status
  std::string_view detail;
};

// Cleans request headers in place and adds the forwarding headers. `headers`
// holds regular fields only (the codec keeps Host/:authority apart).
SanitizeVerdict SanitizeRequestHeaders(http::HeaderMap& headers,
                                       const RequestSanitizeOptions& options, Random& random);

// Strips what must not reach the client and applies the server header.
// `keep_upgrade` keeps Upgrade/Connection for a 101 response.
void SanitizeResponseHeaders(http::HeaderMap& headers, std::string_view server_header,
                             bool keep_upgrade);

// Removes connection-specific fields and every field the Connection header
// names (except the ones framing depends on). Returns the Connection value's
// tokens that asked for an upgrade ("upgrade" present).
bool RemoveHopByHopHeaders(http::HeaderMap& headers);

// The original client address given the trusted hop count (Envoy
// xff_num_trusted_hops semantics on the received X-Forwarded-For).
std::string OriginalClientIp(const http::HeaderMap& headers, std::string_view peer_ip,
                             uint32_t trusted_hops);

// A random UUID v4 for x-request-id.
std::string GenerateRequestId(Random& random);
bool IsValidRequestId(std::string_view id);

}  // namespace gh::gateway
