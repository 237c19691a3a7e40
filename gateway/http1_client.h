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
  // Idle bookkeeping, owned by the pool.
  Timer& idle_timer() { return idle_timer_; }
  uint64_t idle_since_ms() const { return idle_since_ms_; }
  void set_idle_since_ms(uint64_t now_ms) { idle_since_ms_ = now_ms; }

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
  // A connection idle for less than kProbeAfterIdleMs is taken on trust: the
  // loop has been reading it all along, so a close would already have been
  // seen, and a close racing with reuse is covered by the stale-connection
  // retry. Longer idles approach origin keep-alive timeouts and get a
  // non-blocking peek (one syscall) first.
  static constexpr uint64_t kProbeAfterIdleMs = 1000;
  bool StillUsable(uint64_t now_ms) const;
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
  uint64_t idle_since_ms_ = 0;
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
