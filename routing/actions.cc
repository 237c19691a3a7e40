#include "routing/actions.h"

#include <re2/re2.h>

#include "routing/host.h"
#include "routing/matchers.h"

namespace gh::routing {

std::string RedirectLocation(const RedirectAction& redirect, const Route& route,
                             const RequestView& request) {
  const std::string scheme(redirect.scheme.value_or(std::string(request.scheme)));
  std::string host;
  int port = -1;  // -1: none (an int, not optional: GCC 12 warns falsely)
  auto port_of = [](std::string_view authority) {
    const auto p = AuthorityPort(authority);
    return p ? static_cast<int>(*p) : -1;
  };
  if (redirect.authority) {
    host = std::string(StripPort(*redirect.authority));
    port = port_of(*redirect.authority);
  } else {
    host = std::string(StripPort(request.authority));
    port = port_of(request.authority);
    // A scheme change without a port says nothing about the old port.
    if (redirect.scheme && *redirect.scheme != request.scheme) port = -1;
  }
  if (redirect.port) {
    port = *redirect.port;
  } else if (redirect.derive_port == RedirectAction::DerivePort::kFromProtocolDefault) {
    port = -1;
  } else if (redirect.derive_port == RedirectAction::DerivePort::kFromRequestPort) {
    port = request.port != 0 ? request.port : port_of(request.authority);
  }
  if ((scheme == "http" && port == 80) || (scheme == "https" && port == 443)) port = -1;

  const std::string_view path_only = PathOnly(request.path);
  const size_t q = request.path.find('?');
  const std::string_view query =
      q == std::string_view::npos ? std::string_view() : request.path.substr(q);
  std::string path;
  if (redirect.uri) {
    path = *redirect.uri;
    if (path.find('?') == std::string::npos) path.append(query);
  } else if (redirect.prefix_rewrite && route.prefix_match &&
             path_only.size() >= route.matched_prefix.size()) {
    path = *redirect.prefix_rewrite;
    path.append(path_only.substr(route.matched_prefix.size()));
    path.append(query);
  } else {
    path = std::string(request.path);
  }
  if (path.empty() || path.front() != '/') path.insert(path.begin(), '/');

  std::string location = scheme + "://" + host;
  if (port >= 0) {
    location.push_back(':');
    location.append(std::to_string(port));
  }
  location += path;
  return location;
}

std::optional<std::string> RewritePath(const Route& route, std::string_view path) {
  const Rewrite& rw = route.rewrite;
  if (!rw.uri && !rw.uri_regex) return std::nullopt;
  const size_t q = path.find('?');
  const std::string_view path_only = path.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? std::string_view() : path.substr(q);
  std::string out;
  if (rw.uri_regex) {
    out = std::string(path_only);
    RE2::GlobalReplace(&out, *rw.uri_regex, rw.uri_regex_substitution);
  } else if (route.prefix_match && path_only.size() >= route.matched_prefix.size()) {
    out = *rw.uri;
    out.append(path_only.substr(route.matched_prefix.size()));
  } else {
    out = *rw.uri;
  }
  // Envoy: a prefix rewrite that empties the path yields "/".
  if (out.empty()) out.assign(1, '/');
  out.append(query);
  return out;
}

std::optional<std::string> RewriteAuthority(const Route& route, const Destination* destination) {
  if (destination != nullptr && destination->authority) return destination->authority;
  return route.rewrite.authority;
}

void ApplyHeaderOps(const HeaderOps& ops, http::HeaderMap& headers) {
  for (const std::string& name : ops.remove)
    headers.Remove(name);
  for (const http::Header& h : ops.set)
    headers.Set(h.name, h.value);
  for (const http::Header& h : ops.add)
    headers.Add(h.name, h.value);
}

void ApplyRequestHeaderOps(const Route& route, const Destination* destination,
                           http::HeaderMap& headers) {
  ApplyHeaderOps(route.request_headers, headers);
  if (destination != nullptr) ApplyHeaderOps(destination->request_headers, headers);
}

bool EditsUpstreamRequest(const Route& route, const Destination* destination) {
  const Rewrite& rw = route.rewrite;
  if (rw.uri || rw.uri_regex || rw.authority || !route.request_headers.empty()) return true;
  return destination != nullptr &&
         (destination->authority || !destination->request_headers.empty());
}

void ApplyResponseHeaderOps(const Route& route, const Destination* destination,
                            http::HeaderMap& headers) {
  ApplyHeaderOps(route.response_headers, headers);
  if (destination != nullptr) ApplyHeaderOps(destination->response_headers, headers);
}

bool PercentHit(double percent, Random& random) {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  constexpr uint64_t kScale = 100'000'000;  // percent with 6 decimal places
  return random.Uniform(kScale) < static_cast<uint64_t>(percent * 1'000'000);
}

const Destination* PickDestination(const ForwardAction& action, Random& random) {
  if (action.destinations.empty()) return nullptr;
  if (action.destinations.size() == 1 || action.total_weight == 0)
    return &action.destinations.front();
  uint64_t r = random.Uniform(action.total_weight);
  for (const Destination& d : action.destinations) {
    if (r < d.weight) return &d;
    r -= d.weight;
  }
  return &action.destinations.back();
}

FaultDecision DecideFault(const Fault& fault, Random& random) {
  FaultDecision d;
  if (fault.delay.count() > 0 && PercentHit(fault.delay_percent, random)) d.delay = fault.delay;
  if ((fault.abort_status != 0 || !fault.abort_grpc_status.empty()) &&
      PercentHit(fault.abort_percent, random)) {
    d.abort_status = fault.abort_status;
    d.abort_grpc_status = fault.abort_grpc_status;
  }
  return d;
}

int GrpcStatusCode(std::string_view name) {
  static constexpr std::string_view kNames[] = {"OK",
                                                "CANCELLED",
                                                "UNKNOWN",
                                                "INVALID_ARGUMENT",
                                                "DEADLINE_EXCEEDED",
                                                "NOT_FOUND",
                                                "ALREADY_EXISTS",
                                                "PERMISSION_DENIED",
                                                "RESOURCE_EXHAUSTED",
                                                "FAILED_PRECONDITION",
                                                "ABORTED",
                                                "OUT_OF_RANGE",
                                                "UNIMPLEMENTED",
                                                "INTERNAL",
                                                "UNAVAILABLE",
                                                "DATA_LOSS",
                                                "UNAUTHENTICATED"};
  for (int i = 0; i < static_cast<int>(std::size(kNames)); ++i) {
    if (kNames[i] == name) return i;
  }
  return -1;
}

std::string ShadowAuthority(std::string_view authority) {
  const std::string_view host = StripPort(authority);
  std::string out(host);
  out += "-shadow";
  out.append(authority.substr(host.size()));
  return out;
}

}  // namespace gh::routing
