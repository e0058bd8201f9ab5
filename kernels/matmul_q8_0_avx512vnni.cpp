// Q8_0 path for CPUs with AVX512-VNNI (compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl
// -mavx512vnni -mfma -mf16c).
//
// GEMV uses the shared 256-bit tiles (it is bound by the weight bytes). GEMM puts two rows in one
// 512-bit register, row r in the low eight lanes and row r + 1 in the high eight, each lane doing
// exactly what its 256-bit twin does (the same dpbusd lane, cvt, scale product and fma), so the
// results keep the bits of every other path while one instruction covers 64 weights.
#define MAMBA2_DPBUSD _mm256_dpbusd_epi32
#include "kernels/matmul_q8_0_vnni.h"

namespace mamba2::kernels::q8_0_detail {
namespace {

using q8_0_avx::kBlockBytes;

__m256i load_block_quants(const std::byte* block) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + sizeof(uint16_t)));
}

// kPairs pairs of rows from `row` times kTokens tokens from `t0`.
template <int kPairs, int kTokens>
void pair_tile(const TypedMatmulArgs& args, const Q8_0Activations& xq, int64_t row, int64_t t0) {
  const int64_t blocks = xq.blocks();
  const int64_t row_bytes = blocks * kBlockBytes;
  const std::byte* w = args.w + row * row_bytes;
  const int8_t* x_quants = xq.quants.data() + t0 * xq.k;                // [kTokens, K]
  const float* x_scales = xq.scales.data() + t0 * blocks;               // [kTokens, K / 32]
  const int32_t* x_offsets = xq.lane_offsets.data() + t0 * blocks * 8;  // [kTokens, K / 32, 8]
  const __m512i offset = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512 acc[kPairs][kTokens];
  unroll<kPairs>([&](auto p) MAMBA2_ALWAYS_INLINE {
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE { acc[p][t] = _mm512_setzero_ps(); });
  });
  for (int64_t b = 0; b < blocks; ++b) {
    __m512i quants[kPairs];
    __m512 dw[kPairs];
    unroll<kPairs>([&](auto p) MAMBA2_ALWAYS_INLINE {
      const std::byte* low = w + 2 * p * row_bytes + b * kBlockBytes;
      const std::byte* high = low + row_bytes;
      // The weights plus 128, unsigned: see matmul_q8_0_vnni.h.
      quants[p] =
          _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(load_block_quants(low)),
                                              load_block_quants(high), 1),
                           offset);
      dw[p] = _mm512_insertf32x8(_mm512_set1_ps(q8_0_avx::block_scale(low)),
                                 _mm256_set1_ps(q8_0_avx::block_scale(high)), 1);
    });
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
      const __m256i x_block =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x_quants + t * xq.k + b * 32));
      const __m512i x = _mm512_broadcast_i64x4(x_block);
      const __m512i start = _mm512_broadcast_i64x4(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x_offsets + (t * blocks + b) * 8)));
      const __m512 dx = _mm512_set1_ps(x_scales[t * blocks + b]);
      unroll<kPairs>([&](auto p) MAMBA2_ALWAYS_INLINE {
        const __m512 isum = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(start, quants[p], x));
        acc[p][t] = _mm512_fmadd_ps(isum, _mm512_mul_ps(dw[p], dx), acc[p][t]);
      });
    });
  }
  unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
    float* y = args.y + (t0 + t) * args.ld_y + row;
    unroll<kPairs>([&](auto p) MAMBA2_ALWAYS_INLINE {
      const float low = q8_0_avx::sum_lanes(_mm512_castps512_ps256(acc[p][t]));
      const float high = q8_0_avx::sum_lanes(_mm512_extractf32x8_ps(acc[p][t], 1));
      y[2 * p] = args.bias ? low + args.bias[row + 2 * p] : low;
      y[2 * p + 1] = args.bias ? high + args.bias[row + 2 * p + 1] : high;
    });
  });
}

template <int kPairs, int kMaxTokens>
void pair_tile_tokens(const TypedMatmulArgs& args, const Q8_0Activations& xq, int64_t row,
                      int64_t t0, int64_t tokens) {
  if constexpr (kMaxTokens > 1) {
    if (tokens == kMaxTokens) return pair_tile<kPairs, kMaxTokens>(args, xq, row, t0);
    return pair_tile_tokens<kPairs, kMaxTokens - 1>(args, xq, row, t0, tokens);
  } else {
    pair_tile<kPairs, 1>(args, xq, row, t0);
  }
}

}  // namespace

void matmul_avx512vnni(const TypedMatmulArgs& args, const Q8_0Activations& xq, int64_t n_begin,
                       int64_t n_end) {
  if (args.tokens == 1) return q8_0_avx::matmul<VnniOps>(args, xq, n_begin, n_end);
  // Two pairs of rows by six tokens: twelve accumulators plus the pairs' quants, lane starts and
  // scales fit the 32 registers.
  constexpr int kPairs = 2, kTokens = 8, kRows = 2 * kPairs;
  const int64_t row_bytes = xq.blocks() * kBlockBytes;
  const int64_t tile_rows = std::max<int64_t>(
      kRows, q8_0_avx::kTileBytes / std::max<int64_t>(row_bytes, 1) / kRows * kRows);
  for (int64_t r0 = n_begin; r0 < n_end; r0 += tile_rows) {
    const int64_t r1 = std::min(n_end, r0 + tile_rows);
    for (int64_t t0 = 0; t0 < args.tokens; t0 += kTokens) {
      const int64_t tokens = std::min<int64_t>(kTokens, args.tokens - t0);
      int64_t row = r0;
      for (; row + kRows <= r1; row += kRows) {
        pair_tile_tokens<kPairs, kTokens>(args, xq, row, t0, tokens);
      }
      if (row + 2 <= r1) {
        pair_tile_tokens<1, kTokens>(args, xq, row, t0, tokens);
        row += 2;
      }
      if (row < r1) q8_0_avx::tile_tokens<VnniOps, 1, kTokens>(args, xq, row, t0, tokens);
    }
  }
}

}  // namespace mamba2::kernels::q8_0_detail
