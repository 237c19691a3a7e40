#include "control/explain.h"

#include <sstream>

#include "base/strings.h"
#include "routing/actions.h"
#include "routing/host.h"
#include "routing/http_route_table.h"
#include "routing/path_normalizer.h"
#include "routing/server_select.h"

namespace gh::control {
namespace {

using routing::ListenerKind;

const char* KindText(ListenerKind k) {
  switch (k) {
    case ListenerKind::kHttp:
      return "http";
    case ListenerKind::kHttps:
      return "https";
    case ListenerKind::kTlsTerminated:
      return "tls_terminated";
    case ListenerKind::kTlsPassthrough:
      return "tls_passthrough";
    case ListenerKind::kTcp:
      return "tcp";
  }
  return "";
}

std::string Ms(routing::Millis ms) {
  if (ms.count() == 0) return "none";
  if (ms.count() % 1000 == 0) return std::to_string(ms.count() / 1000) + "s";
  return std::to_string(ms.count()) + "ms";
}

std::string RetrySummary(const routing::RetryPolicy& r) {
  if (r.attempts == 0) return "off";
  std::string on;
  auto add = [&](bool b, const char* name) {
    if (b) on += (on.empty() ? "" : ",") + std::string(name);
  };
  add(r.on_5xx, "5xx");
  add(r.on_gateway_error, "gateway-error");
  add(r.on_reset, "reset");
  add(r.on_reset_before_request, "reset-before-request");
  add(r.on_connect_failure, "connect-failure");
  add(r.on_retriable_4xx, "retriable-4xx");
  add(r.on_refused_stream, "refused-stream");
  for (uint32_t c : r.retriable_status_codes)
    on += (on.empty() ? "" : ",") + std::to_string(c);
  for (const std::string& g : r.grpc_statuses)
    on += (on.empty() ? "" : ",") + g;
  std::string s = std::to_string(r.attempts) + " on " + on;
  if (r.per_try_timeout.count() > 0) s += ", per try " + Ms(r.per_try_timeout);
  if (!r.retry_non_idempotent) s += ", idempotent methods only";
  return s;
}

}  // namespace

std::string DescribeMatch(const routing::HttpMatch& m) {
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : " && ") + s; };
  if (m.uri) add("uri " + m.uri->Describe());
  if (m.scheme) add("scheme " + m.scheme->Describe());
  if (m.method) add("method " + m.method->Describe());
  if (m.authority) add("authority " + m.authority->Describe());
  for (const auto& h : m.headers)
    add(std::string(h.negate ? "without_headers " : "header ") + "\"" + h.name + "\" " +
        h.matcher->Describe());
  for (const auto& q : m.query_params)
    add("query_param \"" + q.name + "\" " + q.matcher->Describe());
  return out.empty() ? "any request" : out;
}

std::string DescribeAction(const routing::Route& route, const routing::Config& config) {
  std::ostringstream os;
  if (const auto* fwd = std::get_if<routing::ForwardAction>(&route.action)) {
    os << "route to";
    for (const auto& d : fwd->destinations) {
      os << " " << (d.cluster < config.clusters.size() ? config.clusters[d.cluster].name : "?")
         << " (weight " << d.weight << ")";
    }
    if (route.rewrite.uri) os << ", rewrite uri " << *route.rewrite.uri;
    if (route.rewrite.uri_regex)
      os << ", rewrite regex -> " << route.rewrite.uri_regex_substitution;
    if (route.rewrite.authority) os << ", authority " << *route.rewrite.authority;
    os << ", timeout " << Ms(route.timeout) << ", retries " << RetrySummary(route.retries);
    if (route.fault) os << ", fault";
    for (const auto& m : route.mirrors)
      os << ", mirror " << config.clusters[m.cluster].name << " " << m.percent << "%";
    if (route.cors) os << ", cors";
  } else if (const auto* r = std::get_if<routing::RedirectAction>(&route.action)) {
    os << "redirect " << r->code;
    if (r->scheme) os << " scheme " << *r->scheme;
    if (r->authority) os << " authority " << *r->authority;
    if (r->port) os << " port " << *r->port;
    if (r->uri) os << " uri " << *r->uri;
    if (r->prefix_rewrite) os << " prefix_rewrite " << *r->prefix_rewrite;
  } else if (const auto* d = std::get_if<routing::DirectResponseAction>(&route.action)) {
    os << "direct_response " << d->status << " (" << d->body.size() << " bytes)";
  }
  if (!route.request_headers.empty() || !route.response_headers.empty()) os << ", header ops";
  return os.str();
}

namespace {

bool ParseUrl(const std::string& url, ExplainResult& r) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    r.error = "the request URL must be absolute, e.g. https://example.com/path";
    return false;
  }
  r.scheme = AsciiLowered(url.substr(0, scheme_end));
  if (r.scheme != "http" && r.scheme != "https") {
    r.error = "the URL scheme must be http or https";
    return false;
  }
  const std::string rest = url.substr(scheme_end + 3);
  const size_t slash = rest.find_first_of("/?");
  r.authority = rest.substr(0, slash);
  r.path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (!r.path.empty() && r.path[0] == '?') r.path.insert(r.path.begin(), '/');
  if (r.authority.empty()) {
    r.error = "the URL has no host";
    return false;
  }
  return true;
}

void ResolveDestinations(const routing::Config& config, const routing::Route& route,
                         const std::vector<routing::Destination>& dests, uint64_t total,
                         ExplainResult& r) {
  for (const routing::Destination& d : dests) {
    DestinationTrace t;
    if (d.cluster < config.clusters.size()) {
      const routing::Cluster& c = config.clusters[d.cluster];
      t.cluster = c.name;
      t.host = c.host;
      t.port = c.port;
      t.subset = c.subset;
    }
    t.weight = d.weight;
    t.percent = total == 0 ? 0 : 100.0 * d.weight / static_cast<double>(total);
    t.authority = routing::RewriteAuthority(route, &d).value_or(r.authority);
    r.destinations.push_back(std::move(t));
  }
}

void ExplainTcp(const routing::Config& config, const routing::Listener& l,
                const ExplainRequest& req, ExplainResult& r) {
  const routing::TcpRoute* route = nullptr;
  if (l.tcp_routes) {
    route = l.kind == ListenerKind::kTlsPassthrough
                ? l.tcp_routes->MatchTls(r.sni, req.destination_ip)
                : l.tcp_routes->MatchTcp(req.destination_ip);
  }
  if (route == nullptr) {
    r.outcome = "no_tcp_route";
    return;
  }
  r.outcome = "tcp_route";
  r.tcp_route = route;
  routing::Route dummy;
  ResolveDestinations(config, dummy, route->destinations, route->total_weight, r);
}

}  // namespace

ExplainResult Explain(const routing::Config& config, const ExplainRequest& req) {
  ExplainResult r;
  r.method = req.method;
  if (!ParseUrl(req.url, r)) {
    r.outcome = "invalid_request";
    return r;
  }
  r.port = req.port.value_or(
      routing::AuthorityPort(r.authority).value_or(r.scheme == "https" ? 443 : 80));
  r.sni = req.sni;
  if (r.sni.empty() && r.scheme == "https") r.sni = AsciiLowered(routing::StripPort(r.authority));

  for (const routing::Listener& l : config.listeners) {
    if (l.port == r.port) {
      r.listener = &l;
      break;
    }
  }
  if (r.listener == nullptr) {
    r.outcome = "no_listener";
    return r;
  }
  const routing::Listener& l = *r.listener;
  const bool tls_listener = l.kind != ListenerKind::kHttp && l.kind != ListenerKind::kTcp;
  r.server = tls_listener ? routing::SelectServerBySni(l, r.sni)
                          : (l.servers.empty() ? nullptr : &l.servers[0]);
  if (l.kind == ListenerKind::kTcp || l.kind == ListenerKind::kTlsTerminated ||
      l.kind == ListenerKind::kTlsPassthrough) {
    ExplainTcp(config, l, req, r);
    return r;
  }

  const auto normalized = routing::NormalizePath(r.path, config.proxy.path_normalization);
  r.normalized_path = normalized.path;
  if (normalized.verdict == routing::NormalizedPath::Verdict::kReject) {
    r.outcome = "bad_request";
    r.status = 400;
    r.error = normalized.reason;
    return r;
  }
  if (normalized.verdict == routing::NormalizedPath::Verdict::kRedirect) {
    r.outcome = "path_redirect";
    r.status = 307;
    r.location = normalized.path;
    return r;
  }
  if (r.server == nullptr || !r.server->http_routes) {
    r.outcome = "not_found";
    r.status = 404;
    return r;
  }
  if (l.kind == ListenerKind::kHttps && routing::OtherServerCovers(l, r.server, r.authority)) {
    r.outcome = "misdirected";
    r.status = 421;
    return r;
  }

  routing::RequestView view;
  view.method = r.method;
  view.scheme = r.scheme;
  view.authority = r.authority;
  view.path = r.normalized_path;
  view.headers = &req.headers;
  view.port = r.port;
  view.source_ip = req.source_ip;

  const auto* table =
      dynamic_cast<const routing::CompiledHttpRouteTable*>(r.server->http_routes.get());
  const routing::VirtualHost* vh = table ? table->SelectVirtualHost(r.authority) : nullptr;
  if (vh == nullptr) {
    r.outcome = "not_found";
    r.status = 404;
    return r;
  }
  r.virtual_host = vh->name;
  for (const routing::RouteEntry& e : vh->routes) {
    RouteTrace t;
    t.virtual_service = e.route->virtual_service;
    t.rule_index = e.route->rule_index;
    t.match_index = e.route->match_index;
    t.name = e.route->name;
    t.match_name = e.route->match_name;
    const auto failure = routing::FirstFailure(e.match, view);
    t.matched = failure.matched();
    if (!t.matched) t.failed = routing::DescribeFailure(e.match, failure);
    r.trace.push_back(std::move(t));
    if (failure.matched()) {
      r.route = e.route.get();
      break;
    }
  }
  if (r.route == nullptr) {
    r.outcome = "not_found";
    r.status = 404;
    return r;
  }
  const routing::Route& route = *r.route;
  if (const auto* fwd = std::get_if<routing::ForwardAction>(&route.action)) {
    r.outcome = "route";
    ResolveDestinations(config, route, fwd->destinations, fwd->total_weight, r);
    r.upstream_path = routing::RewritePath(route, r.normalized_path).value_or(r.normalized_path);
  } else if (const auto* redirect = std::get_if<routing::RedirectAction>(&route.action)) {
    r.outcome = "redirect";
    r.status = redirect->code;
    r.location = routing::RedirectLocation(*redirect, route, view);
  } else if (const auto* direct = std::get_if<routing::DirectResponseAction>(&route.action)) {
    r.outcome = "direct_response";
    r.status = direct->status;
    r.body = direct->body;
  }
  return r;
}

std::string ExplainText(const ExplainResult& r) {
  std::ostringstream os;
  if (r.outcome == "invalid_request") {
    os << "error: " << r.error << "\n";
    return os.str();
  }
  os << "request:       " << r.method << " " << r.scheme << "://" << r.authority << r.path << "\n";
  if (!r.normalized_path.empty() && r.normalized_path != r.path)
    os << "normalized:    " << r.normalized_path << "\n";
  if (r.listener == nullptr) {
    os << "listener:      none on port " << r.port << "\n";
    os << "outcome:       no_listener (connection refused)\n";
    return os.str();
  }
  os << "listener:      " << r.listener->name << " (" << KindText(r.listener->kind) << ")\n";
  if (r.server != nullptr) {
    os << "server:        " << r.server->name << " (gateway " << r.server->gateway << ", hosts";
    for (const auto& h : r.server->hosts)
      os << " " << h;
    os << ")";
    if (!r.sni.empty()) os << " selected by SNI " << r.sni;
    os << "\n";
  }
  if (r.tcp_route != nullptr) {
    os << "tcp route:     " << r.tcp_route->name << " of virtual_service "
       << r.tcp_route->virtual_service << "\n";
  }
  if (!r.virtual_host.empty()) os << "virtual host:  " << r.virtual_host << "\n";
  for (const RouteTrace& t : r.trace) {
    os << "  " << (t.matched ? "MATCH " : "skip  ") << t.virtual_service << " http[" << t.rule_index
       << "] match[" << t.match_index << "] \"" << t.name << "\"";
    if (!t.matched) os << ": failed " << t.failed;
    os << "\n";
  }
  os << "outcome:       " << r.outcome;
  if (r.status != 0) os << " (" << r.status << ")";
  if (!r.error.empty()) os << ": " << r.error;
  os << "\n";
  for (const DestinationTrace& d : r.destinations) {
    os << "destination:   " << d.cluster << " weight " << d.weight << " (" << d.percent
       << "%), authority " << d.authority << "\n";
  }
  if (!r.upstream_path.empty()) os << "upstream path: " << r.upstream_path << "\n";
  if (!r.location.empty()) os << "location:      " << r.location << "\n";
  if (r.outcome == "direct_response") os << "body:          " << r.body.size() << " bytes\n";
  if (r.route != nullptr) {
    os << "route:         " << r.route->virtual_service << " http[" << r.route->rule_index
       << "] match[" << r.route->match_index << "] \"" << r.route->name << "\"\n";
    if (r.route->timeout.count() > 0) os << "timeout:       " << Ms(r.route->timeout) << "\n";
    os << "retries:       " << RetrySummary(r.route->retries) << "\n";
  }
  return os.str();
}

nlohmann::json ExplainJson(const ExplainResult& r) {
  using nlohmann::json;
  json j;
  j["outcome"] = r.outcome;
  j["status"] = r.status == 0 ? json(nullptr) : json(r.status);
  if (!r.error.empty()) j["error"] = r.error;
  j["request"] = {{"method", r.method},
                  {"scheme", r.scheme},
                  {"authority", r.authority},
                  {"path", r.path},
                  {"normalized_path", r.normalized_path},
                  {"port", r.port},
                  {"sni", r.sni}};
  j["listener"] = r.listener == nullptr ? json(nullptr)
                                        : json{{"name", r.listener->name},
                                               {"bind", r.listener->bind},
                                               {"port", r.listener->port},
                                               {"kind", KindText(r.listener->kind)}};
  j["server"] = r.server == nullptr ? json(nullptr)
                                    : json{{"name", r.server->name},
                                           {"gateway", r.server->gateway},
                                           {"hosts", r.server->hosts}};
  j["virtual_host"] = r.virtual_host.empty() ? json(nullptr) : json(r.virtual_host);
  json tried = json::array();
  for (const RouteTrace& t : r.trace) {
    json e = {{"virtual_service", t.virtual_service},
              {"rule_index", t.rule_index},
              {"match_index", t.match_index},
              {"name", t.name},
              {"matched", t.matched}};
    if (!t.match_name.empty()) e["match_name"] = t.match_name;
    if (!t.matched) e["failed"] = t.failed;
    tried.push_back(std::move(e));
  }
  j["routes_tried"] = std::move(tried);
  if (r.route != nullptr) {
    j["route"] = {{"virtual_service", r.route->virtual_service},
                  {"rule_index", r.route->rule_index},
                  {"match_index", r.route->match_index},
                  {"name", r.route->name}};
  } else if (r.tcp_route != nullptr) {
    j["route"] = {{"virtual_service", r.tcp_route->virtual_service},
                  {"rule_index", r.tcp_route->rule_index},
                  {"name", r.tcp_route->name}};
  } else {
    j["route"] = nullptr;
  }
  json action = nullptr;
  if (r.outcome == "route" || r.outcome == "tcp_route") {
    json dests = json::array();
    for (const DestinationTrace& d : r.destinations) {
      dests.push_back({{"cluster", d.cluster},
                       {"host", d.host},
                       {"port", d.port},
                       {"subset", d.subset},
                       {"weight", d.weight},
                       {"percent", d.percent},
                       {"authority", d.authority}});
    }
    action = {{"type", r.outcome == "route" ? "route" : "tcp_route"}, {"destinations", dests}};
    if (r.outcome == "route") {
      action["upstream_path"] = r.upstream_path;
      action["timeout_ms"] = r.route->timeout.count();
      action["retries"] = RetrySummary(r.route->retries);
    }
  } else if (r.outcome == "redirect" || r.outcome == "path_redirect") {
    action = {{"type", "redirect"}, {"status", r.status}, {"location", r.location}};
  } else if (r.outcome == "direct_response") {
    action = {{"type", "direct_response"}, {"status", r.status}, {"body", r.body}};
  }
  j["action"] = std::move(action);
  return j;
}

}  // namespace gh::control
