// One proxied request, protocol-neutral: pins the snapshot, sanitises and
// routes the request, answers locally (no route, direct response, redirect,
// errors with Envoy response flags) or forwards it through an upstream pool
// with timeouts and retries, streams both bodies with watermark backpressure
// in each direction, and writes the access log line and metrics at the end.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "gateway/byte_chain.h"
#include "gateway/downstream_info.h"
#include "gateway/http_stream.h"
#include "gateway/recycled.h"
#include "gateway/snapshot.h"
#include "gateway/timer_queue.h"
#include "gateway/upstream_pool.h"
#include "routing/model.h"

namespace gh::gateway {

class ClusterState;
class Worker;

class ProxyStream final : public StreamHandler,
                          public UpstreamHandler,
                          public PoolCallbacks,
                          public Recycled<ProxyStream> {
 public:
  ProxyStream(Worker& worker, DownstreamStream& downstream,
              std::shared_ptr<const DownstreamInfo> info);
  ~ProxyStream() override;

  // StreamHandler (from the downstream codec)
  void OnRequestHeaders(RequestHead&& head, bool end_stream) override;
  void OnRequestData(std::string_view data, bool end_stream) override;
  void OnRequestTrailers(http::HeaderMap&& trailers) override;
  void OnDownstreamWritable() override;
  void OnDownstreamReset(StreamResetReason reason) override;

  // UpstreamHandler (from the upstream codec)
  void OnResponseHeaders(ResponseHead&& head, bool end_stream) override;
  void OnResponseData(std::string_view data, bool end_stream) override;
  void OnResponseTrailers(http::HeaderMap&& trailers) override;
  void OnUpstreamWritable() override;
  void OnUpstreamReset(StreamResetReason reason, std::string_view detail) override;

  // PoolCallbacks
  void OnPoolReady(UpstreamStream& stream) override;
  void OnPoolFailure(StreamResetReason reason, std::string_view detail) override;
  UpstreamHandler& upstream_handler() override { return *this; }

 private:
  void Route();
  void Forward(const routing::Route& route, const routing::ForwardAction& action);
  // Fault injection (delay, then abort or forward); false when it answered.
  bool ApplyFault();
  void ContinueAfterFaultDelay();
  void AbortByFault(uint32_t status, std::string_view grpc_status);
  RequestHead BuildUpstreamHead(const routing::Destination* destination) const;
  void StartMirrors();
  void StartAttempt();
  void SendRequestToUpstream();
  void SendBufferedBody();
  void OnRequestEnd();
  void HandleUpstreamFailure(StreamResetReason reason, std::string_view detail);
  bool ShouldRetry(StreamResetReason reason, int status) const;
  // Would the route's policy retry this outcome, budget aside?
  bool RetriableOutcome(StreamResetReason reason, int status) const;
  void ScheduleRetry();
  void OnRouteTimeout();
  void OnPerTryTimeout();
  void OnIdleTimeout();
  void TouchIdle();
  void ReleaseUpstream(bool reset);
  void LocalReply(int status, std::string_view flag, std::string_view details,
                  std::string_view body, const http::HeaderMap* extra_headers = nullptr);
  // gRPC (grpc.h): deadline from grpc-timeout, errors as HTTP 200 +
  // grpc-status/grpc-message, the status kept for the log and metrics.
  void StartGrpcDeadline();
  void GrpcLocalReply(int status, std::string_view message);
  void CaptureGrpcStatus(const http::HeaderMap& fields);
  void AddFlag(std::string_view flag);
  void SetDownstreamReadDisabled(bool disabled);
  void SetUpstreamReadDisabled(bool disabled);
  void Finish();
  void Log();

  Worker& worker_;
  DownstreamStream* downstream_;
  std::shared_ptr<const DownstreamInfo> info_;
  SnapshotPtr snapshot_;
  const routing::Route* route_ = nullptr;
  const routing::Destination* destination_ = nullptr;

  RequestHead request_;
  std::string original_path_;
  bool request_end_ = false;
  std::optional<http::HeaderMap> request_trailers_;
  // Request body not yet acknowledged as unneeded: everything while a retry
  // may still replay it (bounded), otherwise only what waits for a
  // connection. `body_sent_` bytes of it went to the current upstream.
  ByteChain body_;
  size_t body_sent_ = 0;
  bool body_replayable_ = true;
  uint64_t bytes_received_ = 0;
  uint64_t bytes_sent_ = 0;

  // Upstream attempt.
  ClusterState* cluster_ = nullptr;
  std::optional<size_t> endpoint_;
  std::optional<size_t> previous_endpoint_;
  std::optional<size_t> last_endpoint_;
  bool last_attempt_reused_ = false;
  bool last_attempt_wrote_ = false;
  UpstreamStream* upstream_ = nullptr;
  bool waiting_for_pool_ = false;
  EndpointPool::WaiterHandle waiter_;
  EndpointPool* waiter_pool_ = nullptr;
  bool counted_active_ = false;
  uint32_t attempts_ = 0;
  uint32_t retries_left_ = 0;
  bool stale_retry_used_ = false;
  bool force_fresh_connection_ = false;
  std::string upstream_host_;
  std::string upstream_local_address_;
  std::string upstream_failure_reason_;
  uint64_t upstream_request_start_ms_ = 0;
  int64_t upstream_service_time_ms_ = -1;

  // Response.
  bool response_started_ = false;
  bool response_complete_ = false;
  int response_code_ = 0;
  std::string response_flags_;
  std::string response_code_details_;
  bool downstream_read_disabled_ = false;
  bool upstream_read_disabled_ = false;
  bool tunnel_ = false;

  // Route extras.
  std::vector<http::Header> cors_headers_;  // for an allowed actual request
  bool mirrors_pending_ = false;            // start once the body is complete
  uint32_t fault_abort_status_ = 0;
  std::string fault_abort_grpc_;

  bool grpc_ = false;
  std::string grpc_status_;  // "" unless gRPC

  Timer route_timer_;
  Timer per_try_timer_;
  Timer idle_timer_;
  Timer retry_timer_;
  Timer fault_timer_;
  uint64_t start_ms_ = 0;
  int64_t start_time_us_ = 0;
  bool finished_ = false;
};

}  // namespace gh::gateway
