#include "gateway/http1_client.h"

#include "base/strings.h"
#include "gateway/http1_framing.h"
#include "gateway/upstream_pool.h"

namespace gh::gateway {
namespace {

// Upstream responses get generous header limits: the origin is trusted more
// than the client, but still bounded.
constexpr Http1Parser::Limits kResponseLimits{96 * 1024, 200};

bool MethodUsuallyHasBody(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

}  // namespace

Http1ClientConnection::Http1ClientConnection(EndpointPool& pool, uint32_t buffer_limit,
                                             uint64_t connect_timeout_ms,
                                             const sockaddr_storage& address,
                                             const std::shared_ptr<const tls::ClientContext>& tls,
                                             std::string_view sni_host)
    : pool_(pool),
      connection_(nullptr),
      parser_(Http1Parser::Kind::kResponse, kResponseLimits, this),
      idle_timer_(pool.dispatcher().timers(), [this] { Close(); }) {
  connection_ = Connection::Connect(pool.dispatcher(), reinterpret_cast<const sockaddr*>(&address),
                                    buffer_limit, connect_timeout_ms, this);
  if (tls != nullptr && connection_ != nullptr) {
    Result<std::unique_ptr<tls::TlsSession>> session = tls::TlsSession::NewClient(tls, sni_host);
    if (session.ok()) {
      connection_->EnableTls(std::move(*session));
    } else {
      close_detail_ = session.error().message;
      connection_->Close(Connection::CloseMode::kAbort);
    }
  }
}

Http1ClientConnection::~Http1ClientConnection() {
  if (connection_ != nullptr) connection_->CloseAndDetach(Connection::CloseMode::kAbort);
}

void Http1ClientConnection::Attach(UpstreamHandler* handler) {
  handler_ = handler;
  ++requests_;
  written_at_attach_ = connection_ != nullptr ? connection_->bytes_written() : 0;
  head_request_ = false;
  chunked_request_ = false;
  request_complete_ = false;
  response_started_ = false;
  response_complete_ = false;
  response_keep_alive_ = true;
}

void Http1ClientConnection::Close() {
  if (closed_) return;
  closed_ = true;
  idle_timer_.Cancel();
  if (connection_ != nullptr) connection_->Close(Connection::CloseMode::kFlushWrite);
}

void Http1ClientConnection::SendHeaders(const RequestHead& head, bool end_stream) {
  if (connection_ == nullptr) return;
  head_request_ = head.method == "HEAD";
  upgrade_requested_ = !head.upgrade.empty();
  std::string& out = HeadScratch();
  out.append(head.method).push_back(' ');
  out.append(head.path).append(" HTTP/1.1\r\n");
  AppendHeaderLine(out, "host", head.authority);
  AppendHeaders(out, head.headers);
  if (!head.upgrade.empty()) {
    AppendHeaderLine(out, "connection", "upgrade");
    AppendHeaderLine(out, "upgrade", head.upgrade);
  }
  if (!head.upgrade.empty()) {
    // Upgrade requests carry no body; what follows a 101 is tunnel payload.
  } else if (head.content_length.has_value()) {
    AppendHeaderLine(out, "content-length", std::to_string(*head.content_length));
  } else if (!end_stream) {
    chunked_request_ = true;  // unknown length (e.g. chunked from the client)
    AppendHeaderLine(out, "transfer-encoding", "chunked");
  } else if (MethodUsuallyHasBody(head.method)) {
    AppendHeaderLine(out, "content-length", "0");
  }
  out.append("\r\n");
  connection_->Write(out);
  if (end_stream) request_complete_ = true;
}

void Http1ClientConnection::SendData(std::string_view data, bool end_stream) {
  if (connection_ == nullptr || request_complete_) return;
  if (tunnel_ || upgrade_requested_) {
    if (!data.empty()) connection_->Write(data);
    if (end_stream && tunnel_) {
      request_complete_ = true;
      connection_->ShutdownWrite();
    }
    return;
  }
  if (chunked_request_) {
    if (!data.empty()) {
      std::string header;
      AppendChunkHeader(header, data.size());
      connection_->Write(header);
      connection_->Write(data);
      connection_->Write("\r\n");
    }
    if (end_stream) connection_->Write("0\r\n\r\n");
  } else if (!data.empty()) {
    connection_->Write(data);
  }
  if (end_stream) {
    request_complete_ = true;
    MaybeRelease();
  }
}

void Http1ClientConnection::SendTrailers(const http::HeaderMap& trailers) {
  if (connection_ == nullptr || request_complete_) return;
  if (chunked_request_) {
    std::string out = "0\r\n";
    AppendHeaders(out, trailers);
    out.append("\r\n");
    connection_->Write(out);
  }
  request_complete_ = true;
  MaybeRelease();
}

void Http1ClientConnection::Reset() {
  handler_ = nullptr;
  broken_ = true;
  // A tunnel that ended both ways (the origin's FIN arrived, ours is
  // queued) is being retired, not aborted: its last bytes and FIN must still
  // go out. Any other reset aborts.
  const bool graceful = tunnel_ && request_complete_ && tunnel_peer_eof_;
  if (connection_ != nullptr) {
    connection_->Close(graceful ? Connection::CloseMode::kFlushWrite
                                : Connection::CloseMode::kAbort);
  }
}

void Http1ClientConnection::ReadDisable(bool disable) {
  // One flag per attached request: the connection must never go back to
  // the pool still paused by a request that is gone.
  if (connection_ == nullptr || read_disabled_ == disable) return;
  read_disabled_ = disable;
  connection_->ReadDisable(disable);
}

bool Http1ClientConnection::AboveHighWatermark() const {
  return connection_ != nullptr && connection_->above_high_watermark();
}

bool Http1ClientConnection::request_bytes_written() const {
  const uint64_t written = connection_ != nullptr ? connection_->bytes_written() : final_written_;
  return written > written_at_attach_;
}

bool Http1ClientConnection::StillUsable(uint64_t now_ms) const {
  if (connection_ == nullptr || closed_) return false;
  if (now_ms - idle_since_ms_ < kProbeAfterIdleMs) return true;
  return connection_->PeerStillOpen();
}

std::string Http1ClientConnection::upstream_local_address() const {
  return connection_ != nullptr ? connection_->LocalAddressString() : "";
}

void Http1ClientConnection::OnConnected() {
  connected_ = true;
  pool_.OnConnected(this);
}

void Http1ClientConnection::OnData(std::string_view data) {
  if (tunnel_) {
    if (handler_ != nullptr) handler_->OnResponseData(data, false);
    return;
  }
  if (handler_ == nullptr) {
    // Bytes on an idle connection: the origin is confused; never reuse it.
    broken_ = true;
    Close();
    return;
  }
  while (!data.empty()) {
    const Http1Parser::Outcome outcome = parser_.Feed(data);
    switch (outcome.status) {
      case Http1Parser::Status::kOk:
        return;
      case Http1Parser::Status::kPaused:
        parser_.Resume();
        data.remove_prefix(outcome.consumed);
        if (!data.empty()) {
          // A second response with no request: not HTTP we can trust.
          broken_ = true;
          Close();
        }
        return;
      case Http1Parser::Status::kUpgrade:
        data.remove_prefix(outcome.consumed);
        if (!data.empty() && handler_ != nullptr) handler_->OnResponseData(data, false);
        return;
      case Http1Parser::Status::kError:
        FailActive(StreamResetReason::kProtocolError, outcome.detail);
        return;
    }
  }
}

bool Http1ClientConnection::OnHead(MessageHead& head) {
  if (head.status == 101 && !upgrade_requested_) {
    // Switching protocols on a request that asked for none: nothing after it
    // can be framed, and the proxy would not know the stream became a tunnel.
    parser_.Reject(502, "unsolicited_101");
    return false;
  }
  response_started_ = true;
  response_keep_alive_ = head.keep_alive;
  ResponseHead response;
  response.status = head.status;
  if (head.content_length.has_value() && !head.chunked) {
    response.content_length = head.content_length;
  }
  head.headers.Remove("content-length");
  response.headers = std::move(head.headers);
  const bool upgrade = head.status == 101;
  if (upgrade) tunnel_ = true;
  const bool skip_body = head_request_ || head.status == 304;
  end_at_headers_ =
      !upgrade && (skip_body || head.status == 204 || (!head.chunked && head.content_length == 0u));
  if (handler_ != nullptr) handler_->OnResponseHeaders(std::move(response), end_at_headers_);
  return skip_body;
}

void Http1ClientConnection::OnBody(std::string_view data) {
  if (handler_ != nullptr) handler_->OnResponseData(data, false);
}

void Http1ClientConnection::OnMessageComplete(http::HeaderMap* trailers) {
  if (tunnel_) return;
  response_complete_ = true;
  UpstreamHandler* handler = end_at_headers_ ? nullptr : handler_;
  // Release before the last callback: the handler may finish and drop us.
  handler_ = nullptr;
  if (!request_complete_) {
    // The origin answered before the whole request went out: the rest of the
    // request would be misread as the next one, so this connection ends.
    broken_ = true;
    Close();
  } else {
    MaybeRelease();
  }
  if (handler == nullptr) return;
  if (trailers != nullptr) {
    handler->OnResponseTrailers(std::move(*trailers));
  } else {
    handler->OnResponseData({}, true);
  }
}

void Http1ClientConnection::MaybeRelease() {
  if (!request_complete_ || !response_complete_ || tunnel_ || closed_) return;
  handler_ = nullptr;
  ReadDisable(false);
  if (!response_keep_alive_ || broken_) {
    Close();
    return;
  }
  pool_.OnReleased(this);
}

void Http1ClientConnection::FailActive(StreamResetReason reason, std::string_view detail) {
  UpstreamHandler* handler = handler_;
  handler_ = nullptr;
  broken_ = true;
  closed_ = true;
  idle_timer_.Cancel();
  if (connection_ != nullptr) connection_->Close(Connection::CloseMode::kAbort);
  if (handler != nullptr) handler->OnUpstreamReset(reason, detail);
}

void Http1ClientConnection::OnEof() {
  if (tunnel_) {
    tunnel_peer_eof_ = true;
    if (handler_ != nullptr) handler_->OnResponseData({}, true);
    return;
  }
  if (handler_ != nullptr && response_started_ && parser_.body_needs_eof()) {
    // Close-delimited body: EOF completes it.
    response_keep_alive_ = false;
    const Http1Parser::Outcome outcome = parser_.FinishEof();
    if (outcome.status == Http1Parser::Status::kError) {
      FailActive(StreamResetReason::kConnectionTermination, "upstream_closed_mid_response");
      return;
    }
    Close();
    return;
  }
  if (handler_ != nullptr) {
    FailActive(StreamResetReason::kConnectionTermination,
               response_started_ ? "upstream_closed_mid_response" : "upstream_closed");
    return;
  }
  Close();
}

void Http1ClientConnection::OnWriteBelowLowWatermark() {
  if (handler_ != nullptr) handler_->OnUpstreamWritable();
}

void Http1ClientConnection::OnClose(CloseReason reason) {
  final_written_ = connection_ != nullptr ? connection_->bytes_written() : 0;
  if (reason == CloseReason::kTlsFailed && connection_ != nullptr) {
    close_detail_ = connection_->tls_failure_reason();
  }
  connection_ = nullptr;
  closed_ = true;
  idle_timer_.Cancel();
  const bool connect_failed = !connected_;
  std::string_view detail = "upstream_closed";
  StreamResetReason reset = StreamResetReason::kConnectionTermination;
  if (reason == CloseReason::kConnectFailed) {
    detail = "connection_failure";
    reset = StreamResetReason::kConnectionFailure;
  } else if (reason == CloseReason::kConnectTimeout) {
    detail = "connection_timeout";
    reset = StreamResetReason::kConnectionFailure;
  } else if (reason == CloseReason::kRemoteReset) {
    detail = "upstream_reset";
  } else if (reason == CloseReason::kTlsFailed || !close_detail_.empty()) {
    detail = close_detail_;
    reset = connected_ ? StreamResetReason::kConnectionTermination
                       : StreamResetReason::kConnectionFailure;
  }
  UpstreamHandler* handler = handler_;
  handler_ = nullptr;
  // Tunnels included: this object is freed after the callback chain, so the
  // handler must drop its UpstreamStream now (an end-of-data would leave it
  // writing client bytes into freed memory). A tunnel that ended cleanly in
  // both directions was released by its handler before the socket closed.
  if (handler != nullptr) handler->OnUpstreamReset(reset, detail);
  pool_.OnClosed(this, connect_failed, detail);
}

}  // namespace gh::gateway
