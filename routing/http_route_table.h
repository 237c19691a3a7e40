// The concrete HttpRouteTable: virtual hosts selected exact -> longest
// wildcard suffix -> "*", each an ordered list of (match, route); first match
// wins. Built by control/ at compile time, immutable afterwards.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "routing/matchers.h"
#include "routing/route_table.h"

namespace gh::routing {

struct RouteEntry {
  HttpMatch match;
  std::shared_ptr<const Route> route;
};

// The literal text every match of an RE2 `pattern` starts with ("" if none).
std::string RegexLiteralPrefix(std::string_view pattern);

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
  // Open addressing, linear probing. A slot points into pool_, where each
  // vhost's name is followed by the prefilters of its routes, so a lookup
  // reads one slot, then a few adjacent pool bytes, and touches a RouteEntry
  // only when its prefilter passes and the route has other conditions.
  struct Slot {
    uint64_t hash = 0;
    uint32_t vhost = UINT32_MAX;
    uint32_t name_offset = 0;
    uint32_t name_size = 0;
  };
  struct FlatIndex {
    std::vector<Slot> slots;
    uint64_t mask = 0;
  };
  void BuildIndex(FlatIndex& index, const std::vector<std::pair<uint32_t, size_t>>& keys);
  const Slot* Find(const FlatIndex& index, std::string_view key) const;
  // The selected vhost (UINT32_MAX: none), where its name starts in pool_ and
  // where its block (route count, then prefilters) starts, right after it.
  struct Hit {
    uint32_t vhost = UINT32_MAX;
    uint32_t name_offset = 0;
    uint32_t pre_offset = 0;
  };
  Hit Select(std::string_view authority) const;

  // Per vhost: its name and its block in pool_ (an index slot has the same
  // for its key, so a lookup only reads this for "*").
  struct VhostRef {
    uint32_t name_offset = 0;
    uint32_t pre_offset = 0;  // the name ends here
  };

  std::vector<VirtualHost> vhosts_;
  std::string pool_;
  std::vector<VhostRef> refs_;
  FlatIndex exact_;
  FlatIndex suffix_;  // "*.b.com" keyed as ".b.com"
  int64_t any_ = -1;
};

}  // namespace gh::routing
