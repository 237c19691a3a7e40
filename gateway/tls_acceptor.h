// Holds a freshly accepted TLS connection until its handshake completes
// (bounded by the request-headers timeout), then hands it to the HTTP
// session that ALPN asks for. Handshake failures are counted by reason.
#pragma once

#include <memory>

#include "gateway/connection.h"
#include "gateway/deferred_deletable.h"
#include "gateway/downstream_info.h"
#include "gateway/timer_queue.h"

namespace gh::gateway {

class Worker;

class TlsAcceptor final : public ConnectionHandler, public DeferredDeletable {
 public:
  TlsAcceptor(Worker& worker, Connection* connection, std::shared_ptr<DownstreamInfo> info,
              uint64_t timeout_ms);
  ~TlsAcceptor() override;
  void Start() { connection_->Start(); }
  // Drain or stop: abandon the handshake.
  void Abort();

  void OnData(std::string_view data) override;
  void OnEof() override;
  void OnTlsHandshakeDone() override;
  void OnClose(CloseReason reason) override;

 private:
  Worker& worker_;
  Connection* connection_;
  std::shared_ptr<DownstreamInfo> info_;
  Timer timer_;
};

}  // namespace gh::gateway
