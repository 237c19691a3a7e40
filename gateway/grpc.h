// gRPC over HTTP/2 as a proxy sees it, pure: recognising gRPC requests,
// the grpc-timeout header, and the shape of locally generated errors
// (HTTP 200 + grpc-status / grpc-message, "trailers-only").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/http.h"

namespace gh::gateway {

// Status codes (grpc/doc/statuscodes.md) the gateway itself produces.
enum class GrpcStatus : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kDeadlineExceeded = 4,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kUnauthenticated = 16,
};

// "application/grpc", "application/grpc+proto", "application/grpc;..."
bool IsGrpcContentType(std::string_view content_type);
inline bool IsGrpcRequest(const http::HeaderMap& headers) {
  const std::string* ct = headers.Get("content-type");
  return ct != nullptr && IsGrpcContentType(*ct);
}

// grpc-timeout: 1-8 ASCII digits and a unit (H M S m u n). Milliseconds,
// rounded up so a positive timeout never becomes 0. nullopt when malformed.
std::optional<uint64_t> ParseGrpcTimeoutMs(std::string_view value);

// The gRPC status of a local reply: timeouts (flag UT, or any local 504:
// every 504 the gateway makes is a timeout) are DEADLINE_EXCEEDED; otherwise
// the gRPC HTTP-to-status mapping (doc/http-grpc-status-mapping.md): 400
// INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 UNIMPLEMENTED,
// 429/502/503 UNAVAILABLE, anything else UNKNOWN.
GrpcStatus GrpcStatusForLocalReply(int http_status, std::string_view response_flags);

// grpc-message value: percent-encodes bytes outside 0x20-0x7E and '%'.
std::string GrpcPercentEncode(std::string_view message);

}  // namespace gh::gateway
