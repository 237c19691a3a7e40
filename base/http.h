// Protocol-neutral HTTP header fields, shared by codecs (gateway/), routing
// and policies. Names are stored lowercased; HTTP/1 input is lowered by the
// codec, HTTP/2 requires lowercase on the wire.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gh::http {

// Header-name equality without a memcmp call: names are short, and the
// request path compares them dozens of times per request.
inline bool NameEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  size_t n = a.size();
  if (n < 4) {
    for (size_t i = 0; i < n; ++i) {
      if (x[i] != y[i]) return false;
    }
    return true;
  }
  if (n < 8) {  // two overlapping 4-byte words
    uint32_t p, q, r, t;
    std::memcpy(&p, x, 4);
    std::memcpy(&q, y, 4);
    std::memcpy(&r, x + n - 4, 4);
    std::memcpy(&t, y + n - 4, 4);
    return ((p ^ q) | (r ^ t)) == 0;
  }
  for (; n > 8; x += 8, y += 8, n -= 8) {
    uint64_t p, q;
    std::memcpy(&p, x, 8);
    std::memcpy(&q, y, 8);
    if (p != q) return false;
  }
  uint64_t p, q;  // the last 8 bytes, overlapping what was compared
  std::memcpy(&p, x + n - 8, 8);
  std::memcpy(&q, y + n - 8, 8);
  return p == q;
}

struct Header {
  std::string name;  // lowercase
  std::string value;
};

class HeaderMap {
 public:
  using const_iterator = std::vector<Header>::const_iterator;

  void Add(std::string name, std::string value) {
    fields_.push_back({std::move(name), std::move(value)});
  }
  // Replaces every field named `name` with a single one.
  void Set(std::string_view name, std::string value);
  // Appends to an existing field with ", " or adds one.
  void Append(std::string_view name, std::string_view value);
  // Returns how many fields were removed.
  size_t Remove(std::string_view name);
  size_t RemovePrefix(std::string_view prefix);
  const std::string* Get(std::string_view name) const;
  std::string* GetMutable(std::string_view name);
  size_t Count(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name) != nullptr; }

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  void clear() { fields_.clear(); }
  const_iterator begin() const { return fields_.begin(); }
  const_iterator end() const { return fields_.end(); }
  std::vector<Header>& fields() { return fields_; }
  const std::vector<Header>& fields() const { return fields_; }
  // Bytes as they would appear in an HTTP/1 header block (name: value CRLF).
  size_t ByteSize() const;

 private:
  std::vector<Header> fields_;
};

// Reason phrase for a status code ("OK", "Not Found"), "Unknown" otherwise.
std::string_view ReasonPhrase(int status);

}  // namespace gh::http
