#include "routing/dns_endpoints.h"

#include <algorithm>
#include <set>
#include <utility>

#include "routing/net.h"

namespace gh::routing {
namespace {

bool NeedsResolving(const Endpoint& endpoint) {
  return !ParseIp(endpoint.address).has_value();
}

const std::vector<std::string>* AnswerFor(const DnsAnswers& answers, const std::string& name) {
  auto it = answers.find(name);
  return it == answers.end() ? nullptr : &it->second;
}

}  // namespace

bool ResolvesNames(const Cluster& cluster) {
  return cluster.resolution == Resolution::kDns || cluster.resolution == Resolution::kDnsRoundRobin;
}

std::vector<std::string> DnsNames(const Cluster& cluster) {
  std::vector<std::string> names;
  if (!ResolvesNames(cluster)) return names;
  for (const Endpoint& endpoint : cluster.endpoints) {
    if (NeedsResolving(endpoint) &&
        std::find(names.begin(), names.end(), endpoint.address) == names.end())
      names.push_back(endpoint.address);
  }
  return names;
}

std::vector<Endpoint> ExpandDnsEndpoints(const Cluster& cluster, const DnsAnswers& answers) {
  std::vector<Endpoint> out;
  std::set<std::pair<std::string, uint16_t>> seen;
  auto add = [&](const Endpoint& from, const std::string& address) {
    if (!seen.emplace(address, from.port).second) return;
    Endpoint e = from;
    e.address = address;
    out.push_back(std::move(e));
  };
  for (const Endpoint& endpoint : cluster.endpoints) {
    if (!NeedsResolving(endpoint)) {
      add(endpoint, endpoint.address);
      continue;
    }
    if (const auto* addresses = AnswerFor(answers, endpoint.address)) {
      for (const std::string& address : *addresses)
        add(endpoint, address);
    }
  }
  return out;
}

std::vector<Endpoint> RoundRobinDnsEndpoint(const Cluster& cluster, const DnsAnswers& answers) {
  // The compiler allows at most one endpoint for DNS_ROUND_ROBIN.
  if (cluster.endpoints.empty()) return {};
  Endpoint e = cluster.endpoints.front();
  if (NeedsResolving(e)) {
    const auto* addresses = AnswerFor(answers, e.address);
    if (addresses == nullptr || addresses->empty()) return {};
    e.address = addresses->front();
  }
  return {std::move(e)};
}

std::vector<Endpoint> ResolvedEndpoints(const Cluster& cluster, const DnsAnswers& answers) {
  return cluster.resolution == Resolution::kDnsRoundRobin ? RoundRobinDnsEndpoint(cluster, answers)
                                                          : ExpandDnsEndpoints(cluster, answers);
}

Millis DnsRefreshDelay(Millis refresh_rate, uint32_t ttl_seconds) {
  constexpr Millis kFloor{1000};
  Millis delay = std::max(refresh_rate, kFloor);
  if (ttl_seconds > 0) delay = std::min(delay, Millis(int64_t{ttl_seconds} * 1000));
  return std::max(delay, kFloor);
}

}  // namespace gh::routing
