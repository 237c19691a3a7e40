// Metrics of the real binary after known traffic: exact Istio counts by
// code and flag, histogram sums and buckets, gatehouse_* internals; trace
// context propagation as the upstream sees it.
#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/admin_util.h"
#include "tests/integration/proxy_fixture.h"

namespace gh::test {
namespace {

constexpr std::string_view kMetricsConfig = R"(
[proxy]
workers = 2
access_log = "off"

[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = ${PORT}, name = "http", protocol = "HTTP" }
hosts = ["*"]

[[service_entry]]
name = "origin"
namespace = "shop"
hosts = ["origin.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http = ${UPSTREAM} } }]

[[service_entry]]
name = "dead"
hosts = ["dead.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1", ports = { http = ${DEAD} } }]

[[virtual_service]]
name = "routes"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
match = [{ uri = { prefix = "/api" } }]
route = [{ destination = { host = "origin.internal", port = { number = 80 } } }]
[[virtual_service.http]]
match = [{ uri = { prefix = "/dead" } }]
route = [{ destination = { host = "dead.internal", port = { number = 80 } } }]
[[virtual_service.http]]
match = [{ uri = { exact = "/teapot" } }]
direct_response = { status = 418, body = { string = "teapot" } }
)";

using Labels = std::vector<std::pair<std::string, std::string>>;

Labels Series(const std::string& service, const std::string& code, const std::string& flags) {
  return {{"reporter", "source"},
          {"destination_service", service},
          {"response_code", code},
          {"response_flags", flags},
          {"request_protocol", "http"}};
}

Labels With(Labels labels, std::string key, std::string value) {
  labels.emplace_back(std::move(key), std::move(value));
  return labels;
}

TEST(Metrics, ExactValuesAfterKnownTraffic) {
  auto up = UpstreamProcess::Start();
  const int port = FreePort();
  auto gw = GatehouseProcess::Start(Subst(kMetricsConfig, {{"PORT", std::to_string(port)},
                                                           {"UPSTREAM", std::to_string(up.Port())},
                                                           {"DEAD", std::to_string(FreePort())}}),
                                    {.wait_ports = {port}, .wait_admin = true});
  ASSERT_TRUE(WaitForReady(gw.AdminPort()));
  const int admin = gw.AdminPort();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  const std::string body(50, 'b');
  // The harness's readiness probe opened one connection already.
  const double connections_before = MetricValue(Scrape(admin), "gatehouse_downstream_cx_total");

  for (int i = 0; i < 5; ++i) {
    CurlResult r = Curl({"-X", "POST", "--data-binary", body, "-H", "x-upstream-body-size: 100",
                         "-H", "x-upstream-delay-ms: 120", base + "/api/ok"});
    ASSERT_EQ(r.status, 200) << r.Describe();
    ASSERT_EQ(r.body.size(), 100u);
  }
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(Curl({"-H", "x-upstream-status: 503", base + "/api/fail"}).status, 503);
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(Curl({base + "/other"}).status, 404);
  ASSERT_EQ(Curl({base + "/teapot"}).status, 418);
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(Curl({base + "/dead"}).status, 503);
  {
    RawClient c(port);
    ASSERT_TRUE(
        c.Send("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: "
               "chunked\r\n\r\n"));
    EXPECT_EQ(c.ReadResponse(milliseconds(5000)).status, 400);
  }

  const std::string m = Scrape(admin);
  const Labels ok = Series("origin.internal", "200", "-");
  EXPECT_EQ(MetricValue(m, "istio_requests_total", ok), 5) << m;
  EXPECT_EQ(FindMetric(m, "istio_requests_total", ok).series, 1);
  // Istio's identity and destination labels.
  EXPECT_EQ(MetricValue(m, "istio_requests_total",
                        With(With(ok, "destination_service_namespace", "shop"),
                             "destination_service_name", "origin.internal")),
            5);
  EXPECT_EQ(MetricValue(m, "istio_requests_total",
                        With(With(ok, "source_workload", "gatehouse"), "grpc_response_status", "")),
            5);
  EXPECT_EQ(MetricValue(m, "istio_request_bytes_count", ok), 5);
  EXPECT_EQ(MetricValue(m, "istio_request_bytes_sum", ok), 250);
  EXPECT_EQ(MetricValue(m, "istio_request_bytes_bucket", With(ok, "le", "50")), 5);
  EXPECT_EQ(MetricValue(m, "istio_request_bytes_bucket", With(ok, "le", "25")), 0);
  EXPECT_EQ(MetricValue(m, "istio_response_bytes_sum", ok), 500);
  EXPECT_EQ(MetricValue(m, "istio_response_bytes_bucket", With(ok, "le", "100")), 5);
  EXPECT_EQ(MetricValue(m, "istio_response_bytes_bucket", With(ok, "le", "50")), 0);
  // 120 ms upstream delay each: nothing at or below 100 ms, all counted.
  EXPECT_EQ(MetricValue(m, "istio_request_duration_milliseconds_count", ok), 5);
  EXPECT_EQ(MetricValue(m, "istio_request_duration_milliseconds_bucket", With(ok, "le", "100")), 0);
  EXPECT_EQ(MetricValue(m, "istio_request_duration_milliseconds_bucket", With(ok, "le", "+Inf")),
            5);
  EXPECT_GE(MetricValue(m, "istio_request_duration_milliseconds_sum", ok), 600);
  EXPECT_LT(MetricValue(m, "istio_request_duration_milliseconds_sum", ok), 5 * 2000);

  EXPECT_EQ(MetricValue(m, "istio_requests_total", Series("origin.internal", "503", "-")), 3);
  EXPECT_EQ(MetricValue(m, "istio_requests_total", Series("unknown", "404", "NR")), 2);
  EXPECT_EQ(
      MetricValue(m, "istio_requests_total",
                  With(Series("unknown", "404", "NR"), "destination_service_namespace", "unknown")),
      2);
  EXPECT_EQ(MetricValue(m, "istio_requests_total", Series("unknown", "418", "-")), 1);
  EXPECT_EQ(MetricValue(m, "istio_response_bytes_sum", Series("unknown", "418", "-")), 6);
  // Istio's default retry policy (2 retries on connect-failure, ...) ran out.
  EXPECT_EQ(MetricValue(m, "istio_requests_total", Series("dead.internal", "503", "UF,URX")), 2);
  EXPECT_EQ(MetricValue(m, "istio_requests_total", Series("unknown", "400", "DPE")), 1);
  // Every request counted once (merged across both workers).
  EXPECT_EQ(MetricValue(m, "istio_requests_total"), 5 + 3 + 2 + 1 + 2 + 1);

  // Internals.
  EXPECT_EQ(MetricValue(m, "gatehouse_downstream_cx_total") - connections_before, 14);
  EXPECT_EQ(MetricValue(m, "gatehouse_downstream_cx_rejected_total"), 0);
  EXPECT_EQ(FindMetric(m, "gatehouse_downstream_protocol_errors_total").value, 1);
  EXPECT_EQ(MetricValue(m, "gatehouse_upstream_cx_connect_fail_total"), 2 * 3);  // 3 tries each
  EXPECT_EQ(MetricValue(m, "gatehouse_upstream_cx_total"), up.Stats().accepts + 2 * 3);
  EXPECT_EQ(
      MetricValue(m, "gatehouse_upstream_rq_active", {{"cluster", "outbound|80||origin.internal"}}),
      0);
  EXPECT_GE(
      MetricValue(m, "gatehouse_upstream_cx_idle", {{"cluster", "outbound|80||origin.internal"}}),
      1);
  EXPECT_EQ(MetricValue(m, "gatehouse_workers"), 2);
  EXPECT_EQ(MetricValue(m, "gatehouse_server_state", {{"state", "LIVE"}}), 1);
  EXPECT_EQ(MetricValue(m, "gatehouse_config_desired_version"), 1);
  EXPECT_EQ(MetricValue(m, "gatehouse_config_applied_version", {{"worker", "0"}}), 1);
  EXPECT_EQ(MetricValue(m, "gatehouse_config_applied_version", {{"worker", "1"}}), 1);
  EXPECT_EQ(MetricValue(m, "gatehouse_config_publish_latency_milliseconds_count"), 1);
  for (const char* loop : {"main", "worker_0", "worker_1"}) {
    EXPECT_GT(MetricValue(m, "gatehouse_event_loop_lag_milliseconds_count", {{"loop", loop}}), 0)
        << loop;
  }

  // Reloads: one good, one rejected.
  EXPECT_EQ(Admin(admin, "POST", "/reload").status, 200);
  ASSERT_TRUE(WaitForApplied(admin, 2));
  gw.WriteConfig("[proxy]\nworkers = 2\nnot_a_key = 1\n");
  EXPECT_EQ(Admin(admin, "POST", "/reload").status, 400);
  const std::string after = Scrape(admin);
  EXPECT_EQ(MetricValue(after, "gatehouse_config_reloads_total"), 2);
  EXPECT_EQ(MetricValue(after, "gatehouse_config_reload_failures_total"), 1);
  EXPECT_EQ(MetricValue(after, "gatehouse_config_desired_version"), 2);
  EXPECT_EQ(MetricValue(after, "gatehouse_config_publish_latency_milliseconds_count"), 2);
  // Counters survive reloads.
  EXPECT_EQ(MetricValue(after, "istio_requests_total", ok), 5);
}

TEST(Metrics, ClustersAndPoolGaugesShowRequestsInFlight) {
  GatewayEnv env;
  const int admin = env.gateway().AdminPort();
  std::thread slow([&] { Curl({"-H", "x-upstream-delay-ms: 1500", env.Url("/slow")}); });
  Json cluster;
  for (int i = 0; i < 100; ++i) {
    cluster = ParseJson(Admin(admin, "GET", "/clusters").body)["clusters"][0];
    if (cluster["active_requests"] == 1) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(cluster["active_requests"], 1) << cluster.dump(1);
  EXPECT_EQ(cluster["endpoints"][0]["active_requests"], 1);
  EXPECT_EQ(cluster["endpoints"][0]["connections_active"], 1);
  const std::string m = Scrape(admin);
  const Labels c = {{"cluster", "outbound|80||origin.internal"}};
  EXPECT_EQ(MetricValue(m, "gatehouse_upstream_rq_active", c), 1);
  EXPECT_EQ(MetricValue(m, "gatehouse_upstream_cx_active", c), 1);
  EXPECT_EQ(MetricValue(m, "gatehouse_downstream_cx_active"), 1);
  slow.join();
  cluster = ParseJson(Admin(admin, "GET", "/clusters").body)["clusters"][0];
  EXPECT_EQ(cluster["active_requests"], 0);
  EXPECT_EQ(cluster["endpoints"][0]["connections_idle"], 1);
}

std::optional<std::string> EchoedHeader(const std::string& echo_body, const std::string& name) {
  Json echo = ParseJson(echo_body);
  for (const auto& h : echo["headers"]) {
    if (h[0].get<std::string>() == name) return h[1].get<std::string>();
  }
  return std::nullopt;
}

TEST(TraceContext, TraceparentCreatedKeptOrDerivedFromB3) {
  ProxyEnv env;
  ASSERT_TRUE(WaitForReady(env.gateway().AdminPort()));
  CurlResult none = Curl({env.Url("/trace")});
  ASSERT_EQ(none.status, 200);
  std::optional<std::string> created = EchoedHeader(none.body, "traceparent");
  ASSERT_TRUE(created.has_value()) << none.body;
  ASSERT_EQ(created->size(), 55u) << *created;
  EXPECT_EQ(created->substr(0, 3), "00-");
  EXPECT_EQ(created->substr(52), "-00");  // not sampled by default
  EXPECT_TRUE(EchoedHeader(none.body, "x-request-id").has_value());
  // Two requests, two traces.
  EXPECT_NE(EchoedHeader(Curl({env.Url("/trace")}).body, "traceparent"), created);

  const std::string parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  CurlResult kept = Curl(
      {"-H", "traceparent: " + parent, "-H", "tracestate: congo=t61rcWkgMzE", env.Url("/trace")});
  EXPECT_EQ(EchoedHeader(kept.body, "traceparent"), parent);
  EXPECT_EQ(EchoedHeader(kept.body, "tracestate"), "congo=t61rcWkgMzE");

  CurlResult b3 =
      Curl({"-H", "b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1", env.Url("/trace")});
  EXPECT_EQ(EchoedHeader(b3.body, "traceparent"),
            "00-80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-01");
  EXPECT_EQ(EchoedHeader(b3.body, "b3"), "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1");

  CurlResult multi =
      Curl({"-H", "x-b3-traceid: a3ce929d0e0e4736", "-H", "x-b3-spanid: 00f067aa0ba902b7", "-H",
            "x-b3-sampled: 0", env.Url("/trace")});
  EXPECT_EQ(EchoedHeader(multi.body, "traceparent"),
            "00-0000000000000000a3ce929d0e0e4736-00f067aa0ba902b7-00");
  EXPECT_EQ(EchoedHeader(multi.body, "x-b3-traceid"), "a3ce929d0e0e4736");

  CurlResult broken =
      Curl({"-H", "traceparent: 00-xyz", "-H", "tracestate: a=1", env.Url("/trace")});
  std::optional<std::string> replaced = EchoedHeader(broken.body, "traceparent");
  ASSERT_TRUE(replaced.has_value());
  EXPECT_EQ(replaced->size(), 55u);
  EXPECT_FALSE(EchoedHeader(broken.body, "tracestate").has_value());
}

}  // namespace
}  // namespace gh::test
