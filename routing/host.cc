#include "routing/host.h"

#include "base/strings.h"

namespace gh::routing {

std::string_view StripPort(std::string_view authority) {
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(0, close + 1);
  }
  const size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos) return authority;
  // A second colon means a bare IPv6 address without brackets: no port.
  if (authority.find(':') != colon) return authority;
  return authority.substr(0, colon);
}

std::optional<uint16_t> AuthorityPort(std::string_view authority) {
  const std::string_view host = StripPort(authority);
  if (host.size() == authority.size() || authority[host.size()] != ':') return std::nullopt;
  const auto port = ParseUint(authority.substr(host.size() + 1), 65535);
  if (!port) return std::nullopt;
  return static_cast<uint16_t>(*port);
}

bool HostMatches(std::string_view pattern, std::string_view host) {
  if (pattern == "*") return true;
  if (pattern.starts_with("*.")) {
    const std::string_view suffix = pattern.substr(1);  // ".foo.com"
    return host.size() > suffix.size() && host.ends_with(suffix);
  }
  return pattern == host;
}

std::optional<std::string> IntersectHosts(std::string_view a, std::string_view b) {
  const bool aw = IsWildcardHost(a), bw = IsWildcardHost(b);
  if (!aw && !bw) {
    if (a == b) return std::string(a);
    return std::nullopt;
  }
  if (aw && bw) {
    // The narrower wildcard is kept when one covers the other.
    if (a == "*") return std::string(b);
    if (b == "*") return std::string(a);
    if (a.size() >= b.size() && a.ends_with(b.substr(1))) return std::string(a);
    if (b.size() > a.size() && b.ends_with(a.substr(1))) return std::string(b);
    return std::nullopt;
  }
  const std::string_view wild = aw ? a : b, exact = aw ? b : a;
  if (HostMatches(wild, exact)) return std::string(exact);
  return std::nullopt;
}

std::string ValidateHostPattern(std::string_view host, bool allow_wildcard) {
  if (host.empty()) return "host must not be empty";
  if (host == "*") return allow_wildcard ? "" : "wildcard host \"*\" is not allowed here";
  std::string_view rest = host;
  if (host.starts_with("*.")) {
    if (!allow_wildcard) return "wildcard hosts are not allowed here";
    rest = host.substr(2);
  }
  if (rest.size() > 253) return "host name is longer than 253 characters";
  if (rest.find('*') != std::string_view::npos)
    return "a wildcard may only be the whole leftmost label (\"*.example.com\")";
  size_t label = 0;
  for (size_t i = 0; i <= rest.size(); ++i) {
    if (i == rest.size() || rest[i] == '.') {
      if (label == 0) return "host has an empty label";
      if (label > 63) return "host has a label longer than 63 characters";
      label = 0;
      continue;
    }
    const char c = rest[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                    (c >= 'A' && c <= 'Z');
    if (!ok) return std::string("host contains an invalid character '") + c + "'";
    ++label;
  }
  return "";
}

}  // namespace gh::routing
