// TCP and TLS (SNI passthrough) routes of one listener: ordered rules, first
// match wins, each resolving to weighted destinations. Pure.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "routing/model.h"
#include "routing/net.h"

namespace gh::routing {

struct TcpRoute {
  std::string name;             // "<vs>.tcp.<rule index>" / "<vs>.tls.<rule index>"
  std::string virtual_service;  // "namespace/name"
  uint32_t rule_index = 0;
  std::vector<Destination> destinations;  // header ops unused
  uint64_t total_weight = 0;
};

// One `match` entry of a tcp or tls rule (port and gateways are resolved at
// compile time and never appear here).
struct TcpMatch {
  std::vector<Cidr> destination_subnets;  // empty: any destination address
  std::vector<std::string> sni_hosts;     // tls only; lowercase, "*.x" wildcards
};

struct TcpRouteEntry {
  TcpMatch match;
  std::shared_ptr<const TcpRoute> route;
};

class TcpRouteTable {
 public:
  TcpRouteTable(std::vector<TcpRouteEntry> tcp, std::vector<TcpRouteEntry> tls);

  // `destination_ip`: the connection's local (original destination) address;
  // may be empty, then only rules without destination_subnets match.
  const TcpRoute* MatchTcp(std::string_view destination_ip) const;
  // `sni` as sent in the ClientHello (case-insensitive); empty never matches.
  const TcpRoute* MatchTls(std::string_view sni, std::string_view destination_ip) const;

  const std::vector<TcpRouteEntry>& tcp_routes() const { return tcp_; }
  const std::vector<TcpRouteEntry>& tls_routes() const { return tls_; }

 private:
  std::vector<TcpRouteEntry> tcp_;
  std::vector<TcpRouteEntry> tls_;
};

// True when `subnets` is empty or holds `destination_ip`.
bool SubnetsMatch(const std::vector<Cidr>& subnets, std::string_view destination_ip);

}  // namespace gh::routing
