#include "routing/retry.h"

#include <algorithm>

namespace gh::routing {

bool IsIdempotentMethod(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" || m == "DELETE";
}

namespace {

bool GrpcRetriable(const RetryPolicy& p, int code) {
  std::string_view name;
  switch (code) {
    case 1:
      name = "cancelled";
      break;
    case 4:
      name = "deadline-exceeded";
      break;
    case 8:
      name = "resource-exhausted";
      break;
    case 13:
      name = "internal";
      break;
    case 14:
      name = "unavailable";
      break;
    default:
      return false;
  }
  return std::find(p.grpc_statuses.begin(), p.grpc_statuses.end(), name) != p.grpc_statuses.end();
}

}  // namespace

bool ShouldRetry(const RetryPolicy& p, const AttemptResult& r, uint32_t retries_done,
                 std::string_view method) {
  if (retries_done >= p.attempts) return false;
  if (!p.retry_non_idempotent && !IsIdempotentMethod(method)) return false;
  switch (r.outcome) {
    case AttemptOutcome::kConnectFailure:
      return p.on_connect_failure || p.on_5xx || p.on_gateway_error || p.on_reset ||
             p.on_reset_before_request;
    case AttemptOutcome::kResetBeforeRequest:
      return p.on_reset || p.on_reset_before_request || p.on_5xx;
    case AttemptOutcome::kReset:
      return p.on_reset || p.on_5xx;
    case AttemptOutcome::kRefusedStream:
      return p.on_refused_stream || p.on_5xx;
    case AttemptOutcome::kPerTryTimeout:
      return p.on_5xx || p.on_gateway_error || p.on_reset;
    case AttemptOutcome::kResponse:
      break;
  }
  const uint32_t s = r.status;
  if (p.on_5xx && s >= 500 && s <= 599) return true;
  if (p.on_gateway_error && (s == 502 || s == 503 || s == 504)) return true;
  if (p.on_retriable_4xx && s == 409) return true;
  if (p.on_retriable_status_codes &&
      std::find(p.retriable_status_codes.begin(), p.retriable_status_codes.end(), s) !=
          p.retriable_status_codes.end())
    return true;
  if (r.grpc_status >= 0 && GrpcRetriable(p, r.grpc_status)) return true;
  return false;
}

Millis RetryBackoff(const RetryPolicy& p, uint32_t retry, Random& random) {
  const int64_t base = std::max<int64_t>(p.backoff_base.count(), 1);
  const int64_t max = std::max<int64_t>(p.backoff_max.count(), base);
  const uint32_t shift = std::min<uint32_t>(std::max<uint32_t>(retry, 1), 30);
  const int64_t bound = std::min<int64_t>(base * ((int64_t{1} << shift) - 1), max);
  return Millis(static_cast<int64_t>(random.Uniform(static_cast<uint64_t>(bound))));
}

}  // namespace gh::routing
