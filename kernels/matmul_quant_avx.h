// The 256-bit tiling shared by the AVX2, AVX-VNNI and AVX512-VNNI paths of matmul_quant, for
// every block type; included only by their translation units (each compiled with its own
// instruction-set flags). Two things vary, each a template parameter:
// - Ops, the integer dot product of 32 weight bytes with a 32-input activation block:
//     Weights weights<kSigned>(__m256i q)   once per weight group, reused for every token
//     __m256i dot<kSigned>(Weights, __m256i x, __m256i start)
//                                           eight int32 lanes: lane j = start_j + the sum of the
//                                           products of bytes 4j..4j+3
// - Format, the weight type (quant_formats_avx.h): its block geometry, a per-row Header decoded
//   once per block (scales, minimums), and per group the 32 quant bytes (signed for Q8_0, else
//   unsigned: the signed value plus kBias, which `start` takes back out) and the lanes' scales.
// All products are exact, so every path produces the scalar path's bits (see matmul_quant.h).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/matmul_quant.h"
#include "kernels/matmul_tiling.h"

namespace mamba2::kernels::quant_avx {
// Internal linkage: each including file is compiled for another instruction set, and the linker
// must not pick one file's copy of an inline function for another's callers.
namespace {

// ggml's hsum_float_8.
inline float sum_lanes(__m256 v) {
  __m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

inline float f16_at(const std::byte* p) {
  uint16_t d;
  std::memcpy(&d, p, sizeof d);
  return _cvtsh_ss(d);  // exact, as f16_to_f32
}

inline __m256i load_quants(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// The lanes' weight scale times the activation block's scale d_x: one product per lane, whether
// the format gives one scale for the group (float) or one per lane (__m256).
inline __m256 scaled(float scale, float dx) { return _mm256_set1_ps(scale * dx); }
inline __m256 scaled(__m256 scale, float dx) { return _mm256_mul_ps(scale, _mm256_set1_ps(dx)); }

// -kBias * (the sum of each lane's four activations), from lane_offsets (-128 * that sum): the
// start that turns a dot product with unsigned weights (value + kBias) back into the signed one.
template <class Format>
inline __m256i start_of(const int32_t* lane_offsets) {
  if constexpr (Format::kBias == 0) {
    return _mm256_setzero_si256();
  } else {
    static_assert(128 % Format::kBias == 0);
    constexpr int kShift = __builtin_ctz(128 / Format::kBias);
    return _mm256_srai_epi32(load_quants(lane_offsets), kShift);
  }
}

// kRows rows [row, row + kRows) times kTokens tokens [t0, t0 + kTokens): one accumulator each
// (and one for the minimums), indexed only by unroll's constants so that it stays in a register.
template <class Ops, class Format, int kRows, int kTokens>
void tile(const MatmulOperands& args, const Q8_0Activations& xq, int64_t row, int64_t t0) {
  const int64_t groups = xq.blocks();  // activation blocks per token
  const int64_t row_bytes = groups / Format::kGroups * Format::kBlockBytes;
  const std::byte* w = args.w.data + row * row_bytes;
  const int8_t* x_quants = xq.quants.data() + t0 * xq.k;                // [kTokens, K]
  const float* x_scales = xq.scales.data() + t0 * groups;               // [kTokens, K / 32]
  const float* x_sums = xq.sums.data() + t0 * groups;                   // [kTokens, K / 32]
  const int32_t* x_offsets = xq.lane_offsets.data() + t0 * groups * 8;  // [kTokens, K / 32, 8]
  __m256 acc[kRows][kTokens];
  __m256 mins[kRows][kTokens];  // lane g: sub-block g's minimums (Format::kMins only)
  unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
      acc[r][t] = _mm256_setzero_ps();
      mins[r][t] = _mm256_setzero_ps();
    });
  });
  for (int64_t b0 = 0; b0 < groups; b0 += Format::kGroups) {
    const std::byte* block = w + b0 / Format::kGroups * Format::kBlockBytes;
    typename Format::Header h[kRows];
    unroll<kRows>([&](auto r)
                      MAMBA2_ALWAYS_INLINE { h[r] = Format::header(block + r * row_bytes); });
    if constexpr (Format::kMins) {
      unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
        const __m256 sums = _mm256_loadu_ps(x_sums + t * groups + b0);
        unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
          mins[r][t] = _mm256_fmadd_ps(h[r].mins, sums, mins[r][t]);
        });
      });
    }
    unroll<Format::kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
      const int64_t b = b0 + g;
      typename Ops::Weights wq[kRows];
      unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
        wq[r] = Ops::template weights<Format::kSigned>(Format::quants(h[r], g));
      });
      unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
        const __m256i x = load_quants(x_quants + t * xq.k + b * 32);
        const __m256i start = start_of<Format>(x_offsets + (t * groups + b) * 8);
        const float dx = x_scales[t * groups + b];
        unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
          const __m256 isum =
              _mm256_cvtepi32_ps(Ops::template dot<Format::kSigned>(wq[r], x, start));
          acc[r][t] = _mm256_fmadd_ps(isum, scaled(Format::scale(h[r], g), dx), acc[r][t]);
        });
      });
    });
  }
  unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
    float* y = args.y.row(t0 + t) + row;
    unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
      float sum = sum_lanes(acc[r][t]);
      if constexpr (Format::kMins) sum -= sum_lanes(mins[r][t]);
      y[r] = args.bias ? sum + args.bias[row + r] : sum;
    });
  });
}

template <class Ops, class Format, int kRows, int kTokens>
void rows_times_tokens(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin,
                       int64_t n_end) {
  const int64_t row_bytes = xq.blocks() / Format::kGroups * Format::kBlockBytes;
  for_each_block<kRows, kTokens>(n_begin, n_end, args.tokens(), row_bytes, kCacheTileBytes,
                                 [&](auto rows, auto count, int64_t row, int64_t t0) {
                                   tile<Ops, Format, rows, count>(args, xq, row, t0);
                                 });
}

// GEMV: four rows at a time for independent chains; GEMM: two rows by kGemmTokens tokens, so
// the accumulators, the prepared weights and one activation block fit the sixteen registers (the
// minimums' accumulators take a second set, so fewer tokens then).
template <class Ops, class Format>
void matmul_format(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin,
                   int64_t n_end) {
  if (args.tokens() == 1) return rows_times_tokens<Ops, Format, 4, 1>(args, xq, n_begin, n_end);
  constexpr int kGemmTokens = Format::kMins ? 2 : 4;
  rows_times_tokens<Ops, Format, 2, kGemmTokens>(args, xq, n_begin, n_end);
}

}  // namespace
}  // namespace mamba2::kernels::quant_avx
