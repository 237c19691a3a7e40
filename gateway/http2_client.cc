#include "gateway/http2_client.h"

#include <algorithm>

#include "base/log.h"
#include "gateway/cluster_manager.h"

namespace gh::gateway {
namespace {

// Upstream responses get generous limits (the origin is trusted more than a
// client), still bounded.
constexpr size_t kMaxResponseHeaderList = 96 * 1024;
// What nghttp2 assumes of a peer before its SETTINGS arrive.
constexpr uint32_t kInitialPeerStreams = 100;

Http2ClientConnection* Self(void* user_data) {
  return static_cast<Http2ClientConnection*>(static_cast<Http2Session*>(user_data));
}

bool EndsStream(const nghttp2_frame* frame) {
  return (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
}

}  // namespace

// ---------------------------------------------------------------- stream

class Http2ClientConnection::Stream final : public UpstreamStream {
 public:
  Stream(Http2ClientConnection& connection, UpstreamHandler* handler, uint64_t sequence)
      : connection_(connection), handler_(handler), sequence_(sequence) {}

  // UpstreamStream
  void SendHeaders(const RequestHead& head, bool end_stream) override;
  void SendData(std::string_view data, bool end_stream) override;
  void SendTrailers(const http::HeaderMap& trailers) override;
  void Reset() override;
  void ReadDisable(bool disable) override { connection_.SetReadDisabled(io_, disable); }
  bool AboveHighWatermark() const override {
    const bool above = connection_.StreamAboveHighWatermark(io_);
    if (above) io_.watermark_reported = true;
    return above;
  }
  bool reused_connection() const override { return sequence_ > 1; }
  bool request_bytes_written() const override { return headers_sent_; }
  std::string upstream_local_address() const override {
    return connection_.connection_ != nullptr ? connection_.connection_->LocalAddressString() : "";
  }

  // The response ended or failed: the handler hears nothing more.
  UpstreamHandler* TakeHandler() {
    UpstreamHandler* handler = handler_;
    handler_ = nullptr;
    return handler;
  }
  void FinishRequestSide();

  Http2ClientConnection& connection_;
  UpstreamHandler* handler_;
  const uint64_t sequence_;
  mutable StreamIo io_;
  Http2ResponseHeaders response_{kMaxResponseHeaderList};
  bool submitted_ = false;
  bool headers_sent_ = false;
  bool response_started_ = false;
  bool reset_sent_ = false;
};

void Http2ClientConnection::Stream::SendHeaders(const RequestHead& head, bool end_stream) {
  if (submitted_) return;
  if (!connection_.ready()) {
    UpstreamHandler* handler = TakeHandler();
    connection_.RemoveStream(this);
    if (handler != nullptr) {
      handler->OnUpstreamReset(StreamResetReason::kConnectionTermination, "upstream_closed");
    }
    return;
  }
  submitted_ = true;
  NvList nv;
  nv.Reserve(head.headers.size() + 5);
  nv.Add(":method", head.method);
  nv.Add(":scheme", connection_.tls_ ? "https" : "http");
  nv.Add(":authority", head.authority);
  nv.Add(":path", head.path);
  AppendFieldsForHttp2(head.headers, nv);
  std::string length;
  if (head.content_length.has_value()) {
    length = std::to_string(*head.content_length);
    nv.Add("content-length", length);
  }
  int32_t id;
  if (end_stream) {
    io_.data_end = true;
    id = nghttp2_submit_request(connection_.session_, nullptr, nv.data(), nv.size(), nullptr, this);
  } else {
    nghttp2_data_provider provider = DataProvider(&io_);
    id = nghttp2_submit_request(connection_.session_, nullptr, nv.data(), nv.size(), &provider,
                                this);
  }
  if (id < 0) {
    // GOAWAY raced us or the stream ids ran out: nothing was sent.
    UpstreamHandler* handler = TakeHandler();
    Http2ClientConnection& connection = connection_;
    connection.RemoveStream(this);
    if (handler != nullptr)
      handler->OnUpstreamReset(StreamResetReason::kRefusedStream, "h2_submit_failed");
    return;
  }
  io_.id = id;
  connection_.by_id_[id] = this;
  connection_.ScheduleSend();
}

void Http2ClientConnection::Stream::SendData(std::string_view data, bool end_stream) {
  if (!submitted_ || reset_sent_) return;
  connection_.QueueData(io_, data, end_stream);
}

void Http2ClientConnection::Stream::SendTrailers(const http::HeaderMap& trailers) {
  if (!submitted_ || reset_sent_) return;
  if (trailers.empty()) {
    connection_.QueueData(io_, {}, true);
  } else {
    connection_.QueueTrailers(io_, trailers);
  }
}

void Http2ClientConnection::Stream::Reset() {
  handler_ = nullptr;
  if (!submitted_) {
    connection_.RemoveStream(this);
    return;
  }
  if (reset_sent_ || connection_.dead_) return;
  reset_sent_ = true;
  nghttp2_submit_rst_stream(connection_.session_, NGHTTP2_FLAG_NONE, io_.id, NGHTTP2_CANCEL);
  connection_.ScheduleSend();
}

void Http2ClientConnection::Stream::FinishRequestSide() {
  // The response is complete; a request still streaming has no reader left.
  if (!io_.data_end && !reset_sent_ && !connection_.dead_) {
    reset_sent_ = true;
    nghttp2_submit_rst_stream(connection_.session_, NGHTTP2_FLAG_NONE, io_.id, NGHTTP2_CANCEL);
    connection_.ScheduleSend();
  }
  io_.read_disable_count = 1;
  connection_.SetReadDisabled(io_, false);
}

// ---------------------------------------------------------------- connection

Http2ClientConnection::Http2ClientConnection(Http2Pool& pool, const sockaddr_storage& address,
                                             const std::shared_ptr<const tls::ClientContext>& tls,
                                             std::string_view sni_host)
    : Http2Session(pool.dispatcher(), nullptr, pool.cluster().buffer_limit()),
      pool_(pool),
      tls_(tls != nullptr),
      idle_timer_(pool.dispatcher().timers(), [this] { Retire(); }) {
  const routing::ProxySettings& proxy = pool.cluster().proxy();
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  InstallSharedCallbacks(callbacks);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &OnDataChunkRecv);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &OnStreamClose);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &OnFrameSend);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_no_closed_streams(option, 1);
  nghttp2_option_set_peer_max_concurrent_streams(option, kInitialPeerStreams);
  nghttp2_option_set_max_outbound_ack(option, proxy.http2_max_outbound_control_frames);
  nghttp2_option_set_max_continuations(option, proxy.http2_max_continuations);
  nghttp2_session_client_new2(&session_, callbacks, static_cast<Http2Session*>(this), option);
  nghttp2_session_callbacks_del(callbacks);
  nghttp2_option_del(option);

  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, proxy.http2_initial_stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(kMaxResponseHeaderList)},
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  if (proxy.http2_initial_connection_window > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE) {
    nghttp2_session_set_local_window_size(
        session_, NGHTTP2_FLAG_NONE, 0,
        static_cast<int32_t>(proxy.http2_initial_connection_window));
  }
  ClusterState& cluster = pool.cluster();
  connection_ = Connection::Connect(pool.dispatcher(), reinterpret_cast<const sockaddr*>(&address),
                                    cluster.buffer_limit(), cluster.connect_timeout_ms(), this);
  if (tls != nullptr && connection_ != nullptr) {
    Result<std::unique_ptr<tls::TlsSession>> session = tls::TlsSession::NewClient(tls, sni_host);
    if (session.ok()) {
      connection_->EnableTls(std::move(*session));
    } else {
      close_detail_ = session.error().message;
      connection_->Close(Connection::CloseMode::kAbort);
      return;
    }
  }
  // The preface and SETTINGS wait in the connection until it is up.
  SendPending();
}

Http2ClientConnection::~Http2ClientConnection() {
  idle_timer_.Cancel();
  if (connection_ != nullptr) connection_->CloseAndDetach(Connection::CloseMode::kAbort);
  owned_.clear();
}

uint32_t Http2ClientConnection::capacity() const {
  uint32_t peer = kInitialPeerStreams;
  if (settings_received_ && session_ != nullptr) {
    peer = nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  }
  return std::min(peer, pool_.cluster().cluster().pool.max_concurrent_streams);
}

bool Http2ClientConnection::CanOpenStream() const {
  if (!ready() || !accepting()) return false;
  if (nghttp2_session_check_request_allowed(session_) == 0) return false;
  const uint32_t max_requests = pool_.cluster().cluster().pool.max_requests_per_connection;
  if (max_requests != 0 && streams_opened_ >= max_requests) return false;
  return owned_.size() < capacity();
}

UpstreamStream* Http2ClientConnection::NewStream(UpstreamHandler* handler) {
  idle_timer_.Cancel();
  auto stream = std::make_unique<Stream>(*this, handler, ++streams_opened_);
  Stream* raw = stream.get();
  owned_.emplace(raw, std::move(stream));
  return raw;
}

Http2ClientConnection::Stream* Http2ClientConnection::FindStream(int32_t stream_id) {
  auto it = by_id_.find(stream_id);
  return it == by_id_.end() ? nullptr : it->second;
}

Http2Session::StreamIo* Http2ClientConnection::FindStreamIo(int32_t stream_id) {
  Stream* stream = FindStream(stream_id);
  return stream == nullptr ? nullptr : &stream->io_;
}

void Http2ClientConnection::RemoveStream(Stream* stream) {
  if (stream->submitted_) by_id_.erase(stream->io_.id);
  auto it = owned_.find(stream);
  if (it == owned_.end()) return;
  // May be on the stack (a handler call): free after the callback chain.
  struct Holder : DeferredDeletable {
    std::unique_ptr<Stream> stream;
  };
  auto holder = std::make_unique<Holder>();
  holder->stream = std::move(it->second);
  owned_.erase(it);
  dispatcher_.DeferDelete(std::move(holder));
  pool_.OnCapacity(this);
  MaybeFinish();
}

size_t Http2ClientConnection::live_streams() const {
  size_t live = 0;
  for (const auto& [raw, stream] : owned_) {
    if (raw->handler_ != nullptr) ++live;
  }
  return live;
}

void Http2ClientConnection::Retire() {
  retired_ = true;
  if (closed_ || live_streams() != 0) {
    MaybeFinish();
    return;
  }
  // Nobody waits for anything here (reset streams only await their
  // RST_STREAM): say goodbye now, from outside any nghttp2 callback, so a
  // stopping worker does not depend on another loop iteration.
  if (!dead_ && session_ != nullptr) {
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
    SendPending();
  }
  if (connection_ == nullptr) return;
  // Hand the GOAWAY to the kernel and close at once (FIN after it, or RST if
  // the origin stopped reading): no lingering close, nothing anyone waits
  // for is in flight, and a stopping worker must not wait on the origin.
  connection_->Flush();
  closed_ = true;
  idle_timer_.Cancel();
  connection_->Close(Connection::CloseMode::kAbort);
}

void Http2ClientConnection::MaybeFinish() {
  if (closed_ || live_streams() != 0) return;
  if (accepting() && ready()) {
    pool_.OnIdle(this);
    return;
  }
  if (accepting() && !ready()) return;  // still connecting
  // Draining and idle: say goodbye and close.
  if (!dead_ && session_ != nullptr) {
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
    ScheduleSend();
  } else {
    CloseNow();
  }
}

void Http2ClientConnection::CloseNow() {
  if (closed_) return;
  closed_ = true;
  idle_timer_.Cancel();
  if (connection_ != nullptr) connection_->Close(Connection::CloseMode::kFlushWrite);
}

void Http2ClientConnection::FailAll(StreamResetReason reason, std::string_view detail) {
  std::vector<Stream*> streams;
  streams.reserve(owned_.size());
  for (auto& [raw, owned] : owned_)
    streams.push_back(raw);
  for (Stream* stream : streams) {
    UpstreamHandler* handler = stream->TakeHandler();
    if (handler != nullptr) handler->OnUpstreamReset(reason, detail);
  }
  for (Stream* stream : streams) {
    if (owned_.count(stream) != 0) {
      by_id_.erase(stream->io_.id);
      struct Holder : DeferredDeletable {
        std::unique_ptr<Stream> stream;
      };
      auto holder = std::make_unique<Holder>();
      holder->stream = std::move(owned_[stream]);
      owned_.erase(stream);
      dispatcher_.DeferDelete(std::move(holder));
    }
  }
}

void Http2ClientConnection::OnConnected() {
  if (tls_ && connection_ != nullptr && connection_->tls() != nullptr &&
      connection_->tls()->alpn() != "h2") {
    // The origin did not agree to HTTP/2: this connection is of no use.
    close_detail_ = "upstream_alpn_not_h2";
    dead_ = true;
    connection_->Close(Connection::CloseMode::kAbort);
    return;
  }
  connected_ = true;
  SendPending();
  pool_.OnConnected(this);
}

void Http2ClientConnection::OnData(std::string_view data) {
  if (dead_ || closed_) return;
  const ssize_t rv = nghttp2_session_mem_recv(
      session_, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  if (rv < 0) {
    GH_LOG(kUpstream, kDebug, "upstream h2 mem_recv: " << nghttp2_strerror(static_cast<int>(rv)));
    dead_ = true;
    FailAll(StreamResetReason::kProtocolError, "upstream_http2_protocol_error");
    CloseNow();
    return;
  }
  SendPending();
}

void Http2ClientConnection::OnSendFailure(int error) {
  GH_LOG(kUpstream, kDebug, "upstream h2 mem_send: " << nghttp2_strerror(error));
  FailAll(StreamResetReason::kConnectionTermination, "upstream_http2_send_failure");
  CloseNow();
}

void Http2ClientConnection::AfterSend() {
  if (closed_ || dead_) return;
  if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
    FailAll(StreamResetReason::kConnectionTermination, "upstream_http2_session_ended");
    CloseNow();
  }
}

void Http2ClientConnection::OnEof() {
  // The origin closed: streams still running are cut.
  dead_ = true;
  FailAll(StreamResetReason::kConnectionTermination, "upstream_closed");
  CloseNow();
}

void Http2ClientConnection::OnWriteBelowLowWatermark() {
  for (auto& [raw, stream] : owned_) {
    if (raw->submitted_ && raw->io_.watermark_reported) MarkDrained(raw->io_.id);
  }
  SendPending();
}

void Http2ClientConnection::OnStreamWritable(StreamIo& io) {
  Stream* stream = FindStream(io.id);
  if (stream != nullptr && stream->handler_ != nullptr) stream->handler_->OnUpstreamWritable();
}

void Http2ClientConnection::OnClose(CloseReason reason) {
  if (reason == CloseReason::kTlsFailed && connection_ != nullptr && close_detail_.empty()) {
    close_detail_ = connection_->tls_failure_reason();
  }
  connection_ = nullptr;
  closed_ = true;
  dead_ = true;
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
  }
  if (!close_detail_.empty()) {
    detail = close_detail_;
    reset = connect_failed ? StreamResetReason::kConnectionFailure
                           : StreamResetReason::kConnectionTermination;
  }
  FailAll(reset, detail);
  pool_.OnClosed(this, connect_failed, detail);
}

// ---------------------------------------------------------------- callbacks

int Http2ClientConnection::OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame,
                                          void* user_data) {
  Http2ClientConnection* self = Self(user_data);
  Stream* stream = self->FindStream(frame->hd.stream_id);
  if (stream != nullptr) stream->response_ = Http2ResponseHeaders(kMaxResponseHeaderList);
  return 0;
}

int Http2ClientConnection::OnHeader(nghttp2_session*, const nghttp2_frame* frame,
                                    const uint8_t* name, size_t namelen, const uint8_t* value,
                                    size_t valuelen, uint8_t, void* user_data) {
  Http2ClientConnection* self = Self(user_data);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  Stream* stream = self->FindStream(frame->hd.stream_id);
  if (stream == nullptr) return 0;
  stream->response_.Add(std::string_view(reinterpret_cast<const char*>(name), namelen),
                        std::string_view(reinterpret_cast<const char*>(value), valuelen));
  return 0;
}

int Http2ClientConnection::OnFrameRecv(nghttp2_session* session, const nghttp2_frame* frame,
                                       void* user_data) {
  Http2ClientConnection* self = Self(user_data);
  switch (frame->hd.type) {
    case NGHTTP2_SETTINGS:
      if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) {
        self->settings_received_ = true;
        self->pool_.OnCapacity(self);
      }
      return 0;
    case NGHTTP2_GOAWAY:
      // No new streams here; the ones above last_stream_id are closed by
      // nghttp2 with REFUSED_STREAM (retried by the proxy), the others finish.
      self->goaway_received_ = true;
      self->MaybeFinish();
      return 0;
    case NGHTTP2_HEADERS: {
      Stream* stream = self->FindStream(frame->hd.stream_id);
      if (stream == nullptr || stream->handler_ == nullptr) return 0;
      const bool end_stream = EndsStream(frame);
      if (stream->response_started_) {
        // Trailers (nghttp2 checked they end the stream).
        http::HeaderMap trailers = stream->response_.TakeFields();
        UpstreamHandler* handler = stream->TakeHandler();
        stream->FinishRequestSide();
        handler->OnResponseTrailers(std::move(trailers));
        return 0;
      }
      const int status = stream->response_.status();
      if (status >= 100 && status < 200 && !end_stream) return 0;  // interim: dropped
      ResponseHead head;
      if (!stream->response_.Build(&head)) {
        UpstreamHandler* handler = stream->TakeHandler();
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                  NGHTTP2_PROTOCOL_ERROR);
        stream->reset_sent_ = true;
        handler->OnUpstreamReset(StreamResetReason::kProtocolError,
                                 "upstream_invalid_response_headers");
        return 0;
      }
      stream->response_started_ = true;
      UpstreamHandler* handler = stream->handler_;
      if (end_stream) {
        stream->TakeHandler();
        stream->FinishRequestSide();
      }
      handler->OnResponseHeaders(std::move(head), end_stream);
      return 0;
    }
    case NGHTTP2_DATA: {
      if (!EndsStream(frame)) return 0;
      Stream* stream = self->FindStream(frame->hd.stream_id);
      if (stream == nullptr || stream->handler_ == nullptr) return 0;
      UpstreamHandler* handler = stream->TakeHandler();
      stream->FinishRequestSide();
      handler->OnResponseData({}, true);
      return 0;
    }
    default:
      return 0;
  }
}

int Http2ClientConnection::OnFrameSend(nghttp2_session*, const nghttp2_frame* frame,
                                       void* user_data) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  Stream* stream = Self(user_data)->FindStream(frame->hd.stream_id);
  if (stream != nullptr) stream->headers_sent_ = true;
  return 0;
}

int Http2ClientConnection::OnDataChunkRecv(nghttp2_session*, uint8_t, int32_t stream_id,
                                           const uint8_t* data, size_t len, void* user_data) {
  Http2ClientConnection* self = Self(user_data);
  Stream* stream = self->FindStream(stream_id);
  if (stream == nullptr) {
    nghttp2_session_consume(self->session_, stream_id, len);
    return 0;
  }
  if (stream->handler_ != nullptr) {
    stream->handler_->OnResponseData(std::string_view(reinterpret_cast<const char*>(data), len),
                                     false);
  }
  self->OnInboundData(stream->io_, len);
  return 0;
}

int Http2ClientConnection::OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                                         void* user_data) {
  Http2ClientConnection* self = Self(user_data);
  Stream* stream = self->FindStream(stream_id);
  if (stream == nullptr) return 0;
  self->ReleaseStreamWindow(stream->io_);
  UpstreamHandler* handler = stream->TakeHandler();
  self->RemoveStream(stream);
  if (handler != nullptr) {
    if (error_code == NGHTTP2_REFUSED_STREAM) {
      handler->OnUpstreamReset(StreamResetReason::kRefusedStream, "refused_stream");
    } else {
      handler->OnUpstreamReset(
          StreamResetReason::kRemoteReset,
          "upstream_reset_stream{" + std::string(nghttp2_http2_strerror(error_code)) + "}");
    }
  }
  return 0;
}

// ---------------------------------------------------------------- pool

Http2Pool::Http2Pool(Dispatcher& dispatcher, ClusterState& cluster, const sockaddr_storage& address,
                     std::string sni)
    : dispatcher_(dispatcher), cluster_(cluster), address_(address), sni_(std::move(sni)) {}

Http2Pool::~Http2Pool() {
  for (PoolWaiter& waiter : waiters_) {
    --cluster_.pending;
    waiter.callbacks->OnPoolFailure(StreamResetReason::kConnectionTermination, "pool_destroyed");
  }
  waiters_.clear();
  for (auto& connection : connections_) {
    --cluster_.connections;
    connection->CloseNow();
  }
  connections_.clear();
}

uint32_t Http2Pool::ExpectedCapacity() const {
  return std::max<uint32_t>(
      1, std::min(kInitialPeerStreams, cluster_.cluster().pool.max_concurrent_streams));
}

Http2ClientConnection* Http2Pool::Pick() const {
  for (const auto& connection : connections_) {
    if (connection->CanOpenStream()) return connection.get();
  }
  return nullptr;
}

bool Http2Pool::CanCreateConnection() const {
  return !retired_ && cluster_.connections < cluster_.max_connections();
}

void Http2Pool::CreateConnection() {
  ++connecting_;
  ++cluster_.connections;
  connections_.push_back(
      std::make_unique<Http2ClientConnection>(*this, address_, cluster_.tls(), sni_));
}

void Http2Pool::Assign(Http2ClientConnection* connection, PoolCallbacks* callbacks) {
  UpstreamStream* stream = connection->NewStream(&callbacks->upstream_handler());
  callbacks->OnPoolReady(*stream);
}

bool Http2Pool::Acquire(PoolCallbacks* callbacks, bool fresh_only, WaiterList::iterator* handle) {
  if (!fresh_only) {
    if (Http2ClientConnection* connection = Pick()) {
      Assign(connection, callbacks);
      return false;
    }
  }
  if (cluster_.pending >= cluster_.max_pending()) {
    callbacks->OnPoolFailure(StreamResetReason::kOverflow, "pending_requests_overflow");
    return false;
  }
  waiters_.push_back({callbacks, fresh_only});
  ++cluster_.pending;
  *handle = std::prev(waiters_.end());
  const bool need = connecting_ == 0 || waiters_.size() > connecting_ * ExpectedCapacity();
  if (need && CanCreateConnection()) CreateConnection();
  return true;
}

void Http2Pool::Cancel(WaiterList::iterator handle) {
  waiters_.erase(handle);
  --cluster_.pending;
}

void Http2Pool::ServeWaiters(Http2ClientConnection* fresh) {
  // `fresh` (just connected) may serve fresh-only waiters too.
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    Http2ClientConnection* connection = nullptr;
    if (fresh != nullptr && fresh->CanOpenStream()) {
      connection = fresh;
    } else if (!it->fresh_only) {
      connection = Pick();
    }
    if (connection == nullptr) {
      ++it;
      continue;
    }
    PoolCallbacks* callbacks = it->callbacks;
    it = waiters_.erase(it);
    --cluster_.pending;
    Assign(connection, callbacks);
  }
}

void Http2Pool::OnConnected(Http2ClientConnection* connection) {
  if (connecting_ > 0) --connecting_;
  ServeWaiters(connection);
  if (!waiters_.empty() && connecting_ == 0 && CanCreateConnection()) CreateConnection();
  if (connection->active_streams() == 0) OnIdle(connection);
}

void Http2Pool::OnCapacity(Http2ClientConnection* connection) {
  if (!waiters_.empty() && connection->CanOpenStream()) ServeWaiters(nullptr);
}

void Http2Pool::OnIdle(Http2ClientConnection* connection) {
  // Possibly inside an nghttp2 callback: retire from the timer, not here.
  const uint64_t idle = retired_ ? 0 : cluster_.idle_timeout_ms();
  if (idle > 0 || retired_) connection->idle_timer().Arm(idle);
}

void Http2Pool::OnClosed(Http2ClientConnection* connection, bool connect_failed,
                         std::string_view detail) {
  if (connect_failed && connecting_ > 0) --connecting_;
  auto it = std::find_if(connections_.begin(), connections_.end(),
                         [&](const auto& c) { return c.get() == connection; });
  if (it == connections_.end()) return;
  std::unique_ptr<Http2ClientConnection> doomed = std::move(*it);
  connections_.erase(it);
  --cluster_.connections;
  struct Holder : DeferredDeletable {
    std::unique_ptr<Http2ClientConnection> connection;
  };
  auto holder = std::make_unique<Holder>();
  holder->connection = std::move(doomed);
  dispatcher_.DeferDelete(std::move(holder));

  if (connect_failed) {
    // Nobody else is connecting: the waiters this connection was for fail.
    const size_t can_serve = connecting_ * ExpectedCapacity();
    while (waiters_.size() > can_serve) {
      PoolWaiter waiter = waiters_.front();
      waiters_.pop_front();
      --cluster_.pending;
      waiter.callbacks->OnPoolFailure(StreamResetReason::kConnectionFailure, detail);
    }
    return;
  }
  if (!waiters_.empty() && Pick() == nullptr && connecting_ == 0 && CanCreateConnection()) {
    CreateConnection();
  }
}

void Http2Pool::Retire() {
  retired_ = true;
  for (auto& connection : connections_)
    connection->Retire();
}

}  // namespace gh::gateway
