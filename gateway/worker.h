// One worker thread: its own uv loop, listen sockets, downstream
// connections, upstream pools and stats shard. Everything here runs on the
// worker's thread except the Post* methods, which the main thread calls.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/random.h"
#include "gateway/access_log.h"
#include "gateway/cluster_manager.h"
#include "gateway/dispatcher.h"
#include "gateway/downstream_info.h"
#include "gateway/downstream_session.h"
#include "gateway/http2_limits.h"
#include "gateway/http_stream.h"
#include "gateway/snapshot.h"
#include "gateway/stats.h"

namespace gh::gateway {

class Connection;
class LoopLagProbe;
class MirrorRequest;
class ProtocolSniffer;
class TcpSessions;
class TlsAcceptor;
class WorkerListener;

// A listen fd handed to a worker for one listener (by stable name).
struct ListenerHandoff {
  std::string name;
  int fd = -1;
};

class Worker {
 public:
  Worker(uint32_t index, uint32_t worker_count);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // ---- main thread ----
  void Start();
  void Join();
  // Applies a snapshot: swaps the pointer, opens handed-over listeners,
  // closes the named ones, then calls `applied(index, version)` on the
  // worker thread (the callback posts back to main).
  void PostSnapshot(SnapshotPtr snapshot, std::vector<ListenerHandoff> add,
                    std::vector<std::string> remove,
                    std::function<void(uint32_t, uint64_t)> applied);
  void PostAccessLog(std::shared_ptr<AccessLogSink> sink);
  // New DNS answers (gateway/dns_refresher.h): DNS clusters re-expand their
  // endpoints on the worker's loop, between requests.
  void PostDns(std::shared_ptr<const routing::DnsAnswers> answers);
  // Graceful drain: stop accepting, close idle connections, finish the rest
  // with Connection: close. `report(active)` is called as connections end.
  void PostDrain(std::function<void(uint32_t, size_t)> report);
  void PostStop();
  void PostStatsRequest(std::function<void(WorkerStats)> reply);
  uint32_t index() const { return index_; }

  // ---- worker thread ----
  Dispatcher& dispatcher() { return *dispatcher_; }
  const SnapshotPtr& snapshot() const { return snapshot_; }
  const routing::ProxySettings& proxy_settings() const { return snapshot_->config->proxy; }
  Random& random() { return random_; }
  ClusterManager& clusters() { return *clusters_; }
  AccessLogWriter& access_log() { return *access_log_; }
  WorkerStats& stats() { return stats_; }
  TcpSessions& tcp_sessions() { return *tcp_sessions_; }
  bool draining() const { return draining_; }

  void OnAccepted(const WorkerListener& listener, int fd);
  // Runs `protocol` on an accepted connection; `initial` holds bytes already
  // read from it (sniffing). Plain listeners get there through the sniffer,
  // TLS listeners through the handshake (ALPN "h2" -> kHttp2, else kHttp1).
  void StartSession(Connection* connection, std::shared_ptr<const DownstreamInfo> info,
                    DownstreamProtocol protocol, std::string_view initial);
  // The sniffer recognised the protocol: it is replaced by the real session.
  void OnProtocolDetected(ProtocolSniffer* sniffer, Connection* connection,
                          std::shared_ptr<const DownstreamInfo> info, DownstreamProtocol protocol,
                          std::string_view initial);
  std::unique_ptr<StreamHandler> NewStream(DownstreamStream& downstream,
                                           std::shared_ptr<const DownstreamInfo> info);
  void OnDownstreamClosed(DownstreamSession* session);
  // TLS handshakes on terminating listeners.
  void OnTlsAccepted(TlsAcceptor* acceptor, Connection* connection,
                     std::shared_ptr<DownstreamInfo> info);
  void OnTlsAcceptorClosed(TlsAcceptor* acceptor);
  void CountTlsHandshake(const std::string& listener);
  void CountTlsFailure(std::string_view reason);
  void CountDownstreamProtocolError(const DownstreamInfo& info, int status,
                                    std::string_view detail);
  void CountHttp2Violation(const DownstreamInfo& info, Http2Violation violation);
  void RecordRequest(const RequestLabelsView& labels, uint64_t duration_ms, uint64_t request_bytes,
                     uint64_t response_bytes);
  void RecordRequest(const RequestLabels& labels, uint64_t duration_ms, uint64_t request_bytes,
                     uint64_t response_bytes);
  // Mirrors outlive the request that started them; the worker owns them.
  void AdoptMirror(MirrorRequest* mirror);
  void OnMirrorDone(MirrorRequest* mirror, bool ok);

 private:
  void Run();
  void ApplySnapshot(SnapshotPtr snapshot, std::vector<ListenerHandoff> add,
                     const std::vector<std::string>& remove);
  void StopListeners();
  void ReportDrain();
  void Housekeeping();

  const uint32_t index_;
  const uint32_t worker_count_;
  uv_loop_t loop_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::thread thread_;
  SnapshotPtr snapshot_;
  FastRandom random_;
  std::unique_ptr<ClusterManager> clusters_;
  std::unique_ptr<AccessLogWriter> access_log_;
  WorkerStats stats_;
  std::unordered_map<std::string, std::unique_ptr<WorkerListener>> listeners_;
  std::unordered_set<DownstreamSession*> connections_;
  std::unordered_set<MirrorRequest*> mirrors_;
  std::unique_ptr<TcpSessions> tcp_sessions_;  // TCP / TLS passthrough (gateway/tcp_proxy.h)
  std::unordered_set<TlsAcceptor*> handshakes_;
  std::unique_ptr<Timer> housekeeping_timer_;
  std::unique_ptr<LoopLagProbe> lag_probe_;
  uint64_t next_connection_id_ = 1;
  bool draining_ = false;
  bool stopping_ = false;
  std::function<void(uint32_t, size_t)> drain_report_;
};

// One listener's accept loop on a worker: uv_poll on our own fd, accept4 in
// bounded batches.
class WorkerListener {
 public:
  WorkerListener(Worker& worker, std::string name, int fd);
  ~WorkerListener();
  const std::string& name() const { return name_; }
  // Stops accepting and closes the fd (after libuv lets go of it).
  void Close();

 private:
  static void OnReadable(uv_poll_t* handle, int status, int events);
  Worker& worker_;
  std::string name_;
  int fd_;
  uv_poll_t* poll_;
  // Out of file descriptors: accepting pauses briefly instead of spinning
  // on a poll that stays readable.
  Timer resume_;
};

}  // namespace gh::gateway
