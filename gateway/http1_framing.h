// HTTP/1.1 serialisation helpers shared by the server and client codecs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/http.h"

namespace gh::gateway {

inline void AppendHeaderLine(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

inline void AppendHeaders(std::string& out, const http::HeaderMap& headers) {
  for (const http::Header& h : headers)
    AppendHeaderLine(out, h.name, h.value);
}

inline void AppendChunkHeader(std::string& out, uint64_t size) {
  char buf[24];
  int n = 0;
  char digits[16];
  do {
    digits[n++] = "0123456789abcdef"[size & 0xF];
    size >>= 4;
  } while (size != 0);
  int pos = 0;
  while (n > 0)
    buf[pos++] = digits[--n];
  buf[pos++] = '\r';
  buf[pos++] = '\n';
  out.append(buf, static_cast<size_t>(pos));
}

// Status codes whose responses never carry a body (RFC 9110 6.4.1).
inline bool StatusHasNoBody(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

}  // namespace gh::gateway
