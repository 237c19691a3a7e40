#include "gateway/connection.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "gateway/dispatcher.h"

namespace gh::gateway {
namespace {

constexpr size_t kReadBufferSize = 64 * 1024;
constexpr size_t kTlsReadSize = 16 * 1024 + 512;  // a full record and its header
constexpr size_t kMaxWriteSpans = 64;
// Payloads this large are written straight from the caller's buffer (after
// what is already queued) instead of being copied into the queue first:
// coalescing gains nothing at this size, the copy costs a memcpy per byte.
constexpr size_t kWriteThroughMin = 16 * 1024;
// How long a graceful close may wait for our last bytes to leave, and then
// for the peer to finish sending (lingering close, like nginx), before RST.
constexpr uint64_t kFlushLingerMs = 5000;
constexpr uint64_t kDiscardLingerMs = 1000;

char* ReadBuffer() {
  thread_local std::array<char, kReadBufferSize> buffer;
  return buffer.data();
}

uv_stream_t* Stream(uv_tcp_t* tcp) {
  return reinterpret_cast<uv_stream_t*>(tcp);
}
uv_handle_t* Handle(uv_tcp_t* tcp) {
  return reinterpret_cast<uv_handle_t*>(tcp);
}

}  // namespace

Connection::Connection(Dispatcher& dispatcher, uint32_t buffer_limit)
    : dispatcher_(dispatcher),
      linger_timer_(dispatcher.timers(), [this] { DestroyHandle(CloseReason::kLocal); }),
      connect_timer_(dispatcher.timers(),
                     [this] {
                       DestroyHandle(connect_error_ != 0 ? CloseReason::kConnectFailed
                                                         : CloseReason::kConnectTimeout);
                     }),
      tls_drain_timer_(dispatcher.timers(), [this] { DrainTls(); }),
      high_watermark_(buffer_limit),
      low_watermark_(buffer_limit / 2) {
  uv_tcp_init(dispatcher.loop(), &tcp_);
  tcp_.data = this;
}

Connection* Connection::Adopt(Dispatcher& dispatcher, int fd, uint32_t buffer_limit) {
  auto* connection = new Connection(dispatcher, buffer_limit);
  if (uv_tcp_open(&connection->tcp_, fd) != 0) {
    ::close(fd);
    connection->DestroyHandle(CloseReason::kRemoteReset);
    return nullptr;
  }
  uv_tcp_nodelay(&connection->tcp_, 1);
  connection->connected_ = true;
  connection->CaptureAddresses();
  return connection;
}

Connection* Connection::Connect(Dispatcher& dispatcher, const sockaddr* address,
                                uint32_t buffer_limit, uint64_t connect_timeout_ms,
                                ConnectionHandler* handler) {
  auto* connection = new Connection(dispatcher, buffer_limit);
  connection->handler_ = handler;
  connection->connect_req_.data = connection;
  const int rc = uv_tcp_connect(&connection->connect_req_, &connection->tcp_, address,
                                &Connection::OnConnectDone);
  if (rc != 0) {
    // Report asynchronously: the caller is still inside its own call.
    connection->connect_error_ = rc;
    connection->connect_timer_.Arm(0);
  } else {
    connection->connect_timer_.Arm(connect_timeout_ms);
  }
  connection->connect_timeout_ms_ = connect_timeout_ms;
  return connection;
}

void Connection::Start() {
  StartReading();
}

void Connection::EnableTls(std::unique_ptr<tls::TlsSession> session) {
  tls_ = std::move(session);
  CollectCiphertext();  // a client's ClientHello is ready at once
}

void Connection::DrainTls() {
  if (tls_ == nullptr || handle_closing_ || tls_delivering_) return;
  tls_delivering_ = true;
  // Deliver plaintext while the handler reads; what it does not take stays
  // inside the session until ReadDisable(false) drains again.
  char* plain = ReadBuffer();
  while (!handle_closing_) {
    if (tls_established_ && (read_disable_count_ > 0 || closing_)) break;
    const size_t n =
        tls_->ReadPlaintext(std::span<uint8_t>(reinterpret_cast<uint8_t*>(plain), kReadBufferSize));
    if (!tls_established_ && tls_->handshake_complete()) OnTlsEstablished();
    if (n == 0) break;
    if (handler_ != nullptr) handler_->OnData(std::string_view(plain, n));
  }
  tls_delivering_ = false;
  if (handle_closing_) return;
  CollectCiphertext();
  if (tls_->state() == tls::TlsSession::State::kFailed) {
    FailTls();
    return;
  }
  if (tls_->close_notify_received() && !eof_ && handler_ != nullptr && !closing_) {
    // The peer ended the TLS stream: that is its EOF for the application.
    eof_ = true;
    StopReading();
    handler_->OnEof();
  }
}

void Connection::OnTlsEstablished() {
  tls_established_ = true;
  if (tls_->role() == tls::TlsSession::Role::kClient) connect_timer_.Cancel();
  EncryptPending();
  if (connected_reported_) return;
  connected_reported_ = true;
  if (handler_ == nullptr) return;
  if (tls_->role() == tls::TlsSession::Role::kClient) {
    handler_->OnConnected();
  } else {
    handler_->OnTlsHandshakeDone();
  }
}

void Connection::EncryptPending() {
  if (tls_ == nullptr || !tls_established_ || plain_out_.empty()) return;
  // Bound the ciphertext produced per flush so a large body is encrypted as
  // the socket drains, not all at once.
  constexpr size_t kMaxBatch = 64 * 1024;
  ByteSpan spans[8];
  while (!plain_out_.empty() && out_.size() < kMaxBatch) {
    const size_t count = plain_out_.Peek(spans, 8, kMaxBatch);
    size_t taken = 0;
    for (size_t i = 0; i < count; ++i) {
      taken += tls_->WritePlaintext(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(spans[i].data), spans[i].size));
    }
    if (taken == 0) break;
    plain_out_.Drain(taken);
    CollectCiphertext();
  }
}

void Connection::CollectCiphertext() {
  if (tls_ == nullptr || !tls_->HasCiphertext()) return;
  std::span<const uint8_t> pending = tls_->PendingCiphertext();
  out_.Append(reinterpret_cast<const char*>(pending.data()), pending.size());
  tls_->ConsumeCiphertext(pending.size());
  if (!flush_scheduled_ && !handle_closing_) {
    flush_scheduled_ = true;
    dispatcher_.ScheduleFlush(this);
  }
}

void Connection::FailTls() {
  tls_failure_reason_ = tls_->failure_reason();
  CollectCiphertext();  // the alert
  close_reason_ = CloseReason::kTlsFailed;
  if (!connected_ || out_.empty()) {
    DestroyHandle(CloseReason::kTlsFailed);
    return;
  }
  // Send the alert, then close.
  StopReading();
  closing_ = true;
  close_after_flush_ = true;
  linger_timer_.Arm(kDiscardLingerMs);
  StartWrite();
}

void Connection::OnConnectDone(uv_connect_t* req, int status) {
  auto* self = static_cast<Connection*>(req->data);
  if (status == UV_ECANCELED || self->handle_closing_) return;
  self->connect_timer_.Cancel();
  if (status < 0) {
    self->connect_error_ = status;
    self->DestroyHandle(CloseReason::kConnectFailed);
    return;
  }
  self->connected_ = true;
  uv_tcp_nodelay(&self->tcp_, 1);
  self->CaptureAddresses();
  self->StartReading();
  if (self->tls_ != nullptr) {
    // OnConnected waits for the handshake; the connect timer bounds it too.
    self->connect_timer_.Arm(self->connect_timeout_ms_);
  } else {
    self->connected_reported_ = true;
    if (self->handler_ != nullptr) self->handler_->OnConnected();
  }
  self->StartWrite();
}

void Connection::CaptureAddresses() {
  int len = sizeof peer_;
  uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&peer_), &len);
  len = sizeof local_;
  uv_tcp_getsockname(&tcp_, reinterpret_cast<sockaddr*>(&local_), &len);
}

void Connection::StartReading() {
  if (reading_ || !connected_ || handle_closing_ || eof_) return;
  if (read_disable_count_ > 0 && !discarding_) return;
  if (uv_read_start(Stream(&tcp_), &Connection::OnAlloc, &Connection::OnRead) == 0) {
    reading_ = true;
  }
}

void Connection::StopReading() {
  if (!reading_) return;
  uv_read_stop(Stream(&tcp_));
  reading_ = false;
}

void Connection::ReadDisable(bool disable) {
  if (disable) {
    if (read_disable_count_++ == 0 && !discarding_) StopReading();
  } else if (read_disable_count_ > 0) {
    if (--read_disable_count_ == 0 && !closing_) {
      StartReading();
      // Decrypted data may be waiting inside the session: deliver it soon
      // (not from inside the caller's own callback).
      if (tls_ != nullptr && tls_established_) tls_drain_timer_.Arm(0);
    }
  }
}

void Connection::OnAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(handle->data);
  if (self->tls_ != nullptr && !self->discarding_) {
    // Read ciphertext straight into the session (no copy); one TLS record.
    std::span<uint8_t> space = self->tls_->PrepareInput(kTlsReadSize);
    buf->base = reinterpret_cast<char*>(space.data());
    buf->len = space.size();
    return;
  }
  buf->base = ReadBuffer();
  buf->len = kReadBufferSize;
}

void Connection::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(stream->data);
  if (nread > 0) {
    self->bytes_read_ += static_cast<uint64_t>(nread);
    if (self->tls_ != nullptr && !self->discarding_) {
      self->tls_->CommitInput(static_cast<size_t>(nread));
      self->DrainTls();
      return;
    }
    if (self->discarding_ || self->closing_) return;
    if (self->handler_ != nullptr) {
      self->handler_->OnData(std::string_view(buf->base, static_cast<size_t>(nread)));
    }
    return;
  }
  if (self->tls_ != nullptr && !self->discarding_) {
    self->tls_->CommitInput(0);  // nothing arrived; drop the prepared space
  }
  if (nread == 0) return;  // EAGAIN
  if (nread == UV_EOF) {
    self->eof_ = true;
    self->StopReading();
    if (self->tls_ != nullptr && !self->discarding_) {
      self->tls_->OnTransportEof();
      self->DrainTls();
      if (self->handle_closing_) return;
      if (self->tls_->state() == tls::TlsSession::State::kFailed) {
        self->FailTls();
        return;
      }
    }
    if (self->discarding_ || self->handler_ == nullptr) {
      self->DestroyHandle(CloseReason::kRemoteEof);
      return;
    }
    if (self->closing_) return;  // a graceful close is flushing; it sees eof_
    self->close_reason_ = CloseReason::kRemoteEof;
    self->handler_->OnEof();
    return;
  }
  self->DestroyHandle(self->discarding_ ? CloseReason::kLocal : CloseReason::kRemoteReset);
}

void Connection::Write(std::string_view data) {
  if (handle_closing_ || closing_ || shutdown_sent_ || data.empty()) return;
  if (tls_ == nullptr && data.size() >= kWriteThroughMin && in_flight_ == 0 && connected_) {
    data.remove_prefix(WriteThrough(data));
    if (data.empty()) return;
  }
  (tls_ != nullptr ? plain_out_ : out_).Append(data);
  AfterQueue();
}

size_t Connection::WriteThrough(std::string_view data) {
  std::array<ByteSpan, kMaxWriteSpans> spans;
  std::array<uv_buf_t, kMaxWriteSpans> bufs;
  const size_t count = out_.Peek(spans.data(), spans.size() - 1);
  size_t queued = 0;
  for (size_t i = 0; i < count; ++i) {
    bufs[i] = uv_buf_init(const_cast<char*>(spans[i].data), static_cast<unsigned>(spans[i].size));
    queued += spans[i].size;
  }
  if (queued != out_.size()) return 0;  // a long queue goes first, in order
  bufs[count] = uv_buf_init(const_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
  const int n = uv_try_write(Stream(&tcp_), bufs.data(), static_cast<unsigned>(count + 1));
  if (n <= 0) return 0;  // EAGAIN or an error: queue it; StartWrite reports errors
  const auto written = static_cast<size_t>(n);
  bytes_written_ += written;
  out_.Drain(std::min(written, queued));
  return written > queued ? written - queued : 0;
}

void Connection::Write(ByteChain& data) {
  if (handle_closing_ || closing_ || shutdown_sent_) {
    data.Clear();
    return;
  }
  if (data.empty()) return;
  (tls_ != nullptr ? plain_out_ : out_).Move(data);
  AfterQueue();
}

void Connection::AfterQueue() {
  if (!flush_scheduled_) {
    flush_scheduled_ = true;
    dispatcher_.ScheduleFlush(this);
  }
  if (!above_high_ && pending_write_bytes() > high_watermark_) {
    above_high_ = true;
    if (handler_ != nullptr) handler_->OnWriteAboveHighWatermark();
  }
}

void Connection::Flush() {
  flush_scheduled_ = false;
  EncryptPending();
  StartWrite();
}

void Connection::StartWrite() {
  if (in_flight_ != 0 || out_.empty() || !connected_ || handle_closing_) return;
  std::array<ByteSpan, kMaxWriteSpans> spans;
  std::array<uv_buf_t, kMaxWriteSpans> bufs;
  // Try the socket directly first (frees blocks at once); hand libuv only
  // what the kernel did not take.
  while (!out_.empty()) {
    const size_t count = out_.Peek(spans.data(), spans.size());
    for (size_t i = 0; i < count; ++i) {
      bufs[i] = uv_buf_init(const_cast<char*>(spans[i].data), static_cast<unsigned>(spans[i].size));
    }
    const int n = uv_try_write(Stream(&tcp_), bufs.data(), static_cast<unsigned>(count));
    if (n == UV_EAGAIN || n == 0) break;
    if (n < 0) {
      DestroyHandle(CloseReason::kRemoteReset);
      return;
    }
    bytes_written_ += static_cast<uint64_t>(n);
    out_.Drain(static_cast<size_t>(n));
  }
  if (out_.empty() && !plain_out_.empty() && tls_established_) {
    // TLS: encrypt the next batch now that the socket took the last one.
    EncryptPending();
    if (!out_.empty()) {
      StartWrite();
      return;
    }
  }
  if (out_.empty()) {
    // Plaintext that cannot be encrypted (yet): nothing to write now.
    if (!plain_out_.empty()) return;
    CheckLowWatermark();
    if (close_after_flush_) {
      if (tls_ != nullptr && tls_established_ && !tls_->close_notify_sent()) {
        // close_notify goes after the last record, not after the first batch.
        tls_->Shutdown();
        CollectCiphertext();
        if (!out_.empty()) {
          StartWrite();
          return;
        }
      }
      FinishClose();
    } else if (shutdown_after_flush_) {
      ShutdownWrite();
    }
    return;
  }
  // TLS: plaintext queued before the handshake completed waits for it
  // (OnTlsEstablished encrypts it); there is nothing for the socket yet.
  if (out_.empty()) return;
  const size_t count = out_.Peek(spans.data(), spans.size());
  size_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    bufs[i] = uv_buf_init(const_cast<char*>(spans[i].data), static_cast<unsigned>(spans[i].size));
    total += spans[i].size;
  }
  write_req_.data = this;
  if (uv_write(&write_req_, Stream(&tcp_), bufs.data(), static_cast<unsigned>(count),
               &Connection::OnWriteDone) != 0) {
    DestroyHandle(CloseReason::kRemoteReset);
    return;
  }
  in_flight_ = total;
}

void Connection::OnWriteDone(uv_write_t* req, int status) {
  auto* self = static_cast<Connection*>(req->data);
  const size_t written = self->in_flight_;
  self->in_flight_ = 0;
  if (status < 0) {
    if (status != UV_ECANCELED) self->DestroyHandle(CloseReason::kRemoteReset);
    return;
  }
  self->bytes_written_ += written;
  self->out_.Drain(written);
  self->CheckLowWatermark();
  self->StartWrite();
}

void Connection::CheckLowWatermark() {
  if (above_high_ && pending_write_bytes() <= low_watermark_) {
    above_high_ = false;
    if (handler_ != nullptr && !closing_) handler_->OnWriteBelowLowWatermark();
  }
}

void Connection::Close(CloseMode mode) {
  if (handle_closing_) return;
  if (mode == CloseMode::kAbort || !connected_) {
    closing_ = true;
    DestroyHandle(CloseReason::kLocal);
    return;
  }
  if (closing_) return;
  closing_ = true;
  StopReading();
  linger_timer_.Arm(kFlushLingerMs);
  if (tls_ != nullptr) {
    EncryptPending();
    // close_notify after the last record: now if everything is encrypted,
    // otherwise once StartWrite has encrypted the rest.
    if (plain_out_.empty()) {
      tls_->Shutdown();
      CollectCiphertext();
    }
  }
  if (out_.empty() && in_flight_ == 0) {
    FinishClose();
  } else {
    close_after_flush_ = true;
    StartWrite();
  }
}

void Connection::FinishClose() {
  close_after_flush_ = false;
  if (shutdown_sent_ || eof_) {
    DestroyHandle(close_reason_);
    return;
  }
  shutdown_sent_ = true;
  shutdown_req_.data = this;
  if (uv_shutdown(&shutdown_req_, Stream(&tcp_), &Connection::OnShutdownDone) != 0) {
    DestroyHandle(CloseReason::kLocal);
  }
}

void Connection::ShutdownWrite() {
  if (shutdown_sent_ || handle_closing_) return;
  if (tls_ != nullptr && plain_out_.empty() && !tls_->close_notify_sent()) {
    tls_->Shutdown();
    CollectCiphertext();
  }
  if (!out_.empty() || !plain_out_.empty() || in_flight_ != 0) {
    shutdown_after_flush_ = true;
    return;
  }
  shutdown_sent_ = true;
  shutdown_req_.data = this;
  if (uv_shutdown(&shutdown_req_, Stream(&tcp_), &Connection::OnShutdownDone) != 0) {
    DestroyHandle(CloseReason::kRemoteReset);
  }
}

void Connection::OnShutdownDone(uv_shutdown_t* req, int status) {
  auto* self = static_cast<Connection*>(req->data);
  if (status == UV_ECANCELED || self->handle_closing_) return;
  if (!self->closing_) return;  // half-close for a tunnel: keep reading
  if (status < 0 || self->eof_) {
    self->DestroyHandle(CloseReason::kLocal);
    return;
  }
  // Lingering close: drain what the peer still sends so our final bytes are
  // not destroyed by an RST, then close on EOF or after a short wait.
  self->discarding_ = true;
  self->linger_timer_.Arm(kDiscardLingerMs);
  self->StartReading();
}

void Connection::DestroyHandle(CloseReason reason) {
  if (handle_closing_) return;
  handle_closing_ = true;
  closing_ = true;
  // A TLS failure stays the reason whatever path the close then takes.
  if (close_reason_ != CloseReason::kTlsFailed) close_reason_ = reason;
  linger_timer_.Cancel();
  connect_timer_.Cancel();
  tls_drain_timer_.Cancel();
  reading_ = false;
  if (flush_scheduled_) {
    dispatcher_.UnscheduleFlush(this);
    flush_scheduled_ = false;
  }
  if (reason == CloseReason::kLocal && connected_ && !discarding_ && !shutdown_sent_ &&
      (!out_.empty() || in_flight_ != 0)) {
    // Abandoning unsent bytes: tell the peer with an RST, not a clean FIN.
    if (uv_tcp_close_reset(&tcp_, &Connection::OnClosed) == 0) return;
  }
  uv_close(Handle(&tcp_), &Connection::OnClosed);
}

void Connection::OnClosed(uv_handle_t* handle) {
  auto* self = static_cast<Connection*>(handle->data);
  if (self->handler_ != nullptr) self->handler_->OnClose(self->close_reason_);
  delete self;
}

bool Connection::PeerStillOpen() const {
  if (handle_closing_ || eof_) return false;
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) != 0) return false;
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return false;
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
  return true;  // unexpected bytes: still open (the codec will judge them)
}

std::string Connection::PeerIp() const {
  return FormatIp(peer_);
}
std::string Connection::PeerAddressString() const {
  return FormatAddress(peer_);
}
std::string Connection::LocalAddressString() const {
  return FormatAddress(local_);
}

std::string FormatIp(const sockaddr_storage& address) {
  char ip[INET6_ADDRSTRLEN] = {0};
  if (address.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(address).sin_addr, ip, sizeof ip);
  } else if (address.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(address).sin6_addr, ip, sizeof ip);
  } else {
    return "";
  }
  return ip;
}

std::string FormatAddress(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    return FormatIp(address) + ":" +
           std::to_string(ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port));
  }
  if (address.ss_family == AF_INET6) {
    return "[" + FormatIp(address) +
           "]:" + std::to_string(ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port));
  }
  return "";
}

namespace {

bool ParsePort(std::string_view digits, uint16_t* port) {
  if (digits.empty() || digits.size() > 5) return false;
  uint32_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535) return false;
  *port = static_cast<uint16_t>(value);
  return true;
}

}  // namespace

bool ParseAddress(std::string_view text, uint16_t default_port, sockaddr_storage* out) {
  std::memset(out, 0, sizeof *out);
  std::string host;
  uint16_t port = default_port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':' || !ParsePort(rest.substr(1), &port)) return false;
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') == colon) {
      host = std::string(text.substr(0, colon));
      if (!ParsePort(text.substr(colon + 1), &port)) return false;
    } else {
      host = std::string(text);
    }
  }
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return true;
  }
  return false;
}

}  // namespace gh::gateway
