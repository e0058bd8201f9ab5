// A std::vector whose data starts on a cache line. glibc's malloc aligns to 16 bytes only, so
// every 64-byte vector load from a large std::vector<float> straddles two lines and costs two;
// the projection kernels read their activations that way once per row block.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace mamba2 {

template <class T>
struct CacheAlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};

  CacheAlignedAllocator() = default;
  template <class U>
  explicit CacheAlignedAllocator(const CacheAlignedAllocator<U>& /*other*/) {}

  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
  void deallocate(T* p, std::size_t /*n*/) { ::operator delete(p, kAlignment); }

  friend bool operator==(const CacheAlignedAllocator&, const CacheAlignedAllocator&) {
    return true;
  }
};

template <class T>
using AlignedVector = std::vector<T, CacheAlignedAllocator<T>>;

}  // namespace mamba2
