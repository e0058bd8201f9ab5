// The loop the projection kernels share (included only by kernel files): rows of W in cache
// tiles, each tile met by every token of the call in groups, its rows in register blocks. A
// result never depends on the tiling, so each kernel only supplies its register block.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/matmul_unroll.h"

namespace mamba2::kernels {

// Bytes of W per cache tile: its rows stay in L1/L2 while every token of a call streams past.
constexpr int64_t kCacheTileBytes = 48 * 1024;

// Rows per cache tile of rows `row_bytes` long, a multiple of `multiple`.
inline int64_t cache_tile_rows(int64_t row_bytes, int64_t multiple,
                               int64_t tile_bytes = kCacheTileBytes) {
  return std::max<int64_t>(multiple,
                           tile_bytes / std::max<int64_t>(row_bytes, 1) / multiple * multiple);
}

// Calls f(std::integral_constant<int, n>{}) for the run-time n in [1, kMax], so the last,
// shorter group of tokens still gets a register block of its own size.
template <int kMax, class F>
MAMBA2_ALWAYS_INLINE inline void with_count(int64_t n, F&& f) {
  if constexpr (kMax > 1) {
    if (n < kMax) return with_count<kMax - 1>(n, f);
  }
  f(std::integral_constant<int, kMax>{});
}

// Rows [n_begin, n_end) of W against `tokens` tokens: for each cache tile of rows, each group of
// kTokens tokens from t0 (the last shorter), block(rows, count, row, t0) over the tile's rows in
// blocks of kRows and then one at a time; rows and count are std::integral_constants.
template <int kRows, int kTokens, class Block>
void for_each_block(int64_t n_begin, int64_t n_end, int64_t tokens, int64_t row_bytes,
                    int64_t tile_bytes, Block&& block) {
  const int64_t tile_rows = cache_tile_rows(row_bytes, kRows, tile_bytes);
  for (int64_t r0 = n_begin; r0 < n_end; r0 += tile_rows) {
    const int64_t r1 = std::min(n_end, r0 + tile_rows);
    for (int64_t t0 = 0; t0 < tokens; t0 += kTokens) {
      with_count<kTokens>(std::min<int64_t>(kTokens, tokens - t0), [&](auto count) {
        int64_t row = r0;
        for (; row + kRows <= r1; row += kRows) {
          block(std::integral_constant<int, kRows>{}, count, row, t0);
        }
        for (; row < r1; ++row) block(std::integral_constant<int, 1>{}, count, row, t0);
      });
    }
  }
}

}  // namespace mamba2::kernels
