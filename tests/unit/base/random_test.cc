#include "base/random.h"

#include <gtest/gtest.h>

#include <array>

namespace gh {
namespace {

TEST(FastRandom, DeterministicForSeed) {
  FastRandom a(42), b(42), c(43);
  const uint64_t first = a.Next();
  EXPECT_EQ(first, b.Next());
  EXPECT_NE(first, c.Next());
}

TEST(FastRandom, UniformStaysInBoundAndSpreads) {
  FastRandom rng(7);
  std::array<int, 10> counts{};
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = rng.Uniform(10);
    ASSERT_LT(v, 10u);
    ++counts[v];
  }
  for (int c : counts) {
    EXPECT_GT(c, 9000);
    EXPECT_LT(c, 11000);
  }
}

}  // namespace
}  // namespace gh
