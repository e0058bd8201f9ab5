// Q8_0 path for CPUs with AVX512-VNNI (compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl
// -mavx512vnni -mfma -mf16c).
//
// The stored layout's GEMV uses the shared 256-bit tiles. Everything else puts two rows in one
// 512-bit register, row r in the low eight lanes and row r + 1 in the high eight, each lane doing
// exactly what its 256-bit twin does (the same dpbusd lane, cvt, scale product and fma), so the
// results keep the bits of every other path while one instruction covers 64 weights. The pairs
// come from the stored rows (two loads, a flip of the top bits, two scale broadcasts) or from
// the interleaved layout (one aligned load, one scale permute).
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
  StoredPairs(const TypedMatmulArgs& args, int64_t blocks, int64_t row)
      : row_bytes_(blocks * kBlockBytes), w_(args.w + row * row_bytes_) {}

  void start_block(int64_t /*b*/) {}

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

// Pairs read from the interleaved layout (matmul_q8_0.h): `row` is 0 or 4 rows into its group,
// so pair p is the group's pair row % 8 / 2 + p. kPrefetch asks for the line kPrefetchBytes
// ahead of each one read, for a GEMV streaming W from memory.
template <bool kPrefetch>
class InterleavedPairs {
 public:
  InterleavedPairs(const TypedMatmulArgs& args, int64_t blocks, int64_t row)
      : group_(args.w + row / kQ8_0GroupRows * (blocks / kQ8_0GroupBlocks) * kQ8_0GroupBytes),
        first_pair_(row % kQ8_0GroupRows / 2) {}

  // Widens the group's eight scales of block b once for all its pairs.
  MAMBA2_ALWAYS_INLINE void start_block(int64_t b) {
    line_ = group_ + b / kQ8_0GroupBlocks * kQ8_0GroupBytes + 256 * (b % kQ8_0GroupBlocks) +
            64 * first_pair_;
    const std::byte* scales =
        group_ + b / kQ8_0GroupBlocks * kQ8_0GroupBytes + 1024 + 16 * (b % kQ8_0GroupBlocks);
    scales_ = _mm512_castps256_ps512(
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales))));
  }

  MAMBA2_ALWAYS_INLINE PairBlock pair(int p, int64_t /*b*/) const {
    const std::byte* line = line_ + 64 * p;
    if constexpr (kPrefetch)
      _mm_prefetch(reinterpret_cast<const char*>(line) + kPrefetchBytes, _MM_HINT_T0);
    // Lanes 0-7 take scale 2q, lanes 8-15 scale 2q + 1, for the group's pair q.
    const int q = first_pair_ + p;
    const __m512i index =
        _mm512_add_epi32(_mm512_set1_epi32(2 * q),
                         _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi32(1), 1));
    return {_mm512_loadu_si512(line), _mm512_permutexvar_ps(index, scales_)};
  }

 private:
  static constexpr int64_t kPrefetchBytes = 2048;

  const std::byte* group_;
  int first_pair_;
  const std::byte* line_ = nullptr;
  __m512 scales_ = _mm512_setzero_ps();
};

// Where a tile's results go: y(t, r) = y[t * ld_y + r] (+ bias[r]), for the tile's token t and
// row r.
struct TileOutput {
  float* y;
  int64_t ld_y;
  const float* bias;  // or null
};

// kPairs pairs of rows from `row` times kTokens tokens from `t0`.
template <class Pairs, int kPairs, int kTokens>
void pair_tile(const TypedMatmulArgs& args, const Q8_0Activations& xq, int64_t row, int64_t t0,
               const TileOutput& out) {
  const int64_t blocks = xq.blocks();
  Pairs pairs(args, blocks, row);
  const int8_t* x_quants = xq.quants.data() + t0 * xq.k;                // [kTokens, K]
  const float* x_scales = xq.scales.data() + t0 * blocks;               // [kTokens, K / 32]
  const int32_t* x_offsets = xq.lane_offsets.data() + t0 * blocks * 8;  // [kTokens, K / 32, 8]
  __m512 acc[kPairs][kTokens];
  unroll<kPairs>([&](auto p) MAMBA2_ALWAYS_INLINE {
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE { acc[p][t] = _mm512_setzero_ps(); });
  });
  for (int64_t b = 0; b < blocks; ++b) {
    pairs.start_block(b);
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

TileOutput output_at(const TypedMatmulArgs& args, int64_t row, int64_t t0) {
  return {args.y + t0 * args.ld_y + row, args.ld_y, args.bias ? args.bias + row : nullptr};
}

// Two pairs of rows by eight tokens: sixteen accumulators plus the pairs' quants and scales and
// one token's activations fit the 32 registers.
constexpr int kGemmPairs = 2, kGemmTokens = 8, kGemmRows = 2 * kGemmPairs;

// One group of eight interleaved rows for kTokens tokens from t0: two GEMM tiles, or one
// four-pair tile for a GEMV. A call whose tokens fit one tile reads each weight once, straight
// from memory (decode, batched decode), so it prefetches.
template <int kTokens>
void interleaved_group(const TypedMatmulArgs& args, const Q8_0Activations& xq, int64_t row,
                       int64_t t0, const TileOutput& out) {
  if (args.tokens == 1) {
    return pair_tile<InterleavedPairs<true>, 4, 1>(args, xq, row, t0, out);
  }
  for (int64_t half = 0; half < kQ8_0GroupRows; half += kGemmRows) {
    const TileOutput half_out{out.y + half, out.ld_y, out.bias ? out.bias + half : nullptr};
    if (args.tokens <= kGemmTokens) {
      pair_tile<InterleavedPairs<true>, kGemmPairs, kTokens>(args, xq, row + half, t0, half_out);
    } else {
      pair_tile<InterleavedPairs<false>, kGemmPairs, kTokens>(args, xq, row + half, t0, half_out);
    }
  }
}

}  // namespace

void matmul_avx512vnni(const TypedMatmulArgs& args, const Q8_0Activations& xq, int64_t n_begin,
                       int64_t n_end) {
  if (args.tokens == 1) return q8_0_avx::matmul<VnniOps>(args, xq, n_begin, n_end);
  // Rows left over from the pairs go one at a time through the 256-bit tile (same bits).
  for_each_block<kGemmRows, kGemmTokens>(
      n_begin, n_end, args.tokens, xq.blocks() * kBlockBytes, kCacheTileBytes,
      [&](auto rows, auto count, int64_t row, int64_t t0) {
        if constexpr (rows == kGemmRows) {
          pair_tile<StoredPairs, kGemmPairs, count>(args, xq, row, t0, output_at(args, row, t0));
        } else {
          q8_0_avx::tile<VnniOps, 1, count>(args, xq, row, t0);
        }
      });
}

void matmul_avx512vnni_interleaved(const TypedMatmulArgs& args, const Q8_0Activations& xq,
                                   int64_t n_begin, int64_t n_end) {
  // Whole groups; a group cut by the range is computed aside and only its rows in range kept.
  const int64_t tile_rows = cache_tile_rows(xq.blocks() * kBlockBytes, kQ8_0GroupRows);
  const int64_t first = n_begin / kQ8_0GroupRows * kQ8_0GroupRows;
  float aside[kGemmTokens * kQ8_0GroupRows];
  for (int64_t r0 = first; r0 < n_end; r0 += tile_rows) {
    const int64_t r1 = std::min(n_end, r0 + tile_rows);
    for (int64_t t0 = 0; t0 < args.tokens; t0 += kGemmTokens) {
      const int64_t tokens = std::min<int64_t>(kGemmTokens, args.tokens - t0);
      with_count<kGemmTokens>(tokens, [&](auto count) {
        for (int64_t row = r0; row < r1; row += kQ8_0GroupRows) {
          if (row >= n_begin && row + kQ8_0GroupRows <= n_end) {
            interleaved_group<count>(args, xq, row, t0, output_at(args, row, t0));
            continue;
          }
          interleaved_group<count>(args, xq, row, t0,
                                   {aside, kQ8_0GroupRows, args.bias ? args.bias + row : nullptr});
          for (int64_t r = std::max(row, n_begin); r < std::min(row + kQ8_0GroupRows, n_end); ++r) {
            for (int64_t t = 0; t < tokens; ++t) {
              args.y[(t0 + t) * args.ld_y + r] = aside[t * kQ8_0GroupRows + (r - row)];
            }
          }
        }
      });
    }
  }
}

}  // namespace mamba2::kernels::q8_0_detail
