#include "gateway/protocol_sniffer.h"

#include <algorithm>

#include "gateway/worker.h"

namespace gh::gateway {

SniffResult SniffPreface(std::string_view bytes) {
  const size_t n = std::min(bytes.size(), kHttp2ClientPreface.size());
  if (bytes.substr(0, n) != kHttp2ClientPreface.substr(0, n)) return SniffResult::kHttp1;
  return n == kHttp2ClientPreface.size() ? SniffResult::kHttp2 : SniffResult::kNeedMore;
}

ProtocolSniffer::ProtocolSniffer(Worker& worker, Connection* connection,
                                 std::shared_ptr<const DownstreamInfo> info)
    : worker_(worker),
      connection_(connection),
      info_(std::move(info)),
      timer_(worker.dispatcher().timers(), [this] {
        // Nothing recognisable within the request-header timeout (slowloris).
        worker_.CountDownstreamProtocolError(*info_, 408, "request_header_timeout");
        Close();
      }) {
  connection_->SetHandler(this);
}

ProtocolSniffer::~ProtocolSniffer() {
  if (connection_ != nullptr) connection_->CloseAndDetach(Connection::CloseMode::kAbort);
}

void ProtocolSniffer::Start() {
  timer_.Arm(static_cast<uint64_t>(worker_.proxy_settings().request_headers_timeout.count()));
  connection_->Start();
}

void ProtocolSniffer::OnData(std::string_view data) {
  if (done_) return;
  buffer_.append(data);
  switch (SniffPreface(buffer_)) {
    case SniffResult::kNeedMore:
      return;
    case SniffResult::kHttp1:
      Decide(DownstreamProtocol::kHttp1);
      return;
    case SniffResult::kHttp2:
      Decide(DownstreamProtocol::kHttp2);
      return;
  }
}

void ProtocolSniffer::Decide(DownstreamProtocol protocol) {
  done_ = true;
  timer_.Cancel();
  Connection* connection = connection_;
  connection_ = nullptr;
  // The worker frees this sniffer after the current callback chain; buffer_
  // stays valid while the new session consumes it.
  worker_.OnProtocolDetected(this, connection, info_, protocol, buffer_);
}

void ProtocolSniffer::OnEof() {
  if (done_) return;
  // Closed before a request could be recognised. A partial preface (or a
  // partial request line) goes to HTTP/1 so the client gets its 400.
  if (!buffer_.empty()) {
    Connection* connection = connection_;
    Decide(DownstreamProtocol::kHttp1);
    if (connection->handler() != nullptr) connection->handler()->OnEof();
    return;
  }
  Close();
}

void ProtocolSniffer::Close() {
  if (connection_ == nullptr || done_) return;
  done_ = true;
  timer_.Cancel();
  connection_->Close(Connection::CloseMode::kFlushWrite);
}

void ProtocolSniffer::Drain() {
  Close();
}

void ProtocolSniffer::OnClose(CloseReason) {
  connection_ = nullptr;
  done_ = true;
  timer_.Cancel();
  worker_.OnDownstreamClosed(this);
}

}  // namespace gh::gateway
