// A fire-and-forget copy of a request to a mirror cluster (Istio `mirror` /
// `mirrors`). It has its own pool acquisition, its own deadline and no way
// back to the client: its answer is read and dropped, its failures are only
// counted, so a slow or broken mirror never slows or fails the main request.
#pragma once

#include <memory>
#include <string>

#include "gateway/http_stream.h"
#include "gateway/snapshot.h"
#include "gateway/timer_queue.h"
#include "gateway/upstream_pool.h"

namespace gh::gateway {

class ClusterState;
class Worker;

class MirrorRequest final : public UpstreamHandler, public PoolCallbacks, public DeferredDeletable {
 public:
  // Starts the copy; the worker owns it until it finishes.
  static void Start(Worker& worker, SnapshotPtr snapshot, uint32_t cluster_index, RequestHead head,
                    std::string body, uint64_t timeout_ms);
  ~MirrorRequest() override;

  // UpstreamHandler
  void OnResponseHeaders(ResponseHead&& head, bool end_stream) override;
  void OnResponseData(std::string_view data, bool end_stream) override;
  void OnResponseTrailers(http::HeaderMap&& trailers) override;
  void OnUpstreamWritable() override {}
  void OnUpstreamReset(StreamResetReason reason, std::string_view detail) override;

  // PoolCallbacks
  void OnPoolReady(UpstreamStream& stream) override;
  void OnPoolFailure(StreamResetReason reason, std::string_view detail) override;
  UpstreamHandler& upstream_handler() override { return *this; }

 private:
  MirrorRequest(Worker& worker, SnapshotPtr snapshot, RequestHead head, std::string body,
                uint64_t timeout_ms);
  void Begin(uint32_t cluster_index);
  void End(bool ok);

  Worker& worker_;
  SnapshotPtr snapshot_;
  RequestHead head_;
  std::string body_;
  ClusterState* cluster_ = nullptr;
  size_t endpoint_ = 0;
  bool counted_ = false;
  UpstreamStream* upstream_ = nullptr;
  EndpointPool* waiter_pool_ = nullptr;
  EndpointPool::WaiterHandle waiter_;
  Timer deadline_;
  bool ended_ = false;
};

}  // namespace gh::gateway
