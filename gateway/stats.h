// Per-worker statistics: plain integers touched only by the owning worker
// (no atomics on the request path), copied out on request and merged by the
// admin thread at scrape time.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace gh::gateway {

// Envoy's default histogram buckets (milliseconds or bytes).
inline constexpr std::array<double, 19> kDefaultBuckets = {
    0.5,  1,    5,     10,    25,    50,     100,    250,     500,    1000,
    2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000};

struct Histogram {
  std::array<uint64_t, kDefaultBuckets.size() + 1> counts{};  // last: +Inf
  uint64_t count = 0;
  double sum = 0;
  void Observe(double value);
  void Merge(const Histogram& other);
};

// Istio request metric labels that vary per request at a gateway.
struct RequestLabels {
  std::string destination_service;  // host, "unknown" when none
  std::string destination_cluster;
  std::string response_code;
  std::string response_flags;    // "-" when none
  std::string request_protocol;  // "http" / "grpc"
  std::string grpc_response_status;
  auto Tie() const {
    return std::tie(destination_service, destination_cluster, response_code, response_flags,
                    request_protocol, grpc_response_status);
  }
  bool operator<(const RequestLabels& other) const { return Tie() < other.Tie(); }
};

// The same labels without owning them: what the request path builds, so a
// lookup of an existing series copies and allocates nothing.
struct RequestLabelsView {
  std::string_view destination_service;
  std::string_view destination_cluster;
  std::string_view response_code;
  std::string_view response_flags;
  std::string_view request_protocol;
  std::string_view grpc_response_status;
  RequestLabels Own() const {
    return {std::string(destination_service), std::string(destination_cluster),
            std::string(response_code),       std::string(response_flags),
            std::string(request_protocol),    std::string(grpc_response_status)};
  }
};

// Orders RequestLabels and RequestLabelsView alike (heterogeneous lookup).
struct RequestLabelsLess {
  using is_transparent = void;
  static auto Views(const RequestLabels& l) {
    return std::tuple<std::string_view, std::string_view, std::string_view, std::string_view,
                      std::string_view, std::string_view>(
        l.destination_service, l.destination_cluster, l.response_code, l.response_flags,
        l.request_protocol, l.grpc_response_status);
  }
  static auto Views(const RequestLabelsView& l) {
    return std::make_tuple(l.destination_service, l.destination_cluster, l.response_code,
                           l.response_flags, l.request_protocol, l.grpc_response_status);
  }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return Views(a) < Views(b);
  }
};

struct RequestMetrics {
  uint64_t total = 0;
  Histogram duration_ms;
  Histogram request_bytes;
  Histogram response_bytes;
  void Merge(const RequestMetrics& other);
};

struct TcpLabels {
  std::string destination_service;
  std::string response_flags;
  auto Tie() const { return std::tie(destination_service, response_flags); }
  bool operator<(const TcpLabels& other) const { return Tie() < other.Tie(); }
};

struct TcpMetrics {
  uint64_t opened = 0, closed = 0, sent_bytes = 0, received_bytes = 0;
};

// One upstream endpoint as a worker sees it (filled when stats are asked
// for, never on the request path).
struct EndpointStats {
  std::string address;  // ip:port
  bool healthy = true;
  uint64_t active_requests = 0;
  uint64_t connections_active = 0;  // busy or connecting
  uint64_t connections_idle = 0;
  uint64_t pending_requests = 0;
  uint32_t weight = 0;  // 0: not reported (the configured endpoint's applies)
  void Merge(const EndpointStats& other);
};

// One upstream cluster's per-worker state: endpoints, active requests, pool
// sizes. `retired`: removed (or changed) by a reload and still draining.
struct ClusterStats {
  std::string host;
  std::string service_namespace;
  bool retired = false;
  uint64_t active_requests = 0;
  uint64_t connections = 0;
  uint64_t pending_requests = 0;
  std::vector<EndpointStats> endpoints;
  void Merge(const ClusterStats& other);
};

// Event-loop lag: how late a periodic timer fires (milliseconds).
struct LoopLag {
  Histogram histogram;
  double last_ms = 0;
  double max_ms = 0;  // largest sample ever
  void Record(double ms);
};

struct WorkerStats {
  std::map<RequestLabels, RequestMetrics, RequestLabelsLess> requests;
  std::map<TcpLabels, TcpMetrics> tcp;
  uint64_t downstream_cx_total = 0;
  uint64_t downstream_cx_active = 0;
  uint64_t downstream_cx_rejected = 0;
  std::map<std::string, uint64_t> downstream_protocol_errors;  // by reason
  std::map<std::string, uint64_t> http2_violations;            // by kind
  uint64_t upstream_cx_total = 0;
  uint64_t mirrors_started = 0;
  uint64_t mirrors_failed = 0;
  uint64_t mirrors_skipped = 0;  // body too large to copy
  uint64_t upstream_cx_connect_fail = 0;
  std::map<std::string, uint64_t> tls_handshakes;          // by listener
  std::map<std::string, uint64_t> tls_handshake_failures;  // by reason
  uint64_t config_version_applied = 0;
  LoopLag loop_lag;
  // Keyed by cluster name; a changed cluster draining beside its successor
  // is keyed "<name>#retired".
  std::map<std::string, ClusterStats> clusters;

  void Merge(const WorkerStats& other);
};

}  // namespace gh::gateway
