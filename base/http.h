// Protocol-neutral HTTP header fields, shared by codecs (gateway/), routing
// and policies. Names are stored lowercased; HTTP/1 input is lowered by the
// codec, HTTP/2 requires lowercase on the wire.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gh::http {

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
