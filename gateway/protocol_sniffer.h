// Protocol detection on plain HTTP listeners: a connection that starts with
// the HTTP/2 client preface is h2c with prior knowledge (RFC 9113 3.3);
// anything else is HTTP/1.1. The sniffer reads until it can tell (at most 24
// bytes matter), then hands the connection and the bytes read so far to the
// right session through the worker. TLS listeners pick by ALPN instead and
// skip it (Worker::StartSession).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "gateway/connection.h"
#include "gateway/downstream_info.h"
#include "gateway/downstream_session.h"
#include "gateway/timer_queue.h"

namespace gh::gateway {

class Worker;

inline constexpr std::string_view kHttp2ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum class SniffResult : uint8_t { kNeedMore, kHttp1, kHttp2 };

// Pure: what the first bytes of a connection say.
SniffResult SniffPreface(std::string_view bytes);

class ProtocolSniffer final : public ConnectionHandler, public DownstreamSession {
 public:
  ProtocolSniffer(Worker& worker, Connection* connection,
                  std::shared_ptr<const DownstreamInfo> info);
  ~ProtocolSniffer() override;

  void Start();
  void Drain() override;
  const DownstreamInfo& info() const override { return *info_; }

  // ConnectionHandler
  void OnData(std::string_view data) override;
  void OnEof() override;
  void OnClose(CloseReason reason) override;

 private:
  void Decide(DownstreamProtocol protocol);
  void Close();

  Worker& worker_;
  Connection* connection_;
  std::shared_ptr<const DownstreamInfo> info_;
  std::string buffer_;
  Timer timer_;
  bool done_ = false;
};

}  // namespace gh::gateway
