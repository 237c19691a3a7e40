#include "base/http.h"

#include <algorithm>

namespace gh::http {

void HeaderMap::Set(std::string_view name, std::string value) {
  auto it = std::find_if(fields_.begin(), fields_.end(),
                         [&](const Header& h) { return NameEquals(h.name, name); });
  if (it == fields_.end()) {
    fields_.push_back({std::string(name), std::move(value)});
    return;
  }
  it->value = std::move(value);
  fields_.erase(std::remove_if(it + 1, fields_.end(),
                               [&](const Header& h) { return NameEquals(h.name, name); }),
                fields_.end());
}

void HeaderMap::Append(std::string_view name, std::string_view value) {
  if (std::string* existing = GetMutable(name)) {
    if (!existing->empty()) existing->append(", ");
    existing->append(value);
    return;
  }
  fields_.push_back({std::string(name), std::string(value)});
}

size_t HeaderMap::Remove(std::string_view name) {
  const size_t before = fields_.size();
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(),
                               [&](const Header& h) { return NameEquals(h.name, name); }),
                fields_.end());
  return before - fields_.size();
}

size_t HeaderMap::RemovePrefix(std::string_view prefix) {
  const size_t before = fields_.size();
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(),
                               [&](const Header& h) { return h.name.starts_with(prefix); }),
                fields_.end());
  return before - fields_.size();
}

const std::string* HeaderMap::Get(std::string_view name) const {
  for (const Header& h : fields_) {
    if (NameEquals(h.name, name)) return &h.value;
  }
  return nullptr;
}

std::string* HeaderMap::GetMutable(std::string_view name) {
  for (Header& h : fields_) {
    if (NameEquals(h.name, name)) return &h.value;
  }
  return nullptr;
}

size_t HeaderMap::Count(std::string_view name) const {
  return static_cast<size_t>(std::count_if(
      fields_.begin(), fields_.end(), [&](const Header& h) { return NameEquals(h.name, name); }));
}

size_t HeaderMap::ByteSize() const {
  size_t total = 0;
  for (const Header& h : fields_)
    total += h.name.size() + h.value.size() + 4;
  return total;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

}  // namespace gh::http
