#include "routing/net.h"

#include <arpa/inet.h>

#include <string>

#include "base/strings.h"

namespace gh::routing {

std::optional<IpAddress> ParseIp(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  if (text.empty() || text.size() > 45) return std::nullopt;
  const std::string s(text);
  IpAddress ip;
  if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) return ip;
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) {
    ip.v6 = true;
    return ip;
  }
  return std::nullopt;
}

bool Cidr::Contains(const IpAddress& ip) const {
  if (ip.v6 != base.v6) return false;
  uint32_t bits = prefix_len;
  for (size_t i = 0; bits > 0; ++i) {
    const uint32_t take = bits >= 8 ? 8 : bits;
    const uint8_t mask = static_cast<uint8_t>(0xFF00u >> take);
    if ((ip.bytes[i] & mask) != (base.bytes[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

std::optional<Cidr> ParseCidr(std::string_view text) {
  const size_t slash = text.find('/');
  const auto ip = ParseIp(text.substr(0, slash));
  if (!ip) return std::nullopt;
  const uint64_t max = ip->v6 ? 128 : 32;
  uint64_t len = max;
  if (slash != std::string_view::npos) {
    const auto parsed = ParseUint(text.substr(slash + 1), max);
    if (!parsed) return std::nullopt;
    len = *parsed;
  }
  return Cidr{*ip, static_cast<uint8_t>(len)};
}

}  // namespace gh::routing
