#include <algorithm>

#include "kernels/matmul.h"
#include "kernels/matmul_tiling.h"
#include "kernels/simd.h"

namespace mamba2::kernels {
namespace {

// y[t][r] = w[r] . x[t] (+ bias[r]) for kRows consecutive rows of W, each K long, and kTokens
// tokens. Every W batch is loaded once for all kTokens tokens, every x batch once for all kRows
// rows. Each (row, token) keeps one accumulator, then the same hadd and scalar tail: a row's
// arithmetic for a token is the same whatever rows and tokens it is grouped with, so neither
// tiling nor batching changes a bit. A tile of several tokens does kTokens times the arithmetic
// per weight byte of a GEMV, too slow for the hardware prefetcher to keep ahead of on its own, so
// it asks for the next tile's rows as it reads its own (streamed 130m in_proj, 8 tokens, one
// core: 6.3 -> 10.4 GB/s).
template <class Arch, int kRows, int kTokens>
void gemv_tile(const MatmulOperands& args, int64_t row, int64_t t0) {
  using Batch = xsimd::batch<float, Arch>;
  constexpr int64_t kLanes = Batch::size;
  const int64_t k = args.k();
  const int64_t batches_end = k - k % kLanes;
  const float* w = args.w.elements<float>() + row * k;
  const float* x = args.x.row(t0);

  Batch acc[kRows][kTokens];
  unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE { acc[r][t] = Batch(0.0f); });
  });
  for (int64_t i = 0; i < batches_end; i += kLanes) {
    Batch wv[kRows];
    unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
      if constexpr (kTokens > 1) __builtin_prefetch(w + (r + kRows) * k + i);
      wv[r] = Batch::load_unaligned(w + r * k + i);
    });
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
      const Batch xv = Batch::load_unaligned(x + t * args.x.stride + i);
      unroll<kRows>([&](auto r)
                        MAMBA2_ALWAYS_INLINE { acc[r][t] = xsimd::fma(wv[r], xv, acc[r][t]); });
    });
  }
  unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
    float* y = args.y.row(t0 + t) + row;
    unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
      float sum = xsimd::hadd(acc[r][t]);
      for (int64_t i = batches_end; i < k; ++i) sum += w[r * k + i] * x[t * args.x.stride + i];
      y[r] = args.bias ? sum + args.bias[row + r] : sum;
    });
  });
}

}  // namespace

template <class Arch>
void GemvKernel::operator()(Arch, const MatmulOperands& args, int64_t n_begin,
                            int64_t n_end) const {
  // Four rows by one token, or two rows by eight tokens (four with 16 registers): sixteen
  // accumulators with AVX-512, kGemvMaxTokens of them in one pass over W.
  const auto block = [&](auto rows, auto count, int64_t row, int64_t t0) {
    gemv_tile<Arch, rows, count>(args, row, t0);
  };
  const int64_t row_bytes = args.k() * static_cast<int64_t>(sizeof(float));
  if (args.tokens() == 1) {
    return for_each_block<4, 1>(n_begin, n_end, 1, row_bytes, kCacheTileBytes, block);
  }
  constexpr int kBatchTokens = xsimd::batch<float, Arch>::size >= 16 ? 8 : 4;
  for_each_block<2, kBatchTokens>(n_begin, n_end, args.tokens(), row_bytes, kCacheTileBytes, block);
}

MAMBA2_INSTANTIATE_KERNEL(void GemvKernel::operator(), const MatmulOperands&, int64_t, int64_t);

}  // namespace mamba2::kernels
