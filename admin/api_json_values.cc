// How the admin API's JSON spells routing enums, durations and "unlimited"
// limits; shared by /config_dump, /clusters and /listeners.
#include "admin/api_internal.h"

namespace gh::admin::api_internal {

using nlohmann::json;

const char* Name(routing::DnsLookupFamily f) {
  switch (f) {
    case routing::DnsLookupFamily::kV4Only:
      return "V4_ONLY";
    case routing::DnsLookupFamily::kV6Only:
      return "V6_ONLY";
    case routing::DnsLookupFamily::kAll:
      break;
  }
  return "ALL";
}

const char* Name(routing::AccessLogFormat f) {
  return f == routing::AccessLogFormat::kJson ? "json" : "text";
}

const char* Name(routing::ListenerKind k) {
  switch (k) {
    case routing::ListenerKind::kHttp:
      return "http";
    case routing::ListenerKind::kHttps:
      return "https";
    case routing::ListenerKind::kTlsTerminated:
      return "tls_terminated";
    case routing::ListenerKind::kTlsPassthrough:
      return "tls_passthrough";
    case routing::ListenerKind::kTcp:
      return "tcp";
  }
  return "unknown";
}

const char* Name(routing::ServerProtocol p) {
  switch (p) {
    case routing::ServerProtocol::kHttp:
      return "HTTP";
    case routing::ServerProtocol::kHttps:
      return "HTTPS";
    case routing::ServerProtocol::kHttp2:
      return "HTTP2";
    case routing::ServerProtocol::kGrpc:
      return "GRPC";
    case routing::ServerProtocol::kGrpcWeb:
      return "GRPC-WEB";
    case routing::ServerProtocol::kTcp:
      return "TCP";
    case routing::ServerProtocol::kTls:
      return "TLS";
  }
  return "unknown";
}

const char* Name(routing::ServerTlsMode m) {
  switch (m) {
    case routing::ServerTlsMode::kPassthrough:
      return "PASSTHROUGH";
    case routing::ServerTlsMode::kSimple:
      return "SIMPLE";
    case routing::ServerTlsMode::kMutual:
      return "MUTUAL";
    case routing::ServerTlsMode::kOptionalMutual:
      return "OPTIONAL_MUTUAL";
    case routing::ServerTlsMode::kIstioMutual:
      return "ISTIO_MUTUAL";
    case routing::ServerTlsMode::kAutoPassthrough:
      return "AUTO_PASSTHROUGH";
  }
  return "unknown";
}

const char* Name(routing::UpstreamTlsMode m) {
  switch (m) {
    case routing::UpstreamTlsMode::kDisable:
      return "DISABLE";
    case routing::UpstreamTlsMode::kSimple:
      return "SIMPLE";
    case routing::UpstreamTlsMode::kMutual:
      return "MUTUAL";
    case routing::UpstreamTlsMode::kIstioMutual:
      return "ISTIO_MUTUAL";
  }
  return "unknown";
}

const char* Name(routing::LbPolicy p) {
  switch (p) {
    case routing::LbPolicy::kLeastRequest:
      return "LEAST_REQUEST";
    case routing::LbPolicy::kRoundRobin:
      return "ROUND_ROBIN";
    case routing::LbPolicy::kRandom:
      return "RANDOM";
    case routing::LbPolicy::kRingHash:
      return "RING_HASH";
    case routing::LbPolicy::kMaglev:
      return "MAGLEV";
  }
  return "unknown";
}

const char* Name(routing::UpstreamProtocol p) {
  switch (p) {
    case routing::UpstreamProtocol::kHttp1:
      return "HTTP1";
    case routing::UpstreamProtocol::kH2c:
      return "H2C";
    case routing::UpstreamProtocol::kH2:
      return "H2";
    case routing::UpstreamProtocol::kSameAsClient:
      return "SAME_AS_CLIENT";
  }
  return "unknown";
}

const char* Name(routing::Resolution r) {
  switch (r) {
    case routing::Resolution::kStatic:
      return "STATIC";
    case routing::Resolution::kDns:
      return "DNS";
    case routing::Resolution::kDnsRoundRobin:
      return "DNS_ROUND_ROBIN";
    case routing::Resolution::kNone:
      return "NONE";
  }
  return "unknown";
}

int64_t Ms(routing::Millis ms) {
  return static_cast<int64_t>(ms.count());
}

json Limit(uint64_t value, uint64_t unlimited) {
  return value >= unlimited ? json(nullptr) : json(value);
}

}  // namespace gh::admin::api_internal
