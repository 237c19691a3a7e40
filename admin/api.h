// The admin API's endpoints, independent of sockets: a parsed request in, a
// response out (possibly later: stats come from the workers
// asynchronously). Everything it knows about the running process comes
// through Backend, so the endpoint rules (methods, auth, status codes,
// bodies) are testable without a server; admin/runtime.cc implements
// Backend over gateway::Server.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/http.h"
#include "base/result.h"
#include "control/diff.h"
#include "gateway/stats.h"
#include "routing/model.h"
#include "tls/cert_info.h"

namespace gh::admin {

struct Request {
  std::string method;
  std::string target;                                      // as received
  std::string path;                                        // without the query
  std::vector<std::pair<std::string, std::string>> query;  // percent-decoded, in order
  http::HeaderMap headers;
  std::string body;

  // Splits `target` into path and query.
  static Request Make(std::string method, std::string target);
  // The first value of a query parameter.
  const std::string* Param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<http::Header> headers;
  // Run after the response has been handed to the socket (e.g. quit).
  std::function<void()> after;

  static Response Text(int status, std::string body);
  static Response Json(int status, const nlohmann::json& body);
};

using Reply = std::function<void(Response)>;

// What /server_info, /ready and the gatehouse_* metrics report.
struct ServerInfo {
  std::string version;
  std::string state;  // INITIALIZING, LIVE, DRAINING, STOPPED
  bool ready = false;
  double uptime_seconds = 0;
  uint32_t workers = 0;
  int64_t pid = 0;
  std::string admin_address;  // bound address (real port when 0 was asked)
  std::string config_path;    // "" : the embedded default
  bool watch_config = false;
  uint64_t desired_version = 0;
  std::vector<uint64_t> applied_versions;  // per worker
  std::string config_hash;
  std::string last_reload_error;
  uint64_t reloads = 0;
  uint64_t reload_failures = 0;
  uint64_t dns_successes = 0;  // ServiceEntry name resolutions
  uint64_t dns_failures = 0;
  gateway::Histogram publish_latency_ms;
  double last_publish_latency_ms = 0;
  gateway::LoopLag main_loop_lag;
};

struct CertificateEntry {
  std::string path;
  std::string role;                  // "server", "client", "ca"
  std::string used_by;               // listener/server or cluster name
  std::vector<tls::CertInfo> chain;  // empty when `error` is set
  std::string error;
};

// The running process, as the admin API sees it. All calls on the main thread.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual ServerInfo Info() const = 0;
  virtual std::shared_ptr<const routing::Config> Config() const = 0;
  // Listener name -> bound port.
  virtual std::map<std::string, uint16_t> ListenerPorts() const = 0;
  // One shard per worker; `done` may run later (or never if the process stops).
  virtual void CollectStats(std::function<void(std::vector<gateway::WorkerStats>)> done) = 0;
  // Compile and publish; every error in one message on failure.
  virtual Result<uint64_t> Reload() = 0;
  // Compile without publishing and diff against the running config.
  virtual Result<std::vector<control::ConfigChange>> DryRun() = 0;
  virtual void Drain() = 0;
  virtual void Quit() = 0;
  virtual std::vector<CertificateEntry> Certificates() = 0;
  // The bearer token from `[admin] token_file`: nullopt when none is
  // configured, an error when it is configured but unreadable.
  virtual std::optional<Result<std::string>> AdminToken() = 0;
  // Cluster name -> service namespace of every cluster seen since start, so
  // a metric series keeps its labels after its cluster is removed.
  virtual std::map<std::string, std::string> KnownClusterNamespaces() { return {}; }
};

class Api {
 public:
  explicit Api(Backend& backend) : backend_(backend) {}
  // Answers `request` through `reply`, now or later (exactly once).
  void Handle(const Request& request, Reply reply);
  // The index of endpoints (GET / and the 404 body).
  static std::string Index();

 private:
  Backend& backend_;
};

// ---- renderers shared by the endpoints (pure; unit-tested) ----

// /config_dump: the effective config as JSON, secrets redacted.
nlohmann::json ConfigDump(const routing::Config& config);
// /clusters: config clusters joined with the workers' state.
nlohmann::json ClustersJson(const routing::Config& config, const gateway::WorkerStats& merged);
// /listeners
nlohmann::json ListenersJson(const routing::Config& config,
                             const std::map<std::string, uint16_t>& ports);
// /certs
nlohmann::json CertificatesJson(const std::vector<CertificateEntry>& entries, tls::UnixSeconds now);
// Every certificate file a config refers to (server chains, upstream client
// certificates, CA bundles; never private keys), with role and user, not read.
std::vector<CertificateEntry> CertificateReferences(const routing::Config& config);
// The same files, read with `read` and parsed.
std::vector<CertificateEntry> ConfigCertificates(
    const routing::Config& config,
    const std::function<Result<std::string>(const std::string&)>& read);
// /logging: applies `level=`, `<component>=<level>` and `paths=a:l,b:l`;
// returns the error text, or "" when every parameter was valid.
std::string ApplyLogging(const Request& request);
std::string DescribeLogLevels();

}  // namespace gh::admin
