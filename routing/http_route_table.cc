#include "routing/http_route_table.h"

#include "base/strings.h"
#include "routing/host.h"

namespace gh::routing {

CompiledHttpRouteTable::CompiledHttpRouteTable(std::vector<VirtualHost> vhosts)
    : vhosts_(std::move(vhosts)) {
  exact_.reserve(vhosts_.size());
  for (uint32_t i = 0; i < vhosts_.size(); ++i) {
    const std::string& name = vhosts_[i].name;
    if (name == "*") {
      any_ = i;
    } else if (name.starts_with("*.")) {
      suffix_.emplace(name.substr(1), i);
    } else {
      exact_.emplace(name, i);
    }
  }
}

const VirtualHost* CompiledHttpRouteTable::SelectVirtualHost(std::string_view authority) const {
  const std::string_view raw = StripPort(authority);
  // DNS names are at most 253 characters: a longer one can only hit "*".
  char buf[256];
  if (raw.size() < sizeof(buf)) {
    for (size_t i = 0; i < raw.size(); ++i)
      buf[i] = AsciiLower(raw[i]);
    const std::string_view host(buf, raw.size());
    if (!exact_.empty()) {
      if (auto it = exact_.find(host); it != exact_.end()) return &vhosts_[it->second];
    }
    if (!suffix_.empty()) {
      // Longest suffix first: ".b.c.com", then ".c.com", then ".com".
      for (size_t dot = host.find('.', 1); dot != std::string_view::npos;
           dot = host.find('.', dot + 1)) {
        if (auto it = suffix_.find(host.substr(dot)); it != suffix_.end())
          return &vhosts_[it->second];
      }
    }
  }
  return any_ >= 0 ? &vhosts_[static_cast<size_t>(any_)] : nullptr;
}

HttpRouteResult CompiledHttpRouteTable::Match(const RequestView& request) const {
  HttpRouteResult result;
  const VirtualHost* vhost = SelectVirtualHost(request.authority);
  if (vhost == nullptr) return result;
  result.host_matched = true;
  result.virtual_host = vhost->name;
  for (const RouteEntry& entry : vhost->routes) {
    if (FirstFailure(entry.match, request).matched()) {
      result.route = entry.route.get();
      break;
    }
  }
  return result;
}

bool CompiledHttpRouteTable::CoversHost(std::string_view host) const {
  return SelectVirtualHost(host) != nullptr;
}

}  // namespace gh::routing
