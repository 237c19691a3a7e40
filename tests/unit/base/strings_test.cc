#include "base/strings.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <vector>

namespace gh {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

TEST(Strings, LowerAndCompare) {
  EXPECT_EQ(AsciiLowered("Content-Length"), "content-length");
  EXPECT_TRUE(AsciiIEquals("KeEp-Alive", "keep-alive"));
  EXPECT_FALSE(AsciiIEquals("keep-alive", "keep-alivex"));
  EXPECT_TRUE(AsciiIStartsWith("X-Envoy-Foo", "x-envoy-"));
}

// The word-at-a-time lowering against the byte rule, for every byte value at
// every position of the 8-byte words and of the tail.
TEST(Strings, LowerInPlaceMatchesTheByteRuleForEveryByte) {
  for (int c = 0; c < 256; ++c) {
    for (size_t at = 0; at < 19; ++at) {
      std::string s = "Mixed-CASE-name-Z@[";
      s[at] = static_cast<char>(c);
      std::string want = s;
      for (char& ch : want)
        ch = AsciiLower(ch);
      AsciiLowerInPlace(s);
      ASSERT_EQ(s, want) << "byte " << c << " at " << at;
    }
  }
}

TEST(Strings, WriteHex64MatchesPrintf) {
  std::vector<uint64_t> values = {
      0, 1, 0xF, 0x10, 0xABCDEF0123456789ULL, UINT64_MAX, 0x8000000000000000ULL};
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (int i = 0; i < 10000; ++i)
    values.push_back(x = x * 6364136223846793005ULL + 1442695040888963407ULL);
  for (uint64_t v : values) {
    char want[17], got[16];
    std::snprintf(want, sizeof want, "%016llx", static_cast<unsigned long long>(v));
    WriteHex64(got, v);
    ASSERT_EQ(std::string(got, 16), std::string(want, 16)) << v;
  }
}

TEST(Strings, SplitListTrimsAndDropsEmpty) {
  auto items = SplitList(" close , ,Upgrade\t,");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0], "close");
  EXPECT_EQ(items[1], "Upgrade");
  EXPECT_TRUE(ListHasToken("keep-alive, Upgrade", "upgrade"));
  EXPECT_FALSE(ListHasToken("keep-alive", "close"));
}

TEST(Strings, ParseDuration) {
  EXPECT_EQ(ParseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(ParseDuration("5s"), milliseconds(5000));
  EXPECT_EQ(ParseDuration("1.5s"), milliseconds(1500));
  EXPECT_EQ(ParseDuration("2m"), milliseconds(120000));
  EXPECT_EQ(ParseDuration("1h"), milliseconds(3600000));
  EXPECT_EQ(ParseDuration("100us"), nanoseconds(100000));
  EXPECT_FALSE(ParseDuration(""));
  EXPECT_FALSE(ParseDuration("5"));
  EXPECT_FALSE(ParseDuration("s"));
  EXPECT_FALSE(ParseDuration("-1s"));
  EXPECT_FALSE(ParseDuration("1x"));
  EXPECT_FALSE(ParseDuration("1..2s"));
}

TEST(Strings, ParseUintRejectsOverflowAndJunk) {
  EXPECT_EQ(ParseUint("0"), 0u);
  EXPECT_EQ(ParseUint("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(ParseUint("18446744073709551616"));
  EXPECT_FALSE(ParseUint("12a"));
  EXPECT_FALSE(ParseUint(""));
  EXPECT_FALSE(ParseUint("70000", 65535));
}

TEST(Strings, EditDistance) {
  EXPECT_EQ(EditDistance("timeout", "timeout"), 0u);
  EXPECT_EQ(EditDistance("timout", "timeout"), 1u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
}

}  // namespace
}  // namespace gh
