// /stats and /stats/prometheus: metrics collected from every worker, rendered
// as text, JSON or Prometheus exposition.
#include "admin/api_internal.h"
#include "admin/metrics.h"

namespace gh::admin::api_internal {

void HandleStats(Backend& backend, const Request& request, Reply reply, bool prometheus) {
  std::string format = prometheus ? "prometheus" : "text";
  if (const std::string* f = request.Param("format")) format = *f;
  if (format != "prometheus" && format != "json" && format != "text") {
    reply(Response::Text(400, "unknown format '" + format + "': use json, prometheus or text\n"));
    return;
  }
  backend.CollectStats(
      [&backend, format, reply = std::move(reply)](std::vector<gateway::WorkerStats> shards) {
        const ServerInfo info = backend.Info();
        const std::shared_ptr<const routing::Config> config = backend.Config();
        const std::map<std::string, std::string> namespaces = backend.KnownClusterNamespaces();
        MetricsInput input;
        input.server = &info;
        input.workers = &shards;
        input.config = config.get();
        input.cluster_namespaces = &namespaces;
        const auto families = BuildMetricFamilies(input);
        if (format == "json") {
          reply(Response::Json(200, RenderStatsJson(families)));
        } else if (format == "prometheus") {
          Response r = Response::Text(200, RenderPrometheus(families));
          r.content_type = "text/plain; version=0.0.4; charset=utf-8";
          reply(std::move(r));
        } else {
          reply(Response::Text(200, RenderStatsText(families)));
        }
      });
}

}  // namespace gh::admin::api_internal
