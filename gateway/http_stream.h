// The protocol-neutral HTTP stream model. Downstream codecs (HTTP/1.1 now,
// HTTP/2 later) turn bytes into calls on a StreamHandler and implement
// DownstreamStream for the response; upstream codecs implement
// UpstreamStream and call an UpstreamHandler. The proxy logic in between
// (proxy_stream.*) never sees wire formats.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/http.h"
#include "gateway/deferred_deletable.h"

namespace gh::gateway {

struct RequestHead {
  std::string method;
  std::string scheme;       // "http" / "https"
  std::string authority;    // Host / :authority
  std::string path;         // origin-form with query
  std::string protocol;     // "HTTP/1.0", "HTTP/1.1", "HTTP/2"
  http::HeaderMap headers;  // regular fields only (no Host, framing or hop-by-hop)
  std::optional<uint64_t> content_length;
  bool expect_continue = false;
  std::string upgrade;  // requested upgrade token (e.g. "websocket"), or ""
};

struct ResponseHead {
  int status = 200;
  http::HeaderMap headers;  // regular fields only (no framing fields)
  std::optional<uint64_t> content_length;
  // Ask the codec to end the connection after this response (HTTP/1: a
  // protocol error; HTTP/2 ignores it).
  bool close_connection = false;
};

// Why a stream ended abnormally.
enum class StreamResetReason : uint8_t {
  kConnectionFailure,      // upstream connect failed or timed out
  kConnectionTermination,  // the connection closed under the stream
  kLocalReset,
  kRemoteReset,
  kRefusedStream,
  kProtocolError,
  kOverflow,
};

// Implemented by the proxy for one request; called by the downstream codec.
class StreamHandler : public DeferredDeletable {
 public:
  virtual void OnRequestHeaders(RequestHead&& head, bool end_stream) = 0;
  virtual void OnRequestData(std::string_view data, bool end_stream) = 0;
  virtual void OnRequestTrailers(http::HeaderMap&& trailers) = 0;
  // The downstream can take more response bytes (fell below low watermark).
  virtual void OnDownstreamWritable() = 0;
  // The client went away or reset the stream; the handler must stop using
  // the DownstreamStream and finish.
  virtual void OnDownstreamReset(StreamResetReason reason) = 0;
};

// Implemented by a downstream codec for one stream; used by the proxy.
class DownstreamStream {
 public:
  virtual ~DownstreamStream() = default;
  virtual void SendHeaders(ResponseHead& head, bool end_stream) = 0;
  virtual void SendData(std::string_view data, bool end_stream) = 0;
  virtual void SendTrailers(const http::HeaderMap& trailers) = 0;
  virtual void Send100Continue() = 0;
  // Abort: the response cannot complete (HTTP/1: the connection closes).
  virtual void Reset() = 0;
  // Stop or resume delivery of request body bytes (counted).
  virtual void ReadDisable(bool disable) = 0;
  virtual bool AboveHighWatermark() const = 0;
  // The proxy finished with the stream (response complete or reset); the
  // codec may free it and move on. No calls after this.
  virtual void Done() = 0;
};

// Implemented by the proxy for one upstream attempt; called by the upstream codec.
class UpstreamHandler {
 public:
  virtual ~UpstreamHandler() = default;
  virtual void OnResponseHeaders(ResponseHead&& head, bool end_stream) = 0;
  virtual void OnResponseData(std::string_view data, bool end_stream) = 0;
  virtual void OnResponseTrailers(http::HeaderMap&& trailers) = 0;
  virtual void OnUpstreamWritable() = 0;
  // The attempt failed. `response_started` tells whether any response byte
  // arrived; `request_sent` whether request bytes reached the socket.
  virtual void OnUpstreamReset(StreamResetReason reason, std::string_view detail) = 0;
};

// Implemented by an upstream codec for one request on a connection.
class UpstreamStream {
 public:
  virtual ~UpstreamStream() = default;
  virtual void SendHeaders(const RequestHead& head, bool end_stream) = 0;
  virtual void SendData(std::string_view data, bool end_stream) = 0;
  virtual void SendTrailers(const http::HeaderMap& trailers) = 0;
  // Abandon the request: the connection is not reused.
  virtual void Reset() = 0;
  virtual void ReadDisable(bool disable) = 0;
  virtual bool AboveHighWatermark() const = 0;
  // True when this request runs on a connection that served earlier requests.
  virtual bool reused_connection() const = 0;
  // True once any byte of this request reached the socket.
  virtual bool request_bytes_written() const = 0;
  virtual std::string upstream_local_address() const = 0;
};

}  // namespace gh::gateway
