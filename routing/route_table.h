// Compiled HTTP route table for one server (or one plain-HTTP port): virtual
// hosts, each an ordered list of (match, route). Pure: no I/O, no clock, no RNG.
//
// Contract used by the data plane:
//   const HttpRouteResult r = table.Match(request);
//   r.route == nullptr -> 404 NR (no virtual host, or no route in it)
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "routing/model.h"

namespace gh::routing {

struct HttpRouteResult {
  const Route* route = nullptr;
  std::string_view virtual_host;  // name of the selected vhost, empty if none
  bool host_matched = false;      // a vhost was selected (route may still be null)
};

class HttpRouteTable {
 public:
  virtual ~HttpRouteTable() = default;
  virtual HttpRouteResult Match(const RequestView& request) const = 0;
  // True when some virtual host of this table would be selected for `host`
  // (port ignored, case-insensitive); used for 421 across HTTPS servers.
  virtual bool CoversHost(std::string_view host) const = 0;
};

}  // namespace gh::routing
