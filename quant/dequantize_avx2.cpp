// dequantize_simd.h's floats 8 to a register (compiled with -mavx2 -mf16c; checked by CPUID first).
#include "quant/dequantize_isa.h"
#include "quant/dequantize_simd.h"

namespace mamba2::dequantize_detail {
namespace {

struct Avx2 {
  // Weights 0..7 and 8..15 of the 16 signed bytes.
  static __m256 floats(__m128i q) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)); }
  template <class Op>
  static void each_half(float* y, __m128i q, Op op) {
    _mm256_storeu_ps(y, op(floats(q)));
    _mm256_storeu_ps(y + 8, op(floats(_mm_srli_si128(q, 8))));
  }
  static void mul(float* y, __m128i q, float s) {
    const __m256 sv = _mm256_set1_ps(s);
    each_half(y, q, [&](__m256 v) { return _mm256_mul_ps(v, sv); });
  }
  static void mul_add(float* y, __m128i q, float s, float m) {
    const __m256 sv = _mm256_set1_ps(s), mv = _mm256_set1_ps(m);
    each_half(y, q, [&](__m256 v) { return _mm256_add_ps(_mm256_mul_ps(v, sv), mv); });
  }
  static void mul_sub(float* y, __m128i q, float s, float m) {
    const __m256 sv = _mm256_set1_ps(s), mv = _mm256_set1_ps(m);
    each_half(y, q, [&](__m256 v) { return _mm256_sub_ps(_mm256_mul_ps(v, sv), mv); });
  }
};

}  // namespace

bool dequantize_blocks_avx2(DType type, const std::byte* src, float* dst, int64_t blocks) {
  return dequantize_blocks_with<Avx2>(type, src, dst, blocks);
}

}  // namespace mamba2::dequantize_detail
