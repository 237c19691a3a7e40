// Metric families from known stats shards: exact names, labels and values
// in the Prometheus text the serializer writes.
#include "admin/metrics.h"

#include <gtest/gtest.h>

#include "control/config_watcher.h"

namespace gh::admin {
namespace {

// The labels every istio_* series starts with, for a gateway with the
// default [mesh] identity and a destination in namespace `ns`.
std::string IstioPrefix(const std::string& service, const std::string& ns) {
  const std::string name = service == "unknown" ? "unknown" : ServiceName(service);
  return "reporter=\"source\",source_workload=\"gatehouse\",source_workload_namespace=\"default\","
         "source_principal=\"unknown\",source_app=\"gatehouse\",source_version=\"unknown\","
         "source_canonical_service=\"gatehouse\",source_canonical_revision=\"unknown\","
         "source_cluster=\"unknown\",destination_workload=\"unknown\","
         "destination_workload_namespace=\"unknown\",destination_principal=\"unknown\","
         "destination_app=\"unknown\",destination_version=\"unknown\",destination_service=\"" +
         service + "\",destination_service_name=\"" + name + "\",destination_service_namespace=\"" +
         ns +
         "\",destination_canonical_service=\"unknown\",destination_canonical_revision=\"unknown\","
         "destination_cluster=\"unknown\"";
}

gateway::RequestLabels Labels(const std::string& service, const std::string& cluster,
                              const std::string& code, const std::string& flags) {
  gateway::RequestLabels l;
  l.destination_service = service;
  l.destination_cluster = cluster;
  l.response_code = code;
  l.response_flags = flags;
  l.request_protocol = "http";
  return l;
}

void Record(gateway::WorkerStats& s, const gateway::RequestLabels& l, double ms, double in,
            double out) {
  gateway::RequestMetrics& m = s.requests[l];
  ++m.total;
  m.duration_ms.Observe(ms);
  m.request_bytes.Observe(in);
  m.response_bytes.Observe(out);
}

struct Rendered {
  std::string text;
  bool Has(const std::string& line) const {
    return text.find("\n" + line + "\n") != std::string::npos;
  }
};

Rendered Render(const std::vector<gateway::WorkerStats>& workers, const routing::Config* config,
                const std::map<std::string, std::string>* namespaces = nullptr) {
  ServerInfo info;
  info.version = "9.9.9";
  info.state = "LIVE";
  info.workers = static_cast<uint32_t>(workers.size());
  info.desired_version = 4;
  info.applied_versions = {4, 3};
  info.config_hash = "abc";
  info.reloads = 5;
  info.reload_failures = 2;
  info.publish_latency_ms.Observe(0.3);
  info.publish_latency_ms.Observe(7);
  MetricsInput input;
  input.server = &info;
  input.workers = &workers;
  input.config = config;
  input.cluster_namespaces = namespaces;
  return {"\n" + RenderPrometheus(BuildMetricFamilies(input))};
}

TEST(Metrics, RequestCountsAndHistogramsMergeAcrossWorkers) {
  routing::Config config;
  routing::Cluster cluster;
  cluster.name = "outbound|80||reviews.shop.svc.cluster.local";
  cluster.host = "reviews.shop.svc.cluster.local";
  cluster.service_namespace = "shop";
  config.clusters.push_back(cluster);

  std::vector<gateway::WorkerStats> workers(2);
  const auto ok = Labels(cluster.host, cluster.name, "200", "-");
  const auto nr = Labels("unknown", "unknown", "404", "NR");
  Record(workers[0], ok, 3, 10, 100);
  Record(workers[0], ok, 30, 0, 2000);
  Record(workers[1], ok, 0.2, 10, 100);
  Record(workers[1], nr, 1, 0, 0);
  Rendered r = Render(workers, &config);

  const std::string ok_labels = IstioPrefix(cluster.host, "shop") +
                                ",request_protocol=\"http\",response_code=\"200\","
                                "grpc_response_status=\"\",response_flags=\"-\","
                                "connection_security_policy=\"unknown\"";
  EXPECT_TRUE(r.Has("istio_requests_total{" + ok_labels + "} 3")) << r.text;
  EXPECT_TRUE(r.Has("istio_request_duration_milliseconds_count{" + ok_labels + "} 3"));
  EXPECT_TRUE(r.Has("istio_request_duration_milliseconds_sum{" + ok_labels + "} 33.2"));
  // Cumulative buckets: 0.2 <= 0.5; 3 <= 5; 30 <= 50.
  EXPECT_TRUE(r.Has("istio_request_duration_milliseconds_bucket{" + ok_labels + ",le=\"0.5\"} 1"));
  EXPECT_TRUE(r.Has("istio_request_duration_milliseconds_bucket{" + ok_labels + ",le=\"1\"} 1"));
  EXPECT_TRUE(r.Has("istio_request_duration_milliseconds_bucket{" + ok_labels + ",le=\"5\"} 2"));
  EXPECT_TRUE(r.Has("istio_request_duration_milliseconds_bucket{" + ok_labels + ",le=\"25\"} 2"));
  EXPECT_TRUE(r.Has("istio_request_duration_milliseconds_bucket{" + ok_labels + ",le=\"50\"} 3"));
  EXPECT_TRUE(
      r.Has("istio_request_duration_milliseconds_bucket{" + ok_labels + ",le=\"3600000\"} 3"));
  EXPECT_TRUE(r.Has("istio_request_duration_milliseconds_bucket{" + ok_labels + ",le=\"+Inf\"} 3"));
  EXPECT_TRUE(r.Has("istio_request_bytes_sum{" + ok_labels + "} 20"));
  EXPECT_TRUE(r.Has("istio_response_bytes_sum{" + ok_labels + "} 2200"));
  EXPECT_TRUE(r.Has("istio_response_bytes_bucket{" + ok_labels + ",le=\"100\"} 2"));

  const std::string nr_labels = IstioPrefix("unknown", "unknown") +
                                ",request_protocol=\"http\",response_code=\"404\","
                                "grpc_response_status=\"\",response_flags=\"NR\","
                                "connection_security_policy=\"unknown\"";
  EXPECT_TRUE(r.Has("istio_requests_total{" + nr_labels + "} 1")) << r.text;
  EXPECT_TRUE(r.Has("# TYPE istio_requests_total counter"));
  EXPECT_TRUE(r.Has("# TYPE istio_request_duration_milliseconds histogram"));
}

TEST(Metrics, RemovedClusterKeepsItsNamespaceLabel) {
  std::vector<gateway::WorkerStats> workers(1);
  Record(workers[0], Labels("gone.internal", "outbound|80||gone.internal", "200", "-"), 1, 0, 0);
  const std::map<std::string, std::string> seen = {{"outbound|80||gone.internal", "legacy"}};
  const routing::Config config;  // the cluster is no longer in it
  Rendered r = Render(workers, &config, &seen);
  EXPECT_NE(r.text.find(IstioPrefix("gone.internal", "legacy")), std::string::npos) << r.text;
  Rendered unseen = Render(workers, &config);
  EXPECT_NE(unseen.text.find(IstioPrefix("gone.internal", "unknown")), std::string::npos);
}

TEST(Metrics, TcpMetricsCarryIstioLabels) {
  std::vector<gateway::WorkerStats> workers(2);
  gateway::TcpLabels l{"db.internal", "-"};
  workers[0].tcp[l] = {2, 1, 300, 40};
  workers[1].tcp[l] = {1, 1, 10, 2};
  const routing::Config config;
  Rendered r = Render(workers, &config);
  const std::string labels = IstioPrefix("db.internal", "unknown") +
                             ",request_protocol=\"tcp\",response_flags=\"-\","
                             "connection_security_policy=\"unknown\"";
  EXPECT_TRUE(r.Has("istio_tcp_connections_opened_total{" + labels + "} 3")) << r.text;
  EXPECT_TRUE(r.Has("istio_tcp_connections_closed_total{" + labels + "} 2"));
  EXPECT_TRUE(r.Has("istio_tcp_sent_bytes_total{" + labels + "} 310"));
  EXPECT_TRUE(r.Has("istio_tcp_received_bytes_total{" + labels + "} 42"));
}

TEST(Metrics, GatehouseInternals) {
  std::vector<gateway::WorkerStats> workers(2);
  workers[0].downstream_cx_total = 10;
  workers[0].downstream_cx_active = 2;
  workers[1].downstream_cx_total = 5;
  workers[1].downstream_cx_rejected = 3;
  workers[0].downstream_protocol_errors["header_name_with_underscore"] = 2;
  workers[1].http2_violations["rapid_reset"] = 4;
  workers[0].tls_handshakes["0.0.0.0_443"] = 7;
  workers[1].tls_handshake_failures["no_shared_cipher"] = 1;
  workers[0].upstream_cx_total = 6;
  workers[1].upstream_cx_connect_fail = 1;
  gateway::ClusterStats live;
  live.host = "a.internal";
  live.active_requests = 3;
  live.pending_requests = 1;
  live.endpoints.push_back({"127.0.0.1:1", true, 3, 2, 4, 1});
  workers[0].clusters["outbound|80||a.internal"] = live;
  workers[1].clusters["outbound|80||a.internal"] = live;
  gateway::ClusterStats retired = live;
  retired.retired = true;
  retired.active_requests = 1;
  retired.pending_requests = 0;
  retired.endpoints = {{"127.0.0.1:1", true, 1, 1, 0, 0}};
  workers[1].clusters["outbound|80||a.internal#retired"] = retired;
  workers[0].loop_lag.Record(2);
  workers[1].loop_lag.Record(700);
  Rendered r = Render(workers, nullptr);

  EXPECT_TRUE(r.Has("gatehouse_build_info{version=\"9.9.9\"} 1")) << r.text;
  EXPECT_TRUE(r.Has("gatehouse_server_state{state=\"LIVE\"} 1"));
  EXPECT_TRUE(r.Has("gatehouse_server_state{state=\"DRAINING\"} 0"));
  EXPECT_TRUE(r.Has("gatehouse_downstream_cx_total 15"));
  EXPECT_TRUE(r.Has("gatehouse_downstream_cx_active 2"));
  EXPECT_TRUE(r.Has("gatehouse_downstream_cx_rejected_total 3"));
  EXPECT_TRUE(r.Has(
      "gatehouse_downstream_protocol_errors_total{reason=\"header_name_with_underscore\"} 2"));
  EXPECT_TRUE(r.Has("gatehouse_http2_violations_total{kind=\"rapid_reset\"} 4"));
  EXPECT_TRUE(r.Has("gatehouse_tls_handshakes_total{listener=\"0.0.0.0_443\"} 7"));
  EXPECT_TRUE(r.Has("gatehouse_tls_handshake_failures_total{reason=\"no_shared_cipher\"} 1"));
  EXPECT_TRUE(r.Has("gatehouse_upstream_cx_total 6"));
  EXPECT_TRUE(r.Has("gatehouse_upstream_cx_connect_fail_total 1"));
  // Live states of both workers plus the retired one.
  EXPECT_TRUE(r.Has("gatehouse_upstream_cx_active{cluster=\"outbound|80||a.internal\"} 5"));
  EXPECT_TRUE(r.Has("gatehouse_upstream_cx_idle{cluster=\"outbound|80||a.internal\"} 8"));
  EXPECT_TRUE(r.Has("gatehouse_upstream_rq_pending{cluster=\"outbound|80||a.internal\"} 2"));
  EXPECT_TRUE(r.Has("gatehouse_upstream_rq_active{cluster=\"outbound|80||a.internal\"} 7"));
  EXPECT_TRUE(r.Has("gatehouse_config_desired_version 4"));
  EXPECT_TRUE(r.Has("gatehouse_config_applied_version{worker=\"0\"} 4"));
  EXPECT_TRUE(r.Has("gatehouse_config_applied_version{worker=\"1\"} 3"));
  EXPECT_TRUE(r.Has("gatehouse_config_info{hash=\"abc\"} 1"));
  EXPECT_TRUE(r.Has("gatehouse_config_reloads_total 5"));
  EXPECT_TRUE(r.Has("gatehouse_config_reload_failures_total 2"));
  EXPECT_TRUE(r.Has("gatehouse_config_publish_latency_milliseconds_count 2"));
  EXPECT_TRUE(r.Has("gatehouse_config_publish_latency_milliseconds_sum 7.3"));
  EXPECT_TRUE(r.Has("gatehouse_config_publish_latency_milliseconds_bucket{le=\"0.5\"} 1"));
  EXPECT_TRUE(r.Has("gatehouse_event_loop_lag_milliseconds_count{loop=\"worker_0\"} 1"));
  EXPECT_TRUE(
      r.Has("gatehouse_event_loop_lag_milliseconds_bucket{loop=\"worker_1\",le=\"500\"} 0"));
  EXPECT_TRUE(
      r.Has("gatehouse_event_loop_lag_milliseconds_bucket{loop=\"worker_1\",le=\"1000\"} 1"));
  EXPECT_TRUE(r.Has("gatehouse_event_loop_lag_last_milliseconds{loop=\"worker_1\"} 700"));
  EXPECT_TRUE(r.Has("gatehouse_event_loop_lag_last_milliseconds{loop=\"main\"} 0"));
}

TEST(Metrics, JsonAndTextRenderTheSameFamilies) {
  std::vector<gateway::WorkerStats> workers(1);
  workers[0].downstream_cx_total = 3;
  Record(workers[0], Labels("a.internal", "c", "503", "UF"), 12, 0, 91);
  ServerInfo info;
  info.state = "LIVE";
  MetricsInput input;
  input.server = &info;
  input.workers = &workers;
  const auto families = BuildMetricFamilies(input);
  nlohmann::json j = RenderStatsJson(families);
  bool found_counter = false, found_histogram = false;
  for (const auto& s : j["stats"]) {
    if (s["name"] == "gatehouse_downstream_cx_total") {
      EXPECT_EQ(s["type"], "counter");
      EXPECT_EQ(s["value"], 3);
      found_counter = true;
    }
    if (s["name"] == "istio_request_duration_milliseconds") {
      EXPECT_EQ(s["labels"]["response_flags"], "UF");
      EXPECT_EQ(s["count"], 1);
      EXPECT_EQ(s["sum"], 12);
      EXPECT_EQ(s["buckets"].back()["le"], "+Inf");
      found_histogram = true;
    }
  }
  EXPECT_TRUE(found_counter && found_histogram) << j.dump(1);
  const std::string text = RenderStatsText(families);
  EXPECT_NE(text.find("\ngatehouse_downstream_cx_total: 3\n"), std::string::npos) << text;
}

TEST(Metrics, ServiceNameFollowsIstio) {
  EXPECT_EQ(ServiceName("reviews.shop.svc.cluster.local"), "reviews");
  EXPECT_EQ(ServiceName("api.example.com"), "api.example.com");
}

TEST(ConfigWatcher, RelevantEvents) {
  using control::ConfigWatcher;
  EXPECT_TRUE(ConfigWatcher::Relevant("/etc/gh/gatehouse.toml", false, "gatehouse.toml"));
  EXPECT_FALSE(ConfigWatcher::Relevant("/etc/gh/gatehouse.toml", false, "gatehouse.toml.tmp"));
  EXPECT_FALSE(ConfigWatcher::Relevant("/etc/gh/gatehouse.toml", false, "access.log"));
  EXPECT_TRUE(ConfigWatcher::Relevant("/etc/gh/gatehouse.toml", false, "..data"));
  EXPECT_TRUE(ConfigWatcher::Relevant("/etc/gh/gatehouse.toml", false, nullptr));
  EXPECT_TRUE(ConfigWatcher::Relevant("/etc/gh/conf.d", true, "20-routes.toml"));
  EXPECT_FALSE(ConfigWatcher::Relevant("/etc/gh/conf.d", true, "20-routes.toml~"));
}

}  // namespace
}  // namespace gh::admin
