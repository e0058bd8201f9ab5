// Compiled with -mavxvnni; called only after the run-time CPU check.
#include <immintrin.h>

#include "kernels/peak_probes.h"

namespace mamba2::kernels {

int64_t vnni_probe_avxvnni(int64_t iterations, int32_t* sink) {
  constexpr int kChains = 12;  // latency (5) x ports (2); fits 16 registers with the operands
  const __m256i a = _mm256_set1_epi8(static_cast<char>(1 + (*sink & 1)));
  const __m256i b = _mm256_set1_epi8(static_cast<char>(-1));
  __m256i acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_epi32(c);
  for (int64_t i = 0; i < iterations; ++i) {
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_dpbusd_avx_epi32(acc[c], a, b);
  }
  __m256i total = acc[0];
  for (int c = 1; c < kChains; ++c) total = _mm256_add_epi32(total, acc[c]);
  alignas(32) int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), total);
  for (int32_t lane : lanes) *sink ^= lane;  // xor: the lanes may wrap
  return iterations * kChains * 64;
}

}  // namespace mamba2::kernels
