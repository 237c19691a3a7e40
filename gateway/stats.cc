#include "gateway/stats.h"

#include <algorithm>

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

void EndpointStats::Merge(const EndpointStats& other) {
  if (address.empty()) address = other.address;
  healthy = healthy && other.healthy;
  active_requests += other.active_requests;
  connections_active += other.connections_active;
  connections_idle += other.connections_idle;
  pending_requests += other.pending_requests;
  if (weight == 0) weight = other.weight;
}

void ClusterStats::Merge(const ClusterStats& other) {
  if (host.empty()) {
    host = other.host;
    service_namespace = other.service_namespace;
    retired = other.retired;
  }
  active_requests += other.active_requests;
  connections += other.connections;
  pending_requests += other.pending_requests;
  // Workers list static endpoints in config order, but DNS endpoints in
  // the order their answers came: same index, same address is the common
  // case; otherwise the address decides.
  for (size_t i = 0; i < other.endpoints.size(); ++i) {
    const EndpointStats& e = other.endpoints[i];
    if (i < endpoints.size() && endpoints[i].address == e.address) {
      endpoints[i].Merge(e);
      continue;
    }
    auto same = std::find_if(endpoints.begin(), endpoints.end(),
                             [&](const EndpointStats& x) { return x.address == e.address; });
    if (same != endpoints.end()) {
      same->Merge(e);
    } else {
      endpoints.push_back(e);
    }
  }
}

void LoopLag::Record(double ms) {
  if (ms < 0) ms = 0;
  histogram.Observe(ms);
  last_ms = ms;
  if (ms > max_ms) max_ms = ms;
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
  for (const auto& [k, v] : other.clusters)
    clusters[k].Merge(v);
  // Loop lag is per worker: the merged view keeps the worst.
  loop_lag.histogram.Merge(other.loop_lag.histogram);
  if (other.loop_lag.last_ms > loop_lag.last_ms) loop_lag.last_ms = other.loop_lag.last_ms;
  if (other.loop_lag.max_ms > loop_lag.max_ms) loop_lag.max_ms = other.loop_lag.max_ms;
}

}  // namespace gh::gateway
