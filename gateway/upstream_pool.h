// Per-worker connection pool for one upstream endpoint. HTTP/1.1: idle
// keep-alive connections reused most-recent-first, new connections up to the
// cluster's limit, a bounded FIFO of requests waiting for a connection
// (circuit breakers: 503 UO beyond it), idle timeout shorter than typical
// origin keep-alive timeouts to avoid the reuse race. HTTP/2 requests go to
// the endpoint's Http2Pool (http2_client.h), created on first use; the
// cluster's connection and pending limits count both.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "gateway/http_stream.h"
#include "routing/model.h"

namespace gh::gateway {

class ClusterState;
class Dispatcher;
class Http1ClientConnection;
class Http2Pool;

class PoolCallbacks {
 public:
  virtual ~PoolCallbacks() = default;
  // A connection is ready for this request: call stream.Attach-equivalent
  // through `stream` (already bound to `handler`).
  virtual void OnPoolReady(UpstreamStream& stream) = 0;
  virtual void OnPoolFailure(StreamResetReason reason, std::string_view detail) = 0;
  // The handler that will own the upstream stream once ready.
  virtual UpstreamHandler& upstream_handler() = 0;
};

struct PoolWaiter {
  PoolCallbacks* callbacks;
  bool fresh_only;
};

// Which wire protocol one request uses upstream.
enum class PoolProtocol : uint8_t { kHttp1, kHttp2 };

// The protocol of the upstream request: the cluster's (h2c / h2 -> HTTP/2),
// the client's for use_client_protocol, and always HTTP/1.1 for upgrades
// (WebSocket, also when the client asked with HTTP/2 extended CONNECT).
// Over TLS only an h2 cluster (ALPN "h2" offered) gets HTTP/2: a cluster's
// TLS context offers one ALPN list, so use_client_protocol stays HTTP/1.1.
PoolProtocol SelectPoolProtocol(routing::UpstreamProtocol cluster_protocol, bool tls,
                                const RequestHead& request);

class EndpointPool {
 public:
  using Waiter = PoolWaiter;
  struct WaiterHandle {
    std::list<Waiter>::iterator it;
    bool http2 = false;
  };

  // `sni`: the TLS server name this pool's connections use ("" when the
  // cluster is plaintext or has a fixed SNI).
  EndpointPool(Dispatcher& dispatcher, ClusterState& cluster, const sockaddr_storage& address,
               std::string sni);
  ~EndpointPool();
  EndpointPool(const EndpointPool&) = delete;
  EndpointPool& operator=(const EndpointPool&) = delete;

  // Serves `callbacks` now (OnPoolReady/OnPoolFailure called synchronously)
  // or queues it; returns true when queued, with `handle` set for Cancel.
  bool Acquire(PoolCallbacks* callbacks, bool fresh_only, WaiterHandle* handle,
               PoolProtocol protocol = PoolProtocol::kHttp1);
  void Cancel(WaiterHandle handle);
  // Closes idle connections; active ones close when their request ends.
  void Retire();
  // DNS_ROUND_ROBIN re-resolved: new connections go to `address`; open ones
  // (idle and busy) stay, as Envoy's logical DNS host keeps them.
  void SetAddress(const sockaddr_storage& address);
  bool empty() const;
  size_t idle_count() const { return idle_.size(); }
  size_t active_count() const { return connections_.size() - idle_.size(); }
  size_t pending_count() const { return waiters_.size(); }
  Dispatcher& dispatcher() const { return dispatcher_; }
  ClusterState& cluster() const { return cluster_; }

  // Called by Http1ClientConnection.
  void OnConnected(Http1ClientConnection* connection);
  void OnReleased(Http1ClientConnection* connection);
  void OnClosed(Http1ClientConnection* connection, bool connect_failed, std::string_view detail);

 private:
  void Assign(Http1ClientConnection* connection, PoolCallbacks* callbacks);
  bool CanCreateConnection() const;
  void CreateConnection();
  void ArmIdle(Http1ClientConnection* connection);

  Dispatcher& dispatcher_;
  ClusterState& cluster_;
  sockaddr_storage address_;
  std::string sni_;
  std::vector<std::unique_ptr<Http1ClientConnection>> connections_;
  std::vector<Http1ClientConnection*> idle_;  // most recently used last
  std::list<Waiter> waiters_;
  std::unique_ptr<Http2Pool> http2_;  // created on the first HTTP/2 request
  size_t connecting_ = 0;
  bool retired_ = false;
};

}  // namespace gh::gateway
