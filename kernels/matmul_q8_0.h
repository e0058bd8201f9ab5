// Projections with Q8_0 weights, as ggml computes them: the activations are quantized on the fly
// to Q8_0 blocks too (per token, per 32 inputs: d = amax / 127 rounded to f16, q = round(x / d)),
// and each output is a sum over blocks of d_w * d_x * sum(q_w * q_x) with exact integer inner sums.
//
// The integer sums are exact, so only the order of the float operations can differ, and it is
// fixed by the weight layout:
// - W as stored (WeightLayout::kRows), every path (scalar, AVX2 maddubs, AVX-VNNI and AVX512-VNNI
//   vpdpbusd): ggml's AVX2 order. Eight lanes, lane j holding the integer sum of the products of
//   bytes 4j..4j+3 of each block, accumulated as lane = fma(float(isum), d_w * d_x, lane) block
//   after block, then summed pairwise as ggml's hsum_float_8.
// - W interleaved (WeightLayout::kQ8_0Interleaved16, AVX512-VNNI): block order. One float per
//   output, acc = fma(float(block's isum), d_w * d_x, acc) block after block. It costs a quarter
//   of the float work per multiply-add (see interleave_q8_0), which is what bounds prefill.
// Either way a row's result does not depend on the rows or tokens computed with it: a GEMV, a
// GEMM, any tiling and any batch of one layout give the same bits.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/kernel_path.h"
#include "kernels/matmul_operands.h"

namespace mamba2::kernels {

enum class Q8_0Path { kScalar = 0, kAvx2 = 1, kAvxVnni = 2, kAvx512Vnni = 3 };

// scalar, avx2, avxvnni, avx512vnni; supported: whether this CPU (and the MAMBA2_SIMD cap: avx2
// and below disable the AVX-512 path, sse2 every SIMD path) can run the path.
std::span<const PathInfo<Q8_0Path>> path_table(Q8_0Path);
// The fastest supported path.
Q8_0Path q8_0_path();

// Activations quantized per token and 32-input block, as ggml's quantize_row_q8_0.
struct Q8_0Activations {
  int64_t tokens = 0;
  int64_t k = 0;               // a multiple of 32
  std::vector<int8_t> quants;  // [tokens, k]
  std::vector<float> scales;   // [tokens, k / 32], the f16 scale d widened to f32
  // [tokens, k / 32, 8]: -128 * (sum of quants 4j..4j+3 of each block), which turns vpdpbusd's
  // unsigned operand (the weights plus 128) back into a signed product; see matmul_q8_0_vnni.h.
  std::vector<int32_t> lane_offsets;
  // [tokens, k / 32]: the same for a whole block (the sum of its eight lane offsets).
  std::vector<int32_t> block_offsets;

  // Sizes the buffers (k must be a multiple of 32; throws Error otherwise).
  void resize(int64_t token_count, int64_t k_inputs);
  int64_t blocks() const { return k / 32; }
};

// Quantizes rows [t_begin, t_end) of x [tokens, K] into `out` (already resized). Disjoint
// token ranges may run on different threads. Every path gives the bytes of quantize_row_q8_0.
void quantize_activations_q8_0(Q8_0Path path, MatView<const float> x, int64_t t_begin,
                               int64_t t_end, Q8_0Activations& out);

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
// Units run along K first, then down the rows; rows past N (up to the next 16) are zeros.
constexpr int64_t kQ8_0UnitRows = 16;
constexpr int64_t kQ8_0UnitBlocks = 2;
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
// interleaved layout, rows [n_begin, n_end) (multiples of 16, or n_end == n), so disjoint ranges
// may run on different threads.
void interleave_q8_0(const std::byte* rows, int64_t n, int64_t k, int64_t n_begin, int64_t n_end,
                     std::byte* out);

// y[t, n] for n in [n_begin, n_end) and every token; args.w holds Q8_0 rows (or, on the
// AVX512-VNNI path, the interleaved layout) and args.x is ignored (the activations are `xq`,
// quantized from it). K must be a multiple of 32.
void matmul_q8_0(Q8_0Path path, const MatmulOperands& args, const Q8_0Activations& xq,
                 int64_t n_begin, int64_t n_end);

namespace q8_0_detail {
// The per-ISA bodies of matmul_q8_0 and quantize_activations_q8_0 (matmul_q8_0_*.cpp).
void matmul_scalar(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin,
                   int64_t n_end);
void matmul_avx2(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin,
                 int64_t n_end);
void matmul_avxvnni(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin,
                    int64_t n_end);
void matmul_avx512vnni(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin,
                       int64_t n_end);
void matmul_avx512vnni_interleaved(const MatmulOperands& args, const Q8_0Activations& xq,
                                   int64_t n_begin, int64_t n_end);
void quantize_avx2(MatView<const float> x, int64_t t_begin, int64_t t_end, Q8_0Activations& out);
}  // namespace q8_0_detail

}  // namespace mamba2::kernels
