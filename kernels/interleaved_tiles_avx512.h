// The loop over an interleaved weight layout's 16-row groups that the AVX512-VNNI kernels of
// Q8_0 (matmul_q8_0.h) and Q4_0 / Q4_K (matmul_q4.h) share; included only by translation units
// compiled for AVX512-VNNI. A Kernel supplies the register block:
//   kGemvGroups                        groups of 16 rows per GEMV tile
//   kGemmGroups, kGemmTokens           groups and tokens per GEMM tile
//   row_bytes(k)                       bytes of one row of W (for the cache tiles)
//   tile<kGroups, kTokens, kPrefetch>(args, xq, row, t0, out)
//                                      rows [row, row + 16 kGroups) by tokens [t0, t0 + kTokens)
//                                      into out; kPrefetch: the weights come from memory
// and, to run its GEMM over a QuantPanel (the 4-bit types: their nibbles unpacked once per cache
// tile, so the tile's work per line is Q8_0's):
//   unpack(args, row, panel)           group `row` of W into panel.group(row)
//   kPanelExtra                        its bytes per group and block past the quants
//   panel_tile<kGroups, kTokens>(args, xq, panel, row, t0, out)
// A row's result never depends on the tiling, so the group boundaries cut by a row range only
// cost a computation aside.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/aligned_vector.h"
#include "kernels/matmul_quant.h"
#include "kernels/matmul_tiling.h"
#include "kernels/matmul_unroll.h"

namespace mamba2::kernels::interleaved {
// Internal linkage, as the per-ISA files' inline functions (matmul_quant_avx.h).
namespace {

constexpr int64_t kUnitRows = 16;

// Where a tile's results go: y(t, r) = y[t * ld_y + r] (+ bias[r]), for the tile's token t and
// row r.
struct TileOutput {
  float* y;
  int64_t ld_y;
  const float* bias;  // or null
};

inline TileOutput output_at(const MatmulOperands& args, int64_t row, int64_t t0) {
  return {args.y.row(t0) + row, args.y.stride, args.bias ? args.bias + row : nullptr};
}

// Sixteen outputs of a tile: its float sums plus the bias, stored.
inline void store_outputs(const TileOutput& out, int64_t t, int64_t g, __m512 sum) {
  float* y = out.y + t * out.ld_y + kUnitRows * g;
  if (out.bias) sum = _mm512_add_ps(sum, _mm512_loadu_ps(out.bias + kUnitRows * g));
  _mm512_storeu_ps(y, sum);
}

// A tile's activations, kTokens tokens from t0: token t's quants of inputs [i, i + 4) broadcast
// to every lane, and its per-block scale, sum and offset (Q8_0Activations).
struct TileActivations {
  const int8_t* quants;    // [kTokens, K]
  const float* scales;     // [kTokens, K / 32]
  const float* sums;       // [kTokens, K / 32]
  const int32_t* offsets;  // [kTokens, K / 32], block_offsets
  const int32_t* lanes;    // [kTokens, K / 32, 8], lane_offsets
  int64_t k, blocks;

  __m512i four(int64_t t, int64_t i) const {
    int32_t four;
    std::memcpy(&four, quants + t * k + i, sizeof four);
    return _mm512_set1_epi32(four);
  }
  float scale(int64_t t, int64_t b) const { return scales[t * blocks + b]; }
  float sum(int64_t t, int64_t b) const { return sums[t * blocks + b]; }
  int32_t offset(int64_t t, int64_t b) const { return offsets[t * blocks + b]; }
  // Half h's (inputs 16 h..16 h + 15 of block b) four lane offsets summed.
  int32_t half_offset(int64_t t, int64_t b, int64_t h) const {
    const int32_t* four = lanes + (t * blocks + b) * 8 + 4 * h;
    return four[0] + four[1] + four[2] + four[3];
  }
};

// The walk every interleaved tile takes along K: W's units of 16 rows by kUnitBlocks activation
// blocks (kUnitBytes each) run along K, then down the groups of 16 rows, so the tile's kGroups
// groups from `row` are group_bytes apart. body(unit, b0, group_bytes, x) for each unit of the
// first group, b0 its first activation block; the body adds g * group_bytes for group g.
template <int64_t kUnitBlocks, int64_t kUnitBytes, class Body>
MAMBA2_ALWAYS_INLINE inline void for_each_unit(const MatmulOperands& args,
                                               const Q8_0Activations& xq, int64_t row, int64_t t0,
                                               Body&& body) {
  const int64_t blocks = xq.blocks();
  const int64_t group_bytes = blocks / kUnitBlocks * kUnitBytes;
  const std::byte* w = args.w.data + row / kUnitRows * group_bytes;
  const TileActivations x{xq.quants.data() + t0 * xq.k,
                          xq.scales.data() + t0 * blocks,
                          xq.sums.data() + t0 * blocks,
                          xq.block_offsets.data() + t0 * blocks,
                          xq.lane_offsets.data() + t0 * blocks * 8,
                          xq.k,
                          blocks};
  for (int64_t b0 = 0; b0 < blocks; b0 += kUnitBlocks) {
    body(w + b0 / kUnitBlocks * kUnitBytes, b0, group_bytes, x);
  }
}

// for_each_unit block by block: body(unit, j, b, group_bytes, x) for block j (a constant) of each
// unit, b its activation block.
template <int64_t kUnitBlocks, int64_t kUnitBytes, class Body>
MAMBA2_ALWAYS_INLINE inline void for_each_block(const MatmulOperands& args,
                                                const Q8_0Activations& xq, int64_t row, int64_t t0,
                                                Body&& body) {
  for_each_unit<kUnitBlocks, kUnitBytes>(args, xq, row, t0,
                                         [&](const std::byte* unit, int64_t b0, int64_t group_bytes,
                                             const TileActivations& x) MAMBA2_ALWAYS_INLINE {
                                           unroll<kUnitBlocks>([&](auto j) MAMBA2_ALWAYS_INLINE {
                                             body(unit, j, b0 + j, group_bytes, x);
                                           });
                                         });
}

// A tile's float sums, one register of sixteen outputs per group and token, from zero.
template <int kGroups, int kTokens>
struct TileSums {
  __m512 v[kGroups][kTokens];

  MAMBA2_ALWAYS_INLINE TileSums() {
    unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
      unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE { v[g][t] = _mm512_setzero_ps(); });
    });
  }
  // Stores every sum (less `minus`'s, for the types with minimums) plus the bias.
  MAMBA2_ALWAYS_INLINE void store(const TileOutput& out, const TileSums* minus = nullptr) const {
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
      unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
        store_outputs(out, t, g, minus ? _mm512_sub_ps(v[g][t], minus->v[g][t]) : v[g][t]);
      });
    });
  }
};

// isum[g][t] += the dot products of q[g]'s lanes (sixteen rows' four unsigned quants) with token
// t's four activations at input i.
template <int kGroups, int kTokens>
MAMBA2_ALWAYS_INLINE inline void add_dots(const __m512i (&q)[kGroups], const TileActivations& x,
                                          int64_t i, __m512i (&isum)[kGroups][kTokens]) {
  unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
    const __m512i four = x.four(t, i);
    unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
      isum[g][t] = _mm512_dpbusd_epi32(isum[g][t], q[g], four);
    });
  });
}

// Activation block b of a tile whose weights give one byte per input (Q8_0's layout, a
// QuantPanel): per output one integer sum from start(t) (token t's, as int32) and eight vpdpbusd,
// line(g, s) holding inputs 4s..4s+3 of group g's sixteen rows; then
// acc = fma(float(isum), scale(g) * d_x, acc), scale(g) the sixteen rows' block scales.
template <int kGroups, int kTokens, class Start, class Line, class Scale>
MAMBA2_ALWAYS_INLINE inline void add_byte_block(const TileActivations& x, int64_t b, Start&& start,
                                                Line&& line, Scale&& scale,
                                                TileSums<kGroups, kTokens>& acc) {
  __m512i isum[kGroups][kTokens];
  unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
    const __m512i first = _mm512_set1_epi32(start(t));
    unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE { isum[g][t] = first; });
  });
  unroll<8>([&](auto s) MAMBA2_ALWAYS_INLINE {
    __m512i q[kGroups];
    unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE { q[g] = line(g, s); });
    add_dots(q, x, b * 32 + 4 * s, isum);
  });
  unroll<kGroups>([&](auto g) MAMBA2_ALWAYS_INLINE {
    const __m512 dw = scale(g);
    unroll<kTokens>([&](auto t) MAMBA2_ALWAYS_INLINE {
      const __m512 sc = _mm512_mul_ps(dw, _mm512_set1_ps(x.scale(t, b)));
      acc.v[g][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[g][t]), sc, acc.v[g][t]);
    });
  });
}

// A cache tile's groups of 16 rows with their quants unpacked to one unsigned byte per input, in
// Q8_0's line order, and per block `extra` bytes more of the kernel's own (its scales as floats,
// say): group g's block b's line s (inputs 4s..4s+3 of its sixteen rows) at
// g group_bytes + 512 b + 64 s, its extra bytes at g group_bytes + 512 K / 32 + extra b.
// [groups, K / 32, 8, 16, 4] bytes and [groups, K / 32, extra], one buffer per thread, grown once.
struct QuantPanel {
  std::byte* data;
  int64_t first_row;  // of the cache tile, a multiple of 16
  int64_t blocks;     // K / 32
  int64_t extra;
  int64_t group_bytes;

  std::byte* group(int64_t row) const { return data + (row - first_row) / kUnitRows * group_bytes; }
  const std::byte* line(int64_t row, int64_t b, int64_t s) const {
    return group(row) + 512 * b + 64 * s;
  }
  std::byte* extra_at(int64_t row, int64_t b) const {
    return group(row) + 512 * blocks + extra * b;
  }
};

// Bytes of a panel's rows, per row (for cache_tile_rows).
constexpr int64_t panel_row_bytes(int64_t k, int64_t extra) {
  return k + k / 32 * extra / kUnitRows;
}

inline QuantPanel panel_for(int64_t first_row, int64_t rows, int64_t k, int64_t extra) {
  thread_local AlignedVector<std::byte> buffer;
  const int64_t group_bytes = kUnitRows * panel_row_bytes(k, extra);
  const auto bytes = static_cast<size_t>(rows / kUnitRows * group_bytes);
  if (buffer.size() < bytes) buffer.resize(bytes);
  return {buffer.data(), first_row, k / 32, extra, group_bytes};
}

template <class Kernel>
concept PanelKernel = requires(const MatmulOperands& args, QuantPanel& panel) {
  Kernel::unpack(args, int64_t{}, panel);
  { Kernel::kPanelExtra } -> std::convertible_to<int64_t>;
};

// kGroups groups from `row` by tokens [t0, t0 + kTokens) into rows [n_begin, n_end) of y, through
// tile(out) writing them to out: a tile reaching past them (a range cut inside a group) is computed
// aside.
template <int kGroups, int kTokens, class Tile>
MAMBA2_ALWAYS_INLINE inline void tile_in_range(const MatmulOperands& args, int64_t row, int64_t t0,
                                               int64_t n_begin, int64_t n_end, Tile&& tile) {
  constexpr int64_t kRows = kGroups * kUnitRows;
  if (row >= n_begin && row + kRows <= n_end) return tile(output_at(args, row, t0));
  float aside[kTokens * kRows];
  float bias[kRows] = {};
  if (args.bias) {
    for (int64_t r = row; r < std::min(row + kRows, args.n()); ++r) bias[r - row] = args.bias[r];
  }
  tile(TileOutput{aside, kRows, args.bias ? bias : nullptr});
  for (int64_t r = std::max(row, n_begin); r < std::min(row + kRows, n_end); ++r) {
    for (int64_t t = 0; t < kTokens; ++t) {
      args.y.row(t0 + t)[r] = aside[t * kRows + (r - row)];
    }
  }
}

// Kernel::tile of kGroups groups from `row` by kTokens tokens from t0, into rows [n_begin, n_end).
template <class Kernel, int kGroups, int kTokens, bool kPrefetch>
void direct_tile(const MatmulOperands& args, const Q8_0Activations& xq, int64_t row, int64_t t0,
                 int64_t n_begin, int64_t n_end) {
  tile_in_range<kGroups, kTokens>(args, row, t0, n_begin, n_end, [&](const TileOutput& out) {
    Kernel::template tile<kGroups, kTokens, kPrefetch>(args, xq, row, t0, out);
  });
}

// Kernel::panel_tile, the same over a QuantPanel.
template <class Kernel, int kGroups, int kTokens>
void panel_tile(const MatmulOperands& args, const Q8_0Activations& xq, const QuantPanel& panel,
                int64_t row, int64_t t0, int64_t n_begin, int64_t n_end) {
  tile_in_range<kGroups, kTokens>(args, row, t0, n_begin, n_end, [&](const TileOutput& out) {
    Kernel::template panel_tile<kGroups, kTokens>(args, xq, panel, row, t0, out);
  });
}

// Rows [n_begin, n_end) of W interleaved by every token of the call.
template <class Kernel>
void matmul(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin, int64_t n_end) {
  const int64_t first = n_begin / kUnitRows * kUnitRows;
  const int64_t last = (n_end + kUnitRows - 1) / kUnitRows * kUnitRows;
  if (args.tokens() == 1) {
    constexpr int kGroups = Kernel::kGemvGroups;
    int64_t row = first;
    for (; row + kGroups * kUnitRows <= last; row += kGroups * kUnitRows) {
      direct_tile<Kernel, kGroups, 1, true>(args, xq, row, 0, n_begin, n_end);
    }
    for (; row < last; row += kUnitRows) {
      direct_tile<Kernel, 1, 1, true>(args, xq, row, 0, n_begin, n_end);
    }
    return;
  }
  // The first token tile of each cache tile reads its weights from memory (later ones find them
  // in cache), so it prefetches; a panel kernel unpacks the cache tile's groups first instead.
  constexpr int kGroups = Kernel::kGemmGroups;
  constexpr int kTokens = Kernel::kGemmTokens;
  constexpr int64_t kTileRows = kGroups * kUnitRows;
  const int64_t cache_rows = cache_tile_rows(Kernel::row_bytes(args.k()), kTileRows);
  for (int64_t r0 = first; r0 < last; r0 += cache_rows) {
    const int64_t r1 = std::min(last, r0 + cache_rows);
    [[maybe_unused]] QuantPanel panel{};
    if constexpr (PanelKernel<Kernel>) {
      panel = panel_for(r0, r1 - r0, args.k(), Kernel::kPanelExtra);
      for (int64_t row = r0; row < r1; row += kUnitRows) Kernel::unpack(args, row, panel);
    }
    for (int64_t t0 = 0; t0 < args.tokens(); t0 += kTokens) {
      with_count<kTokens>(std::min<int64_t>(kTokens, args.tokens() - t0), [&](auto count) {
        const auto block = [&](auto groups, int64_t row) {
          if constexpr (PanelKernel<Kernel>) {
            panel_tile<Kernel, groups, count>(args, xq, panel, row, t0, n_begin, n_end);
          } else if (t0 == 0 && groups == kGroups) {
            direct_tile<Kernel, groups, count, true>(args, xq, row, t0, n_begin, n_end);
          } else {
            direct_tile<Kernel, groups, count, false>(args, xq, row, t0, n_begin, n_end);
          }
        };
        int64_t row = r0;
        for (; row + kTileRows <= r1; row += kTileRows) {
          block(std::integral_constant<int, kGroups>{}, row);
        }
        for (; row < r1; row += kUnitRows) block(std::integral_constant<int, 1>{}, row);
      });
    }
  }
}

}  // namespace
}  // namespace mamba2::kernels::interleaved
