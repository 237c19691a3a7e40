// Injected randomness: pure code takes a Random&, never a global RNG.
#pragma once

#include <cstdint>

namespace gh {

class Random {
 public:
  virtual ~Random() = default;
  virtual uint64_t Next() = 0;
  // Uniform in [0, bound); bound > 0. Lemire's multiply-shift, no division.
  uint64_t Uniform(uint64_t bound) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * bound) >> 64);
  }
};

// xoshiro256** seeded by splitmix64: fast, good enough for load balancing and
// sampling, never used for anything secret.
class FastRandom final : public Random {
 public:
  explicit FastRandom(uint64_t seed);
  uint64_t Next() override;

 private:
  uint64_t s_[4];
};

// A seed from the OS entropy pool (for per-worker FastRandom instances).
uint64_t EntropySeed();

}  // namespace gh
