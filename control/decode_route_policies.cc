// The blocks of an http route beyond its matches and destinations: redirect,
// direct_response, retries, fault and cors_policy, each a self-contained value.
#include <set>

#include "control/decode_internal.h"

namespace gh::control::decode_internal {
namespace {

constexpr size_t kDirectResponseWarn = 100 * 1024, kDirectResponseMax = 1024 * 1024;

std::optional<std::string> Base64Decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = val(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

const std::set<std::string_view> kRetryOn = {"5xx",
                                             "gateway-error",
                                             "reset",
                                             "reset-before-request",
                                             "connect-failure",
                                             "retriable-4xx",
                                             "refused-stream",
                                             "retriable-status-codes",
                                             "retriable-headers",
                                             "envoy-ratelimited",
                                             "http3-post-connect-failure",
                                             "cancelled",
                                             "deadline-exceeded",
                                             "internal",
                                             "resource-exhausted",
                                             "unavailable"};

const std::set<std::string_view> kGrpcStatus = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

}  // namespace

routing::RedirectAction DecodeRedirect(Obj o) {
  routing::RedirectAction r;
  if (auto v = o.Str("uri")) r.uri = *v;
  if (auto v = o.Str("prefix_rewrite")) r.prefix_rewrite = *v;
  if (auto v = o.Str("authority")) r.authority = *v;
  if (auto v = o.Str("scheme")) {
    if (*v != "http" && *v != "https")
      o.sink().Error(o.At("scheme"), "redirect \"scheme\" must be \"http\" or \"https\"");
    else
      r.scheme = *v;
  }
  if (auto v = o.Int("port", 1, 65535)) r.port = static_cast<uint16_t>(*v);
  using D = routing::RedirectAction::DerivePort;
  if (auto v = o.Enum<D>("derive_port", {{"FROM_PROTOCOL_DEFAULT", D::kFromProtocolDefault},
                                         {"FROM_REQUEST_PORT", D::kFromRequestPort}}))
    r.derive_port = *v;
  if (auto v = o.Int("redirect_code", 300, 399)) {
    if (*v != 301 && *v != 302 && *v != 303 && *v != 307 && *v != 308)
      o.sink().Error(o.At("redirect_code"),
                     "\"redirect_code\" must be one of 301, 302, 303, 307, 308");
    else
      r.code = static_cast<uint32_t>(*v);
  }
  if (r.uri && r.prefix_rewrite)
    o.sink().Error(o.where(), "redirect takes \"uri\" or \"prefix_rewrite\", not both");
  if (r.port && r.derive_port != D::kNone)
    o.sink().Error(o.where(), "redirect takes \"port\" or \"derive_port\", not both");
  if (!r.uri && !r.prefix_rewrite && !r.authority && !r.scheme && !r.port &&
      r.derive_port == D::kNone)
    o.sink().Error(o.where(),
                   "redirect needs at least one of uri, authority, scheme, port, derive_port");
  o.Finish();
  return r;
}

routing::DirectResponseAction DecodeDirectResponse(Obj o) {
  routing::DirectResponseAction d;
  if (auto s = o.Int("status", 200, 599, true)) d.status = static_cast<uint32_t>(*s);
  if (auto b = o.Table("body")) {
    const auto str = b->Str("string");
    const auto bytes = b->Str("bytes");
    if (str && bytes) b->sink().Error(b->where(), "body takes \"string\" or \"bytes\", not both");
    if (str) d.body = *str;
    if (bytes) {
      if (auto decoded = Base64Decode(*bytes))
        d.body = *decoded;
      else
        b->sink().Error(b->At("bytes"), "\"bytes\" must be base64");
    }
    if (d.body.size() > kDirectResponseMax)
      b->sink().Error(b->where(), "direct response body is larger than 1 MB");
    else if (d.body.size() > kDirectResponseWarn)
      b->sink().Warning(b->where(), "direct response body is larger than 100 KB");
    b->Finish();
  }
  o.Finish();
  return d;
}

routing::RetryPolicy DecodeRetries(Obj o) {
  routing::RetryPolicy r;
  r.attempts = static_cast<uint32_t>(o.Int("attempts", 0, 1000).value_or(0));
  if (auto t = o.Duration("per_try_timeout", Millis(1), false)) r.per_try_timeout = *t;
  if (auto on = o.Str("retry_on")) {
    for (std::string_view token : SplitList(*on)) {
      if (auto code = ParseUint(token, 599)) {
        if (*code < 100) {
          o.sink().Error(o.At("retry_on"), "invalid status code " + Quoted(token));
          continue;
        }
        r.retriable_status_codes.push_back(static_cast<uint32_t>(*code));
        r.on_retriable_status_codes = true;
        continue;
      }
      if (!kRetryOn.contains(token)) {
        std::vector<std::string> known(kRetryOn.begin(), kRetryOn.end());
        std::string msg = "unknown retry_on condition " + Quoted(token);
        const std::string s = Suggest(token, known);
        if (!s.empty()) msg += "; did you mean " + Quoted(s) + "?";
        o.sink().Error(o.At("retry_on"), msg);
        continue;
      }
      if (token == "5xx")
        r.on_5xx = true;
      else if (token == "gateway-error")
        r.on_gateway_error = true;
      else if (token == "reset")
        r.on_reset = true;
      else if (token == "reset-before-request")
        r.on_reset_before_request = true;
      else if (token == "connect-failure")
        r.on_connect_failure = true;
      else if (token == "retriable-4xx")
        r.on_retriable_4xx = true;
      else if (token == "refused-stream")
        r.on_refused_stream = true;
      else if (token == "retriable-status-codes")
        r.on_retriable_status_codes = true;
      else if (token == "cancelled" || token == "deadline-exceeded" || token == "internal" ||
               token == "resource-exhausted" || token == "unavailable")
        r.grpc_statuses.emplace_back(token);
      else
        o.sink().Warning(o.At("retry_on"), "retry_on condition " + Quoted(token) +
                                               " is accepted but never triggers in Gatehouse");
    }
  } else if (r.attempts > 0) {
    // Istio's default retry_on when a retries block omits it.
    r.on_connect_failure = r.on_refused_stream = r.on_retriable_status_codes = true;
    r.grpc_statuses = {"unavailable", "cancelled"};
  }
  if (auto v = o.Bool("retry_ignore_previous_hosts")) r.retry_ignore_previous_hosts = *v;
  if (auto b = o.Duration("backoff", Millis(1), false)) {
    r.backoff_base = *b;
    r.backoff_max = *b * 10;
  }
  if (auto v = o.Bool("retry_non_idempotent")) r.retry_non_idempotent = *v;
  o.IgnoreWithWarning("retry_remote_localities", "Gatehouse has no locality load balancing");
  if (r.attempts == 0 && (o.Has("per_try_timeout") || o.Has("retry_on") || o.Has("backoff")))
    o.sink().Error(o.where(), "retry fields are set but \"attempts\" is 0 (retries disabled)");
  o.Finish();
  return r;
}

routing::Fault DecodeFault(Obj o) {
  routing::Fault f;
  bool any = false;
  if (auto d = o.Table("delay")) {
    any = true;
    if (auto v = d->Duration("fixed_delay", Millis(1), false))
      f.delay = *v;
    else if (!d->Has("fixed_delay"))
      d->sink().Error(d->where(), "delay needs \"fixed_delay\"");
    d->Unsupported("exponential_delay", "use fixed_delay");
    if (auto p = DecodePercent(*d, "percentage")) f.delay_percent = *p;
    if (auto p = d->Int("percent", 0, 100)) {
      d->sink().Warning(d->At("percent"), "\"percent\" is deprecated; use percentage.value");
      if (!d->Has("percentage")) f.delay_percent = static_cast<double>(*p);
    }
    d->Finish();
  }
  if (auto a = o.Table("abort")) {
    any = true;
    const auto status = a->Int("http_status", 200, 599);
    const auto grpc = a->Str("grpc_status");
    a->Unsupported("http2_error", "use http_status or grpc_status");
    if (status && grpc)
      a->sink().Error(a->where(), "abort takes http_status or grpc_status, not both");
    if (status) f.abort_status = static_cast<uint32_t>(*status);
    if (grpc) {
      if (!kGrpcStatus.contains(*grpc))
        a->sink().Error(a->At("grpc_status"),
                        "\"grpc_status\" must be an upper-case gRPC status name such as "
                        "\"UNAVAILABLE\", got " +
                            Quoted(*grpc));
      else
        f.abort_grpc_status = *grpc;
    }
    if (!status && !grpc && !a->Has("http2_error"))
      a->sink().Error(a->where(), "abort needs \"http_status\" or \"grpc_status\"");
    if (auto p = DecodePercent(*a, "percentage")) f.abort_percent = *p;
    a->Finish();
  }
  if (!any) o.sink().Error(o.where(), "fault needs \"delay\" or \"abort\"");
  o.Finish();
  return f;
}

routing::CorsPolicy DecodeCors(Obj o) {
  routing::CorsPolicy c;
  for (Obj& m : o.Tables("allow_origins")) {
    if (auto matcher = DecodeStringMatch(std::move(m), false, false))
      c.allow_origins.push_back(std::move(matcher));
  }
  for (const std::string& origin : o.Strings("allow_origin")) {
    c.allow_origins.push_back(o.cache().Exact(origin));
  }
  if (o.Has("allow_origin"))
    o.sink().Warning(o.At("allow_origin"), "\"allow_origin\" is deprecated; use allow_origins");
  auto join = [&](std::string_view key) {
    std::string out;
    for (const std::string& s : o.Strings(key))
      out += (out.empty() ? "" : ",") + s;
    return out;
  };
  c.allow_methods = join("allow_methods");
  c.allow_headers = join("allow_headers");
  c.expose_headers = join("expose_headers");
  if (auto m = o.Duration("max_age", Millis(0))) {
    if (m->count() % 1000 != 0)
      o.sink().Error(o.At("max_age"), "\"max_age\" must be whole seconds");
    else
      c.max_age = std::to_string(m->count() / 1000);
  }
  if (auto v = o.Bool("allow_credentials")) c.allow_credentials = *v;
  if (auto v = o.Enum<bool>("unmatched_preflights", {{"FORWARD", true}, {"IGNORE", false}}))
    c.forward_unmatched_preflights = *v;
  o.Finish();
  return c;
}

}  // namespace gh::control::decode_internal
