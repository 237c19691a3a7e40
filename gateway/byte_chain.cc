#include "gateway/byte_chain.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace gh::gateway {
namespace {

// Keeps up to 4 MiB of free blocks per thread.
constexpr size_t kMaxPooledBlocks = 256;

struct BlockPool {
  std::vector<char*> free;
  ~BlockPool() {
    for (char* block : free)
      delete[] block;
  }
};

BlockPool& Pool() {
  thread_local BlockPool pool;
  return pool;
}

}  // namespace

char* ByteChain::AllocateBlock() {
  BlockPool& pool = Pool();
  if (!pool.free.empty()) {
    char* block = pool.free.back();
    pool.free.pop_back();
    return block;
  }
  return new char[kBlockSize];
}

void ByteChain::ReleaseBlock(char* data) {
  BlockPool& pool = Pool();
  if (pool.free.size() < kMaxPooledBlocks) {
    pool.free.push_back(data);
  } else {
    delete[] data;
  }
}

ByteChain::~ByteChain() {
  for (size_t i = head_; i < blocks_.size(); ++i)
    ReleaseBlock(blocks_[i].data);
}

ByteChain::ByteChain(ByteChain&& other) noexcept
    : blocks_(std::move(other.blocks_)), head_(other.head_), size_(other.size_) {
  other.blocks_.clear();
  other.head_ = 0;
  other.size_ = 0;
}

ByteChain& ByteChain::operator=(ByteChain&& other) noexcept {
  if (this != &other) {
    Clear();
    blocks_ = std::move(other.blocks_);
    head_ = other.head_;
    size_ = other.size_;
    other.blocks_.clear();
    other.head_ = 0;
    other.size_ = 0;
  }
  return *this;
}

void ByteChain::PopFront() {
  ReleaseBlock(blocks_[head_].data);
  ++head_;
  if (head_ == blocks_.size()) {
    blocks_.clear();
    head_ = 0;
    // A chain that once queued a large backlog gives the index back.
    if (blocks_.capacity() > 64) blocks_.shrink_to_fit();
  } else if (head_ >= 32 && head_ * 2 >= blocks_.size()) {
    blocks_.erase(blocks_.begin(), blocks_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void ByteChain::Append(std::string_view data) {
  size_ += data.size();
  while (!data.empty()) {
    if (head_ == blocks_.size() || blocks_.back().end == kBlockSize) {
      blocks_.push_back({AllocateBlock(), 0, 0});
    }
    Block& tail = blocks_.back();
    const size_t n = std::min(data.size(), kBlockSize - tail.end);
    std::memcpy(tail.data + tail.end, data.data(), n);
    tail.end += static_cast<uint32_t>(n);
    data.remove_prefix(n);
  }
}

void ByteChain::Move(ByteChain& other) {
  blocks_.insert(blocks_.end(), other.blocks_.begin() + static_cast<std::ptrdiff_t>(other.head_),
                 other.blocks_.end());
  size_ += other.size_;
  other.blocks_.clear();
  other.head_ = 0;
  other.size_ = 0;
}

void ByteChain::Drain(size_t n) {
  n = std::min(n, size_);
  size_ -= n;
  while (n > 0) {
    Block& head = blocks_[head_];
    const size_t available = head.end - head.begin;
    if (n < available) {
      head.begin += static_cast<uint32_t>(n);
      return;
    }
    n -= available;
    PopFront();
  }
  // Keep an empty head block from a partial drain? No: drained blocks are
  // released so an idle connection holds no buffer memory.
}

size_t ByteChain::Peek(ByteSpan* spans, size_t max_spans, size_t max_bytes, size_t skip) const {
  size_t count = 0;
  for (size_t i = head_; i < blocks_.size(); ++i) {
    const Block& block = blocks_[i];
    if (count == max_spans || max_bytes == 0) break;
    size_t begin = block.begin;
    const size_t available = block.end - block.begin;
    if (skip >= available) {
      skip -= available;
      continue;
    }
    begin += skip;
    const size_t n = std::min<size_t>(available - skip, max_bytes);
    skip = 0;
    if (n == 0) continue;
    spans[count++] = {block.data + begin, n};
    max_bytes -= n;
  }
  return count;
}

std::string ByteChain::CopyOut(size_t max_bytes) const {
  std::string out;
  out.reserve(std::min(max_bytes, size_));
  for (size_t i = head_; i < blocks_.size(); ++i) {
    const Block& block = blocks_[i];
    if (out.size() >= max_bytes) break;
    const size_t n = std::min<size_t>(block.end - block.begin, max_bytes - out.size());
    out.append(block.data + block.begin, n);
  }
  return out;
}

}  // namespace gh::gateway
