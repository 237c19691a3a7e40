#include "admin/admin_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "gateway/connection.h"
#include "gateway/http1_parser.h"
#include "gateway/timer_queue.h"

namespace gh::admin {

using gateway::Connection;

// One admin client connection. Deletes itself (deferred) once the socket
// has closed; a reply that arrives after that is dropped through `alive_`.
class AdminConnection final : public gateway::ConnectionHandler,
                              public gateway::DeferredDeletable,
                              private gateway::Http1Parser::Callbacks {
 public:
  AdminConnection(AdminServer& server, Connection* connection)
      : server_(server),
        connection_(connection),
        parser_(gateway::Http1Parser::Kind::kRequest, {}, this),
        header_timer_(server.dispatcher().timers(), [this] { OnTimeout(408); }),
        idle_timer_(server.dispatcher().timers(),
                    [this] { Close(Connection::CloseMode::kFlushWrite); }),
        request_timer_(server.dispatcher().timers(), [this] { OnTimeout(503); }),
        alive_(std::make_shared<bool>(true)) {
    connection_->SetHandler(this);
  }

  ~AdminConnection() override {
    *alive_ = false;
    if (connection_ != nullptr) connection_->CloseAndDetach(Connection::CloseMode::kAbort);
  }

  void Start() {
    header_timer_.Arm(server_.limits().header_timeout_ms);
    connection_->Start();
  }

  void Close(Connection::CloseMode mode) {
    if (connection_ != nullptr) connection_->Close(mode);
  }

  // ConnectionHandler
  void OnData(std::string_view data) override {
    input_.append(data);
    if (input_.size() > server_.limits().max_body_bytes + 128 * 1024) {
      // A client that pipelines or streams past every limit.
      Fail(413, "request too large");
      return;
    }
    Process();
  }

  void OnEof() override {
    peer_eof_ = true;
    if (!busy_) Close(Connection::CloseMode::kFlushWrite);
  }

  void OnClose(gateway::CloseReason) override {
    connection_ = nullptr;
    *alive_ = false;
    header_timer_.Cancel();
    idle_timer_.Cancel();
    request_timer_.Cancel();
    server_.OnConnectionClosed(this);
  }

 private:
  // Http1Parser::Callbacks
  bool OnHead(gateway::MessageHead& head) override {
    header_timer_.Cancel();
    request_ = Request::Make(std::move(head.method), std::move(head.target));
    request_.headers = std::move(head.headers);
    keep_alive_ = head.keep_alive;
    if (head.upgrade) parser_.Reject(400, "upgrade not supported");
    if (head.content_length.value_or(0) > server_.limits().max_body_bytes) {
      parser_.Reject(413, "request body too large");
    }
    return false;
  }

  void OnBody(std::string_view data) override {
    if (request_.body.size() + data.size() > server_.limits().max_body_bytes) {
      too_large_ = true;
      return;
    }
    request_.body.append(data);
  }

  void OnMessageComplete(http::HeaderMap*) override { complete_ = true; }

  void Process() {
    if (processing_) return;  // a synchronous answer inside Dispatch: the loop below continues
    processing_ = true;
    ProcessLoop();
    processing_ = false;
  }

  void ProcessLoop() {
    while (!busy_ && connection_ != nullptr && !input_.empty()) {
      if (!parser_.in_message()) {
        idle_timer_.Cancel();
        if (!header_timer_.armed()) header_timer_.Arm(server_.limits().header_timeout_ms);
      }
      const gateway::Http1Parser::Outcome outcome = parser_.Feed(input_);
      switch (outcome.status) {
        case gateway::Http1Parser::Status::kOk:
          input_.clear();
          break;
        case gateway::Http1Parser::Status::kPaused:
          input_.erase(0, outcome.consumed);
          break;
        case gateway::Http1Parser::Status::kUpgrade:
        case gateway::Http1Parser::Status::kError:
          Fail(outcome.status == gateway::Http1Parser::Status::kError ? outcome.http_status : 400,
               outcome.status == gateway::Http1Parser::Status::kError ? outcome.detail
                                                                      : "upgrade not supported");
          return;
      }
      if (complete_) {
        complete_ = false;
        Dispatch();
      }
    }
  }

  void Dispatch() {
    if (too_large_) {
      Fail(413, "request body too large");
      return;
    }
    busy_ = true;
    head_request_ = request_.method == "HEAD";
    request_timer_.Arm(server_.limits().request_timeout_ms);
    std::weak_ptr<bool> alive = alive_;
    server_.api().Handle(request_, [this, alive](Response response) {
      if (alive.expired() || !*alive.lock()) return;  // the client left meanwhile
      if (!busy_) return;                             // timed out already
      Send(std::move(response));
    });
  }

  void Send(Response response) {
    request_timer_.Cancel();
    if (connection_ == nullptr) return;
    const bool close = !keep_alive_ || peer_eof_ || response.status == 408;
    std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " +
                      std::string(http::ReasonPhrase(response.status)) + "\r\n";
    out += "content-type: " + response.content_type + "\r\n";
    out += "content-length: " + std::to_string(response.body.size()) + "\r\n";
    out += "cache-control: no-cache, max-age=0\r\n";
    out += "x-content-type-options: nosniff\r\n";
    for (const http::Header& h : response.headers)
      out += h.name + ": " + h.value + "\r\n";
    if (close) out += "connection: close\r\n";
    out += "\r\n";
    if (!head_request_) out += response.body;
    connection_->Write(out);
    GH_LOG(kAdmin, kDebug, request_.method << " " << request_.target << " " << response.status);
    busy_ = false;
    request_ = Request();
    if (response.after) server_.RunSoon(std::move(response.after));
    if (close) {
      Close(Connection::CloseMode::kFlushWrite);
      return;
    }
    parser_.Resume();
    idle_timer_.Arm(server_.limits().idle_timeout_ms);
    Process();
  }

  void Fail(int status, std::string_view detail) {
    if (connection_ == nullptr) return;
    keep_alive_ = false;
    busy_ = true;
    Send(Response::Text(status, std::string(detail) + "\n"));
  }

  void OnTimeout(int status) {
    if (status == 408) {
      // No complete request head in time.
      Fail(408, "request header timeout");
      return;
    }
    // The backend never answered (a stuck worker): say so and close.
    keep_alive_ = false;
    Send(Response::Text(503, "timed out waiting for the workers\n"));
  }

  AdminServer& server_;
  Connection* connection_;
  gateway::Http1Parser parser_;
  gateway::Timer header_timer_;
  gateway::Timer idle_timer_;
  gateway::Timer request_timer_;
  std::shared_ptr<bool> alive_;
  std::string input_;
  Request request_;
  bool keep_alive_ = true;
  bool complete_ = false;
  bool busy_ = false;
  bool too_large_ = false;
  bool head_request_ = false;
  bool peer_eof_ = false;
  bool processing_ = false;
};

AdminServer::AdminServer(gateway::Dispatcher& dispatcher, Api& api, Limits limits)
    : dispatcher_(dispatcher), api_(api), limits_(limits), soon_timer_(dispatcher.timers(), [this] {
        std::vector<std::function<void()>> due;
        due.swap(soon_);
        for (auto& fn : due)
          fn();
      }) {}

void AdminServer::RunSoon(std::function<void()> fn) {
  soon_.push_back(std::move(fn));
  if (!soon_timer_.armed()) soon_timer_.Arm(kRunSoonMs);
}

AdminServer::~AdminServer() {
  Close();
}

Status AdminServer::Listen(const std::string& address) {
  sockaddr_storage addr;
  if (!gateway::ParseAddress(address, 15000, &addr)) {
    return MakeError("admin address '" + address + "' is not ip:port");
  }
  const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return MakeError(std::string("admin socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr.ss_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  const socklen_t len = addr.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0 || ::listen(fd, 128) != 0) {
    const int err = errno;
    ::close(fd);
    return MakeError("admin " + address + ": " + std::strerror(err));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  fd_ = fd;
  bound_ = gateway::FormatAddress(bound);
  port_ = bound.ss_family == AF_INET6
              ? ntohs(reinterpret_cast<const sockaddr_in6&>(bound).sin6_port)
              : ntohs(reinterpret_cast<const sockaddr_in&>(bound).sin_port);
  poll_ = new uv_poll_t;
  uv_poll_init(dispatcher_.loop(), poll_, fd_);
  poll_->data = this;
  uv_poll_start(poll_, UV_READABLE, &AdminServer::OnReadable);
  return Status::Ok();
}

void AdminServer::OnReadable(uv_poll_t* handle, int status, int) {
  if (status < 0) return;
  static_cast<AdminServer*>(handle->data)->Accept();
}

void AdminServer::Accept() {
  for (int i = 0; i < 16; ++i) {
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (connections_.size() >= limits_.max_connections) {
      GH_LOG(kAdmin, kWarn, "admin: too many connections; refusing one");
      ::close(fd);
      continue;
    }
    Connection* connection = Connection::Adopt(dispatcher_, fd, 256 * 1024);
    if (connection == nullptr) continue;
    auto* admin = new AdminConnection(*this, connection);
    connections_.insert(admin);
    admin->Start();
  }
}

void AdminServer::OnConnectionClosed(AdminConnection* connection) {
  if (connections_.erase(connection) == 0) return;
  dispatcher_.DeferDelete(std::unique_ptr<gateway::DeferredDeletable>(connection));
}

void AdminServer::Close() {
  soon_timer_.Cancel();
  if (poll_ != nullptr) {
    uv_poll_stop(poll_);
    poll_->data = reinterpret_cast<void*>(static_cast<intptr_t>(fd_));
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* handle) {
      ::close(static_cast<int>(reinterpret_cast<intptr_t>(handle->data)));
      delete reinterpret_cast<uv_poll_t*>(handle);
    });
    poll_ = nullptr;
    fd_ = -1;
  }
  std::unordered_set<AdminConnection*> all;
  all.swap(connections_);
  for (AdminConnection* connection : all)
    delete connection;  // closes its socket (abort) without calling back
}

}  // namespace gh::admin
