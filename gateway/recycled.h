// Recycles the memory of a class whose objects come and go with every
// request: a per-thread free list of fixed-size slots in front of the global
// allocator. Worth it for objects bigger than glibc's per-thread cache serves
// (1032 bytes), which otherwise take malloc's slow path each time.
//
//   class ProxyStream final : public Recycled<ProxyStream> { ... };
//
// Only for final classes (every allocation has the same size). Memory freed
// on another thread joins that thread's list; lists are bounded and freed at
// thread exit. Under AddressSanitizer it steps aside, so a use after free
// is still caught.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace gh::gateway {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kRecycleMemory = false;
#else
inline constexpr bool kRecycleMemory = true;
#endif

template <typename T, size_t kMaxCached = 256>
class Recycled {
 public:
  static void* operator new(size_t size) {
    if (!kRecycleMemory) return ::operator new(size);
    FreeList& list = Cache();
    if (size == sizeof(T) && !list.slots.empty()) {
      void* slot = list.slots.back();
      list.slots.pop_back();
      return slot;
    }
    return ::operator new(size);
  }

  static void operator delete(void* pointer, size_t size) {
    if (!kRecycleMemory) return ::operator delete(pointer, size);
    FreeList& list = Cache();
    if (size == sizeof(T) && list.slots.size() < kMaxCached) {
      list.slots.push_back(pointer);
      return;
    }
    ::operator delete(pointer, size);
  }

 private:
  struct FreeList {
    std::vector<void*> slots;
    ~FreeList() {
      for (void* slot : slots)
        ::operator delete(slot, sizeof(T));
    }
  };
  static FreeList& Cache() {
    thread_local FreeList list;
    return list;
  }
};

}  // namespace gh::gateway
