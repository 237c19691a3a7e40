#include "control/compile.h"

#include <gtest/gtest.h>

#include "control/default_config.h"
#include "control/explain.h"
#include "routing/http_route_table.h"
#include "routing/server_select.h"
#include "tests/unit/control/test_util.h"

namespace gh::control {
namespace {

using testing::AllDiagnostics;
using testing::Ask;
using testing::CompileText;
using testing::HasDiagnostic;
using testing::MustCompile;

TEST(Compile, IssueExampleBuildsListenerClusterAndRoute) {
  auto c = MustCompile(testing::kExample);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->proxy.workers, 1u);
  EXPECT_EQ(c->proxy.access_log, "off");
  ASSERT_EQ(c->listeners.size(), 1u);
  const routing::Listener& l = c->listeners[0];
  EXPECT_EQ(l.name, "0.0.0.0_8080");
  EXPECT_EQ(l.port, 8080);
  EXPECT_EQ(l.kind, routing::ListenerKind::kHttp);
  ASSERT_EQ(l.servers.size(), 1u);
  EXPECT_EQ(l.servers[0].gateway, "default/edge");
  ASSERT_TRUE(l.servers[0].http_routes);
  ASSERT_EQ(c->clusters.size(), 1u);
  EXPECT_EQ(c->clusters[0].name, "outbound|80||origin.internal");
  ASSERT_EQ(c->clusters[0].endpoints.size(), 1u);
  EXPECT_EQ(c->clusters[0].endpoints[0].address, "127.0.0.1");
  EXPECT_EQ(c->clusters[0].endpoints[0].port, 9000);
  EXPECT_NE(c->clusters[0].fingerprint, 0u);

  http::HeaderMap headers;
  routing::RequestView view;
  view.method = "GET";
  view.scheme = "http";
  view.authority = "anything.example:8080";
  view.path = "/x";
  view.headers = &headers;
  const auto result = l.servers[0].http_routes->Match(view);
  ASSERT_NE(result.route, nullptr);
  EXPECT_EQ(result.virtual_host, "*");
  const auto& fwd = std::get<routing::ForwardAction>(result.route->action);
  ASSERT_EQ(fwd.destinations.size(), 1u);
  EXPECT_EQ(fwd.destinations[0].cluster, 0u);
  EXPECT_EQ(fwd.destinations[0].weight, 100u);
  EXPECT_EQ(result.route->virtual_service, "default/edge-routes");
  EXPECT_EQ(result.route->name, "edge-routes.0");
}

TEST(Compile, DefaultConfigPassesValidation) {
  CompileResult r = Compile({DefaultConfigSource()});
  ASSERT_TRUE(r.ok()) << AllDiagnostics(r);
  EXPECT_EQ(r.errors, 0u);
  EXPECT_EQ(r.warnings, 0u) << AllDiagnostics(r);
  const auto& c = *r.config;
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].bind, "127.0.0.1");
  EXPECT_EQ(c.listeners[0].port, 8080);
  EXPECT_EQ(c.admin.address, "127.0.0.1:15000");
  auto root = Ask(c, "GET http://127.0.0.1:8080/");
  EXPECT_EQ(root.outcome, "direct_response");
  EXPECT_EQ(root.status, 200u);
  EXPECT_NE(root.body.find("Gatehouse"), std::string::npos);
  EXPECT_NE(root.body.find("127.0.0.1:15000"), std::string::npos);
  auto demo = Ask(c, "GET http://127.0.0.1:8080/demo/index.html");
  EXPECT_EQ(demo.outcome, "route");
  ASSERT_EQ(demo.destinations.size(), 1u);
  EXPECT_EQ(demo.destinations[0].cluster, "outbound|8081||demo.local");
  EXPECT_EQ(demo.upstream_path, "/index.html");
  EXPECT_EQ(c.clusters[0].endpoints[0].port, 8081);
  EXPECT_EQ(Ask(c, "GET http://127.0.0.1:8080/other").status, 404u);
}

TEST(Compile, ContentHashIsStableAndSensitive) {
  const auto a = ContentHash({{"a.toml", "x = 1"}});
  EXPECT_EQ(a, ContentHash({{"a.toml", "x = 1"}}));
  EXPECT_NE(a, ContentHash({{"a.toml", "x = 2"}}));
  EXPECT_NE(a, ContentHash({{"b.toml", "x = 1"}}));
  EXPECT_EQ(a.size(), 16u);
  auto r = CompileText(testing::kExample);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->version, r.content_hash);
}

TEST(Compile, UnknownKeyHasLocationPathAndSuggestion) {
  auto r = CompileText(R"([proxy]
workers = 1
acess_log = "off"
)");
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.errors, 1u) << AllDiagnostics(r);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            "test.toml:3:1: error: unknown key \"acess_log\"; did you mean \"access_log\"? "
            "(at proxy.acess_log)");
}

TEST(Compile, CamelCaseKeySuggestsSnakeCase) {
  auto r = CompileText(R"(
[[virtual_service]]
name = "v"
hosts = ["a.com"]
gateways = ["g"]
[[virtual_service.http]]
match = [{ uri = { prefix = "/" }, ignoreUriCase = true }]
direct_response = { status = 200 }
)");
  EXPECT_TRUE(HasDiagnostic(r, "unknown key \"ignoreUriCase\"; did you mean \"ignore_uri_case\"?"))
      << AllDiagnostics(r);
}

TEST(Compile, EveryErrorIsReportedAtOnce) {
  auto r = CompileText(R"(
[proxy]
workers = -1
access_log_format = "yaml"
drain_timeout = "5 seconds"

[[gateway]]
name = "g"
[[gateway.servers]]
port = { number = 80, name = "http", protocol = "http" }
hosts = ["*"]

[[virtual_service]]
name = "v"
hosts = ["a.com"]
gateways = ["gw"]
[[virtual_service.http]]
match = [{ uri = { regex = "(" } }]
route = [{ destination = { host = "nowhere.internal" } }]
)");
  EXPECT_FALSE(r.ok());
  const std::string all = AllDiagnostics(r);
  EXPECT_TRUE(HasDiagnostic(r, "test.toml:3:11: error: \"workers\" must be between 0 and 1024"))
      << all;
  EXPECT_TRUE(HasDiagnostic(r, "invalid value \"yaml\" for \"access_log_format\"")) << all;
  EXPECT_TRUE(HasDiagnostic(r, "invalid duration \"5 seconds\"")) << all;
  EXPECT_TRUE(HasDiagnostic(r, "invalid protocol \"http\"") &&
              HasDiagnostic(r, "did you mean \"HTTP\"?"))
      << all;
  EXPECT_TRUE(HasDiagnostic(r, "invalid regex")) << all;
  EXPECT_TRUE(HasDiagnostic(r, "unknown gateway \"gw\"; did you mean")) << all;
  EXPECT_TRUE(HasDiagnostic(r, "no service_entry defines host \"nowhere.internal\"")) << all;
  EXPECT_GE(r.errors, 7u) << all;
}

TEST(Compile, TomlSyntaxErrorHasLineAndColumnAndOtherFilesStillChecked) {
  auto r =
      Compile({{"a.toml", "[proxy]\nworkers = = 1\n"}, {"b.toml", "[admin]\nadress = \"x\"\n"}});
  EXPECT_FALSE(r.ok());
  ASSERT_GE(r.diagnostics.size(), 2u);
  EXPECT_TRUE(r.diagnostics[0].ToString().starts_with("a.toml:2:")) << AllDiagnostics(r);
  EXPECT_NE(r.diagnostics[0].message.find("TOML syntax"), std::string::npos);
  EXPECT_TRUE(HasDiagnostic(r,
                            "b.toml:2:1: error: unknown key \"adress\"; did you mean "
                            "\"address\"?"))
      << AllDiagnostics(r);
}

TEST(Compile, ProcessTablesAndDurations) {
  auto c = MustCompile(R"(
[proxy]
workers = 4
access_log = "/var/log/gatehouse/access.log"
access_log_format = "json"
trusted_hops = 2
server_header = ""
drain_timeout = "45s"
request_headers_timeout = "250ms"
headers_with_underscores = "ALLOW"
path_normalization = { merge_slashes = false, escaped_slashes = "REJECT_REQUEST" }
[admin]
address = "127.0.0.1:0"
token_file = "/etc/gatehouse/token"
[mesh]
trust_domain = "example.org"
outbound_traffic_policy = { mode = "ALLOW_ANY" }
)");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->proxy.workers, 4u);
  EXPECT_EQ(c->proxy.access_log_format, routing::AccessLogFormat::kJson);
  EXPECT_EQ(c->proxy.trusted_hops, 2u);
  EXPECT_EQ(c->proxy.server_header, "");
  EXPECT_EQ(c->proxy.drain_timeout, routing::Millis(45000));
  EXPECT_EQ(c->proxy.request_headers_timeout, routing::Millis(250));
  EXPECT_EQ(c->proxy.headers_with_underscores, routing::HeadersWithUnderscores::kAllow);
  EXPECT_FALSE(c->proxy.path_normalization.merge_slashes);
  EXPECT_EQ(c->proxy.path_normalization.escaped_slashes, routing::EscapedSlashes::kReject);
  EXPECT_EQ(c->admin.address, "127.0.0.1:0");
  EXPECT_EQ(c->admin.token_file, "/etc/gatehouse/token");
  EXPECT_EQ(c->mesh.trust_domain, "example.org");
  EXPECT_EQ(c->mesh.outbound_traffic_policy, routing::OutboundTrafficPolicy::kAllowAny);
}

TEST(Compile, DnsRefreshRateAndLookupFamily) {
  auto c = MustCompile("[proxy]\ndns_refresh_rate = \"5s\"\ndns_lookup_family = \"V4_ONLY\"\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->proxy.dns_refresh_rate, routing::Millis(5000));
  EXPECT_EQ(c->proxy.dns_lookup_family, routing::DnsLookupFamily::kV4Only);
  auto defaults = MustCompile("[proxy]\nworkers = 1\n");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->proxy.dns_refresh_rate, routing::Millis(60000));
  EXPECT_EQ(defaults->proxy.dns_lookup_family, routing::DnsLookupFamily::kAll);
  auto r = CompileText("[proxy]\ndns_refresh_rate = \"500ms\"\ndns_lookup_family = \"V4\"\n");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(HasDiagnostic(r, "\"dns_refresh_rate\"")) << AllDiagnostics(r);
  EXPECT_TRUE(HasDiagnostic(r, "invalid value \"V4\" for \"dns_lookup_family\""))
      << AllDiagnostics(r);
}

TEST(Compile, ProcessTableSetTwiceAcrossFilesIsAnError) {
  auto r = Compile({{"10.toml", "[proxy]\nworkers = 1\n"}, {"20.toml", "[proxy]\nworkers = 2\n"}});
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(HasDiagnostic(r, "20.toml:1:1: error: [proxy] is already set in 10.toml:1"))
      << AllDiagnostics(r);
}

TEST(Compile, ResourcesMergeAcrossFilesInOrder) {
  auto r = Compile({{"10-gw.toml", R"(
[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = 80, name = "http", protocol = "HTTP" }
hosts = ["*"]
)"},
                    {"20-vs.toml", R"(
[[virtual_service]]
name = "first"
hosts = ["a.com"]
gateways = ["edge"]
[[virtual_service.http]]
match = [{ uri = { prefix = "/" } }]
direct_response = { status = 201 }
)"},
                    {"30-vs.toml", R"(
[[virtual_service]]
name = "second"
hosts = ["a.com"]
gateways = ["edge"]
[[virtual_service.http]]
match = [{ uri = { prefix = "/x" } }]
direct_response = { status = 202 }
)"}});
  ASSERT_TRUE(r.ok()) << AllDiagnostics(r);
  // The first file's catch-all shadows the second VS (Istio concatenation).
  EXPECT_EQ(Ask(*r.config, "GET http://a.com/x").status, 201u);
  EXPECT_TRUE(HasDiagnostic(r, "30-vs.toml:7:10: warning: route \"second.0\""))
      << AllDiagnostics(r);
}

TEST(Compile, EqualMatchersAreCompiledOnceAndShared) {
  std::string toml = R"(
[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = 80, name = "http", protocol = "HTTP" }
hosts = ["*"]
)";
  for (int i = 0; i < 3; ++i) {
    toml += "[[virtual_service]]\nname = \"v" + std::to_string(i) + "\"\nhosts = [\"h" +
            std::to_string(i) + ".com\"]\ngateways = [\"edge\"]\n[[virtual_service.http]]\n" +
            "match = [{ uri = { regex = \"/users/[0-9]+\" }, headers = { x-a = { exact = \"1\" } } "
            "}]\ndirect_response = { status = 200 }\n";
  }
  auto c = MustCompile(toml);
  ASSERT_TRUE(c);
  const auto* table = dynamic_cast<const routing::CompiledHttpRouteTable*>(
      c->listeners[0].servers[0].http_routes.get());
  ASSERT_NE(table, nullptr);
  ASSERT_EQ(table->virtual_hosts().size(), 3u);
  const auto& a = table->virtual_hosts()[0].routes[0].match;
  const auto& b = table->virtual_hosts()[2].routes[0].match;
  EXPECT_EQ(a.uri.get(), b.uri.get());  // one RE2 program for all three
  EXPECT_EQ(a.headers[0].matcher.get(), b.headers[0].matcher.get());
}

TEST(Compile, NotSupportedResourcesAreErrors) {
  auto r = CompileText("[[authorization_policy]]\nname = \"deny\"\n");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(HasDiagnostic(r, "\"authorization_policy\" is not supported yet"))
      << AllDiagnostics(r);
}

}  // namespace
}  // namespace gh::control

namespace gh::control {
namespace {

// Cluster::protocol from the ServiceEntry port protocol and the
// DestinationRule connection pool (h2_upgrade_policy, use_client_protocol),
// and the HTTP/2 limits in [proxy].
TEST(Compile, UpstreamProtocolFromPortProtocolAndDestinationRule) {
  auto c = testing::MustCompile(R"(
[proxy]
http2_max_continuations = 4
http2_stream_reset_burst = 50
http2_stream_reset_rate = 5
http2_max_consecutive_empty_frames = 3
[[service_entry]]
name = "plain"
hosts = ["plain.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1" }]
[[service_entry]]
name = "h2"
hosts = ["h2.internal"]
ports = [{ number = 80, name = "http2", protocol = "HTTP2" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1" }]
[[service_entry]]
name = "grpc"
hosts = ["grpc.internal", "grpc-tls.internal"]
ports = [{ number = 80, name = "grpc", protocol = "GRPC" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1" }]
[[service_entry]]
name = "upgraded"
hosts = ["upgraded.internal", "same.internal", "kept.internal"]
ports = [{ number = 80, name = "http", protocol = "HTTP" }]
resolution = "STATIC"
endpoints = [{ address = "127.0.0.1" }]
[[destination_rule]]
name = "tls"
host = "grpc-tls.internal"
traffic_policy = { tls = { mode = "SIMPLE" } }
[[destination_rule]]
name = "up"
host = "upgraded.internal"
traffic_policy = { connection_pool = { http = { h2_upgrade_policy = "UPGRADE" } } }
[[destination_rule]]
name = "same"
host = "same.internal"
traffic_policy = { connection_pool = { http = { use_client_protocol = true } } }
[[destination_rule]]
name = "kept"
host = "kept.internal"
traffic_policy = { connection_pool = { http = { h2_upgrade_policy = "DO_NOT_UPGRADE" } } }
)");
  ASSERT_TRUE(c);
  auto protocol = [&](const std::string& host) {
    for (const routing::Cluster& cluster : c->clusters) {
      if (cluster.host == host) return cluster.protocol;
    }
    ADD_FAILURE() << "no cluster for " << host;
    return routing::UpstreamProtocol::kHttp1;
  };
  using P = routing::UpstreamProtocol;
  EXPECT_EQ(protocol("plain.internal"), P::kHttp1);
  EXPECT_EQ(protocol("h2.internal"), P::kH2c);
  EXPECT_EQ(protocol("grpc.internal"), P::kH2c);
  EXPECT_EQ(protocol("grpc-tls.internal"), P::kH2) << "TLS upstream: h2 by ALPN";
  EXPECT_EQ(protocol("upgraded.internal"), P::kH2c);
  EXPECT_EQ(protocol("same.internal"), P::kSameAsClient);
  EXPECT_EQ(protocol("kept.internal"), P::kHttp1);
  EXPECT_EQ(c->proxy.http2_max_continuations, 4u);
  EXPECT_EQ(c->proxy.http2_stream_reset_burst, 50u);
  EXPECT_EQ(c->proxy.http2_stream_reset_rate, 5u);
  EXPECT_EQ(c->proxy.http2_max_consecutive_empty_frames, 3u);
  EXPECT_EQ(c->proxy.http2_max_outbound_control_frames, 1000u) << "default";
}

}  // namespace
}  // namespace gh::control
