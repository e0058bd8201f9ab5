// Sixteen horizontal sums at once, for AVX-512 kernels (include only where AVX-512 is enabled).
#pragma once

#include <immintrin.h>

namespace mamba2::kernels {

// Lane i of the result is the sum of v[i]'s lanes. Every vector's lanes meet in the same tree
// whichever slot it takes ((0 + 2) + (1 + 3) within each 128-bit quarter, then the quarters
// pairwise), so an output's bits do not depend on the outputs it is reduced with: about 45
// operations for sixteen sums, where a horizontal sum each takes about 128.
inline __m512 sum_lanes16(const __m512 (&v)[16]) {
  __m512 pairs[8], quads[4], halves[2];
  for (int i = 0; i < 8; ++i) {
    pairs[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]),
                             _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
  }
  for (int i = 0; i < 4; ++i) {
    quads[i] = _mm512_add_ps(_mm512_shuffle_ps(pairs[2 * i], pairs[2 * i + 1], 0x44),
                             _mm512_shuffle_ps(pairs[2 * i], pairs[2 * i + 1], 0xEE));
  }
  for (int i = 0; i < 2; ++i) {
    halves[i] = _mm512_add_ps(_mm512_shuffle_f32x4(quads[2 * i], quads[2 * i + 1], 0x88),
                              _mm512_shuffle_f32x4(quads[2 * i], quads[2 * i + 1], 0xDD));
  }
  return _mm512_add_ps(_mm512_shuffle_f32x4(halves[0], halves[1], 0x88),
                       _mm512_shuffle_f32x4(halves[0], halves[1], 0xDD));
}

}  // namespace mamba2::kernels
