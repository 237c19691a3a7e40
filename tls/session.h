// TLS over buffers: one TlsSession per TLS connection, server or client role.
// It knows bytes, not sockets: the data plane feeds the ciphertext it read,
// pulls plaintext into its own buffers, hands in plaintext to send, and writes
// out the ciphertext the session produced. The handshake advances inside
// those calls.
//
// Driving it from a libuv connection (one worker thread per session):
//
//   alloc_cb:  buf = session->PrepareInput(suggested)   // read straight into it
//   read_cb:   session->CommitInput(nread)              // or FeedCiphertext(copy)
//              while ((n = session->ReadPlaintext(app_free_space)) > 0) codec(...)
//              FlushCiphertext()  // handshake replies, tickets, alerts
//              if (session->state() == kFailed) -> log failure_reason(), close
//              on UV_EOF: session->OnTransportEof()
//   to send:   if (session->handshake_complete()) session->WritePlaintext(data);
//              FlushCiphertext()
//   FlushCiphertext: if (session->HasCiphertext()) {
//                      auto buf = session->TakeCiphertext();   // owning, moveable
//                      uv_write(buf.data(), buf.size()) ... free buf in write_cb
//                    }
//   closing:   session->Shutdown(); FlushCiphertext(); then close the socket.
//
// Memory: no buffer is kept while a connection is idle. The input buffer is
// freed once every byte in it was consumed, the output buffer is handed over
// by TakeCiphertext(), and OpenSSL runs with SSL_MODE_RELEASE_BUFFERS.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "tls/cert_info.h"

namespace gh::tls {

class ServerContext;
class ClientContext;
namespace internal {
struct SessionAccess;
}

// A growable byte buffer with a consumed front, owning its storage. Moving it
// hands the storage over without copying (TakeCiphertext).
class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(ByteBuffer&& other) noexcept;
  ByteBuffer& operator=(ByteBuffer&& other) noexcept;
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;

  const uint8_t* data() const { return data_.get() + begin_; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  size_t capacity() const { return cap_; }
  std::span<const uint8_t> span() const { return {data(), size()}; }

  void Append(const void* bytes, size_t n);
  // Writable space of at least `n` bytes after the data; Commit() what was written.
  std::span<uint8_t> Prepare(size_t n);
  void Commit(size_t n) { end_ += n; }
  // Drops `n` bytes from the front; frees the storage once empty.
  void Consume(size_t n);
  void Release();

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t cap_ = 0, begin_ = 0, end_ = 0;
};

// Why a handshake or connection failed, coarse enough for a metric label.
enum class TlsFailure : uint8_t {
  kNone,
  kProtocol,                 // malformed records/messages, plaintext HTTP to a TLS port, ...
  kVersion,                  // no common protocol version (e.g. TLS 1.0 client)
  kCipher,                   // no common cipher suite, group or signature algorithm
  kSni,                      // no server for the SNI and no default (server role)
  kAlpn,                     // ALPN required and no overlap
  kPeerCertificateMissing,   // MUTUAL and the client sent none
  kPeerCertificateRejected,  // chain, CRL, SAN, pin or SPIFFE identity check failed
  kPeerAlert,                // the peer aborted with an alert (it rejected us)
  kEof,                      // transport closed during the handshake
  kInternal,
};
std::string_view TlsFailureName(TlsFailure failure);

class TlsSession {
 public:
  enum class Role : uint8_t { kServer, kClient };
  enum class State : uint8_t {
    kHandshaking,
    kEstablished,
    kClosed,  // a close_notify was sent and/or received; see the accessors
    kFailed,  // see failure_reason(); flush pending ciphertext (the alert), then close
  };

  // A server session on a listener's context. Keeps the context alive.
  static Result<std::unique_ptr<TlsSession>> NewServer(std::shared_ptr<const ServerContext> ctx);
  // A client session. `host`: the request's Host/authority (a port is
  // stripped), used for SNI unless the context has a fixed `sni`, and for
  // the hostname check when no subject_alt_names are configured. The
  // ClientHello is ready as ciphertext on return.
  static Result<std::unique_ptr<TlsSession>> NewClient(std::shared_ptr<const ClientContext> ctx,
                                                       std::string_view host);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // ------------------------------------------------------ ciphertext in ---
  // Zero-copy input: read from the socket straight into the returned span,
  // then CommitInput() the number of bytes read (which drives the handshake).
  std::span<uint8_t> PrepareInput(size_t size_hint);
  void CommitInput(size_t n);
  // Copying input, for callers that read into their own buffer.
  void FeedCiphertext(std::span<const uint8_t> data);
  // The transport reached EOF. During the handshake this fails the session
  // (kEof); afterwards it closes it, and truncated() tells whether the peer
  // skipped its close_notify.
  void OnTransportEof();

  // ------------------------------------------------------ plaintext out ---
  // Decrypts into `out`. 0 means nothing more for now (needs more input), or
  // that the session is closed or failed: check state(). Call it until it
  // returns 0 after every input, also during the handshake (it advances it,
  // and processes post-handshake messages such as session tickets).
  size_t ReadPlaintext(std::span<uint8_t> out);

  // ------------------------------------------------------- plaintext in ---
  // Encrypts all of `data` into records of at most 16 KiB, returning
  // data.size(); returns 0 (nothing taken) before the handshake completes,
  // after Shutdown() or on failure.
  size_t WritePlaintext(std::span<const uint8_t> data);
  // Queues close_notify. Reading stays possible until the peer's close_notify.
  void Shutdown();

  // ----------------------------------------------------- ciphertext out ---
  bool HasCiphertext() const { return !out_.empty(); }
  size_t PendingCiphertextSize() const { return out_.size(); }
  // Valid until the next call that may produce output.
  std::span<const uint8_t> PendingCiphertext() const { return out_.span(); }
  void ConsumeCiphertext(size_t n) { out_.Consume(n); }
  // Hands the pending ciphertext over (no copy); the session starts afresh.
  ByteBuffer TakeCiphertext();
  // Bytes of heap held by the session's own input and output buffers (0 when
  // idle); OpenSSL's record buffers are released separately.
  size_t BufferCapacity() const { return in_.capacity() + out_.capacity(); }

  // --------------------------------------------------------------- state ---
  Role role() const { return role_; }
  State state() const { return state_; }
  bool handshake_complete() const { return handshake_complete_; }
  bool close_notify_received() const { return close_notify_received_; }
  bool close_notify_sent() const { return close_notify_sent_; }
  bool truncated() const { return truncated_; }  // EOF without close_notify
  TlsFailure failure() const { return failure_; }
  // E.g. "TLS_error:certificate verify failed:peer certificate SAN not allowed".
  const std::string& failure_reason() const { return failure_reason_; }

  // ---------------------------------------------------------- negotiated ---
  std::string_view alpn() const { return alpn_; }  // "" when none
  // Server: the SNI the client sent (lowercased, "" if none). Client: sent.
  std::string_view sni() const { return sni_; }
  // Server: the index of the ServerSpec that answered (set once the
  // ClientHello was processed).
  std::optional<uint32_t> server_index() const { return server_index_; }
  std::string_view protocol_version() const;  // "TLSv1.3"
  std::string_view cipher() const;
  bool resumed() const;

  bool has_peer_certificate() const;
  // Parsed lazily on first use, then cached; nullptr without a peer cert.
  const CertInfo* peer_certificate() const;
  // The peer presented a certificate and it passed every configured check.
  // Only false with a certificate under insecure_skip_verify (the handshake
  // fails otherwise) or with OPTIONAL_MUTUAL/SIMPLE and no certificate.
  bool peer_verified() const;
  // Why verification failed (also for accepted insecure_skip_verify peers).
  const std::string& peer_verify_detail() const { return verify_detail_; }
  std::string PeerCertificatePem() const;
  std::string PeerChainPem() const;  // peer chain, leaf first
  // The URI SANs of our own certificate on this connection (XFCC By=).
  std::vector<std::string> LocalUriSans() const;

  SSL* ssl() const { return ssl_.get(); }  // escape hatch for metrics/tests

 private:
  friend struct internal::SessionAccess;
  explicit TlsSession(Role role);

  void DoHandshake();
  void OnHandshakeComplete();
  void Fail(int ssl_error);
  void FailWith(TlsFailure failure, std::string reason);
  void RecordVerifyFailure(std::string detail) { verify_detail_ = std::move(detail); }

  // Members used by the context callbacks (friends).
  std::shared_ptr<const ServerContext> server_ctx_;
  std::shared_ptr<const ClientContext> client_ctx_;
  std::unique_ptr<SSL, void (*)(SSL*)> ssl_{nullptr, SSL_free};
  ByteBuffer in_, out_;
  mutable std::unique_ptr<CertInfo> peer_info_;
  std::string sni_, alpn_, verify_name_, verify_detail_, failure_reason_;
  std::optional<uint32_t> server_index_;
  Role role_;
  State state_ = State::kHandshaking;
  TlsFailure failure_ = TlsFailure::kNone;
  bool handshake_complete_ = false;
  bool close_notify_received_ = false, close_notify_sent_ = false, truncated_ = false;
  bool sni_rejected_ = false;
};

}  // namespace gh::tls
