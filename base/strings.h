// Small ASCII string helpers shared by every layer (HTTP is ASCII-cased).
#pragma once

#include <chrono>
#include <cstdint>
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

// Writes `value` as 16 lowercase hex digits to out[0..15] (ids, trace ids).
inline void WriteHex64(char* out, uint64_t value) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i, value >>= 4)
    out[i] = kHex[value & 0xF];
}

// Istio/protobuf durations: "1h", "5m", "30s", "250ms", "1.5s", "100us".
std::optional<std::chrono::nanoseconds> ParseDuration(std::string_view text);
std::optional<uint64_t> ParseUint(std::string_view text, uint64_t max = UINT64_MAX);

// Damerau-free Levenshtein distance, for "did you mean" suggestions.
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace gh
