// Q4_0's, Q4_K's and Q6_K's own layouts for the AVX512-VNNI kernels, the 4-bit twins of Q8_0's
// (matmul_q8_0.h): sixteen rows interleaved so that one 64-byte line of nibbles feeds sixteen
// outputs through two vpdpbusd (its low nibbles, then its high ones), and the rows' scales
// gathered into lines of their own. Each unit holds exactly the bytes of the stored blocks it
// replaces, only rearranged (the quants' bytes keep their values: no bias, no nibble shuffling).
//
// Q4_0 (WeightLayout::kQ4_0Interleaved16), units of 16 rows by 2 blocks, 576 bytes (9 lines):
//   bytes [256 j + 64 s, +64)   qs[4s..4s+3] of block j of rows 0..15, four bytes per row: low
//                               nibbles are inputs 4s..4s+3 of the block, high ones 16+4s..
//   bytes [512 + 32 j, +32)     the f16 scales d of block j of rows 0..15
// Q4_K (WeightLayout::kQ4_KInterleaved16), units of 16 rows by 1 super-block, 2304 bytes (36
// lines):
//   bytes [512 c + 64 s, +64)   qs[32c + 4s..+3] of rows 0..15: low nibbles are inputs
//                               64c + 4s..+3 (sub-block 2c), high ones 64c + 32 + 4s.. (2c + 1)
//   bytes [2048, +32)           d of rows 0..15 (f16); [2080, +32) dmin
//   bytes [2112 + 64 w, +64)    word w (bytes 4w..4w+3) of the 12 packed scale bytes, rows 0..15
// Q6_K (WeightLayout::kQ6_KInterleaved16), for the 6-bit tied embedding / lm_head of the _M
// mixes, units of 16 rows by 1 super-block, 3360 bytes (52.5 lines):
//   bytes [64 i, +64)           ql[4i..4i+3] of rows 0..15 (i < 32)
//   bytes [2048 + 64 i, +64)    qh[4i..4i+3] of rows 0..15 (i < 16)
//   bytes [3072 + 64 w, +64)    scales[4w..4w+3] of rows 0..15 (w < 4)
//   bytes [3328, +32)           d of rows 0..15 (f16)
// Units run along K first, then down the groups of 16 rows; the N % 16 rows past the last group
// follow the groups as stored (interleave.h).
//
// Both are read in block order, one float per output (see the references in
// tests/kernels/matmul_quant_test.cpp): Q4_0 as Q8_0, acc = fma(float(isum), d * d_x, acc) with the
// block's exact sum of (q - 8) * q_x; Q4_K per sub-block g
//   acc = fma(float(isum_g), (d * sc_g) * d_x, acc),  mins = fma(dmin * m_g, d_x * sum(q_x), mins)
// and y = acc - mins; Q6_K per half h of each block of 32 (sub-block 2b + h, its own scale)
//   acc = fma(float(isum_h), (d * sc_h) * d_x, acc)
// with isum_h the half's exact sum of (q - 32) * q_x, per 128 inputs (4 blocks) the blocks' first
// halves, then their second ones (the order the lines come in).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "kernels/matmul_quant.h"

namespace mamba2::kernels {

constexpr int64_t kQ4UnitRows = 16;
constexpr int64_t kQ4_0UnitBlocks = 2;
constexpr int64_t kQ4_0UnitScaleOffset = 512;
constexpr int64_t kQ4_0UnitBytes = 576;
constexpr int64_t kQ4_KUnitDOffset = 2048;
constexpr int64_t kQ4_KUnitDminOffset = 2080;
constexpr int64_t kQ4_KUnitScaleOffset = 2112;
constexpr int64_t kQ4_KUnitBytes = 2304;
constexpr int64_t kQ6_KUnitHighOffset = 2048;
constexpr int64_t kQ6_KUnitScaleOffset = 3072;
constexpr int64_t kQ6_KUnitDOffset = 3328;
constexpr int64_t kQ6_KUnitBytes = 3360;

// Inputs along K per unit of `type`'s layout (64 for Q4_0, 256 for Q4_K and Q6_K).
int64_t q4_unit_inputs(DType type);
// Whether W [n, k] of `type` (Q4_0, Q4_K or Q6_K) fits its interleaved layout and this CPU runs the
// path that reads it.
bool q4_interleave_supported(DType type, int64_t n, int64_t k);
// Each type with a layout here, and that layout.
inline constexpr std::pair<DType, WeightLayout> kQ4Layouts[] = {
    {DType::kQ4_0, WeightLayout::kQ4_0Interleaved16},
    {DType::kQ4_K, WeightLayout::kQ4_KInterleaved16},
    {DType::kQ6_K, WeightLayout::kQ6_KInterleaved16}};
// The layout of `type` here, or kRows.
constexpr WeightLayout q4_layout(DType type) {
  for (const auto& [t, layout] : kQ4Layouts) {
    if (t == type) return layout;
  }
  return WeightLayout::kRows;
}
// The weight type `layout` (one of kQ4Layouts) holds.
constexpr DType q4_layout_type(WeightLayout layout) {
  for (const auto& [type, l] : kQ4Layouts) {
    if (l == layout) return type;
  }
  return DType::kF32;
}
// Bytes of W [n, k] of `type` interleaved: n rounded up to 16 rows.
int64_t q4_interleaved_bytes(DType type, int64_t n, int64_t k);
// Writes W [n, k] stored as rows of `type` to `out` (q4_interleaved_bytes bytes) interleaved,
// rows [n_begin, n_end) (multiples of 16, or n_end == n, as interleave() checks), so disjoint
// ranges may run on different threads.
void interleave_q4(DType type, const std::byte* rows, int64_t n, int64_t k, int64_t n_begin,
                   int64_t n_end, std::byte* out);

// Row `row` of W [n, k] of `type` interleaved, as its stored blocks (to `out`).
void deinterleave_q4_row(DType type, const std::byte* interleaved, int64_t k, int64_t row,
                         std::byte* out);

namespace q4_detail {
// matmul_quant's body for interleaved Q4_0, Q4_K and Q6_K weights (matmul_q4_avx512vnni.cpp).
void matmul_avx512vnni_interleaved(const MatmulOperands& args, const Q8_0Activations& xq,
                                   int64_t n_begin, int64_t n_end);
}  // namespace q4_detail

}  // namespace mamba2::kernels
