#include "routing/tcp_route_table.h"

#include "base/strings.h"
#include "routing/host.h"

namespace gh::routing {

TcpRouteTable::TcpRouteTable(std::vector<TcpRouteEntry> tcp, std::vector<TcpRouteEntry> tls)
    : tcp_(std::move(tcp)), tls_(std::move(tls)) {}

bool SubnetsMatch(const std::vector<Cidr>& subnets, std::string_view destination_ip) {
  if (subnets.empty()) return true;
  const auto ip = ParseIp(destination_ip);
  if (!ip) return false;
  for (const Cidr& cidr : subnets) {
    if (cidr.Contains(*ip)) return true;
  }
  return false;
}

const TcpRoute* TcpRouteTable::MatchTcp(std::string_view destination_ip) const {
  for (const TcpRouteEntry& e : tcp_) {
    if (SubnetsMatch(e.match.destination_subnets, destination_ip)) return e.route.get();
  }
  return nullptr;
}

const TcpRoute* TcpRouteTable::MatchTls(std::string_view sni,
                                        std::string_view destination_ip) const {
  if (sni.empty()) return nullptr;
  const std::string host = AsciiLowered(sni);
  // Exact SNI entries beat wildcard ones regardless of order (Envoy filter
  // chain matching), then first match wins.
  for (int pass = 0; pass < 2; ++pass) {
    for (const TcpRouteEntry& e : tls_) {
      bool hit = false;
      for (const std::string& pattern : e.match.sni_hosts) {
        if (IsWildcardHost(pattern) == (pass == 0)) continue;
        if (HostMatches(pattern, host)) hit = true;
      }
      if (hit && SubnetsMatch(e.match.destination_subnets, destination_ip)) return e.route.get();
    }
  }
  return nullptr;
}

}  // namespace gh::routing
