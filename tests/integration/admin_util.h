// Helpers for tests that talk to the admin API of a running gatehouse:
// requests with curl, /server_info waits, and lookups in the Prometheus
// text exposition.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/integration/proxy_fixture.h"
#include "tests/support/harness.h"

namespace gh::test {

inline std::string AdminUrl(int admin_port, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(admin_port) + std::string(path);
}

// One admin request; `extra` are more curl arguments (e.g. -H).
inline CurlResult Admin(int admin_port, std::string_view method, std::string_view path,
                        std::vector<std::string> extra = {},
                        milliseconds timeout = milliseconds(10000)) {
  std::vector<std::string> args = {"-X", std::string(method)};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(AdminUrl(admin_port, path));
  return Curl(args, timeout);
}

inline Json ServerInfo(int admin_port) {
  CurlResult r = Admin(admin_port, "GET", "/server_info");
  if (r.status != 200) throw HarnessError("/server_info: " + r.Describe());
  return ParseJson(r.body);
}

// Waits until every worker runs `version` (or a later one).
inline bool WaitForApplied(int admin_port, uint64_t version,
                           milliseconds timeout = milliseconds(10000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    Json info = ServerInfo(admin_port);
    bool all = info["config"]["desired_version"].get<uint64_t>() >= version;
    for (const auto& v : info["config"]["applied_versions"])
      all = all && v.get<uint64_t>() >= version;
    if (all) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return false;
}

// Waits until /ready says LIVE: a listening port only means the sockets
// exist; the workers may still be applying the first snapshot.
inline bool WaitForReady(int admin_port, milliseconds timeout = milliseconds(10000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::optional<RawClient> c = RawClient::TryConnect(admin_port, milliseconds(1000));
    if (c && c->Send(BuildRequest("GET", "/ready")) &&
        c->ReadResponse(milliseconds(2000)).status == 200) {
      return true;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  return false;
}

inline std::string Scrape(int admin_port) {
  CurlResult r = Admin(admin_port, "GET", "/stats/prometheus");
  if (r.status != 200) throw HarnessError("/stats/prometheus: " + r.Describe());
  return r.body;
}

// A keep-alive admin client over a raw socket: much cheaper than a curl
// process per request when a test polls /server_info in a tight loop.
class AdminClient {
 public:
  explicit AdminClient(int port) : port_(port) {}

  HttpResponse Call(std::string_view method, std::string_view path, const Headers& headers = {}) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!conn_) conn_ = RawClient::TryConnect(port_, milliseconds(3000));
      if (!conn_) break;
      if (conn_->Send(BuildRequest(method, path, headers))) {
        HttpResponse r = conn_->ReadResponse(milliseconds(10000));
        if (r.ok) {
          if (r.peer_closed) conn_.reset();
          return r;
        }
      }
      conn_.reset();  // closed while idle: retry once on a new connection
    }
    throw HarnessError("admin " + std::string(method) + " " + std::string(path) + " failed");
  }

  Json Info() {
    HttpResponse r = Call("GET", "/server_info");
    if (r.status != 200) throw HarnessError("/server_info: " + r.Describe());
    return ParseJson(r.body);
  }

  bool WaitForApplied(uint64_t version, milliseconds timeout = milliseconds(10000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      Json info = Info();
      bool all = info["config"]["desired_version"].get<uint64_t>() >= version;
      for (const auto& v : info["config"]["applied_versions"])
        all = all && v.get<uint64_t>() >= version;
      if (all) return true;
      std::this_thread::sleep_for(milliseconds(2));
    }
    return false;
  }

 private:
  int port_;
  std::optional<RawClient> conn_;
};

// One GET on a new connection (Connection: close); status 0 when refused.
inline HttpResponse GetOnce(int port, std::string_view path,
                            milliseconds timeout = milliseconds(5000)) {
  std::optional<RawClient> c = RawClient::TryConnect(port, milliseconds(2000));
  if (!c) return {};
  c->Send(BuildRequest("GET", path, {{"Host", "127.0.0.1"}, {"Connection", "close"}}));
  return c->ReadResponse(timeout);
}

struct MetricMatch {
  double value = 0;  // sum over matching series
  int series = 0;    // how many series matched
};

// Series of `name` (exactly: `name{...}` or `name value`) whose labels
// include every `labels` pair.
inline MetricMatch FindMetric(const std::string& exposition, std::string_view name,
                              const std::vector<std::pair<std::string, std::string>>& labels = {}) {
  MetricMatch m;
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.compare(0, name.size(), name) != 0) continue;
    if (line.size() <= name.size() || (line[name.size()] != '{' && line[name.size()] != ' ')) {
      continue;
    }
    bool all = true;
    for (const auto& [k, v] : labels) {
      const std::string want = k + "=\"" + v + "\"";
      const size_t at = line.find(want);
      // The label must start right after '{' or ','.
      if (at == std::string::npos || (line[at - 1] != '{' && line[at - 1] != ',')) all = false;
    }
    if (!all) continue;
    const size_t space = line.rfind(' ');
    m.value += std::stod(line.substr(space + 1));
    ++m.series;
  }
  return m;
}

inline double MetricValue(const std::string& exposition, std::string_view name,
                          const std::vector<std::pair<std::string, std::string>>& labels = {}) {
  return FindMetric(exposition, name, labels).value;
}

}  // namespace gh::test

namespace gh::test {

// Like ProxyEnv (proxy_fixture.h), with the [proxy] keys ProxyEnv fixes
// (workers, access_log) chosen by the test.
struct GatewaySetup {
  int workers = 1;
  std::string access_log = "stdout";
  std::string proxy_keys;  // more [proxy] lines
  std::string route_keys;  // more keys of the catch-all route
};

inline std::string GatewayConfig(int port, int upstream, const GatewaySetup& setup) {
  std::string config = Subst(kProxyConfig, {{"PORT", std::to_string(port)},
                                            {"UPSTREAM", std::to_string(upstream)},
                                            {"PROXY", setup.proxy_keys},
                                            {"ROUTE", setup.route_keys}});
  auto replace = [&](const std::string& from, const std::string& to) {
    const size_t at = config.find(from);
    if (at != std::string::npos) config.replace(at, from.size(), to);
  };
  replace("workers = 1", "workers = " + std::to_string(setup.workers));
  replace("access_log = \"stdout\"", "access_log = \"" + setup.access_log + "\"");
  return config;
}

class GatewayEnv {
 public:
  explicit GatewayEnv(const GatewaySetup& setup = {})
      : upstream_(UpstreamProcess::Start()),
        port_(FreePort()),
        gateway_(GatehouseProcess::Start(GatewayConfig(port_, upstream_.Port(), setup),
                                         {.wait_ports = {port_}, .wait_admin = true})) {
    if (!WaitForReady(gateway_.AdminPort())) throw HarnessError("gatehouse never became ready");
  }
  int port() const { return port_; }
  std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  UpstreamProcess& upstream() { return upstream_; }
  GatehouseProcess& gateway() { return gateway_; }
  int admin() const { return gateway_.AdminPort(); }

 private:
  UpstreamProcess upstream_;
  int port_;
  GatehouseProcess gateway_;
};

}  // namespace gh::test
