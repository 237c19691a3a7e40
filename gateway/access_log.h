// Access log: one line per request (or TCP session), Istio's default text
// format or JSON, to stdout or a file; each worker buffers whole lines and
// writes them with one write(2) per loop iteration. The sink's fd can be
// swapped (logrotate: SIGUSR1 reopens) without the workers noticing.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/dispatcher.h"
#include "routing/model.h"

namespace gh::gateway {

struct AccessLogEntry {
  int64_t start_time_us = 0;  // wall clock, microseconds since the epoch
  std::string_view method;
  std::string_view path;  // original path
  std::string_view protocol;
  int response_code = 0;
  std::string response_flags;  // "-" when empty
  std::string_view response_code_details;
  std::string_view connection_termination_details;
  std::string_view upstream_transport_failure_reason;
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t duration_ms = 0;
  int64_t upstream_service_time_ms = -1;
  std::string_view x_forwarded_for;
  std::string_view user_agent;
  std::string_view request_id;
  std::string_view authority;
  std::string_view upstream_host;
  std::string_view upstream_cluster;
  std::string_view upstream_local_address;
  std::string_view downstream_local_address;
  std::string_view downstream_remote_address;
  std::string_view requested_server_name;
  std::string_view route_name;
  std::string_view grpc_status;
};

// The process-wide destination: an fd that SIGUSR1 can re-point.
class AccessLogSink {
 public:
  // `target`: "stdout", "off", or a file path (opened O_APPEND).
  static std::shared_ptr<AccessLogSink> Open(const std::string& target,
                                             routing::AccessLogFormat format, std::string* error);
  ~AccessLogSink();
  bool enabled() const { return enabled_; }
  routing::AccessLogFormat format() const { return format_; }
  const std::string& target() const { return target_; }
  // Re-opens a file target in place (dup2), for logrotate.
  bool Reopen(std::string* error);
  void WriteAll(std::string_view data) const;

 private:
  AccessLogSink() = default;
  std::string target_;
  routing::AccessLogFormat format_ = routing::AccessLogFormat::kText;
  int fd_ = -1;
  bool owns_fd_ = false;
  bool enabled_ = false;
};

// Formats one entry as a line (text or JSON), newline included.
void FormatAccessLogLine(const AccessLogEntry& entry, routing::AccessLogFormat format,
                         std::string& out);

// A worker's buffer in front of the shared sink: whole lines only, written
// once per loop iteration in pieces of at most PIPE_BUF bytes so lines from
// different workers never interleave on a pipe.
class AccessLogWriter final : public Flushable {
 public:
  explicit AccessLogWriter(Dispatcher& dispatcher) : dispatcher_(dispatcher) {}
  ~AccessLogWriter();
  void SetSink(std::shared_ptr<AccessLogSink> sink);
  bool enabled() const { return sink_ != nullptr && sink_->enabled(); }
  void Log(const AccessLogEntry& entry);
  void Flush() override;

 private:
  Dispatcher& dispatcher_;
  std::shared_ptr<AccessLogSink> sink_;
  std::string buffer_;
  std::string line_;
  bool scheduled_ = false;
};

}  // namespace gh::gateway
