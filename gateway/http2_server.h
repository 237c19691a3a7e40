// Downstream HTTP/2 codec for one client connection: h2c with prior
// knowledge on plain listeners (ProtocolSniffer) and ALPN "h2" on HTTPS ones
// (TlsAcceptor); the session only sees plaintext from OnData and writes
// through Connection::Write. Each stream maps onto a StreamHandler (the
// proxy) exactly as an HTTP/1.1 request does.
//
// Flow control (see http2_session.h): a stream's receive window opens only
// as the proxy takes its bytes while not read-disabled; response bodies wait
// in a per-stream buffer whose high watermark (or the connection's) makes
// the proxy pause the upstream.
//
// Limits, on by default from ProxySettings: SETTINGS_MAX_CONCURRENT_STREAMS,
// initial stream / connection windows, SETTINGS_MAX_HEADER_LIST_SIZE (431
// beyond it, and beyond max_request_headers fields), nghttp2's rapid-reset,
// CONTINUATION, queued-ACK and SETTINGS-entries limits, plus the flood guard
// (http2_limits.h). A violator gets GOAWAY (ENHANCE_YOUR_CALM or the
// protocol error), the connection closes, and WorkerStats::http2_violations
// counts it by kind. Drain sends GOAWAY and lets in-flight streams finish.
#pragma once

#include <memory>
#include <string_view>
#include <unordered_map>

#include "gateway/downstream_info.h"
#include "gateway/downstream_session.h"
#include "gateway/http2_headers.h"
#include "gateway/http2_limits.h"
#include "gateway/http2_session.h"
#include "gateway/http_stream.h"
#include "gateway/timer_queue.h"

namespace gh::gateway {

class Worker;

class Http2ServerConnection final : public Http2Session, public DownstreamSession {
 public:
  Http2ServerConnection(Worker& worker, Connection* connection,
                        std::shared_ptr<const DownstreamInfo> info);
  ~Http2ServerConnection() override;

  // Sends our SETTINGS and feeds `initial` (the client preface and whatever
  // followed it) to the session.
  void Start(std::string_view initial);
  void Drain() override;
  const DownstreamInfo& info() const override { return *info_; }

  // ConnectionHandler
  void OnData(std::string_view data) override;
  void OnEof() override;
  void OnWriteBelowLowWatermark() override;
  void OnClose(CloseReason reason) override;

 private:
  class Stream;
  friend class Stream;

  // Http2Session
  void OnStreamWritable(StreamIo& io) override;
  void OnSendFailure(int error) override;
  void AfterSend() override;
  StreamIo* FindStreamIo(int32_t stream_id) override;

  static int OnBeginFrame(nghttp2_session* session, const nghttp2_frame_hd* hd, void* user_data);
  static int OnBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame, void* user_data);
  static int OnHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                      void* user_data);
  static int OnFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* user_data);
  static int OnDataChunkRecv(nghttp2_session* session, uint8_t flags, int32_t stream_id,
                             const uint8_t* data, size_t len, void* user_data);
  static int OnStreamClose(nghttp2_session* session, int32_t stream_id, uint32_t error_code,
                           void* user_data);
  static int OnFrameSend(nghttp2_session* session, const nghttp2_frame* frame, void* user_data);
  static int OnInvalidFrameRecv(nghttp2_session* session, const nghttp2_frame* frame,
                                int lib_error_code, void* user_data);
  static int OnError(nghttp2_session* session, int lib_error_code, const char* msg, size_t len,
                     void* user_data);

  Stream* FindStream(int32_t stream_id);
  void OnRequestHeadersComplete(Stream& stream, bool end_stream);
  // Ends the connection for abuse: count, GOAWAY, close.
  void Violation(Http2Violation violation, uint32_t error_code);
  void HandleRecvError(int error);
  void ResetAllStreams(StreamResetReason reason);
  void CloseConnection(Connection::CloseMode mode);
  void UpdateIdleTimer();
  void OnHeaderTimeout();
  // The header block of `stream_id` (if it is the one in progress) ended.
  void EndHeaderBlock(int32_t stream_id);
  void WriteGoaway(uint32_t error_code);

  Worker& worker_;
  std::shared_ptr<const DownstreamInfo> info_;
  Http2FloodGuard guard_;
  Http2RequestHeaders::Limits header_limits_;
  std::unordered_map<int32_t, std::unique_ptr<Stream>> streams_;
  Timer header_timer_;  // preface/SETTINGS, then any header block in progress
  Timer idle_timer_;    // no streams
  Http2Violation pending_violation_ = Http2Violation::kNone;
  uint32_t pending_error_code_ = 0;
  int last_lib_error_ = 0;
  int32_t header_block_stream_ = 0;  // stream whose header block is in progress
  bool settings_received_ = false;
  bool goaway_sent_ = false;
  bool draining_ = false;
  bool peer_eof_ = false;
  bool closed_ = false;
};

}  // namespace gh::gateway
