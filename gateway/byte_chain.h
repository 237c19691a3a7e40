// A queue of bytes in fixed-size blocks: appends copy into the tail block,
// the head can be exported as iovecs for one vectored write and drained when
// that write completes. Blocks are recycled through a small per-thread pool,
// so steady-state proxying does not touch malloc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gh::gateway {

struct ByteSpan {
  const char* data;
  size_t size;
};

class ByteChain {
 public:
  static constexpr size_t kBlockSize = 16 * 1024;

  ByteChain() = default;
  ~ByteChain();
  ByteChain(ByteChain&& other) noexcept;
  ByteChain& operator=(ByteChain&& other) noexcept;
  ByteChain(const ByteChain&) = delete;
  ByteChain& operator=(const ByteChain&) = delete;

  void Append(std::string_view data);
  void Append(const char* data, size_t size) { Append(std::string_view(data, size)); }
  // Moves all of `other` to the end of this chain (blocks are relinked).
  void Move(ByteChain& other);
  // Drops `n` bytes from the front.
  void Drain(size_t n);
  void Clear() { Drain(size_); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Fills up to `max_spans` spans covering at most `max_bytes`, starting
  // `skip` bytes from the front; returns the number of spans filled.
  size_t Peek(ByteSpan* spans, size_t max_spans, size_t max_bytes = SIZE_MAX,
              size_t skip = 0) const;
  // Copies up to `max_bytes` from the front into a string (tests, small replays).
  std::string CopyOut(size_t max_bytes = SIZE_MAX) const;

 private:
  struct Block {
    char* data;
    uint32_t begin;
    uint32_t end;
  };
  static char* AllocateBlock();
  static void ReleaseBlock(char* data);
  void PopFront();

  // Live blocks are blocks_[head_..]: popping the front only advances head_
  // (a vector, not a deque: libstdc++'s deque allocates even when empty and
  // when moved from, and a chain is built for every request).
  std::vector<Block> blocks_;
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace gh::gateway
