// Downstream HTTP/1.1 codec for one client connection: parses requests,
// hands each to a StreamHandler (the proxy), writes responses with the
// right framing, keeps the connection alive or closes it, answers pipelined
// requests strictly in order (the parser pauses after each request and the
// rest waits, bounded, until the response is done), and turns a 101 into a
// byte tunnel. Protocol errors get a local reply and a close.
#pragma once

#include <memory>
#include <string>

#include "gateway/byte_chain.h"
#include "gateway/connection.h"
#include "gateway/dispatcher.h"
#include "gateway/downstream_info.h"
#include "gateway/downstream_session.h"
#include "gateway/http1_parser.h"
#include "gateway/http_stream.h"
#include "gateway/timer_queue.h"

namespace gh::gateway {

class Worker;

class Http1ServerConnection final : public ConnectionHandler,
                                    public DownstreamStream,
                                    public DownstreamSession,
                                    private Http1Parser::Callbacks {
 public:
  Http1ServerConnection(Worker& worker, Connection* connection,
                        std::shared_ptr<const DownstreamInfo> info);
  ~Http1ServerConnection() override;

  // Starts reading; `initial` holds bytes already read (protocol sniffing).
  void Start(std::string_view initial = {});
  // Graceful drain: close now if idle, otherwise after the current response.
  void Drain() override;
  bool idle() const { return stream_ == nullptr; }
  const DownstreamInfo& info() const override { return *info_; }

  // ConnectionHandler
  void OnData(std::string_view data) override;
  void OnEof() override;
  void OnWriteAboveHighWatermark() override;
  void OnWriteBelowLowWatermark() override;
  void OnClose(CloseReason reason) override;

  // DownstreamStream
  void SendHeaders(ResponseHead& head, bool end_stream) override;
  void SendData(std::string_view data, bool end_stream) override;
  void SendTrailers(const http::HeaderMap& trailers) override;
  void Send100Continue() override;
  void Reset() override;
  void ReadDisable(bool disable) override;
  bool AboveHighWatermark() const override;
  void Done() override;

 private:
  // Http1Parser::Callbacks
  bool OnHead(MessageHead& head) override;
  void OnBody(std::string_view data) override;
  void OnMessageComplete(http::HeaderMap* trailers) override;

  // Feeds bytes to the parser; returns how many it took (it stops at a
  // request boundary while a response is pending, or at an upgrade).
  size_t FeedOnce(std::string_view data);
  // Runs the input state machine until it must wait: finished streams,
  // buffered pipelined requests. Iterative, so a deep pipeline of locally
  // answered requests cannot grow the stack.
  void DispatchInput();
  void AfterStreamDone();
  void UpdateThrottle();
  void ResetStream(StreamResetReason reason);
  void ReplyAndClose(int status, std::string_view detail);
  void CloseConnection(Connection::CloseMode mode);
  void ArmIdleTimer();
  void OnHeaderTimeout();
  void EnterTunnel();

  Worker& worker_;
  Connection* connection_;
  std::shared_ptr<const DownstreamInfo> info_;
  Http1Parser parser_;
  std::unique_ptr<StreamHandler> stream_;
  ByteChain buffered_;  // read while the parser waits (pipelining, tunnel)
  Timer header_timer_;
  Timer idle_timer_;
  Timer resume_timer_;  // the next pipelined request, once output drained

  // Current request / response.
  bool request_started_ = false;
  bool request_complete_ = false;
  bool request_end_sent_ = false;
  bool head_request_ = false;
  bool client_http10_ = false;
  bool keep_alive_ = true;
  bool response_started_ = false;
  bool response_complete_ = false;
  bool chunked_response_ = false;
  bool tunnel_requested_ = false;
  bool tunnel_ = false;

  bool paused_ = false;  // parser paused after a complete request
  // The next request waits for the client to read what it asked for before
  // (our output is above its high watermark).
  bool awaiting_writable_ = false;
  bool dispatching_ = false;
  bool pending_done_ = false;
  bool input_throttled_ = false;  // our ReadDisable for buffered_ growth
  bool peer_eof_ = false;
  bool draining_ = false;
  bool closed_ = false;
};

}  // namespace gh::gateway
