// The endpoint table, request parsing, the token check and dispatch; what
// the larger endpoints answer is rendered in the api_*.cc files.
#include "admin/api.h"

#include <openssl/crypto.h>

#include <array>

#include "admin/api_internal.h"
#include "base/log.h"
#include "base/strings.h"

namespace gh::admin {

using api_internal::HandleReload;
using api_internal::HandleStats;

namespace {

using nlohmann::json;

enum class Method : uint8_t { kGet, kPost };

struct Endpoint {
  std::string_view path;
  Method method;
  std::string_view help;
};

// Envoy's names where the semantics match (operator muscle memory).
constexpr std::array<Endpoint, 16> kEndpoints = {{
    {"/", Method::kGet, "this index"},
    {"/ready", Method::kGet, "200 LIVE once every worker runs the first config; 503 otherwise"},
    {"/healthz", Method::kGet, "200 while the process runs (liveness)"},
    {"/server_info", Method::kGet,
     "version, uptime, state, workers, config versions (desired and applied per worker)"},
    {"/stats", Method::kGet, "every metric as text; ?format=json for JSON, ?format=prometheus"},
    {"/stats/prometheus", Method::kGet, "Prometheus text exposition format 0.0.4"},
    {"/config_dump", Method::kGet,
     "effective config as JSON (secrets redacted), version, hash, last reload error"},
    {"/clusters", Method::kGet,
     "clusters: endpoints, health, active requests, pool connections, pending requests"},
    {"/listeners", Method::kGet, "listeners: names and bound addresses"},
    {"/certs", Method::kGet, "certificates: subject, SANs, SPIFFE ID, expiry"},
    {"/reload", Method::kPost,
     "reload the config (400 with every error when invalid); ?dry_run=1 shows the changes"},
    {"/drain", Method::kPost, "graceful drain: stop accepting, finish in-flight, exit 0"},
    {"/drain_listeners", Method::kPost, "alias of /drain"},
    {"/quitquitquit", Method::kPost, "exit now (in-flight requests are cut)"},
    {"/logging", Method::kPost,
     "application log levels: ?level=L (all), ?<component>=L, ?paths=a:L,b:L; no "
     "parameter lists them"},
    {"/help", Method::kGet, "this index"},
}};

const Endpoint* FindEndpoint(std::string_view path) {
  for (const Endpoint& e : kEndpoints) {
    if (e.path == path) return &e;
  }
  return nullptr;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// ---------------------------------------------------------------- handlers

std::string StateLine(const ServerInfo& info) {
  return info.state + "\n";
}

json ServerInfoJson(const ServerInfo& info) {
  json applied = json::array();
  for (uint64_t v : info.applied_versions)
    applied.push_back(v);
  return {
      {"version", info.version},
      {"state", info.state},
      {"ready", info.ready},
      {"uptime_seconds", info.uptime_seconds},
      {"pid", info.pid},
      {"workers", info.workers},
      {"admin_address", info.admin_address},
      {"command_line", {{"config", info.config_path}, {"watch_config", info.watch_config}}},
      {"config",
       {{"desired_version", info.desired_version},
        {"applied_versions", std::move(applied)},
        {"hash", info.config_hash},
        {"reloads", info.reloads},
        {"reload_failures", info.reload_failures},
        {"last_reload_error",
         info.last_reload_error.empty() ? json(nullptr) : json(info.last_reload_error)},
        {"last_publish_latency_ms", info.last_publish_latency_ms}}},
  };
}

Response NotFound() {
  return Response::Text(404, "no such endpoint\n\n" + Api::Index());
}

Response MethodNotAllowed(Method allowed) {
  Response r = Response::Text(405, std::string("method not allowed: use ") +
                                       (allowed == Method::kGet ? "GET" : "POST") + "\n");
  r.headers.push_back({"allow", allowed == Method::kGet ? "GET" : "POST"});
  return r;
}

// Bearer token check for mutating endpoints; nullopt when allowed.
std::optional<Response> CheckToken(Backend& backend, const Request& request) {
  std::optional<Result<std::string>> token = backend.AdminToken();
  if (!token.has_value()) return std::nullopt;  // no token_file configured
  if (!token->ok()) {
    GH_LOG(kAdmin, kError, "admin token unavailable: " << token->error().message);
    return Response::Text(403, "admin token unavailable; refusing mutating requests\n");
  }
  const std::string* authorization = request.headers.Get("authorization");
  constexpr std::string_view kBearer = "bearer ";
  if (authorization == nullptr || authorization->size() <= kBearer.size() ||
      !AsciiIEquals(std::string_view(*authorization).substr(0, kBearer.size()), kBearer)) {
    Response r = Response::Text(401, "authorization required: Authorization: Bearer <token>\n");
    r.headers.push_back({"www-authenticate", "Bearer realm=\"gatehouse-admin\""});
    return r;
  }
  const std::string_view presented =
      TrimOws(std::string_view(*authorization).substr(kBearer.size()));
  if (!ConstantTimeEquals(presented, **token)) {
    GH_LOG(kAdmin, kWarn,
           "admin request " << request.method << " " << request.path
                            << " refused: wrong bearer token");
    return Response::Text(403, "forbidden: wrong token\n");
  }
  return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------- Request / Response

Request Request::Make(std::string method, std::string target) {
  Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  const size_t q = r.target.find('?');
  r.path = PercentDecode(std::string_view(r.target).substr(0, q));
  if (q != std::string::npos) {
    for (std::string_view part : SplitList(std::string_view(r.target).substr(q + 1), '&')) {
      if (part.empty()) continue;
      const size_t eq = part.find('=');
      r.query.emplace_back(PercentDecode(part.substr(0, eq)),
                           eq == std::string_view::npos ? "" : PercentDecode(part.substr(eq + 1)));
    }
  }
  return r;
}

const std::string* Request::Param(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return &v;
  }
  return nullptr;
}

Response Response::Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::Json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  r.body.push_back('\n');
  return r;
}

// ---------------------------------------------------------------- Api

std::string Api::Index() {
  std::string out = "gatehouse admin\n\n";
  for (const Endpoint& e : kEndpoints) {
    std::string line =
        std::string(e.method == Method::kGet ? "GET  " : "POST ") + std::string(e.path);
    line.resize(std::max<size_t>(line.size() + 1, 24), ' ');
    out += line + std::string(e.help) + "\n";
  }
  return out;
}

void Api::Handle(const Request& request, Reply reply) {
  const Endpoint* endpoint = FindEndpoint(request.path);
  if (endpoint == nullptr) {
    reply(NotFound());
    return;
  }
  const bool get = request.method == "GET" || request.method == "HEAD";
  if ((endpoint->method == Method::kGet && !get) ||
      (endpoint->method == Method::kPost && request.method != "POST")) {
    reply(MethodNotAllowed(endpoint->method));
    return;
  }
  if (endpoint->method == Method::kPost) {
    if (std::optional<Response> refused = CheckToken(backend_, request)) {
      reply(std::move(*refused));
      return;
    }
    GH_LOG(kAdmin, kInfo, "admin: POST " << request.target);
  }
  const std::string_view path = request.path;
  if (path == "/" || path == "/help") {
    reply(Response::Text(200, Index()));
  } else if (path == "/ready") {
    const ServerInfo info = backend_.Info();
    reply(Response::Text(info.ready ? 200 : 503, StateLine(info)));
  } else if (path == "/healthz") {
    reply(Response::Text(200, "OK\n"));
  } else if (path == "/server_info") {
    reply(Response::Json(200, ServerInfoJson(backend_.Info())));
  } else if (path == "/stats" || path == "/stats/prometheus") {
    HandleStats(backend_, request, std::move(reply), path == "/stats/prometheus");
  } else if (path == "/config_dump") {
    const ServerInfo info = backend_.Info();
    std::shared_ptr<const routing::Config> config = backend_.Config();
    json out = {{"version", info.desired_version},
                {"applied_versions", info.applied_versions},
                {"hash", info.config_hash},
                {"last_reload_error",
                 info.last_reload_error.empty() ? json(nullptr) : json(info.last_reload_error)},
                {"reload_failures", info.reload_failures}};
    out["config"] = config != nullptr ? ConfigDump(*config) : json(nullptr);
    reply(Response::Json(200, out));
  } else if (path == "/clusters") {
    std::shared_ptr<const routing::Config> config = backend_.Config();
    backend_.CollectStats(
        [config, reply = std::move(reply)](std::vector<gateway::WorkerStats> shards) {
          gateway::WorkerStats merged;
          for (const gateway::WorkerStats& s : shards)
            merged.Merge(s);
          reply(Response::Json(200, config != nullptr ? ClustersJson(*config, merged)
                                                      : json{{"clusters", json::array()}}));
        });
  } else if (path == "/listeners") {
    std::shared_ptr<const routing::Config> config = backend_.Config();
    reply(Response::Json(200, config != nullptr ? ListenersJson(*config, backend_.ListenerPorts())
                                                : json{{"listeners", json::array()}}));
  } else if (path == "/certs") {
    reply(Response::Json(200, CertificatesJson(backend_.Certificates(), tls::NowSeconds())));
  } else if (path == "/reload") {
    HandleReload(backend_, request, std::move(reply));
  } else if (path == "/drain" || path == "/drain_listeners") {
    Response r = Response::Text(200, "draining\n");
    r.after = [this] { backend_.Drain(); };
    reply(std::move(r));
  } else if (path == "/quitquitquit") {
    Response r = Response::Text(200, "OK\n");
    r.after = [this] { backend_.Quit(); };
    reply(std::move(r));
  } else if (path == "/logging") {
    const std::string error = ApplyLogging(request);
    if (!error.empty()) {
      reply(Response::Text(400, error + "\n" + DescribeLogLevels()));
    } else {
      reply(Response::Text(200, DescribeLogLevels()));
    }
  } else {
    reply(NotFound());
  }
}

}  // namespace gh::admin
