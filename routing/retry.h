// Retry decisions and backoff for one request (istio-semantics §2.4). Pure:
// the data plane reports what happened to an attempt, this says whether to
// try again and how long to wait.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/random.h"
#include "routing/model.h"

namespace gh::routing {

enum class AttemptOutcome : uint8_t {
  kResponse,            // the upstream answered: see `status` / `grpc_status`
  kConnectFailure,      // could not connect (refused, connect timeout, TLS failure)
  kResetBeforeRequest,  // connection reset before the request was fully sent
  kReset,               // reset / disconnect after the request was sent
  kRefusedStream,       // HTTP/2 REFUSED_STREAM: the upstream did not process it
  kPerTryTimeout,       // per_try_timeout elapsed without a response
};

struct AttemptResult {
  AttemptOutcome outcome = AttemptOutcome::kResponse;
  uint32_t status = 0;   // upstream HTTP status (kResponse only)
  int grpc_status = -1;  // from grpc-status in headers or trailers, -1 if none
};

// GET, HEAD, OPTIONS, TRACE, PUT, DELETE (RFC 9110 §9.2.2).
bool IsIdempotentMethod(std::string_view method);

// Should the request be tried again? `retries_done` counts retries already
// made (0 after the first attempt). Status codes only match real upstream
// responses, never local ones; non-idempotent methods are only retried when
// the policy allows it.
bool ShouldRetry(const RetryPolicy& policy, const AttemptResult& result, uint32_t retries_done,
                 std::string_view method);

// Wait before retry number `retry` (1-based): full jitter over an exponential
// bound, random in [0, min(base * (2^retry - 1), max)).
Millis RetryBackoff(const RetryPolicy& policy, uint32_t retry, Random& random);

}  // namespace gh::routing
