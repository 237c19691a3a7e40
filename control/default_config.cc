#include "control/default_config.h"

namespace gh::control {

std::string_view DefaultConfigToml() {
  return R"toml(# Gatehouse default configuration (used when no -c is given).
[proxy]
access_log = "stdout"

[admin]
address = "127.0.0.1:15000"

[[gateway]]
name = "quickstart"
[[gateway.servers]]
bind = "127.0.0.1"
port = { number = 8080, name = "http", protocol = "HTTP" }
hosts = ["*"]

[[service_entry]]
name = "demo-upstream"
hosts = ["demo.local"]
ports = [{ number = 8081, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1" }]

[[virtual_service]]
name = "quickstart"
hosts = ["*"]
gateways = ["quickstart"]

[[virtual_service.http]]
name = "demo"
match = [{ uri = { prefix = "/demo/" } }]
rewrite = { uri = "/" }
route = [{ destination = { host = "demo.local", port = { number = 8081 } } }]

[[virtual_service.http]]
name = "welcome"
match = [{ uri = { exact = "/" } }]
headers = { response = { set = { "content-type" = "text/plain; charset=utf-8" } } }
direct_response = { status = 200, body = { string = """
Gatehouse is running.

Gatehouse is an edge ingress/egress gateway: it terminates TLS, routes
requests by Istio-style rules written in TOML, and forwards them upstream.

This is the built-in default configuration:
  http://127.0.0.1:8080/        this page
  http://127.0.0.1:8080/demo/   proxied to 127.0.0.1:8081
                                (start one with: python3 -m http.server 8081)
  http://127.0.0.1:15000/       the admin API (stats, config dump, health)

Next steps:
  gatehouse check -c gatehouse.toml     validate a configuration
  gatehouse run -c gatehouse.toml       run with it
  docs/configuration.md                 the configuration reference
""" } }
)toml";
}

SourceFile DefaultConfigSource() {
  return SourceFile{"<default config>", std::string(DefaultConfigToml())};
}

}  // namespace gh::control
