// Upstream HTTP/1.1 codec: one connection to one endpoint, one request at a
// time. Serialises the request with the right framing (Content-Length when
// known, chunked otherwise), parses the response, returns itself to its pool
// when both messages completed cleanly, becomes a byte tunnel after a 101.
#pragma once

#include <sys/socket.h>

#include <memory>
#include <string>

#include "gateway/connection.h"
#include "gateway/http1_parser.h"
#include "gateway/http_stream.h"
#include "gateway/timer_queue.h"
#include "tls/client_context.h"

namespace gh::gateway {

class EndpointPool;

class Http1ClientConnection final : public ConnectionHandler,
                                    public UpstreamStream,
                                    private Http1Parser::Callbacks {
 public:
  // `tls`: originate TLS with this context (null: plaintext); `sni_host`:
  // the host the SNI and hostname check derive from.
  Http1ClientConnection(EndpointPool& pool, uint32_t buffer_limit, uint64_t connect_timeout_ms,
                        const sockaddr_storage& address,
                        const std::shared_ptr<const tls::ClientContext>& tls,
                        std::string_view sni_host);
  ~Http1ClientConnection() override;

  // Binds the next request's handler. The stream is valid until the handler
  // sees end of response, a reset, or calls Reset().
  void Attach(UpstreamHandler* handler);
  bool idle() const { return handler_ == nullptr; }
  uint32_t requests_served() const { return requests_; }
  // Closes the connection (idle timeout, pool retirement).
  void Close();
  // Idle-timer bookkeeping, owned by the pool.
  Timer& idle_timer() { return idle_timer_; }

  // UpstreamStream
  void SendHeaders(const RequestHead& head, bool end_stream) override;
  void SendData(std::string_view data, bool end_stream) override;
  void SendTrailers(const http::HeaderMap& trailers) override;
  void Reset() override;
  void ReadDisable(bool disable) override;
  bool AboveHighWatermark() const override;
  bool reused_connection() const override { return requests_ > 1; }
  bool request_bytes_written() const override;
  // False when the peer already closed this idle connection (EOF pending).
  bool StillUsable() const;
  std::string upstream_local_address() const override;

  // ConnectionHandler
  void OnConnected() override;
  void OnData(std::string_view data) override;
  void OnEof() override;
  void OnWriteBelowLowWatermark() override;
  void OnClose(CloseReason reason) override;

 private:
  bool OnHead(MessageHead& head) override;
  void OnBody(std::string_view data) override;
  void OnMessageComplete(http::HeaderMap* trailers) override;

  void FailActive(StreamResetReason reason, std::string_view detail);
  void MaybeRelease();

  EndpointPool& pool_;
  Connection* connection_;
  Http1Parser parser_;
  UpstreamHandler* handler_ = nullptr;
  Timer idle_timer_;
  uint32_t requests_ = 0;
  uint64_t written_at_attach_ = 0;
  uint64_t final_written_ = 0;  // bytes_written() when the socket closed
  std::string close_detail_;    // why the connection failed (TLS reason)
  bool connected_ = false;
  bool closed_ = false;
  bool head_request_ = false;
  bool chunked_request_ = false;
  bool request_complete_ = false;
  bool response_started_ = false;
  bool response_complete_ = false;
  bool response_keep_alive_ = true;
  bool tunnel_ = false;
  bool tunnel_peer_eof_ = false;  // the origin ended its half of the tunnel
  bool end_at_headers_ = false;
  bool upgrade_requested_ = false;
  bool broken_ = false;  // not reusable
  bool read_disabled_ = false;
};

}  // namespace gh::gateway
