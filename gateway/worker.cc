#include "gateway/worker.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/log.h"
#include "gateway/connection.h"
#include "gateway/http1_server.h"
#include "gateway/http2_server.h"
#include "gateway/loop_lag.h"
#include "gateway/mirror_request.h"
#include "gateway/protocol_sniffer.h"
#include "gateway/proxy_stream.h"
#include "gateway/tcp_proxy.h"
#include "gateway/tls_acceptor.h"

namespace gh::gateway {
namespace {

constexpr int kAcceptBatch = 64;
constexpr uint64_t kHousekeepingMs = 1000;

}  // namespace

Worker::Worker(uint32_t index, uint32_t worker_count)
    : index_(index), worker_count_(worker_count), random_(EntropySeed() ^ index) {
  uv_loop_init(&loop_);
  dispatcher_ = std::make_unique<Dispatcher>(&loop_);
  clusters_ = std::make_unique<ClusterManager>(*dispatcher_, worker_count_, &stats_);
  access_log_ = std::make_unique<AccessLogWriter>(*dispatcher_);
  housekeeping_timer_ = std::make_unique<Timer>(dispatcher_->timers(), [this] { Housekeeping(); });
  lag_probe_ = std::make_unique<LoopLagProbe>(*dispatcher_, stats_.loop_lag);
  tcp_sessions_ = std::make_unique<TcpSessions>([this] {
    if (draining_) ReportDrain();
  });
}

Worker::~Worker() {
  Join();
  uv_loop_close(&loop_);
}

void Worker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::Run() {
  dispatcher_->BindToCurrentThread();
  housekeeping_timer_->Arm(kHousekeepingMs);
  lag_probe_->Start();
  uv_run(&loop_, UV_RUN_DEFAULT);
  // The loop ended: every handle is closed but the (unreferenced) timers.
  dispatcher_->CloseTimers();
  uv_run(&loop_, UV_RUN_NOWAIT);
  // Free what is left.
  lag_probe_.reset();
  housekeeping_timer_.reset();
  access_log_.reset();
  clusters_.reset();
  dispatcher_.reset();
  uv_run(&loop_, UV_RUN_NOWAIT);
}

void Worker::PostSnapshot(SnapshotPtr snapshot, std::vector<ListenerHandoff> add,
                          std::vector<std::string> remove,
                          std::function<void(uint32_t, uint64_t)> applied) {
  dispatcher_->Post([this, snapshot = std::move(snapshot), add = std::move(add),
                     remove = std::move(remove), applied = std::move(applied)]() mutable {
    const uint64_t version = snapshot->version;
    ApplySnapshot(std::move(snapshot), std::move(add), remove);
    applied(index_, version);
  });
}

void Worker::PostAccessLog(std::shared_ptr<AccessLogSink> sink) {
  dispatcher_->Post([this, sink = std::move(sink)]() mutable {
    if (access_log_ != nullptr) access_log_->SetSink(std::move(sink));
  });
}

void Worker::PostDns(std::shared_ptr<const routing::DnsAnswers> answers) {
  dispatcher_->Post([this, answers = std::move(answers)]() mutable {
    if (clusters_ != nullptr) clusters_->ApplyDns(std::move(answers));
  });
}

void Worker::PostDrain(std::function<void(uint32_t, size_t)> report) {
  dispatcher_->Post([this, report = std::move(report)]() mutable {
    draining_ = true;
    drain_report_ = std::move(report);
    StopListeners();
    std::vector<DownstreamSession*> all(connections_.begin(), connections_.end());
    for (DownstreamSession* connection : all)
      connection->Drain();
    ReportDrain();
  });
}

void Worker::PostStop() {
  dispatcher_->Post([this] {
    stopping_ = true;
    StopListeners();
    std::vector<DownstreamSession*> all(connections_.begin(), connections_.end());
    for (DownstreamSession* connection : all)
      delete connection;
    connections_.clear();
    tcp_sessions_->AbortAll();
    // Mirrors hold upstream sockets and count in their cluster: end them
    // while the clusters live (their deadline timers stop with the loop).
    std::vector<MirrorRequest*> mirrors(mirrors_.begin(), mirrors_.end());
    mirrors_.clear();
    for (MirrorRequest* mirror : mirrors)
      delete mirror;
    // Handshakes in progress hold sockets too (their timeout is a timer).
    std::vector<TlsAcceptor*> handshakes(handshakes_.begin(), handshakes_.end());
    handshakes_.clear();
    for (TlsAcceptor* acceptor : handshakes)
      delete acceptor;
    clusters_->RetireAll();
    access_log_->Flush();
    housekeeping_timer_->Cancel();
    lag_probe_->Stop();
    dispatcher_->Close();
  });
}

void Worker::PostStatsRequest(std::function<void(WorkerStats)> reply) {
  dispatcher_->Post([this, reply = std::move(reply)] {
    WorkerStats copy = stats_;
    copy.downstream_cx_active = connections_.size() + tcp_sessions_->size();
    clusters_->Report(copy.clusters);
    reply(std::move(copy));
  });
}

void Worker::ApplySnapshot(SnapshotPtr snapshot, std::vector<ListenerHandoff> add,
                           const std::vector<std::string>& remove) {
  snapshot_ = std::move(snapshot);
  stats_.config_version_applied = snapshot_->version;
  clusters_->Apply(*snapshot_);
  for (const std::string& name : remove) {
    auto it = listeners_.find(name);
    if (it == listeners_.end()) continue;
    it->second->Close();
    listeners_.erase(it);
  }
  if (!remove.empty()) {
    // Connections of a removed listener finish their current request and
    // close (idle ones now) instead of answering later requests with 404.
    std::vector<DownstreamSession*> doomed;
    for (DownstreamSession* connection : connections_) {
      const std::string& listener = connection->info().listener_name;
      if (std::find(remove.begin(), remove.end(), listener) != remove.end()) {
        doomed.push_back(connection);
      }
    }
    for (DownstreamSession* connection : doomed)
      connection->Drain();
  }
  for (ListenerHandoff& handoff : add) {
    if (draining_) {
      ::close(handoff.fd);
      continue;
    }
    listeners_[handoff.name] = std::make_unique<WorkerListener>(*this, handoff.name, handoff.fd);
  }
}

void Worker::StopListeners() {
  for (auto& [name, listener] : listeners_)
    listener->Close();
  listeners_.clear();
}

void Worker::OnAccepted(const WorkerListener& listener, int fd) {
  const routing::ProxySettings& proxy = proxy_settings();
  const uint32_t share = (proxy.max_connections + worker_count_ - 1) / worker_count_;
  if (draining_ || connections_.size() + handshakes_.size() + tcp_sessions_->size() >= share) {
    ++stats_.downstream_cx_rejected;
    ::close(fd);
    return;
  }
  const routing::Listener* config = nullptr;
  for (const routing::Listener& l : snapshot_->config->listeners) {
    if (l.name == listener.name()) config = &l;
  }
  if (config == nullptr) {
    ::close(fd);
    return;
  }
  Connection* connection = Connection::Adopt(*dispatcher_, fd, proxy.connection_buffer_bytes);
  if (connection == nullptr) return;
  ++stats_.downstream_cx_total;
  auto info = std::make_shared<DownstreamInfo>();
  info->connection_id = (next_connection_id_++ << 8) | index_;
  info->listener_name = config->name;
  info->listener_port = config->port;
  info->peer_ip = connection->PeerIp();
  info->peer_address = connection->PeerAddressString();
  info->local_address = connection->LocalAddressString();
  switch (config->kind) {
    case routing::ListenerKind::kHttp: {
      // Plain HTTP listeners serve HTTP/1.1 and h2c (prior knowledge) on one port.
      auto* sniffer = new ProtocolSniffer(*this, connection, std::move(info));
      connections_.insert(sniffer);
      sniffer->Start();
      return;
    }
    case routing::ListenerKind::kTcp:
    case routing::ListenerKind::kTlsPassthrough:
      StartTcpSession(*this, *config, connection, std::move(info));  // gateway/tcp_proxy.h
      return;
    case routing::ListenerKind::kHttps:
    case routing::ListenerKind::kTlsTerminated: {
      auto context = snapshot_->ListenerTls(config->name);
      Result<std::unique_ptr<tls::TlsSession>> session =
          context != nullptr ? tls::TlsSession::NewServer(context)
                             : Result<std::unique_ptr<tls::TlsSession>>(
                                   MakeError("no TLS context for listener " + config->name));
      if (!session.ok()) {
        GH_LOG(kTls, kError, session.error().message);
        CountTlsFailure("internal");
        connection->CloseAndDetach(Connection::CloseMode::kAbort);
        return;
      }
      info->tls = true;
      connection->EnableTls(std::move(*session));
      auto* acceptor =
          new TlsAcceptor(*this, connection, std::move(info),
                          static_cast<uint64_t>(proxy.request_headers_timeout.count()));
      handshakes_.insert(acceptor);
      acceptor->Start();
      return;
    }
  }
}

void Worker::StartSession(Connection* connection, std::shared_ptr<const DownstreamInfo> info,
                          DownstreamProtocol protocol, std::string_view initial) {
  if (protocol == DownstreamProtocol::kHttp2) {
    auto* session = new Http2ServerConnection(*this, connection, std::move(info));
    connections_.insert(session);
    session->Start(initial);
    return;
  }
  auto* session = new Http1ServerConnection(*this, connection, std::move(info));
  connections_.insert(session);
  session->Start(initial);
}

void Worker::OnProtocolDetected(ProtocolSniffer* sniffer, Connection* connection,
                                std::shared_ptr<const DownstreamInfo> info,
                                DownstreamProtocol protocol, std::string_view initial) {
  if (connections_.erase(sniffer) != 0) {
    dispatcher_->DeferDelete(std::unique_ptr<DeferredDeletable>(sniffer));
  }
  StartSession(connection, std::move(info), protocol, initial);
}

void Worker::OnTlsAccepted(TlsAcceptor* acceptor, Connection* connection,
                           std::shared_ptr<DownstreamInfo> info) {
  if (handshakes_.erase(acceptor) != 0) {
    dispatcher_->DeferDelete(std::unique_ptr<DeferredDeletable>(acceptor));
  }
  if (draining_) {
    connection->CloseAndDetach(Connection::CloseMode::kFlushWrite);
    return;
  }
  for (const routing::Listener& l : snapshot_->config->listeners) {
    if (l.name == info->listener_name && l.kind == routing::ListenerKind::kTlsTerminated) {
      StartTcpSession(*this, l, connection, std::move(info));  // plaintext byte pipe
      return;
    }
  }
  // ALPN picks the codec; without ALPN the client speaks HTTP/1.1.
  const DownstreamProtocol protocol =
      info->alpn == "h2" ? DownstreamProtocol::kHttp2 : DownstreamProtocol::kHttp1;
  StartSession(connection, std::move(info), protocol, {});
}

void Worker::OnTlsAcceptorClosed(TlsAcceptor* acceptor) {
  if (handshakes_.erase(acceptor) != 0) {
    dispatcher_->DeferDelete(std::unique_ptr<DeferredDeletable>(acceptor));
  }
}

void Worker::CountTlsHandshake(const std::string& listener) {
  ++stats_.tls_handshakes[listener];
}

void Worker::CountTlsFailure(std::string_view reason) {
  ++stats_.tls_handshake_failures[std::string(reason)];
}

std::unique_ptr<StreamHandler> Worker::NewStream(DownstreamStream& downstream,
                                                 std::shared_ptr<const DownstreamInfo> info) {
  return std::make_unique<ProxyStream>(*this, downstream, std::move(info));
}

void Worker::OnDownstreamClosed(DownstreamSession* connection) {
  if (connections_.erase(connection) == 0) return;
  dispatcher_->DeferDelete(std::unique_ptr<DeferredDeletable>(connection));
  if (draining_) ReportDrain();
}

void Worker::ReportDrain() {
  if (drain_report_) drain_report_(index_, connections_.size() + tcp_sessions_->size());
}

void Worker::CountDownstreamProtocolError(const DownstreamInfo&, int status,
                                          std::string_view detail) {
  ++stats_.downstream_protocol_errors[std::string(detail)];
  const std::string code = std::to_string(status);
  // Counted like any request (the histograms too), with nothing measured.
  RecordRequest(RequestLabelsView{"unknown", "unknown", code, "DPE", "http", ""}, 0, 0, 0);
}

void Worker::CountHttp2Violation(const DownstreamInfo& info, Http2Violation violation) {
  const std::string_view kind = Http2ViolationName(violation);
  ++stats_.http2_violations[std::string(kind)];
  GH_LOG(kHttp, kWarn,
         "http2 violation: " << kind << " from " << info.peer_address << " (connection "
                             << info.connection_id << "): GOAWAY and close");
}

void Worker::RecordRequest(const RequestLabels& labels, uint64_t duration_ms,
                           uint64_t request_bytes, uint64_t response_bytes) {
  RecordRequest(RequestLabelsView{labels.destination_service, labels.destination_cluster,
                                  labels.response_code, labels.response_flags,
                                  labels.request_protocol, labels.grpc_response_status},
                duration_ms, request_bytes, response_bytes);
}

void Worker::RecordRequest(const RequestLabelsView& labels, uint64_t duration_ms,
                           uint64_t request_bytes, uint64_t response_bytes) {
  // Heterogeneous lookup: an existing series costs no allocation.
  auto it = stats_.requests.find(labels);
  if (it == stats_.requests.end())
    it = stats_.requests.emplace(labels.Own(), RequestMetrics{}).first;
  RequestMetrics& metrics = it->second;
  ++metrics.total;
  metrics.duration_ms.Observe(static_cast<double>(duration_ms));
  metrics.request_bytes.Observe(static_cast<double>(request_bytes));
  metrics.response_bytes.Observe(static_cast<double>(response_bytes));
}

void Worker::AdoptMirror(MirrorRequest* mirror) {
  mirrors_.insert(mirror);
  ++stats_.mirrors_started;
}

void Worker::OnMirrorDone(MirrorRequest* mirror, bool ok) {
  if (mirrors_.erase(mirror) == 0) return;
  if (!ok) ++stats_.mirrors_failed;
  dispatcher_->DeferDelete(std::unique_ptr<DeferredDeletable>(mirror));
}

void Worker::Housekeeping() {
  clusters_->CollectGarbage();
  housekeeping_timer_->Arm(kHousekeepingMs);
}

WorkerListener::WorkerListener(Worker& worker, std::string name, int fd)
    : worker_(worker),
      name_(std::move(name)),
      fd_(fd),
      poll_(new uv_poll_t),
      resume_(worker.dispatcher().timers(), [this] {
        if (poll_ != nullptr) uv_poll_start(poll_, UV_READABLE, &WorkerListener::OnReadable);
      }) {
  uv_poll_init(worker.dispatcher().loop(), poll_, fd_);
  poll_->data = this;
  uv_poll_start(poll_, UV_READABLE, &WorkerListener::OnReadable);
}

WorkerListener::~WorkerListener() {
  Close();
}

void WorkerListener::Close() {
  resume_.Cancel();
  if (poll_ == nullptr) return;
  uv_poll_stop(poll_);
  // Stop listening now, not when the loop gets to the close callback: the
  // worker acknowledges the snapshot before that, and a connect in between
  // would be queued on a socket nobody accepts from any more.
  ::shutdown(fd_, SHUT_RDWR);
  poll_->data = reinterpret_cast<void*>(static_cast<intptr_t>(fd_));
  uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* handle) {
    ::close(static_cast<int>(reinterpret_cast<intptr_t>(handle->data)));
    delete reinterpret_cast<uv_poll_t*>(handle);
  });
  poll_ = nullptr;
}

void WorkerListener::OnReadable(uv_poll_t* handle, int status, int) {
  auto* self = static_cast<WorkerListener*>(handle->data);
  if (status < 0) return;
  // Bounded batch: a flood of connects must not starve established ones.
  for (int i = 0; i < kAcceptBatch; ++i) {
    const int fd = ::accept4(self->fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno == EMFILE || errno == ENFILE) {
        // The connection stays in the backlog and the poll stays readable:
        // pause accepting for a moment rather than spin (and log) on it.
        GH_LOG(kWorker, kWarn, "accept: out of file descriptors; pausing accepts for 100 ms");
        uv_poll_stop(handle);
        self->resume_.Arm(100);
      }
      return;
    }
    self->worker_.OnAccepted(*self, fd);
  }
}

}  // namespace gh::gateway
