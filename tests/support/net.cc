#include "tests/support/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <thread>

#include "tests/support/process.h"

namespace gh::test {
namespace {

using Clock = std::chrono::steady_clock;

sockaddr_in Loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// Non-blocking connect bounded by timeout; returns a blocking fd or -1.
int ConnectLoopback(int port, milliseconds timeout, std::string* error) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + strerror(errno);
    return -1;
  }
  sockaddr_in a = Loopback(port);
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  if (rc < 0 && errno != EINPROGRESS) {
    *error = std::string("connect: ") + strerror(errno);
    close(fd);
    return -1;
  }
  if (rc < 0) {
    pollfd p{fd, POLLOUT, 0};
    int n = poll(&p, 1, static_cast<int>(timeout.count()));
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (n <= 0 || err != 0) {
      *error = n <= 0 ? "connect: timed out" : std::string("connect: ") + strerror(err);
      close(fd);
      return -1;
    }
  }
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw HarnessError(std::string("FreePort socket: ") + strerror(errno));
  sockaddr_in a = Loopback(0);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
    close(fd);
    throw HarnessError(std::string("FreePort bind: ") + strerror(errno));
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool WaitForPort(int port, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    std::string err;
    int fd = ConnectLoopback(port, milliseconds(200), &err);
    if (fd >= 0) {
      close(fd);
      return true;
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

std::string BuildRequest(std::string_view method, std::string_view target, const Headers& headers,
                         std::string_view body, std::string_view version) {
  std::string r;
  r.append(method).append(" ").append(target).append(" ").append(version).append("\r\n");
  bool has_host = false, has_length = false;
  for (const auto& [k, v] : headers) {
    if (IEquals(k, "host")) has_host = true;
    if (IEquals(k, "content-length") || IEquals(k, "transfer-encoding")) has_length = true;
  }
  if (!has_host) r += "Host: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers)
    r.append(k).append(": ").append(v).append("\r\n");
  if (!body.empty() && !has_length) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += "\r\n";
  r.append(body);
  return r;
}

std::string Chunk(std::string_view data) {
  char hex[32];
  std::snprintf(hex, sizeof hex, "%zx\r\n", data.size());
  std::string s(hex);
  s.append(data).append("\r\n");
  return s;
}

std::string LastChunk(const Headers& trailers) {
  std::string s = "0\r\n";
  for (const auto& [k, v] : trailers)
    s.append(k).append(": ").append(v).append("\r\n");
  return s + "\r\n";
}

// ---------------------------------------------------------------- HttpResponse

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return std::nullopt;
}

std::vector<std::string> HttpResponse::HeaderValues(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) out.push_back(v);
  }
  return out;
}

std::optional<std::string> HttpResponse::Trailer(std::string_view name) const {
  for (const auto& [k, v] : trailers) {
    if (IEquals(k, name)) return v;
  }
  return std::nullopt;
}

std::string HttpResponse::Describe() const {
  std::string s = ok ? "HTTP " + std::to_string(status) : "no response (" + error + ")";
  s += ", body " + std::to_string(body_length) + " bytes";
  if (peer_closed) s += reset ? ", peer reset" : ", peer closed";
  // append() rather than "\n" + ...: GCC 12 warns falsely (-Wrestrict) on the latter.
  if (!raw_head.empty()) s.append("\n").append(raw_head, 0, 2000);
  if (!body.empty()) s.append("\n").append(body, 0, 500);
  return s;
}

// ---------------------------------------------------------------- RawClient

RawClient::RawClient(int port, milliseconds timeout) {
  signal(SIGPIPE, SIG_IGN);
  std::string err;
  fd_ = ConnectLoopback(port, timeout, &err);
  if (fd_ < 0) throw HarnessError("RawClient 127.0.0.1:" + std::to_string(port) + ": " + err);
}

std::optional<RawClient> RawClient::TryConnect(int port, milliseconds timeout) {
  signal(SIGPIPE, SIG_IGN);
  RawClient c;
  std::string err;
  c.fd_ = ConnectLoopback(port, timeout, &err);
  if (c.fd_ < 0) return std::nullopt;
  return c;
}

RawClient::RawClient(RawClient&& o) noexcept
    : fd_(o.fd_),
      buf_(std::move(o.buf_)),
      eof_(o.eof_),
      reset_(o.reset_),
      last_error_(std::move(o.last_error_)) {
  o.fd_ = -1;
}

RawClient& RawClient::operator=(RawClient&& o) noexcept {
  if (this != &o) {
    Close();
    fd_ = o.fd_;
    buf_ = std::move(o.buf_);
    eof_ = o.eof_;
    reset_ = o.reset_;
    last_error_ = std::move(o.last_error_);
    o.fd_ = -1;
  }
  return *this;
}

RawClient::~RawClient() {
  Close();
}

int RawClient::LocalPort() const {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) < 0) return -1;
  return ntohs(a.sin_port);
}

bool RawClient::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      last_error_ = std::string("send: ") + strerror(errno);
      if (errno == ECONNRESET) reset_ = true;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool RawClient::SendSlowly(std::string_view bytes, size_t piece, milliseconds gap) {
  if (piece == 0) piece = 1;
  while (!bytes.empty()) {
    size_t n = std::min(piece, bytes.size());
    if (!Send(bytes.substr(0, n))) return false;
    bytes.remove_prefix(n);
    if (!bytes.empty()) std::this_thread::sleep_for(gap);
  }
  return true;
}

namespace {

// A window of the pattern starting at any offset: a period-aligned buffer
// one period longer than the largest piece.
std::string_view PatternWindow(uint64_t offset, size_t n) {
  static const std::string kBuf = [] {
    std::string b(4 * 1024 * 1024 + 251, '\0');
    for (size_t i = 0; i < b.size(); ++i)
      b[i] = static_cast<char>(i % 251);
    return b;
  }();
  n = std::min(n, kBuf.size() - 251);
  return std::string_view(kBuf).substr(static_cast<size_t>(offset % 251), n);
}

}  // namespace

bool RawClient::SendPattern(uint64_t size, size_t piece) {
  uint64_t sent = 0;
  while (sent < size) {
    auto window = PatternWindow(sent, static_cast<size_t>(std::min<uint64_t>(piece, size - sent)));
    if (!Send(window)) return false;
    sent += window.size();
  }
  return true;
}

bool RawClient::SendPatternChunked(uint64_t size, size_t piece) {
  uint64_t sent = 0;
  while (sent < size) {
    auto window = PatternWindow(sent, static_cast<size_t>(std::min<uint64_t>(piece, size - sent)));
    char hex[32];
    std::snprintf(hex, sizeof hex, "%zx\r\n", window.size());
    if (!Send(hex) || !Send(window) || !Send("\r\n")) return false;
    sent += window.size();
  }
  return Send("0\r\n\r\n");
}

bool RawClient::Fill(Clock::time_point deadline) {
  if (eof_ || fd_ < 0) return false;
  pollfd p{fd_, POLLIN, 0};
  int n = poll(&p, 1, RemainingMs(deadline));
  if (n <= 0) return false;
  char tmp[256 * 1024];
  ssize_t r = recv(fd_, tmp, sizeof tmp, 0);
  if (r > 0) {
    buf_.append(tmp, static_cast<size_t>(r));
    return true;
  }
  if (r == 0) {
    eof_ = true;
  } else if (errno == ECONNRESET) {
    eof_ = true;
    reset_ = true;
    last_error_ = "recv: connection reset by peer";
  } else if (errno != EINTR && errno != EAGAIN) {
    eof_ = true;
    last_error_ = std::string("recv: ") + strerror(errno);
  }
  return false;
}

std::string RawClient::ReadAll(milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!eof_ && Clock::now() < deadline)
    Fill(deadline);
  std::string out = std::move(buf_);
  buf_.clear();
  return out;
}

std::string RawClient::ReadSome(milliseconds timeout) {
  if (buf_.empty()) {
    auto deadline = Clock::now() + timeout;
    while (buf_.empty() && !eof_ && Clock::now() < deadline)
      Fill(deadline);
  }
  std::string out = std::move(buf_);
  buf_.clear();
  return out;
}

std::string RawClient::ReadExactly(size_t n, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (buf_.size() < n && !eof_ && Clock::now() < deadline)
    Fill(deadline);
  size_t take = std::min(n, buf_.size());
  std::string out = buf_.substr(0, take);
  buf_.erase(0, take);
  return out;
}

std::optional<std::string> RawClient::ReadUntil(std::string_view delim, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  size_t searched = 0;
  while (true) {
    auto pos = buf_.find(delim, searched);
    if (pos != std::string::npos) {
      std::string out = buf_.substr(0, pos + delim.size());
      buf_.erase(0, pos + delim.size());
      return out;
    }
    searched = buf_.size() >= delim.size() ? buf_.size() - delim.size() + 1 : 0;
    if (eof_ || Clock::now() >= deadline) return std::nullopt;
    Fill(deadline);
  }
}

HttpResponse RawClient::ReadResponse(milliseconds timeout, ReadOptions options) {
  HttpResponse r;
  auto deadline = Clock::now() + timeout;
  auto fail = [&](std::string why) {
    r.ok = false;
    r.error = std::move(why);
    r.peer_closed = eof_;
    r.reset = reset_;
    return r;
  };
  auto remaining = [&] { return milliseconds(RemainingMs(deadline)); };

  auto head = ReadUntil("\r\n\r\n", remaining());
  if (!head) {
    std::string why = eof_ ? (reset_ ? "connection reset before a complete response head"
                                     : "connection closed before a complete response head")
                           : "timed out waiting for the response head";
    if (!buf_.empty()) why += " (partial: " + buf_.substr(0, 200) + ")";
    return fail(why);
  }
  r.raw_head = *head;
  // Status line.
  size_t eol = head->find("\r\n");
  std::string_view status_line(head->data(), eol);
  size_t sp1 = status_line.find(' ');
  if (sp1 == std::string_view::npos) return fail("bad status line: " + std::string(status_line));
  r.version = std::string(status_line.substr(0, sp1));
  std::string_view rest = status_line.substr(sp1 + 1);
  size_t sp2 = rest.find(' ');
  std::string code(rest.substr(0, sp2));
  if (code.size() != 3 || code.find_first_not_of("0123456789") != std::string::npos) {
    return fail("bad status line: " + std::string(status_line));
  }
  r.status = std::stoi(code);
  r.reason = sp2 == std::string_view::npos ? "" : std::string(rest.substr(sp2 + 1));
  // Headers.
  size_t pos = eol + 2;
  while (pos < head->size()) {
    size_t e = head->find("\r\n", pos);
    if (e == pos) break;
    std::string_view line(head->data() + pos, e - pos);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail("bad header line: " + std::string(line));
    r.headers.emplace_back(std::string(line.substr(0, colon)), Trim(line.substr(colon + 1)));
    pos = e + 2;
  }

  auto deliver = [&](std::string_view piece) {
    r.body_length += piece.size();
    if (options.on_body) options.on_body(piece);
    if (options.keep_body) r.body.append(piece);
  };

  bool no_body = options.head_request || (r.status >= 100 && r.status < 200) || r.status == 204 ||
                 r.status == 304;
  auto te = r.Header("transfer-encoding");
  auto cl = r.Header("content-length");
  if (no_body) {
    // nothing
  } else if (te && te->find("chunked") != std::string::npos) {
    r.chunked = true;
    while (true) {
      auto size_line = ReadUntil("\r\n", remaining());
      if (!size_line) return fail("incomplete chunk size line");
      std::string hex = size_line->substr(0, size_line->find_first_of(";\r"));
      char* endp = nullptr;
      unsigned long long size = std::strtoull(hex.c_str(), &endp, 16);
      if (hex.empty() || (endp && *endp != '\0' && *endp != ' ' && *endp != '\t')) {
        return fail("bad chunk size: " + hex);
      }
      if (size == 0) {
        while (true) {
          auto tline = ReadUntil("\r\n", remaining());
          if (!tline) return fail("incomplete trailers");
          if (*tline == "\r\n") break;
          std::string_view tl(tline->data(), tline->size() - 2);
          size_t colon = tl.find(':');
          if (colon == std::string_view::npos) return fail("bad trailer: " + std::string(tl));
          r.trailers.emplace_back(std::string(tl.substr(0, colon)), Trim(tl.substr(colon + 1)));
        }
        break;
      }
      uint64_t left = size;
      while (left > 0) {
        if (buf_.empty() && !Fill(deadline) && buf_.empty()) return fail("incomplete chunk data");
        size_t take = static_cast<size_t>(std::min<uint64_t>(left, buf_.size()));
        deliver(std::string_view(buf_.data(), take));
        buf_.erase(0, take);
        left -= take;
      }
      auto crlf = ReadExactly(2, remaining());
      if (crlf != "\r\n") return fail("chunk data not followed by CRLF");
    }
  } else if (cl) {
    uint64_t left = std::strtoull(cl->c_str(), nullptr, 10);
    while (left > 0) {
      if (buf_.empty() && !Fill(deadline) && buf_.empty()) {
        return fail("body ended after " + std::to_string(r.body_length) + " bytes");
      }
      size_t take = static_cast<size_t>(std::min<uint64_t>(left, buf_.size()));
      deliver(std::string_view(buf_.data(), take));
      buf_.erase(0, take);
      left -= take;
    }
  } else {
    r.close_delimited = true;
    while (true) {
      if (!buf_.empty()) {
        deliver(buf_);
        buf_.clear();
      }
      if (eof_) break;
      if (Clock::now() >= deadline) return fail("timed out reading a close-delimited body");
      Fill(deadline);
    }
  }
  // Notice a close that has already arrived, without waiting for one.
  if (!eof_ && buf_.empty()) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 0) > 0) Fill(Clock::now());
  }
  r.ok = true;
  r.peer_closed = eof_;
  r.reset = reset_;
  return r;
}

bool RawClient::IsClosed(milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!eof_) {
    if (Clock::now() >= deadline) return false;
    Fill(deadline);
  }
  return true;
}

void RawClient::ShutdownWrite() {
  if (fd_ >= 0) shutdown(fd_, SHUT_WR);
}

void RawClient::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

void RawClient::CloseWithReset() {
  if (fd_ < 0) return;
  linger l{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  Close();
}

}  // namespace gh::test
