#include "tests/support/websocket.h"

#include <array>
#include <cstring>
#include <random>

namespace gh::test {
namespace {

// SHA-1, only for the handshake's accept key.
std::array<uint8_t, 20> Sha1(std::string_view data) {
  uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  std::string msg(data);
  uint64_t bits = static_cast<uint64_t>(data.size()) * 8;
  msg += static_cast<char>(0x80);
  while (msg.size() % 64 != 56)
    msg += '\0';
  for (int i = 7; i >= 0; --i)
    msg += static_cast<char>((bits >> (8 * i)) & 0xFF);
  auto rotl = [](uint32_t x, int n) { return (x << n) | (x >> (32 - n)); };
  for (size_t off = 0; off < msg.size(); off += 64) {
    uint32_t w[80];
    for (int i = 0; i < 16; ++i) {
      const auto* p = reinterpret_cast<const uint8_t*>(msg.data() + off + 4 * i);
      w[i] = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    }
    for (int i = 16; i < 80; ++i)
      w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      uint32_t f, k;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5A827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ED9EBA1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8F1BBCDC;
      } else {
        f = b ^ c ^ d;
        k = 0xCA62C1D6;
      }
      uint32_t t = rotl(a, 5) + f + e + k + w[i];
      e = d;
      d = c;
      c = rotl(b, 30);
      b = a;
      a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
  }
  std::array<uint8_t, 20> out{};
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 4; ++j)
      out[static_cast<size_t>(4 * i + j)] = (h[i] >> (24 - 8 * j)) & 0xFF;
  }
  return out;
}

std::string Base64(const uint8_t* p, size_t n) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = uint32_t{p[i]} << 16;
    if (i + 1 < n) v |= uint32_t{p[i + 1]} << 8;
    if (i + 2 < n) v |= p[i + 2];
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += i + 1 < n ? tbl[(v >> 6) & 63] : '=';
    out += i + 2 < n ? tbl[v & 63] : '=';
  }
  return out;
}

}  // namespace

std::string WsAcceptKey(std::string_view key) {
  auto digest = Sha1(std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
  return Base64(digest.data(), digest.size());
}

std::string EncodeWsFrame(WsOpcode opcode, std::string_view payload, bool fin, bool mask) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | static_cast<uint8_t>(opcode));
  uint8_t mbit = mask ? 0x80 : 0;
  if (payload.size() < 126) {
    f += static_cast<char>(mbit | payload.size());
  } else if (payload.size() < 65536) {
    f += static_cast<char>(mbit | 126);
    f += static_cast<char>((payload.size() >> 8) & 0xFF);
    f += static_cast<char>(payload.size() & 0xFF);
  } else {
    f += static_cast<char>(mbit | 127);
    for (int i = 7; i >= 0; --i)
      f += static_cast<char>((uint64_t{payload.size()} >> (8 * i)) & 0xFF);
  }
  if (!mask) return f.append(payload);
  static thread_local std::mt19937 rng(std::random_device{}());
  uint8_t key[4];
  for (auto& k : key)
    k = static_cast<uint8_t>(rng());
  f.append(reinterpret_cast<const char*>(key), 4);
  size_t start = f.size();
  f.append(payload);
  for (size_t i = 0; i < payload.size(); ++i)
    f[start + i] = static_cast<char>(f[start + i] ^ key[i % 4]);
  return f;
}

WebSocketClient::WebSocketClient(int port) : client_(port) {}

HttpResponse WebSocketClient::Handshake(std::string_view path, const Headers& extra_headers,
                                        milliseconds timeout) {
  static thread_local std::mt19937 rng(std::random_device{}());
  uint8_t nonce[16];
  for (auto& b : nonce)
    b = static_cast<uint8_t>(rng());
  key_ = Base64(nonce, sizeof nonce);
  Headers h = {{"Upgrade", "websocket"},
               {"Connection", "Upgrade"},
               {"Sec-WebSocket-Key", key_},
               {"Sec-WebSocket-Version", "13"}};
  h.insert(h.end(), extra_headers.begin(), extra_headers.end());
  if (!client_.Send(BuildRequest("GET", path, h))) {
    HttpResponse r;
    r.error = client_.LastError();
    return r;
  }
  HttpResponse r = client_.ReadResponse(timeout);
  accepted_ = r.ok && r.status == 101 && r.Header("sec-websocket-accept") == WsAcceptKey(key_);
  return r;
}

bool WebSocketClient::Send(WsOpcode opcode, std::string_view payload, bool fin) {
  return client_.Send(EncodeWsFrame(opcode, payload, fin, /*mask=*/true));
}

std::optional<WsFrame> WebSocketClient::ReadFrame(milliseconds timeout) {
  auto hdr = client_.ReadExactly(2, timeout);
  if (hdr.size() < 2) {
    error_ = "closed or timed out before a frame";
    return std::nullopt;
  }
  WsFrame frame;
  auto b0 = static_cast<uint8_t>(hdr[0]);
  auto b1 = static_cast<uint8_t>(hdr[1]);
  frame.fin = (b0 & 0x80) != 0;
  frame.opcode = static_cast<WsOpcode>(b0 & 0x0F);
  if (b1 & 0x80) {
    error_ = "server frame is masked";
    return std::nullopt;
  }
  uint64_t len = b1 & 0x7F;
  if (len >= 126) {
    size_t n = len == 126 ? 2 : 8;
    auto ext = client_.ReadExactly(n, timeout);
    if (ext.size() < n) {
      error_ = "truncated frame length";
      return std::nullopt;
    }
    len = 0;
    for (char c : ext)
      len = (len << 8) | static_cast<uint8_t>(c);
  }
  frame.payload = client_.ReadExactly(static_cast<size_t>(len), timeout);
  if (frame.payload.size() < len) {
    error_ = "truncated frame payload";
    return std::nullopt;
  }
  return frame;
}

std::optional<WsFrame> WebSocketClient::Close(uint16_t code, milliseconds timeout) {
  std::string payload = {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
  if (!Send(WsOpcode::kClose, payload)) return std::nullopt;
  while (auto f = ReadFrame(timeout)) {
    if (f->opcode == WsOpcode::kClose) return f;
  }
  return std::nullopt;
}

}  // namespace gh::test
