// Data helpers: SHA-256 (streaming), the upstream's deterministic body
// pattern, and JSON parsing (nlohmann-json).
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace gh::test {

using Json = nlohmann::json;

// Parses JSON or throws HarnessError quoting the start of the text.
Json ParseJson(std::string_view text);

// Incremental SHA-256 (FIPS 180-4), so multi-GiB bodies can be checked
// without holding them.
class Sha256 {
 public:
  Sha256();
  void Update(std::string_view data);
  // Lowercase hex digest; the object must not be updated afterwards.
  std::string HexDigest();

 private:
  void Block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_{};
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

std::string Sha256Hex(std::string_view data);

// The body the upstream sends for `x-upstream-body-size`: byte i is i % 251.
inline char PatternByte(uint64_t offset) {
  return static_cast<char>(offset % 251);
}
// n pattern bytes starting at offset.
std::string PatternBytes(uint64_t offset, size_t n);
// SHA-256 of the first n pattern bytes (computed, streaming).
std::string PatternSha256(uint64_t n);
// Offset (relative to data) of the first byte that differs from the pattern
// starting at `offset`, or -1 when all match.
int64_t PatternMismatch(std::string_view data, uint64_t offset);

// Streams a body through this while reading it; counts bytes and checks every
// one against the pattern. Pass it by reference (std::function copies):
//   PatternChecker check;
//   client.ReadResponse(timeout, {.keep_body = false, .on_body = std::ref(check)});
class PatternChecker {
 public:
  void operator()(std::string_view piece);
  uint64_t bytes() const { return bytes_; }
  // -1 when every byte matched; else the absolute offset of the first mismatch.
  int64_t first_mismatch() const { return first_mismatch_; }
  bool ok(uint64_t expected_bytes) const { return first_mismatch_ < 0 && bytes_ == expected_bytes; }

 private:
  uint64_t bytes_ = 0;
  int64_t first_mismatch_ = -1;
};

}  // namespace gh::test
