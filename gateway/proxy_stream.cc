#include "gateway/proxy_stream.h"

#include <chrono>

#include "gateway/cluster_manager.h"
#include "gateway/grpc.h"
#include "gateway/header_sanitizer.h"
#include "gateway/mirror_request.h"
#include "gateway/trace_context.h"
#include "gateway/worker.h"
#include "routing/actions.h"
#include "routing/cors.h"
#include "routing/load_balancer.h"
#include "routing/path_normalizer.h"
#include "routing/retry.h"
#include "routing/route_table.h"
#include "routing/server_select.h"

namespace gh::gateway {
namespace {

// A request body up to this size is kept so a retry can replay it.
constexpr size_t kRetryBufferLimit = 64 * 1024;

int64_t WallClockMicros() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::string_view HostOf(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(0, close + 1);
  }
  const size_t colon = authority.rfind(':');
  return colon == std::string_view::npos ? authority : authority.substr(0, colon);
}

routing::RequestView ViewOf(const RequestHead& request, const DownstreamInfo& info) {
  routing::RequestView view;
  view.method = request.method;
  view.scheme = request.scheme;
  view.authority = request.authority;
  view.path = request.path;
  view.headers = &request.headers;
  view.port = info.listener_port;
  view.source_ip = info.peer_ip;
  return view;
}

}  // namespace

ProxyStream::ProxyStream(Worker& worker, DownstreamStream& downstream,
                         std::shared_ptr<const DownstreamInfo> info)
    : worker_(worker),
      downstream_(&downstream),
      info_(std::move(info)),
      route_timer_(worker.dispatcher().timers(), [this] { OnRouteTimeout(); }),
      per_try_timer_(worker.dispatcher().timers(), [this] { OnPerTryTimeout(); }),
      idle_timer_(worker.dispatcher().timers(), [this] { OnIdleTimeout(); }),
      retry_timer_(worker.dispatcher().timers(), [this] { StartAttempt(); }),
      fault_timer_(worker.dispatcher().timers(), [this] { ContinueAfterFaultDelay(); }) {}

ProxyStream::~ProxyStream() {
  // Normally Finish ran; a stream torn down with its worker still releases
  // what it holds.
  if (!finished_) {
    downstream_ = nullptr;
    ReleaseUpstream(true);
    if (counted_active_ && cluster_ != nullptr) --cluster_->active_requests;
  }
}

void ProxyStream::OnRequestHeaders(RequestHead&& head, bool end_stream) {
  start_ms_ = worker_.dispatcher().Now();
  start_time_us_ = WallClockMicros();
  snapshot_ = worker_.snapshot();
  request_ = std::move(head);
  original_path_ = request_.path;
  request_end_ = end_stream;
  TouchIdle();

  const routing::ProxySettings& proxy = snapshot_->config->proxy;
  RequestSanitizeOptions options;
  options.trusted_hops = proxy.trusted_hops;
  options.underscores = proxy.headers_with_underscores;
  options.scheme = request_.scheme;
  options.peer_ip = info_->peer_ip;
  const SanitizeVerdict verdict =
      SanitizeRequestHeaders(request_.headers, options, worker_.random());
  grpc_ = IsGrpcRequest(request_.headers);
  if (verdict.status != 0) {
    LocalReply(verdict.status, "DPE", verdict.detail, verdict.detail);
    return;
  }
  PropagateTraceContext(request_.headers, worker_.random());
  // x-forwarded-client-cert, SANITIZE_SET (Istio's gateway default): never
  // trust the client's, set ours when it presented a certificate.
  request_.headers.Remove("x-forwarded-client-cert");
  if (!info_->xfcc.empty()) request_.headers.Add("x-forwarded-client-cert", info_->xfcc);
  Route();
  if (!finished_ && request_end_) OnRequestEnd();
}

void ProxyStream::Route() {
  const routing::Config& config = *snapshot_->config;
  const routing::Listener* listener = nullptr;
  for (const routing::Listener& l : config.listeners) {
    if (l.name == info_->listener_name) listener = &l;
  }
  if (listener == nullptr || listener->servers.empty()) {
    LocalReply(404, "NR", "listener_not_found", "");
    return;
  }
  // TLS connections are bound to the server their handshake chose.
  const routing::Server* server =
      info_->server_index && *info_->server_index < listener->servers.size()
          ? &listener->servers[*info_->server_index]
          : routing::SelectServerBySni(*listener, info_->sni);
  if (server == nullptr || server->http_routes == nullptr) {
    LocalReply(404, "NR", "route_not_found", "");
    return;
  }
  if (server->https_redirect && !info_->tls) {
    http::HeaderMap extra;
    extra.Add("location", "https://" + std::string(HostOf(request_.authority)) + request_.path);
    LocalReply(301, "", "https_redirect", "", &extra);
    return;
  }

  // One normaliser for routing (and later authorization): the upstream sees
  // the normalised path too, so both agree on what was asked for.
  routing::NormalizedPath path =
      routing::NormalizePath(request_.path, config.proxy.path_normalization);
  if (path.verdict == routing::NormalizedPath::Verdict::kReject) {
    LocalReply(400, "DPE", "path_normalization_failed", "invalid path");
    return;
  }
  if (path.verdict == routing::NormalizedPath::Verdict::kRedirect) {
    http::HeaderMap extra;
    extra.Add("location", path.path);
    LocalReply(307, "", "path_normalization_redirect", "", &extra);
    return;
  }
  request_.path = std::move(path.path);

  const routing::HttpRouteResult result = server->http_routes->Match(ViewOf(request_, *info_));
  if (result.route == nullptr) {
    if (!result.host_matched && routing::OtherServerCovers(*listener, server, request_.authority)) {
      LocalReply(421, "NR", "misdirected_request", "misdirected request");
      return;
    }
    LocalReply(404, "NR", "route_not_found", "");
    return;
  }
  route_ = result.route;

  if (route_->cors != nullptr) {
    const routing::RequestView view = ViewOf(request_, *info_);
    const std::string* origin = routing::RequestOrigin(view);
    if (routing::IsCorsPreflight(view)) {
      routing::PreflightDecision decision =
          routing::HandlePreflight(*route_->cors, origin != nullptr ? *origin : "");
      if (decision.action == routing::PreflightDecision::Action::kRespond) {
        http::HeaderMap extra;
        for (http::Header& h : decision.headers)
          extra.Add(std::move(h.name), std::move(h.value));
        LocalReply(200, "", "cors_preflight", "", &extra);
        return;
      }
    } else if (origin != nullptr) {
      cors_headers_ = routing::CorsResponseHeaders(*route_->cors, *origin);
    }
  }

  if (const auto* direct = std::get_if<routing::DirectResponseAction>(&route_->action)) {
    http::HeaderMap extra;
    routing::ApplyResponseHeaderOps(*route_, nullptr, extra);
    LocalReply(static_cast<int>(direct->status), "", "direct_response", direct->body, &extra);
    return;
  }
  if (const auto* redirect = std::get_if<routing::RedirectAction>(&route_->action)) {
    http::HeaderMap extra;
    extra.Add("location", routing::RedirectLocation(*redirect, *route_, ViewOf(request_, *info_)));
    LocalReply(static_cast<int>(redirect->code), "", "redirect", "", &extra);
    return;
  }
  Forward(*route_, std::get<routing::ForwardAction>(route_->action));
}

void ProxyStream::Forward(const routing::Route& route, const routing::ForwardAction& action) {
  destination_ = routing::PickDestination(action, worker_.random());
  if (destination_ == nullptr) {
    LocalReply(503, "UH", "no_destination", "no healthy upstream");
    return;
  }
  const uint64_t max_body = route.max_request_body_bytes != 0
                                ? route.max_request_body_bytes
                                : snapshot_->config->proxy.max_request_body_bytes;
  if (max_body != 0 && request_.content_length.value_or(0) > max_body) {
    LocalReply(413, "", "request_payload_too_large", "payload too large");
    return;
  }
  retries_left_ = route.retries.attempts;
  if (grpc_) StartGrpcDeadline();
  if (!request_.upgrade.empty()) body_replayable_ = false;
  if (!route.mirrors.empty()) {
    // Mirrors need the whole body: start them when it is complete.
    mirrors_pending_ = true;
    if (request_end_) StartMirrors();
  }
  if (route.fault != nullptr && !ApplyFault()) return;
  if (fault_timer_.armed()) return;  // delayed: continues when it fires
  if (request_.expect_continue && downstream_ != nullptr) downstream_->Send100Continue();
  StartAttempt();
}

RequestHead ProxyStream::BuildUpstreamHead(const routing::Destination* destination) const {
  RequestHead head;
  head.method = request_.method;
  head.scheme = request_.scheme;
  head.authority = request_.authority;
  head.path = request_.path;
  head.protocol = request_.protocol;
  head.headers = request_.headers;
  head.content_length = request_.content_length;
  head.upgrade = request_.upgrade;
  if (auto path = routing::RewritePath(*route_, head.path)) head.path = std::move(*path);
  if (auto authority = routing::RewriteAuthority(*route_, destination)) {
    head.authority = std::move(*authority);
  }
  routing::ApplyRequestHeaderOps(*route_, destination, head.headers);
  return head;
}

void ProxyStream::StartMirrors() {
  if (!mirrors_pending_ || route_ == nullptr) return;
  mirrors_pending_ = false;
  if (!body_replayable_ || request_trailers_.has_value()) {
    ++worker_.stats().mirrors_skipped;  // the body was too large to keep a copy
    return;
  }
  const auto timeout = route_->timeout.count() > 0 ? route_->timeout : routing::Millis(10000);
  for (const routing::Mirror& mirror : route_->mirrors) {
    if (!routing::ShouldMirror(mirror, worker_.random())) continue;
    RequestHead head = BuildUpstreamHead(nullptr);
    head.authority = routing::ShadowAuthority(head.authority);
    head.upgrade.clear();
    MirrorRequest::Start(worker_, snapshot_, mirror.cluster, std::move(head), body_.CopyOut(),
                         static_cast<uint64_t>(timeout.count()));
  }
}

void ProxyStream::StartAttempt() {
  if (finished_) return;
  ClusterState* cluster = worker_.clusters().Get(*snapshot_, destination_->cluster);
  if (cluster == nullptr) {
    LocalReply(503, "NC", "cluster_not_found", "cluster not found");
    return;
  }
  if (counted_active_ && cluster != cluster_) {
    // A reload replaced the cluster's state since the last attempt: our
    // count lives in the old one; take it back before counting in the new.
    --cluster_->active_requests;
    counted_active_ = false;
  }
  cluster_ = cluster;
  if (!counted_active_) {
    if (cluster_->active_requests >= cluster_->max_requests()) {
      LocalReply(503, "UO", "upstream_overflow", "upstream overflow");
      return;
    }
    ++cluster_->active_requests;
    counted_active_ = true;
  }
  std::optional<uint64_t> hash;
  if (cluster_->cluster().consistent_hash.has_value()) {
    hash = routing::HashKey(*cluster_->cluster().consistent_hash, ViewOf(request_, *info_));
  }
  endpoint_ = cluster_->PickEndpoint(worker_.random(), previous_endpoint_, hash);
  if (!endpoint_) {
    LocalReply(503, "UH", "no_healthy_upstream", "no healthy upstream");
    return;
  }
  EndpointState& endpoint = cluster_->endpoints()[*endpoint_];
  cluster_->AddActive(*endpoint_);
  upstream_host_ = endpoint.address_string;
  ++attempts_;
  upstream_request_start_ms_ = worker_.dispatcher().Now();
  waiting_for_pool_ = true;
  const bool fresh = force_fresh_connection_;
  force_fresh_connection_ = false;
  // TLS origination: the SNI comes from the cluster or the request Host,
  // and connections are pooled per SNI.
  const auto& tls = cluster_->tls();
  EndpointPool* pool =
      &cluster_->Pool(*endpoint_, tls != nullptr ? tls->EffectiveSni(request_.authority) : "");
  EndpointPool::WaiterHandle handle;
  const PoolProtocol protocol =
      SelectPoolProtocol(cluster_->cluster().protocol, tls != nullptr, request_);
  if (pool->Acquire(this, fresh, &handle, protocol)) {
    waiter_ = handle;
    waiter_pool_ = pool;
  }
}

void ProxyStream::OnPoolReady(UpstreamStream& stream) {
  waiting_for_pool_ = false;
  waiter_pool_ = nullptr;
  if (finished_) {
    stream.Reset();
    return;
  }
  upstream_ = &stream;
  // Formatting the address costs more than the rest of this hand-off; only
  // the access log wants it.
  if (worker_.access_log().enabled()) upstream_local_address_ = stream.upstream_local_address();
  SendRequestToUpstream();
}

void ProxyStream::SendRequestToUpstream() {
  const bool end_stream = request_end_ && body_.empty() && !request_trailers_.has_value();
  body_sent_ = 0;
  if (request_.authority.empty()) {
    // HTTP/1.0 without Host: the upstream still needs one; name the service.
    RequestHead head = BuildUpstreamHead(destination_);
    if (head.authority.empty() && cluster_ != nullptr) head.authority = cluster_->cluster().host;
    upstream_->SendHeaders(head, end_stream);
  } else if (routing::EditsUpstreamRequest(*route_, destination_)) {
    upstream_->SendHeaders(BuildUpstreamHead(destination_), end_stream);
  } else {
    upstream_->SendHeaders(request_, end_stream);  // as it is: no copy
  }
  if (upstream_ == nullptr) return;
  if (!end_stream) SendBufferedBody();
  if (request_end_ && upstream_ != nullptr) {
    const uint64_t per_try = static_cast<uint64_t>(route_->retries.per_try_timeout.count());
    if (per_try > 0) per_try_timer_.Arm(per_try);
  }
}

void ProxyStream::SendBufferedBody() {
  // Send what the current upstream has not seen yet (every window starts
  // where the last one stopped: a large backlog spans many windows).
  constexpr size_t kSpans = 16;
  ByteSpan spans[kSpans];
  while (upstream_ != nullptr && body_sent_ < body_.size()) {
    const size_t count = body_.Peek(spans, kSpans, SIZE_MAX, body_sent_);
    for (size_t i = 0; i < count && upstream_ != nullptr; ++i) {
      upstream_->SendData(std::string_view(spans[i].data, spans[i].size), false);
      body_sent_ += spans[i].size;
    }
  }
  if (upstream_ == nullptr) return;
  if (!body_replayable_) {
    body_.Drain(body_sent_);
    body_sent_ = 0;
  }
  if (request_end_) {
    if (request_trailers_.has_value()) {
      upstream_->SendTrailers(*request_trailers_);
    } else {
      upstream_->SendData({}, true);
    }
  }
  if (upstream_ != nullptr && upstream_->AboveHighWatermark()) {
    SetDownstreamReadDisabled(true);
  } else {
    SetDownstreamReadDisabled(false);
  }
}

void ProxyStream::OnRequestData(std::string_view data, bool end_stream) {
  bytes_received_ += data.size();
  if (finished_) return;
  TouchIdle();
  if (tunnel_) {
    if (upstream_ != nullptr) {
      upstream_->SendData(data, end_stream);
      if (upstream_->AboveHighWatermark()) SetDownstreamReadDisabled(true);
    }
    if (end_stream) {
      request_end_ = true;
      if (response_complete_) Finish();
    }
    return;
  }
  const uint64_t max_body = route_ != nullptr && route_->max_request_body_bytes != 0
                                ? route_->max_request_body_bytes
                                : snapshot_->config->proxy.max_request_body_bytes;
  if (max_body != 0 && bytes_received_ > max_body) {
    LocalReply(413, "", "request_payload_too_large", "payload too large");
    return;
  }
  if (end_stream) request_end_ = true;
  const bool streaming_now = upstream_ != nullptr && body_sent_ == body_.size();
  if (body_replayable_ && body_.size() + data.size() > kRetryBufferLimit) {
    // Too big to replay: retries end here; keep only what is unsent. Between
    // attempts (a retry or a fresh connection pending) body_sent_ counts what
    // the failed attempt took: the next one still needs every byte.
    body_replayable_ = false;
    if (upstream_ != nullptr) {
      body_.Drain(body_sent_);
      body_sent_ = 0;
    }
  }
  if (streaming_now) {
    if (body_replayable_) {
      body_.Append(data);
      body_sent_ += data.size();
    }
    upstream_->SendData(data, end_stream);
    if (upstream_ != nullptr && upstream_->AboveHighWatermark()) SetDownstreamReadDisabled(true);
  } else {
    body_.Append(data);
    if (upstream_ != nullptr) {
      SendBufferedBody();
    } else if (body_.size() - body_sent_ > snapshot_->config->proxy.connection_buffer_bytes) {
      SetDownstreamReadDisabled(true);  // no upstream yet: stop reading
    }
  }
  if (end_stream) OnRequestEnd();
}

void ProxyStream::OnRequestTrailers(http::HeaderMap&& trailers) {
  if (finished_) return;
  request_trailers_ = std::move(trailers);
  request_end_ = true;
  if (upstream_ != nullptr && body_sent_ == body_.size()) {
    upstream_->SendTrailers(*request_trailers_);
  }
  OnRequestEnd();
}

void ProxyStream::OnRequestEnd() {
  if (route_ == nullptr || finished_) return;
  StartMirrors();
  // Envoy semantics: the route timeout runs from the end of the request.
  const auto timeout =
      route_->timeout.count() > 0 ? route_->timeout : snapshot_->config->proxy.request_timeout;
  // A gRPC deadline may already run (from the request headers): the earlier wins.
  const uint64_t wanted = worker_.dispatcher().Now() + static_cast<uint64_t>(timeout.count());
  if (timeout.count() > 0 && (!route_timer_.armed() || route_timer_.deadline() > wanted)) {
    route_timer_.Arm(static_cast<uint64_t>(timeout.count()));
  }
  const uint64_t per_try = static_cast<uint64_t>(route_->retries.per_try_timeout.count());
  if (per_try > 0 && upstream_ != nullptr && !per_try_timer_.armed()) per_try_timer_.Arm(per_try);
}

void ProxyStream::OnDownstreamWritable() {
  SetUpstreamReadDisabled(false);
}

void ProxyStream::OnDownstreamReset(StreamResetReason reason) {
  downstream_ = nullptr;
  downstream_read_disabled_ = false;
  if (finished_) return;
  // DR: the client reset this stream (HTTP/2); DC: the connection went away.
  const bool stream_reset = reason == StreamResetReason::kRemoteReset;
  AddFlag(stream_reset ? "DR" : "DC");
  if (response_code_details_.empty()) {
    response_code_details_ =
        stream_reset ? "downstream_remote_reset" : "downstream_remote_disconnect";
  }
  ReleaseUpstream(true);
  Finish();
}

void ProxyStream::OnResponseHeaders(ResponseHead&& head, bool end_stream) {
  if (finished_) return;
  per_try_timer_.Cancel();
  TouchIdle();
  upstream_service_time_ms_ =
      static_cast<int64_t>(worker_.dispatcher().Now() - upstream_request_start_ms_);
  if (end_stream) {
    upstream_ = nullptr;                         // the codec is done with us
    if (grpc_) CaptureGrpcStatus(head.headers);  // trailers-only response
  }
  if (ShouldRetry(StreamResetReason::kRemoteReset, head.status)) {
    ReleaseUpstream(true);
    ScheduleRetry();
    return;
  }
  if (end_stream) ReleaseUpstream(false);
  if (attempts_ > 1 && RetriableOutcome(StreamResetReason::kRemoteReset, head.status)) {
    AddFlag("URX");  // the retry budget ran out on a retriable answer
  }
  response_code_ = head.status;
  response_started_ = true;
  response_code_details_ = "via_upstream";
  const bool upgrade = head.status == 101 && !request_.upgrade.empty();
  SanitizeResponseHeaders(head.headers, snapshot_->config->proxy.server_header, upgrade);
  if (route_ != nullptr) routing::ApplyResponseHeaderOps(*route_, destination_, head.headers);
  for (const http::Header& h : cors_headers_)
    head.headers.Set(h.name, h.value);
  if (upgrade) {
    tunnel_ = true;
    route_timer_.Cancel();  // a tunnel lives as long as its peers want
  }
  if (downstream_ != nullptr) downstream_->SendHeaders(head, end_stream);
  if (end_stream) {
    response_complete_ = true;
    Finish();
  }
}

void ProxyStream::OnResponseData(std::string_view data, bool end_stream) {
  if (finished_) return;
  bytes_sent_ += data.size();
  TouchIdle();
  if (end_stream && !tunnel_) {
    upstream_ = nullptr;
    ReleaseUpstream(false);
  }
  if (downstream_ != nullptr) {
    downstream_->SendData(data, end_stream);
    if (!end_stream && downstream_ != nullptr && downstream_->AboveHighWatermark()) {
      SetUpstreamReadDisabled(true);
    }
  }
  if (end_stream) {
    response_complete_ = true;
    if (!tunnel_ || request_end_) Finish();
  }
}

void ProxyStream::OnResponseTrailers(http::HeaderMap&& trailers) {
  if (finished_) return;
  if (grpc_) CaptureGrpcStatus(trailers);
  upstream_ = nullptr;
  ReleaseUpstream(false);
  if (downstream_ != nullptr) downstream_->SendTrailers(trailers);
  response_complete_ = true;
  Finish();
}

void ProxyStream::OnUpstreamWritable() {
  if (body_.size() - body_sent_ <= snapshot_->config->proxy.connection_buffer_bytes) {
    SetDownstreamReadDisabled(false);
  }
}

void ProxyStream::ReleaseUpstream(bool reset) {
  if (upstream_ != nullptr) {
    UpstreamStream* upstream = upstream_;
    upstream_ = nullptr;
    if (upstream_read_disabled_) {
      upstream->ReadDisable(false);
      upstream_read_disabled_ = false;
    }
    last_attempt_reused_ = upstream->reused_connection();
    last_attempt_wrote_ = upstream->request_bytes_written();
    if (reset) upstream->Reset();
  }
  upstream_read_disabled_ = false;
  if (waiting_for_pool_ && waiter_pool_ != nullptr) {
    waiter_pool_->Cancel(waiter_);
  }
  waiting_for_pool_ = false;
  waiter_pool_ = nullptr;
  if (endpoint_ && cluster_ != nullptr) {
    cluster_->RemoveActive(*endpoint_);
    last_endpoint_ = endpoint_;
    endpoint_.reset();
  }
}

void ProxyStream::SetDownstreamReadDisabled(bool disabled) {
  if (downstream_read_disabled_ == disabled || downstream_ == nullptr) return;
  downstream_read_disabled_ = disabled;
  downstream_->ReadDisable(disabled);
}

void ProxyStream::SetUpstreamReadDisabled(bool disabled) {
  if (upstream_read_disabled_ == disabled || upstream_ == nullptr) return;
  upstream_read_disabled_ = disabled;
  upstream_->ReadDisable(disabled);
}

void ProxyStream::Finish() {
  if (finished_) return;
  finished_ = true;
  route_timer_.Cancel();
  per_try_timer_.Cancel();
  idle_timer_.Cancel();
  retry_timer_.Cancel();
  fault_timer_.Cancel();
  ReleaseUpstream(!response_complete_ || tunnel_);
  if (counted_active_ && cluster_ != nullptr) {
    --cluster_->active_requests;
    counted_active_ = false;
  }
  Log();
  if (downstream_ != nullptr) {
    SetDownstreamReadDisabled(false);
    DownstreamStream* downstream = downstream_;
    downstream_ = nullptr;
    downstream->Done();
  }
}

}  // namespace gh::gateway
