// The VNNI dot product for the AVX-VNNI and AVX512-VNNI paths of matmul_quant, parameterised by
// the instruction's intrinsic (_mm256_dpbusd_avx_epi32 or _mm256_dpbusd_epi32) as MAMBA2_DPBUSD.
//
// vpdpbusd multiplies unsigned by signed bytes. Signed weights (Q8_0) become unsigned by adding
// 128 (flipping the top bit); the other types' quants are unsigned already, their signed value
// plus a bias. Each lane starts at -bias * (sum of its four activations), from the offsets
// computed once per activation block when the activations are quantized
// (Q8_0Activations::lane_offsets): start + sum((w + bias) * x) = sum(w * x), exactly. The start
// belongs to the activations, so a GEMV, one token against many rows, pays nothing per row for it.
#pragma once

#include "kernels/quant_formats_avx.h"

namespace mamba2::kernels::quant_detail {
namespace {  // one definition per including file, each with its own instruction

struct VnniOps {
  using Weights = __m256i;
  template <bool kSigned>
  static __m256i weights(__m256i q) {
    if constexpr (kSigned) return _mm256_xor_si256(q, _mm256_set1_epi8(static_cast<char>(0x80)));
    return q;
  }
  template <bool kSigned>
  static __m256i dot(__m256i w, __m256i x, __m256i start) {
    return MAMBA2_DPBUSD(start, w, x);
  }
};

}  // namespace
}  // namespace mamba2::kernels::quant_detail
