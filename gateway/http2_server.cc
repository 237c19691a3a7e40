#include "gateway/http2_server.h"

#include <cstdio>

#include "base/log.h"
#include "gateway/worker.h"

namespace gh::gateway {
namespace {

Http2ServerConnection* Self(void* user_data) {
  return static_cast<Http2ServerConnection*>(static_cast<Http2Session*>(user_data));
}

bool EndsStream(const nghttp2_frame* frame) {
  return (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
}

}  // namespace

// ---------------------------------------------------------------- stream

class Http2ServerConnection::Stream final : public DownstreamStream, public DeferredDeletable {
 public:
  Stream(Http2ServerConnection& session, int32_t id)
      : session_(session), request_headers_(std::in_place, session.header_limits_) {
    io_.id = id;
  }

  // DownstreamStream
  void SendHeaders(ResponseHead& head, bool end_stream) override;
  void SendData(std::string_view data, bool end_stream) override;
  void SendTrailers(const http::HeaderMap& trailers) override;
  void Send100Continue() override;
  void Reset() override;
  void ReadDisable(bool disable) override { session_.SetReadDisabled(io_, disable); }
  bool AboveHighWatermark() const override {
    const bool above = session_.StreamAboveHighWatermark(io_);
    if (above) io_.watermark_reported = true;
    return above;
  }
  void Done() override;

  // A reply made by the codec itself (malformed or oversized request).
  void LocalReply(int status, std::string_view detail);
  bool usable() const { return !closed && !session_.dead_; }

  Http2ServerConnection& session_;
  mutable StreamIo io_;
  std::optional<Http2RequestHeaders> request_headers_;
  http::HeaderMap trailers_in_;
  size_t trailers_bytes_ = 0;
  bool trailers_over_ = false;
  std::unique_ptr<StreamHandler> handler_;
  bool request_complete_ = false;
  bool response_started_ = false;
  bool response_end_ = false;  // the last response byte (or trailers) is queued
  bool end_stream_sent_ = false;
  bool reset_sent_ = false;
  bool rst_received_ = false;
  bool head_request_ = false;
  bool extended_connect_ = false;
  bool closed = false;
};

void Http2ServerConnection::Stream::SendHeaders(ResponseHead& head, bool end_stream) {
  if (!usable() || response_started_ || reset_sent_) return;
  response_started_ = true;
  int status = head.status;
  bool tunnel = false;
  if (status == 101) {
    if (extended_connect_) {
      // RFC 8441: the tunnel is open with a 2xx, not a 101.
      status = 200;
      tunnel = true;
      head.headers.Remove("sec-websocket-accept");
    } else {
      status = 502;  // cannot happen: only extended CONNECT asks for an upgrade
    }
  }
  char status_text[8];
  std::snprintf(status_text, sizeof status_text, "%d", status);
  NvList nv;
  nv.Reserve(head.headers.size() + 2);
  nv.Add(":status", status_text);
  AppendFieldsForHttp2(head.headers, nv);
  std::string length;
  const bool bodiless_status = (status >= 100 && status < 200) || status == 204;
  if (head.content_length.has_value() && !bodiless_status && !tunnel) {
    length = std::to_string(*head.content_length);
    nv.Add("content-length", length);
  }
  int rv;
  if (end_stream) {
    response_end_ = true;
    io_.data_end = true;
    rv = nghttp2_submit_response(session_.session_, io_.id, nv.data(), nv.size(), nullptr);
  } else {
    nghttp2_data_provider provider = DataProvider(&io_);
    rv = nghttp2_submit_response(session_.session_, io_.id, nv.data(), nv.size(), &provider);
  }
  if (rv != 0) {
    GH_LOG(kHttp, kDebug, "h2 submit_response failed: " << nghttp2_strerror(rv));
    Reset();
    return;
  }
  session_.ScheduleSend();
}

void Http2ServerConnection::Stream::SendData(std::string_view data, bool end_stream) {
  if (!usable() || !response_started_ || response_end_ || reset_sent_) return;
  if (head_request_) data = {};
  if (end_stream) response_end_ = true;
  session_.QueueData(io_, data, end_stream);
}

void Http2ServerConnection::Stream::SendTrailers(const http::HeaderMap& trailers) {
  if (!usable() || !response_started_ || response_end_ || reset_sent_) return;
  response_end_ = true;
  if (trailers.empty()) {
    session_.QueueData(io_, {}, true);
  } else {
    session_.QueueTrailers(io_, trailers);
  }
}

void Http2ServerConnection::Stream::Send100Continue() {
  if (!usable() || response_started_ || reset_sent_) return;
  NvList nv;
  nv.Add(":status", "100");
  nghttp2_submit_headers(session_.session_, NGHTTP2_FLAG_NONE, io_.id, nullptr, nv.data(),
                         nv.size(), nullptr);
  session_.ScheduleSend();
}

void Http2ServerConnection::Stream::Reset() {
  if (!usable() || reset_sent_) return;
  reset_sent_ = true;
  nghttp2_submit_rst_stream(session_.session_, NGHTTP2_FLAG_NONE, io_.id, NGHTTP2_INTERNAL_ERROR);
  session_.ScheduleSend();
}

void Http2ServerConnection::Stream::Done() {
  if (handler_ == nullptr) return;
  session_.worker_.dispatcher().DeferDelete(std::move(handler_));
  // Nobody reads the rest of the request: return its window at once.
  io_.read_disable_count = 1;
  session_.SetReadDisabled(io_, false);
  if (!usable()) return;
  if (!response_end_ && !reset_sent_) {
    Reset();  // the response cannot complete
  } else if (end_stream_sent_ && !request_complete_ && !reset_sent_) {
    // Response complete, request still open: tell the client to stop
    // sending (RFC 9113 8.1).
    reset_sent_ = true;
    nghttp2_submit_rst_stream(session_.session_, NGHTTP2_FLAG_NONE, io_.id, NGHTTP2_NO_ERROR);
    session_.ScheduleSend();
  }
}

void Http2ServerConnection::Stream::LocalReply(int status, std::string_view detail) {
  ResponseHead head;
  head.status = status;
  const std::string& server = session_.worker_.proxy_settings().server_header;
  if (!server.empty()) head.headers.Add("server", server);
  head.headers.Add("content-type", "text/plain");
  std::string body(detail);
  body.push_back('\n');
  head.content_length = body.size();
  SendHeaders(head, false);
  SendData(body, true);
}

// ---------------------------------------------------------------- session

Http2ServerConnection::Http2ServerConnection(Worker& worker, Connection* connection,
                                             std::shared_ptr<const DownstreamInfo> info)
    : Http2Session(worker.dispatcher(), connection,
                   worker.proxy_settings().connection_buffer_bytes),
      worker_(worker),
      info_(std::move(info)),
      guard_(Http2FloodLimits::FromSettings(worker.proxy_settings())),
      header_timer_(worker.dispatcher().timers(), [this] { OnHeaderTimeout(); }),
      idle_timer_(worker.dispatcher().timers(), [this] {
        if (closed_ || dead_ || !streams_.empty()) return;
        nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
        SendPending();
      }) {
  const routing::ProxySettings& proxy = worker.proxy_settings();
  header_limits_.max_list_bytes = proxy.max_request_headers_bytes;
  header_limits_.max_fields = proxy.max_request_headers;
  connection_->SetHandler(this);
}

Http2ServerConnection::~Http2ServerConnection() {
  if (connection_ != nullptr) connection_->CloseAndDetach(Connection::CloseMode::kAbort);
  // Handlers still attached are destroyed with their streams (worker stop).
  streams_.clear();
}

void Http2ServerConnection::Start(std::string_view initial) {
  const routing::ProxySettings& proxy = worker_.proxy_settings();
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  InstallSharedCallbacks(callbacks);
  nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, &OnBeginFrame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &OnDataChunkRecv);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &OnStreamClose);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &OnFrameSend);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(callbacks, &OnInvalidFrameRecv);
  nghttp2_session_callbacks_set_error_callback2(callbacks, &OnError);

  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_no_closed_streams(option, 1);
  nghttp2_option_set_max_outbound_ack(option, proxy.http2_max_outbound_control_frames);
  nghttp2_option_set_max_continuations(option, proxy.http2_max_continuations);
  // nghttp2's own rapid-reset bucket is a backstop behind the flood guard,
  // which sees every RST_STREAM first and names the violation.
  nghttp2_option_set_stream_reset_rate_limit(option, uint64_t{proxy.http2_stream_reset_burst} * 2,
                                             uint64_t{proxy.http2_stream_reset_rate} * 2);

  nghttp2_session_server_new2(&session_, callbacks, static_cast<Http2Session*>(this), option);
  nghttp2_session_callbacks_del(callbacks);
  nghttp2_option_del(option);

  nghttp2_settings_entry settings[5];
  size_t n = 0;
  settings[n++] = {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, proxy.http2_max_concurrent_streams};
  settings[n++] = {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, proxy.http2_initial_stream_window};
  settings[n++] = {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, proxy.max_request_headers_bytes};
  settings[n++] = {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1};
  if (!proxy.upgrades.empty()) settings[n++] = {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, n);
  if (proxy.http2_initial_connection_window > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE) {
    nghttp2_session_set_local_window_size(
        session_, NGHTTP2_FLAG_NONE, 0,
        static_cast<int32_t>(proxy.http2_initial_connection_window));
  }
  // Until the client's preface and SETTINGS are in, the slowloris clock runs.
  header_timer_.Arm(static_cast<uint64_t>(proxy.request_headers_timeout.count()));
  connection_->Start();
  if (!initial.empty()) {
    OnData(initial);
  } else {
    SendPending();
  }
}

Http2ServerConnection::Stream* Http2ServerConnection::FindStream(int32_t stream_id) {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : it->second.get();
}

Http2Session::StreamIo* Http2ServerConnection::FindStreamIo(int32_t stream_id) {
  Stream* stream = FindStream(stream_id);
  return stream == nullptr ? nullptr : &stream->io_;
}

void Http2ServerConnection::OnData(std::string_view data) {
  if (closed_ || dead_) return;
  const ssize_t rv = nghttp2_session_mem_recv(
      session_, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  if (pending_violation_ != Http2Violation::kNone) {
    Violation(pending_violation_, pending_error_code_);
    return;
  }
  if (rv < 0) {
    HandleRecvError(static_cast<int>(rv));
    return;
  }
  SendPending();
}

void Http2ServerConnection::HandleRecvError(int error) {
  switch (error) {
    case NGHTTP2_ERR_BAD_CLIENT_MAGIC:
      Violation(Http2Violation::kBadPreface, NGHTTP2_PROTOCOL_ERROR);
      return;
    case NGHTTP2_ERR_FLOODED:
      Violation(Http2Violation::kOutboundFlood, NGHTTP2_ENHANCE_YOUR_CALM);
      return;
    case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
      Violation(Http2Violation::kContinuationFlood, NGHTTP2_ENHANCE_YOUR_CALM);
      return;
    case NGHTTP2_ERR_TOO_MANY_SETTINGS:
      Violation(Http2Violation::kTooManySettings, NGHTTP2_ENHANCE_YOUR_CALM);
      return;
    case NGHTTP2_ERR_HEADER_COMP:
      Violation(Http2Violation::kHeaderCompression, NGHTTP2_COMPRESSION_ERROR);
      return;
    default:
      GH_LOG(kHttp, kDebug, "h2 mem_recv: " << nghttp2_strerror(error));
      Violation(Http2Violation::kProtocolError, NGHTTP2_PROTOCOL_ERROR);
      return;
  }
}

void Http2ServerConnection::WriteGoaway(uint32_t error_code) {
  if (connection_ == nullptr) return;
  const int32_t last = session_ != nullptr ? nghttp2_session_get_last_proc_stream_id(session_) : 0;
  const auto u32 = [](uint32_t v, uint8_t* p) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
  };
  uint8_t frame[17] = {0, 0, 8, kH2FrameGoaway, 0, 0, 0, 0, 0};
  u32(static_cast<uint32_t>(last) & 0x7FFFFFFFu, frame + 9);
  u32(error_code, frame + 13);
  connection_->Write(std::string_view(reinterpret_cast<const char*>(frame), sizeof frame));
}

void Http2ServerConnection::Violation(Http2Violation violation, uint32_t error_code) {
  if (closed_) return;
  worker_.CountHttp2Violation(*info_, violation);
  // The session stops here: nothing more is read or pulled from nghttp2;
  // our own GOAWAY follows whatever complete frames are already queued.
  dead_ = true;
  WriteGoaway(error_code);
  ResetAllStreams(StreamResetReason::kConnectionTermination);
  CloseConnection(Connection::CloseMode::kFlushWrite);
}

void Http2ServerConnection::ResetAllStreams(StreamResetReason reason) {
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, stream] : streams) {
    stream->closed = true;
    if (stream->handler_ != nullptr) {
      std::unique_ptr<StreamHandler> handler = std::move(stream->handler_);
      handler->OnDownstreamReset(reason);
      worker_.dispatcher().DeferDelete(std::move(handler));
    }
    worker_.dispatcher().DeferDelete(std::move(stream));
  }
}

void Http2ServerConnection::CloseConnection(Connection::CloseMode mode) {
  header_timer_.Cancel();
  idle_timer_.Cancel();
  if (closed_ || connection_ == nullptr) return;
  connection_->Close(mode);
}

void Http2ServerConnection::OnSendFailure(int error) {
  GH_LOG(kHttp, kDebug, "h2 mem_send: " << nghttp2_strerror(error));
  ResetAllStreams(StreamResetReason::kConnectionTermination);
  CloseConnection(Connection::CloseMode::kAbort);
}

void Http2ServerConnection::AfterSend() {
  if (closed_ || dead_) return;
  if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
    // A GOAWAY went out (ours or nghttp2's for a connection error): done.
    ResetAllStreams(StreamResetReason::kConnectionTermination);
    CloseConnection(Connection::CloseMode::kFlushWrite);
    return;
  }
  if ((draining_ || peer_eof_) && streams_.empty()) {
    CloseConnection(Connection::CloseMode::kFlushWrite);
    return;
  }
  UpdateIdleTimer();
}

void Http2ServerConnection::UpdateIdleTimer() {
  if (!streams_.empty()) {
    idle_timer_.Cancel();
    return;
  }
  const auto idle = worker_.proxy_settings().idle_timeout.count();
  if (idle > 0 && !idle_timer_.armed()) idle_timer_.Arm(static_cast<uint64_t>(idle));
}

void Http2ServerConnection::EndHeaderBlock(int32_t stream_id) {
  if (header_block_stream_ != stream_id || stream_id == 0) return;
  header_block_stream_ = 0;
  if (settings_received_) header_timer_.Cancel();
}

void Http2ServerConnection::OnHeaderTimeout() {
  if (closed_ || dead_) return;
  worker_.CountDownstreamProtocolError(*info_, 408, "request_header_timeout");
  dead_ = true;
  WriteGoaway(NGHTTP2_NO_ERROR);
  ResetAllStreams(StreamResetReason::kConnectionTermination);
  CloseConnection(Connection::CloseMode::kFlushWrite);
}

void Http2ServerConnection::Drain() {
  draining_ = true;
  if (closed_ || dead_) return;
  if (!goaway_sent_) {
    // In-flight streams finish; streams the client opens after the last one
    // we processed are refused by nghttp2 (safe for the client to retry).
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                          nullptr, 0);
  }
  SendPending();
}

void Http2ServerConnection::OnEof() {
  // HTTP/2 has no use for a half-closed connection: a client that stopped
  // sending cannot return window, so nothing it waits for could complete.
  peer_eof_ = true;
  if (closed_) return;
  dead_ = true;
  ResetAllStreams(StreamResetReason::kConnectionTermination);
  CloseConnection(Connection::CloseMode::kFlushWrite);
}

void Http2ServerConnection::OnWriteBelowLowWatermark() {
  for (auto& [id, stream] : streams_) {
    if (stream->io_.watermark_reported) MarkDrained(id);
  }
  SendPending();
}

void Http2ServerConnection::OnStreamWritable(StreamIo& io) {
  Stream* stream = FindStream(io.id);
  if (stream != nullptr && stream->handler_ != nullptr) stream->handler_->OnDownstreamWritable();
}

void Http2ServerConnection::OnClose(CloseReason) {
  closed_ = true;
  dead_ = true;
  connection_ = nullptr;
  header_timer_.Cancel();
  idle_timer_.Cancel();
  ResetAllStreams(StreamResetReason::kConnectionTermination);
  worker_.OnDownstreamClosed(this);
}

void Http2ServerConnection::OnRequestHeadersComplete(Stream& stream, bool end_stream) {
  RequestHead head;
  const Http2RequestHeaders::Outcome outcome = stream.request_headers_->Build(
      info_->tls ? "https" : "http", worker_.proxy_settings().upgrades, worker_.random(), &head);
  stream.extended_connect_ = stream.request_headers_->extended_connect();
  stream.request_headers_.reset();
  stream.request_complete_ = end_stream;
  if (outcome.status != 0) {
    worker_.CountDownstreamProtocolError(*info_, outcome.status, outcome.detail);
    stream.LocalReply(outcome.status, outcome.detail);
    return;
  }
  stream.head_request_ = head.method == "HEAD";
  stream.handler_ = worker_.NewStream(stream, info_);
  stream.handler_->OnRequestHeaders(std::move(head), end_stream);
}

// ---------------------------------------------------------------- callbacks

int Http2ServerConnection::OnBeginFrame(nghttp2_session*, const nghttp2_frame_hd* hd,
                                        void* user_data) {
  Http2ServerConnection* self = Self(user_data);
  if (self->pending_violation_ != Http2Violation::kNone) return NGHTTP2_ERR_CALLBACK_FAILURE;
  const Http2Violation violation =
      self->guard_.OnFrameHeader(hd->type, hd->flags, hd->length, self->worker_.dispatcher().Now());
  if (violation != Http2Violation::kNone) {
    self->pending_violation_ = violation;
    self->pending_error_code_ = NGHTTP2_ENHANCE_YOUR_CALM;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int Http2ServerConnection::OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame,
                                          void* user_data) {
  Http2ServerConnection* self = Self(user_data);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  // A header block is in progress: nothing else may be processed until it
  // ends, so it is bounded by the request-header timeout.
  self->header_timer_.Arm(
      static_cast<uint64_t>(self->worker_.proxy_settings().request_headers_timeout.count()));
  self->header_block_stream_ = frame->hd.stream_id;
  if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  const int32_t id = frame->hd.stream_id;
  self->guard_.OnStreamOpened();
  self->streams_[id] = std::make_unique<Stream>(*self, id);
  self->idle_timer_.Cancel();
  return 0;
}

int Http2ServerConnection::OnHeader(nghttp2_session*, const nghttp2_frame* frame,
                                    const uint8_t* name, size_t namelen, const uint8_t* value,
                                    size_t valuelen, uint8_t, void* user_data) {
  Http2ServerConnection* self = Self(user_data);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  Stream* stream = self->FindStream(frame->hd.stream_id);
  if (stream == nullptr) return 0;
  const std::string_view n(reinterpret_cast<const char*>(name), namelen);
  const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (stream->request_headers_.has_value()) {
    stream->request_headers_->Add(n, v);
    return 0;
  }
  // Trailers: the same limits as the request head.
  stream->trailers_bytes_ += HeaderListEntrySize(n, v);
  if (stream->trailers_bytes_ > self->header_limits_.max_list_bytes ||
      stream->trailers_in_.size() >= self->header_limits_.max_fields) {
    stream->trailers_over_ = true;
  }
  if (!stream->trailers_over_) stream->trailers_in_.Add(std::string(n), std::string(v));
  return 0;
}

int Http2ServerConnection::OnFrameRecv(nghttp2_session* session, const nghttp2_frame* frame,
                                       void* user_data) {
  Http2ServerConnection* self = Self(user_data);
  switch (frame->hd.type) {
    case NGHTTP2_SETTINGS:
      if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0 && !self->settings_received_) {
        self->settings_received_ = true;
        self->header_timer_.Cancel();
        self->UpdateIdleTimer();
      }
      return 0;
    case NGHTTP2_HEADERS: {
      self->EndHeaderBlock(frame->hd.stream_id);
      Stream* stream = self->FindStream(frame->hd.stream_id);
      if (stream == nullptr) return 0;
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        self->OnRequestHeadersComplete(*stream, EndsStream(frame));
        return 0;
      }
      // Trailers (nghttp2 checked that they end the stream).
      if (stream->request_complete_) return 0;
      stream->request_complete_ = true;
      if (stream->trailers_over_) {
        // Too late for a 431 once the request is streaming: reset it.
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                  NGHTTP2_PROTOCOL_ERROR);
        return 0;
      }
      if (stream->handler_ != nullptr) {
        stream->handler_->OnRequestTrailers(std::move(stream->trailers_in_));
      }
      return 0;
    }
    case NGHTTP2_DATA: {
      if (!EndsStream(frame)) return 0;
      Stream* stream = self->FindStream(frame->hd.stream_id);
      if (stream == nullptr || stream->request_complete_) return 0;
      stream->request_complete_ = true;
      if (stream->handler_ != nullptr) stream->handler_->OnRequestData({}, true);
      return 0;
    }
    case NGHTTP2_RST_STREAM: {
      Stream* stream = self->FindStream(frame->hd.stream_id);
      if (stream == nullptr) return 0;
      stream->rst_received_ = true;
      if (!stream->response_started_ && self->pending_violation_ == Http2Violation::kNone) {
        const Http2Violation violation = self->guard_.OnPrematureReset();
        if (violation != Http2Violation::kNone) {
          self->pending_violation_ = violation;
          self->pending_error_code_ = NGHTTP2_ENHANCE_YOUR_CALM;
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
      }
      return 0;
    }
    default:
      return 0;
  }
}

int Http2ServerConnection::OnDataChunkRecv(nghttp2_session*, uint8_t, int32_t stream_id,
                                           const uint8_t* data, size_t len, void* user_data) {
  Http2ServerConnection* self = Self(user_data);
  Stream* stream = self->FindStream(stream_id);
  if (stream == nullptr) {
    nghttp2_session_consume(self->session_, stream_id, len);
    return 0;
  }
  if (stream->handler_ != nullptr) {
    stream->handler_->OnRequestData(std::string_view(reinterpret_cast<const char*>(data), len),
                                    false);
  }
  // Counted after the handler ran: if it paused the stream (its upstream is
  // above the high watermark), these bytes keep their window until it resumes.
  self->OnInboundData(stream->io_, len);
  return 0;
}

int Http2ServerConnection::OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t,
                                         void* user_data) {
  Http2ServerConnection* self = Self(user_data);
  self->EndHeaderBlock(stream_id);
  auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) return 0;
  std::unique_ptr<Stream> stream = std::move(it->second);
  self->streams_.erase(it);
  stream->closed = true;
  self->ReleaseStreamWindow(stream->io_);
  if (stream->handler_ != nullptr) {
    // The proxy was still working on it: the client reset the stream (DR),
    // or the stream died of a protocol error.
    std::unique_ptr<StreamHandler> handler = std::move(stream->handler_);
    handler->OnDownstreamReset(stream->rst_received_ ? StreamResetReason::kRemoteReset
                                                     : StreamResetReason::kProtocolError);
    self->worker_.dispatcher().DeferDelete(std::move(handler));
  }
  self->worker_.dispatcher().DeferDelete(std::move(stream));
  return 0;
}

int Http2ServerConnection::OnFrameSend(nghttp2_session* session, const nghttp2_frame* frame,
                                       void* user_data) {
  Http2ServerConnection* self = Self(user_data);
  switch (frame->hd.type) {
    case NGHTTP2_DATA:
      self->guard_.OnDataFrameSent();
      [[fallthrough]];
    case NGHTTP2_HEADERS: {
      if (!EndsStream(frame)) return 0;
      Stream* stream = self->FindStream(frame->hd.stream_id);
      if (stream == nullptr) return 0;
      stream->end_stream_sent_ = true;
      if (stream->handler_ == nullptr && !stream->request_complete_ && !stream->reset_sent_) {
        stream->reset_sent_ = true;
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                  NGHTTP2_NO_ERROR);
      }
      return 0;
    }
    case NGHTTP2_GOAWAY:
      self->goaway_sent_ = true;
      if (frame->goaway.error_code != NGHTTP2_NO_ERROR) {
        // nghttp2 ended the connection for a protocol error it detected.
        Http2Violation kind = Http2Violation::kProtocolError;
        if (frame->goaway.error_code == NGHTTP2_COMPRESSION_ERROR) {
          kind = Http2Violation::kHeaderCompression;
        } else if (self->last_lib_error_ == NGHTTP2_ERR_TOO_MANY_SETTINGS) {
          kind = Http2Violation::kTooManySettings;
        } else if (frame->goaway.error_code == NGHTTP2_ENHANCE_YOUR_CALM) {
          kind = Http2Violation::kRapidReset;  // nghttp2's own reset limiter
        }
        self->worker_.CountHttp2Violation(*self->info_, kind);
      }
      return 0;
    default:
      return 0;
  }
}

int Http2ServerConnection::OnInvalidFrameRecv(nghttp2_session*, const nghttp2_frame* frame, int,
                                              void* user_data) {
  Http2ServerConnection* self = Self(user_data);
  if (frame->hd.stream_id == 0) return 0;     // a connection error: nghttp2 sends GOAWAY
  self->EndHeaderBlock(frame->hd.stream_id);  // a rejected block ended too
  // The peer's malformed frame cost it a stream: bounded, or it is an attack
  // that makes us do the resetting.
  const Http2Violation violation = self->guard_.OnPeerStreamError(self->worker_.dispatcher().Now());
  if (violation != Http2Violation::kNone && self->pending_violation_ == Http2Violation::kNone) {
    self->pending_violation_ = violation;
    self->pending_error_code_ = NGHTTP2_ENHANCE_YOUR_CALM;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int Http2ServerConnection::OnError(nghttp2_session*, int lib_error_code, const char* msg,
                                   size_t len, void* user_data) {
  Http2ServerConnection* self = Self(user_data);
  self->last_lib_error_ = lib_error_code;
  GH_LOG(kHttp, kDebug,
         "h2 connection " << self->info_->connection_id << ": " << std::string_view(msg, len));
  return 0;
}

}  // namespace gh::gateway
