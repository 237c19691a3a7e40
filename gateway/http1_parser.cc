#include "gateway/http1_parser.h"

#include "base/strings.h"
#include "gateway/llhttp_execute.h"

namespace gh::gateway {
namespace {

constexpr size_t kTypicalHeaderCount = 16;

Http1Parser* Self(llhttp_t* p) {
  return static_cast<Http1Parser*>(p->data);
}

}  // namespace

const llhttp_settings_t* Http1Parser::Settings() {
  static const llhttp_settings_t settings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = &Http1Parser::OnMessageBegin;
    s.on_url = &Http1Parser::OnUrl;
    s.on_header_field = &Http1Parser::OnHeaderField;
    s.on_header_value = &Http1Parser::OnHeaderValue;
    s.on_header_value_complete = &Http1Parser::OnHeaderValueComplete;
    s.on_headers_complete = &Http1Parser::OnHeadersComplete;
    s.on_body = &Http1Parser::OnBodyData;
    s.on_message_complete = &Http1Parser::OnMessageCompleteCb;
    return s;
  }();
  return &settings;
}

Http1Parser::Http1Parser(Kind kind, Limits limits, Callbacks* callbacks)
    : kind_(kind), limits_(limits), callbacks_(callbacks) {
  llhttp_init(&parser_, kind == Kind::kRequest ? HTTP_REQUEST : HTTP_RESPONSE, Settings());
  parser_.data = this;
}

int Http1Parser::Fail(int http_status, std::string_view detail) {
  error_status_ = http_status;
  error_detail_ = detail;
  return HPE_USER;
}

bool Http1Parser::AddToHeaderBytes(size_t n) {
  header_bytes_ += static_cast<uint32_t>(n);
  return header_bytes_ <= limits_.max_header_bytes;
}

int Http1Parser::OnMessageBegin(llhttp_t* p) {
  Http1Parser* self = Self(p);
  self->head_ = MessageHead();
  // One allocation for a typical header block instead of growing through
  // 1, 2, 4, 8, 16 fields (and moving every string each time).
  self->head_.headers.fields().reserve(kTypicalHeaderCount);
  self->trailers_.clear();
  self->field_.clear();
  self->value_.clear();
  self->in_value_ = false;
  self->headers_done_ = false;
  self->in_message_ = true;
  self->interim_ = false;
  self->header_bytes_ = 0;
  self->header_count_ = 0;
  return 0;
}

int Http1Parser::OnUrl(llhttp_t* p, const char* at, size_t len) {
  Http1Parser* self = Self(p);
  if (!self->AddToHeaderBytes(len)) return self->Fail(431, "request_line_too_long");
  self->head_.target.append(at, len);
  return 0;
}

int Http1Parser::OnHeaderField(llhttp_t* p, const char* at, size_t len) {
  Http1Parser* self = Self(p);
  if (!self->AddToHeaderBytes(len)) return self->Fail(431, "header_block_too_large");
  if (self->in_value_) {
    self->field_.clear();
    self->value_.clear();
    self->in_value_ = false;
  }
  self->field_.Append({at, len});
  return 0;
}

int Http1Parser::OnHeaderValue(llhttp_t* p, const char* at, size_t len) {
  Http1Parser* self = Self(p);
  if (!self->AddToHeaderBytes(len + 4)) return self->Fail(431, "header_block_too_large");
  // llhttp accepts obs-fold (a value continued on a line starting with
  // whitespace) and hands the continuation over as a new span right after the
  // line break; RFC 9112 5.2 lets a server reject it, and a proxy must.
  const char before = at > self->feed_begin_ ? at[-1] : self->prev_last_byte_;
  if (before == '\n') return self->Fail(400, "obs_fold");
  self->in_value_ = true;
  self->value_.Append({at, len});
  return 0;
}

int Http1Parser::OnHeaderValueComplete(llhttp_t* p) {
  Http1Parser* self = Self(p);
  if (++self->header_count_ > self->limits_.max_headers) {
    return self->Fail(431, "too_many_headers");
  }
  http::HeaderMap& target = self->headers_done_ ? self->trailers_ : self->head_.headers;
  // Built in place: one copy of each name (lowered on the way) and value.
  http::Header& header = target.fields().emplace_back();
  header.name.assign(self->field_.get());
  AsciiLowerInPlace(header.name);
  header.value.assign(TrimOws(self->value_.get()));
  self->field_.clear();
  self->value_.clear();
  self->in_value_ = false;
  return 0;
}

int Http1Parser::OnHeadersComplete(llhttp_t* p) {
  Http1Parser* self = Self(p);
  MessageHead& head = self->head_;
  self->headers_done_ = true;
  head.version_major = p->http_major;
  head.version_minor = p->http_minor;
  head.keep_alive = llhttp_should_keep_alive(p) != 0;
  head.upgrade = p->upgrade != 0;
  if (self->kind_ == Kind::kRequest) {
    head.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
  } else {
    head.status = p->status_code;
    if (head.status >= 100 && head.status < 200 && head.status != 101) {
      self->interim_ = true;  // 100 Continue, 103 Early Hints: not forwarded
      return 1;
    }
  }
  if ((p->flags & F_TRANSFER_ENCODING) != 0) {
    // Only "chunked" is supported as a transfer coding (RFC 9112 6.1).
    const std::string* te = head.headers.Get("transfer-encoding");
    if (te == nullptr || head.headers.Count("transfer-encoding") != 1 ||
        !AsciiIEquals(*te, "chunked")) {
      return self->Fail(501, "unsupported_transfer_encoding");
    }
  }
  head.chunked = (p->flags & F_CHUNKED) != 0;
  if ((p->flags & F_CONTENT_LENGTH) != 0) head.content_length = p->content_length;
  const bool skip_body = self->callbacks_->OnHead(head);
  if (self->error_status_ != 0) return HPE_USER;
  return skip_body ? 1 : 0;
}

int Http1Parser::OnBodyData(llhttp_t* p, const char* at, size_t len) {
  Self(p)->callbacks_->OnBody(std::string_view(at, len));
  return 0;
}

int Http1Parser::OnMessageCompleteCb(llhttp_t* p) {
  Http1Parser* self = Self(p);
  self->in_message_ = false;
  if (self->interim_) {
    self->interim_ = false;
    return 0;
  }
  self->callbacks_->OnMessageComplete(self->trailers_.empty() ? nullptr : &self->trailers_);
  // Upgrades stop with HPE_PAUSED_UPGRADE on their own; the rest is tunnel.
  return self->head_.upgrade ? 0 : HPE_PAUSED;
}

Http1Parser::Outcome Http1Parser::Translate(llhttp_errno_t err, const char* begin, size_t size) {
  Outcome out;
  if (error_status_ != 0 && err != HPE_OK && err != HPE_PAUSED && err != HPE_PAUSED_UPGRADE) {
    // One of our callbacks refused the message (llhttp reports it as a
    // callback error code, e.g. HPE_CB_HEADERS_COMPLETE).
    out.status = Status::kError;
    out.http_status = error_status_;
    out.detail = error_detail_;
    return out;
  }
  switch (err) {
    case HPE_OK:
      out.status = Status::kOk;
      out.consumed = size;
      return out;
    case HPE_PAUSED:
      out.status = Status::kPaused;
      out.consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - begin);
      return out;
    case HPE_PAUSED_UPGRADE:
      out.status = Status::kUpgrade;
      out.consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - begin);
      return out;
    case HPE_USER:
      out.status = Status::kError;
      out.http_status = error_status_;
      out.detail = error_detail_;
      return out;
    case HPE_INVALID_TRANSFER_ENCODING:
      out.status = Status::kError;
      out.http_status = 501;
      out.detail = "unsupported_transfer_encoding";
      return out;
    default:
      out.status = Status::kError;
      out.http_status = 400;
      out.detail = llhttp_errno_name(err);
      return out;
  }
}

Http1Parser::Outcome Http1Parser::Feed(std::string_view data) {
  if (data.empty()) return Outcome{Status::kOk, 0, 0, {}};
  feed_begin_ = data.data();
  const llhttp_errno_t err = ExecuteLlhttp(&parser_, data.data(), data.size());
  // A header cut by the end of this buffer continues in the next one.
  field_.Persist();
  value_.Persist();
  Outcome outcome = Translate(err, data.data(), data.size());
  const size_t used = outcome.status == Status::kOk ? data.size() : outcome.consumed;
  if (used > 0) prev_last_byte_ = data[used - 1];
  return outcome;
}

Http1Parser::Outcome Http1Parser::FinishEof() {
  const llhttp_errno_t err = llhttp_finish(&parser_);
  if (err == HPE_PAUSED) return Outcome{Status::kPaused, 0, 0, {}};
  if (err != HPE_OK) {
    Outcome out;
    out.status = Status::kError;
    out.http_status = 502;
    out.detail = "incomplete_message";
    return out;
  }
  return Outcome{Status::kOk, 0, 0, {}};
}

}  // namespace gh::gateway
