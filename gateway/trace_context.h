// Trace context propagation at the edge, pure: W3C `traceparent` /
// `tracestate` and Zipkin B3 (single `b3` and multi `x-b3-*`) pass through;
// a request without a valid `traceparent` gets one, continuing the B3 trace
// when the request carries one, otherwise a new trace. Gatehouse exports no
// spans, so it forwards a valid parent unchanged (W3C: a vendor that does
// not participate must not alter it); the sampled flag of a created trace is
// off unless asked for (Istio's default sampling is 0 %).
#pragma once

#include <string>
#include <string_view>

#include "base/http.h"
#include "base/random.h"

namespace gh::gateway {

struct TraceContextOptions {
  bool sample_new_traces = false;  // sampled flag of traces created here
};

struct TraceContext {
  std::string trace_id;   // 32 lowercase hex digits
  std::string parent_id;  // 16 lowercase hex digits
  bool sampled = false;
};

enum class TraceOrigin : uint8_t {
  kTraceparent,  // a valid traceparent arrived and was kept
  kB3,           // created from the request's B3 headers
  kCreated,      // a new trace
};

struct TraceDecision {
  TraceOrigin origin = TraceOrigin::kCreated;
  TraceContext context;
};

// Parses a W3C traceparent value (version 00 exactly 55 characters; later
// versions may append "-..."; version ff, all-zero ids and uppercase hex are
// invalid).
bool ParseTraceparent(std::string_view value, TraceContext* out);
std::string FormatTraceparent(const TraceContext& context);
// B3 single header ("traceid-spanid[-sampled[-parentspanid]]"; a 64-bit
// trace id is widened to 128 bits with leading zeros). A bare sampling
// decision ("0", "1", "d") carries no ids and yields false.
bool ParseB3Single(std::string_view value, TraceContext* out);
// x-b3-traceid / x-b3-spanid / x-b3-sampled / x-b3-flags.
bool ParseB3Multi(const http::HeaderMap& headers, TraceContext* out);

// Keeps or creates the request's trace context in `headers` (regular
// request fields, lowercase names). Invalid or duplicated `traceparent`
// fields are replaced, and `tracestate` goes with them (it means nothing
// without its parent). B3 fields are left as they came.
TraceDecision PropagateTraceContext(http::HeaderMap& headers, Random& random,
                                    const TraceContextOptions& options = {});

}  // namespace gh::gateway
