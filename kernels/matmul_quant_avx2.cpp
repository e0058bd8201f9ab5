// matmul_quant's path for AVX2 CPUs (compiled with -mavx2 -mfma -mf16c): ggml's maddubs dot
// product, and the activation quantizer of the AVX2 and AVX-VNNI paths.
#include <cmath>

#include "kernels/quant_formats_avx.h"
#include "quant/float16.h"

namespace mamba2::kernels::quant_detail {
namespace {

// maddubs multiplies unsigned by signed bytes, then madd with ones sums pairs of pairs into int32
// lanes; pairs of products must stay within int16. Signed weights (Q8_0) move their signs onto
// the activations: |w| * (x * sign(w)), at most 2 * 128 * 127. Unsigned ones (at most 63, the
// others' quants plus their bias) multiply directly, and the lane starts take the bias back out.
struct Avx2Ops {
  struct Weights {
    __m256i magnitude;
    __m256i sign;
  };
  template <bool kSigned>
  static Weights weights(__m256i q) {
    if constexpr (kSigned) return {_mm256_sign_epi8(q, q), q};
    return {q, q};
  }
  template <bool kSigned>
  static __m256i dot(const Weights& w, __m256i x, __m256i start) {
    const __m256i ones = _mm256_set1_epi16(1);
    if constexpr (kSigned) {
      return _mm256_madd_epi16(_mm256_maddubs_epi16(w.magnitude, _mm256_sign_epi8(x, w.sign)),
                               ones);
    }
    return _mm256_add_epi32(start, _mm256_madd_epi16(_mm256_maddubs_epi16(w.magnitude, x), ones));
  }
};

// roundf (half away from zero) exactly: truncate, then step away from zero when the dropped
// fraction is at least one half (v - trunc(v) is exact for |v| < 2^23).
__m256 round_half_away(__m256 v) {
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  const __m256 whole = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 fraction = _mm256_andnot_ps(sign_bit, _mm256_sub_ps(v, whole));
  const __m256 step = _mm256_or_ps(_mm256_and_ps(v, sign_bit), _mm256_set1_ps(1.0f));
  const __m256 up = _mm256_cmp_ps(fraction, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
  return _mm256_add_ps(whole, _mm256_and_ps(up, step));
}

// quantize_block_q8_0, vectorized with the same float operations; false, writing nothing, for a
// block holding a NaN (quantize_block_reference's).
bool quantize_block(const float* x, int8_t* quants, float* scale, int32_t* lane_offsets) {
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  __m256 v[4];
  __m256 amax = _mm256_setzero_ps(), unordered = _mm256_setzero_ps();
  for (int i = 0; i < 4; ++i) {
    v[i] = _mm256_loadu_ps(x + 8 * i);
    amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_bit, v[i]));
    unordered = _mm256_or_ps(unordered, _mm256_cmp_ps(v[i], v[i], _CMP_UNORD_Q));
  }
  if (_mm256_movemask_ps(unordered) != 0) return false;
  __m128 m = _mm_max_ps(_mm256_extractf128_ps(amax, 1), _mm256_castps256_ps128(amax));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  const float d = _mm_cvtss_f32(m) / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  __m256i q[4];
  for (int i = 0; i < 4; ++i) {
    q[i] = _mm256_cvttps_epi32(round_half_away(_mm256_mul_ps(v[i], _mm256_set1_ps(id))));
  }
  // Packing interleaves 128-bit lanes; the permute restores element order (as ggml does).
  const __m256i q01 = _mm256_packs_epi32(q[0], q[1]);
  const __m256i q23 = _mm256_packs_epi32(q[2], q[3]);
  const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(q01, q23),
                                                    _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(quants), bytes);
  *scale = f16_to_f32(f32_to_f16(d));
  // Sums of four quants per lane (maddubs with ones, then madd with ones), times -128.
  const __m256i sums =
      _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), bytes), _mm256_set1_epi16(1));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(lane_offsets),
                      _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sums, 7)));
  return true;
}

}  // namespace

void matmul_avx2(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin,
                 int64_t n_end) {
  quant_avx::matmul<Avx2Ops>(args, xq, n_begin, n_end);
}

void quantize_avx2(MatView<const float> x, int64_t t_begin, int64_t t_end, Q8_0Activations& out) {
  const int64_t blocks = out.blocks();
  for (int64_t t = t_begin; t < t_end; ++t) {
    for (int64_t b = 0; b < blocks; ++b) {
      int32_t* lanes = &out.lane_offsets[(t * blocks + b) * 8];
      const float* block = x.row(t) + b * 32;
      if (!quantize_block(block, &out.quants[t * out.k + b * 32], &out.scales[t * blocks + b],
                          lanes)) {
        out.block_offsets[t * blocks + b] = quantize_block_reference(
            block, &out.quants[t * out.k + b * 32], &out.scales[t * blocks + b], lanes);
        continue;
      }
      int32_t block_offset = 0;
      for (int j = 0; j < 8; ++j) block_offset += lanes[j];
      out.block_offsets[t * blocks + b] = block_offset;
    }
  }
}

}  // namespace mamba2::kernels::quant_detail
