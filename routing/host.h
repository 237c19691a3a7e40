// Host names as routing sees them: port stripped, lowercased, Istio wildcard
// rules ("*" or a whole leftmost "*." label). Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gh::routing {

// "example.com:8080" -> "example.com"; "[::1]:80" -> "[::1]"; no lowercasing.
std::string_view StripPort(std::string_view authority);

// The port of an authority, if it has a valid one.
std::optional<uint16_t> AuthorityPort(std::string_view authority);

// True for "*" and "*.<suffix>" patterns.
inline bool IsWildcardHost(std::string_view host) {
  return host == "*" || host.starts_with("*.");
}

// Does `pattern` ("*", "*.foo.com" or an exact name) cover `host`? Both must
// already be lowercase and port-free. "*.foo.com" covers "a.foo.com" and
// "a.b.foo.com" but not "foo.com" (Envoy suffix semantics).
bool HostMatches(std::string_view pattern, std::string_view host);

// Istio host intersection (pkg/config/host/names.go): the more specific of
// two overlapping names, or nullopt when they do not overlap.
std::optional<std::string> IntersectHosts(std::string_view a, std::string_view b);

// Validates an Istio host name pattern (lowercase expected by the caller):
// an empty string means valid, otherwise the reason it is not.
std::string ValidateHostPattern(std::string_view host, bool allow_wildcard);

}  // namespace gh::routing
