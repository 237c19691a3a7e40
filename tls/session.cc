#include "tls/session.h"

#include <openssl/err.h>

#include <algorithm>
#include <cstring>

#include "tls/client_context.h"
#include "tls/internal.h"
#include "tls/server_context.h"

namespace gh::tls {

using internal::SessionAccess;

namespace {

constexpr size_t kMaxRecordPlaintext = 16 * 1024;
constexpr size_t kMinInputChunk = 4 * 1024;

}  // namespace

// ------------------------------------------------------------- ByteBuffer ---

ByteBuffer::ByteBuffer(ByteBuffer&& other) noexcept
    : data_(std::move(other.data_)), cap_(other.cap_), begin_(other.begin_), end_(other.end_) {
  other.cap_ = other.begin_ = other.end_ = 0;
}

ByteBuffer& ByteBuffer::operator=(ByteBuffer&& other) noexcept {
  if (this != &other) {
    data_ = std::move(other.data_);
    cap_ = other.cap_;
    begin_ = other.begin_;
    end_ = other.end_;
    other.cap_ = other.begin_ = other.end_ = 0;
  }
  return *this;
}

std::span<uint8_t> ByteBuffer::Prepare(size_t n) {
  if (cap_ - end_ >= n) return {data_.get() + end_, cap_ - end_};
  const size_t used = size();
  if (cap_ - used >= n && begin_ > 0) {  // room once the consumed front goes
    std::memmove(data_.get(), data_.get() + begin_, used);
  } else {
    const size_t cap = std::max(used + n, cap_ * 2);
    std::unique_ptr<uint8_t[]> bigger(new uint8_t[cap]);
    if (used) std::memcpy(bigger.get(), data_.get() + begin_, used);
    data_ = std::move(bigger);
    cap_ = cap;
  }
  begin_ = 0;
  end_ = used;
  return {data_.get() + end_, cap_ - end_};
}

void ByteBuffer::Append(const void* bytes, size_t n) {
  if (n == 0) return;
  std::memcpy(Prepare(n).data(), bytes, n);
  end_ += n;
}

void ByteBuffer::Consume(size_t n) {
  begin_ += std::min(n, size());
  if (begin_ == end_) Release();
}

void ByteBuffer::Release() {
  data_.reset();
  cap_ = begin_ = end_ = 0;
}

// ---------------------------------------------------------------- the BIO ---

namespace internal {
namespace {

int BioWrite(BIO* bio, const char* data, size_t len, size_t* written) {
  auto* s = static_cast<TlsSession*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  SessionAccess::Out(s).Append(data, len);
  *written = len;
  return 1;
}

int BioRead(BIO* bio, char* out, size_t len, size_t* read) {
  auto* s = static_cast<TlsSession*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  ByteBuffer& in = SessionAccess::In(s);
  if (in.empty()) {
    BIO_set_retry_read(bio);
    *read = 0;
    return 0;
  }
  const size_t n = std::min(len, in.size());
  std::memcpy(out, in.data(), n);
  in.Consume(n);  // frees the buffer once drained
  *read = n;
  return 1;
}

long BioCtrl(BIO* bio, int cmd, long, void*) {
  auto* s = static_cast<TlsSession*>(BIO_get_data(bio));
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_PENDING:
      return s ? static_cast<long>(SessionAccess::In(s).size()) : 0;
    default:
      return 0;
  }
}

int BioCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

int BioDestroy(BIO*) {
  return 1;
}

const BIO_METHOD* Method() {
  static const BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "gatehouse session");
    if (m == nullptr) return static_cast<BIO_METHOD*>(nullptr);
    BIO_meth_set_write_ex(m, BioWrite);
    BIO_meth_set_read_ex(m, BioRead);
    BIO_meth_set_ctrl(m, BioCtrl);
    BIO_meth_set_create(m, BioCreate);
    BIO_meth_set_destroy(m, BioDestroy);
    return m;
  }();
  return method;
}

}  // namespace

BIO* NewSessionBio(TlsSession* session) {
  const BIO_METHOD* method = Method();
  if (method == nullptr) return nullptr;
  BIO* bio = BIO_new(method);
  if (bio != nullptr) BIO_set_data(bio, session);
  return bio;
}

}  // namespace internal

// ------------------------------------------------------------- TlsSession ---

std::string_view TlsFailureName(TlsFailure failure) {
  switch (failure) {
    case TlsFailure::kNone:
      return "none";
    case TlsFailure::kProtocol:
      return "protocol";
    case TlsFailure::kVersion:
      return "version";
    case TlsFailure::kCipher:
      return "cipher";
    case TlsFailure::kSni:
      return "sni";
    case TlsFailure::kAlpn:
      return "alpn";
    case TlsFailure::kPeerCertificateMissing:
      return "peer_certificate_missing";
    case TlsFailure::kPeerCertificateRejected:
      return "peer_certificate_rejected";
    case TlsFailure::kPeerAlert:
      return "peer_alert";
    case TlsFailure::kEof:
      return "eof";
    case TlsFailure::kInternal:
      return "internal";
  }
  return "internal";
}

TlsSession::TlsSession(Role role) : role_(role) {}

TlsSession::~TlsSession() {
  // SSL_free drops the session from the caches unless the connection was
  // shut down. A connection that ended without a TLS error (including a
  // peer that closed TCP without close_notify, as most HTTP clients do)
  // keeps its session resumable, like nginx; a failed one does not.
  if (ssl_ && handshake_complete_ && state_ != State::kFailed)
    SSL_set_shutdown(ssl_.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
}

Result<std::unique_ptr<TlsSession>> TlsSession::NewServer(
    std::shared_ptr<const ServerContext> ctx) {
  if (!ctx) return MakeError("no server context");
  std::unique_ptr<TlsSession> s(new TlsSession(Role::kServer));
  s->server_ctx_ = std::move(ctx);
  ERR_clear_error();
  s->ssl_.reset(s->server_ctx_->NewSsl(s.get()));
  if (!s->ssl_) return OpenSslError("SSL_new");
  BIO* bio = internal::NewSessionBio(s.get());
  if (bio == nullptr) return OpenSslError("BIO_new");
  SSL_set_bio(s->ssl_.get(), bio, bio);
  return s;
}

Result<std::unique_ptr<TlsSession>> TlsSession::NewClient(std::shared_ptr<const ClientContext> ctx,
                                                          std::string_view host) {
  if (!ctx) return MakeError("no client context");
  std::unique_ptr<TlsSession> s(new TlsSession(Role::kClient));
  s->client_ctx_ = std::move(ctx);
  s->sni_ = s->client_ctx_->EffectiveSni(host);
  s->verify_name_ = !s->sni_.empty() ? s->sni_ : std::string(StripPort(host));
  ERR_clear_error();
  s->ssl_.reset(s->client_ctx_->NewSsl(s.get(), s->sni_));
  if (!s->ssl_) return OpenSslError("SSL_new");
  BIO* bio = internal::NewSessionBio(s.get());
  if (bio == nullptr) return OpenSslError("BIO_new");
  SSL_set_bio(s->ssl_.get(), bio, bio);
  s->DoHandshake();  // the ClientHello
  return s;
}

std::span<uint8_t> TlsSession::PrepareInput(size_t size_hint) {
  return in_.Prepare(std::max(size_hint, kMinInputChunk));
}

void TlsSession::CommitInput(size_t n) {
  in_.Commit(n);
  if (n == 0) {
    // A read that brought nothing (EAGAIN) must not leave a record-sized
    // buffer on an idle connection.
    if (in_.empty()) in_.Release();
    return;
  }
  if (state_ == State::kHandshaking) DoHandshake();
}

void TlsSession::FeedCiphertext(std::span<const uint8_t> data) {
  in_.Append(data.data(), data.size());
  if (state_ == State::kHandshaking) DoHandshake();
}

void TlsSession::OnTransportEof() {
  if (state_ == State::kHandshaking) {
    FailWith(TlsFailure::kEof, "TLS_error:connection closed during the handshake");
    return;
  }
  if (state_ == State::kFailed) return;
  if (!close_notify_received_) truncated_ = true;
  state_ = State::kClosed;
}

void TlsSession::DoHandshake() {
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_.get());
  if (r == 1) {
    OnHandshakeComplete();
    return;
  }
  const int err = SSL_get_error(ssl_.get(), r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
  Fail(err);
}

void TlsSession::OnHandshakeComplete() {
  state_ = State::kEstablished;
  handshake_complete_ = true;
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &proto, &len);
  alpn_.assign(reinterpret_cast<const char*>(proto), proto ? len : 0);
}

size_t TlsSession::ReadPlaintext(std::span<uint8_t> out) {
  if (state_ == State::kHandshaking) {
    DoHandshake();
    if (state_ != State::kEstablished) return 0;
  }
  if (state_ == State::kFailed || close_notify_received_ || out.empty()) return 0;
  ERR_clear_error();
  size_t n = 0;
  const int r = SSL_read_ex(ssl_.get(), out.data(), out.size(), &n);
  if (r == 1) return n;
  const int err = SSL_get_error(ssl_.get(), r);
  switch (err) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return 0;
    case SSL_ERROR_ZERO_RETURN:
      close_notify_received_ = true;
      state_ = State::kClosed;
      return 0;
    default:
      Fail(err);
      return 0;
  }
}

size_t TlsSession::WritePlaintext(std::span<const uint8_t> data) {
  if (!handshake_complete_ || state_ == State::kFailed || close_notify_sent_) return 0;
  size_t done = 0;
  while (done < data.size()) {
    const size_t chunk = std::min(kMaxRecordPlaintext, data.size() - done);
    size_t written = 0;
    ERR_clear_error();
    const int r = SSL_write_ex(ssl_.get(), data.data() + done, chunk, &written);
    if (r != 1) {
      // The BIO never refuses bytes, so anything but success is fatal.
      Fail(SSL_get_error(ssl_.get(), r));
      return 0;
    }
    done += written;
  }
  return done;
}

void TlsSession::Shutdown() {
  if (close_notify_sent_ || state_ == State::kFailed || !handshake_complete_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_.get());  // writes close_notify into the output
  ERR_clear_error();
  close_notify_sent_ = true;
  state_ = State::kClosed;
}

ByteBuffer TlsSession::TakeCiphertext() {
  ByteBuffer out = std::move(out_);
  out_ = ByteBuffer();
  return out;
}

void TlsSession::FailWith(TlsFailure failure, std::string reason) {
  state_ = State::kFailed;
  failure_ = failure;
  failure_reason_ = std::move(reason);
  in_.Release();
}

void TlsSession::Fail(int ssl_error) {
  const unsigned long first = ERR_peek_error();
  std::string reasons = DrainOpenSslErrors();
  TlsFailure kind = TlsFailure::kProtocol;
  if (sni_rejected_) {
    FailWith(TlsFailure::kSni, "TLS_error:no server for SNI \"" + sni_ + "\"");
    return;
  }
  if (first == 0) {
    kind = ssl_error == SSL_ERROR_SYSCALL ? TlsFailure::kEof : TlsFailure::kInternal;
    if (reasons.empty()) reasons = "unexpected error " + std::to_string(ssl_error);
  } else if (ERR_GET_LIB(first) == ERR_LIB_SSL) {
    const int reason = ERR_GET_REASON(first);
    if (reason >= SSL_AD_REASON_OFFSET) {
      kind = TlsFailure::kPeerAlert;
    } else {
      switch (reason) {
        case SSL_R_UNSUPPORTED_PROTOCOL:
        case SSL_R_WRONG_SSL_VERSION:
        case SSL_R_VERSION_TOO_LOW:
        case SSL_R_VERSION_TOO_HIGH:
        case SSL_R_NO_PROTOCOLS_AVAILABLE:
          kind = TlsFailure::kVersion;
          break;
        case SSL_R_NO_SHARED_CIPHER:
        case SSL_R_NO_SHARED_GROUPS:
        case SSL_R_NO_SUITABLE_KEY_SHARE:
        case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
        case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
        case SSL_R_NO_CIPHERS_AVAILABLE:
          kind = TlsFailure::kCipher;
          break;
        case SSL_R_CERTIFICATE_VERIFY_FAILED:
          kind = TlsFailure::kPeerCertificateRejected;
          break;
        case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
          kind = TlsFailure::kPeerCertificateMissing;
          break;
        case SSL_R_NO_APPLICATION_PROTOCOL:
          kind = TlsFailure::kAlpn;
          break;
        default:
          break;
      }
    }
  } else {
    kind = TlsFailure::kInternal;
  }
  std::string reason = "TLS_error:" + reasons;
  if (kind == TlsFailure::kPeerCertificateRejected && !verify_detail_.empty())
    reason += ":" + verify_detail_;
  FailWith(kind, std::move(reason));
}

std::string_view TlsSession::protocol_version() const {
  return handshake_complete_ ? SSL_get_version(ssl_.get()) : "";
}

std::string_view TlsSession::cipher() const {
  const char* name = handshake_complete_ ? SSL_get_cipher_name(ssl_.get()) : nullptr;
  return name ? name : "";
}

bool TlsSession::resumed() const {
  return handshake_complete_ && SSL_session_reused(ssl_.get()) == 1;
}

bool TlsSession::has_peer_certificate() const {
  return SSL_get0_peer_certificate(ssl_.get()) != nullptr;
}

const CertInfo* TlsSession::peer_certificate() const {
  if (!peer_info_) {
    X509* cert = SSL_get0_peer_certificate(ssl_.get());
    if (cert == nullptr) return nullptr;
    peer_info_ = std::make_unique<CertInfo>(CertInfoFromX509(cert));
  }
  return peer_info_.get();
}

bool TlsSession::peer_verified() const {
  return handshake_complete_ && has_peer_certificate() &&
         SSL_get_verify_result(ssl_.get()) == X509_V_OK;
}

std::string TlsSession::PeerCertificatePem() const {
  X509* cert = SSL_get0_peer_certificate(ssl_.get());
  return cert ? X509ToPem(cert) : std::string();
}

std::string TlsSession::PeerChainPem() const {
  // Server side the chain excludes the leaf; client side it includes it.
  std::string out = PeerCertificatePem();
  X509* leaf = SSL_get0_peer_certificate(ssl_.get());
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl_.get());
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    X509* c = sk_X509_value(chain, i);
    if (leaf && X509_cmp(c, leaf) == 0) continue;
    out += X509ToPem(c);
  }
  return out;
}

std::vector<std::string> TlsSession::LocalUriSans() const {
  X509* own = SSL_get_certificate(ssl_.get());
  if (own == nullptr) return {};
  return CertInfoFromX509(own).uri_sans;
}

}  // namespace gh::tls
