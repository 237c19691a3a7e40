#include "gateway/stats.h"

namespace gh::gateway {

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < kDefaultBuckets.size() && value > kDefaultBuckets[i])
    ++i;
  ++counts[i];
  ++count;
  sum += value;
}

void Histogram::Merge(const Histogram& other) {
  for (size_t i = 0; i < counts.size(); ++i)
    counts[i] += other.counts[i];
  count += other.count;
  sum += other.sum;
}

void RequestMetrics::Merge(const RequestMetrics& other) {
  total += other.total;
  duration_ms.Merge(other.duration_ms);
  request_bytes.Merge(other.request_bytes);
  response_bytes.Merge(other.response_bytes);
}

void WorkerStats::Merge(const WorkerStats& other) {
  for (const auto& [labels, metrics] : other.requests)
    requests[labels].Merge(metrics);
  for (const auto& [labels, metrics] : other.tcp) {
    TcpMetrics& m = tcp[labels];
    m.opened += metrics.opened;
    m.closed += metrics.closed;
    m.sent_bytes += metrics.sent_bytes;
    m.received_bytes += metrics.received_bytes;
  }
  downstream_cx_total += other.downstream_cx_total;
  downstream_cx_active += other.downstream_cx_active;
  downstream_cx_rejected += other.downstream_cx_rejected;
  for (const auto& [k, v] : other.downstream_protocol_errors)
    downstream_protocol_errors[k] += v;
  for (const auto& [k, v] : other.http2_violations)
    http2_violations[k] += v;
  upstream_cx_total += other.upstream_cx_total;
  mirrors_started += other.mirrors_started;
  mirrors_failed += other.mirrors_failed;
  mirrors_skipped += other.mirrors_skipped;
  upstream_cx_connect_fail += other.upstream_cx_connect_fail;
  for (const auto& [k, v] : other.tls_handshakes)
    tls_handshakes[k] += v;
  for (const auto& [k, v] : other.tls_handshake_failures)
    tls_handshake_failures[k] += v;
}

}  // namespace gh::gateway
