// Per-worker statistics: plain integers touched only by the owning worker
// (no atomics on the request path), copied out on request and merged by the
// admin thread at scrape time.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>

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

struct WorkerStats {
  std::map<RequestLabels, RequestMetrics> requests;
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
  double loop_lag_ms = 0;

  void Merge(const WorkerStats& other);
};

}  // namespace gh::gateway
