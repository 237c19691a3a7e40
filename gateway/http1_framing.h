// HTTP/1.1 serialisation helpers shared by the server and client codecs.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "base/http.h"

namespace gh::gateway {

inline void AppendHeaderLine(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

// The whole block sized first and written through a pointer: appending
// piece by piece re-checks capacity four times a field.
inline void AppendHeaders(std::string& out, const http::HeaderMap& headers) {
  size_t size = 0;
  for (const http::Header& h : headers)
    size += h.name.size() + h.value.size() + 4;
  const size_t at = out.size();
  out.resize(at + size);
  char* p = out.data() + at;
  for (const http::Header& h : headers) {
    std::memcpy(p, h.name.data(), h.name.size());
    p += h.name.size();
    *p++ = ':';
    *p++ = ' ';
    std::memcpy(p, h.value.data(), h.value.size());
    p += h.value.size();
    *p++ = '\r';
    *p++ = '\n';
  }
}

// A per-thread buffer for serialising a message head: its capacity stays,
// so a head costs no allocation. Valid until the next call on this thread
// (a head is handed to Connection::Write, which copies it, right away).
inline std::string& HeadScratch() {
  thread_local std::string scratch;
  scratch.clear();
  return scratch;
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
