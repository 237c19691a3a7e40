#include "gateway/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace gh::gateway {
namespace {

constexpr size_t kFlushThreshold = 4096;

void AppendOrDash(std::string& out, std::string_view value) {
  if (value.empty()) {
    out.push_back('-');
  } else {
    out.append(value);
  }
}

void AppendTime(std::string& out, int64_t us) {
  const time_t secs = static_cast<time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>((us / 1000) % 1000));
  out.append(buf);
}

void AppendJsonString(std::string& out, std::string_view value) {
  out.push_back('"');
  for (char c : value) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out.append(buf);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

void AppendJsonField(std::string& out, std::string_view key, std::string_view value, bool& first) {
  if (!first) out.push_back(',');
  first = false;
  AppendJsonString(out, key);
  out.push_back(':');
  if (value.empty()) {
    out.append("null");
  } else {
    AppendJsonString(out, value);
  }
}

void AppendJsonNumber(std::string& out, std::string_view key, int64_t value, bool& first) {
  if (!first) out.push_back(',');
  first = false;
  AppendJsonString(out, key);
  out.push_back(':');
  out.append(std::to_string(value));
}

}  // namespace

std::shared_ptr<AccessLogSink> AccessLogSink::Open(const std::string& target,
                                                   routing::AccessLogFormat format,
                                                   std::string* error) {
  std::shared_ptr<AccessLogSink> sink(new AccessLogSink());
  sink->target_ = target;
  sink->format_ = format;
  if (target == "off" || target.empty()) return sink;
  sink->enabled_ = true;
  if (target == "stdout") {
    sink->fd_ = STDOUT_FILENO;
    return sink;
  }
  if (target == "stderr") {
    sink->fd_ = STDERR_FILENO;
    return sink;
  }
  const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = "cannot open access log " + target + ": " + std::strerror(errno);
    return nullptr;
  }
  sink->fd_ = fd;
  sink->owns_fd_ = true;
  return sink;
}

AccessLogSink::~AccessLogSink() {
  if (owns_fd_) ::close(fd_);
}

bool AccessLogSink::Reopen(std::string* error) {
  if (!owns_fd_) return true;
  const int fd = ::open(target_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = "cannot reopen access log " + target_ + ": " + std::strerror(errno);
    return false;
  }
  // dup2 swaps the file under the same descriptor number atomically, so
  // workers writing concurrently never see a closed fd.
  ::dup2(fd, fd_);
  ::close(fd);
  return true;
}

void AccessLogSink::WriteAll(std::string_view data) const {
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // a broken log sink must never stop the data plane
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void FormatAccessLogLine(const AccessLogEntry& e, routing::AccessLogFormat format,
                         std::string& out) {
  if (format == routing::AccessLogFormat::kJson) {
    bool first = true;
    out.push_back('{');
    std::string start;
    AppendTime(start, e.start_time_us);
    AppendJsonField(out, "start_time", start, first);
    AppendJsonField(out, "method", e.method, first);
    AppendJsonField(out, "path", e.path, first);
    AppendJsonField(out, "protocol", e.protocol, first);
    AppendJsonNumber(out, "response_code", e.response_code, first);
    AppendJsonField(out, "response_flags", e.response_flags, first);
    AppendJsonField(out, "response_code_details", e.response_code_details, first);
    AppendJsonField(out, "connection_termination_details", e.connection_termination_details, first);
    AppendJsonField(out, "upstream_transport_failure_reason", e.upstream_transport_failure_reason,
                    first);
    AppendJsonNumber(out, "bytes_received", static_cast<int64_t>(e.bytes_received), first);
    AppendJsonNumber(out, "bytes_sent", static_cast<int64_t>(e.bytes_sent), first);
    AppendJsonNumber(out, "duration", static_cast<int64_t>(e.duration_ms), first);
    if (e.upstream_service_time_ms >= 0) {
      AppendJsonNumber(out, "upstream_service_time", e.upstream_service_time_ms, first);
    } else {
      AppendJsonField(out, "upstream_service_time", "", first);
    }
    AppendJsonField(out, "x_forwarded_for", e.x_forwarded_for, first);
    AppendJsonField(out, "user_agent", e.user_agent, first);
    AppendJsonField(out, "request_id", e.request_id, first);
    AppendJsonField(out, "authority", e.authority, first);
    AppendJsonField(out, "upstream_host", e.upstream_host, first);
    AppendJsonField(out, "upstream_cluster", e.upstream_cluster, first);
    AppendJsonField(out, "upstream_local_address", e.upstream_local_address, first);
    AppendJsonField(out, "downstream_local_address", e.downstream_local_address, first);
    AppendJsonField(out, "downstream_remote_address", e.downstream_remote_address, first);
    AppendJsonField(out, "requested_server_name", e.requested_server_name, first);
    AppendJsonField(out, "route_name", e.route_name, first);
    if (!e.grpc_status.empty()) AppendJsonField(out, "grpc_status", e.grpc_status, first);
    out.append("}\n");
    return;
  }
  // Istio's default TEXT format, field for field.
  out.push_back('[');
  AppendTime(out, e.start_time_us);
  out.append("] \"");
  AppendOrDash(out, e.method);
  out.push_back(' ');
  AppendOrDash(out, e.path);
  out.push_back(' ');
  AppendOrDash(out, e.protocol);
  out.append("\" ");
  out.append(std::to_string(e.response_code)).push_back(' ');
  AppendOrDash(out, e.response_flags);
  out.push_back(' ');
  AppendOrDash(out, e.response_code_details);
  out.push_back(' ');
  AppendOrDash(out, e.connection_termination_details);
  out.append(" \"");
  AppendOrDash(out, e.upstream_transport_failure_reason);
  out.append("\" ");
  out.append(std::to_string(e.bytes_received)).push_back(' ');
  out.append(std::to_string(e.bytes_sent)).push_back(' ');
  out.append(std::to_string(e.duration_ms)).push_back(' ');
  if (e.upstream_service_time_ms >= 0) {
    out.append(std::to_string(e.upstream_service_time_ms));
  } else {
    out.push_back('-');
  }
  out.append(" \"");
  AppendOrDash(out, e.x_forwarded_for);
  out.append("\" \"");
  AppendOrDash(out, e.user_agent);
  out.append("\" \"");
  AppendOrDash(out, e.request_id);
  out.append("\" \"");
  AppendOrDash(out, e.authority);
  out.append("\" \"");
  AppendOrDash(out, e.upstream_host);
  out.append("\" ");
  AppendOrDash(out, e.upstream_cluster);
  out.push_back(' ');
  AppendOrDash(out, e.upstream_local_address);
  out.push_back(' ');
  AppendOrDash(out, e.downstream_local_address);
  out.push_back(' ');
  AppendOrDash(out, e.downstream_remote_address);
  out.push_back(' ');
  AppendOrDash(out, e.requested_server_name);
  out.push_back(' ');
  AppendOrDash(out, e.route_name);
  out.push_back('\n');
}

AccessLogWriter::~AccessLogWriter() {
  if (scheduled_) dispatcher_.UnscheduleFlush(this);
  Flush();
}

void AccessLogWriter::SetSink(std::shared_ptr<AccessLogSink> sink) {
  Flush();
  sink_ = std::move(sink);
}

void AccessLogWriter::Log(const AccessLogEntry& entry) {
  if (!enabled()) return;
  line_.clear();
  FormatAccessLogLine(entry, sink_->format(), line_);
  if (buffer_.size() + line_.size() > kFlushThreshold) {
    sink_->WriteAll(buffer_);
    buffer_.clear();
  }
  buffer_.append(line_);
  if (!scheduled_) {
    scheduled_ = true;
    dispatcher_.ScheduleFlush(this);
  }
}

void AccessLogWriter::Flush() {
  scheduled_ = false;
  if (buffer_.empty() || sink_ == nullptr) return;
  sink_->WriteAll(buffer_);
  buffer_.clear();
}

}  // namespace gh::gateway
