// HTTP/1.1 message parser over llhttp (strict mode, no lenient flags), bytes
// in, events out, no I/O. llhttp's strict mode rejects control bytes in
// values; this adds what it leaves to its caller: header size and count
// limits (431), obs-fold rejection, 501 for transfer codings
// other than chunked, interim 1xx responses skipped, and a pause after every
// message so the owner answers pipelined requests strictly in order.
#pragma once

#include <llhttp.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/http.h"
#include "gateway/parsed_token.h"

namespace gh::gateway {

struct MessageHead {
  std::string method;  // requests
  std::string target;  // requests: request-target as received
  int status = 0;      // responses
  uint8_t version_major = 1;
  uint8_t version_minor = 1;
  http::HeaderMap headers;  // names lowercased, values trimmed
  std::optional<uint64_t> content_length;
  bool chunked = false;
  bool keep_alive = true;  // per the message's version and Connection header
  bool upgrade = false;    // llhttp saw a valid Upgrade (or CONNECT)
};

class Http1Parser {
 public:
  enum class Kind : uint8_t { kRequest, kResponse };

  struct Limits {
    uint32_t max_header_bytes = 60 * 1024;  // request/status line + fields
    uint32_t max_headers = 100;
  };

  class Callbacks {
   public:
    virtual ~Callbacks() = default;
    // Return true when the message has no body whatever its headers say
    // (responses to HEAD, 304). Returning false proceeds normally.
    virtual bool OnHead(MessageHead& head) = 0;
    virtual void OnBody(std::string_view data) = 0;
    // `trailers` is non-null when the chunked body carried trailer fields.
    virtual void OnMessageComplete(http::HeaderMap* trailers) = 0;
  };

  enum class Status : uint8_t {
    kOk,       // every byte consumed, waiting for more
    kPaused,   // a message completed; call Resume() before feeding the rest
    kUpgrade,  // headers of an upgrade done; the rest is tunnel payload
    kError,
  };

  struct Outcome {
    Status status = Status::kOk;
    size_t consumed = 0;
    int http_status = 0;      // kError: 400, 413, 431 or 501
    std::string_view detail;  // kError: short reason for logs
  };

  Http1Parser(Kind kind, Limits limits, Callbacks* callbacks);
  Http1Parser(const Http1Parser&) = delete;
  Http1Parser& operator=(const Http1Parser&) = delete;

  Outcome Feed(std::string_view data);
  // Signals EOF: completes a close-delimited response body. Returns kError
  // when the message was cut short.
  Outcome FinishEof();
  void Resume() { llhttp_resume(&parser_); }
  // Called from Callbacks::OnHead to refuse the message (e.g. 400 for a
  // missing Host): Feed then returns kError with this status.
  void Reject(int http_status, std::string_view detail) {
    error_status_ = http_status;
    error_detail_ = detail;
  }
  // Whether a message has started and not completed.
  bool in_message() const { return in_message_; }
  bool body_needs_eof() const { return llhttp_message_needs_eof(&parser_) != 0; }

 private:
  static int OnMessageBegin(llhttp_t* p);
  static int OnUrl(llhttp_t* p, const char* at, size_t len);
  static int OnHeaderField(llhttp_t* p, const char* at, size_t len);
  static int OnHeaderValue(llhttp_t* p, const char* at, size_t len);
  static int OnHeaderValueComplete(llhttp_t* p);
  static int OnHeadersComplete(llhttp_t* p);
  static int OnBodyData(llhttp_t* p, const char* at, size_t len);
  static int OnMessageCompleteCb(llhttp_t* p);
  static const llhttp_settings_t* Settings();

  int Fail(int http_status, std::string_view detail);
  bool AddToHeaderBytes(size_t n);
  Outcome Translate(llhttp_errno_t err, const char* begin, size_t size);

  llhttp_t parser_;
  Kind kind_;
  Limits limits_;
  Callbacks* callbacks_;
  MessageHead head_;
  http::HeaderMap trailers_;
  ParsedToken field_;
  ParsedToken value_;
  bool in_value_ = false;
  bool headers_done_ = false;
  bool in_message_ = false;
  bool interim_ = false;
  uint32_t header_bytes_ = 0;
  uint32_t header_count_ = 0;
  const char* feed_begin_ = nullptr;  // start of the buffer being parsed
  char prev_last_byte_ = 0;           // last byte of the previous buffer
  int error_status_ = 0;
  std::string_view error_detail_;
};

}  // namespace gh::gateway
