// ProxyStream when things go wrong: upstream resets and connect failures,
// retries with backoff, the route / per-try / idle timeouts, and injected
// faults. Kept apart from the request and response flow in proxy_stream.cc.
#include "gateway/proxy_stream.h"

#include <chrono>

#include "gateway/grpc.h"
#include "gateway/worker.h"
#include "routing/actions.h"
#include "routing/retry.h"

namespace gh::gateway {

bool ProxyStream::ApplyFault() {
  const routing::FaultDecision decision = routing::DecideFault(*route_->fault, worker_.random());
  fault_abort_status_ = decision.abort_status;
  fault_abort_grpc_ = std::string(decision.abort_grpc_status);
  if (decision.delay.count() > 0) {
    AddFlag("DI");
    fault_timer_.Arm(static_cast<uint64_t>(decision.delay.count()));
    return true;
  }
  if (decision.aborted()) {
    AbortByFault(fault_abort_status_, fault_abort_grpc_);
    return false;
  }
  return true;
}

void ProxyStream::ContinueAfterFaultDelay() {
  if (finished_) return;
  if (fault_abort_status_ != 0 || !fault_abort_grpc_.empty()) {
    AbortByFault(fault_abort_status_, fault_abort_grpc_);
    return;
  }
  if (request_.expect_continue && downstream_ != nullptr) downstream_->Send100Continue();
  StartAttempt();
}

void ProxyStream::AbortByFault(uint32_t status, std::string_view grpc_status) {
  if (!grpc_status.empty()) {
    // gRPC aborts answer 200 with the status in grpc-status (trailers-only).
    http::HeaderMap extra;
    extra.Add("content-type", "application/grpc");
    extra.Add("grpc-status", std::to_string(routing::GrpcStatusCode(grpc_status)));
    extra.Add("grpc-message", "fault filter abort");
    LocalReply(200, "FI", "fault_filter_abort", "", &extra);
    return;
  }
  LocalReply(static_cast<int>(status), "FI", "fault_filter_abort", "fault filter abort");
}

void ProxyStream::OnUpstreamReset(StreamResetReason reason, std::string_view detail) {
  if (upstream_ != nullptr) {
    last_attempt_reused_ = upstream_->reused_connection();
    last_attempt_wrote_ = upstream_->request_bytes_written();
  }
  upstream_ = nullptr;
  upstream_read_disabled_ = false;
  if (finished_) return;
  per_try_timer_.Cancel();
  ReleaseUpstream(false);
  if (response_started_) {
    // Too late for a local reply: cut the downstream too.
    AddFlag(tunnel_ ? "UC" : "UR");
    upstream_failure_reason_ = std::string(detail);
    response_code_details_ = "upstream_reset_after_response_started";
    if (downstream_ != nullptr) downstream_->Reset();
    Finish();
    return;
  }
  HandleUpstreamFailure(reason, detail);
}

void ProxyStream::OnPoolFailure(StreamResetReason reason, std::string_view detail) {
  waiting_for_pool_ = false;
  waiter_pool_ = nullptr;
  if (finished_) return;
  ReleaseUpstream(false);
  HandleUpstreamFailure(reason, detail);
}

void ProxyStream::HandleUpstreamFailure(StreamResetReason reason, std::string_view detail) {
  upstream_failure_reason_ = std::string(detail);
  // The keep-alive race: the origin closed a reused connection as we sent
  // on it. One retry on a fresh connection when nothing of the request
  // reached the socket, or when repeating it is harmless (idempotent). A
  // stream an HTTP/2 upstream refused (REFUSED_STREAM, or above its GOAWAY's
  // last stream id) was not processed at all (RFC 9113 8.7): same retry.
  const bool keep_alive_race =
      reason == StreamResetReason::kConnectionTermination && last_attempt_reused_ &&
      (!last_attempt_wrote_ || routing::IsIdempotentMethod(request_.method));
  const bool refused = reason == StreamResetReason::kRefusedStream;
  if ((keep_alive_race || refused) && !stale_retry_used_ && body_replayable_ &&
      !response_started_) {
    stale_retry_used_ = true;
    force_fresh_connection_ = true;
    StartAttempt();
    return;
  }
  if (ShouldRetry(reason, 0)) {
    ScheduleRetry();
    return;
  }
  // Retried, and giving up now: the last attempt's flag, then URX.
  const std::string_view urx = attempts_ > 1 ? ",URX" : "";
  switch (reason) {
    case StreamResetReason::kConnectionFailure:
      LocalReply(503, std::string("UF").append(urx),
                 "upstream_reset_before_response_started{connection_failure}",
                 "upstream connect error or disconnect/reset before headers. reset reason: "
                 "connection failure");
      return;
    case StreamResetReason::kOverflow:
      LocalReply(503, std::string("UO").append(urx), "upstream_overflow", "upstream overflow");
      return;
    case StreamResetReason::kProtocolError:
      LocalReply(502, std::string("UPE").append(urx),
                 "upstream_reset_before_response_started{protocol_error}",
                 "upstream protocol error");
      return;
    case StreamResetReason::kRefusedStream:
      LocalReply(503, std::string("UR").append(urx),
                 "upstream_reset_before_response_started{refused_stream}",
                 "upstream refused stream");
      return;
    default:
      LocalReply(503, std::string("UC").append(urx),
                 "upstream_reset_before_response_started{connection_termination}",
                 "upstream connect error or disconnect/reset before headers. reset reason: "
                 "connection termination");
      return;
  }
}

bool ProxyStream::ShouldRetry(StreamResetReason reason, int status) const {
  return retries_left_ > 0 && RetriableOutcome(reason, status);
}

bool ProxyStream::RetriableOutcome(StreamResetReason reason, int status) const {
  if (route_ == nullptr || response_started_ || finished_ || !body_replayable_) return false;
  routing::AttemptResult result;
  if (status != 0) {
    result.outcome = routing::AttemptOutcome::kResponse;
    result.status = static_cast<uint32_t>(status);
  } else {
    switch (reason) {
      case StreamResetReason::kConnectionFailure:
        result.outcome = routing::AttemptOutcome::kConnectFailure;
        break;
      case StreamResetReason::kRefusedStream:
        result.outcome = routing::AttemptOutcome::kRefusedStream;
        break;
      case StreamResetReason::kOverflow:
        return false;
      case StreamResetReason::kLocalReset:  // our per-try timer fired
        result.outcome = routing::AttemptOutcome::kPerTryTimeout;
        break;
      default:
        result.outcome = request_end_ && body_sent_ == body_.size()
                             ? routing::AttemptOutcome::kReset
                             : routing::AttemptOutcome::kResetBeforeRequest;
        break;
    }
  }
  // The retry budget is ours (retries_left_); ask only whether the outcome
  // and method qualify.
  return routing::ShouldRetry(route_->retries, result, 0, request_.method);
}

void ProxyStream::ScheduleRetry() {
  --retries_left_;
  previous_endpoint_ = last_endpoint_;
  const uint32_t retry = route_->retries.attempts - retries_left_;
  const auto backoff = routing::RetryBackoff(route_->retries, retry, worker_.random());
  retry_timer_.Arm(static_cast<uint64_t>(backoff.count()));
}

void ProxyStream::OnRouteTimeout() {
  if (finished_) return;
  AddFlag("UT");
  upstream_failure_reason_ = "response_timeout";
  if (!response_started_) {
    ReleaseUpstream(true);
    LocalReply(504, "", "response_timeout", "upstream request timeout");
    return;
  }
  response_code_details_ = "response_timeout";
  ReleaseUpstream(true);
  if (downstream_ != nullptr) downstream_->Reset();
  Finish();
}

void ProxyStream::OnPerTryTimeout() {
  if (finished_ || response_started_) return;
  ReleaseUpstream(true);
  upstream_failure_reason_ = "per_try_timeout";
  if (ShouldRetry(StreamResetReason::kLocalReset, 0)) {
    ScheduleRetry();
    return;
  }
  AddFlag("UT");
  LocalReply(504, "", "upstream_per_try_timeout", "upstream request timeout");
}

void ProxyStream::OnIdleTimeout() {
  if (finished_) return;
  AddFlag("SI");
  if (!response_started_) {
    ReleaseUpstream(true);
    LocalReply(request_end_ ? 504 : 408, "", "stream_idle_timeout", "stream timeout");
    return;
  }
  response_code_details_ = "stream_idle_timeout";
  ReleaseUpstream(true);
  if (downstream_ != nullptr) downstream_->Reset();
  Finish();
}

void ProxyStream::TouchIdle() {
  const int64_t idle = snapshot_ ? snapshot_->config->proxy.stream_idle_timeout.count() : 0;
  if (idle <= 0) return;
  // Re-arming on every chunk is an O(log n) set update; skip it while the
  // deadline is still far (a quarter of the timeout of slack is fine).
  const uint64_t now = worker_.dispatcher().Now();
  const uint64_t wanted = now + static_cast<uint64_t>(idle);
  if (idle_timer_.armed() && idle_timer_.deadline() + static_cast<uint64_t>(idle) / 4 > wanted) {
    return;
  }
  idle_timer_.Arm(static_cast<uint64_t>(idle));
}

}  // namespace gh::gateway
