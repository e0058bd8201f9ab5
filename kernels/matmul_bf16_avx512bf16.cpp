// The kAvx512Bf16 path (see matmul_bf16.h), compiled with -mavx512f -mavx512bw -mavx512vl
// -mavx512bf16: vdpbf16ps over bf16 weights and activations rounded to bf16.
#include <immintrin.h>

#include <algorithm>

#include "kernels/bf16_row_pieces.h"
#include "kernels/matmul_bf16.h"
#include "kernels/matmul_tiling.h"
#include "kernels/sum_lanes16.h"

namespace mamba2::kernels::bf16_detail {
namespace {

using kernels::unroll;

constexpr int64_t kStep = 32;  // bf16 values per 512-bit register

// f32_to_bf16 on 16 floats: round to nearest even; a NaN keeps its top bits with the quiet bit set.
__m256i round_to_bf16(__m512 x) {
  const __m512i bits = _mm512_castps_si512(x);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  const __m512i rounded = _mm512_srli_epi32(
      _mm512_add_epi32(bits, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
  const __mmask16 nan = _mm512_cmp_epi32_mask(_mm512_and_si512(bits, _mm512_set1_epi32(0x7fffffff)),
                                              _mm512_set1_epi32(0x7f800000), _MM_CMPINT_NLE);
  const __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(64));
  return _mm512_cvtepi32_epi16(_mm512_mask_blend_epi32(nan, rounded, quiet));
}

// kRows rows by kTokens tokens, one 16-lane accumulator each. W as stored or in the tile layout
// (each row read piece by piece, 32 inputs a step, through Bf16RowPieces: four rows of a group
// are four neighbouring lines of one tile); a K that is not whole steps ends with a masked
// step (rows as stored only), whose activations are zero-padded.
template <int kRows, int kTokens>
void tile(const MatmulOperands& args, const Bf16Activations& xp, const Bf16RowPieces& pieces,
          int64_t row, int64_t t0) {
  constexpr int kSlots = kRows * kTokens;  // accumulator of (r, t) in slot t * kRows + r
  const int64_t k = args.k();
  const uint16_t* w[kRows];
  int64_t step[kRows];
  unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
    w[r] = pieces.row(row + r);
    step[r] = pieces.step(row + r);
  });
  const int64_t padded_k = xp.padded_k;
  const uint16_t* x_rows = xp.bf16.data() + t0 * padded_k;  // [kTokens, padded_k]
  __m512 acc[kSlots];
  unroll<kSlots>([&](auto i) MAMBA2_ALWAYS_INLINE { acc[i] = _mm512_setzero_ps(); });
  const auto one_step = [&](int64_t i, __mmask32 mask) MAMBA2_ALWAYS_INLINE {
    __m512i wv[kRows];
    unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
      wv[r] = _mm512_maskz_loadu_epi16(mask, w[r]);
      w[r] += step[r];
    });
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
      const __m512i x = _mm512_loadu_si512(x_rows + t * padded_k + i);
      unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
        acc[t * kRows + r] = _mm512_dpbf16_ps(acc[t * kRows + r], reinterpret_cast<__m512bh>(wv[r]),
                                              reinterpret_cast<__m512bh>(x));
      });
    });
  };
  const int64_t whole = k - k % kStep;
  for (int64_t i = 0; i < whole; i += kStep) one_step(i, ~__mmask32{0});
  if (whole < k) one_step(whole, (__mmask32{1} << (k - whole)) - 1);
  alignas(64) float sums[(kSlots + 15) / 16 * 16];
  for (int first = 0; first < kSlots; first += 16) {
    __m512 group[16];
    for (int i = 0; i < 16; ++i)
      group[i] = first + i < kSlots ? acc[first + i] : _mm512_setzero_ps();
    _mm512_store_ps(sums + first, sum_lanes16(group));
  }
  for (int t = 0; t < kTokens; ++t) {
    float* y = args.y.row(t0 + t) + row;
    for (int r = 0; r < kRows; ++r) {
      const float sum = sums[t * kRows + r];
      y[r] = args.bias ? sum + args.bias[row + r] : sum;
    }
  }
}

}  // namespace

void to_bf16_avx512(MatView<const float> x, int64_t t_begin, int64_t t_end, Bf16Activations& out) {
  for (int64_t t = t_begin; t < t_end; ++t) {
    const float* row = x.row(t);
    uint16_t* dst = &out.bf16[t * out.padded_k];
    for (int64_t i = 0; i < out.padded_k; i += 16) {
      const int64_t left = std::clamp<int64_t>(out.k - i, 0, 16);
      const __mmask16 mask = static_cast<__mmask16>((uint32_t{1} << left) - 1);
      const __m512 v = _mm512_maskz_loadu_ps(mask, row + i);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), round_to_bf16(v));
    }
  }
}

void to_bf16_pairs_avx512(MatView<const float> x, int64_t t_begin, int64_t t_end,
                          Bf16Activations& out) {
  // [padded_tokens / 16, padded_k / 2, 16]: pair p of token t at pair_at(t, p).
  uint32_t* pairs = reinterpret_cast<uint32_t*>(out.bf16.data());
  const int64_t group = out.padded_k / 2 * 16;  // pairs per 16-token group
  const auto pair_at = [&](int64_t t, int64_t p) { return t / 16 * group + p * 16 + t % 16; };
  alignas(64) uint32_t rounded[8];
  const auto one_token = [&](int64_t t) {
    const float* row = x.row(t);
    for (int64_t i = 0; i < out.padded_k; i += 16) {
      const int64_t left = std::clamp<int64_t>(out.k - i, 0, 16);
      const __mmask16 mask = static_cast<__mmask16>((uint32_t{1} << left) - 1);
      _mm256_store_si256(reinterpret_cast<__m256i*>(rounded),
                         round_to_bf16(_mm512_maskz_loadu_ps(mask, row + i)));
      for (int64_t p = 0; p < 8; ++p) pairs[pair_at(t, i / 2 + p)] = rounded[p];
    }
  };
  // Whole 16-token groups at once: their 16 inputs from i rounded to 8 pairs each, transposed in
  // registers into 8 pair rows of 16 tokens (512 bytes in one piece) instead of 128 scattered
  // stores. A range that starts or ends inside a group does those tokens one by one.
  int64_t t = t_begin;
  for (; t < t_end && t % 16 != 0; ++t) one_token(t);
  const __m512i low_lanes = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
  const __m512i high_lanes = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
  for (; t + 16 <= t_end; t += 16) {
    for (int64_t i = 0; i < out.padded_k; i += 16) {
      const int64_t left = std::clamp<int64_t>(out.k - i, 0, 16);
      const __mmask16 mask = static_cast<__mmask16>((uint32_t{1} << left) - 1);
      __m512i z[8];  // z[j]: token t + j's 8 pairs, then token t + 8 + j's
      for (int j = 0; j < 8; ++j) {
        const __m256i lo = round_to_bf16(_mm512_maskz_loadu_ps(mask, x.row(t + j) + i));
        const __m256i hi = round_to_bf16(_mm512_maskz_loadu_ps(mask, x.row(t + 8 + j) + i));
        z[j] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
      }
      // An 8 x 8 transpose in each 256-bit half (tokens t.. and t + 8..) at once.
      __m512i a[8], b[8];
      for (int j = 0; j < 8; j += 2) {
        a[j] = _mm512_unpacklo_epi32(z[j], z[j + 1]);
        a[j + 1] = _mm512_unpackhi_epi32(z[j], z[j + 1]);
      }
      for (int j = 0; j < 8; j += 4) {
        b[j] = _mm512_unpacklo_epi64(a[j], a[j + 2]);      // 128-bit lanes: pairs 0, 4 of 4 tokens
        b[j + 1] = _mm512_unpackhi_epi64(a[j], a[j + 2]);  // pairs 1, 5
        b[j + 2] = _mm512_unpacklo_epi64(a[j + 1], a[j + 3]);  // pairs 2, 6
        b[j + 3] = _mm512_unpackhi_epi64(a[j + 1], a[j + 3]);  // pairs 3, 7
      }
      uint32_t* dst = pairs + pair_at(t, i / 2);  // [8, 16]
      for (int p = 0; p < 4; ++p) {
        _mm512_store_si512(dst + p * 16, _mm512_permutex2var_epi64(b[p], low_lanes, b[p + 4]));
        _mm512_store_si512(dst + (p + 4) * 16,
                           _mm512_permutex2var_epi64(b[p], high_lanes, b[p + 4]));
      }
    }
  }
  for (; t < t_end; ++t) one_token(t);
}

// Four rows by six tokens: 24 accumulators, four weight registers, one activation.
void matmul_avx512bf16(const MatmulOperands& args, const Bf16Activations& prepared, int64_t n_begin,
                       int64_t n_end) {
  constexpr int64_t kTileBytes = 64 * 1024;
  const Bf16RowPieces pieces(args.w);
  for_each_block<4, 6>(n_begin, n_end, args.tokens(), 2 * args.k(), kTileBytes,
                       [&](auto rows, auto count, int64_t row, int64_t t0) {
                         tile<rows, count>(args, prepared, pieces, row, t0);
                       });
}

}  // namespace mamba2::kernels::bf16_detail
