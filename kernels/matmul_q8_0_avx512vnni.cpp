// Q8_0 path for CPUs with AVX512-VNNI (compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl
// -mavx512vnni -mfma -mf16c).
//
// W as stored: the GEMV uses the shared 256-bit tiles; the GEMM puts two rows in one 512-bit
// register, row r in the low eight lanes and row r + 1 in the high eight, each lane doing exactly
// what its 256-bit twin does (the same dpbusd lane, cvt, scale product and fma), so the results
// keep the bits of every other path while one instruction covers 64 weights.
// W interleaved (matmul_q8_0.h): sixteen rows per register, one output per lane, block order.
#define MAMBA2_DPBUSD _mm256_dpbusd_epi32
#include "kernels/matmul_q8_0_vnni.h"

namespace mamba2::kernels::q8_0_detail {
namespace {

using q8_0_avx::kBlockBytes;

// A pair's two rows of one block: quants plus 128 (see matmul_q8_0_vnni.h) and the f16 scales,
// row r in lanes 0-7 and row r + 1 in lanes 8-15.
struct PairBlock {
  __m512i quants;
  __m512 scales;
};

// Pairs read from W as stored: rows `row` + 2p and + 2p + 1.
class StoredPairs {
 public:
  StoredPairs(const MatmulOperands& args, int64_t blocks, int64_t row)
      : row_bytes_(blocks * kBlockBytes), w_(args.w.data + row * row_bytes_) {}

  MAMBA2_ALWAYS_INLINE PairBlock pair(int p, int64_t b) const {
    const std::byte* low = w_ + 2 * p * row_bytes_ + b * kBlockBytes;
    const std::byte* high = low + row_bytes_;
    const __m512i quants = _mm512_inserti64x4(_mm512_castsi256_si512(load_block_quants(low)),
                                              load_block_quants(high), 1);
    return {_mm512_xor_si512(quants, _mm512_set1_epi8(static_cast<char>(0x80))),
            _mm512_insertf32x8(_mm512_set1_ps(q8_0_avx::block_scale(low)),
                               _mm256_set1_ps(q8_0_avx::block_scale(high)), 1)};
  }

 private:
  static __m256i load_block_quants(const std::byte* block) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + sizeof(uint16_t)));
  }

  int64_t row_bytes_;
  const std::byte* w_;
};

// Where a tile's results go: y(t, r) = y[t * ld_y + r] (+ bias[r]), for the tile's token t and
// row r.
struct TileOutput {
  float* y;
  int64_t ld_y;
  const float* bias;  // or null
};

// kPairs pairs of rows from `row` times kTokens tokens from `t0`.
template <int kPairs, int kTokens>
void pair_tile(const MatmulOperands& args, const Q8_0Activations& xq, int64_t row, int64_t t0,
               const TileOutput& out) {
  const int64_t blocks = xq.blocks();
  const StoredPairs pairs(args, blocks, row);
  const int8_t* x_quants = xq.quants.data() + t0 * xq.k;                // [kTokens, K]
  const float* x_scales = xq.scales.data() + t0 * blocks;               // [kTokens, K / 32]
  const int32_t* x_offsets = xq.lane_offsets.data() + t0 * blocks * 8;  // [kTokens, K / 32, 8]
  __m512 acc[kPairs][kTokens];
  unroll<kPairs>([&](auto p) MAMBA2_ALWAYS_INLINE {
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE { acc[p][t] = _mm512_setzero_ps(); });
  });
  for (int64_t b = 0; b < blocks; ++b) {
    PairBlock w[kPairs];
    unroll<kPairs>([&](auto p) MAMBA2_ALWAYS_INLINE { w[p] = pairs.pair(p, b); });
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
      const __m512i x = _mm512_broadcast_i64x4(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x_quants + t * xq.k + b * 32)));
      const __m512i start = _mm512_broadcast_i64x4(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x_offsets + (t * blocks + b) * 8)));
      const __m512 dx = _mm512_set1_ps(x_scales[t * blocks + b]);
      unroll<kPairs>([&](auto p) MAMBA2_ALWAYS_INLINE {
        const __m512 isum = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(start, w[p].quants, x));
        acc[p][t] = _mm512_fmadd_ps(isum, _mm512_mul_ps(w[p].scales, dx), acc[p][t]);
      });
    });
  }
  unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
    float* y = out.y + t * out.ld_y;
    unroll<kPairs>([&](auto p) MAMBA2_ALWAYS_INLINE {
      const float low = q8_0_avx::sum_lanes(_mm512_castps512_ps256(acc[p][t]));
      const float high = q8_0_avx::sum_lanes(_mm512_extractf32x8_ps(acc[p][t], 1));
      y[2 * p] = out.bias ? low + out.bias[2 * p] : low;
      y[2 * p + 1] = out.bias ? high + out.bias[2 * p + 1] : high;
    });
  });
}

TileOutput output_at(const MatmulOperands& args, int64_t row, int64_t t0) {
  return {args.y.row(t0) + row, args.y.stride, args.bias ? args.bias + row : nullptr};
}

// Two pairs of rows by eight tokens: sixteen accumulators plus the pairs' quants and scales and
// one token's activations fit the 32 registers.
constexpr int kPairTokens = 8, kPairRows = 4;

// kGroups groups of 16 interleaved rows from `row` (a multiple of 16) times kTokens tokens from
// t0. Each block's integer sums start at the tokens' block offsets and take eight vpdpbusd; then
// one fma per sixteen outputs adds them, scaled, to the float sums. kPrefetch asks for the line
// kPrefetchBytes ahead of each one read, for calls that read each weight once (decode). A tile
// of several tokens (a batched decode step) spends kTokens times longer on each line, so it asks
// further ahead (130m in_proj and out_proj, 8 tokens, streamed, one core, medians of 5:
// 387 -> 324 us and 173 -> 151 us).
template <int kGroups, int kTokens, bool kPrefetch>
void interleaved_tile(const MatmulOperands& args, const Q8_0Activations& xq, int64_t row,
                      int64_t t0, const TileOutput& out) {
  constexpr int64_t kPrefetchBytes = kTokens > 1 ? 4096 : 2048;
  const int64_t blocks = xq.blocks();
  const int64_t group_bytes = blocks / kQ8_0UnitBlocks * kQ8_0UnitBytes;
  const std::byte* w = args.w.data + row / kQ8_0UnitRows * group_bytes;
  const int8_t* x_quants = xq.quants.data() + t0 * xq.k;             // [kTokens, K]
  const float* x_scales = xq.scales.data() + t0 * blocks;            // [kTokens, K / 32]
  const int32_t* x_offsets = xq.block_offsets.data() + t0 * blocks;  // [kTokens, K / 32]
  __m512 acc[kGroups][kTokens];
  unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE { acc[g][t] = _mm512_setzero_ps(); });
  });
  for (int64_t b = 0; b < blocks; ++b) {
    const std::byte* unit = w + b / kQ8_0UnitBlocks * kQ8_0UnitBytes;
    const int64_t j = b % kQ8_0UnitBlocks;  // the block's place in its unit
    const std::byte* quants = unit + kQ8_0UnitQuantBytes * j;
    __m512i isum[kGroups][kTokens];
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
      const __m512i start = _mm512_set1_epi32(x_offsets[t * blocks + b]);
      unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE { isum[g][t] = start; });
    });
    unroll<8>([&](auto s) MAMBA2_ALWAYS_INLINE {
      __m512i wq[kGroups];
      unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
        const std::byte* line = quants + g * group_bytes + 64 * s;
        if constexpr (kPrefetch)
          _mm_prefetch(reinterpret_cast<const char*>(line) + kPrefetchBytes, _MM_HINT_T0);
        wq[g] = _mm512_loadu_si512(line);
      });
      unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
        int32_t four;
        std::memcpy(&four, x_quants + t * xq.k + b * 32 + 4 * s, sizeof four);
        const __m512i x = _mm512_set1_epi32(four);
        unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
          isum[g][t] = _mm512_dpbusd_epi32(isum[g][t], wq[g], x);
        });
      });
    });
    unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
      const std::byte* scales =
          unit + g * group_bytes + kQ8_0UnitScaleOffset + kQ8_0UnitScaleBytes * j;
      const __m512 dw =
          _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales)));
      unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
        const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(x_scales[t * blocks + b]));
        acc[g][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[g][t]), scale, acc[g][t]);
      });
    });
  }
  unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
    unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
      float* y = out.y + t * out.ld_y + kQ8_0UnitRows * g;
      const __m512 sum =
          out.bias ? _mm512_add_ps(acc[g][t], _mm512_loadu_ps(out.bias + kQ8_0UnitRows * g))
                   : acc[g][t];
      _mm512_storeu_ps(y, sum);
    });
  });
}

// Interleaved tiles: kGemvGroups groups for one token; kGemmGroups groups by kGemmTokens tokens,
// whose integer and float sums, weights and one token's activations fit the 32 registers.
constexpr int kGemvGroups = 4, kGemmGroups = 2, kGemmTokens = 6;

// kGroups groups from `row` for kTokens tokens from t0, into rows [n_begin, n_end) of y: a tile
// reaching past them (a range cut inside a group, or the zero rows past N) is computed aside.
template <int kGroups, int kTokens, bool kPrefetch>
void interleaved_tile_in_range(const MatmulOperands& args, const Q8_0Activations& xq, int64_t row,
                               int64_t t0, int64_t n_begin, int64_t n_end) {
  constexpr int64_t kRows = kGroups * kQ8_0UnitRows;
  if (row >= n_begin && row + kRows <= n_end) {
    return interleaved_tile<kGroups, kTokens, kPrefetch>(args, xq, row, t0,
                                                         output_at(args, row, t0));
  }
  float aside[kTokens * kRows];
  float bias[kRows] = {};
  if (args.bias) {
    for (int64_t r = row; r < std::min(row + kRows, args.n()); ++r) bias[r - row] = args.bias[r];
  }
  interleaved_tile<kGroups, kTokens, kPrefetch>(args, xq, row, t0,
                                                {aside, kRows, args.bias ? bias : nullptr});
  for (int64_t r = std::max(row, n_begin); r < std::min(row + kRows, n_end); ++r) {
    for (int64_t t = 0; t < kTokens; ++t) {
      args.y.row(t0 + t)[r] = aside[t * kRows + (r - row)];
    }
  }
}

}  // namespace

void matmul_avx512vnni(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin,
                       int64_t n_end) {
  if (args.tokens() == 1) return q8_0_avx::matmul<VnniOps>(args, xq, n_begin, n_end);
  // Rows left over from the pairs go one at a time through the 256-bit tile (same bits).
  for_each_block<kPairRows, kPairTokens>(
      n_begin, n_end, args.tokens(), xq.blocks() * kBlockBytes, kCacheTileBytes,
      [&](auto rows, auto count, int64_t row, int64_t t0) {
        if constexpr (rows == kPairRows) {
          pair_tile<kPairRows / 2, count>(args, xq, row, t0, output_at(args, row, t0));
        } else {
          q8_0_avx::tile<VnniOps, 1, count>(args, xq, row, t0);
        }
      });
}

void matmul_avx512vnni_interleaved(const MatmulOperands& args, const Q8_0Activations& xq,
                                   int64_t n_begin, int64_t n_end) {
  const int64_t first = n_begin / kQ8_0UnitRows * kQ8_0UnitRows;
  const int64_t last = (n_end + kQ8_0UnitRows - 1) / kQ8_0UnitRows * kQ8_0UnitRows;
  if (args.tokens() == 1) {
    int64_t row = first;
    for (; row + kGemvGroups * kQ8_0UnitRows <= last; row += kGemvGroups * kQ8_0UnitRows) {
      interleaved_tile_in_range<kGemvGroups, 1, true>(args, xq, row, 0, n_begin, n_end);
    }
    for (; row < last; row += kQ8_0UnitRows) {
      interleaved_tile_in_range<1, 1, true>(args, xq, row, 0, n_begin, n_end);
    }
    return;
  }
  // The first token tile of each cache tile reads its weights from memory (later ones find them
  // in cache), so it prefetches.
  constexpr int64_t kTileRows = kGemmGroups * kQ8_0UnitRows;
  const int64_t cache_rows = cache_tile_rows(xq.blocks() * kBlockBytes, kTileRows);
  for (int64_t r0 = first; r0 < last; r0 += cache_rows) {
    const int64_t r1 = std::min(last, r0 + cache_rows);
    for (int64_t t0 = 0; t0 < args.tokens(); t0 += kGemmTokens) {
      with_count<kGemmTokens>(std::min<int64_t>(kGemmTokens, args.tokens() - t0), [&](auto count) {
        int64_t row = r0;
        for (; row + kTileRows <= r1; row += kTileRows) {
          if (t0 == 0) {
            interleaved_tile_in_range<kGemmGroups, count, true>(args, xq, row, t0, n_begin, n_end);
          } else {
            interleaved_tile_in_range<kGemmGroups, count, false>(args, xq, row, t0, n_begin, n_end);
          }
        }
        for (; row < r1; row += kQ8_0UnitRows) {
          interleaved_tile_in_range<1, count, false>(args, xq, row, t0, n_begin, n_end);
        }
      });
    }
  }
}

}  // namespace mamba2::kernels::q8_0_detail
