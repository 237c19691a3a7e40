// What a stream knows about the downstream connection it arrived on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace gh::gateway {

struct DownstreamInfo {
  uint64_t connection_id = 0;
  std::string listener_name;  // stable across reloads: "<bind>_<port>"
  uint16_t listener_port = 0;
  bool tls = false;
  std::string sni;  // requested server name (TLS)
  std::string alpn;
  std::optional<uint32_t> server_index;  // TLS: the server the handshake chose
  std::string xfcc;                      // TLS: x-forwarded-client-cert value
  std::string peer_ip;
  std::string peer_address;          // ip:port
  std::string local_address;         // ip:port
  std::string peer_certificate_uri;  // SPIFFE ID of a client certificate
};

}  // namespace gh::gateway
