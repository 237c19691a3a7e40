// HTTP/2 header blocks <-> the protocol-neutral heads, pure (no nghttp2).
// nghttp2's HTTP messaging checks already reject most malformed blocks
// (pseudo-header order and presence, uppercase names, connection-specific
// fields, TE other than "trailers"); these builders map what passed, apply
// the size limits (431) and the request semantics HTTP/1 enforces too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/http.h"
#include "base/random.h"
#include "gateway/http_stream.h"

namespace gh::gateway {

// Fields HTTP/2 forbids (RFC 9113 8.2.2); `name` is lowercase.
bool IsConnectionSpecificHeader(std::string_view name);

// Size of one field in a header list as SETTINGS_MAX_HEADER_LIST_SIZE counts it.
inline size_t HeaderListEntrySize(std::string_view name, std::string_view value) {
  return name.size() + value.size() + 32;
}

// Accumulates one request header block (pseudo-headers and fields, in wire
// order) and turns it into a RequestHead.
class Http2RequestHeaders {
 public:
  struct Limits {
    size_t max_list_bytes = 60 * 1024;  // RFC 9113 accounting (name + value + 32)
    size_t max_fields = 100;            // regular fields
  };
  struct Outcome {
    int status = 0;  // 0: ok; otherwise the local reply status
    std::string_view detail;
  };

  explicit Http2RequestHeaders(Limits limits) : limits_(limits) {}

  // Adds one field. Once a limit is exceeded the rest is only counted.
  void Add(std::string_view name, std::string_view value);
  bool over_limit() const { return over_limit_; }

  // `scheme` is the connection's ("http" / "https"); `upgrades` the allowed
  // extended-CONNECT protocols. Extended CONNECT (RFC 8441) becomes the
  // HTTP/1.1 upgrade it stands for: GET with `upgrade` set and a fresh
  // Sec-WebSocket-Key for the upstream handshake.
  Outcome Build(std::string_view scheme, const std::vector<std::string>& upgrades, Random& random,
                RequestHead* out);
  bool extended_connect() const { return !protocol_.empty(); }

 private:
  Limits limits_;
  std::string method_, scheme_, authority_, path_, protocol_;
  http::HeaderMap fields_;
  size_t list_bytes_ = 0;
  bool over_limit_ = false;
};

// Accumulates a response (or trailer) block received from an upstream.
class Http2ResponseHeaders {
 public:
  explicit Http2ResponseHeaders(size_t max_list_bytes) : max_list_bytes_(max_list_bytes) {}
  void Add(std::string_view name, std::string_view value);
  bool over_limit() const { return over_limit_; }
  // Builds the head; false when :status is missing or invalid.
  bool Build(ResponseHead* out);
  // The block as trailers (pseudo-headers dropped).
  http::HeaderMap TakeFields();
  int status() const { return status_; }

 private:
  size_t max_list_bytes_;
  int status_ = 0;
  bool bad_status_ = false;
  http::HeaderMap fields_;
  size_t list_bytes_ = 0;
  bool over_limit_ = false;
};

// Base64 (RFC 4648, padded), for Sec-WebSocket-Key.
std::string Base64Encode(std::string_view data);

}  // namespace gh::gateway
