// Compiled with -mavx512vnni; called only after the run-time CPU check.
#include <immintrin.h>

#include "kernels/peak_probes.h"

namespace mamba2::kernels {

int64_t vnni_probe_avx512vnni(int64_t iterations, int32_t* sink) {
  constexpr int kChains = 12;  // latency (5) x ports (2), with room to spare in 32 registers
  const __m512i a = _mm512_set1_epi8(static_cast<char>(1 + (*sink & 1)));
  const __m512i b = _mm512_set1_epi8(static_cast<char>(-1));
  __m512i acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_epi32(c);
  for (int64_t i = 0; i < iterations; ++i) {
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbusd_epi32(acc[c], a, b);
  }
  __m512i total = acc[0];
  for (int c = 1; c < kChains; ++c) total = _mm512_add_epi32(total, acc[c]);
  // xor of the stored lanes: their sum may overflow (GCC's _mm512_reduce_add_epi32 adds scalars).
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, total);
  for (int32_t lane : lanes) *sink ^= lane;
  return iterations * kChains * 128;
}

}  // namespace mamba2::kernels
