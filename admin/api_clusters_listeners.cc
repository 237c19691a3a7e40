// /clusters and /listeners: the config's clusters and listeners joined with
// what the running process adds (worker stats, bound ports).
#include "admin/api_internal.h"

namespace gh::admin {

using api_internal::Limit;
using api_internal::Ms;
using api_internal::Name;
using nlohmann::json;

json ClustersJson(const routing::Config& config, const gateway::WorkerStats& merged) {
  json out = json::array();
  auto stats_json = [](const gateway::ClusterStats& s) {
    json endpoints = json::array();
    for (const gateway::EndpointStats& e : s.endpoints) {
      endpoints.push_back({{"address", e.address},
                           {"health", e.healthy ? "healthy" : "unhealthy"},
                           {"weight", e.weight},
                           {"active_requests", e.active_requests},
                           {"connections_active", e.connections_active},
                           {"connections_idle", e.connections_idle},
                           {"pending_requests", e.pending_requests}});
    }
    return json{{"active_requests", s.active_requests},
                {"connections", s.connections},
                {"pending_requests", s.pending_requests},
                {"endpoints", std::move(endpoints)}};
  };
  for (const routing::Cluster& c : config.clusters) {
    json cj = {{"name", c.name},
               {"host", c.host},
               {"port", c.port},
               {"subset", c.subset},
               {"namespace", c.service_namespace},
               {"lb_policy", Name(c.lb_policy)},
               {"state", "active"},
               {"circuit_breakers",
                {{"max_connections", Limit(c.pool.max_connections, UINT32_MAX)},
                 {"max_pending_requests", Limit(c.pool.http1_max_pending_requests, UINT32_MAX)},
                 {"max_requests", Limit(c.pool.http2_max_requests, UINT32_MAX)}}}};
    auto it = merged.clusters.find(c.name);
    if (it != merged.clusters.end()) {
      cj.update(stats_json(it->second));
      // Weights the workers did not report: the configured ones, joined by
      // index (static endpoints keep config order).
      for (size_t i = 0; i < cj["endpoints"].size() && i < c.endpoints.size(); ++i) {
        if (cj["endpoints"][i]["weight"] == 0) cj["endpoints"][i]["weight"] = c.endpoints[i].weight;
      }
    } else {
      // No worker has used it yet: configured endpoints, nothing open.
      json endpoints = json::array();
      for (const routing::Endpoint& e : c.endpoints) {
        endpoints.push_back({{"address", e.address + ":" + std::to_string(e.port)},
                             {"health", "healthy"},
                             {"weight", e.weight},
                             {"active_requests", 0},
                             {"connections_active", 0},
                             {"connections_idle", 0},
                             {"pending_requests", 0}});
      }
      cj.update(json{{"active_requests", 0},
                     {"connections", 0},
                     {"pending_requests", 0},
                     {"endpoints", std::move(endpoints)}});
    }
    out.push_back(std::move(cj));
  }
  // Clusters removed or changed by a reload, still finishing their requests.
  for (const auto& [key, s] : merged.clusters) {
    const size_t retired = key.rfind("#retired");
    if (retired == std::string::npos) continue;
    json cj = {{"name", key.substr(0, retired)},
               {"host", s.host},
               {"namespace", s.service_namespace},
               {"state", "draining"}};
    cj.update(stats_json(s));
    out.push_back(std::move(cj));
  }
  return json{{"clusters", std::move(out)}};
}

json ListenersJson(const routing::Config& config, const std::map<std::string, uint16_t>& ports) {
  json out = json::array();
  for (const routing::Listener& l : config.listeners) {
    auto it = ports.find(l.name);
    const uint16_t port = it != ports.end() ? it->second : l.port;
    const std::string host = l.bind.find(':') != std::string::npos ? "[" + l.bind + "]" : l.bind;
    json servers = json::array();
    for (const routing::Server& s : l.servers) {
      servers.push_back({{"name", s.name}, {"protocol", Name(s.protocol)}, {"hosts", s.hosts}});
    }
    out.push_back({{"name", l.name},
                   {"address", host + ":" + std::to_string(port)},
                   {"configured_port", l.port},
                   {"port", port},
                   {"kind", Name(l.kind)},
                   {"servers", std::move(servers)}});
  }
  return json{{"listeners", std::move(out)}};
}

}  // namespace gh::admin
