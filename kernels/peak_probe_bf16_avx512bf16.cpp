// Compiled with -mavx512bf16; called only after the run-time CPU check.
#include <immintrin.h>

#include "kernels/peak_probes.h"

namespace mamba2::kernels {

int64_t bf16_probe_avx512bf16(int64_t iterations, float* sink) {
  constexpr int kChains = 12;  // latency (about 6) x ports, with room to spare in 32 registers
  const __m512bh a =
      _mm512_cvtne2ps_pbh(_mm512_set1_ps(*sink * 0.0f + 1e-3f), _mm512_set1_ps(1e-3f));
  const __m512bh b =
      _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(*sink * 0.0f + 1e-3f));
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(float(c));
  for (int64_t i = 0; i < iterations; ++i) {
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbf16_ps(acc[c], a, b);
  }
  __m512 total = acc[0];
  for (int c = 1; c < kChains; ++c) total = _mm512_add_ps(total, acc[c]);
  *sink += _mm512_reduce_add_ps(total);
  return iterations * kChains * 64;
}

}  // namespace mamba2::kernels
