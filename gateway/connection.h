// One TCP connection on a worker loop: reads delivered to a handler, writes
// queued in a ByteChain and flushed with one vectored write at a time,
// write-side watermarks with hysteresis, counted read-disable, graceful or
// abortive close. The object frees itself once libuv has closed the handle;
// the handler hears OnClose exactly once and must drop its pointer then.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "gateway/byte_chain.h"
#include "gateway/dispatcher.h"
#include "gateway/timer_queue.h"
#include "tls/session.h"

namespace gh::gateway {

enum class CloseReason : uint8_t {
  kLocal,        // we closed it
  kRemoteEof,    // the peer closed cleanly and we closed in turn
  kRemoteReset,  // read or write error
  kConnectFailed,
  kConnectTimeout,
  kTlsFailed,  // handshake or record-layer failure (see tls_failure_reason())
};

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  virtual void OnData(std::string_view data) = 0;
  // The peer half-closed. The connection stays open until the handler closes it.
  virtual void OnEof() = 0;
  // Client connections: connected (and, with TLS, handshake complete).
  virtual void OnConnected() {}
  // Server connections with TLS: the handshake completed; ALPN, SNI and the
  // peer certificate are known (Connection::tls()).
  virtual void OnTlsHandshakeDone() {}
  virtual void OnWriteAboveHighWatermark() {}
  virtual void OnWriteBelowLowWatermark() {}
  // The socket is gone; the Connection object is deleted right after.
  virtual void OnClose(CloseReason reason) = 0;
};

class Connection final : public Flushable {
 public:
  // Wraps an accepted, connected socket fd (takes ownership).
  static Connection* Adopt(Dispatcher& dispatcher, int fd, uint32_t buffer_limit);
  // Starts a non-blocking connect; OnConnected or OnClose(kConnectFailed /
  // kConnectTimeout) follows.
  static Connection* Connect(Dispatcher& dispatcher, const sockaddr* address, uint32_t buffer_limit,
                             uint64_t connect_timeout_ms, ConnectionHandler* handler);

  void SetHandler(ConnectionHandler* handler) { handler_ = handler; }
  // Starts delivering reads (accepted connections start paused so the
  // handler can be attached first).
  void Start();
  // Puts a TLS session between the socket and the handler: reads are
  // decrypted before OnData, writes encrypted before the socket. Call before
  // Start (server) or right after Connect (client: OnConnected then waits
  // for the handshake).
  void EnableTls(std::unique_ptr<tls::TlsSession> session);
  tls::TlsSession* tls() const { return tls_.get(); }
  const std::string& tls_failure_reason() const { return tls_failure_reason_; }
  ConnectionHandler* handler() const { return handler_; }

  // Queues bytes; they are written (one writev for everything queued) before
  // the loop next waits for I/O.
  void Write(std::string_view data);
  void Write(ByteChain& data);  // moves the bytes out of `data`
  void Flush() override;
  // Counted: reading resumes only when every disabler has re-enabled.
  void ReadDisable(bool disable);
  bool reading() const { return read_disable_count_ == 0; }

  enum class CloseMode : uint8_t { kFlushWrite, kAbort };
  // kFlushWrite: close after pending writes reach the socket (bounded by a
  // short linger timer). kAbort: RST now. Idempotent.
  void Close(CloseMode mode);
  // Close and never call the handler again.
  void CloseAndDetach(CloseMode mode) {
    handler_ = nullptr;
    Close(mode);
  }
  // Half-close our sending side after pending writes (tunnels).
  void ShutdownWrite();

  size_t pending_write_bytes() const { return out_.size() + plain_out_.size(); }
  // Non-blocking peek: false when the peer has already closed (EOF or error
  // waiting in the socket) even if the loop has not delivered it yet.
  bool PeerStillOpen() const;
  bool above_high_watermark() const { return above_high_; }
  bool closing() const { return closing_; }
  bool connected() const { return connected_; }
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t bytes_written() const { return bytes_written_; }
  const sockaddr_storage& peer_address() const { return peer_; }
  const sockaddr_storage& local_address() const { return local_; }
  std::string PeerIp() const;
  std::string PeerAddressString() const;   // ip:port
  std::string LocalAddressString() const;  // ip:port
  Dispatcher& dispatcher() const { return dispatcher_; }

 private:
  Connection(Dispatcher& dispatcher, uint32_t buffer_limit);
  ~Connection() = default;

  void StartReading();
  void StopReading();
  void AfterQueue();
  // Sends queued bytes and a large `data` in one vectored write now; returns
  // how much of `data` the kernel took (the caller queues the rest).
  size_t WriteThrough(std::string_view data);
  void StartWrite();
  // TLS: decrypt what arrived and hand plaintext to the handler while it
  // reads; move produced ciphertext to out_.
  void DrainTls();
  void EncryptPending();
  void CollectCiphertext();
  void OnTlsEstablished();
  void FailTls();
  void CheckLowWatermark();
  void FinishClose();
  void DestroyHandle(CloseReason reason);
  void CaptureAddresses();

  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void OnWriteDone(uv_write_t* req, int status);
  static void OnConnectDone(uv_connect_t* req, int status);
  static void OnShutdownDone(uv_shutdown_t* req, int status);
  static void OnClosed(uv_handle_t* handle);

  Dispatcher& dispatcher_;
  ConnectionHandler* handler_ = nullptr;
  uv_tcp_t tcp_;
  uv_write_t write_req_;
  uv_connect_t connect_req_;
  uv_shutdown_t shutdown_req_;
  Timer linger_timer_;
  Timer connect_timer_;
  ByteChain out_;        // bytes for the socket (ciphertext with TLS)
  ByteChain plain_out_;  // TLS: plaintext waiting to be encrypted
  std::unique_ptr<tls::TlsSession> tls_;
  std::string tls_failure_reason_;
  Timer tls_drain_timer_;
  size_t in_flight_ = 0;
  uint32_t high_watermark_;
  uint32_t low_watermark_;
  uint32_t read_disable_count_ = 0;
  uint64_t bytes_read_ = 0;
  uint64_t bytes_written_ = 0;
  sockaddr_storage peer_{};
  sockaddr_storage local_{};
  CloseReason close_reason_ = CloseReason::kLocal;
  bool reading_ = false;
  bool connected_ = false;
  bool above_high_ = false;
  bool closing_ = false;         // Close() called
  bool handle_closing_ = false;  // uv_close called
  bool close_after_flush_ = false;
  bool shutdown_after_flush_ = false;
  bool shutdown_sent_ = false;
  bool eof_ = false;
  bool flush_scheduled_ = false;
  bool discarding_ = false;  // lingering close: read and drop until EOF
  bool tls_established_ = false;
  bool connected_reported_ = false;
  uint64_t connect_timeout_ms_ = 0;
  bool tls_delivering_ = false;
  int connect_error_ = 0;
};

// Formats an address as "ip:port" ("[v6]:port").
std::string FormatAddress(const sockaddr_storage& address);
std::string FormatIp(const sockaddr_storage& address);
// Parses "ip:port" / "[v6]:port" / "ip" (with default_port).
bool ParseAddress(std::string_view text, uint16_t default_port, sockaddr_storage* out);

}  // namespace gh::gateway
