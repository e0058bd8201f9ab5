#include "kernels/aligned_vector.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace mamba2 {
namespace {

bool on_cache_line(const void* p) { return reinterpret_cast<uintptr_t>(p) % 64 == 0; }

TEST(AlignedVector, DataStartsOnACacheLineAtEverySize) {
  // Small sizes come from malloc's bins, large ones from mmap (16 bytes past a page boundary
  // with plain malloc): both must be aligned, and stay so as the vector grows.
  AlignedVector<float> grown;
  for (size_t n : {1, 3, 17, 1000, 40'000, 1'000'000}) {
    AlignedVector<float> v(n, 1.0f);
    EXPECT_TRUE(on_cache_line(v.data())) << n << " floats";
    grown.resize(n);
    EXPECT_TRUE(on_cache_line(grown.data())) << "grown to " << n << " floats";
  }
  AlignedVector<int8_t> bytes(4097);
  EXPECT_TRUE(on_cache_line(bytes.data()));
}

}  // namespace
}  // namespace mamba2
