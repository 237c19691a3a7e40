#include "gateway/upstream_pool.h"

#include <algorithm>

#include "gateway/cluster_manager.h"
#include "gateway/dispatcher.h"
#include "gateway/http1_client.h"
#include "gateway/http2_client.h"

namespace gh::gateway {

PoolProtocol SelectPoolProtocol(routing::UpstreamProtocol cluster_protocol, bool tls,
                                const RequestHead& request) {
  if (!request.upgrade.empty()) return PoolProtocol::kHttp1;
  if (tls) {
    return cluster_protocol == routing::UpstreamProtocol::kH2 ? PoolProtocol::kHttp2
                                                              : PoolProtocol::kHttp1;
  }
  switch (cluster_protocol) {
    case routing::UpstreamProtocol::kH2c:
    case routing::UpstreamProtocol::kH2:
      return PoolProtocol::kHttp2;
    case routing::UpstreamProtocol::kSameAsClient:
      return request.protocol == "HTTP/2" ? PoolProtocol::kHttp2 : PoolProtocol::kHttp1;
    case routing::UpstreamProtocol::kHttp1:
      break;
  }
  return PoolProtocol::kHttp1;
}

EndpointPool::EndpointPool(Dispatcher& dispatcher, ClusterState& cluster,
                           const sockaddr_storage& address, std::string sni)
    : dispatcher_(dispatcher), cluster_(cluster), address_(address), sni_(std::move(sni)) {}

EndpointPool::~EndpointPool() {
  http2_.reset();
  for (Waiter& waiter : waiters_) {
    --cluster_.pending;
    waiter.callbacks->OnPoolFailure(StreamResetReason::kConnectionTermination, "pool_destroyed");
  }
  waiters_.clear();
  idle_.clear();
  // Closing detaches every connection from this pool (OnClose comes later,
  // after the socket is gone, and is ignored).
  for (auto& connection : connections_) {
    connection->Close();
    --cluster_.connections;
  }
  connections_.clear();
}

void EndpointPool::SetAddress(const sockaddr_storage& address) {
  address_ = address;
  if (http2_ != nullptr) http2_->SetAddress(address);
}

bool EndpointPool::empty() const {
  return connections_.empty() && waiters_.empty() && (http2_ == nullptr || http2_->empty());
}

bool EndpointPool::Acquire(PoolCallbacks* callbacks, bool fresh_only, WaiterHandle* handle,
                           PoolProtocol protocol) {
  if (protocol == PoolProtocol::kHttp2) {
    if (http2_ == nullptr) {
      http2_ = std::make_unique<Http2Pool>(dispatcher_, cluster_, address_, sni_);
    }
    handle->http2 = true;
    return http2_->Acquire(callbacks, fresh_only, &handle->it);
  }
  handle->http2 = false;
  while (!fresh_only && !idle_.empty()) {
    Http1ClientConnection* connection = idle_.back();
    idle_.pop_back();
    if (!connection->StillUsable(dispatcher_.Now())) {
      // The origin closed it while idle (keep-alive timeout): never reuse.
      connection->Close();
      continue;
    }
    Assign(connection, callbacks);
    return false;
  }
  // Waiting for a connection (new or busy) counts against the pending limit.
  if (cluster_.pending >= cluster_.max_pending()) {
    callbacks->OnPoolFailure(StreamResetReason::kOverflow, "pending_requests_overflow");
    return false;
  }
  waiters_.push_back({callbacks, fresh_only});
  ++cluster_.pending;
  handle->it = std::prev(waiters_.end());
  if (connecting_ < waiters_.size() && CanCreateConnection()) CreateConnection();
  return true;
}

void EndpointPool::Cancel(WaiterHandle handle) {
  if (handle.http2) {
    if (http2_ != nullptr) http2_->Cancel(handle.it);
    return;
  }
  waiters_.erase(handle.it);
  --cluster_.pending;
}

bool EndpointPool::CanCreateConnection() const {
  // A retired pool takes no new requests, but the ones already waiting in it
  // still get a connection: a reload must not strand a queued request.
  return cluster_.connections < cluster_.max_connections();
}

void EndpointPool::CreateConnection() {
  ++connecting_;
  ++cluster_.connections;
  if (WorkerStats* stats = cluster_.stats()) ++stats->upstream_cx_total;
  connections_.push_back(std::make_unique<Http1ClientConnection>(*this, cluster_.buffer_limit(),
                                                                 cluster_.connect_timeout_ms(),
                                                                 address_, cluster_.tls(), sni_));
}

void EndpointPool::Assign(Http1ClientConnection* connection, PoolCallbacks* callbacks) {
  connection->idle_timer().Cancel();
  connection->Attach(&callbacks->upstream_handler());
  callbacks->OnPoolReady(*connection);
}

void EndpointPool::OnConnected(Http1ClientConnection* connection) {
  --connecting_;
  // A brand-new connection may serve any waiter, fresh-only ones included.
  if (!waiters_.empty()) {
    Waiter waiter = waiters_.front();
    waiters_.pop_front();
    --cluster_.pending;
    Assign(connection, waiter.callbacks);
    return;
  }
  OnReleased(connection);
}

void EndpointPool::OnReleased(Http1ClientConnection* connection) {
  const uint32_t max_requests = cluster_.cluster().pool.max_requests_per_connection;
  if ((retired_ && waiters_.empty()) ||
      (max_requests != 0 && connection->requests_served() >= max_requests)) {
    connection->Close();
    return;
  }
  for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
    if (it->fresh_only) continue;
    PoolCallbacks* callbacks = it->callbacks;
    waiters_.erase(it);
    --cluster_.pending;
    Assign(connection, callbacks);
    return;
  }
  if (retired_) {
    connection->Close();
    return;
  }
  connection->set_idle_since_ms(dispatcher_.Now());
  idle_.push_back(connection);
  ArmIdle(connection);
}

void EndpointPool::ArmIdle(Http1ClientConnection* connection) {
  const uint64_t idle = cluster_.idle_timeout_ms();
  if (idle > 0) connection->idle_timer().Arm(idle);
}

void EndpointPool::OnClosed(Http1ClientConnection* connection, bool connect_failed,
                            std::string_view detail) {
  if (connect_failed) {
    --connecting_;
    if (WorkerStats* stats = cluster_.stats()) ++stats->upstream_cx_connect_fail;
  }
  std::erase(idle_, connection);
  auto it = std::find_if(connections_.begin(), connections_.end(),
                         [&](const auto& c) { return c.get() == connection; });
  if (it == connections_.end()) return;
  std::unique_ptr<Http1ClientConnection> doomed = std::move(*it);
  connections_.erase(it);
  --cluster_.connections;
  // The object may still be on the stack: free it after the callback chain.
  struct Holder : DeferredDeletable {
    std::unique_ptr<Http1ClientConnection> connection;
  };
  auto holder = std::make_unique<Holder>();
  holder->connection = std::move(doomed);
  dispatcher_.DeferDelete(std::move(holder));

  if (connect_failed && waiters_.size() > connecting_) {
    // More waiters than connections on the way: the oldest one fails.
    Waiter waiter = waiters_.front();
    waiters_.pop_front();
    --cluster_.pending;
    waiter.callbacks->OnPoolFailure(StreamResetReason::kConnectionFailure, detail);
  }
  // Waiters still queued need a connection (e.g. a fresh one for a retry).
  if (!waiters_.empty() && connecting_ < waiters_.size() && CanCreateConnection()) {
    CreateConnection();
  }
}

void EndpointPool::Retire() {
  retired_ = true;
  if (http2_ != nullptr) http2_->Retire();
  std::vector<Http1ClientConnection*> idle;
  idle.swap(idle_);
  for (Http1ClientConnection* connection : idle)
    connection->Close();
}

}  // namespace gh::gateway
