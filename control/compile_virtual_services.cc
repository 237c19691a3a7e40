// Virtual services: each http / tcp / tls rule compiled to routes, with its
// destinations resolved to clusters, before the listeners bind them.
#include <algorithm>

#include "control/compile_internal.h"
#include "routing/host.h"

namespace gh::control::compile_internal {
namespace {

Where Pathed(Where w, std::string path) {
  w.path = std::move(path);
  return w;
}

}  // namespace

std::vector<routing::Destination> Compiler::CompileDestinations(
    const std::vector<RouteDestinationSpec>& route, const Where& where, uint64_t& total) {
  std::vector<routing::Destination> out;
  out.reserve(route.size());
  total = 0;
  bool resolved = true;
  for (size_t k = 0; k < route.size(); ++k) {
    const RouteDestinationSpec& d = route[k];
    const auto cluster = ResolveDestination(
        d.destination, where.path + ".route[" + std::to_string(k) + "].destination");
    if (!cluster) {
      resolved = false;
      continue;
    }
    routing::Destination dest;
    dest.cluster = *cluster;
    dest.weight = d.weight.value_or(route.size() == 1 ? 100 : 0);
    if (d.request_headers) dest.request_headers = *d.request_headers;
    if (d.response_headers) dest.response_headers = *d.response_headers;
    dest.authority = d.authority;
    if (dest.weight == 0) continue;  // dropped when others exist; total checked below
    total += dest.weight;
    out.push_back(std::move(dest));
  }
  if (resolved && !route.empty() && total == 0)
    sink_.Error(where, "route weights sum to 0: give at least one destination a weight");
  return out;
}

routing::RetryPolicy Compiler::DefaultRetries() {
  // Gatehouse's conservative default (istio-semantics §9 #3): only failures
  // where the upstream never saw the request, never non-idempotent methods.
  routing::RetryPolicy r;
  r.attempts = 2;
  r.on_connect_failure = true;
  r.on_refused_stream = true;
  r.retry_non_idempotent = false;
  return r;
}

std::string Compiler::RulePath(const VirtualServiceSpec& vs, uint32_t index) {
  return vs.where.path + ".http[" + std::to_string(index) + "]";
}

// Moves each match out of `rule` (nothing later reads HttpMatchSpec::match).
Compiler::CompiledHttpRule Compiler::CompileHttpRule(const VirtualServiceSpec& vs,
                                                     HttpRouteSpec& rule, uint32_t index) {
  CompiledHttpRule out;
  out.pos = Pos::Of(rule.where);
  const std::string rule_path = RulePath(vs, index);
  const Where rule_where = Pathed(rule.where, rule_path);
  routing::Route base;
  base.name = rule.name.empty() ? vs.name + "." + std::to_string(index) : rule.name;
  base.virtual_service = vs.ns + "/" + vs.name;
  base.rule_index = index;
  if (!rule.route.empty()) {
    routing::ForwardAction fwd;
    fwd.destinations = CompileDestinations(rule.route, rule_where, fwd.total_weight);
    base.action = std::move(fwd);
  } else if (rule.redirect) {
    base.action = *rule.redirect;
  } else if (rule.direct_response) {
    base.action = *rule.direct_response;
  }
  if (rule.request_headers) base.request_headers = *rule.request_headers;
  if (rule.response_headers) base.response_headers = *rule.response_headers;
  if (rule.rewrite) base.rewrite = *rule.rewrite;
  if (rule.header_authority) base.rewrite.authority = AsciiLowered(*rule.header_authority);
  base.timeout = rule.timeout;
  base.retries = rule.retries ? *rule.retries : DefaultRetries();
  if (rule.retries && rule.retries->per_try_timeout.count() == 0)
    base.retries.per_try_timeout = rule.timeout;
  base.fault = rule.fault;
  for (size_t k = 0; k < rule.mirrors.size(); ++k) {
    const MirrorSpec& m = rule.mirrors[k];
    const std::string path = rule.mirrors_list
                                 ? rule_path + ".mirrors[" + std::to_string(k) + "].destination"
                                 : rule_path + ".mirror";
    if (auto cluster = ResolveDestination(m.destination, path))
      base.mirrors.push_back({*cluster, m.percent});
  }
  base.cors = rule.cors;
  base.max_request_body_bytes = rule.max_request_body_bytes;

  const size_t n = rule.matches.empty() ? 1 : rule.matches.size();
  for (size_t j = 0; j < n; ++j) {
    HttpMatchSpec* m = rule.matches.empty() ? nullptr : &rule.matches[j];
    if (m != nullptr && m->invalid) continue;
    auto route = j + 1 == n ? std::make_shared<routing::Route>(std::move(base))
                            : std::make_shared<routing::Route>(base);
    route->match_index = static_cast<uint32_t>(j);
    routing::HttpMatch match;
    if (m != nullptr) {
      match = std::move(m->match);
      route->match_name = m->name;
    }
    // Istio: no uri match is a prefix "/" match (relevant to rewrites).
    route->prefix_match = !match.uri || match.uri->kind() == routing::StringMatcher::Kind::kPrefix;
    route->matched_prefix = !match.uri ? "/" : route->prefix_match ? match.uri->value() : "";
    if (rule.redirect && rule.redirect->prefix_rewrite && !(match.uri && route->prefix_match)) {
      sink_.Error(
          m ? Pathed(m->where, rule_path + ".match[" + std::to_string(j) + "]") : rule_where,
          "redirect.prefix_rewrite needs a uri prefix match in every match entry");
    }
    out.entries.push_back({std::move(match), std::move(route)});
    MatchRef ref;
    if (m != nullptr) {
      ref.gateways = m->gateways;
      ref.pos = Pos::Of(m->where);
      ref.port = m->port.value_or(0);
      ref.has_port = m->port.has_value();
      ref.present = true;
    }
    out.matches.push_back(std::move(ref));
  }
  return out;
}

std::vector<std::shared_ptr<const routing::TcpRoute>> Compiler::CompileL4Rule(
    const VirtualServiceSpec& vs, const L4RouteSpec& rule, uint32_t index, bool tls) {
  auto route = std::make_shared<routing::TcpRoute>();
  route->name = vs.name + (tls ? ".tls." : ".tcp.") + std::to_string(index);
  route->virtual_service = vs.ns + "/" + vs.name;
  route->rule_index = index;
  route->destinations = CompileDestinations(
      rule.route,
      Pathed(rule.where, vs.where.path + (tls ? ".tls[" : ".tcp[") + std::to_string(index) + "]"),
      route->total_weight);
  for (const L4MatchSpec& m : rule.matches) {
    for (const std::string& sni : m.sni_hosts) {
      const bool inside = std::any_of(vs.hosts.begin(), vs.hosts.end(), [&](const auto& h) {
        return routing::HostMatches(h, sni) || h == sni;
      });
      if (!inside && !routing::ParseIp(sni))
        sink_.Error(m.where,
                    "sni host " + Quoted(sni) + " is not within the virtual service's hosts");
    }
  }
  return {route};
}

void Compiler::CompileVirtualServices() {
  for (size_t v = 0; v < r_.virtual_services.size(); ++v) {
    const VirtualServiceSpec& vs = r_.virtual_services[v];
    CompiledVs c;
    c.spec = &vs;
    c.order = v;
    for (size_t g = 0; g < vs.gateways.size(); ++g) {
      if (auto key = ResolveGateway(vs.gateways[g], vs.ns,
                                    g < vs.gateway_where.size() ? vs.gateway_where[g] : vs.where);
          key && !key->empty())
        c.gateways.push_back(*key);
    }
    if (vs.gateways.empty())
      sink_.Warning(vs.where,
                    "virtual service has no \"gateways\": Istio's default is "
                    "\"mesh\" (sidecars), so it binds to no Gatehouse gateway");
    for (uint32_t i = 0; i < vs.http.size(); ++i) {
      c.http.push_back(CompileHttpRule(vs, r_.virtual_services[v].http[i], i));
      for (const HttpMatchSpec& m : vs.http[i].matches) {
        for (const std::string& g : m.gateways)
          ResolveGateway(g, vs.ns, m.where);
      }
    }
    // Everything later phases need of the http rules is in c.http now.
    std::vector<HttpRouteSpec>().swap(r_.virtual_services[v].http);
    for (uint32_t i = 0; i < vs.tcp.size(); ++i)
      c.tcp.push_back(CompileL4Rule(vs, vs.tcp[i], i, false));
    for (uint32_t i = 0; i < vs.tls.size(); ++i)
      c.tls.push_back(CompileL4Rule(vs, vs.tls[i], i, true));
    vss_.push_back(std::move(c));
  }
}

}  // namespace gh::control::compile_internal
