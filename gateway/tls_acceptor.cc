#include "gateway/tls_acceptor.h"

#include "gateway/worker.h"
#include "tls/cert_info.h"
#include "tls/server_context.h"

namespace gh::gateway {

TlsAcceptor::TlsAcceptor(Worker& worker, Connection* connection,
                         std::shared_ptr<DownstreamInfo> info, uint64_t timeout_ms)
    : worker_(worker),
      connection_(connection),
      info_(std::move(info)),
      timer_(worker.dispatcher().timers(), [this] {
        worker_.CountTlsFailure("handshake_timeout");
        Abort();
      }) {
  connection_->SetHandler(this);
  timer_.Arm(timeout_ms);
}

TlsAcceptor::~TlsAcceptor() {
  if (connection_ != nullptr) connection_->CloseAndDetach(Connection::CloseMode::kAbort);
}

void TlsAcceptor::Abort() {
  if (connection_ != nullptr) connection_->Close(Connection::CloseMode::kAbort);
}

void TlsAcceptor::OnData(std::string_view) {
  // Plaintext before the handshake completed cannot happen: the session only
  // yields application data once established (and we hand over then).
}

void TlsAcceptor::OnEof() {
  connection_->Close(Connection::CloseMode::kAbort);
}

void TlsAcceptor::OnTlsHandshakeDone() {
  timer_.Cancel();
  tls::TlsSession& session = *connection_->tls();
  info_->sni = std::string(session.sni());
  info_->alpn = std::string(session.alpn());
  info_->server_index = session.server_index();
  if (const tls::CertInfo* peer = session.peer_certificate()) {
    info_->peer_certificate_uri = peer->spiffe_id;
    info_->xfcc = tls::BuildXfcc(session);
  }
  worker_.CountTlsHandshake(info_->listener_name);
  Connection* connection = connection_;
  connection_ = nullptr;
  connection->SetHandler(nullptr);
  worker_.OnTlsAccepted(this, connection, std::move(info_));
}

void TlsAcceptor::OnClose(CloseReason reason) {
  Connection* connection = connection_;
  connection_ = nullptr;
  timer_.Cancel();
  if (reason == CloseReason::kTlsFailed && connection != nullptr && connection->tls() != nullptr) {
    worker_.CountTlsFailure(tls::TlsFailureName(connection->tls()->failure()));
  }
  worker_.OnTlsAcceptorClosed(this);
}

}  // namespace gh::gateway
