#include "control/diff.h"

#include <map>

#include "control/explain.h"
#include "routing/http_route_table.h"

namespace gh::control {

std::string ConfigChange::ToString() const {
  std::string out(1, static_cast<char>(kind));
  out += " " + what + " " + key;
  if (!detail.empty()) out += ": " + detail;
  return out;
}

namespace {

struct Snapshot {
  std::map<std::string, std::string> listeners, hosts, routes, clusters;
};

Snapshot Flatten(const routing::Config& c) {
  Snapshot s;
  for (const routing::Cluster& cl : c.clusters) {
    s.clusters[cl.name] = std::to_string(cl.fingerprint);
  }
  for (const routing::Listener& l : c.listeners) {
    std::string kind = std::to_string(static_cast<int>(l.kind));
    s.listeners[l.name] = kind;
    for (const routing::Server& srv : l.servers) {
      const auto* table =
          dynamic_cast<const routing::CompiledHttpRouteTable*>(srv.http_routes.get());
      if (table == nullptr) continue;
      // Plain-HTTP servers share one table: name it by listener only.
      const std::string scope =
          l.kind == routing::ListenerKind::kHttp ? l.name : l.name + " " + srv.name;
      for (const routing::VirtualHost& vh : table->virtual_hosts()) {
        s.hosts[scope + " " + vh.name] = "";
        for (const routing::RouteEntry& e : vh.routes) {
          const std::string key = scope + " " + vh.name + " " + e.route->virtual_service + " " +
                                  e.route->name + "[" + std::to_string(e.route->match_index) + "]";
          s.routes[key] = DescribeMatch(e.match) + " -> " + DescribeAction(*e.route, c);
        }
      }
    }
    if (l.tcp_routes) {
      for (const auto* list : {&l.tcp_routes->tcp_routes(), &l.tcp_routes->tls_routes()}) {
        for (const routing::TcpRouteEntry& e : *list) {
          std::string d;
          for (const auto& dest : e.route->destinations)
            d += c.clusters[dest.cluster].name + " (weight " + std::to_string(dest.weight) + ") ";
          std::string sni;
          for (const auto& h : e.match.sni_hosts)
            sni += h + " ";
          s.routes[l.name + " " + e.route->virtual_service + " " + e.route->name + " " + sni] = d;
        }
      }
    }
  }
  return s;
}

void DiffMaps(const char* what, const std::map<std::string, std::string>& a,
              const std::map<std::string, std::string>& b, std::vector<ConfigChange>& out) {
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) {
      out.push_back({ConfigChange::Kind::kRemoved, what, k, ""});
    } else if (it->second != v) {
      std::string detail;
      if (std::string(what) == "route") detail = it->second;
      out.push_back({ConfigChange::Kind::kChanged, what, k, detail});
    }
  }
  for (const auto& [k, v] : b) {
    if (!a.contains(k)) {
      out.push_back(
          {ConfigChange::Kind::kAdded, what, k, std::string(what) == "route" ? v : std::string()});
    }
  }
}

}  // namespace

std::vector<ConfigChange> DiffConfigs(const routing::Config& before, const routing::Config& after) {
  const Snapshot a = Flatten(before), b = Flatten(after);
  std::vector<ConfigChange> out;
  DiffMaps("listener", a.listeners, b.listeners, out);
  DiffMaps("host", a.hosts, b.hosts, out);
  DiffMaps("route", a.routes, b.routes, out);
  DiffMaps("cluster", a.clusters, b.clusters, out);
  return out;
}

}  // namespace gh::control
