#include "admin/metrics.h"

#include <prometheus/text_serializer.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>

namespace gh::admin {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

const std::string kUnknown = "unknown";

MetricFamily& AddFamily(std::vector<MetricFamily>& out, std::string name, std::string help,
                        MetricType type) {
  MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  out.push_back(std::move(family));
  return out.back();
}

void AddCounter(MetricFamily& family, Labels labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = value;
  family.metric.push_back(std::move(m));
}

void AddGauge(MetricFamily& family, Labels labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  family.metric.push_back(std::move(m));
}

void AddHistogram(MetricFamily& family, Labels labels, const gateway::Histogram& h) {
  ClientMetric m;
  m.label = std::move(labels);
  m.histogram.sample_count = h.count;
  m.histogram.sample_sum = h.sum;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < gateway::kDefaultBuckets.size(); ++i) {
    cumulative += h.counts[i];
    m.histogram.bucket.push_back({cumulative, gateway::kDefaultBuckets[i]});
  }
  cumulative += h.counts.back();
  m.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
  family.metric.push_back(std::move(m));
}

// Identity of this gateway (Istio's source_* labels): from [mesh].
struct SourceIdentity {
  std::string workload = "gatehouse";
  std::string workload_namespace = kUnknown;
  std::string principal = kUnknown;
};

SourceIdentity IdentityOf(const routing::Config* config) {
  SourceIdentity id;
  if (config == nullptr) return id;
  const routing::MeshSettings& mesh = config->mesh;
  if (!mesh.service_account.empty()) id.workload = mesh.service_account;
  if (!mesh.namespace_name.empty()) id.workload_namespace = mesh.namespace_name;
  if (mesh.enabled) {
    id.principal = "spiffe://" + mesh.trust_domain + "/ns/" + mesh.namespace_name + "/sa/" +
                   mesh.service_account;
  }
  return id;
}

std::string OrUnknown(const std::string& value) {
  return value.empty() ? kUnknown : value;
}

// Istio's standard label set, reporter="source" (a gateway reports as the
// client side of every request it forwards).
Labels IstioLabels(const SourceIdentity& source, const std::string& destination_service,
                   const std::string& destination_namespace) {
  const std::string service = OrUnknown(destination_service);
  return {
      {"reporter", "source"},
      {"source_workload", source.workload},
      {"source_workload_namespace", source.workload_namespace},
      {"source_principal", source.principal},
      {"source_app", source.workload},
      {"source_version", kUnknown},
      {"source_canonical_service", source.workload},
      {"source_canonical_revision", kUnknown},
      {"source_cluster", kUnknown},
      {"destination_workload", kUnknown},
      {"destination_workload_namespace", kUnknown},
      {"destination_principal", kUnknown},
      {"destination_app", kUnknown},
      {"destination_version", kUnknown},
      {"destination_service", service},
      {"destination_service_name", service == kUnknown ? kUnknown : ServiceName(service)},
      {"destination_service_namespace", OrUnknown(destination_namespace)},
      {"destination_canonical_service", kUnknown},
      {"destination_canonical_revision", kUnknown},
      {"destination_cluster", kUnknown},
  };
}

// Cluster name -> the namespace of its service: the caller's record of every
// config seen (so a series keeps its labels after its cluster is removed),
// plus the running config.
std::map<std::string, std::string> ClusterNamespaces(const MetricsInput& input) {
  std::map<std::string, std::string> out;
  if (input.cluster_namespaces != nullptr) out = *input.cluster_namespaces;
  if (input.config != nullptr) {
    for (const routing::Cluster& c : input.config->clusters)
      out[c.name] = c.service_namespace;
  }
  return out;
}

const std::string& NamespaceOf(const std::map<std::string, std::string>& namespaces,
                               const std::string& cluster) {
  auto it = namespaces.find(cluster);
  return it != namespaces.end() ? it->second : kUnknown;
}

void IstioMetrics(const MetricsInput& input, const gateway::WorkerStats& merged,
                  std::vector<MetricFamily>& out) {
  const SourceIdentity source = IdentityOf(input.config);
  const auto namespaces = ClusterNamespaces(input);

  // Request metrics: several label sets of the worker shards (e.g. the same
  // service through two clusters) can map to one Istio series: merge first.
  std::map<Labels, gateway::RequestMetrics> series;
  for (const auto& [labels, metrics] : merged.requests) {
    Labels l = IstioLabels(source, labels.destination_service,
                           NamespaceOf(namespaces, labels.destination_cluster));
    l.push_back({"request_protocol", OrUnknown(labels.request_protocol)});
    l.push_back({"response_code", OrUnknown(labels.response_code)});
    l.push_back({"grpc_response_status", labels.grpc_response_status});
    l.push_back({"response_flags", labels.response_flags.empty() ? "-" : labels.response_flags});
    l.push_back({"connection_security_policy", kUnknown});
    series[std::move(l)].Merge(metrics);
  }
  MetricFamily& total =
      AddFamily(out, "istio_requests_total", "Requests handled, by Istio's standard labels.",
                MetricType::Counter);
  MetricFamily& duration =
      AddFamily(out, "istio_request_duration_milliseconds",
                "Request duration in milliseconds (Envoy's buckets).", MetricType::Histogram);
  MetricFamily& request_bytes =
      AddFamily(out, "istio_request_bytes", "Request body sizes in bytes.", MetricType::Histogram);
  MetricFamily& response_bytes = AddFamily(out, "istio_response_bytes",
                                           "Response body sizes in bytes.", MetricType::Histogram);
  for (const auto& [labels, metrics] : series) {
    AddCounter(total, labels, static_cast<double>(metrics.total));
    AddHistogram(duration, labels, metrics.duration_ms);
    AddHistogram(request_bytes, labels, metrics.request_bytes);
    AddHistogram(response_bytes, labels, metrics.response_bytes);
  }

  std::map<Labels, gateway::TcpMetrics> tcp;
  for (const auto& [labels, metrics] : merged.tcp) {
    Labels l = IstioLabels(source, labels.destination_service, kUnknown);
    l.push_back({"request_protocol", "tcp"});
    l.push_back({"response_flags", labels.response_flags.empty() ? "-" : labels.response_flags});
    l.push_back({"connection_security_policy", kUnknown});
    gateway::TcpMetrics& m = tcp[std::move(l)];
    m.opened += metrics.opened;
    m.closed += metrics.closed;
    m.sent_bytes += metrics.sent_bytes;
    m.received_bytes += metrics.received_bytes;
  }
  MetricFamily& sent = AddFamily(out, "istio_tcp_sent_bytes_total",
                                 "Bytes sent to downstream in TCP sessions.", MetricType::Counter);
  MetricFamily& received =
      AddFamily(out, "istio_tcp_received_bytes_total",
                "Bytes received from downstream in TCP sessions.", MetricType::Counter);
  MetricFamily& opened = AddFamily(out, "istio_tcp_connections_opened_total",
                                   "TCP sessions opened.", MetricType::Counter);
  MetricFamily& closed = AddFamily(out, "istio_tcp_connections_closed_total",
                                   "TCP sessions closed.", MetricType::Counter);
  for (const auto& [labels, m] : tcp) {
    AddCounter(sent, labels, static_cast<double>(m.sent_bytes));
    AddCounter(received, labels, static_cast<double>(m.received_bytes));
    AddCounter(opened, labels, static_cast<double>(m.opened));
    AddCounter(closed, labels, static_cast<double>(m.closed));
  }
}

void ByKey(std::vector<MetricFamily>& out, std::string name, std::string help,
           const std::string& label, const std::map<std::string, uint64_t>& values) {
  MetricFamily& family = AddFamily(out, std::move(name), std::move(help), MetricType::Counter);
  for (const auto& [key, value] : values)
    AddCounter(family, {{label, key}}, static_cast<double>(value));
}

void GatehouseMetrics(const MetricsInput& input, const gateway::WorkerStats& merged,
                      std::vector<MetricFamily>& out) {
  const ServerInfo& server = *input.server;
  AddGauge(AddFamily(out, "gatehouse_build_info", "Build version (value 1).", MetricType::Gauge),
           {{"version", server.version}}, 1);
  {
    MetricFamily& f = AddFamily(out, "gatehouse_server_state",
                                "1 for the server's current state (INITIALIZING, LIVE, "
                                "DRAINING), 0 for the others.",
                                MetricType::Gauge);
    for (const char* state : {"INITIALIZING", "LIVE", "DRAINING"})
      AddGauge(f, {{"state", state}}, server.state == state ? 1 : 0);
  }
  AddGauge(AddFamily(out, "gatehouse_uptime_seconds", "Seconds since start.", MetricType::Gauge),
           {}, server.uptime_seconds);
  AddGauge(AddFamily(out, "gatehouse_workers", "Worker threads.", MetricType::Gauge), {},
           server.workers);

  // Downstream connections.
  AddGauge(AddFamily(out, "gatehouse_downstream_cx_active", "Open downstream connections.",
                     MetricType::Gauge),
           {}, static_cast<double>(merged.downstream_cx_active));
  AddCounter(AddFamily(out, "gatehouse_downstream_cx_total", "Downstream connections accepted.",
                       MetricType::Counter),
             {}, static_cast<double>(merged.downstream_cx_total));
  AddCounter(AddFamily(out, "gatehouse_downstream_cx_rejected_total",
                       "Downstream connections closed at accept: over [proxy] "
                       "max_connections, or draining.",
                       MetricType::Counter),
             {}, static_cast<double>(merged.downstream_cx_rejected));
  ByKey(out, "gatehouse_downstream_protocol_errors_total",
        "Downstream requests refused as malformed, by reason.", "reason",
        merged.downstream_protocol_errors);
  ByKey(out, "gatehouse_http2_violations_total", "HTTP/2 protocol violations by peers, by kind.",
        "kind", merged.http2_violations);

  // Upstream connections and pools.
  AddCounter(AddFamily(out, "gatehouse_upstream_cx_total", "Upstream connections opened.",
                       MetricType::Counter),
             {}, static_cast<double>(merged.upstream_cx_total));
  AddCounter(
      AddFamily(out, "gatehouse_upstream_cx_connect_fail_total",
                "Upstream connection attempts that failed or timed out.", MetricType::Counter),
      {}, static_cast<double>(merged.upstream_cx_connect_fail));
  {
    MetricFamily& active =
        AddFamily(out, "gatehouse_upstream_cx_active",
                  "Upstream pool connections busy or connecting, by cluster.", MetricType::Gauge);
    MetricFamily& idle =
        AddFamily(out, "gatehouse_upstream_cx_idle",
                  "Upstream pool connections idle (keep-alive), by cluster.", MetricType::Gauge);
    MetricFamily& pending = AddFamily(
        out, "gatehouse_upstream_rq_pending",
        "Requests waiting for an upstream pool connection, by cluster.", MetricType::Gauge);
    MetricFamily& requests = AddFamily(out, "gatehouse_upstream_rq_active",
                                       "Requests in flight to a cluster.", MetricType::Gauge);
    // Live and retired (draining) states of one cluster add up.
    struct PoolFigures {
      uint64_t active = 0, idle = 0, pending = 0, requests = 0;
    };
    std::map<std::string, PoolFigures> by_name;
    for (const auto& [key, stats] : merged.clusters) {
      const size_t retired = key.rfind("#retired");
      PoolFigures& p = by_name[retired == std::string::npos ? key : key.substr(0, retired)];
      p.requests += stats.active_requests;
      p.pending += stats.pending_requests;
      for (const gateway::EndpointStats& e : stats.endpoints) {
        p.active += e.connections_active;
        p.idle += e.connections_idle;
      }
    }
    for (const auto& [name, p] : by_name) {
      AddGauge(active, {{"cluster", name}}, static_cast<double>(p.active));
      AddGauge(idle, {{"cluster", name}}, static_cast<double>(p.idle));
      AddGauge(pending, {{"cluster", name}}, static_cast<double>(p.pending));
      AddGauge(requests, {{"cluster", name}}, static_cast<double>(p.requests));
    }
  }
  {
    MetricFamily& f = AddFamily(out, "gatehouse_mirror_requests_total",
                                "Request mirrors, by outcome (started, failed, "
                                "skipped: body too large to copy).",
                                MetricType::Counter);
    AddCounter(f, {{"outcome", "started"}}, static_cast<double>(merged.mirrors_started));
    AddCounter(f, {{"outcome", "failed"}}, static_cast<double>(merged.mirrors_failed));
    AddCounter(f, {{"outcome", "skipped"}}, static_cast<double>(merged.mirrors_skipped));
  }

  // TLS.
  ByKey(out, "gatehouse_tls_handshakes_total", "Completed downstream TLS handshakes, by listener.",
        "listener", merged.tls_handshakes);
  ByKey(out, "gatehouse_tls_handshake_failures_total", "Failed TLS handshakes, by reason.",
        "reason", merged.tls_handshake_failures);

  // Config.
  AddGauge(AddFamily(out, "gatehouse_config_desired_version",
                     "The newest config version published.", MetricType::Gauge),
           {}, static_cast<double>(server.desired_version));
  {
    MetricFamily& f = AddFamily(out, "gatehouse_config_applied_version",
                                "The config version each worker runs.", MetricType::Gauge);
    for (size_t i = 0; i < server.applied_versions.size(); ++i) {
      AddGauge(f, {{"worker", std::to_string(i)}}, static_cast<double>(server.applied_versions[i]));
    }
  }
  AddGauge(AddFamily(out, "gatehouse_config_info",
                     "Content hash of the running config's sources (value 1).", MetricType::Gauge),
           {{"hash", server.config_hash}}, 1);
  AddCounter(AddFamily(out, "gatehouse_config_reloads_total",
                       "Reload attempts (SIGHUP, POST /reload, file watch).", MetricType::Counter),
             {}, static_cast<double>(server.reloads));
  AddCounter(AddFamily(out, "gatehouse_config_reload_failures_total",
                       "Reloads rejected (invalid config or listener bind failure); the "
                       "running config stayed.",
                       MetricType::Counter),
             {}, static_cast<double>(server.reload_failures));
  {
    MetricFamily& f = AddFamily(out, "gatehouse_dns_resolutions_total",
                                "Resolutions of service_entry names (resolution DNS / "
                                "DNS_ROUND_ROBIN), by result; a failure keeps the last good "
                                "addresses.",
                                MetricType::Counter);
    AddCounter(f, {{"result", "success"}}, static_cast<double>(server.dns_successes));
    AddCounter(f, {{"result", "failure"}}, static_cast<double>(server.dns_failures));
  }
  AddHistogram(AddFamily(out, "gatehouse_config_publish_latency_milliseconds",
                         "From posting a snapshot to the last worker's acknowledgement.",
                         MetricType::Histogram),
               {}, server.publish_latency_ms);

  // Event loops.
  {
    MetricFamily& hist =
        AddFamily(out, "gatehouse_event_loop_lag_milliseconds",
                  "How late a 100 ms timer fires on each event loop.", MetricType::Histogram);
    MetricFamily& last =
        AddFamily(out, "gatehouse_event_loop_lag_last_milliseconds",
                  "The latest event-loop lag sample, per loop.", MetricType::Gauge);
    AddHistogram(hist, {{"loop", "main"}}, server.main_loop_lag.histogram);
    AddGauge(last, {{"loop", "main"}}, server.main_loop_lag.last_ms);
    for (size_t i = 0; i < input.workers->size(); ++i) {
      const gateway::WorkerStats& w = (*input.workers)[i];
      const std::string loop = "worker_" + std::to_string(i);
      AddHistogram(hist, {{"loop", loop}}, w.loop_lag.histogram);
      AddGauge(last, {{"loop", loop}}, w.loop_lag.last_ms);
    }
  }
}

std::string FormatValue(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);  // shortest round trip
  return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
}

std::string LabelText(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i != 0) out += ",";
    out += labels[i].name + "=\"" + labels[i].value + "\"";
  }
  return out + "}";
}

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Histogram:
      return "histogram";
    case MetricType::Summary:
      return "summary";
    default:
      return "untyped";
  }
}

}  // namespace

std::string ServiceName(const std::string& host) {
  const size_t svc = host.find(".svc.");
  if (svc != std::string::npos) {
    const size_t dot = host.find('.');
    return host.substr(0, dot);
  }
  return host;
}

std::vector<MetricFamily> BuildMetricFamilies(const MetricsInput& input) {
  gateway::WorkerStats merged;
  for (const gateway::WorkerStats& w : *input.workers)
    merged.Merge(w);
  std::vector<MetricFamily> out;
  out.reserve(48);
  IstioMetrics(input, merged, out);
  GatehouseMetrics(input, merged, out);
  return out;
}

std::string RenderPrometheus(const std::vector<MetricFamily>& families) {
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, families);
  return os.str();
}

nlohmann::json RenderStatsJson(const std::vector<MetricFamily>& families) {
  nlohmann::json stats = nlohmann::json::array();
  for (const MetricFamily& family : families) {
    for (const ClientMetric& m : family.metric) {
      nlohmann::json entry;
      entry["name"] = family.name;
      entry["type"] = TypeName(family.type);
      nlohmann::json labels = nlohmann::json::object();
      for (const auto& l : m.label)
        labels[l.name] = l.value;
      entry["labels"] = std::move(labels);
      switch (family.type) {
        case MetricType::Counter:
          entry["value"] = m.counter.value;
          break;
        case MetricType::Gauge:
          entry["value"] = m.gauge.value;
          break;
        case MetricType::Histogram: {
          entry["count"] = m.histogram.sample_count;
          entry["sum"] = m.histogram.sample_sum;
          nlohmann::json buckets = nlohmann::json::array();
          for (const auto& b : m.histogram.bucket) {
            buckets.push_back({{"le", FormatValue(b.upper_bound)}, {"count", b.cumulative_count}});
          }
          entry["buckets"] = std::move(buckets);
          break;
        }
        default:
          entry["value"] = m.untyped.value;
          break;
      }
      stats.push_back(std::move(entry));
    }
  }
  return nlohmann::json{{"stats", std::move(stats)}};
}

std::string RenderStatsText(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const MetricFamily& family : families) {
    for (const ClientMetric& m : family.metric) {
      out += family.name + LabelText(m.label) + ": ";
      switch (family.type) {
        case MetricType::Counter:
          out += FormatValue(m.counter.value);
          break;
        case MetricType::Gauge:
          out += FormatValue(m.gauge.value);
          break;
        case MetricType::Histogram:
          out += "count=" + std::to_string(m.histogram.sample_count) +
                 " sum=" + FormatValue(m.histogram.sample_sum);
          break;
        default:
          out += FormatValue(m.untyped.value);
          break;
      }
      out += "\n";
    }
  }
  return out;
}

}  // namespace gh::admin
