#include "gateway/byte_chain.h"

#include <gtest/gtest.h>

#include <string>

namespace gh::gateway {
namespace {

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>('a' + i % 26);
  return s;
}

TEST(ByteChain, AppendPeekDrainAcrossBlocks) {
  ByteChain chain;
  const std::string data = Pattern(3 * ByteChain::kBlockSize + 123);
  chain.Append(data.substr(0, 10));
  chain.Append(data.substr(10));
  EXPECT_EQ(chain.size(), data.size());
  ByteSpan spans[8];
  const size_t n = chain.Peek(spans, 8);
  EXPECT_EQ(n, 4u);
  std::string joined;
  for (size_t i = 0; i < n; ++i)
    joined.append(spans[i].data, spans[i].size);
  EXPECT_EQ(joined, data);
  chain.Drain(ByteChain::kBlockSize + 5);
  EXPECT_EQ(chain.CopyOut(), data.substr(ByteChain::kBlockSize + 5));
  chain.Drain(chain.size() + 100);  // over-drain is clamped
  EXPECT_TRUE(chain.empty());
}

TEST(ByteChain, PeekRespectsByteLimit) {
  ByteChain chain;
  chain.Append(Pattern(ByteChain::kBlockSize * 2));
  ByteSpan spans[4];
  const size_t n = chain.Peek(spans, 4, 100);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(spans[0].size, 100u);
}

TEST(ByteChain, MoveRelinksAndEmptiesSource) {
  ByteChain a, b;
  a.Append("hello ");
  b.Append("world");
  a.Move(b);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(a.CopyOut(), "hello world");
  a.Append("!");
  EXPECT_EQ(a.CopyOut(), "hello world!");
  ByteChain c = std::move(a);
  EXPECT_EQ(c.size(), 12u);
  EXPECT_EQ(a.size(), 0u);  // NOLINT: moved-from is empty by contract
}

TEST(ByteChain, PeekSkipsFromTheFront) {
  ByteChain chain;
  const std::string data = Pattern(ByteChain::kBlockSize * 3 + 100);
  chain.Append(data);
  chain.Drain(10);  // a partial head block
  ByteSpan spans[4];
  const size_t skip = ByteChain::kBlockSize + 5;
  const size_t n = chain.Peek(spans, 4, SIZE_MAX, skip);
  std::string got;
  for (size_t i = 0; i < n; ++i)
    got.append(spans[i].data, spans[i].size);
  EXPECT_EQ(got, data.substr(10 + skip));
  EXPECT_EQ(chain.Peek(spans, 4, SIZE_MAX, chain.size()), 0u);
  ASSERT_EQ(chain.Peek(spans, 1, 7, ByteChain::kBlockSize - 10), 1u);
  EXPECT_EQ(std::string(spans[0].data, spans[0].size), data.substr(ByteChain::kBlockSize, 7));
}

TEST(ByteChain, InFlightBytesStableWhileAppending) {
  // A write in flight covers spans from Peek; appends must not move them.
  ByteChain chain;
  chain.Append("abc");
  ByteSpan span;
  ASSERT_EQ(chain.Peek(&span, 1), 1u);
  const char* before = span.data;
  chain.Append(Pattern(ByteChain::kBlockSize * 2));
  EXPECT_EQ(std::string(before, 3), "abc");
  chain.Drain(3);
  EXPECT_EQ(chain.size(), ByteChain::kBlockSize * 2);
}

TEST(ByteChain, LongQueueDrainedAndRefilledKeepsOrder) {
  // A long-lived queue: blocks leave at the front while new ones arrive, so
  // the block index is compacted many times; the bytes must stay in order.
  ByteChain chain;
  std::string model;
  size_t next = 0;
  auto produce = [&](size_t n) {
    std::string piece;
    for (size_t i = 0; i < n; ++i)
      piece.push_back(static_cast<char>('a' + (next++ % 26)));
    chain.Append(piece);
    model += piece;
  };
  produce(ByteChain::kBlockSize * 80 + 17);
  for (int round = 0; round < 300; ++round) {
    const size_t drain = (round % 7 + 1) * ByteChain::kBlockSize / 3;
    chain.Drain(drain);
    model.erase(0, std::min(drain, model.size()));
    produce(ByteChain::kBlockSize / 2 + static_cast<size_t>(round));
    ASSERT_EQ(chain.size(), model.size());
  }
  EXPECT_EQ(chain.CopyOut(), model);
  ByteChain moved(std::move(chain));
  EXPECT_TRUE(chain.empty());
  ByteChain other;
  other.Append("head:");
  other.Move(moved);
  EXPECT_EQ(other.CopyOut(), "head:" + model);
  other.Clear();
  EXPECT_TRUE(other.empty());
}

}  // namespace
}  // namespace gh::gateway
