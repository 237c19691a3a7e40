// Loopback sockets for integration tests: free ports, waiting for listeners,
// and RawClient, a blocking HTTP/1.1-aware socket for byte-exact tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gh::test {

using std::chrono::milliseconds;
using Headers = std::vector<std::pair<std::string, std::string>>;

// Binds 127.0.0.1:0, reads the port the kernel chose, closes. Another process
// could take it before you bind it; that race is accepted in tests.
int FreePort();
// True once a TCP connect to 127.0.0.1:port succeeds within timeout.
bool WaitForPort(int port, milliseconds timeout = milliseconds(10000));

// Builds an HTTP/1.1 request. Adds "Host: 127.0.0.1" unless headers have a
// Host (to send no Host at all, write the bytes by hand), and Content-Length
// when body is non-empty and neither Content-Length nor Transfer-Encoding is
// given (with Transfer-Encoding, pass an already chunked body: Chunk()).
std::string BuildRequest(std::string_view method, std::string_view target,
                         const Headers& headers = {}, std::string_view body = {},
                         std::string_view version = "HTTP/1.1");
// Encodes data as one chunk ("<hex>\r\n<data>\r\n"); LastChunk() ends a body.
std::string Chunk(std::string_view data);
std::string LastChunk(const Headers& trailers = {});

struct HttpResponse {
  bool ok = false;      // a complete response was parsed
  std::string error;    // why not, when !ok
  std::string version;  // "HTTP/1.1"
  int status = 0;
  std::string reason;
  Headers headers;
  Headers trailers;
  std::string body;          // empty when ReadOptions::keep_body is false
  uint64_t body_length = 0;  // bytes of body received (decoded), kept or not
  bool chunked = false;
  bool close_delimited = false;
  // The peer closed (EOF) or reset the connection by the end of this read.
  bool peer_closed = false;
  bool reset = false;  // ECONNRESET seen
  std::string raw_head;

  // First value of a header, case-insensitive name.
  std::optional<std::string> Header(std::string_view name) const;
  std::vector<std::string> HeaderValues(std::string_view name) const;
  bool HasHeader(std::string_view name) const { return Header(name).has_value(); }
  std::optional<std::string> Trailer(std::string_view name) const;
  std::string Describe() const;
};

struct ReadOptions {
  bool head_request = false;  // response to HEAD: no body whatever the headers say
  bool keep_body = true;      // false: count (and pass to on_body) but don't store
  std::function<void(std::string_view)> on_body;  // every decoded body piece
};

// Blocking client socket to 127.0.0.1:port. Every read takes a timeout; the
// bytes received beyond one response stay buffered for the next read, so
// pipelined responses parse one at a time.
class RawClient {
 public:
  // Connects or throws HarnessError.
  explicit RawClient(int port, milliseconds timeout = milliseconds(5000));
  // nullopt when the connection is refused or times out.
  static std::optional<RawClient> TryConnect(int port, milliseconds timeout = milliseconds(5000));
  RawClient(RawClient&& other) noexcept;
  RawClient& operator=(RawClient&& other) noexcept;
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  ~RawClient();

  int fd() const { return fd_; }
  int LocalPort() const;

  // Sends all bytes; false on error (peer reset or closed: see LastError()).
  bool Send(std::string_view bytes);
  // Sends in pieces of `piece` bytes with `gap` between them (slowloris, split reads).
  bool SendSlowly(std::string_view bytes, size_t piece, milliseconds gap);
  // Streams `size` bytes of the upstream's body pattern (byte i = i % 251)
  // without holding them: as is (after a Content-Length head), or as chunks
  // of `piece` bytes followed by the last chunk (after a chunked head).
  // Its SHA-256 is PatternSha256(size).
  bool SendPattern(uint64_t size, size_t piece = 256 * 1024);
  bool SendPatternChunked(uint64_t size, size_t piece = 256 * 1024);
  // Reads until the peer closes, or timeout; returns everything received
  // (including previously buffered bytes).
  std::string ReadAll(milliseconds timeout);
  // Returns buffered bytes, or waits for some (at most timeout). "" on
  // timeout or close.
  std::string ReadSome(milliseconds timeout);
  // Reads exactly n bytes (or fewer on timeout/close).
  std::string ReadExactly(size_t n, milliseconds timeout);
  // Reads through the first occurrence of delim (inclusive); nullopt on timeout/close.
  std::optional<std::string> ReadUntil(std::string_view delim, milliseconds timeout);
  // Parses ONE HTTP/1.1 response: status line, headers, then the body by
  // HEAD/1xx/204/304 rules, Transfer-Encoding: chunked (with trailers),
  // Content-Length, or until close.
  HttpResponse ReadResponse(milliseconds timeout = milliseconds(10000), ReadOptions options = {});
  // True when the peer closes (EOF or reset) within timeout. Bytes that arrive
  // first are kept in the buffer (see Buffered()).
  bool IsClosed(milliseconds timeout);

  void ShutdownWrite();
  void Close();
  // Close with SO_LINGER 0: the peer sees a TCP RST.
  void CloseWithReset();

  // Bytes received but not consumed yet.
  const std::string& Buffered() const { return buf_; }
  bool PeerClosed() const { return eof_; }
  bool PeerReset() const { return reset_; }
  const std::string& LastError() const { return last_error_; }

 private:
  RawClient() = default;
  // Reads more into buf_; false on EOF/error/timeout (deadline-based).
  bool Fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buf_;
  bool eof_ = false;
  bool reset_ = false;
  std::string last_error_;
};

}  // namespace gh::test
