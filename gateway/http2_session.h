// What the downstream (server) and upstream (client) HTTP/2 codecs share,
// driving nghttp2 the way nghttpx does:
//  - input: every read goes to nghttp2_session_mem_recv whole;
//  - output: nghttp2_session_mem_send into the Connection, pulled only while
//    the connection is below its high watermark (the session's pending
//    output is bounded; OnWriteBelowLowWatermark pulls again);
//  - bodies: each stream queues outbound body bytes in its own ByteChain; a
//    data provider hands them to nghttp2 with NO_COPY (frame header + bytes
//    written straight from the chain), returns DEFERRED when the chain is
//    empty and is resumed by the next append; trailers go out from the
//    provider (NO_END_STREAM + nghttp2_submit_trailer);
//  - inbound flow control: no automatic WINDOW_UPDATE. Bytes handed to the
//    stream's consumer are returned to the peer (nghttp2_session_consume)
//    only while the consumer has not read-disabled the stream; bytes that
//    arrive while it is disabled are returned when it re-enables.
// Calls into nghttp2 that can run callbacks (mem_send) never happen inside
// a call from the proxy: those schedule a flush (Flushable) instead.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/http.h"
#include "gateway/byte_chain.h"
#include "gateway/connection.h"
#include "gateway/dispatcher.h"

namespace gh::gateway {

// nghttp2_nv list over strings that outlive the submit call (nghttp2 copies).
class NvList {
 public:
  void Add(std::string_view name, std::string_view value) {
    nv_.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                   reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                   value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  const nghttp2_nv* data() const { return nv_.data(); }
  size_t size() const { return nv_.size(); }
  void Reserve(size_t n) { nv_.reserve(n); }

 private:
  std::vector<nghttp2_nv> nv_;
};

class Http2Session : public ConnectionHandler, public Flushable {
 public:
  Http2Session(const Http2Session&) = delete;
  Http2Session& operator=(const Http2Session&) = delete;

  void Flush() override;
  Connection* connection() const { return connection_; }

 protected:
  // Per-stream state the shared machinery needs. Derived streams embed it.
  struct StreamIo {
    int32_t id = 0;
    ByteChain out;                            // body bytes not yet framed
    std::optional<http::HeaderMap> trailers;  // sent after `out` when set
    bool data_end = false;                    // nothing follows `out` (and trailers)
    bool provider = false;                    // a data provider is attached
    bool deferred = false;                    // the provider returned DEFERRED
    bool eof_submitted = false;               // the provider signalled EOF
    uint32_t read_disable_count = 0;
    size_t unconsumed = 0;            // received while disabled, window not yet returned
    bool watermark_reported = false;  // above-high seen by the consumer
  };

  Http2Session(Dispatcher& dispatcher, Connection* connection, uint32_t stream_buffer_limit);
  ~Http2Session() override;

  // Callbacks every session uses (send_data for NO_COPY). Derived classes add theirs.
  static void InstallSharedCallbacks(nghttp2_session_callbacks* callbacks);
  static nghttp2_data_provider DataProvider(StreamIo* io);

  // Appends body bytes (and the end) for `io` and wakes its provider.
  void QueueData(StreamIo& io, std::string_view data, bool end_stream);
  void QueueTrailers(StreamIo& io, const http::HeaderMap& trailers);
  // `len` body bytes of `io` went to its consumer.
  void OnInboundData(StreamIo& io, size_t len);
  // Counted; the last enable returns the window withheld meanwhile.
  void SetReadDisabled(StreamIo& io, bool disable);
  // The stream is gone: return the connection-level window it still held.
  void ReleaseStreamWindow(StreamIo& io);
  bool StreamAboveHighWatermark(const StreamIo& io) const;

  // The stream's consumer should hear OnStreamWritable after the next send
  // pass if it is below its low watermark by then (connection drained).
  void MarkDrained(int32_t stream_id) { drained_.push_back(stream_id); }

  void ScheduleSend();
  // Pulls frames from nghttp2 into the connection until it has nothing to
  // send or the connection is above its high watermark.
  void SendPending();

  // Hooks for the derived codec.
  // A stream whose consumer saw "above high watermark" drained below low.
  virtual void OnStreamWritable(StreamIo& io) = 0;
  // nghttp2 failed fatally while sending.
  virtual void OnSendFailure(int error) = 0;
  // After each send pass (close when nghttp2 wants neither read nor write...).
  virtual void AfterSend() {}
  virtual StreamIo* FindStreamIo(int32_t stream_id) = 0;

  Dispatcher& dispatcher_;
  Connection* connection_;
  nghttp2_session* session_ = nullptr;
  const uint32_t stream_high_;
  const uint32_t stream_low_;
  bool dead_ = false;  // nghttp2 failed fatally, or the connection is gone

 private:
  static ssize_t OnDataSourceRead(nghttp2_session* session, int32_t stream_id, uint8_t* buf,
                                  size_t length, uint32_t* data_flags, nghttp2_data_source* source,
                                  void* user_data);
  static int OnSendData(nghttp2_session* session, nghttp2_frame* frame, const uint8_t* framehd,
                        size_t length, nghttp2_data_source* source, void* user_data);
  void SubmitTrailers(StreamIo& io);
  void NotifyWritable();

  bool flush_scheduled_ = false;
  bool sending_ = false;
  std::vector<int32_t> drained_;  // streams to notify after the send pass
};

// Adds `headers` to `nv`, minus the fields HTTP/2 forbids (HeaderMap names
// are lowercase already). `headers` must outlive the submit call.
void AppendFieldsForHttp2(const http::HeaderMap& headers, NvList& nv);

}  // namespace gh::gateway
