// Shared setup for data-plane integration tests: one steerable upstream and
// one gatehouse in front of it, on ports chosen at run time.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tests/support/harness.h"

namespace gh::test {

// A gateway on ${PORT} routing every path to the upstream at ${UPSTREAM}.
// ${PROXY} and ${ROUTE} let a test add [proxy] keys and route keys.
inline constexpr std::string_view kProxyConfig = R"(
[proxy]
workers = 1
access_log = "stdout"
${PROXY}

[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = ${PORT}, name = "http", protocol = "HTTP" }
hosts = ["*"]

[[service_entry]]
name = "origin"
hosts = ["origin.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http = ${UPSTREAM} } }]

[[virtual_service]]
name = "routes"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
match = [{ uri = { prefix = "/" } }]
route = [{ destination = { host = "origin.internal", port = { number = 80 } } }]
${ROUTE}
)";

struct ProxySetup {
  std::string proxy_keys;  // extra lines in [proxy]
  std::string route_keys;  // extra keys of the catch-all http route
  UpstreamOptions upstream;
  int upstream_port = 0;  // route to this port instead of the test upstream
};

class ProxyEnv {
 public:
  explicit ProxyEnv(const ProxySetup& setup = {})
      : upstream_(UpstreamProcess::Start(setup.upstream)),
        port_(FreePort()),
        gateway_(GatehouseProcess::Start(
            Subst(kProxyConfig,
                  {{"PORT", std::to_string(port_)},
                   {"UPSTREAM", std::to_string(setup.upstream_port != 0 ? setup.upstream_port
                                                                        : upstream_.Port())},
                   {"PROXY", setup.proxy_keys},
                   {"ROUTE", setup.route_keys}}),
            {.wait_ports = {port_}})) {}

  int port() const { return port_; }
  std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  UpstreamProcess& upstream() { return upstream_; }
  GatehouseProcess& gateway() { return gateway_; }
  // The last access log line (waits for `count` lines first).
  std::string LastLogLine(size_t count) {
    gateway_.WaitForAccessLogLines(count, milliseconds(5000));
    auto lines = gateway_.AccessLogLines();
    return lines.empty() ? "" : lines.back();
  }

 private:
  UpstreamProcess upstream_;
  int port_;
  GatehouseProcess gateway_;
};

}  // namespace gh::test
