// widen_row_to_f32's f16 path (compiled with -mavx -mf16c).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/widen_row.h"
#include "quant/float16.h"

namespace mamba2::kernels::widen_detail {

void widen_f16_f16c(const std::byte* src, float* dst, int64_t n) {
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

}  // namespace mamba2::kernels::widen_detail
