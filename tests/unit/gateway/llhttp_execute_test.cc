// The SSE4.2 build of llhttp must parse exactly like the baseline build:
// same events, same bytes, same errors, whatever the input and however it is
// split across calls. Values and targets longer than 16 bytes, with bad
// bytes at every offset, exercise the vector scans.
#include "gateway/llhttp_execute.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gh::gateway {
namespace {

using ExecuteFn = llhttp_errno_t (*)(llhttp_t*, const char*, size_t);

std::string& Log(llhttp_t* p) {
  return *static_cast<std::string*>(p->data);
}

int Span(llhttp_t* p, const char* tag, const char* at, size_t len) {
  Log(p).append(tag).append(at, len).push_back('|');
  return 0;
}

const llhttp_settings_t* Settings() {
  static const llhttp_settings_t settings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_url = [](llhttp_t* p, const char* at, size_t n) { return Span(p, "url:", at, n); };
    s.on_status = [](llhttp_t* p, const char* at, size_t n) { return Span(p, "status:", at, n); };
    s.on_header_field = [](llhttp_t* p, const char* at, size_t n) {
      return Span(p, "field:", at, n);
    };
    s.on_header_value = [](llhttp_t* p, const char* at, size_t n) {
      return Span(p, "value:", at, n);
    };
    s.on_body = [](llhttp_t* p, const char* at, size_t n) { return Span(p, "body:", at, n); };
    s.on_headers_complete = [](llhttp_t* p) { return Span(p, "headers", "", 0); };
    s.on_message_complete = [](llhttp_t* p) { return Span(p, "done", "", 0); };
    return s;
  }();
  return &settings;
}

// Feeds `input` in pieces of `piece` bytes; returns the event log and the
// final error (with the error position as an offset).
std::string Parse(ExecuteFn execute, llhttp_type_t type, const std::string& input, size_t piece) {
  std::string log;
  llhttp_t parser;
  llhttp_init(&parser, type, Settings());
  parser.data = &log;
  llhttp_errno_t err = HPE_OK;
  for (size_t at = 0; at < input.size() && err == HPE_OK; at += piece) {
    const size_t n = std::min(piece, input.size() - at);
    err = execute(&parser, input.data() + at, n);
    if (err != HPE_OK) {
      log += "error:" + std::string(llhttp_errno_name(err)) + "@" +
             std::to_string(
                 at + static_cast<size_t>(llhttp_get_error_pos(&parser) - (input.data() + at)));
    }
  }
  return log;
}

TEST(LlhttpExecute, UsesSse42WhenTheCpuHasIt) {
#if defined(GH_LLHTTP_SSE42)
  EXPECT_EQ(LlhttpUsesSse42(), __builtin_cpu_supports("sse4.2") != 0);
#else
  EXPECT_FALSE(LlhttpUsesSse42());
#endif
}

TEST(LlhttpExecute, ChosenBuildParsesLikeTheBaseline) {
  const std::string long_value = "text/html,application/xhtml+xml,application/xml;q=0.9";
  std::vector<std::pair<llhttp_type_t, std::string>> inputs = {
      {HTTP_REQUEST,
       "GET /a/rather/long/path/to/some/resource?with=query&and=more HTTP/1.1\r\n"
       "Host: www.example.com\r\nAccept: " +
           long_value + "\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n\r\n"},
      {HTTP_REQUEST,
       "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
       "10\r\n0123456789abcdef\r\n0\r\nX-Trailer: value\r\n\r\n"},
      {HTTP_RESPONSE,
       "HTTP/1.1 200 OK\r\nDate: Wed, 25 Nov 2026 13:46:00 GMT\r\n"
       "Content-Type: application/octet-stream\r\nContent-Length: 5\r\n\r\nhello"},
  };
  // A forbidden byte at every offset of a long value and a long target.
  for (size_t i = 0; i < long_value.size(); ++i) {
    for (char bad : {'\0', '\x01', '\x7f', '\n', '\r'}) {
      std::string value = long_value;
      value[i] = bad;
      inputs.push_back(
          {HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: x\r\nAccept: " + value + "\r\n\r\n"});
      std::string target = "/" + long_value;
      target[i + 1] = bad == '\r' ? ' ' : bad;
      inputs.push_back({HTTP_REQUEST, "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n"});
    }
  }
  size_t compared = 0;
  for (const auto& [type, input] : inputs) {
    for (size_t piece : {input.size(), size_t{1}, size_t{7}, size_t{16}, size_t{33}}) {
      const std::string want = Parse(&ExecuteLlhttpBaseline, type, input, piece);
      const std::string got = Parse(&ExecuteLlhttp, type, input, piece);
      ASSERT_EQ(got, want) << "input: " << input << "\npiece: " << piece;
      ++compared;
    }
  }
  EXPECT_GT(compared, 1000u);
}

}  // namespace
}  // namespace gh::gateway
