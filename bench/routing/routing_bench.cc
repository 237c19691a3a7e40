// Routing micro-benchmarks (issue 4 targets): route lookup over 10 000
// virtual hosts x 10 routes (exact / prefix / regex / header / method /
// query matches) with a median <= 300 ns, and compiling 100 000 routes from
// TOML in <= 1 s and <= 200 MB RSS.
//
//   meson setup build-bench -Dbenchmarks=true && ninja -C build-bench bench/routing/routing_bench
//   ./build-bench/bench/routing/routing_bench --benchmark_filter=Compile   # fresh process: RSS
//   ./build-bench/bench/routing/routing_bench --benchmark_filter=Lookup
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "base/random.h"
#include "control/compile.h"
#include "routing/route_table.h"

namespace {

constexpr int kRoutesPerHost = 10;

// 10 routes per virtual service: a realistic mix, ending in a catch-all.
std::string GenerateConfig(int vhosts) {
  std::string s;
  s.reserve(static_cast<size_t>(vhosts) * 1500);
  s += R"([[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = 80, name = "http", protocol = "HTTP" }
hosts = ["*"]
)";
  for (int i = 0; i < 100; ++i) {
    s += "[[service_entry]]\nname = \"svc" + std::to_string(i) + "\"\nhosts = [\"svc" +
         std::to_string(i) +
         ".internal\"]\nports = [{ number = 80, name = \"http\", protocol = \"HTTP\" }]\n"
         "resolution = \"STATIC\"\nendpoints = [{ address = \"10.0." +
         std::to_string(i) + ".1\" }]\n";
  }
  for (int i = 0; i < vhosts; ++i) {
    const std::string n = std::to_string(i);
    const std::string dest =
        "{ destination = { host = \"svc" + std::to_string(i % 100) + ".internal\" } }";
    // Every tenth virtual service is a wildcard host.
    const std::string host = i % 10 == 9 ? "*.w" + n + ".example.com" : "h" + n + ".example.com";
    s += "[[virtual_service]]\nname = \"vs" + n + "\"\nhosts = [\"" + host +
         "\"]\ngateways = [\"edge\"]\n";
    s += "[[virtual_service.http]]\nmatch = [{ uri = { exact = \"/exact/" + n +
         "\" } }]\nroute = [" + dest + "]\n";
    s += "[[virtual_service.http]]\nmatch = [{ uri = { prefix = \"/api/v1/\" } }]\nroute = [" +
         dest + "]\n";
    s += "[[virtual_service.http]]\nmatch = [{ uri = { regex = \"/users/[0-9]+/orders\" } "
         "}]\nroute = [" +
         dest + "]\n";
    s += "[[virtual_service.http]]\nmatch = [{ uri = { prefix = \"/static/\" }, headers = { "
         "x-version = { exact = \"v2\" } } }]\nroute = [" +
         dest + "]\n";
    s += "[[virtual_service.http]]\nmatch = [{ uri = { exact = \"/health\" } }]\n"
         "direct_response = { status = 200 }\n";
    s += "[[virtual_service.http]]\nmatch = [{ uri = { prefix = \"/api/v2/\" }, method = { "
         "exact = \"GET\" } }]\nroute = [" +
         dest + "]\n";
    s += "[[virtual_service.http]]\nmatch = [{ uri = { regex = \"/items/[a-z0-9-]+\" } "
         "}]\nroute = [" +
         dest + "]\n";
    s += "[[virtual_service.http]]\nmatch = [{ uri = { prefix = \"/search\" }, query_params = "
         "{ q = {} } }]\nroute = [" +
         dest + "]\n";
    s += "[[virtual_service.http]]\nmatch = [{ uri = { prefix = \"/admin\" }, headers = { "
         "x-admin = {} } }]\nroute = [" +
         dest + "]\n";
    s += "[[virtual_service.http]]\nmatch = [{ uri = { prefix = \"/\" } }]\nroute = [" + dest +
         "]\n";
  }
  return s;
}

struct Request {
  std::string authority, path, method;
  gh::http::HeaderMap headers;
};

// Requests spread uniformly over the hosts and over the 10 routes of each.
std::vector<Request> GenerateRequests(int vhosts, size_t count) {
  gh::FastRandom rng(42);
  std::vector<Request> out(count);
  for (Request& r : out) {
    const int i = static_cast<int>(rng.Uniform(static_cast<uint64_t>(vhosts)));
    const std::string n = std::to_string(i);
    r.authority = i % 10 == 9 ? "www.w" + n + ".example.com:80" : "h" + n + ".example.com";
    r.method = "GET";
    r.headers.Add("user-agent", "bench");
    r.headers.Add("accept", "*/*");
    switch (rng.Uniform(kRoutesPerHost)) {
      case 0:
        r.path = "/exact/" + n;
        break;
      case 1:
        r.path = "/api/v1/things?page=2";
        break;
      case 2:
        r.path = "/users/12345/orders";
        break;
      case 3:
        r.path = "/static/app.js";
        r.headers.Add("x-version", "v2");
        break;
      case 4:
        r.path = "/health";
        break;
      case 5:
        r.path = "/api/v2/things";
        break;
      case 6:
        r.path = "/items/blue-shirt-42";
        break;
      case 7:
        r.path = "/search?q=shoes";
        break;
      case 8:
        r.path = "/admin/users";
        r.headers.Add("x-admin", "1");
        break;
      default:
        r.path = "/index.html";
        break;
    }
  }
  return out;
}

gh::routing::RequestView View(const Request& r) {
  gh::routing::RequestView v;
  v.method = r.method;
  v.scheme = "http";
  v.authority = r.authority;
  v.path = r.path;
  v.headers = &r.headers;
  v.port = 80;
  return v;
}

long MaxRssKb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// The same 100 000 routes as one file (range(1) == 1) or split like a
// conf.d directory into range(1) files (toml++ trees are freed per file).
std::vector<gh::control::SourceFile> SplitConfig(const std::string& text, int parts) {
  std::vector<gh::control::SourceFile> files;
  if (parts <= 1) {
    files.push_back({"bench.toml", text});
    return files;
  }
  const size_t first_vs = text.find("[[virtual_service]]");
  files.push_back({"00-base.toml", text.substr(0, first_vs)});
  const size_t chunk = (text.size() - first_vs) / static_cast<size_t>(parts);
  size_t begin = first_vs;
  for (int i = 0; i < parts && begin < text.size(); ++i) {
    size_t end = i == parts - 1 ? text.size() : text.find("[[virtual_service]]", begin + chunk);
    if (end == std::string::npos) end = text.size();
    files.push_back({std::to_string(10 + i) + "-routes.toml", text.substr(begin, end - begin)});
    begin = end;
  }
  return files;
}

void BM_Compile100kRoutes(benchmark::State& state) {
  const int vhosts = static_cast<int>(state.range(0));
  const auto files = SplitConfig(GenerateConfig(vhosts), static_cast<int>(state.range(1)));
  size_t bytes = 0;
  for (const auto& f : files)
    bytes += f.content.size();
  const long rss_before = MaxRssKb();
  size_t routes = 0;
  for (auto _ : state) {
    const auto result = gh::control::Compile(files);
    if (!result.ok()) {
      state.SkipWithError("config does not compile");
      return;
    }
    routes = static_cast<size_t>(vhosts) * kRoutesPerHost;
    benchmark::DoNotOptimize(result.config.get());
  }
  state.counters["routes"] = static_cast<double>(routes);
  state.counters["toml_mb"] = static_cast<double>(bytes) / 1e6;
  state.counters["files"] = static_cast<double>(files.size());
  state.counters["peak_rss_mb"] = static_cast<double>(MaxRssKb()) / 1024.0;
  state.counters["rss_before_mb"] = static_cast<double>(rss_before) / 1024.0;
}
BENCHMARK(BM_Compile100kRoutes)
    ->Args({10000, 1})
    ->Args({10000, 10})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

struct LookupFixture {
  std::shared_ptr<const gh::routing::Config> config;
  std::vector<Request> requests;
  const gh::routing::HttpRouteTable* table = nullptr;
};

const LookupFixture& Fixture() {
  static const LookupFixture f = [] {
    LookupFixture x;
    // Requests first: in the data plane a request's strings sit together in
    // its connection's buffers, not scattered through the holes a compile
    // leaves in the heap (allocated after it, each request costs extra cold
    // lines the gateway never pays, and that noise hid the table's own cost).
    x.requests = GenerateRequests(10000, 1 << 16);
    auto result = gh::control::Compile({{"bench.toml", GenerateConfig(10000)}});
    x.config = result.config;
    x.table = x.config->listeners[0].servers[0].http_routes.get();
    return x;
  }();
  return f;
}

void BM_Lookup10kVhostsX10Routes(benchmark::State& state) {
  const LookupFixture& f = Fixture();
  if (f.table == nullptr) {
    state.SkipWithError("no table");
    return;
  }
  size_t i = 0, misses = 0;
  for (auto _ : state) {
    const auto r = f.table->Match(View(f.requests[i]));
    misses += r.route == nullptr ? 1 : 0;
    benchmark::DoNotOptimize(r.route);
    i = (i + 1) & (f.requests.size() - 1);
  }
  state.counters["misses"] = static_cast<double>(misses);
}
BENCHMARK(BM_Lookup10kVhostsX10Routes)->Repetitions(10)->ReportAggregatesOnly(true);

// The per-lookup distribution: each lookup timed on its own (clock overhead
// included, so an upper bound), reporting the median and the 99th percentile.
// range(0) == 1: the request's own bytes are touched first, as they are in
// the data plane right after parsing (the table itself stays cold); 0: the
// request is as cold as the table (65 536 requests, ~10 MB).
void BM_LookupLatencyPercentiles(benchmark::State& state) {
  const LookupFixture& f = Fixture();
  const bool hot_request = state.range(0) == 1;
  std::vector<double> ns;
  ns.reserve(f.requests.size());
  uint64_t sink = 0;
  for (auto _ : state) {
    ns.clear();
    for (const Request& r : f.requests) {
      if (hot_request) {
        for (char c : r.authority)
          sink += static_cast<unsigned char>(c);
        for (char c : r.path)
          sink += static_cast<unsigned char>(c);
        for (const auto& h : r.headers)
          sink += h.name.size() + h.value.size() + static_cast<unsigned char>(h.value[0]);
        benchmark::DoNotOptimize(sink);
      }
      const auto t0 = std::chrono::steady_clock::now();
      const auto result = f.table->Match(View(r));
      benchmark::DoNotOptimize(result.route);
      const auto t1 = std::chrono::steady_clock::now();
      ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
    }
  }
  std::sort(ns.begin(), ns.end());
  state.counters["p50_ns"] = ns[ns.size() / 2];
  state.counters["p90_ns"] = ns[ns.size() * 9 / 10];
  state.counters["p99_ns"] = ns[ns.size() * 99 / 100];
  state.counters["lookups"] = static_cast<double>(ns.size());
}
BENCHMARK(BM_LookupLatencyPercentiles)
    ->Arg(0)
    ->Arg(1)
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
