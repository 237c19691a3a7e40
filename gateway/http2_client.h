// Upstream HTTP/2 (h2c, or h2 = TLS with ALPN "h2" when the cluster
// originates TLS): multiplexed connections per worker per endpoint (and per
// SNI, like the HTTP/1.1 pool). Each UpstreamStream is one HTTP/2 stream; the
// proxy sees the same interface as with HTTP/1.1.
//
// Http2Pool keeps the connections of one endpoint: a request goes to the
// oldest connection with a free stream slot (capacity = the peer's
// SETTINGS_MAX_CONCURRENT_STREAMS capped by the cluster's
// max_concurrent_streams), new connections open while waiters exceed what the
// connecting ones will take, within the cluster's max_connections. A
// connection that received GOAWAY, reached max_requests_per_connection or was
// retired takes no new streams and closes when its last one ends. Streams the
// upstream refused (REFUSED_STREAM, or above a GOAWAY's last stream id) fail
// with kRefusedStream, which the proxy may retry safely. Flow control as
// downstream (http2_session.h): response windows reopen only as the proxy
// takes the bytes; request bodies queue per stream with a high watermark.
#pragma once

#include <sys/socket.h>

#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/http2_headers.h"
#include "gateway/http2_session.h"
#include "gateway/http_stream.h"
#include "gateway/timer_queue.h"
#include "gateway/upstream_pool.h"
#include "tls/client_context.h"

namespace gh::gateway {

class ClusterState;
class Http2Pool;

class Http2ClientConnection final : public Http2Session {
 public:
  // `tls`: originate TLS with this context (its ALPN offer must be "h2");
  // `sni_host`: the host the SNI and hostname check derive from.
  Http2ClientConnection(Http2Pool& pool, const sockaddr_storage& address,
                        const std::shared_ptr<const tls::ClientContext>& tls,
                        std::string_view sni_host);
  ~Http2ClientConnection() override;

  // A new stream for `handler` (the request goes out on SendHeaders).
  // Only when CanOpenStream().
  UpstreamStream* NewStream(UpstreamHandler* handler);
  bool ready() const { return connected_ && !closed_ && !dead_; }
  bool CanOpenStream() const;
  size_t active_streams() const { return owned_.size(); }
  // Streams someone still waits for (not reset, not finished).
  size_t live_streams() const;
  uint32_t capacity() const;
  bool accepting() const { return !goaway_received_ && !retired_ && !closed_ && !dead_; }
  // No new streams; close once the active ones end (retirement, idle).
  void Retire();
  void CloseNow();
  Timer& idle_timer() { return idle_timer_; }
  uint64_t streams_opened() const { return streams_opened_; }

  // ConnectionHandler
  void OnConnected() override;
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

  Stream* FindStream(int32_t stream_id);
  void RemoveStream(Stream* stream);
  void FailAll(StreamResetReason reason, std::string_view detail);
  void MaybeFinish();

  Http2Pool& pool_;
  bool tls_;
  std::string close_detail_;  // why the connection failed (TLS, ALPN)
  std::unordered_map<Stream*, std::unique_ptr<Stream>> owned_;
  std::unordered_map<int32_t, Stream*> by_id_;
  Timer idle_timer_;
  uint64_t streams_opened_ = 0;
  bool connected_ = false;
  bool closed_ = false;
  bool settings_received_ = false;
  bool goaway_received_ = false;
  bool retired_ = false;
};

// The HTTP/2 connections of one endpoint on one worker.
class Http2Pool {
 public:
  using WaiterList = std::list<PoolWaiter>;

  Http2Pool(Dispatcher& dispatcher, ClusterState& cluster, const sockaddr_storage& address,
            std::string sni);
  ~Http2Pool();
  Http2Pool(const Http2Pool&) = delete;
  Http2Pool& operator=(const Http2Pool&) = delete;

  // As EndpointPool::Acquire: serves now or queues (returns true, `handle` set).
  bool Acquire(PoolCallbacks* callbacks, bool fresh_only, WaiterList::iterator* handle);
  void Cancel(WaiterList::iterator handle);
  void Retire();
  // DNS_ROUND_ROBIN re-resolved: new connections go to `address`, open ones stay.
  void SetAddress(const sockaddr_storage& address) { address_ = address; }
  bool empty() const { return connections_.empty() && waiters_.empty(); }
  size_t connection_count() const { return connections_.size(); }
  Dispatcher& dispatcher() const { return dispatcher_; }
  ClusterState& cluster() const { return cluster_; }

  // From connections.
  void OnConnected(Http2ClientConnection* connection);
  void OnCapacity(Http2ClientConnection* connection);  // a slot freed / limit changed
  void OnIdle(Http2ClientConnection* connection);
  void OnClosed(Http2ClientConnection* connection, bool connect_failed, std::string_view detail);

 private:
  Http2ClientConnection* Pick() const;
  void Assign(Http2ClientConnection* connection, PoolCallbacks* callbacks);
  void ServeWaiters(Http2ClientConnection* fresh);
  bool CanCreateConnection() const;
  void CreateConnection();
  uint32_t ExpectedCapacity() const;

  Dispatcher& dispatcher_;
  ClusterState& cluster_;
  sockaddr_storage address_;
  std::string sni_;
  std::vector<std::unique_ptr<Http2ClientConnection>> connections_;
  WaiterList waiters_;
  size_t connecting_ = 0;
  bool retired_ = false;
};

}  // namespace gh::gateway
