// `gatehouse explain`: which listener, server, virtual host and route a
// request takes, what the action resolves to, and for every earlier route the
// first condition that failed. Pure: runs on a compiled routing::Config.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "base/http.h"
#include "routing/matchers.h"
#include "routing/model.h"
#include "routing/tcp_route_table.h"

namespace gh::control {

struct ExplainRequest {
  std::string method = "GET";
  std::string url;  // absolute: "https://shop.example.com/api/x?q=1"
  http::HeaderMap headers;
  std::string sni;  // default: the URL host for https
  std::string source_ip = "127.0.0.1";
  std::string destination_ip;    // TCP/TLS destination_subnets; default: none
  std::optional<uint16_t> port;  // listener port; default: URL port, else 80/443
};

struct RouteTrace {
  std::string virtual_service;  // "namespace/name"
  uint32_t rule_index = 0;
  uint32_t match_index = 0;
  std::string name;        // route (rule) name
  std::string match_name;  // match entry name
  bool matched = false;
  std::string failed;  // first failed condition, e.g. `uri prefix "/api"`
};

struct DestinationTrace {
  std::string cluster;
  std::string host;
  uint16_t port = 0;
  std::string subset;
  uint32_t weight = 0;
  double percent = 0;
  std::string authority;  // upstream authority after rewrites
};

struct ExplainResult {
  // What happened, one of: "route", "redirect", "direct_response",
  // "not_found" (404 NR), "misdirected" (421), "bad_request" (400: path
  // rejected), "path_redirect" (307: escaped slashes), "no_listener",
  // "tcp_route", "no_tcp_route", "invalid_request".
  std::string outcome;
  uint32_t status = 0;  // local answer status; 0 when forwarded
  std::string error;    // invalid_request: why

  std::string method, scheme, authority, path, normalized_path, sni;
  uint16_t port = 0;

  const routing::Listener* listener = nullptr;
  const routing::Server* server = nullptr;
  std::string virtual_host;
  std::vector<RouteTrace> trace;  // every route tried, the match last
  const routing::Route* route = nullptr;
  const routing::TcpRoute* tcp_route = nullptr;

  // Resolved action.
  std::vector<DestinationTrace> destinations;
  std::string upstream_path;  // after rewrite (forwarded requests)
  std::string location;       // redirects (route or path normalisation)
  std::string body;           // direct responses
};

ExplainResult Explain(const routing::Config& config, const ExplainRequest& request);

std::string ExplainText(const ExplainResult& result);
// The stable JSON object documented in docs/configuration.md ("explain --json").
nlohmann::json ExplainJson(const ExplainResult& result);

// One line describing what a route does (used by explain and diff).
std::string DescribeAction(const routing::Route& route, const routing::Config& config);
std::string DescribeMatch(const routing::HttpMatch& match);

}  // namespace gh::control
