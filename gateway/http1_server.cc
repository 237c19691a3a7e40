#include "gateway/http1_server.h"

#include "base/strings.h"
#include "gateway/header_sanitizer.h"
#include "gateway/http1_framing.h"
#include "gateway/worker.h"

namespace gh::gateway {
namespace {

Http1Parser::Limits ParserLimits(const routing::ProxySettings& proxy) {
  return Http1Parser::Limits{proxy.max_request_headers_bytes, proxy.max_request_headers};
}

// Splits an absolute-form target ("http://host:port/path?q") into authority
// and origin-form path. Returns false when it is not absolute-form.
bool SplitAbsoluteForm(std::string_view target, std::string* authority, std::string* path) {
  size_t scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos) return false;
  const std::string_view scheme = target.substr(0, scheme_end);
  if (!AsciiIEquals(scheme, "http") && !AsciiIEquals(scheme, "https")) return false;
  std::string_view rest = target.substr(scheme_end + 3);
  const size_t path_start = rest.find_first_of("/?");
  *authority = std::string(rest.substr(0, path_start));
  if (path_start == std::string_view::npos) {
    *path = "/";
  } else if (rest[path_start] == '?') {
    *path = "/" + std::string(rest.substr(path_start));
  } else {
    *path = std::string(rest.substr(path_start));
  }
  return !authority->empty() && authority->find('@') == std::string::npos;
}

std::string_view HostWithoutPort(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(0, close + 1);
  }
  const size_t colon = authority.rfind(':');
  return colon == std::string_view::npos ? authority : authority.substr(0, colon);
}

bool ValidAuthority(std::string_view authority) {
  if (authority.empty()) return false;
  for (char c : authority) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == ':' || c == '[' || c == ']' || c == '_' ||
                    c == '~' || c == '%' || c == '!' || c == '$' || c == '&' || c == '\'' ||
                    c == '(' || c == ')' || c == '*' || c == '+' || c == ',' || c == ';' ||
                    c == '=';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Http1ServerConnection::Http1ServerConnection(Worker& worker, Connection* connection,
                                             std::shared_ptr<const DownstreamInfo> info)
    : worker_(worker),
      connection_(connection),
      info_(std::move(info)),
      parser_(Http1Parser::Kind::kRequest, ParserLimits(worker.proxy_settings()), this),
      header_timer_(worker.dispatcher().timers(), [this] { OnHeaderTimeout(); }),
      idle_timer_(worker.dispatcher().timers(),
                  [this] {
                    if (stream_ == nullptr) CloseConnection(Connection::CloseMode::kFlushWrite);
                  }),
      resume_timer_(worker.dispatcher().timers(), [this] {
        if (closed_ || !awaiting_writable_) return;
        awaiting_writable_ = false;
        paused_ = false;
        parser_.Resume();
        DispatchInput();
      }) {
  connection_->SetHandler(this);
}

Http1ServerConnection::~Http1ServerConnection() {
  if (connection_ != nullptr) connection_->CloseAndDetach(Connection::CloseMode::kAbort);
}

void Http1ServerConnection::Start(std::string_view initial) {
  const auto& proxy = worker_.proxy_settings();
  header_timer_.Arm(static_cast<uint64_t>(proxy.request_headers_timeout.count()));
  connection_->Start();
  if (!initial.empty()) OnData(initial);
}

void Http1ServerConnection::ArmIdleTimer() {
  const auto idle = worker_.proxy_settings().idle_timeout.count();
  if (idle > 0) idle_timer_.Arm(static_cast<uint64_t>(idle));
}

void Http1ServerConnection::OnData(std::string_view data) {
  if (closed_) return;
  if (tunnel_) {
    if (stream_ != nullptr) stream_->OnRequestData(data, false);
    return;
  }
  if (buffered_.empty() && !paused_ && !tunnel_requested_ && !dispatching_) {
    // Fast path: parse straight from the read buffer.
    dispatching_ = true;
    const size_t consumed = FeedOnce(data);
    if (consumed < data.size() && !closed_) buffered_.Append(data.substr(consumed));
    dispatching_ = false;
  } else {
    buffered_.Append(data);
  }
  DispatchInput();
}

size_t Http1ServerConnection::FeedOnce(std::string_view data) {
  if (!parser_.in_message() && !request_started_) {
    // First byte of a new request: the slowloris clock starts now.
    idle_timer_.Cancel();
    if (!header_timer_.armed()) {
      header_timer_.Arm(
          static_cast<uint64_t>(worker_.proxy_settings().request_headers_timeout.count()));
    }
  }
  const Http1Parser::Outcome outcome = parser_.Feed(data);
  switch (outcome.status) {
    case Http1Parser::Status::kOk:
      return data.size();
    case Http1Parser::Status::kPaused:
      paused_ = true;  // one request complete; the rest waits for its response
      return outcome.consumed;
    case Http1Parser::Status::kUpgrade:
      return outcome.consumed;  // the rest is tunnel payload
    case Http1Parser::Status::kError:
      break;
  }
  if (stream_ != nullptr && response_started_) {
    Reset();
    return data.size();
  }
  if (stream_ != nullptr) ResetStream(StreamResetReason::kProtocolError);
  worker_.CountDownstreamProtocolError(*info_, outcome.http_status, outcome.detail);
  ReplyAndClose(outcome.http_status, outcome.detail);
  return data.size();
}

void Http1ServerConnection::DispatchInput() {
  if (dispatching_) return;
  dispatching_ = true;
  while (!closed_) {
    if (pending_done_) {
      pending_done_ = false;
      AfterStreamDone();
      continue;
    }
    if (paused_ || tunnel_requested_ || tunnel_ || buffered_.empty()) break;
    ByteSpan span;
    buffered_.Peek(&span, 1);
    const size_t consumed = FeedOnce(std::string_view(span.data, span.size));
    if (closed_) break;
    buffered_.Drain(consumed);
  }
  dispatching_ = false;
  UpdateThrottle();
  if (peer_eof_ && !closed_ && !tunnel_ && !tunnel_requested_) {
    // The client finished sending: answer what it pipelined, then close.
    if (stream_ == nullptr && buffered_.empty()) {
      CloseConnection(Connection::CloseMode::kFlushWrite);
    } else if (stream_ != nullptr && !request_complete_) {
      ResetStream(StreamResetReason::kConnectionTermination);
      CloseConnection(Connection::CloseMode::kAbort);
    }
  }
}

void Http1ServerConnection::UpdateThrottle() {
  if (closed_) return;
  // Bound what a pipelining (or early-talking tunnel) client can queue.
  const bool over = buffered_.size() >= worker_.proxy_settings().connection_buffer_bytes;
  if (over && !input_throttled_) {
    input_throttled_ = true;
    connection_->ReadDisable(true);
  } else if (!over && input_throttled_) {
    input_throttled_ = false;
    connection_->ReadDisable(false);
  }
}

void Http1ServerConnection::ResetStream(StreamResetReason reason) {
  if (stream_ == nullptr) return;
  std::unique_ptr<StreamHandler> stream = std::move(stream_);
  stream->OnDownstreamReset(reason);
  worker_.dispatcher().DeferDelete(std::move(stream));
}

bool Http1ServerConnection::OnHead(MessageHead& head) {
  header_timer_.Cancel();
  request_started_ = true;
  request_complete_ = false;
  request_end_sent_ = false;
  response_started_ = false;
  response_complete_ = false;
  chunked_response_ = false;
  tunnel_requested_ = false;
  client_http10_ = head.version_major == 1 && head.version_minor == 0;
  keep_alive_ = head.keep_alive && !draining_;
  head_request_ = head.method == "HEAD";

  RequestHead request;
  request.method = std::move(head.method);
  request.scheme = info_->tls ? "https" : "http";
  request.protocol = client_http10_ ? "HTTP/1.0" : "HTTP/1.1";

  // Host: exactly one for HTTP/1.1; optional for 1.0.
  const size_t host_count = head.headers.Count("host");
  if (host_count > 1) {
    parser_.Reject(400, "multiple_host_headers");
    return false;
  }
  if (host_count == 0 && !client_http10_) {
    parser_.Reject(400, "missing_host_header");
    return false;
  }
  if (host_count == 1) request.authority = *head.headers.Get("host");
  if (host_count == 1 && !ValidAuthority(request.authority)) {
    parser_.Reject(400, "invalid_host_header");
    return false;
  }

  // Request target forms (RFC 9112 3.2).
  const std::string& target = head.target;
  if (request.method == "CONNECT") {
    parser_.Reject(405, "connect_not_supported");
    return false;
  }
  if (!target.empty() && target.front() == '/') {
    request.path = target;
  } else if (target == "*" && request.method == "OPTIONS") {
    request.path = "*";
  } else {
    std::string authority;
    if (!SplitAbsoluteForm(target, &authority, &request.path)) {
      parser_.Reject(400, "invalid_request_target");
      return false;
    }
    if (host_count == 1 &&
        !AsciiIEquals(HostWithoutPort(authority), HostWithoutPort(request.authority))) {
      parser_.Reject(400, "absolute_form_host_mismatch");
      return false;
    }
    if (host_count == 0) request.authority = authority;
  }

  // Expect (RFC 9110 10.1.1): only 100-continue is defined.
  if (const std::string* expect = head.headers.Get("expect")) {
    if (!AsciiIEquals(*expect, "100-continue")) {
      parser_.Reject(417, "unsupported_expectation");
      return false;
    }
    request.expect_continue = !client_http10_;
    head.headers.Remove("expect");
  }

  if (head.upgrade) {
    // The upstream request carries no body framing (what follows a 101 is
    // tunnel payload), so a body here would reach an origin that refuses the
    // upgrade as the start of another request: refuse it.
    if (head.chunked || head.content_length.value_or(0) != 0) {
      parser_.Reject(400, "upgrade_with_body");
      return false;
    }
    const std::string* upgrade = head.headers.Get("upgrade");
    std::string token = upgrade != nullptr ? AsciiLowered(TrimOws(*upgrade)) : "";
    bool allowed = false;
    for (const std::string& u : worker_.proxy_settings().upgrades) {
      if (AsciiIEquals(u, token)) allowed = true;
    }
    if (!allowed) {
      parser_.Reject(403, "upgrade_failed");
      return false;
    }
    request.upgrade = std::move(token);
    tunnel_requested_ = true;
  }

  request.content_length = head.content_length;
  head.headers.Remove("host");
  head.headers.Remove("content-length");
  RemoveHopByHopHeaders(head.headers);
  request.headers = std::move(head.headers);

  // An upgrade request's "body" is the tunnel: it never ends at the headers.
  const bool end_stream =
      !head.chunked && request.content_length.value_or(0) == 0 && !tunnel_requested_;
  stream_ = worker_.NewStream(*this, info_);
  request_end_sent_ = end_stream;
  request_complete_ = end_stream;
  stream_->OnRequestHeaders(std::move(request), end_stream);
  return false;
}

void Http1ServerConnection::OnBody(std::string_view data) {
  if (stream_ != nullptr) stream_->OnRequestData(data, false);
}

void Http1ServerConnection::OnMessageComplete(http::HeaderMap* trailers) {
  request_complete_ = true;
  if (tunnel_requested_) return;  // the tunnel, not this message, carries the rest
  if (stream_ == nullptr || request_end_sent_) return;
  request_end_sent_ = true;
  if (trailers != nullptr) {
    stream_->OnRequestTrailers(std::move(*trailers));
  } else {
    stream_->OnRequestData({}, true);
  }
}

void Http1ServerConnection::OnHeaderTimeout() {
  if (closed_ || stream_ != nullptr) return;
  worker_.CountDownstreamProtocolError(*info_, 408, "request_header_timeout");
  if (!parser_.in_message() && !request_started_ && connection_->bytes_read() == 0) {
    CloseConnection(Connection::CloseMode::kFlushWrite);
    return;
  }
  ReplyAndClose(408, "request_header_timeout");
}

void Http1ServerConnection::SendHeaders(ResponseHead& head, bool end_stream) {
  if (closed_) return;
  response_started_ = true;
  std::string& out = HeadScratch();
  out.append("HTTP/1.1 ").append(std::to_string(head.status)).push_back(' ');
  out.append(http::ReasonPhrase(head.status)).append("\r\n");
  AppendHeaders(out, head.headers);

  if (head.status == 101) {
    out.append("\r\n");
    connection_->Write(out);
    EnterTunnel();
    return;
  }
  if (draining_ || worker_.draining() || head.close_connection) keep_alive_ = false;
  // An early response while the request body is still arriving: the rest of
  // the body would be read as the next request, so close afterwards.
  if (!request_complete_) keep_alive_ = false;
  if (tunnel_requested_) keep_alive_ = false;  // the upgrade was refused

  const bool never_body = head.status == 204 || (head.status >= 100 && head.status < 200);
  const bool bodiless = never_body || head.status == 304 || head_request_;
  if (head.content_length.has_value()) {
    // HEAD and 304 carry the length of the body they would have had.
    if (!never_body) {
      AppendHeaderLine(out, "content-length", std::to_string(*head.content_length));
    }
  } else if (!bodiless) {
    if (end_stream) {
      AppendHeaderLine(out, "content-length", "0");
    } else if (!client_http10_) {
      chunked_response_ = true;
      AppendHeaderLine(out, "transfer-encoding", "chunked");
    } else {
      keep_alive_ = false;  // close-delimited body
    }
  }
  if (!keep_alive_) {
    AppendHeaderLine(out, "connection", "close");
  } else if (client_http10_) {
    AppendHeaderLine(out, "connection", "keep-alive");
  }
  out.append("\r\n");
  connection_->Write(out);
  if (end_stream) response_complete_ = true;
}

void Http1ServerConnection::SendData(std::string_view data, bool end_stream) {
  if (closed_) return;
  if (tunnel_) {
    if (!data.empty()) connection_->Write(data);
    if (end_stream) connection_->ShutdownWrite();
    return;
  }
  if (chunked_response_) {
    if (!data.empty()) {
      std::string header;
      AppendChunkHeader(header, data.size());
      connection_->Write(header);
      connection_->Write(data);
      connection_->Write("\r\n");
    }
    if (end_stream) connection_->Write("0\r\n\r\n");
  } else if (!data.empty() && !head_request_) {
    connection_->Write(data);
  }
  if (end_stream) response_complete_ = true;
}

void Http1ServerConnection::SendTrailers(const http::HeaderMap& trailers) {
  if (closed_) return;
  if (chunked_response_) {
    std::string out = "0\r\n";
    AppendHeaders(out, trailers);
    out.append("\r\n");
    connection_->Write(out);
  }
  // Without chunked framing HTTP/1.1 has nowhere to put trailers: dropped.
  response_complete_ = true;
}

void Http1ServerConnection::Send100Continue() {
  if (closed_ || response_started_ || client_http10_) return;
  connection_->Write("HTTP/1.1 100 Continue\r\n\r\n");
}

void Http1ServerConnection::Reset() {
  // The response cannot complete: an abortive close tells the client so
  // (a clean close would make a truncated body look complete).
  CloseConnection(Connection::CloseMode::kAbort);
}

void Http1ServerConnection::ReadDisable(bool disable) {
  if (connection_ != nullptr) connection_->ReadDisable(disable);
}

bool Http1ServerConnection::AboveHighWatermark() const {
  return connection_ != nullptr && connection_->above_high_watermark();
}

void Http1ServerConnection::EnterTunnel() {
  tunnel_ = true;
  tunnel_requested_ = false;
  paused_ = false;
  if (!buffered_.empty() && stream_ != nullptr) {
    std::string early = buffered_.CopyOut();
    buffered_.Clear();
    stream_->OnRequestData(early, false);
  }
  UpdateThrottle();
  if (peer_eof_ && stream_ != nullptr) stream_->OnRequestData({}, true);
}

void Http1ServerConnection::Done() {
  if (stream_ == nullptr) return;
  worker_.dispatcher().DeferDelete(std::move(stream_));
  pending_done_ = true;
  DispatchInput();
}

void Http1ServerConnection::AfterStreamDone() {
  if (closed_) return;
  if (tunnel_ || !response_complete_ || !request_complete_ || !keep_alive_ ||
      (peer_eof_ && buffered_.empty())) {
    CloseConnection(response_complete_ || tunnel_ ? Connection::CloseMode::kFlushWrite
                                                  : Connection::CloseMode::kAbort);
    return;
  }
  // Ready for the next request on this connection.
  request_started_ = false;
  request_complete_ = false;
  response_started_ = false;
  response_complete_ = false;
  if (draining_ || worker_.draining()) {
    CloseConnection(Connection::CloseMode::kFlushWrite);
    return;
  }
  ArmIdleTimer();
  if (paused_) {
    if (connection_->above_high_watermark()) {
      // A pipelining client that does not read its answers: start nothing
      // more until they drain (input stays bounded by buffered_'s limit).
      awaiting_writable_ = true;
      return;
    }
    paused_ = false;
    parser_.Resume();
  }
}

void Http1ServerConnection::ReplyAndClose(int status, std::string_view detail) {
  if (closed_) return;
  std::string body(detail);
  body.push_back('\n');
  std::string out;
  out.append("HTTP/1.1 ").append(std::to_string(status)).push_back(' ');
  out.append(http::ReasonPhrase(status)).append("\r\n");
  const std::string& server = worker_.proxy_settings().server_header;
  if (!server.empty()) AppendHeaderLine(out, "server", server);
  AppendHeaderLine(out, "content-type", "text/plain");
  AppendHeaderLine(out, "content-length", std::to_string(body.size()));
  AppendHeaderLine(out, "connection", "close");
  out.append("\r\n").append(body);
  connection_->Write(out);
  CloseConnection(Connection::CloseMode::kFlushWrite);
}

void Http1ServerConnection::CloseConnection(Connection::CloseMode mode) {
  if (closed_) return;
  header_timer_.Cancel();
  idle_timer_.Cancel();
  resume_timer_.Cancel();
  connection_->Close(mode);
}

void Http1ServerConnection::Drain() {
  draining_ = true;
  if (stream_ == nullptr) CloseConnection(Connection::CloseMode::kFlushWrite);
}

void Http1ServerConnection::OnEof() {
  peer_eof_ = true;
  if (tunnel_) {
    if (stream_ != nullptr) stream_->OnRequestData({}, true);
    return;
  }
  DispatchInput();
}

void Http1ServerConnection::OnWriteAboveHighWatermark() {}

void Http1ServerConnection::OnWriteBelowLowWatermark() {
  if (stream_ != nullptr) stream_->OnDownstreamWritable();
  // Not from inside the connection's write path: soon.
  if (awaiting_writable_) resume_timer_.Arm(0);
}

void Http1ServerConnection::OnClose(CloseReason) {
  closed_ = true;
  connection_ = nullptr;
  header_timer_.Cancel();
  idle_timer_.Cancel();
  resume_timer_.Cancel();
  ResetStream(StreamResetReason::kConnectionTermination);
  worker_.OnDownstreamClosed(this);
}

}  // namespace gh::gateway
