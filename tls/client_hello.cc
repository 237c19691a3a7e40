#include "tls/client_hello.h"

#include <algorithm>

namespace gh::tls {
namespace {

constexpr uint8_t kContentHandshake = 22;
constexpr uint8_t kHandshakeClientHello = 1;
constexpr size_t kRecordHeaderSize = 5;
constexpr size_t kHandshakeHeaderSize = 4;
constexpr size_t kMaxRecordPayload = 16 * 1024;  // 2^14 (RFC 8446 5.1)
constexpr uint16_t kExtServerName = 0;
constexpr uint16_t kExtAlpn = 16;
constexpr uint16_t kExtSupportedVersions = 43;
constexpr size_t kMaxHostNameSize = 255;

// Bounds-checked big-endian reader over one message.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  size_t left() const { return data_.size() - pos_; }
  bool empty() const { return pos_ == data_.size(); }
  bool U8(uint8_t* out) {
    if (left() < 1) return false;
    *out = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool U16(uint16_t* out) {
    if (left() < 2) return false;
    *out = static_cast<uint16_t>((Byte(0) << 8) | Byte(1));
    pos_ += 2;
    return true;
  }
  bool Bytes(size_t n, std::string_view* out) {
    if (left() < n) return false;
    *out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  // A vector with a 1- or 2-byte length prefix.
  bool Vector8(std::string_view* out) {
    uint8_t n = 0;
    return U8(&n) && Bytes(n, out);
  }
  bool Vector16(std::string_view* out) {
    uint16_t n = 0;
    return U16(&n) && Bytes(n, out);
  }

 private:
  unsigned Byte(size_t i) const { return static_cast<uint8_t>(data_[pos_ + i]); }
  std::string_view data_;
  size_t pos_ = 0;
};

// DNS host names only (letters, digits, '-', '.', '_'): an SNI flows into
// routing and into access-log lines, so spaces, quotes, control bytes and
// NULs are refused here rather than escaped everywhere else.
bool ValidHostName(std::string_view name) {
  if (name.empty() || name.size() > kMaxHostNameSize) return false;
  if (name.front() == '.' || name.find("..") != std::string_view::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
  });
}

std::string Lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::string_view ClientHelloStatusName(ClientHelloStatus status) {
  switch (status) {
    case ClientHelloStatus::kNeedMore:
      return "need_more";
    case ClientHelloStatus::kNotTls:
      return "not_tls";
    case ClientHelloStatus::kParsed:
      return "parsed";
    case ClientHelloStatus::kMalformed:
      return "malformed";
  }
  return "unknown";
}

ClientHelloParser::ClientHelloParser(size_t max_bytes) : max_bytes_(max_bytes) {}

ClientHelloStatus ClientHelloParser::Fail(ClientHelloStatus status, std::string_view why) {
  status_ = status;
  error_ = why;
  message_.clear();
  message_.shrink_to_fit();
  return status_;
}

ClientHelloStatus ClientHelloParser::Feed(std::string_view data) {
  bytes_fed_ += data.size();
  if (status_ != ClientHelloStatus::kNeedMore) return status_;
  // Never look beyond the cap, so the outcome does not depend on how the
  // bytes were split into reads.
  data = data.substr(0, max_bytes_ - processed_);
  processed_ += data.size();
  while (!data.empty()) {
    if (record_left_ == 0) {
      // Record header, possibly split across reads. The first two bytes
      // decide "is this TLS at all" as soon as they arrive.
      const uint8_t byte = static_cast<uint8_t>(data.front());
      if (header_have_ == 0 && byte != kContentHandshake) {
        return first_record_ ? Fail(ClientHelloStatus::kNotTls, "not a TLS handshake record")
                             : Fail(ClientHelloStatus::kMalformed,
                                    "non-handshake record before the ClientHello ended");
      }
      if (header_have_ == 1 && byte != 3) {
        return first_record_ ? Fail(ClientHelloStatus::kNotTls, "not a TLS record version")
                             : Fail(ClientHelloStatus::kMalformed, "bad record version");
      }
      if (header_have_ == 2 && byte > 4) {
        return Fail(ClientHelloStatus::kMalformed, "bad record version");
      }
      header_[header_have_++] = byte;
      data.remove_prefix(1);
      if (header_have_ < kRecordHeaderSize) continue;
      header_have_ = 0;
      first_record_ = false;
      record_left_ = (static_cast<size_t>(header_[3]) << 8) | header_[4];
      if (record_left_ == 0) {
        return Fail(ClientHelloStatus::kMalformed, "empty handshake record");
      }
      if (record_left_ > kMaxRecordPayload) {
        return Fail(ClientHelloStatus::kMalformed, "record larger than 2^14 bytes");
      }
      continue;
    }
    // Record payload: append to the handshake message, never beyond it.
    size_t take = std::min(record_left_, data.size());
    if (message_size_ == 0) {
      take = std::min(take, kHandshakeHeaderSize - message_.size());
    } else {
      take = std::min(take, message_size_ - message_.size());
    }
    message_.append(data.substr(0, take));
    data.remove_prefix(take);
    record_left_ -= take;
    if (message_size_ == 0 && message_.size() == kHandshakeHeaderSize) {
      if (static_cast<uint8_t>(message_[0]) != kHandshakeClientHello) {
        return Fail(ClientHelloStatus::kMalformed, "first handshake message is not a ClientHello");
      }
      const size_t body = (static_cast<size_t>(static_cast<uint8_t>(message_[1])) << 16) |
                          (static_cast<size_t>(static_cast<uint8_t>(message_[2])) << 8) |
                          static_cast<uint8_t>(message_[3]);
      message_size_ = kHandshakeHeaderSize + body;
      if (message_size_ > max_bytes_) {
        return Fail(ClientHelloStatus::kMalformed, "ClientHello larger than the limit");
      }
      message_.reserve(message_size_);
    }
    if (message_size_ != 0 && message_.size() == message_size_) {
      if (record_left_ != 0) {
        return Fail(ClientHelloStatus::kMalformed, "trailing data in the ClientHello record");
      }
      return ParseMessage();
    }
  }
  if (processed_ >= max_bytes_) {
    return Fail(ClientHelloStatus::kMalformed, "no complete ClientHello within the limit");
  }
  return status_;
}

ClientHelloStatus ClientHelloParser::ParseMessage() {
  const auto malformed = [this](std::string_view why) {
    return Fail(ClientHelloStatus::kMalformed, why);
  };
  Reader r(std::string_view(message_).substr(kHandshakeHeaderSize));
  std::string_view random, session_id, ciphers, compression, extensions;
  if (!r.U16(&hello_.legacy_version)) return malformed("truncated version");
  if ((hello_.legacy_version >> 8) != 3) return malformed("bad ClientHello version");
  if (!r.Bytes(32, &random)) return malformed("truncated random");
  if (!r.Vector8(&session_id) || session_id.size() > 32) return malformed("bad session id");
  if (!r.Vector16(&ciphers) || ciphers.size() < 2 || ciphers.size() % 2 != 0) {
    return malformed("bad cipher suites");
  }
  if (!r.Vector8(&compression) || compression.empty()) {
    return malformed("bad compression methods");
  }
  if (r.empty()) {  // TLS 1.2 and earlier may omit extensions altogether
    status_ = ClientHelloStatus::kParsed;
    return status_;
  }
  if (!r.Vector16(&extensions) || !r.empty()) return malformed("bad extensions block");

  Reader ext(extensions);
  std::vector<uint16_t> seen;
  while (!ext.empty()) {
    uint16_t type = 0;
    std::string_view body;
    if (!ext.U16(&type) || !ext.Vector16(&body)) return malformed("truncated extension");
    seen.push_back(type);
    Reader b(body);
    if (type == kExtServerName) {
      std::string_view list;
      if (!b.Vector16(&list) || !b.empty() || list.empty()) return malformed("bad server_name");
      Reader names(list);
      while (!names.empty()) {
        uint8_t name_type = 0;
        std::string_view name;
        if (!names.U8(&name_type) || !names.Vector16(&name)) return malformed("bad server_name");
        if (name_type != 0) continue;  // unknown name types are skipped (RFC 6066)
        if (hello_.has_sni) return malformed("two host names in server_name");
        if (!ValidHostName(name)) return malformed("invalid host name in server_name");
        hello_.has_sni = true;
        hello_.sni = Lowered(name);
      }
    } else if (type == kExtAlpn) {
      std::string_view list;
      if (!b.Vector16(&list) || !b.empty() || list.empty()) return malformed("bad ALPN");
      Reader protocols(list);
      while (!protocols.empty()) {
        std::string_view protocol;
        if (!protocols.Vector8(&protocol) || protocol.empty()) return malformed("bad ALPN");
        hello_.alpn.emplace_back(protocol);
      }
    } else if (type == kExtSupportedVersions) {
      std::string_view list;
      if (!b.Vector8(&list) || !b.empty() || list.empty() || list.size() % 2 != 0) {
        return malformed("bad supported_versions");
      }
      Reader versions(list);
      uint16_t version = 0;
      while (versions.U16(&version)) {
        if (version == 0x0304) hello_.offers_tls13 = true;
      }
    }
  }
  std::sort(seen.begin(), seen.end());
  if (std::adjacent_find(seen.begin(), seen.end()) != seen.end()) {
    return malformed("duplicate extension");
  }
  status_ = ClientHelloStatus::kParsed;
  message_.clear();
  message_.shrink_to_fit();
  return status_;
}

ClientHelloResult ParseClientHello(std::string_view data, size_t max_bytes) {
  ClientHelloParser parser(max_bytes);
  ClientHelloResult result;
  result.status = parser.Feed(data);
  if (result.status == ClientHelloStatus::kParsed) result.hello = parser.hello();
  result.error = std::string(parser.error());
  return result;
}

}  // namespace gh::tls
