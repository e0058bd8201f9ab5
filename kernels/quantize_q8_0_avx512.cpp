// The activation quantizer of the AVX512-VNNI path (compiled with -mavx512f -mavx512bw
// -mavx512dq -mavx512vl -mavx512vnni -mf16c): sixteen blocks of 32 inputs at a time, their
// maxima reduced together into one vector, so that the scale, its f16 rounding and the
// reciprocal are one instruction each for all sixteen instead of a horizontal reduction and two
// scalar conversions per block. The float operations are quantize_block_q8_0's, so the bytes are
// too; a block holding a NaN goes to that function itself (quantize_block_reference).
#include <immintrin.h>

#include <algorithm>

#include "kernels/matmul_quant.h"
#include "kernels/sum_lanes16.h"
#include "quant/q8_0.h"

namespace mamba2::kernels::quant_detail {
namespace {

constexpr int kGroup = 16;  // blocks per pass: one lane each

// roundf (half away from zero) exactly: truncate, then step away from zero when the dropped
// fraction is at least one half (v - trunc(v) is exact for |v| < 2^23).
__m512 round_half_away(__m512 v) {
  const __m512 whole = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m512 fraction = _mm512_abs_ps(_mm512_sub_ps(v, whole));
  const __m512 step = _mm512_or_ps(_mm512_and_ps(v, _mm512_set1_ps(-0.0f)), _mm512_set1_ps(1.0f));
  const __mmask16 up = _mm512_cmp_ps_mask(fraction, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  return _mm512_mask_add_ps(whole, up, whole, step);
}

// 32 inputs times id into int8 (cvttps2dq and signed saturation: a NaN or an infinity becomes
// -128, as in quantize_block_q8_0).
__m256i quantize_32(const float* x, __m512 id) {
  const __m512i low = _mm512_cvttps_epi32(round_half_away(_mm512_mul_ps(_mm512_loadu_ps(x), id)));
  const __m512i high =
      _mm512_cvttps_epi32(round_half_away(_mm512_mul_ps(_mm512_loadu_ps(x + 16), id)));
  return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm512_cvtsepi32_epi8(low)),
                                 _mm512_cvtsepi32_epi8(high), 1);
}

// Blocks [first, first + count) of one token, count <= 16.
void quantize_group(const float* x, int64_t first, int count, int8_t* quants, float* scales,
                    int32_t* lane_offsets, int32_t* block_offsets) {
  __m512 magnitude[kGroup];
  __mmask16 has_nan = 0;
  for (int j = 0; j < kGroup; ++j) {
    if (j >= count) {
      magnitude[j] = _mm512_setzero_ps();
      continue;
    }
    const float* block = x + (first + j) * kQ8_0BlockElems;
    const __m512 low = _mm512_loadu_ps(block), high = _mm512_loadu_ps(block + 16);
    magnitude[j] = _mm512_max_ps(_mm512_abs_ps(low), _mm512_abs_ps(high));
    const bool nan = _mm512_cmp_ps_mask(low, high, _CMP_UNORD_Q) != 0;
    has_nan = static_cast<__mmask16>(has_nan | (nan ? 1u << j : 0u));
  }
  const __m512 amax = max_lanes16(magnitude);
  const __m512 d = _mm512_div_ps(amax, _mm512_set1_ps(127.0f));
  const __m512 id = _mm512_maskz_div_ps(_mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_NEQ_OQ),
                                        _mm512_set1_ps(1.0f), d);
  // The scale as its f16 holds it (round to nearest even; d is finite or infinite here).
  alignas(64) float rounded_d[kGroup];
  _mm512_store_ps(rounded_d, _mm512_cvtph_ps(_mm512_cvtps_ph(
                                 d, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
  const __m256i ones = _mm256_set1_epi8(1);
  for (int j = 0; j < count; ++j) {
    const int64_t b = first + j;
    int32_t* lanes = lane_offsets + b * 8;
    if (has_nan >> j & 1) {
      block_offsets[b] = quantize_block_reference(x + b * kQ8_0BlockElems,
                                                  quants + b * kQ8_0BlockElems, scales + b, lanes);
      continue;
    }
    const __m256i bytes =
        quantize_32(x + b * kQ8_0BlockElems, _mm512_permutexvar_ps(_mm512_set1_epi32(j), id));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(quants + b * kQ8_0BlockElems), bytes);
    scales[b] = rounded_d[j];
    // Sums of four quants per lane (ones times the signed bytes), times -128.
    const __m256i sums =
        _mm256_slli_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), ones, bytes), 7);
    const __m256i offsets = _mm256_sub_epi32(_mm256_setzero_si256(), sums);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes), offsets);
    __m128i total =
        _mm_add_epi32(_mm256_castsi256_si128(offsets), _mm256_extracti128_si256(offsets, 1));
    total = _mm_add_epi32(total, _mm_shuffle_epi32(total, 0x4E));
    total = _mm_add_epi32(total, _mm_shuffle_epi32(total, 0xB1));
    block_offsets[b] = _mm_cvtsi128_si32(total);
  }
}

}  // namespace

void quantize_avx512(MatView<const float> x, int64_t t_begin, int64_t t_end, Q8_0Activations& out) {
  const int64_t blocks = out.blocks();
  for (int64_t t = t_begin; t < t_end; ++t) {
    for (int64_t first = 0; first < blocks; first += kGroup) {
      const int count = static_cast<int>(std::min<int64_t>(kGroup, blocks - first));
      quantize_group(x.row(t), first, count, &out.quants[t * out.k], &out.scales[t * blocks],
                     &out.lane_offsets[t * blocks * 8], &out.block_offsets[t * blocks]);
    }
  }
}

}  // namespace mamba2::kernels::quant_detail
