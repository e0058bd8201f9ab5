// dequantize_simd.h's floats 16 to a register (compiled with -mavx512f -mf16c; checked by CPUID
// first).
#include "quant/dequantize_isa.h"
#include "quant/dequantize_simd.h"

namespace mamba2::dequantize_detail {
namespace {

struct Avx512 {
  static __m512 floats(__m128i q) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)); }
  static void mul(float* y, __m128i q, float s) {
    _mm512_storeu_ps(y, _mm512_mul_ps(floats(q), _mm512_set1_ps(s)));
  }
  static void mul_add(float* y, __m128i q, float s, float m) {
    _mm512_storeu_ps(y,
                     _mm512_add_ps(_mm512_mul_ps(floats(q), _mm512_set1_ps(s)), _mm512_set1_ps(m)));
  }
  static void mul_sub(float* y, __m128i q, float s, float m) {
    _mm512_storeu_ps(y,
                     _mm512_sub_ps(_mm512_mul_ps(floats(q), _mm512_set1_ps(s)), _mm512_set1_ps(m)));
  }
};

}  // namespace

bool dequantize_blocks_avx512(DType type, const std::byte* src, float* dst, int64_t blocks) {
  return dequantize_blocks_with<Avx512>(type, src, dst, blocks);
}

}  // namespace mamba2::dequantize_detail
