#include "tests/support/data.h"

#include <cstring>

#include "tests/support/process.h"

namespace gh::test {

Json ParseJson(std::string_view text) {
  try {
    return Json::parse(text);
  } catch (const std::exception& e) {
    throw HarnessError(std::string("invalid JSON (") + e.what() +
                       "): " + std::string(text.substr(0, 500)));
  }
}

namespace {

constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// The hashing and pattern loops see every byte of multi-GiB test bodies: they
// are not instrumented, so sanitizer builds check 2 GiB in seconds, not minutes
// (the library is also built with optimization on; see meson.build). Helpers
// they call carry the same attribute, or GCC would not inline them.
#define GH_HOT_LOOP __attribute__((no_sanitize("address", "undefined")))

GH_HOT_LOOP inline uint32_t Rotr(uint32_t x, int n) {
  return (x >> n) | (x << (32 - n));
}

}  // namespace

Sha256::Sha256()
    : h_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19} {}

GH_HOT_LOOP void Sha256::Block(const uint8_t* p) {
  uint32_t w[64];
  for (int i = 0; i < 16; ++i) {
    w[i] = (uint32_t{p[4 * i]} << 24) | (uint32_t{p[4 * i + 1]} << 16) |
           (uint32_t{p[4 * i + 2]} << 8) | uint32_t{p[4 * i + 3]};
  }
  for (int i = 16; i < 64; ++i) {
    uint32_t s0 = Rotr(w[i - 15], 7) ^ Rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = Rotr(w[i - 2], 17) ^ Rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  // Raw pointers: std::array::operator[] would be an instrumented call here.
  uint32_t* H = h_.data();
  uint32_t a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
  for (int i = 0; i < 64; ++i) {
    uint32_t s1 = Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25);
    uint32_t ch = (e & f) ^ (~e & g);
    uint32_t t1 = h + s1 + ch + kK[i] + w[i];
    uint32_t s0 = Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22);
    uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
    uint32_t t2 = s0 + maj;
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  H[0] += a;
  H[1] += b;
  H[2] += c;
  H[3] += d;
  H[4] += e;
  H[5] += f;
  H[6] += g;
  H[7] += h;
}

void Sha256::Update(std::string_view data) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t n = data.size();
  total_ += n;
  if (buf_len_ > 0) {
    size_t take = std::min(n, 64 - buf_len_);
    std::memcpy(buf_.data() + buf_len_, p, take);
    buf_len_ += take;
    p += take;
    n -= take;
    if (buf_len_ == 64) {
      Block(buf_.data());
      buf_len_ = 0;
    }
  }
  while (n >= 64) {
    Block(p);
    p += 64;
    n -= 64;
  }
  if (n > 0) {
    std::memcpy(buf_.data(), p, n);
    buf_len_ = n;
  }
}

std::string Sha256::HexDigest() {
  uint64_t bits = total_ * 8;
  uint8_t pad[72] = {0x80};
  size_t pad_len = (buf_len_ < 56) ? 56 - buf_len_ : 120 - buf_len_;
  uint8_t len_be[8];
  for (int i = 0; i < 8; ++i)
    len_be[i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
  uint64_t saved = total_;
  Update(std::string_view(reinterpret_cast<const char*>(pad), pad_len));
  Update(std::string_view(reinterpret_cast<const char*>(len_be), 8));
  total_ = saved;
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (uint32_t v : h_) {
    for (int i = 28; i >= 0; i -= 4)
      out += hex[(v >> i) & 0xF];
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  Sha256 s;
  s.Update(data);
  return s.HexDigest();
}

std::string PatternBytes(uint64_t offset, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = PatternByte(offset + i);
  return s;
}

std::string PatternSha256(uint64_t n) {
  // One period-aligned block repeated: 251 * 1024 bytes.
  constexpr size_t kBlock = 251 * 1024;
  std::string block = PatternBytes(0, kBlock);
  Sha256 s;
  while (n > 0) {
    size_t take = static_cast<size_t>(std::min<uint64_t>(n, kBlock));
    s.Update(std::string_view(block.data(), take));
    n -= take;
  }
  return s.HexDigest();
}

GH_HOT_LOOP int64_t PatternMismatch(std::string_view data, uint64_t offset) {
  uint32_t v = static_cast<uint32_t>(offset % 251);
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  const size_t n = data.size();
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != v) return static_cast<int64_t>(i);
    if (++v == 251) v = 0;
  }
  return -1;
}

void PatternChecker::operator()(std::string_view piece) {
  if (first_mismatch_ < 0) {
    int64_t m = PatternMismatch(piece, bytes_);
    if (m >= 0) first_mismatch_ = static_cast<int64_t>(bytes_) + m;
  }
  bytes_ += piece.size();
}

}  // namespace gh::test
