// The VNNI dot product for the AVX-VNNI and AVX512-VNNI Q8_0 paths, parameterised by the
// instruction's intrinsic (_mm256_dpbusd_avx_epi32 or _mm256_dpbusd_epi32) as MAMBA2_DPBUSD.
//
// vpdpbusd multiplies unsigned by signed bytes. The weights become unsigned by adding 128
// (flipping the top bit), and each lane starts at -128 * (sum of its four activations), computed
// once per activation block when the activations are quantized (Q8_0Activations::lane_offsets):
// start + sum((w + 128) * x) = sum(w * x), exactly. The start belongs to the activations, so a
// GEMV, one token against many rows, pays nothing per row for it.
#pragma once

#include "kernels/matmul_q8_0_avx.h"

namespace mamba2::kernels::q8_0_detail {
namespace {  // one definition per including file, each with its own instruction

struct VnniOps {
  using Weights = __m256i;
  struct Activations {
    __m256i quants;
    __m256i start;
  };
  static __m256i weights(__m256i q) {
    return _mm256_xor_si256(q, _mm256_set1_epi8(static_cast<char>(0x80)));
  }
  static Activations activations(const int8_t* quants, const int32_t* lane_offsets) {
    return {q8_0_avx::load_quants(quants), q8_0_avx::load_quants(lane_offsets)};
  }
  static __m256i dot(__m256i w, const Activations& x) {
    return MAMBA2_DPBUSD(x.start, w, x.quants);
  }
};

}  // namespace
}  // namespace mamba2::kernels::q8_0_detail
