#include "gateway/tcp_proxy.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/access_log.h"
#include "gateway/byte_chain.h"
#include "gateway/cluster_manager.h"
#include "gateway/connection.h"
#include "gateway/deferred_deletable.h"
#include "gateway/downstream_info.h"
#include "gateway/snapshot.h"
#include "gateway/stats.h"
#include "gateway/timer_queue.h"
#include "gateway/worker.h"
#include "routing/model.h"
#include "routing/tcp_route_table.h"
#include "tls/client_context.h"
#include "tls/client_hello.h"
#include "tls/session.h"

namespace gh::gateway {
namespace {

// Connect attempts per session, each on a different endpoint when the
// cluster has several (Envoy's max_connect_attempts, raised from 1 so one
// dead endpoint does not fail the connection).
constexpr uint32_t kMaxConnectAttempts = 3;
// While both peers have finished sending, how often to look whether our
// last bytes left the write buffers.
constexpr uint64_t kFlushPollMs = 20;

int64_t WallClockMicros() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

const routing::Destination* PickWeighted(const routing::TcpRoute& route, Random& random) {
  if (route.destinations.empty()) return nullptr;
  if (route.destinations.size() == 1 || route.total_weight == 0) return &route.destinations[0];
  uint64_t r = random.Uniform(route.total_weight);
  for (const routing::Destination& d : route.destinations) {
    if (r < d.weight) return &d;
    r -= d.weight;
  }
  return &route.destinations.back();
}

}  // namespace

class TcpSession final : public DeferredDeletable {
 public:
  TcpSession(Worker& worker, const routing::Listener& listener, Connection* downstream,
             std::shared_ptr<DownstreamInfo> info);
  ~TcpSession() override;
  TcpSession(const TcpSession&) = delete;
  TcpSession& operator=(const TcpSession&) = delete;

  void Start();
  // Worker stop: close both sides now, log, and let the caller delete us.
  void Abort();

 private:
  enum class State : uint8_t { kPeeking, kConnecting, kProxying, kClosing, kDone };

  // One ConnectionHandler per side, forwarding to the session.
  class Side final : public ConnectionHandler {
   public:
    Side(TcpSession& session, bool upstream) : session_(session), upstream_(upstream) {}
    void OnData(std::string_view data) override { session_.OnData(upstream_, data); }
    void OnEof() override { session_.OnEof(upstream_); }
    void OnConnected() override { session_.OnUpstreamConnected(); }
    void OnWriteAboveHighWatermark() override { session_.OnWatermark(upstream_, true); }
    void OnWriteBelowLowWatermark() override { session_.OnWatermark(upstream_, false); }
    void OnClose(CloseReason reason) override { session_.OnClosed(upstream_, reason); }

   private:
    TcpSession& session_;
    bool upstream_;
  };

  void OnData(bool upstream, std::string_view data);
  void OnEof(bool upstream);
  void OnWatermark(bool upstream, bool above);
  void OnClosed(bool upstream, CloseReason reason);
  void OnUpstreamConnected();

  void OnClientHello(std::string_view data);
  void Route(std::string_view sni);
  void Connect();
  void OnConnectFailed(CloseReason reason, std::string tls_failure);
  void ReleaseConnectionCounters();  // cluster connections, endpoint active
  void ReleaseUpstreamCounters();    // those and the cluster pin
  void SetDownstreamPaused(bool& reason_flag, bool paused);
  void SetUpstreamPaused(bool paused);
  void MaybeFinishHalfCloses();
  void CheckFlushed();
  void OnIdleTimer();
  void Touch() { last_activity_ms_ = dispatcher().Now(); }
  // Ends the session: closes what is open (the log line is written once
  // both connections are gone).
  void Fail(std::string_view flags, std::string_view termination_details);
  void CloseBoth(Connection::CloseMode mode);
  void AddFlag(std::string_view flag);
  void MaybeDone();
  void Finish();
  void RecordStats();
  void Log();
  Dispatcher& dispatcher() const;

  Worker& worker_;
  SnapshotPtr snapshot_;  // keeps listener_, route_ and the cluster config alive
  const routing::Listener& listener_;
  std::shared_ptr<DownstreamInfo> info_;
  Side downstream_side_{*this, false};
  Side upstream_side_{*this, true};
  Connection* downstream_;
  Connection* upstream_ = nullptr;
  State state_ = State::kPeeking;

  // ClientHello peek (TLS passthrough) and bytes read before the upstream
  // connection is ready; replayed to it on connect.
  std::optional<tls::ClientHelloParser> hello_;
  ByteChain pending_;
  Timer peek_timer_;

  const routing::TcpRoute* route_ = nullptr;
  ClusterState* cluster_ = nullptr;
  std::optional<size_t> endpoint_;
  std::optional<size_t> previous_endpoint_;
  uint32_t attempts_ = 0;
  bool counted_cluster_ = false;     // active_requests held (pins the ClusterState)
  bool counted_connection_ = false;  // cluster connections + endpoint active held
  std::string upstream_host_;
  std::string upstream_local_address_;
  std::string upstream_failure_reason_;
  std::string termination_details_;
  std::string response_code_details_;
  std::string flags_;

  // Flow control: each reason to pause a side is a separate flag so the
  // counted ReadDisable stays balanced.
  bool downstream_paused_for_connect_ = false;
  bool downstream_paused_for_upstream_ = false;
  bool upstream_paused_ = false;
  bool downstream_eof_ = false;
  bool upstream_eof_ = false;

  Timer idle_timer_;
  Timer flush_timer_;
  uint64_t idle_timeout_ms_ = 0;
  uint64_t last_activity_ms_ = 0;

  uint64_t bytes_received_ = 0;         // from downstream
  uint64_t bytes_sent_ = 0;             // to downstream
  TcpMetrics* live_metrics_ = nullptr;  // set once connected (labels: service, "-")
  int64_t start_time_us_;
  uint64_t start_ms_;
  bool finished_ = false;
};

// ------------------------------------------------------------ TcpSessions ---

TcpSessions::TcpSessions(std::function<void()> on_closed) : on_closed_(std::move(on_closed)) {}

TcpSessions::~TcpSessions() {
  AbortAll();
}

void TcpSessions::AbortAll() {
  std::vector<TcpSession*> all(sessions_.begin(), sessions_.end());
  sessions_.clear();
  for (TcpSession* session : all) {
    session->Abort();
    delete session;
  }
}

void TcpSessions::Remove(TcpSession* session) {
  if (sessions_.erase(session) == 0) return;
  if (on_closed_) on_closed_();
}

void StartTcpSession(Worker& worker, const routing::Listener& listener, Connection* connection,
                     std::shared_ptr<DownstreamInfo> info) {
  auto* session = new TcpSession(worker, listener, connection, std::move(info));
  worker.tcp_sessions().Add(session);
  session->Start();
}

// ------------------------------------------------------------- TcpSession ---

TcpSession::TcpSession(Worker& worker, const routing::Listener& listener, Connection* downstream,
                       std::shared_ptr<DownstreamInfo> info)
    : worker_(worker),
      snapshot_(worker.snapshot()),
      listener_(listener),
      info_(std::move(info)),
      downstream_(downstream),
      peek_timer_(worker.dispatcher().timers(),
                  [this] {
                    response_code_details_ = "filter_chain_not_found";
                    Fail("NR", "client_hello_timeout");
                  }),
      idle_timer_(worker.dispatcher().timers(), [this] { OnIdleTimer(); }),
      flush_timer_(worker.dispatcher().timers(), [this] { CheckFlushed(); }),
      start_time_us_(WallClockMicros()),
      start_ms_(worker.dispatcher().Now()) {
  downstream_->SetHandler(&downstream_side_);
}

TcpSession::~TcpSession() {
  // Normally both connections are gone by now; on worker stop Abort() ran.
  if (downstream_ != nullptr) downstream_->CloseAndDetach(Connection::CloseMode::kAbort);
  if (upstream_ != nullptr) upstream_->CloseAndDetach(Connection::CloseMode::kAbort);
  ReleaseUpstreamCounters();
}

Dispatcher& TcpSession::dispatcher() const {
  return worker_.dispatcher();
}

void TcpSession::Start() {
  Touch();
  downstream_->Start();
  if (listener_.kind == routing::ListenerKind::kTlsPassthrough) {
    hello_.emplace(tls::kMaxClientHelloBytes);
    const auto timeout = worker_.proxy_settings().request_headers_timeout.count();
    peek_timer_.Arm(static_cast<uint64_t>(std::max<int64_t>(timeout, 1)));
    return;
  }
  // TCP (and TLS-terminated: SNI from the handshake) route at once.
  Route(info_->sni);
}

// ------------------------------------------------------------------ input ---

void TcpSession::OnData(bool upstream, std::string_view data) {
  if (state_ == State::kDone) return;
  Touch();
  if (upstream) {
    bytes_sent_ += data.size();
    if (live_metrics_ != nullptr) live_metrics_->sent_bytes += data.size();
    if (downstream_ != nullptr) downstream_->Write(data);
    return;
  }
  bytes_received_ += data.size();
  if (live_metrics_ != nullptr) live_metrics_->received_bytes += data.size();
  switch (state_) {
    case State::kPeeking:
      pending_.Append(data);
      OnClientHello(data);
      return;
    case State::kConnecting:
      pending_.Append(data);
      // Bounded: stop reading until the upstream connection takes it.
      if (pending_.size() >= worker_.proxy_settings().connection_buffer_bytes) {
        SetDownstreamPaused(downstream_paused_for_connect_, true);
      }
      return;
    case State::kProxying:
    case State::kClosing:
      if (upstream_ != nullptr) upstream_->Write(data);
      return;
    case State::kDone:
      return;
  }
}

void TcpSession::OnClientHello(std::string_view data) {
  const tls::ClientHelloStatus status = hello_->Feed(data);
  switch (status) {
    case tls::ClientHelloStatus::kNeedMore:
      return;
    case tls::ClientHelloStatus::kNotTls:
      response_code_details_ = "filter_chain_not_found";
      Fail("NR", "client_hello_not_tls");
      return;
    case tls::ClientHelloStatus::kMalformed:
      response_code_details_ = "filter_chain_not_found";
      Fail("NR", "client_hello_malformed");
      return;
    case tls::ClientHelloStatus::kParsed:
      break;
  }
  peek_timer_.Cancel();
  info_->tls = true;
  info_->sni = hello_->hello().sni;
  if (!hello_->hello().alpn.empty()) info_->alpn = hello_->hello().alpn.front();
  const std::string sni = info_->sni;
  hello_.reset();
  Route(sni);
}

void TcpSession::Route(std::string_view sni) {
  const bool tls = listener_.kind == routing::ListenerKind::kTlsPassthrough;
  const std::string local_ip = FormatIp(downstream_->local_address());
  if (listener_.tcp_routes != nullptr) {
    route_ = tls ? listener_.tcp_routes->MatchTls(sni, local_ip)
                 : listener_.tcp_routes->MatchTcp(local_ip);
  }
  if (route_ == nullptr) {
    response_code_details_ = "filter_chain_not_found";
    Fail("NR", tls && sni.empty() ? "no_sni" : "no_route");
    return;
  }
  const routing::Destination* destination = PickWeighted(*route_, worker_.random());
  if (destination != nullptr) {
    cluster_ = worker_.clusters().Get(*snapshot_, destination->cluster);
  }
  if (cluster_ == nullptr) {
    Fail("NC", "cluster_not_found");
    return;
  }
  ++cluster_->active_requests;  // pins the cluster state across reloads
  counted_cluster_ = true;
  const auto idle = cluster_->cluster().pool.tcp_idle_timeout.count();
  idle_timeout_ms_ = idle > 0 ? static_cast<uint64_t>(idle) : 0;
  state_ = State::kConnecting;
  Connect();
}

// ------------------------------------------------------------- upstream ---

void TcpSession::Connect() {
  if (cluster_->connections >= cluster_->max_connections()) {
    Fail("UO", "upstream_connection_overflow");
    return;
  }
  endpoint_ = cluster_->PickEndpoint(worker_.random(), previous_endpoint_);
  if (!endpoint_) {
    Fail("UH", "no_healthy_upstream");
    return;
  }
  ++attempts_;
  EndpointState& endpoint = cluster_->endpoints()[*endpoint_];
  upstream_host_ = endpoint.address_string;
  cluster_->AddActive(*endpoint_);
  ++cluster_->connections;
  counted_connection_ = true;
  ++worker_.stats().upstream_cx_total;
  upstream_ = Connection::Connect(
      dispatcher(), reinterpret_cast<const sockaddr*>(&endpoint.address), cluster_->buffer_limit(),
      cluster_->connect_timeout_ms(), &upstream_side_);
  // DestinationRule TLS origination (SIMPLE, MUTUAL, ISTIO_MUTUAL) wraps the
  // pipe for TCP and TLS-terminated listeners; passthrough bytes are already
  // the client's own TLS and go out untouched. OnConnected then waits for
  // the upstream handshake (bounded by the connect timeout).
  const auto& origination = cluster_->tls();
  if (origination != nullptr && listener_.kind != routing::ListenerKind::kTlsPassthrough) {
    Result<std::unique_ptr<tls::TlsSession>> session =
        tls::TlsSession::NewClient(origination, cluster_->cluster().host);
    if (session.ok()) {
      upstream_->EnableTls(std::move(*session));
    } else {
      upstream_failure_reason_ = session.error().message;
      upstream_->Close(Connection::CloseMode::kAbort);
    }
  }
}

void TcpSession::ReleaseConnectionCounters() {
  if (!counted_connection_) return;
  counted_connection_ = false;
  --cluster_->connections;
  if (endpoint_) cluster_->RemoveActive(*endpoint_);
}

void TcpSession::ReleaseUpstreamCounters() {
  ReleaseConnectionCounters();
  if (counted_cluster_) {
    counted_cluster_ = false;
    --cluster_->active_requests;
  }
}

void TcpSession::OnUpstreamConnected() {
  if (state_ != State::kConnecting || upstream_ == nullptr) return;
  state_ = State::kProxying;
  upstream_local_address_ = upstream_->LocalAddressString();
  // Opened (and bytes from now on) under the labels of a working session.
  TcpLabels labels;
  labels.destination_service = cluster_->cluster().host;
  labels.response_flags = "-";
  live_metrics_ = &worker_.stats().tcp[labels];
  ++live_metrics_->opened;
  live_metrics_->received_bytes += bytes_received_;
  live_metrics_->sent_bytes += bytes_sent_;
  Touch();
  if (idle_timeout_ms_ > 0) idle_timer_.Arm(idle_timeout_ms_);
  if (!pending_.empty()) upstream_->Write(pending_);
  SetDownstreamPaused(downstream_paused_for_connect_, false);
  if (downstream_eof_) upstream_->ShutdownWrite();
}

void TcpSession::OnConnectFailed(CloseReason reason, std::string tls_failure) {
  ++worker_.stats().upstream_cx_connect_fail;
  if (!tls_failure.empty()) {
    upstream_failure_reason_ = std::move(tls_failure);
  } else if (reason == CloseReason::kConnectTimeout) {
    upstream_failure_reason_ = "connect_timeout";
  } else if (reason != CloseReason::kLocal || upstream_failure_reason_.empty()) {
    upstream_failure_reason_ = "connection_failure";
  }
  ReleaseConnectionCounters();
  previous_endpoint_ = endpoint_;
  endpoint_.reset();
  const size_t endpoints = cluster_->endpoints().size();
  if (downstream_ != nullptr && attempts_ < std::min<size_t>(kMaxConnectAttempts, endpoints)) {
    Connect();
    return;
  }
  Fail("UF,URX", upstream_failure_reason_);
}

// ---------------------------------------------------------- flow control ---

void TcpSession::SetDownstreamPaused(bool& reason_flag, bool paused) {
  if (reason_flag == paused || downstream_ == nullptr) return;
  reason_flag = paused;
  downstream_->ReadDisable(paused);
}

void TcpSession::SetUpstreamPaused(bool paused) {
  if (upstream_paused_ == paused || upstream_ == nullptr) return;
  upstream_paused_ = paused;
  upstream_->ReadDisable(paused);
}

void TcpSession::OnWatermark(bool upstream, bool above) {
  // The upstream's write buffer is full of downstream bytes: stop reading
  // the downstream, and the other way round.
  if (upstream) {
    SetDownstreamPaused(downstream_paused_for_upstream_, above);
  } else {
    SetUpstreamPaused(above);
  }
}

// ------------------------------------------------------------ half-close ---

void TcpSession::OnEof(bool upstream) {
  if (state_ == State::kDone) return;
  if (upstream) {
    upstream_eof_ = true;
    if (downstream_ != nullptr) downstream_->ShutdownWrite();
  } else {
    downstream_eof_ = true;
    if (state_ == State::kPeeking) {
      Fail("DC", "downstream_closed_before_client_hello");
      return;
    }
    // While connecting, the shutdown follows the pending bytes on connect.
    if (state_ != State::kConnecting && upstream_ != nullptr) upstream_->ShutdownWrite();
  }
  MaybeFinishHalfCloses();
}

void TcpSession::MaybeFinishHalfCloses() {
  if (!downstream_eof_ || !upstream_eof_ || state_ != State::kProxying) return;
  // Both peers finished sending; we close once our last bytes left.
  state_ = State::kClosing;
  CheckFlushed();
}

void TcpSession::CheckFlushed() {
  if (state_ != State::kClosing) return;
  const bool down_done = downstream_ == nullptr || downstream_->pending_write_bytes() == 0;
  const bool up_done = upstream_ == nullptr || upstream_->pending_write_bytes() == 0;
  if (down_done && up_done) {
    CloseBoth(Connection::CloseMode::kFlushWrite);
    return;
  }
  flush_timer_.Arm(kFlushPollMs);
}

void TcpSession::OnIdleTimer() {
  if (state_ == State::kDone || idle_timeout_ms_ == 0) return;
  const uint64_t idle = dispatcher().Now() - last_activity_ms_;
  if (idle < idle_timeout_ms_) {
    idle_timer_.Arm(idle_timeout_ms_ - idle);
    return;
  }
  Fail("", "idle_timeout");
}

// ------------------------------------------------------------- closing ---

void TcpSession::OnClosed(bool upstream, CloseReason reason) {
  if (upstream) {
    std::string tls_failure;
    if (reason == CloseReason::kTlsFailed && upstream_ != nullptr) {
      tls_failure = upstream_->tls_failure_reason();
      if (tls_failure.empty()) tls_failure = "tls_failure";
    }
    upstream_ = nullptr;
    upstream_paused_ = false;
    if (state_ == State::kConnecting) {
      OnConnectFailed(reason, std::move(tls_failure));
      MaybeDone();
      return;
    }
    // The cluster stays pinned until the log line (it names the cluster).
    ReleaseConnectionCounters();
    if (state_ == State::kProxying) {
      // The upstream went away without the orderly two-way EOF.
      if (!tls_failure.empty()) upstream_failure_reason_ = tls_failure;
      Fail("", reason == CloseReason::kRemoteReset ? "upstream_reset"
               : reason == CloseReason::kTlsFailed ? "upstream_tls_failure"
                                                   : "upstream_closed");
    }
  } else {
    downstream_ = nullptr;
    downstream_paused_for_connect_ = false;
    downstream_paused_for_upstream_ = false;
    if (state_ == State::kPeeking) {
      Fail("DC", "downstream_closed_before_client_hello");
    } else if (state_ == State::kConnecting) {
      Fail("DC", "downstream_closed_before_upstream_connected");
    } else if (state_ == State::kProxying) {
      Fail("", reason == CloseReason::kRemoteReset ? "downstream_reset"
               : reason == CloseReason::kTlsFailed ? "downstream_tls_failure"
                                                   : "downstream_closed");
    }
  }
  MaybeDone();
}

void TcpSession::Fail(std::string_view flags, std::string_view termination_details) {
  if (state_ == State::kDone) return;
  AddFlag(flags);
  if (termination_details_.empty()) termination_details_ = termination_details;
  state_ = State::kClosing;
  peek_timer_.Cancel();
  // Bytes already queued for a live peer are flushed first (bounded by the
  // connection's linger timer); a connection still connecting is aborted.
  CloseBoth(Connection::CloseMode::kFlushWrite);
  MaybeDone();
}

void TcpSession::CloseBoth(Connection::CloseMode mode) {
  idle_timer_.Cancel();
  flush_timer_.Cancel();
  if (downstream_ != nullptr) downstream_->Close(mode);
  if (upstream_ != nullptr) {
    upstream_->Close(upstream_->connected() ? mode : Connection::CloseMode::kAbort);
  }
}

void TcpSession::AddFlag(std::string_view flags) {
  if (flags.empty()) return;
  if (!flags_.empty()) flags_.push_back(',');
  flags_.append(flags);
}

void TcpSession::MaybeDone() {
  if (state_ == State::kDone || downstream_ != nullptr || upstream_ != nullptr) return;
  if (state_ == State::kConnecting) return;  // a new attempt is on its way
  Finish();
  worker_.tcp_sessions().Remove(this);
  dispatcher().DeferDelete(std::unique_ptr<DeferredDeletable>(this));
}

void TcpSession::Abort() {
  if (state_ == State::kDone) return;
  if (termination_details_.empty()) termination_details_ = "worker_stopped";
  if (downstream_ != nullptr) downstream_->CloseAndDetach(Connection::CloseMode::kAbort);
  if (upstream_ != nullptr) upstream_->CloseAndDetach(Connection::CloseMode::kAbort);
  downstream_ = nullptr;
  upstream_ = nullptr;
  Finish();
}

void TcpSession::Finish() {
  if (finished_) return;
  finished_ = true;
  state_ = State::kDone;
  peek_timer_.Cancel();
  idle_timer_.Cancel();
  flush_timer_.Cancel();
  ReleaseUpstreamCounters();
  RecordStats();
  Log();
}

void TcpSession::RecordStats() {
  TcpLabels labels;
  labels.destination_service = cluster_ != nullptr ? cluster_->cluster().host : "unknown";
  labels.response_flags = flags_.empty() ? "-" : flags_;
  TcpMetrics& metrics = worker_.stats().tcp[labels];
  ++metrics.closed;
  if (live_metrics_ == nullptr) {
    // Never connected: everything is reported under the final labels.
    ++metrics.opened;
    metrics.received_bytes += bytes_received_;
    metrics.sent_bytes += bytes_sent_;
  }
}

void TcpSession::Log() {
  AccessLogWriter& log = worker_.access_log();
  if (!log.enabled()) return;
  AccessLogEntry entry;
  entry.start_time_us = start_time_us_;
  entry.response_code = 0;
  entry.response_flags = flags_.empty() ? "-" : flags_;
  entry.response_code_details = response_code_details_;
  entry.connection_termination_details = termination_details_;
  entry.upstream_transport_failure_reason = upstream_failure_reason_;
  entry.bytes_received = bytes_received_;
  entry.bytes_sent = bytes_sent_;
  entry.duration_ms = dispatcher().Now() - start_ms_;
  entry.upstream_host = upstream_host_;
  if (cluster_ != nullptr) entry.upstream_cluster = cluster_->cluster().name;
  entry.upstream_local_address = upstream_local_address_;
  entry.downstream_local_address = info_->local_address;
  entry.downstream_remote_address = info_->peer_address;
  entry.requested_server_name = info_->sni;
  if (route_ != nullptr) entry.route_name = route_->name;
  log.Log(entry);
}

}  // namespace gh::gateway
