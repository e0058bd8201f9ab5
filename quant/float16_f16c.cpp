// f16_row_to_f32's F16C path (compiled with -mavx -mf16c; float16.cpp checks the CPU first).
#include <immintrin.h>

#include <cstring>

#include "quant/float16.h"

namespace mamba2::float16_detail {

void f16_row_to_f32_f16c(const std::byte* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i halves = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(halves));
  }
  for (; i < n; ++i) {
    uint16_t bits;
    std::memcpy(&bits, src + 2 * i, sizeof bits);
    dst[i] = f16_to_f32(bits);
  }
}

}  // namespace mamba2::float16_detail
