// matmul_quant's path for CPUs with AVX512-VNNI (compiled with -mavx512f -mavx512bw -mavx512dq
// -mavx512vl -mavx512vnni -mfma -mf16c).
//
// W as stored: Q8_0's GEMV uses the shared 256-bit tiles; the other types' GEMV and every GEMM put
// two rows in one 512-bit register, row r in the low eight lanes and row r + 1 in the high eight,
// each lane doing exactly what its 256-bit twin does (the same dpbusd lane, cvt, scale product and
// fma), so the results keep the bits of every other path while one instruction covers 64 weights.
// Q8_0 interleaved (matmul_q8_0.h): sixteen rows per register, one output per lane, block order.
#define MAMBA2_DPBUSD _mm256_dpbusd_epi32
#include "kernels/interleaved_tiles_avx512.h"
#include "kernels/matmul_q8_0.h"
#include "kernels/matmul_quant_vnni.h"

namespace mamba2::kernels {
namespace quant_detail {
namespace {

constexpr int64_t kBlockBytes = sizeof(BlockQ8_0);

using interleaved::output_at;
using interleaved::TileOutput;

// Two rows' 256-bit values in one register: row r in lanes 0-7, row r + 1 in lanes 8-15.
inline __m512i pair_of(__m256i low, __m256i high) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1);
}
inline __m512 pair_of(__m256 low, __m256 high) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(low), high, 1);
}
inline __m512 pair_of(float low, float high) {
  return _mm512_insertf32x8(_mm512_set1_ps(low), _mm256_set1_ps(high), 1);
}

// kPairs pairs of rows from `row` times kTokens tokens from `t0`, W of type Format: each lane
// does exactly what its twin in the 256-bit tile does (quant_avx::tile), so the bits are the same.
template <class Format, int kPairs, int kTokens>
void pair_tile(const MatmulOperands& args, const Q8_0Activations& xq, int64_t row, int64_t t0,
               const TileOutput& out) {
  const int64_t groups = xq.blocks();  // activation blocks per token
  const int64_t row_bytes = groups / Format::kGroups * Format::kBlockBytes;
  const std::byte* w = args.w.data + row * row_bytes;
  const int8_t* x_quants = xq.quants.data() + t0 * xq.k;                // [kTokens, K]
  const float* x_scales = xq.scales.data() + t0 * groups;               // [kTokens, K / 32]
  const float* x_sums = xq.sums.data() + t0 * groups;                   // [kTokens, K / 32]
  const int32_t* x_offsets = xq.lane_offsets.data() + t0 * groups * 8;  // [kTokens, K / 32, 8]
  __m512 acc[kPairs][kTokens];
  __m512 mins[kPairs][kTokens];  // Format::kMins only
  unroll<kPairs>([&](auto p) MAMBA2_ALWAYS_INLINE {
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
      acc[p][t] = _mm512_setzero_ps();
      mins[p][t] = _mm512_setzero_ps();
    });
  });
  for (int64_t b0 = 0; b0 < groups; b0 += Format::kGroups) {
    const std::byte* block = w + b0 / Format::kGroups * Format::kBlockBytes;
    typename Format::Header h[kPairs][2];
    unroll<kPairs>([&](auto p) MAMBA2_ALWAYS_INLINE {
      h[p][0] = Format::header(block + 2 * p * row_bytes);
      h[p][1] = Format::header(block + (2 * p + 1) * row_bytes);
    });
    if constexpr (Format::kMins) {
      unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
        const __m512 sums = _mm512_broadcast_f32x8(_mm256_loadu_ps(x_sums + t * groups + b0));
        unroll<kPairs>([&](auto p) MAMBA2_ALWAYS_INLINE {
          mins[p][t] = _mm512_fmadd_ps(pair_of(h[p][0].mins, h[p][1].mins), sums, mins[p][t]);
        });
      });
    }
    unroll<Format::kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
      const int64_t b = b0 + g;
      __m512i wq[kPairs];
      __m512 ws[kPairs];
      unroll<kPairs>([&](auto p) MAMBA2_ALWAYS_INLINE {
        wq[p] = pair_of(Format::quants(h[p][0], g), Format::quants(h[p][1], g));
        if constexpr (Format::kSigned) {
          wq[p] = _mm512_xor_si512(wq[p], _mm512_set1_epi8(static_cast<char>(0x80)));
        }
        ws[p] = pair_of(Format::scale(h[p][0], g), Format::scale(h[p][1], g));
      });
      unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
        const __m512i x =
            _mm512_broadcast_i64x4(quant_avx::load_quants(x_quants + t * xq.k + b * 32));
        const __m512i start =
            _mm512_broadcast_i64x4(quant_avx::start_of<Format>(x_offsets + (t * groups + b) * 8));
        const __m512 dx = _mm512_set1_ps(x_scales[t * groups + b]);
        unroll<kPairs>([&](auto p) MAMBA2_ALWAYS_INLINE {
          const __m512 isum = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(start, wq[p], x));
          acc[p][t] = _mm512_fmadd_ps(isum, _mm512_mul_ps(ws[p], dx), acc[p][t]);
        });
      });
    });
  }
  unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
    float* y = out.y + t * out.ld_y;
    unroll<kPairs>([&](auto p) MAMBA2_ALWAYS_INLINE {
      float low = quant_avx::sum_lanes(_mm512_castps512_ps256(acc[p][t]));
      float high = quant_avx::sum_lanes(_mm512_extractf32x8_ps(acc[p][t], 1));
      if constexpr (Format::kMins) {
        low -= quant_avx::sum_lanes(_mm512_castps512_ps256(mins[p][t]));
        high -= quant_avx::sum_lanes(_mm512_extractf32x8_ps(mins[p][t], 1));
      }
      y[2 * p] = out.bias ? low + out.bias[2 * p] : low;
      y[2 * p + 1] = out.bias ? high + out.bias[2 * p + 1] : high;
    });
  });
}

// Two pairs of rows by eight tokens: sixteen accumulators plus the pairs' quants and scales and
// one token's activations fit the 32 registers; the types with minimums keep as many again for
// them, so four tokens.
constexpr int kPairRows = 4;
template <class Format>
constexpr int kPairTokens = Format::kMins ? 4 : 8;

// The GEMM of W as stored: pairs of rows, and the rows left over from the pairs one at a time
// through the 256-bit tile (same bits).
template <class Format>
void pair_matmul(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin,
                 int64_t n_end) {
  const int64_t row_bytes = xq.blocks() / Format::kGroups * Format::kBlockBytes;
  for_each_block<kPairRows, kPairTokens<Format>>(
      n_begin, n_end, args.tokens(), row_bytes, kCacheTileBytes,
      [&](auto rows, auto count, int64_t row, int64_t t0) {
        if constexpr (rows == kPairRows) {
          pair_tile<Format, kPairRows / 2, count>(args, xq, row, t0, output_at(args, row, t0));
        } else {
          quant_avx::tile<VnniOps, Format, 1, count>(args, xq, row, t0);
        }
      });
}

// Q8_0 interleaved (matmul_q8_0.h) for interleaved::matmul: four groups for a GEMV; two groups by
// six tokens for a GEMM, whose integer and float sums, weights and one token's activations fit
// the 32 registers.
struct Q8_0Interleaved {
  static constexpr int kGemvGroups = 4, kGemmGroups = 2, kGemmTokens = 6;
  static int64_t row_bytes(int64_t k) { return k / kQ8_0BlockElems * kBlockBytes; }

  // kGroups groups of 16 interleaved rows from `row` (a multiple of 16) times kTokens tokens from
  // t0. Each block's integer sums start at the tokens' block offsets and take eight vpdpbusd; then
  // one fma per sixteen outputs adds them, scaled, to the float sums. kPrefetch asks for the line
  // kPrefetchBytes ahead of each one read, for calls that read each weight once (decode). A tile
  // of several tokens (a batched decode step) spends kTokens times longer on each line, so it asks
  // further ahead (130m in_proj and out_proj, 8 tokens, streamed, one core, medians of 5:
  // 387 -> 324 us and 173 -> 151 us).
  template <int kGroups, int kTokens, bool kPrefetch>
  static void tile(const MatmulOperands& args, const Q8_0Activations& xq, int64_t row, int64_t t0,
                   const TileOutput& out) {
    constexpr int64_t kPrefetchBytes = kTokens > 1 ? 4096 : 2048;
    interleaved::TileSums<kGroups, kTokens> acc;
    interleaved::for_each_block<kQ8_0UnitBlocks, kQ8_0UnitBytes>(
        args, xq, row, t0,
        [&](const std::byte* unit, auto j, int64_t b, int64_t group_bytes,
            const interleaved::TileActivations& x) MAMBA2_ALWAYS_INLINE {
          const std::byte* quants = unit + kQ8_0UnitQuantBytes * j;
          interleaved::add_byte_block(
              x, b, [&](auto t) MAMBA2_ALWAYS_INLINE { return x.offset(t, b); },
              [&](auto g, auto s) MAMBA2_ALWAYS_INLINE {
                const std::byte* line = quants + g * group_bytes + 64 * s;
                if constexpr (kPrefetch)
                  _mm_prefetch(reinterpret_cast<const char*>(line) + kPrefetchBytes, _MM_HINT_T0);
                return _mm512_loadu_si512(line);
              },
              [&](auto g) MAMBA2_ALWAYS_INLINE {
                const std::byte* scales =
                    unit + g * group_bytes + kQ8_0UnitScaleOffset + kQ8_0UnitScaleBytes * j;
                return _mm512_cvtph_ps(
                    _mm256_loadu_si256(reinterpret_cast<const __m256i*>(scales)));
              },
              acc);
        });
    acc.store(out);
  }
};

}  // namespace

void matmul_avx512vnni(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin,
                       int64_t n_end) {
  // Q8_0's GEMV stays in 256-bit tiles: its decode reads the interleaved layout, and the stored
  // rows' quants need no unpacking for the pairs to save.
  if (args.tokens() == 1 && args.w.type == DType::kQ8_0) {
    return quant_avx::matmul<VnniOps>(args, xq, n_begin, n_end);
  }
  using namespace quant_avx;
  switch (args.w.type) {
    case DType::kQ4_0:
      return pair_matmul<Q4_0Format>(args, xq, n_begin, n_end);
    case DType::kQ4_K:
      return pair_matmul<K4Format<BlockQ4_K>>(args, xq, n_begin, n_end);
    case DType::kQ5_K:
      return pair_matmul<K4Format<BlockQ5_K>>(args, xq, n_begin, n_end);
    case DType::kQ6_K:
      return pair_matmul<Q6_KFormat>(args, xq, n_begin, n_end);
    default:  // Q8_0 (matmul_quant checked the type)
      return pair_matmul<Q8_0Format>(args, xq, n_begin, n_end);
  }
}

}  // namespace quant_detail

namespace q8_0_detail {

void matmul_avx512vnni_interleaved(const MatmulOperands& args, const Q8_0Activations& xq,
                                   int64_t n_begin, int64_t n_end) {
  interleaved::matmul<quant_detail::Q8_0Interleaved>(args, xq, n_begin, n_end);
}

}  // namespace q8_0_detail
}  // namespace mamba2::kernels
