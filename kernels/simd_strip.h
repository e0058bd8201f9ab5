// Helpers shared by the element-wise SIMD kernels (included only from *_simd.cpp files).
#pragma once

#include <cstdint>
#include <cstring>
#include <xsimd/xsimd.hpp>

namespace mamba2::kernels {

// `count` consecutive floats at one offset: a whole batch when kFull, else a ragged tail read and
// written through a zero-padded copy. Every element then sees the same lane arithmetic wherever
// tile edges fall, which keeps tiled calls bit-identical to whole ones; padding lanes read zero.
template <class Batch, bool kFull>
struct Strip {
  int64_t count;

  Batch load(const float* p) const {
    if constexpr (kFull) {
      return Batch::load_unaligned(p);
    } else {
      alignas(64) float padded[Batch::size] = {};
      std::memcpy(padded, p, sizeof(float) * count);
      return Batch::load_aligned(padded);
    }
  }

  void store(const Batch& value, float* p) const {
    if constexpr (kFull) {
      value.store_unaligned(p);
    } else {
      alignas(64) float padded[Batch::size];
      value.store_aligned(padded);
      std::memcpy(p, padded, sizeof(float) * count);
    }
  }
};

// Calls body(strip, i) for the strips covering [0, n), in order.
template <class Batch, class Body>
void for_each_strip(int64_t n, Body&& body) {
  constexpr int64_t kLanes = Batch::size;
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) body(Strip<Batch, true>{kLanes}, i);
  if (i < n) body(Strip<Batch, false>{n - i}, i);
}

template <class Batch>
Batch silu(const Batch& v) {
  return v / (Batch(1.0f) + xsimd::exp(-v));
}

}  // namespace mamba2::kernels
