// The VNNI dot product for the AVX-VNNI and AVX512-VNNI Q8_0 paths, parameterised by the
// instruction's intrinsic (_mm256_dpbusd_avx_epi32 or _mm256_dpbusd_epi32) as MAMBA2_DPBUSD.
//
// vpdpbusd multiplies unsigned by signed bytes. The activations become unsigned by adding 128
// (flipping the top bit), and each lane starts at -128 * (sum of its four weights), computed once
// per weight block: start + sum((x + 128) * w) = sum(x * w), exactly.
#pragma once

#include "kernels/matmul_q8_0_avx.h"

namespace mamba2::kernels::q8_0_detail {
namespace {  // one definition per including file, each with its own instruction

struct VnniOps {
  struct Weights {
    __m256i quants;
    __m256i start;
  };
  static Weights weights(__m256i q) {
    const __m256i zero = _mm256_setzero_si256();
    const __m256i offset_sums = MAMBA2_DPBUSD(zero, _mm256_set1_epi8(static_cast<char>(0x80)), q);
    return {q, _mm256_sub_epi32(zero, offset_sums)};
  }
  static __m256i activations(__m256i q) {
    return _mm256_xor_si256(q, _mm256_set1_epi8(static_cast<char>(0x80)));
  }
  static __m256i dot(const Weights& w, __m256i x) { return MAMBA2_DPBUSD(w.start, x, w.quants); }
};

}  // namespace
}  // namespace mamba2::kernels::q8_0_detail
