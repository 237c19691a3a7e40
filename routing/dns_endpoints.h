// ServiceEntry resolution DNS / DNS_ROUND_ROBIN: which names a cluster needs
// resolved, and the endpoints it has once answers arrive. The resolver (I/O,
// gateway/dns_*) publishes answers; this turns them into endpoint lists.
// Pure: no sockets, no clock.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "routing/model.h"

namespace gh::routing {

// The latest good answer per name: IP literals in the resolver's order
// (DNS_ROUND_ROBIN uses the first). Absent: never resolved successfully.
using DnsAnswers = std::map<std::string, std::vector<std::string>, std::less<>>;

// True for resolution DNS and DNS_ROUND_ROBIN.
bool ResolvesNames(const Cluster& cluster);

// The names `cluster` needs resolved: every endpoint address that is not an
// IP literal (the compiler puts the service host there when a DNS service
// entry has no endpoints). Empty for STATIC and NONE clusters.
std::vector<std::string> DnsNames(const Cluster& cluster);

// resolution DNS: every address of each endpoint's name becomes an endpoint
// with that endpoint's port, weight, labels and identity, in endpoint order
// then answer order. IP-literal endpoints stay as they are; names without an
// answer contribute nothing; a repeated address:port is listed once.
std::vector<Endpoint> ExpandDnsEndpoints(const Cluster& cluster, const DnsAnswers& answers);

// resolution DNS_ROUND_ROBIN: the single logical endpoint with the address
// new connections use (the first of the answer), or empty when its name has
// no answer yet.
std::vector<Endpoint> RoundRobinDnsEndpoint(const Cluster& cluster, const DnsAnswers& answers);

// The one of the two above that `cluster`'s resolution calls for.
std::vector<Endpoint> ResolvedEndpoints(const Cluster& cluster, const DnsAnswers& answers);

// When to resolve a name again: the refresh rate, or the record TTL when
// shorter (never below a second). A TTL of 0 means none was given (hosts
// file): the refresh rate applies.
Millis DnsRefreshDelay(Millis refresh_rate, uint32_t ttl_seconds);

}  // namespace gh::routing
