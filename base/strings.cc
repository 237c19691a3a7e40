#include "base/strings.h"

#include <cstdint>
#include <cstring>

#include <algorithm>
#include <cmath>

namespace gh {

std::string AsciiLowered(std::string_view s) {
  std::string out(s);
  AsciiLowerInPlace(out);
  return out;
}

void AsciiLowerInPlace(std::string& s) {
  // Eight bytes at a time (every header name goes through here): a byte
  // is upper case when it is ASCII, >= 'A' and not > 'Z'; its 0x20 bit is
  // then set. Adding to the low seven bits cannot carry across bytes.
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  char* p = s.data();
  size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t x;
    std::memcpy(&x, p, 8);
    const uint64_t low7 = x & (0x7f * kOnes);
    const uint64_t ge_a = low7 + (0x80 - 'A') * kOnes;
    const uint64_t gt_z = low7 + (0x7f - 'Z') * kOnes;
    const uint64_t upper = ge_a & ~gt_z & ~x & (0x80 * kOnes);
    x |= upper >> 2;
    std::memcpy(p, &x, 8);
  }
  for (; n > 0; ++p, --n)
    *p = AsciiLower(*p);
}

bool AsciiIEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

bool AsciiIStartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && AsciiIEquals(s.substr(0, prefix.size()), prefix);
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> SplitList(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    const size_t pos = s.find(sep);
    std::string_view item = TrimOws(s.substr(0, pos));
    if (!item.empty()) out.push_back(item);
    if (pos == std::string_view::npos) break;
    s.remove_prefix(pos + 1);
  }
  return out;
}

bool ListHasToken(std::string_view list, std::string_view token) {
  for (std::string_view item : SplitList(list)) {
    if (AsciiIEquals(item, token)) return true;
  }
  return false;
}

std::optional<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  struct Unit {
    std::string_view suffix;
    double nanos;
  };
  // Longest suffixes first so "ms" is not read as "m" + garbage.
  static constexpr Unit kUnits[] = {{"ms", 1e6},   {"us", 1e3}, {"µs", 1e3}, {"ns", 1.0},
                                    {"h", 3600e9}, {"m", 60e9}, {"s", 1e9}};
  for (const Unit& unit : kUnits) {
    if (text.size() <= unit.suffix.size() || !text.ends_with(unit.suffix)) continue;
    std::string_view number = text.substr(0, text.size() - unit.suffix.size());
    double value = 0;
    bool seen_digit = false, seen_dot = false;
    double scale = 0.1;
    for (char c : number) {
      if (c >= '0' && c <= '9') {
        seen_digit = true;
        if (seen_dot) {
          value += (c - '0') * scale;
          scale /= 10;
        } else {
          value = value * 10 + (c - '0');
        }
      } else if (c == '.' && !seen_dot) {
        seen_dot = true;
      } else {
        return std::nullopt;
      }
    }
    if (!seen_digit) return std::nullopt;
    const double nanos = value * unit.nanos;
    if (!std::isfinite(nanos) || nanos > 9.2e18) return std::nullopt;
    return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(nanos)));
  }
  return std::nullopt;
}

std::optional<uint64_t> ParseUint(std::string_view text, uint64_t max) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (max - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace gh
