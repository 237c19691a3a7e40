#include "routing/cors.h"

#include "routing/matchers.h"

namespace gh::routing {

const std::string* RequestOrigin(const RequestView& request) {
  return request.headers ? request.headers->Get("origin") : nullptr;
}

bool IsCorsPreflight(const RequestView& request) {
  return request.method == "OPTIONS" && request.headers != nullptr &&
         request.headers->Has("origin") && request.headers->Has("access-control-request-method");
}

bool CorsOriginAllowed(const CorsPolicy& policy, std::string_view origin) {
  for (const auto& m : policy.allow_origins) {
    if (m->Matches(origin)) return true;
  }
  return false;
}

PreflightDecision HandlePreflight(const CorsPolicy& policy, std::string_view origin) {
  PreflightDecision d;
  if (!CorsOriginAllowed(policy, origin)) {
    d.action = policy.forward_unmatched_preflights ? PreflightDecision::Action::kForward
                                                   : PreflightDecision::Action::kRespond;
    return d;
  }
  d.headers.push_back({"access-control-allow-origin", std::string(origin)});
  if (!policy.allow_methods.empty())
    d.headers.push_back({"access-control-allow-methods", policy.allow_methods});
  if (!policy.allow_headers.empty())
    d.headers.push_back({"access-control-allow-headers", policy.allow_headers});
  if (!policy.max_age.empty()) d.headers.push_back({"access-control-max-age", policy.max_age});
  if (policy.allow_credentials.value_or(false))
    d.headers.push_back({"access-control-allow-credentials", "true"});
  return d;
}

std::vector<http::Header> CorsResponseHeaders(const CorsPolicy& policy, std::string_view origin) {
  std::vector<http::Header> out;
  if (!CorsOriginAllowed(policy, origin)) return out;
  out.push_back({"access-control-allow-origin", std::string(origin)});
  if (policy.allow_credentials.value_or(false))
    out.push_back({"access-control-allow-credentials", "true"});
  if (!policy.expose_headers.empty())
    out.push_back({"access-control-expose-headers", policy.expose_headers});
  return out;
}

}  // namespace gh::routing
