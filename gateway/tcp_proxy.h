// TCP and TLS-passthrough sessions: a byte pipe between one downstream
// connection and one upstream endpoint.
//
//   kTcp listeners:            route on the local address (tcp routes)
//   kTlsPassthrough listeners: read the ClientHello (bounded in bytes and by
//                              the request-headers timeout), route on its SNI
//                              (tls routes), replay the peeked bytes upstream
//                              and pipe the rest untouched
//   kTlsTerminated listeners:  the same as kTcp over a connection that
//                              already delivers plaintext (the session only
//                              ever sees bytes through ConnectionHandler)
//
// Per session: weighted destination, endpoint from the cluster's balancer,
// connect timeout and a bounded number of connect attempts on different
// endpoints (UF, URX), watermark backpressure both ways (a side stops reading
// while the other side's write buffer is above its high watermark, resumes
// below the low one), half-close propagation (EOF on one side becomes a
// shutdown of our sending half on the other), idle timeout (the cluster's
// tcp idle_timeout, default 1 h, 0 = off), byte counters, one access-log line
// and istio_tcp_* counters. Errors are values; nothing throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_set>

namespace gh::routing {
struct Listener;
}

namespace gh::gateway {

class Connection;
class TcpSession;
class Worker;
struct DownstreamInfo;

// The worker's live TCP sessions (for connection limits, drain and stop).
class TcpSessions {
 public:
  // `on_closed` runs after a session ended (the worker reports drain progress).
  explicit TcpSessions(std::function<void()> on_closed);
  ~TcpSessions();
  TcpSessions(const TcpSessions&) = delete;
  TcpSessions& operator=(const TcpSessions&) = delete;

  size_t size() const { return sessions_.size(); }
  // Worker stop: closes every session now (logged, connections reset).
  void AbortAll();

 private:
  friend class TcpSession;
  friend void StartTcpSession(Worker&, const routing::Listener&, Connection*,
                              std::shared_ptr<DownstreamInfo>);
  void Add(TcpSession* session) { sessions_.insert(session); }
  void Remove(TcpSession* session);

  std::unordered_set<TcpSession*> sessions_;
  std::function<void()> on_closed_;
};

// Takes over a connection (not reading yet) on a TCP or TLS passthrough
// listener, or a TLS-terminated listener once its handshake is done (the
// connection then delivers plaintext and info->sni is set). `listener` must
// belong to the worker's current snapshot. The session owns the connection
// from here on.
void StartTcpSession(Worker& worker, const routing::Listener& listener, Connection* connection,
                     std::shared_ptr<DownstreamInfo> info);

}  // namespace gh::gateway
