// A minimal RFC 6455 client over RawClient, for WebSocket round trips through
// the gateway (or straight to the upstream).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tests/support/net.h"

namespace gh::test {

enum class WsOpcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

struct WsFrame {
  bool fin = true;
  WsOpcode opcode = WsOpcode::kText;
  std::string payload;
};

// Encodes one client frame (masked, as RFC 6455 requires of clients).
std::string EncodeWsFrame(WsOpcode opcode, std::string_view payload, bool fin = true,
                          bool mask = true);
// The Sec-WebSocket-Accept value for a key.
std::string WsAcceptKey(std::string_view key);

class WebSocketClient {
 public:
  // Connects to 127.0.0.1:port (throws HarnessError when refused).
  explicit WebSocketClient(int port);

  // Sends the upgrade request and reads the answer. Returns the response; on
  // 101, check Accepted() (status 101 and a correct Sec-WebSocket-Accept).
  HttpResponse Handshake(std::string_view path = "/", const Headers& extra_headers = {},
                         milliseconds timeout = milliseconds(5000));
  bool Accepted() const { return accepted_; }

  bool Send(WsOpcode opcode, std::string_view payload, bool fin = true);
  bool SendText(std::string_view text) { return Send(WsOpcode::kText, text); }
  bool SendBinary(std::string_view data) { return Send(WsOpcode::kBinary, data); }
  // Reads one frame (server frames are unmasked; a masked one is an error).
  std::optional<WsFrame> ReadFrame(milliseconds timeout = milliseconds(5000));
  // Sends close with a status code, waits for the peer's close frame.
  std::optional<WsFrame> Close(uint16_t code = 1000, milliseconds timeout = milliseconds(5000));

  RawClient& raw() { return client_; }
  const std::string& last_error() const { return error_; }

 private:
  RawClient client_;
  std::string key_;
  bool accepted_ = false;
  std::string error_;
};

}  // namespace gh::test
