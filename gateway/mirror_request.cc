#include "gateway/mirror_request.h"

#include "gateway/cluster_manager.h"
#include "gateway/worker.h"
#include "routing/actions.h"

namespace gh::gateway {

void MirrorRequest::Start(Worker& worker, SnapshotPtr snapshot, uint32_t cluster_index,
                          RequestHead head, std::string body, uint64_t timeout_ms) {
  auto* mirror =
      new MirrorRequest(worker, std::move(snapshot), std::move(head), std::move(body), timeout_ms);
  worker.AdoptMirror(mirror);
  mirror->Begin(cluster_index);
}

MirrorRequest::MirrorRequest(Worker& worker, SnapshotPtr snapshot, RequestHead head,
                             std::string body, uint64_t timeout_ms)
    : worker_(worker),
      snapshot_(std::move(snapshot)),
      head_(std::move(head)),
      body_(std::move(body)),
      deadline_(worker.dispatcher().timers(), [this] { End(false); }) {
  deadline_.Arm(timeout_ms);
}

MirrorRequest::~MirrorRequest() {
  if (waiter_pool_ != nullptr) waiter_pool_->Cancel(waiter_);
  if (upstream_ != nullptr) upstream_->Reset();
  if (counted_) {
    --cluster_->active_requests;
    cluster_->RemoveActive(endpoint_);
  }
}

void MirrorRequest::Begin(uint32_t cluster_index) {
  cluster_ = worker_.clusters().Get(*snapshot_, cluster_index);
  if (cluster_ == nullptr || cluster_->active_requests >= cluster_->max_requests()) {
    End(false);
    return;
  }
  std::optional<size_t> endpoint = cluster_->PickEndpoint(worker_.random(), std::nullopt);
  if (!endpoint) {
    End(false);
    return;
  }
  endpoint_ = *endpoint;
  counted_ = true;
  ++cluster_->active_requests;
  cluster_->AddActive(endpoint_);
  const auto& tls = cluster_->tls();
  EndpointPool* pool =
      &cluster_->Pool(endpoint_, tls != nullptr ? tls->EffectiveSni(head_.authority) : "");
  EndpointPool::WaiterHandle handle;
  if (pool->Acquire(this, false, &handle)) {
    waiter_pool_ = pool;
    waiter_ = handle;
  }
}

void MirrorRequest::OnPoolReady(UpstreamStream& stream) {
  waiter_pool_ = nullptr;
  if (ended_) {
    stream.Reset();
    return;
  }
  upstream_ = &stream;
  head_.content_length = body_.size();
  stream.SendHeaders(head_, body_.empty());
  if (!body_.empty() && upstream_ != nullptr) upstream_->SendData(body_, true);
}

void MirrorRequest::OnPoolFailure(StreamResetReason, std::string_view) {
  waiter_pool_ = nullptr;
  End(false);
}

void MirrorRequest::OnResponseHeaders(ResponseHead&&, bool end_stream) {
  if (end_stream) {
    upstream_ = nullptr;
    End(true);
  }
}

void MirrorRequest::OnResponseData(std::string_view, bool end_stream) {
  if (end_stream) {
    upstream_ = nullptr;
    End(true);
  }
}

void MirrorRequest::OnResponseTrailers(http::HeaderMap&&) {
  upstream_ = nullptr;
  End(true);
}

void MirrorRequest::OnUpstreamReset(StreamResetReason, std::string_view) {
  upstream_ = nullptr;
  End(false);
}

void MirrorRequest::End(bool ok) {
  if (ended_) return;
  ended_ = true;
  deadline_.Cancel();
  worker_.OnMirrorDone(this, ok);
}

}  // namespace gh::gateway
