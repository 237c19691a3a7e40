// Small ASCII string helpers shared by every layer (HTTP is ASCII-cased).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gh {

inline char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}
std::string AsciiLowered(std::string_view s);
void AsciiLowerInPlace(std::string& s);
bool AsciiIEquals(std::string_view a, std::string_view b);
bool AsciiIStartsWith(std::string_view s, std::string_view prefix);
std::string_view TrimOws(std::string_view s);  // spaces and tabs
// Splits on `sep`, trimming OWS around each element and dropping empty ones.
std::vector<std::string_view> SplitList(std::string_view s, char sep = ',');
// True when the comma list `list` holds `token` (case-insensitive).
bool ListHasToken(std::string_view list, std::string_view token);

// Writes `value` as 16 lowercase hex digits to out[0..15] (ids, trace ids),
// eight digits at a time: every request gets a few random ids.
inline void WriteHex64(char* out, uint64_t value) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  for (int half = 0; half < 2; ++half) {
    // Spread the 8 nibbles of 32 bits over 8 bytes, most significant first
    // in memory (little-endian: into the lowest byte).
    uint64_t x = half == 0 ? value >> 32 : value & 0xFFFFFFFFULL;
    x = ((x & 0xFFFF0000ULL) >> 16) | ((x & 0x0000FFFFULL) << 32);
    x = ((x & 0x0000FF000000FF00ULL) >> 8) | ((x & 0x000000FF000000FFULL) << 16);
    x = ((x & 0x00F000F000F000F0ULL) >> 4) | ((x & 0x000F000F000F000FULL) << 8);
    // Digits 10-15 become 'a'-'f': a carry into bit 4 marks them.
    const uint64_t letters = ((x + 6 * kOnes) >> 4) & kOnes;
    x += '0' * kOnes + letters * ('a' - '0' - 10);
    std::memcpy(out + 8 * half, &x, 8);
  }
}

// Istio/protobuf durations: "1h", "5m", "30s", "250ms", "1.5s", "100us".
std::optional<std::chrono::nanoseconds> ParseDuration(std::string_view text);
std::optional<uint64_t> ParseUint(std::string_view text, uint64_t max = UINT64_MAX);

// Damerau-free Levenshtein distance, for "did you mean" suggestions.
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace gh
