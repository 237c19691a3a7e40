#include "gateway/http2_headers.h"

#include <array>

#include "base/strings.h"

namespace gh::gateway {
namespace {

constexpr std::array<std::string_view, 7> kConnectionSpecific = {
    "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "host"};

bool ValidAuthority(std::string_view authority) {
  if (authority.empty()) return false;
  for (char c : authority) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == ':' || c == '[' || c == ']' || c == '_' ||
                    c == '~' || c == '%' || c == '!' || c == '$' || c == '&' || c == '\'' ||
                    c == '(' || c == ')' || c == '*' || c == '+' || c == ',' || c == ';' ||
                    c == '=';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool IsConnectionSpecificHeader(std::string_view name) {
  // "host" is not connection-specific, but an HTTP/2 message carries the
  // authority in :authority; the codecs map it, so it never passes as a field.
  for (std::string_view c : kConnectionSpecific) {
    if (c == name) return true;
  }
  return false;
}

void Http2RequestHeaders::Add(std::string_view name, std::string_view value) {
  list_bytes_ += HeaderListEntrySize(name, value);
  if (list_bytes_ > limits_.max_list_bytes) over_limit_ = true;
  if (over_limit_) return;
  if (!name.empty() && name.front() == ':') {
    if (name == ":method") {
      method_ = value;
    } else if (name == ":scheme") {
      scheme_ = value;
    } else if (name == ":authority") {
      authority_ = value;
    } else if (name == ":path") {
      path_ = value;
    } else if (name == ":protocol") {
      protocol_ = value;
    }
    return;
  }
  if (fields_.size() >= limits_.max_fields) {
    over_limit_ = true;
    return;
  }
  fields_.Add(std::string(name), std::string(value));
}

Http2RequestHeaders::Outcome Http2RequestHeaders::Build(std::string_view scheme,
                                                        const std::vector<std::string>& upgrades,
                                                        Random& random, RequestHead* out) {
  if (over_limit_) return {431, "request_header_fields_too_large"};
  if (method_.empty()) return {400, "missing_method"};
  RequestHead& head = *out;
  head.protocol = "HTTP/2";
  head.scheme = std::string(scheme);

  if (method_ == "CONNECT") {
    if (protocol_.empty()) return {405, "connect_not_supported"};
    std::string token = AsciiLowered(protocol_);
    bool allowed = false;
    for (const std::string& u : upgrades) {
      if (AsciiIEquals(u, token)) allowed = true;
    }
    if (!allowed) return {403, "upgrade_failed"};
    head.method = "GET";
    head.upgrade = std::move(token);
  } else {
    if (!protocol_.empty()) return {400, "protocol_without_connect"};
    head.method = method_;
  }

  if (path_.empty()) return {400, "missing_path"};
  if (path_.front() != '/' && !(path_ == "*" && method_ == "OPTIONS")) {
    return {400, "invalid_request_target"};
  }
  head.path = path_;

  // :authority wins; Host is the fallback; both must agree (RFC 9113 8.3.1).
  const size_t host_count = fields_.Count("host");
  if (host_count > 1) return {400, "multiple_host_headers"};
  const std::string* host = fields_.Get("host");
  if (!authority_.empty()) {
    if (host != nullptr && !AsciiIEquals(*host, authority_)) {
      return {400, "authority_host_mismatch"};
    }
    head.authority = authority_;
  } else if (host != nullptr) {
    head.authority = *host;
  } else {
    return {400, "missing_authority"};
  }
  if (!ValidAuthority(head.authority)) return {400, "invalid_host_header"};
  fields_.Remove("host");

  // Content-Length: repeated values must agree.
  const std::string* length = nullptr;
  for (const http::Header& h : fields_) {
    if (h.name != "content-length") continue;
    if (length != nullptr && *length != h.value) return {400, "conflicting_content_length"};
    length = &h.value;
  }
  if (length != nullptr) {
    std::optional<uint64_t> n = ParseUint(*length);
    if (!n) return {400, "invalid_content_length"};
    head.content_length = *n;
    fields_.Remove("content-length");
  }

  if (const std::string* expect = fields_.Get("expect")) {
    if (!AsciiIEquals(*expect, "100-continue")) return {417, "unsupported_expectation"};
    head.expect_continue = true;
    fields_.Remove("expect");
  }

  // Cookie crumbs are joined for HTTP/1.1 origins (RFC 9113 8.2.3).
  if (fields_.Count("cookie") > 1) {
    std::string joined;
    for (const http::Header& h : fields_) {
      if (h.name != "cookie") continue;
      if (!joined.empty()) joined.append("; ");
      joined.append(h.value);
    }
    fields_.Remove("cookie");
    fields_.Add("cookie", std::move(joined));
  }

  if (!head.upgrade.empty() && head.upgrade == "websocket") {
    // The HTTP/1.1 handshake upstream needs a key (RFC 6455 4.1); the h2
    // client never sends one (RFC 8441 5).
    std::string nonce(16, '\0');
    for (size_t i = 0; i < nonce.size(); i += 8) {
      uint64_t r = random.Next();
      for (size_t j = 0; j < 8; ++j) {
        nonce[i + j] = static_cast<char>(r & 0xFF);
        r >>= 8;
      }
    }
    fields_.Remove("sec-websocket-key");
    fields_.Add("sec-websocket-key", Base64Encode(nonce));
    if (!fields_.Has("sec-websocket-version")) fields_.Add("sec-websocket-version", "13");
  }
  head.headers = std::move(fields_);
  fields_.clear();
  return {};
}

void Http2ResponseHeaders::Add(std::string_view name, std::string_view value) {
  list_bytes_ += HeaderListEntrySize(name, value);
  if (list_bytes_ > max_list_bytes_) over_limit_ = true;
  if (over_limit_) return;
  if (!name.empty() && name.front() == ':') {
    if (name == ":status") {
      std::optional<uint64_t> n = value.size() == 3 ? ParseUint(value) : std::nullopt;
      if (!n || *n < 100 || *n > 999) {
        bad_status_ = true;
      } else {
        status_ = static_cast<int>(*n);
      }
    }
    return;
  }
  fields_.Add(std::string(name), std::string(value));
}

bool Http2ResponseHeaders::Build(ResponseHead* out) {
  if (bad_status_ || status_ == 0 || over_limit_) return false;
  out->status = status_;
  if (const std::string* length = fields_.Get("content-length")) {
    std::optional<uint64_t> n = ParseUint(*length);
    if (!n) return false;
    out->content_length = *n;
    fields_.Remove("content-length");
  }
  std::erase_if(fields_.fields(),
                [](const http::Header& h) { return IsConnectionSpecificHeader(h.name); });
  out->headers = std::move(fields_);
  fields_.clear();
  return true;
}

http::HeaderMap Http2ResponseHeaders::TakeFields() {
  http::HeaderMap fields = std::move(fields_);
  fields_.clear();
  return fields;
}

std::string Base64Encode(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(data[i]) << 16) |
                       (static_cast<uint8_t>(data[i + 1]) << 8) | static_cast<uint8_t>(data[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const size_t rest = data.size() - i;
  if (rest != 0) {
    uint32_t v = static_cast<uint8_t>(data[i]) << 16;
    if (rest == 2) v |= static_cast<uint8_t>(data[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace gh::gateway
