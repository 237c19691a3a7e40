// IP addresses and CIDR blocks for destination_subnets and source-IP hashing.
// Pure (inet_pton only parses).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace gh::routing {

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // v4 uses the first 4
};

std::optional<IpAddress> ParseIp(std::string_view text);

struct Cidr {
  IpAddress base;
  uint8_t prefix_len = 0;
  bool Contains(const IpAddress& ip) const;
};

// "10.0.0.0/8", "2001:db8::/32", or a bare address (full-length prefix).
std::optional<Cidr> ParseCidr(std::string_view text);

}  // namespace gh::routing
