// CORS (istio-semantics §2.3 corsPolicy): recognise preflights, match the
// Origin, and produce the response headers. Pure.
#pragma once

#include <string_view>
#include <vector>

#include "base/http.h"
#include "routing/model.h"

namespace gh::routing {

// OPTIONS with Origin and Access-Control-Request-Method.
bool IsCorsPreflight(const RequestView& request);

// The request's Origin header, or nullptr.
const std::string* RequestOrigin(const RequestView& request);

// Does any allow_origins matcher accept `origin`?
bool CorsOriginAllowed(const CorsPolicy& policy, std::string_view origin);

struct PreflightDecision {
  enum class Action : uint8_t {
    kRespond,  // answer 200 locally with `headers`
    kForward,  // origin not allowed, unmatched_preflights FORWARD: route it normally
  };
  Action action = Action::kRespond;
  std::vector<http::Header> headers;  // empty for a non-matching IGNORE answer
};

// For a preflight: allowed origin -> 200 with the CORS headers; otherwise
// FORWARD (default) sends it upstream, IGNORE answers 200 without them.
PreflightDecision HandlePreflight(const CorsPolicy& policy, std::string_view origin);

// Headers added to the response of an actual (non-preflight) request from an
// allowed origin: allow-origin (echoed), allow-credentials, expose-headers.
// Empty when the origin is not allowed.
std::vector<http::Header> CorsResponseHeaders(const CorsPolicy& policy, std::string_view origin);

}  // namespace gh::routing
