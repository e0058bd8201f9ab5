// The 256-bit tiling shared by the AVX2, AVX-VNNI and AVX512-VNNI Q8_0 paths; included only by
// their translation units (each compiled with its own instruction-set flags). `Ops` supplies the
// one thing that differs, the integer dot product of a 32-weight block with a 32-input block:
//   Weights weights(__m256i q)      once per weight block, reused for every token
//   Activations activations(const int8_t* quants, const int32_t* lane_offsets)
//                                   once per activation block, reused for every row
//   __m256i dot(Weights, Activations)  eight int32 lanes: lane j = sum of the products of bytes
//                                      4j..4j+3
// All three are exact, so every path produces the scalar path's bits (see matmul_q8_0.h).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/matmul_q8_0.h"
#include "kernels/matmul_tiling.h"
#include "quant/q8_0.h"

namespace mamba2::kernels::q8_0_avx {
// Internal linkage: each including file is compiled for another instruction set, and the linker
// must not pick one file's copy of an inline function for another's callers.
namespace {

constexpr int64_t kBlockBytes = sizeof(BlockQ8_0);

// ggml's hsum_float_8.
inline float sum_lanes(__m256 v) {
  __m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

inline float block_scale(const std::byte* block) {
  uint16_t d;
  std::memcpy(&d, block, sizeof d);
  return _cvtsh_ss(d);  // exact, as f16_to_f32
}

inline __m256i load_quants(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// kRows rows [row, row + kRows) times kTokens tokens [t0, t0 + kTokens): one accumulator each,
// indexed only by unroll's constants so that it stays in a register.
template <class Ops, int kRows, int kTokens>
void tile(const MatmulOperands& args, const Q8_0Activations& xq, int64_t row, int64_t t0) {
  const int64_t blocks = xq.blocks();
  const int64_t row_bytes = blocks * kBlockBytes;
  const std::byte* w = args.w.data + row * row_bytes;
  const int8_t* x_quants = xq.quants.data() + t0 * xq.k;                // [kTokens, K]
  const float* x_scales = xq.scales.data() + t0 * blocks;               // [kTokens, K / 32]
  const int32_t* x_offsets = xq.lane_offsets.data() + t0 * blocks * 8;  // [kTokens, K / 32, 8]
  __m256 acc[kRows][kTokens];
  unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE { acc[r][t] = _mm256_setzero_ps(); });
  });
  for (int64_t b = 0; b < blocks; ++b) {
    typename Ops::Weights wq[kRows];
    float dw[kRows];
    unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
      const std::byte* block = w + r * row_bytes + b * kBlockBytes;
      dw[r] = block_scale(block);
      wq[r] = Ops::weights(load_quants(block + sizeof(uint16_t)));
    });
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
      const typename Ops::Activations x =
          Ops::activations(x_quants + t * xq.k + b * 32, x_offsets + (t * blocks + b) * 8);
      const float dx = x_scales[t * blocks + b];
      unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
        const __m256 isum = _mm256_cvtepi32_ps(Ops::dot(wq[r], x));
        acc[r][t] = _mm256_fmadd_ps(isum, _mm256_set1_ps(dw[r] * dx), acc[r][t]);
      });
    });
  }
  unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
    float* y = args.y.row(t0 + t) + row;
    unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
      const float sum = sum_lanes(acc[r][t]);
      y[r] = args.bias ? sum + args.bias[row + r] : sum;
    });
  });
}

template <class Ops, int kRows, int kTokens>
void rows_times_tokens(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin,
                       int64_t n_end) {
  for_each_block<kRows, kTokens>(n_begin, n_end, args.tokens(), xq.blocks() * kBlockBytes,
                                 kCacheTileBytes,
                                 [&](auto rows, auto count, int64_t row, int64_t t0) {
                                   tile<Ops, rows, count>(args, xq, row, t0);
                                 });
}

// GEMV: four rows at a time for independent chains; GEMM: two rows by four tokens, so sixteen
// registers hold the accumulators, the prepared weights and one activation block.
template <class Ops>
void matmul(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin, int64_t n_end) {
  if (args.tokens() == 1) return rows_times_tokens<Ops, 4, 1>(args, xq, n_begin, n_end);
  rows_times_tokens<Ops, 2, 4>(args, xq, n_begin, n_end);
}

}  // namespace
}  // namespace mamba2::kernels::q8_0_avx
