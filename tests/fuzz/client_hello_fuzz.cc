// libFuzzer target: arbitrary bytes as the first bytes of a connection on a
// TLS passthrough listener (tls/client_hello.h).
//
// Input layout: byte 0 selects how the rest is split into reads (0 = all at
// once, n = pieces of n bytes); the remaining bytes are what the client sent.
// Properties checked on every input: no crash or out-of-bounds read, the
// incremental parse agrees with the one-shot parse of the same bytes, a
// terminal status never changes, and a parsed SNI is a bounded, lowercase
// DNS name.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tls/client_hello.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using gh::tls::ClientHelloParser;
  using gh::tls::ClientHelloStatus;
  if (size == 0) return 0;
  const size_t chunk = data[0] == 0 ? size : data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  ClientHelloParser parser;
  ClientHelloStatus status = ClientHelloStatus::kNeedMore;
  for (size_t off = 0; off < input.size(); off += chunk) {
    const ClientHelloStatus before = status;
    status = parser.Feed(input.substr(off, chunk));
    if (before != ClientHelloStatus::kNeedMore && status != before) __builtin_trap();
  }
  const gh::tls::ClientHelloResult once = gh::tls::ParseClientHello(input);
  if (once.status != status) __builtin_trap();
  if (status == ClientHelloStatus::kParsed) {
    const gh::tls::ClientHello& hello = parser.hello();
    if (hello.sni != once.hello.sni || hello.alpn != once.hello.alpn) __builtin_trap();
    if (hello.sni.size() > 255 || hello.has_sni != !hello.sni.empty()) __builtin_trap();
    for (char c : hello.sni) {
      if (c >= 'A' && c <= 'Z') __builtin_trap();
      if (static_cast<unsigned char>(c) <= ' ' || c == '"') __builtin_trap();
    }
  }
  if (parser.bytes_fed() != input.size()) __builtin_trap();
  return 0;
}
