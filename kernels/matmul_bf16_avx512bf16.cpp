// The kAvx512Bf16 path (see matmul_bf16.h), compiled with -mavx512f -mavx512bw -mavx512vl
// -mavx512bf16: vdpbf16ps over bf16 weights and activations rounded to bf16.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/bf16_row_pieces.h"
#include "kernels/matmul_bf16.h"
#include "kernels/matmul_tiling.h"

namespace mamba2::kernels::bf16_detail {
namespace {

using kernels::unroll;

constexpr int64_t kStep = 32;  // bf16 values per 512-bit register
// Each row's piece this many steps ahead is asked for as a step begins. A prompt's first group
// of tokens meets the weights straight from memory, eight rows a tile apart, a pattern the
// hardware prefetchers do not follow: without it, 130m bf16 pp64 ran 0.78x and pp512 0.95x
// (Zen 5, 2 threads; 2, 4 and 8 steps ahead alike), and one core's 64-token in_proj from memory
// 0.87x (bench_matmul_quant BM_Bf16Tiles/0/64/2/1/1).
constexpr int64_t kPrefetchPieces = 4;

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

// kRows rows by kGroups groups of 16 tokens, an outer product: the accumulator of (r, g) holds
// row r's output for the group's 16 tokens, one per lane. Each step takes one pair of inputs:
// the 16 tokens' pairs (one load of the pair layout) by the row's pair (a broadcast), so a row's
// output is complete in its lanes, with no sums across lanes. W as stored or in the tile layout,
// through Bf16RowPieces; a K that is not whole pieces ends pair by pair (an odd last input
// alone: past K the row holds other data, which must not meet even a zero activation).
template <int kRows, int kGroups>
void outer_tile(const MatmulOperands& args, const Bf16Activations& xp, const Bf16RowPieces& pieces,
                int64_t row, int64_t g0) {
  const int64_t k = args.k();
  const int64_t group_words = xp.padded_k / 2 * 16;  // a group's pairs: [padded_k / 2][16]
  const auto* x = reinterpret_cast<const uint32_t*>(xp.bf16.data()) + g0 * group_words;
  const uint16_t* w[kRows];
  int64_t step[kRows];
  unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
    w[r] = pieces.row(row + r);
    step[r] = pieces.step(row + r);
  });
  __m512 acc[kRows][kGroups];
  unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
    unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE { acc[r][g] = _mm512_setzero_ps(); });
  });
  // Pair p (of the piece the rows point at) against word[r], row r's pair.
  const auto pair_step = [&](const uint32_t* x_pair,
                             const uint32_t(&word)[kRows]) MAMBA2_ALWAYS_INLINE {
    __m512i xv[kGroups];
    unroll<kGroups>(
        [&](auto g) MAMBA2_ALWAYS_INLINE { xv[g] = _mm512_load_si512(x_pair + g * group_words); });
    unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
      const __m512i wv = _mm512_set1_epi32(static_cast<int>(word[r]));
      unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
        acc[r][g] = _mm512_dpbf16_ps(acc[r][g], reinterpret_cast<__m512bh>(xv[g]),
                                     reinterpret_cast<__m512bh>(wv));
      });
    });
  };
  const int64_t pieces_whole = k / kStep;
  for (int64_t s = 0; s < pieces_whole; ++s) {
    unroll<kRows>(
        [&](auto r) MAMBA2_ALWAYS_INLINE { __builtin_prefetch(w[r] + kPrefetchPieces * step[r]); });
    for (int64_t j = 0; j < kStep / 2; ++j) {
      uint32_t word[kRows];
      unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE { std::memcpy(&word[r], w[r] + 2 * j, 4); });
      pair_step(x + (s * kStep / 2 + j) * 16, word);
    }
    unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE { w[r] += step[r]; });
  }
  const int64_t rest = k - pieces_whole * kStep;
  for (int64_t j = 0; 2 * j < rest; ++j) {
    uint32_t word[kRows];
    unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
      word[r] = w[r][2 * j];
      if (2 * j + 1 < rest) word[r] |= uint32_t{w[r][2 * j + 1]} << 16;
    });
    pair_step(x + (pieces_whole * kStep / 2 + j) * 16, word);
  }
  alignas(64) float out[kRows][kGroups * 16];
  unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
    unroll<kGroups>([&](auto g)
                        MAMBA2_ALWAYS_INLINE { _mm512_store_ps(&out[r][g * 16], acc[r][g]); });
  });
  const int64_t t0 = g0 * 16;
  const int64_t tokens = std::min<int64_t>(kGroups * 16, args.tokens() - t0);
  for (int64_t t = 0; t < tokens; ++t) {
    float* y = args.y.row(t0 + t) + row;
    for (int r = 0; r < kRows; ++r) y[r] = args.bias ? out[r][t] + args.bias[row + r] : out[r][t];
  }
}

}  // namespace

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

// Eight rows by two groups of 16 tokens: 16 accumulators, two activation registers and a
// broadcast weight pair. Two groups divide a 256-token chunk and a 64-token prompt evenly (three
// left a one-group block, 1.4x slower per token); at 64 tokens 95-99 % of the vdpbf16ps peak
// from cache (bench_matmul_quant BM_Bf16Tiles, Zen 5, one core), six rows by four 81-98 %.
void matmul_avx512bf16(const MatmulOperands& args, const Bf16Activations& prepared, int64_t n_begin,
                       int64_t n_end) {
  constexpr int64_t kTileBytes = 64 * 1024;
  const Bf16RowPieces pieces(args.w);
  const int64_t groups = (args.tokens() + 15) / 16;
  for_each_block<8, 2>(n_begin, n_end, groups, 2 * args.k(), kTileBytes,
                       [&](auto rows, auto count, int64_t row, int64_t g0) {
                         outer_tile<rows, count>(args, prepared, pieces, row, g0);
                       });
}

}  // namespace mamba2::kernels::bf16_detail
