// The route tables of one listener or server: virtual hosts from the virtual
// services bound to its servers (http), or tcp / tls route entries.
#include <algorithm>
#include <map>
#include <unordered_map>

#include "control/compile_internal.h"
#include "routing/host.h"

namespace gh::control::compile_internal {
namespace {

int UriRank(const routing::HttpMatch& m) {
  if (!m.uri) return 3;
  switch (m.uri->kind()) {
    case routing::StringMatcher::Kind::kExact:
      return 0;
    case routing::StringMatcher::Kind::kRegex:
      return 1;
    default:
      return 2;
  }
}

// Gateway API precedence (istio-semantics §7.4), stable so ties keep
// file order then rule order.
void SortBySpecificity(std::vector<routing::RouteEntry>& routes) {
  std::stable_sort(routes.begin(), routes.end(),
                   [](const routing::RouteEntry& a, const routing::RouteEntry& b) {
                     const int ra = UriRank(a.match), rb = UriRank(b.match);
                     if (ra != rb) return ra < rb;
                     if (ra == 2) {
                       const size_t la = a.match.uri->value().size();
                       const size_t lb = b.match.uri->value().size();
                       if (la != lb) return la > lb;
                     }
                     const bool ma = a.match.method != nullptr, mb = b.match.method != nullptr;
                     if (ma != mb) return ma;
                     if (a.match.headers.size() != b.match.headers.size())
                       return a.match.headers.size() > b.match.headers.size();
                     return a.match.query_params.size() > b.match.query_params.size();
                   });
}

}  // namespace

// Does a per-match gateways list allow gateway `key`?
bool Compiler::MatchGatewayAllows(const std::vector<std::string>& gateways, const std::string& ns,
                                  const std::string& key) {
  if (gateways.empty()) return true;
  for (const std::string& g : gateways) {
    const std::string k = g.find('/') == std::string::npos ? ns + "/" + g : g;
    if (k == key) return true;
  }
  return false;
}

// The vhost names a VS contributes on `server` (Istio host intersection).
std::vector<std::string> Compiler::Intersections(const VirtualServiceSpec& vs,
                                                 const ServerSpec& server) {
  std::vector<std::string> out;
  for (const std::string& vh : vs.hosts) {
    for (const ServerHost& sh : server.hosts) {
      if (sh.ns != "*" && sh.ns != vs.ns) continue;
      if (auto i = routing::IntersectHosts(sh.host, vh)) {
        if (std::find(out.begin(), out.end(), *i) == out.end()) out.push_back(*i);
      }
    }
  }
  return out;
}

std::shared_ptr<const routing::Route> Compiler::HttpsRedirectRoute(const std::string& gateway) {
  auto r = std::make_shared<routing::Route>();
  r->name = "https_redirect";
  r->virtual_service = gateway;
  routing::RedirectAction redirect;
  redirect.scheme = "https";
  redirect.code = 301;
  r->action = redirect;
  r->retries = DefaultRetries();
  return r;
}

void Compiler::DropShadowed(VhostBuild& vh) {
  for (size_t i = 0; i < vh.routes.size(); ++i) {
    if (!vh.routes[i].match.IsCatchAll()) continue;
    for (size_t k = i + 1; k < vh.routes.size(); ++k) {
      const routing::Route& shadowed = *vh.routes[k].route;
      const routing::Route& by = *vh.routes[i].route;
      const std::string key = shadowed.virtual_service + "#" + shadowed.name + "#" +
                              std::to_string(shadowed.match_index) + "#" + by.name;
      if (!shadow_reported_.insert(key).second) continue;
      sink_.Warning(RouteWhere(shadowed),
                    "route " + Quoted(shadowed.name) + " of virtual_service " +
                        Quoted(shadowed.virtual_service) + " never matches in virtual host " +
                        Quoted(vh.name) + ": it is shadowed by the catch-all route " +
                        Quoted(by.name) + " of " + Quoted(by.virtual_service));
    }
    vh.routes.resize(i + 1);
    break;
  }
}

Where Compiler::RouteWhere(const routing::Route& route) {
  for (const CompiledVs& c : vss_) {
    if (c.spec->ns + "/" + c.spec->name != route.virtual_service) continue;
    if (route.rule_index >= c.http.size()) return Where{};
    const CompiledHttpRule& rule = c.http[route.rule_index];
    const std::string rule_path = RulePath(*c.spec, route.rule_index);
    const MatchRef* m = nullptr;
    for (size_t j = 0; j < rule.entries.size(); ++j) {
      if (rule.entries[j].route->match_index == route.match_index && rule.matches[j].present)
        m = &rule.matches[j];
    }
    if (m == nullptr) return rule.pos.At(rule_path);
    return m->pos.At(rule_path + ".match[" + std::to_string(route.match_index) + "]");
  }
  return Where{};
}

std::shared_ptr<const routing::HttpRouteTable> Compiler::BuildHttpTable(
    const std::vector<const ServerRef*>& servers, uint16_t port, RouteOrder order) {
  std::vector<VhostBuild> vhosts;
  std::unordered_map<std::string, size_t> by_name;
  auto vhost = [&](const std::string& name) -> VhostBuild& {
    auto [it, inserted] = by_name.emplace(name, vhosts.size());
    if (inserted) vhosts.push_back({name, false, {}, {}});
    return vhosts[it->second];
  };
  for (const ServerRef* s : servers) {
    if (!s->server->https_redirect) continue;
    for (const ServerHost& h : s->server->hosts)
      vhost(h.host).https_redirect = true;
  }
  for (const CompiledVs& c : vss_) {
    if (c.http.empty()) continue;
    for (const ServerRef* s : servers) {
      if (std::find(c.gateways.begin(), c.gateways.end(), s->gateway_key) == c.gateways.end())
        continue;
      for (const std::string& name : Intersections(*c.spec, *s->server)) {
        bound_vs_.insert(c.order);
        VhostBuild& vh = vhost(name);
        if (s->server->https_redirect) vh.https_redirect = true;
        const std::string owner = std::to_string(c.order) + "@" + s->gateway_key;
        if (std::find(vh.owners.begin(), vh.owners.end(), owner) != vh.owners.end()) continue;
        // The same VS reached through another server of the same gateway
        // (or another gateway) is appended once per vhost.
        const std::string once = "vs" + std::to_string(c.order);
        if (std::find(vh.owners.begin(), vh.owners.end(), once) != vh.owners.end()) continue;
        vh.owners.push_back(once);
        for (const CompiledHttpRule& rule : c.http) {
          for (size_t j = 0; j < rule.entries.size(); ++j) {
            const MatchRef& m = rule.matches[j];
            if (m.has_port && m.port != port) continue;
            if (m.present && !MatchGatewayAllows(m.gateways, c.spec->ns, s->gateway_key)) continue;
            vh.routes.push_back(rule.entries[j]);
          }
        }
      }
    }
  }
  std::vector<routing::VirtualHost> out;
  out.reserve(vhosts.size());
  for (VhostBuild& vh : vhosts) {
    if (vh.https_redirect) {
      vh.routes.clear();
      vh.routes.push_back({routing::HttpMatch{}, HttpsRedirectRoute(vh.name)});
    } else {
      if (order == RouteOrder::kSpecificity) SortBySpecificity(vh.routes);
      DropShadowed(vh);
    }
    out.push_back({std::move(vh.name), std::move(vh.routes)});
  }
  return std::make_shared<routing::CompiledHttpRouteTable>(std::move(out));
}

std::shared_ptr<const routing::TcpRouteTable> Compiler::BuildTcpTable(
    const std::vector<const ServerRef*>& servers, uint16_t port, bool tls) {
  std::vector<routing::TcpRouteEntry> entries;
  std::map<std::string, std::string> sni_owner;
  for (const CompiledVs& c : vss_) {
    const auto& rules = tls ? c.spec->tls : c.spec->tcp;
    if (rules.empty()) continue;
    bool bound = false;
    std::vector<std::string> server_hosts;
    for (const ServerRef* s : servers) {
      if (std::find(c.gateways.begin(), c.gateways.end(), s->gateway_key) == c.gateways.end())
        continue;
      const auto names = Intersections(*c.spec, *s->server);
      if (names.empty()) continue;
      bound = true;
      for (const ServerHost& h : s->server->hosts)
        server_hosts.push_back(h.host);
      for (uint32_t i = 0; i < rules.size(); ++i) {
        const L4RouteSpec& rule = rules[i];
        const auto& route = (tls ? c.tls : c.tcp)[i][0];
        auto add = [&](const L4MatchSpec* m) {
          routing::TcpRouteEntry e;
          e.route = route;
          if (m != nullptr) {
            if (m->port && *m->port != port) return;
            if (!MatchGatewayAllows(m->gateways, c.spec->ns, s->gateway_key)) return;
            e.match.destination_subnets = m->destination_subnets;
            for (const std::string& sni : m->sni_hosts) {
              for (const std::string& sh : server_hosts) {
                if (auto x = routing::IntersectHosts(sh, sni)) {
                  if (std::find(e.match.sni_hosts.begin(), e.match.sni_hosts.end(), *x) ==
                      e.match.sni_hosts.end())
                    e.match.sni_hosts.push_back(*x);
                }
              }
            }
            if (tls && e.match.sni_hosts.empty()) return;
            for (const std::string& sni : e.match.sni_hosts) {
              auto [it, inserted] = sni_owner.emplace(sni, route->name);
              if (!inserted && it->second != route->name)
                sink_.Error(m->where, "sni host " + Quoted(sni) + " on port " +
                                          std::to_string(port) + " is already routed by " +
                                          Quoted(it->second));
            }
          }
          for (const auto& existing : entries) {
            if (existing.route == e.route && existing.match.sni_hosts == e.match.sni_hosts &&
                existing.match.destination_subnets.size() == e.match.destination_subnets.size())
              return;
          }
          entries.push_back(std::move(e));
        };
        if (rule.matches.empty()) {
          add(nullptr);
        } else {
          for (const L4MatchSpec& m : rule.matches)
            add(&m);
        }
      }
    }
    if (bound) bound_vs_.insert(c.order);
  }
  if (tls)
    return std::make_shared<routing::TcpRouteTable>(std::vector<routing::TcpRouteEntry>{},
                                                    std::move(entries));
  return std::make_shared<routing::TcpRouteTable>(std::move(entries),
                                                  std::vector<routing::TcpRouteEntry>{});
}

}  // namespace gh::control::compile_internal
