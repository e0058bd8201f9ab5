// Sixteen horizontal sums (or maxima) at once, for AVX-512 kernels (include only where AVX-512 is
// enabled).
#pragma once

#include <immintrin.h>

namespace mamba2::kernels {

// Lane i of the result is `combine` over v[i]'s lanes. Every vector's lanes meet in the same tree
// whichever slot it takes ((0 + 2) + (1 + 3) within each 128-bit quarter, then the quarters
// pairwise), so an output's bits do not depend on the outputs it is reduced with: about 45
// operations for sixteen reductions, where a horizontal one each takes about 128.
template <class Combine>
inline __m512 reduce_lanes16(const __m512 (&v)[16], Combine combine) {
  __m512 pairs[8], quads[4], halves[2];
  for (int i = 0; i < 8; ++i) {
    pairs[i] = combine(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]),
                       _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
  }
  for (int i = 0; i < 4; ++i) {
    quads[i] = combine(_mm512_shuffle_ps(pairs[2 * i], pairs[2 * i + 1], 0x44),
                       _mm512_shuffle_ps(pairs[2 * i], pairs[2 * i + 1], 0xEE));
  }
  for (int i = 0; i < 2; ++i) {
    halves[i] = combine(_mm512_shuffle_f32x4(quads[2 * i], quads[2 * i + 1], 0x88),
                        _mm512_shuffle_f32x4(quads[2 * i], quads[2 * i + 1], 0xDD));
  }
  return combine(_mm512_shuffle_f32x4(halves[0], halves[1], 0x88),
                 _mm512_shuffle_f32x4(halves[0], halves[1], 0xDD));
}

// Lane i of the result is the sum of v[i]'s lanes.
inline __m512 sum_lanes16(const __m512 (&v)[16]) {
  return reduce_lanes16(v, [](__m512 a, __m512 b) { return _mm512_add_ps(a, b); });
}

// Lane i of the result is the largest of v[i]'s lanes (for vectors without NaNs).
inline __m512 max_lanes16(const __m512 (&v)[16]) {
  return reduce_lanes16(v, [](__m512 a, __m512 b) { return _mm512_max_ps(a, b); });
}

}  // namespace mamba2::kernels
