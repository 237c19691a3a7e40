#include "gateway/http2_session.h"

#include <algorithm>

#include "gateway/http2_headers.h"

namespace gh::gateway {

Http2Session::Http2Session(Dispatcher& dispatcher, Connection* connection,
                           uint32_t stream_buffer_limit)
    : dispatcher_(dispatcher),
      connection_(connection),
      stream_high_(stream_buffer_limit),
      stream_low_(stream_buffer_limit / 2) {}

Http2Session::~Http2Session() {
  if (flush_scheduled_) dispatcher_.UnscheduleFlush(this);
  if (session_ != nullptr) nghttp2_session_del(session_);
}

void Http2Session::InstallSharedCallbacks(nghttp2_session_callbacks* callbacks) {
  nghttp2_session_callbacks_set_send_data_callback(callbacks, &Http2Session::OnSendData);
}

nghttp2_data_provider Http2Session::DataProvider(StreamIo* io) {
  nghttp2_data_provider provider;
  provider.source.ptr = io;
  provider.read_callback = &Http2Session::OnDataSourceRead;
  io->provider = true;
  return provider;
}

void Http2Session::QueueData(StreamIo& io, std::string_view data, bool end_stream) {
  if (io.data_end || dead_) return;
  if (!data.empty()) io.out.Append(data);
  if (end_stream) io.data_end = true;
  if (io.provider && io.deferred && (!data.empty() || end_stream)) {
    io.deferred = false;
    nghttp2_session_resume_data(session_, io.id);
  }
  ScheduleSend();
}

void Http2Session::QueueTrailers(StreamIo& io, const http::HeaderMap& trailers) {
  if (io.data_end || dead_) return;
  if (!trailers.empty()) io.trailers = trailers;
  QueueData(io, {}, true);
}

void Http2Session::OnInboundData(StreamIo& io, size_t len) {
  if (dead_ || len == 0) return;
  if (io.read_disable_count > 0) {
    io.unconsumed += len;
    return;
  }
  nghttp2_session_consume(session_, io.id, len);
}

void Http2Session::SetReadDisabled(StreamIo& io, bool disable) {
  if (disable) {
    ++io.read_disable_count;
    return;
  }
  if (io.read_disable_count == 0) return;
  if (--io.read_disable_count == 0 && io.unconsumed != 0 && !dead_) {
    nghttp2_session_consume(session_, io.id, io.unconsumed);
    io.unconsumed = 0;
    ScheduleSend();
  }
}

void Http2Session::ReleaseStreamWindow(StreamIo& io) {
  if (io.unconsumed != 0 && !dead_) {
    nghttp2_session_consume_connection(session_, io.unconsumed);
    ScheduleSend();
  }
  io.unconsumed = 0;
}

bool Http2Session::StreamAboveHighWatermark(const StreamIo& io) const {
  return io.out.size() > stream_high_ ||
         (connection_ != nullptr && connection_->above_high_watermark());
}

void Http2Session::ScheduleSend() {
  if (flush_scheduled_ || dead_) return;
  flush_scheduled_ = true;
  dispatcher_.ScheduleFlush(this);
}

void Http2Session::Flush() {
  flush_scheduled_ = false;
  SendPending();
}

void Http2Session::SendPending() {
  if (dead_ || sending_ || connection_ == nullptr || session_ == nullptr) return;
  sending_ = true;
  while (!connection_->above_high_watermark()) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      sending_ = false;
      dead_ = true;
      OnSendFailure(static_cast<int>(n));
      return;
    }
    if (n == 0) break;
    connection_->Write(
        std::string_view(reinterpret_cast<const char*>(data), static_cast<size_t>(n)));
  }
  sending_ = false;
  NotifyWritable();
  AfterSend();
}

void Http2Session::NotifyWritable() {
  if (drained_.empty()) return;
  std::vector<int32_t> ids;
  ids.swap(drained_);
  for (int32_t id : ids) {
    StreamIo* io = FindStreamIo(id);
    if (io == nullptr || !io->watermark_reported || StreamAboveHighWatermark(*io)) continue;
    if (io->out.size() > stream_low_) continue;
    io->watermark_reported = false;
    OnStreamWritable(*io);
    if (dead_) return;
  }
}

void Http2Session::SubmitTrailers(StreamIo& io) {
  NvList nv;
  AppendFieldsForHttp2(*io.trailers, nv);
  nghttp2_submit_trailer(session_, io.id, nv.data(), nv.size());
}

ssize_t Http2Session::OnDataSourceRead(nghttp2_session*, int32_t, uint8_t*, size_t length,
                                       uint32_t* data_flags, nghttp2_data_source* source,
                                       void* user_data) {
  auto* self = static_cast<Http2Session*>(user_data);
  auto* io = static_cast<StreamIo*>(source->ptr);
  const size_t available = io->out.size();
  if (available == 0 && !io->data_end) {
    io->deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  const size_t n = std::min(length, available);
  if (n != 0) *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  if (n == available && io->data_end) {
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    io->eof_submitted = true;
    if (io->trailers.has_value()) {
      *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      self->SubmitTrailers(*io);
    }
  }
  return static_cast<ssize_t>(n);
}

int Http2Session::OnSendData(nghttp2_session*, nghttp2_frame* frame, const uint8_t* framehd,
                             size_t length, nghttp2_data_source* source, void* user_data) {
  auto* self = static_cast<Http2Session*>(user_data);
  auto* io = static_cast<StreamIo*>(source->ptr);
  if (self->connection_ == nullptr) return NGHTTP2_ERR_CALLBACK_FAILURE;
  if (self->connection_->above_high_watermark()) return NGHTTP2_ERR_WOULDBLOCK;
  self->connection_->Write(std::string_view(reinterpret_cast<const char*>(framehd), 9));
  if (frame->data.padlen > 0) {
    const char pad = static_cast<char>(frame->data.padlen - 1);
    self->connection_->Write(std::string_view(&pad, 1));
  }
  constexpr size_t kSpans = 8;
  ByteSpan spans[kSpans];
  size_t left = length;
  while (left > 0) {
    const size_t count = io->out.Peek(spans, kSpans, left);
    if (count == 0) break;
    size_t taken = 0;
    for (size_t i = 0; i < count; ++i) {
      self->connection_->Write(std::string_view(spans[i].data, spans[i].size));
      taken += spans[i].size;
    }
    io->out.Drain(taken);
    left -= taken;
  }
  if (frame->data.padlen > 1) {
    const std::string zeros(frame->data.padlen - 1, '\0');
    self->connection_->Write(zeros);
  }
  if (io->watermark_reported && io->out.size() <= self->stream_low_) {
    self->drained_.push_back(io->id);
  }
  return 0;
}

void AppendFieldsForHttp2(const http::HeaderMap& headers, NvList& nv) {
  for (const http::Header& h : headers) {
    // "TE: trailers" is the one TE HTTP/2 allows (gRPC needs it).
    if (IsConnectionSpecificHeader(h.name) && !(h.name == "te" && h.value == "trailers")) {
      continue;
    }
    nv.Add(h.name, h.value);
  }
}

}  // namespace gh::gateway
