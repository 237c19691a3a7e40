// Pure helpers the data plane calls to execute a matched route's actions:
// redirects, rewrites, header edits, weighted destinations, faults, mirrors.
// Retries are in routing/retry.h, CORS in routing/cors.h.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/http.h"
#include "base/random.h"
#include "routing/model.h"

namespace gh::routing {

// ---------------------------------------------------------- redirects ---

// The Location of a redirect (istio-semantics §2.3): `uri` replaces the whole
// path, `prefix_rewrite` only the route's matched prefix; the query string is
// kept unless the new uri has one. Host from `authority` or the request; port
// from `port`, `derive_port` (FROM_PROTOCOL_DEFAULT: none; FROM_REQUEST_PORT:
// the listener port), dropped when the scheme changes, else the request's;
// :80 for http and :443 for https are left out. Status: RedirectAction::code.
std::string RedirectLocation(const RedirectAction& redirect, const Route& route,
                             const RequestView& request);

// ----------------------------------------------------------- rewrites ---

// The upstream :path after the route's `rewrite` (query kept), or nullopt
// when the route does not rewrite the path. `rewrite.uri` replaces the
// matched prefix (the whole path for exact and regex matches);
// `uri_regex_rewrite` substitutes every match with \1-style groups.
std::optional<std::string> RewritePath(const Route& route, std::string_view path);

// The upstream authority, or nullopt when neither the destination (its
// `:authority`/`host` header op) nor the route rewrites it.
std::optional<std::string> RewriteAuthority(const Route& route, const Destination* destination);

// ------------------------------------------------------------ headers ---

// remove, then set (overwrite), then add (another field) - each list in
// sorted key order.
void ApplyHeaderOps(const HeaderOps& ops, http::HeaderMap& headers);
// Route-level, then destination-level ops, so the destination's `set` wins.
void ApplyRequestHeaderOps(const Route& route, const Destination* destination,
                           http::HeaderMap& headers);
void ApplyResponseHeaderOps(const Route& route, const Destination* destination,
                            http::HeaderMap& headers);
// Whether the route or destination changes the request on its way upstream
// (path or authority rewrite, request header ops). When not, the data plane
// forwards the request head as it is instead of building an edited copy.
bool EditsUpstreamRequest(const Route& route, const Destination* destination);

// ------------------------------------------------- random-driven picks ---

// True with probability percent/100 (percent in [0, 100], 6 decimal places).
bool PercentHit(double percent, Random& random);

// A destination chosen with probability weight / total_weight; null when
// the action has none.
const Destination* PickDestination(const ForwardAction& action, Random& random);

struct FaultDecision {
  Millis delay{0};                     // > 0: delay the request (flag DI)
  uint32_t abort_status = 0;           // > 0: answer locally (flag FI)
  std::string_view abort_grpc_status;  // non-empty: gRPC abort with this status
  bool aborted() const { return abort_status != 0 || !abort_grpc_status.empty(); }
};
// Each of delay and abort fires independently with its own percentage.
FaultDecision DecideFault(const Fault& fault, Random& random);

// gRPC status name -> code ("UNAVAILABLE" -> 14); -1 when unknown.
int GrpcStatusCode(std::string_view name);

// Fire a copy of this request to the mirror?
inline bool ShouldMirror(const Mirror& mirror, Random& random) {
  return PercentHit(mirror.percent, random);
}
// Envoy appends "-shadow" to the mirrored host: "a.com:8080" -> "a.com-shadow:8080".
std::string ShadowAuthority(std::string_view authority);

}  // namespace gh::routing
