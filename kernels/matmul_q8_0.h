// Q8_0's own layout for the AVX512-VNNI kernels. W as stored goes through matmul_quant.h like the
// other block types; W interleaved (WeightLayout::kQ8_0Interleaved16) is read in block order: one
// float per output, acc = fma(float(block's isum), d_w * d_x, acc) block after block. It costs a
// quarter of the float work per multiply-add (see interleave_q8_0), which is what bounds prefill.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/matmul_quant.h"
#include "quant/q8_0.h"

namespace mamba2::kernels {

// The interleaved layout (WeightLayout::kQ8_0Interleaved16), which the AVX512-VNNI path reads
// as one sequence of aligned 64-byte lines. A line holds four consecutive inputs of sixteen rows,
// so one vpdpbusd against a token's four activations (broadcast) adds to sixteen outputs at once
// and eight of them leave each output's exact block sum in its own lane: per 512 multiply-adds,
// 8 dot products and 3 float operations (convert, scale product, fma), where the stored layout
// needs 8 and 24 to keep ggml's eight partial sums per output. W is cut into units of 16 rows by
// 2 blocks, 1088 bytes (17 lines, the size of its 32 stored blocks):
//   bytes [512 j + 64 s, +64)   inputs 4s..4s+3 of block j of rows 0..15, four bytes per row,
//                               each plus 128 (unsigned, as vpdpbusd reads them)
//   bytes [1024 + 32 j, +32)    the f16 scales of block j of rows 0..15
// Units run along K first, then down the groups of 16 rows; the N % 16 rows past the last group
// follow the groups as stored (interleave.h).
constexpr int64_t kQ8_0UnitRows = 16;
constexpr int64_t kQ8_0UnitBlocks = 2;
constexpr int64_t kQ8_0UnitInputs = kQ8_0UnitBlocks * kQ8_0BlockElems;  // along K
constexpr int64_t kQ8_0UnitQuantBytes = 512;  // one block's quants: 8 lines
constexpr int64_t kQ8_0UnitScaleBytes = 32;   // one block's scales: 16 f16
constexpr int64_t kQ8_0UnitScaleOffset = kQ8_0UnitBlocks * kQ8_0UnitQuantBytes;
constexpr int64_t kQ8_0UnitBytes = kQ8_0UnitScaleOffset + kQ8_0UnitBlocks * kQ8_0UnitScaleBytes;

// Whether W [n, k] fits the interleaved layout (k % 64 == 0) and this CPU runs the path that
// reads it.
bool q8_0_interleave_supported(int64_t n, int64_t k);
// Bytes of W [n, k] in the interleaved layout: n rounded up to 16 rows.
int64_t q8_0_interleaved_bytes(int64_t n, int64_t k);
// Writes W [n, k] stored as Q8_0 rows to `out` (q8_0_interleaved_bytes(n, k) bytes) in the
// interleaved layout, rows [n_begin, n_end) (multiples of 16, or n_end == n, as interleave()
// checks), so disjoint ranges may run on different threads.
void interleave_q8_0(const std::byte* rows, int64_t n, int64_t k, int64_t n_begin, int64_t n_end,
                     std::byte* out);

// Row `row` of W [n, k] interleaved, as its stored Q8_0 blocks (k / 32 of them, to `out`).
void deinterleave_q8_0_row(const std::byte* interleaved, int64_t k, int64_t row, std::byte* out);

namespace q8_0_detail {
// matmul_quant's body for interleaved Q8_0 weights (matmul_quant_avx512vnni.cpp).
void matmul_avx512vnni_interleaved(const MatmulOperands& args, const Q8_0Activations& xq,
                                   int64_t n_begin, int64_t n_end);
}  // namespace q8_0_detail

}  // namespace mamba2::kernels
