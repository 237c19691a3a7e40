// ClientHello peek for TLS passthrough: extracts SNI and ALPN from the first
// bytes a client sends, without OpenSSL and without answering. Bounded and
// defensive: the handshake message may be split across reads and across TLS
// records (defragmented here), the total is capped, and anything that is not
// a well-formed ClientHello is reported as NotTls (the very first bytes are
// not a TLS handshake record) or Malformed (it looked like TLS but broke the
// rules). Incremental: each byte is looked at a bounded number of times, so a
// client dribbling one byte per read costs O(total), not O(total^2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gh::tls {

// Default cap on the bytes read before a ClientHello must be complete
// (record headers included). Real ClientHellos are 200 B - 2 KiB (more with
// post-quantum key shares and many PSK identities).
inline constexpr size_t kMaxClientHelloBytes = 16 * 1024;

struct ClientHello {
  // Lowercased host_name from server_name; "" when the extension is absent.
  std::string sni;
  bool has_sni = false;
  // application_layer_protocol_negotiation offers, in the client's order.
  std::vector<std::string> alpn;
  uint16_t legacy_version = 0;  // ClientHello.legacy_version (0x0303 for 1.2 and 1.3)
  bool offers_tls13 = false;    // supported_versions lists 0x0304
};

enum class ClientHelloStatus : uint8_t {
  kNeedMore,   // a prefix of a ClientHello so far: feed more bytes
  kNotTls,     // the stream does not start with a TLS handshake record
  kParsed,     // hello() is valid
  kMalformed,  // TLS-looking but invalid, or larger than the cap
};
std::string_view ClientHelloStatusName(ClientHelloStatus status);

class ClientHelloParser {
 public:
  explicit ClientHelloParser(size_t max_bytes = kMaxClientHelloBytes);

  // Feeds the next bytes read from the connection, in order. Once the status
  // is terminal (anything but kNeedMore) further calls change nothing.
  ClientHelloStatus Feed(std::string_view data);
  ClientHelloStatus status() const { return status_; }
  // Valid when status() == kParsed.
  const ClientHello& hello() const { return hello_; }
  // Why kNotTls / kMalformed ("record type 21 before the ClientHello", ...).
  std::string_view error() const { return error_; }
  // Every byte passed to Feed so far (the caller keeps them to replay them
  // upstream); the parser itself looks at no more than max_bytes of them.
  size_t bytes_fed() const { return bytes_fed_; }

 private:
  ClientHelloStatus Fail(ClientHelloStatus status, std::string_view why);
  ClientHelloStatus ParseMessage();

  size_t max_bytes_;
  size_t bytes_fed_ = 0;
  size_t processed_ = 0;  // bytes the state machine consumed (<= max_bytes_)
  ClientHelloStatus status_ = ClientHelloStatus::kNeedMore;
  // Record layer: the current record's header (partial) and the payload
  // bytes of it still to come.
  uint8_t header_[5] = {};
  size_t header_have_ = 0;
  size_t record_left_ = 0;
  bool first_record_ = true;
  // The handshake message being defragmented (4-byte header + body).
  std::string message_;
  size_t message_size_ = 0;  // total once the 4-byte header is in, else 0
  ClientHello hello_;
  std::string error_;
};

// One-shot convenience over a buffer holding the connection's first bytes.
struct ClientHelloResult {
  ClientHelloStatus status = ClientHelloStatus::kNeedMore;
  ClientHello hello;
  std::string error;
};
ClientHelloResult ParseClientHello(std::string_view data, size_t max_bytes = kMaxClientHelloBytes);

}  // namespace gh::tls
