// The concrete HttpRouteTable: virtual hosts selected exact -> longest
// wildcard suffix -> "*", each an ordered list of (match, route); first match
// wins. Built by control/ at compile time, immutable afterwards.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "routing/matchers.h"
#include "routing/route_table.h"

namespace gh::routing {

struct RouteEntry {
  HttpMatch match;
  std::shared_ptr<const Route> route;
};

struct VirtualHost {
  std::string name;  // lowercase host pattern: "a.b.com", "*.b.com" or "*"
  std::vector<RouteEntry> routes;
};

class CompiledHttpRouteTable final : public HttpRouteTable {
 public:
  // `vhosts` names must be unique and lowercase.
  explicit CompiledHttpRouteTable(std::vector<VirtualHost> vhosts);

  HttpRouteResult Match(const RequestView& request) const override;
  bool CoversHost(std::string_view host) const override;

  // The vhost the authority selects (port ignored, case-insensitive), or null.
  const VirtualHost* SelectVirtualHost(std::string_view authority) const;
  const std::vector<VirtualHost>& virtual_hosts() const { return vhosts_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Index = std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>>;

  std::vector<VirtualHost> vhosts_;
  Index exact_;
  Index suffix_;  // "*.b.com" stored as ".b.com"
  int64_t any_ = -1;
};

}  // namespace gh::routing
