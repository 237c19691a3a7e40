#include "routing/actions.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include "routing/cors.h"
#include "routing/matchers.h"
#include "routing/retry.h"

namespace gh::routing {
namespace {

RequestView View(std::string_view scheme, std::string_view authority, std::string_view path,
                 uint16_t port = 0) {
  RequestView v;
  v.method = "GET";
  v.scheme = scheme;
  v.authority = authority;
  v.path = path;
  v.port = port;
  return v;
}

Route PrefixRoute(std::string prefix) {
  Route r;
  r.prefix_match = true;
  r.matched_prefix = std::move(prefix);
  return r;
}

TEST(Redirect, UriReplacesWholePathAndKeepsQuery) {
  RedirectAction a;
  a.uri = "/new";
  Route r = PrefixRoute("/old");
  EXPECT_EQ(RedirectLocation(a, r, View("http", "a.com", "/old/x?q=1")), "http://a.com/new?q=1");
  a.uri = "/new?z=2";
  EXPECT_EQ(RedirectLocation(a, r, View("http", "a.com", "/old/x?q=1")), "http://a.com/new?z=2");
}

TEST(Redirect, PrefixRewriteReplacesMatchedPrefix) {
  RedirectAction a;
  a.prefix_rewrite = "/v2";
  Route r = PrefixRoute("/v1");
  EXPECT_EQ(RedirectLocation(a, r, View("https", "a.com", "/v1/users?x")),
            "https://a.com/v2/users?x");
}

TEST(Redirect, SchemeAuthorityPortAndDefaultPortElision) {
  Route r;
  RedirectAction https;
  https.scheme = "https";
  EXPECT_EQ(RedirectLocation(https, r, View("http", "a.com:8080", "/p")), "https://a.com/p");
  EXPECT_EQ(RedirectLocation(https, r, View("http", "a.com", "/p")), "https://a.com/p");
  RedirectAction host;
  host.authority = "b.com";
  EXPECT_EQ(RedirectLocation(host, r, View("http", "a.com:8080", "/p")), "http://b.com/p");
  RedirectAction port;
  port.port = 8443;
  port.scheme = "https";
  EXPECT_EQ(RedirectLocation(port, r, View("http", "a.com", "/p")), "https://a.com:8443/p");
  RedirectAction p443;
  p443.port = 443;
  p443.scheme = "https";
  EXPECT_EQ(RedirectLocation(p443, r, View("http", "a.com", "/p")), "https://a.com/p");
  RedirectAction keep;
  keep.uri = "/x";
  EXPECT_EQ(RedirectLocation(keep, r, View("http", "a.com:8080", "/p")), "http://a.com:8080/x");
  EXPECT_EQ(RedirectLocation(keep, r, View("http", "a.com:80", "/p")), "http://a.com/x");
}

TEST(Redirect, DerivePort) {
  Route r;
  RedirectAction d;
  d.scheme = "https";
  d.derive_port = RedirectAction::DerivePort::kFromProtocolDefault;
  EXPECT_EQ(RedirectLocation(d, r, View("http", "a.com:8080", "/p")), "https://a.com/p");
  d.derive_port = RedirectAction::DerivePort::kFromRequestPort;
  EXPECT_EQ(RedirectLocation(d, r, View("http", "a.com", "/p", 8443)), "https://a.com:8443/p");
}

TEST(Rewrite, PrefixExactAndRegex) {
  Route prefix = PrefixRoute("/api/");
  prefix.rewrite.uri = "/";
  EXPECT_EQ(RewritePath(prefix, "/api/users?x=1"), "/users?x=1");
  prefix.rewrite.uri = "";
  prefix.matched_prefix = "/api";
  EXPECT_EQ(RewritePath(prefix, "/api"), "/");  // an emptied path becomes "/"
  Route exact;
  exact.rewrite.uri = "/login.html";
  EXPECT_EQ(RewritePath(exact, "/login?next=/"), "/login.html?next=/");
  Route regex;
  regex.rewrite.uri_regex = std::make_shared<RE2>("^/service/([^/]+)(/.*)$");
  regex.rewrite.uri_regex_substitution = "\\2/instance/\\1";
  EXPECT_EQ(RewritePath(regex, "/service/foo/v1/api?q"), "/v1/api/instance/foo?q");
  Route none;
  EXPECT_EQ(RewritePath(none, "/a"), std::nullopt);
}

TEST(Rewrite, AuthorityDestinationWins) {
  Route r;
  EXPECT_EQ(RewriteAuthority(r, nullptr), std::nullopt);
  r.rewrite.authority = "route.internal";
  Destination d;
  EXPECT_EQ(RewriteAuthority(r, &d), "route.internal");
  d.authority = "dest.internal";
  EXPECT_EQ(RewriteAuthority(r, &d), "dest.internal");
}

TEST(Rewrite, EditsUpstreamRequestSeesEveryEdit) {
  Route r;
  Destination d;
  EXPECT_FALSE(EditsUpstreamRequest(r, nullptr));
  EXPECT_FALSE(EditsUpstreamRequest(r, &d));
  Route uri = r;
  uri.rewrite.uri = "/v2";
  EXPECT_TRUE(EditsUpstreamRequest(uri, nullptr));
  Route regex = r;
  regex.rewrite.uri_regex = std::make_shared<RE2>("/a");
  EXPECT_TRUE(EditsUpstreamRequest(regex, nullptr));
  Route authority = r;
  authority.rewrite.authority = "x.internal";
  EXPECT_TRUE(EditsUpstreamRequest(authority, nullptr));
  Route headers = r;
  headers.request_headers.remove = {"x-a"};
  EXPECT_TRUE(EditsUpstreamRequest(headers, nullptr));
  Destination dest_authority;
  dest_authority.authority = "d.internal";
  EXPECT_TRUE(EditsUpstreamRequest(r, &dest_authority));
  Destination dest_headers;
  dest_headers.request_headers.add = {{"x-b", "1"}};
  EXPECT_TRUE(EditsUpstreamRequest(r, &dest_headers));
  // Response header ops do not touch the request.
  Route response_only = r;
  response_only.response_headers.set = {{"x-c", "1"}};
  EXPECT_FALSE(EditsUpstreamRequest(response_only, nullptr));
}

TEST(HeaderOps, RemoveSetAddAndDestinationSetWins) {
  Route r;
  r.request_headers.remove = {"x-remove"};
  r.request_headers.set = {{"x-a", "route"}, {"x-b", "route"}};
  r.request_headers.add = {{"x-c", "added"}};
  Destination d;
  d.request_headers.set = {{"x-a", "dest"}};
  http::HeaderMap h;
  h.Add("x-remove", "1");
  h.Add("x-a", "client");
  h.Add("x-a", "client2");
  h.Add("x-c", "client");
  ApplyRequestHeaderOps(r, &d, h);
  EXPECT_FALSE(h.Has("x-remove"));
  EXPECT_EQ(h.Count("x-a"), 1u);
  EXPECT_EQ(*h.Get("x-a"), "dest");
  EXPECT_EQ(*h.Get("x-b"), "route");
  EXPECT_EQ(h.Count("x-c"), 2u);  // add appends another field
  http::HeaderMap resp;
  r.response_headers.set = {{"server", "edge"}};
  ApplyResponseHeaderOps(r, nullptr, resp);
  EXPECT_EQ(*resp.Get("server"), "edge");
}

TEST(Random, WeightedDestinationAndPercentages) {
  ForwardAction a;
  a.destinations.resize(2);
  a.destinations[0].cluster = 0;
  a.destinations[0].weight = 90;
  a.destinations[1].cluster = 1;
  a.destinations[1].weight = 10;
  a.total_weight = 100;
  FastRandom rng(1);
  int second = 0;
  for (int i = 0; i < 20000; ++i)
    second += PickDestination(a, rng)->cluster == 1 ? 1 : 0;
  EXPECT_NEAR(second / 20000.0, 0.10, 0.01);
  EXPECT_EQ(PickDestination(ForwardAction{}, rng), nullptr);
  int hits = 0;
  for (int i = 0; i < 20000; ++i)
    hits += PercentHit(12.5, rng) ? 1 : 0;
  EXPECT_NEAR(hits / 20000.0, 0.125, 0.01);
  EXPECT_FALSE(PercentHit(0, rng));
  EXPECT_TRUE(PercentHit(100, rng));
  Mirror m{0, 0};
  EXPECT_FALSE(ShouldMirror(m, rng));
  EXPECT_EQ(ShadowAuthority("a.com:8080"), "a.com-shadow:8080");
  EXPECT_EQ(ShadowAuthority("a.com"), "a.com-shadow");
}

TEST(Fault, DelayAndAbortIndependently) {
  Fault f;
  f.delay = Millis(500);
  f.delay_percent = 100;
  f.abort_status = 503;
  f.abort_percent = 0;
  FastRandom rng(2);
  auto d = DecideFault(f, rng);
  EXPECT_EQ(d.delay, Millis(500));
  EXPECT_FALSE(d.aborted());
  f.abort_percent = 100;
  f.delay_percent = 0;
  d = DecideFault(f, rng);
  EXPECT_EQ(d.delay, Millis(0));
  EXPECT_EQ(d.abort_status, 503u);
  Fault grpc;
  grpc.abort_grpc_status = "UNAVAILABLE";
  grpc.abort_percent = 100;
  d = DecideFault(grpc, rng);
  EXPECT_EQ(d.abort_grpc_status, "UNAVAILABLE");
  EXPECT_EQ(GrpcStatusCode("UNAVAILABLE"), 14);
  EXPECT_EQ(GrpcStatusCode("nope"), -1);
  Fault unset;  // no percentage: nothing happens
  unset.delay = Millis(5);
  unset.abort_status = 500;
  d = DecideFault(unset, rng);
  EXPECT_EQ(d.delay, Millis(0));
  EXPECT_FALSE(d.aborted());
}

TEST(Retry, ConditionsAndAttempts) {
  RetryPolicy p;
  p.attempts = 2;
  p.on_5xx = true;
  AttemptResult r503{AttemptOutcome::kResponse, 503, -1};
  EXPECT_TRUE(ShouldRetry(p, r503, 0, "GET"));
  EXPECT_TRUE(ShouldRetry(p, r503, 1, "GET"));
  EXPECT_FALSE(ShouldRetry(p, r503, 2, "GET"));
  EXPECT_FALSE(ShouldRetry(p, {AttemptOutcome::kResponse, 404, -1}, 0, "GET"));
  EXPECT_TRUE(ShouldRetry(p, {AttemptOutcome::kReset, 0, -1}, 0, "GET"));

  RetryPolicy gw;
  gw.attempts = 1;
  gw.on_gateway_error = true;
  EXPECT_TRUE(ShouldRetry(gw, {AttemptOutcome::kResponse, 504, -1}, 0, "GET"));
  EXPECT_FALSE(ShouldRetry(gw, {AttemptOutcome::kResponse, 500, -1}, 0, "GET"));

  RetryPolicy codes;
  codes.attempts = 1;
  codes.on_retriable_status_codes = true;
  codes.retriable_status_codes = {429};
  EXPECT_TRUE(ShouldRetry(codes, {AttemptOutcome::kResponse, 429, -1}, 0, "GET"));
  // A reset is a local 503, never a status-code match.
  codes.retriable_status_codes = {503};
  EXPECT_FALSE(ShouldRetry(codes, {AttemptOutcome::kReset, 0, -1}, 0, "GET"));

  RetryPolicy grpc;
  grpc.attempts = 1;
  grpc.grpc_statuses = {"unavailable"};
  EXPECT_TRUE(ShouldRetry(grpc, {AttemptOutcome::kResponse, 200, 14}, 0, "POST"));
  EXPECT_FALSE(ShouldRetry(grpc, {AttemptOutcome::kResponse, 200, 13}, 0, "POST"));

  RetryPolicy r4;
  r4.attempts = 1;
  r4.on_retriable_4xx = true;
  EXPECT_TRUE(ShouldRetry(r4, {AttemptOutcome::kResponse, 409, -1}, 0, "GET"));
}

TEST(Retry, ConservativeDefaultNeverRetriesPost) {
  RetryPolicy d;
  d.attempts = 2;
  d.on_connect_failure = true;
  d.on_refused_stream = true;
  d.retry_non_idempotent = false;
  EXPECT_TRUE(ShouldRetry(d, {AttemptOutcome::kConnectFailure, 0, -1}, 0, "GET"));
  EXPECT_TRUE(ShouldRetry(d, {AttemptOutcome::kRefusedStream, 0, -1}, 0, "PUT"));
  EXPECT_FALSE(ShouldRetry(d, {AttemptOutcome::kConnectFailure, 0, -1}, 0, "POST"));
  EXPECT_FALSE(ShouldRetry(d, {AttemptOutcome::kReset, 0, -1}, 0, "GET"));
  EXPECT_FALSE(ShouldRetry(d, {AttemptOutcome::kResponse, 503, -1}, 0, "GET"));
  EXPECT_TRUE(IsIdempotentMethod("DELETE"));
  EXPECT_FALSE(IsIdempotentMethod("PATCH"));
}

TEST(Retry, BackoffIsJitteredExponentialAndCapped) {
  RetryPolicy p;
  p.backoff_base = Millis(25);
  p.backoff_max = Millis(250);
  FastRandom rng(4);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_LT(RetryBackoff(p, 1, rng), Millis(25));
    EXPECT_LT(RetryBackoff(p, 2, rng), Millis(75));
    EXPECT_LT(RetryBackoff(p, 10, rng), Millis(250));
  }
  Millis max_seen{0};
  for (int i = 0; i < 1000; ++i)
    max_seen = std::max(max_seen, RetryBackoff(p, 3, rng));
  EXPECT_GT(max_seen, Millis(150));  // bound for retry 3 is 175ms
}

TEST(Cors, PreflightAndSimpleRequests) {
  CorsPolicy p;
  p.allow_origins.push_back(StringMatcher::Exact("https://app.example.com"));
  p.allow_origins.push_back(*StringMatcher::Regex("https://.*\\.partner\\.com"));
  p.allow_methods = "GET,POST";
  p.allow_headers = "authorization";
  p.expose_headers = "x-trace";
  p.max_age = "600";
  p.allow_credentials = true;
  http::HeaderMap h;
  h.Add("origin", "https://app.example.com");
  h.Add("access-control-request-method", "POST");
  RequestView v;
  v.method = "OPTIONS";
  v.headers = &h;
  EXPECT_TRUE(IsCorsPreflight(v));
  v.method = "GET";
  EXPECT_FALSE(IsCorsPreflight(v));
  auto pre = HandlePreflight(p, "https://app.example.com");
  EXPECT_EQ(pre.action, PreflightDecision::Action::kRespond);
  http::HeaderMap out;
  for (auto& hh : pre.headers)
    out.Add(hh.name, hh.value);
  EXPECT_EQ(*out.Get("access-control-allow-origin"), "https://app.example.com");
  EXPECT_EQ(*out.Get("access-control-allow-methods"), "GET,POST");
  EXPECT_EQ(*out.Get("access-control-allow-headers"), "authorization");
  EXPECT_EQ(*out.Get("access-control-max-age"), "600");
  EXPECT_EQ(*out.Get("access-control-allow-credentials"), "true");
  EXPECT_TRUE(CorsOriginAllowed(p, "https://x.partner.com"));
  EXPECT_FALSE(CorsOriginAllowed(p, "https://evil.com"));
  EXPECT_EQ(HandlePreflight(p, "https://evil.com").action, PreflightDecision::Action::kForward);
  p.forward_unmatched_preflights = false;
  auto ignored = HandlePreflight(p, "https://evil.com");
  EXPECT_EQ(ignored.action, PreflightDecision::Action::kRespond);
  EXPECT_TRUE(ignored.headers.empty());
  auto simple = CorsResponseHeaders(p, "https://x.partner.com");
  ASSERT_EQ(simple.size(), 3u);
  EXPECT_EQ(simple[0].value, "https://x.partner.com");
  EXPECT_TRUE(CorsResponseHeaders(p, "https://evil.com").empty());
}

}  // namespace
}  // namespace gh::routing
