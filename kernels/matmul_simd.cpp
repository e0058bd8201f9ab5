#include <algorithm>

#include "kernels/matmul.h"
#include "kernels/matmul_unroll.h"
#include "kernels/simd.h"

namespace mamba2::kernels {
namespace {

// y[t][r] = w[r] . x[t] (+ bias[r]) for kRows consecutive rows of W, each K long, and kTokens
// tokens. Every W batch is loaded once for all kTokens tokens, every x batch once for all kRows
// rows. Each (row, token) keeps two accumulators (even and odd batches) so enough FMA chains are
// in flight, then the same hadd and scalar tail: a row's arithmetic for a token is the same
// whatever rows and tokens it is grouped with, so neither tiling nor batching changes a bit.
template <class Arch, int kRows, int kTokens>
void gemv_tile(const MatmulArgs& args, int64_t row, int64_t t0) {
  using Batch = xsimd::batch<float, Arch>;
  constexpr int64_t kLanes = Batch::size;
  const int64_t k = args.k;
  const int64_t pairs_end = k - k % (2 * kLanes);
  const int64_t batches_end = k - k % kLanes;
  const float* w = args.w + row * k;
  const float* x = args.x + t0 * args.ld_x;

  Batch even[kRows][kTokens], odd[kRows][kTokens];
  unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
      even[r][t] = Batch(0.0f);
      odd[r][t] = Batch(0.0f);
    });
  });
  for (int64_t i = 0; i < pairs_end; i += 2 * kLanes) {
    Batch w0[kRows], w1[kRows];
    unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
      w0[r] = Batch::load_unaligned(w + r * k + i);
      w1[r] = Batch::load_unaligned(w + r * k + i + kLanes);
    });
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
      const Batch x0 = Batch::load_unaligned(x + t * args.ld_x + i);
      const Batch x1 = Batch::load_unaligned(x + t * args.ld_x + i + kLanes);
      unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
        even[r][t] = xsimd::fma(w0[r], x0, even[r][t]);
        odd[r][t] = xsimd::fma(w1[r], x1, odd[r][t]);
      });
    });
  }
  if (batches_end > pairs_end) {
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
      const Batch x0 = Batch::load_unaligned(x + t * args.ld_x + pairs_end);
      unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
        even[r][t] = xsimd::fma(Batch::load_unaligned(w + r * k + pairs_end), x0, even[r][t]);
      });
    });
  }
  unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
    float* y = args.y + (t0 + t) * args.ld_y + row;
    unroll<kRows>([&](auto r) MAMBA2_ALWAYS_INLINE {
      float sum = xsimd::hadd(even[r][t] + odd[r][t]);
      for (int64_t i = batches_end; i < k; ++i) sum += w[r * k + i] * x[t * args.ld_x + i];
      y[r] = args.bias ? sum + args.bias[row + r] : sum;
    });
  });
}

// The token remainder of a row group: 1 .. kMaxTokens tokens.
template <class Arch, int kRows, int kMaxTokens>
void gemv_tile_tokens(const MatmulArgs& args, int64_t row, int64_t t0, int64_t tokens) {
  if constexpr (kMaxTokens > 1) {
    if (tokens == kMaxTokens) return gemv_tile<Arch, kRows, kMaxTokens>(args, row, t0);
    return gemv_tile_tokens<Arch, kRows, kMaxTokens - 1>(args, row, t0, tokens);
  } else {
    gemv_tile<Arch, kRows, 1>(args, row, t0);
  }
}

}  // namespace

template <class Arch>
void GemvKernel::operator()(Arch, const MatmulArgs& args, int64_t n_begin, int64_t n_end) const {
  // Four rows by one token, or two rows by four tokens (two with 16 registers): sixteen
  // accumulators with AVX-512. Rows go in cache tiles so the tokens after the first tile read W
  // from L1/L2, not memory.
  constexpr int kRows = 4, kBatchRows = 2;
  constexpr int kBatchTokens = xsimd::batch<float, Arch>::size >= 16 ? 4 : 2;
  constexpr int64_t kTileBytes = 48 * 1024;
  if (args.tokens == 1) {
    int64_t n = n_begin;
    for (; n + kRows <= n_end; n += kRows) gemv_tile<Arch, kRows, 1>(args, n, 0);
    for (; n < n_end; ++n) gemv_tile<Arch, 1, 1>(args, n, 0);
    return;
  }
  const int64_t row_bytes = args.k * static_cast<int64_t>(sizeof(float));
  const int64_t tile_rows = std::max<int64_t>(
      kBatchRows, kTileBytes / std::max<int64_t>(row_bytes, 1) / kBatchRows * kBatchRows);
  for (int64_t r0 = n_begin; r0 < n_end; r0 += tile_rows) {
    const int64_t r1 = std::min(n_end, r0 + tile_rows);
    for (int64_t t0 = 0; t0 < args.tokens; t0 += kBatchTokens) {
      const int64_t tokens = std::min<int64_t>(kBatchTokens, args.tokens - t0);
      int64_t n = r0;
      for (; n + kBatchRows <= r1; n += kBatchRows) {
        gemv_tile_tokens<Arch, kBatchRows, kBatchTokens>(args, n, t0, tokens);
      }
      for (; n < r1; ++n) gemv_tile_tokens<Arch, 1, kBatchTokens>(args, n, t0, tokens);
    }
  }
}

MAMBA2_INSTANTIATE_KERNEL(void GemvKernel::operator(), const MatmulArgs&, int64_t, int64_t);

}  // namespace mamba2::kernels
