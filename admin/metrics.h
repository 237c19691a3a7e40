// Metrics exposition: the workers' stats shards (merged here, at scrape
// time) and the main thread's figures become prometheus-cpp MetricFamily
// values, rendered by prometheus::TextSerializer (/stats/prometheus), as
// JSON (/stats?format=json) or as plain lines (/stats). Istio's standard
// metrics carry Istio's labels with reporter="source"; Gatehouse's own are
// named gatehouse_*. docs/metrics.md lists every name and label.
#pragma once

#include <prometheus/metric_family.h>

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "admin/api.h"
#include "gateway/stats.h"
#include "routing/model.h"

namespace gh::admin {

struct MetricsInput {
  const ServerInfo* server = nullptr;
  const std::vector<gateway::WorkerStats>* workers = nullptr;  // one per worker
  const routing::Config* config = nullptr;  // for identity and service labels; may be null
  // Cluster name -> service namespace for clusters no longer in `config`.
  const std::map<std::string, std::string>* cluster_namespaces = nullptr;
};

std::vector<prometheus::MetricFamily> BuildMetricFamilies(const MetricsInput& input);

// Prometheus text exposition format 0.0.4.
std::string RenderPrometheus(const std::vector<prometheus::MetricFamily>& families);
// {"stats": [{name, type, labels, value | count, sum, buckets}]}
nlohmann::json RenderStatsJson(const std::vector<prometheus::MetricFamily>& families);
// One line per series: `name{labels}: value` (histograms: count and sum).
std::string RenderStatsText(const std::vector<prometheus::MetricFamily>& families);

// Istio's destination_service_name for a host: the first label of a
// Kubernetes service name (`reviews.default.svc.cluster.local` ->
// `reviews`), else the host itself (ServiceEntry hosts).
std::string ServiceName(const std::string& host);

}  // namespace gh::admin
