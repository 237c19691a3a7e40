// ProxyStream's own answers (local replies, gRPC-shaped errors, grpc-timeout)
// and its access log line and response flags.
#include "gateway/proxy_stream.h"

#include <charconv>
#include <chrono>

#include "base/strings.h"
#include "gateway/grpc.h"
#include "gateway/worker.h"

namespace gh::gateway {

void ProxyStream::LocalReply(int status, std::string_view flag, std::string_view details,
                             std::string_view body, const http::HeaderMap* extra_headers) {
  if (finished_) return;
  ReleaseUpstream(true);
  response_code_ = status;
  AddFlag(flag);
  response_code_details_ = std::string(details);
  if (downstream_ == nullptr) {
    Finish();
    return;
  }
  if (response_started_) {
    downstream_->Reset();
    Finish();
    return;
  }
  if (grpc_ && status >= 400) {
    GrpcLocalReply(status, body.empty() ? details : body);
    return;
  }
  ResponseHead head;
  head.status = status;
  if (extra_headers != nullptr) head.headers = *extra_headers;
  if (!body.empty() && !head.headers.Has("content-type")) {
    head.headers.Add("content-type", "text/plain");
  }
  const std::string& server =
      snapshot_ ? snapshot_->config->proxy.server_header : worker_.proxy_settings().server_header;
  if (!server.empty()) head.headers.Set("server", server);
  head.content_length = body.size();
  // A request we refused as malformed leaves the connection in doubt.
  head.close_connection = flag == "DPE";
  response_started_ = true;
  downstream_->SendHeaders(head, body.empty());
  if (!body.empty() && downstream_ != nullptr) downstream_->SendData(body, true);
  bytes_sent_ += body.size();
  response_complete_ = true;
  Finish();
}

void ProxyStream::AddFlag(std::string_view flags) {
  for (std::string_view flag : SplitList(flags)) {
    bool present = false;
    for (std::string_view existing : SplitList(response_flags_)) {
      if (existing == flag) present = true;
    }
    if (present) continue;
    if (!response_flags_.empty()) response_flags_.push_back(',');
    response_flags_.append(flag);
  }
}

void ProxyStream::Log() {
  const uint64_t duration = worker_.dispatcher().Now() - start_ms_;
  const std::string* xff = request_.headers.Get("x-forwarded-for");
  const std::string* ua = request_.headers.Get("user-agent");
  const std::string* request_id = request_.headers.Get("x-request-id");
  const routing::Cluster* cluster = cluster_ != nullptr ? &cluster_->cluster() : nullptr;

#ifndef GH_NO_REQUEST_METRICS  // defined only to benchmark the recording's cost
  char code[16];
  const auto code_end = std::to_chars(code, code + sizeof code, response_code_).ptr;
  RequestLabelsView labels;
  labels.destination_service = cluster != nullptr ? std::string_view(cluster->host) : "unknown";
  labels.destination_cluster = cluster != nullptr ? std::string_view(cluster->name) : "unknown";
  labels.response_code = std::string_view(code, static_cast<size_t>(code_end - code));
  labels.response_flags = response_flags_.empty() ? std::string_view("-") : response_flags_;
  labels.request_protocol = grpc_ ? "grpc" : "http";
  labels.grpc_response_status = grpc_status_;
  worker_.RecordRequest(labels, duration, bytes_received_, bytes_sent_);
#endif

  AccessLogWriter& log = worker_.access_log();
  if (!log.enabled()) return;
  AccessLogEntry entry;
  entry.start_time_us = start_time_us_;
  entry.method = request_.method;
  entry.path = original_path_;
  entry.protocol = request_.protocol;
  entry.response_code = response_code_;
  entry.response_flags = response_flags_.empty() ? "-" : response_flags_;
  entry.response_code_details = response_code_details_;
  entry.upstream_transport_failure_reason = upstream_failure_reason_;
  entry.bytes_received = bytes_received_;
  entry.bytes_sent = bytes_sent_;
  entry.duration_ms = duration;
  entry.upstream_service_time_ms = upstream_service_time_ms_;
  if (xff != nullptr) entry.x_forwarded_for = *xff;
  if (ua != nullptr) entry.user_agent = *ua;
  if (request_id != nullptr) entry.request_id = *request_id;
  entry.authority = request_.authority;
  entry.upstream_host = upstream_host_;
  if (cluster != nullptr) entry.upstream_cluster = cluster->name;
  entry.upstream_local_address = upstream_local_address_;
  entry.downstream_local_address = info_->local_address;
  entry.downstream_remote_address = info_->peer_address;
  entry.requested_server_name = info_->sni;
  if (route_ != nullptr) entry.route_name = route_->name;
  entry.grpc_status = grpc_status_;
  log.Log(entry);
}

// ------------------------------------------------------------------ gRPC ---

void ProxyStream::StartGrpcDeadline() {
  const std::string* value = request_.headers.Get("grpc-timeout");
  if (value == nullptr) return;
  const std::optional<uint64_t> ms = ParseGrpcTimeoutMs(*value);
  if (!ms) return;
  // The client's deadline runs from now; a route timeout (armed at the end of
  // the request) can only shorten it.
  route_timer_.Arm(std::max<uint64_t>(*ms, 1));
}

void ProxyStream::GrpcLocalReply(int status, std::string_view message) {
  // "Trailers-only": HTTP 200, one HEADERS block ending the stream.
  const GrpcStatus grpc = GrpcStatusForLocalReply(status, response_flags_);
  grpc_status_ = std::to_string(static_cast<int>(grpc));
  response_code_ = 200;
  ResponseHead head;
  head.status = 200;
  head.headers.Add("content-type", "application/grpc");
  head.headers.Add("grpc-status", grpc_status_);
  if (!message.empty()) head.headers.Add("grpc-message", GrpcPercentEncode(message));
  const std::string& server =
      snapshot_ ? snapshot_->config->proxy.server_header : worker_.proxy_settings().server_header;
  if (!server.empty()) head.headers.Set("server", server);
  response_started_ = true;
  downstream_->SendHeaders(head, true);
  response_complete_ = true;
  Finish();
}

void ProxyStream::CaptureGrpcStatus(const http::HeaderMap& fields) {
  if (const std::string* status = fields.Get("grpc-status")) grpc_status_ = *status;
}

}  // namespace gh::gateway
