// Projections with ggml block-quantized weights that the integer kernels read in place: Q8_0,
// Q4_0, Q4_K, Q5_K and Q6_K. As ggml computes them, the activations are quantized on the fly to
// Q8_0 blocks (per token, per 32 inputs: d = amax / 127 rounded to f16, q = round(x / d)); every
// weight type is then seen as groups of 32 integer quants (quant_groups.h), and each output is a
// sum over groups of exact integer dot products scaled in float.
//
// The order of the float operations is the same on every path (scalar, AVX2 maddubs, AVX-VNNI and
// AVX512-VNNI vpdpbusd), so all give the same bits. Per output, eight lanes: lane j holds the
// integer sum of the products of inputs 4j..4j+3 of each group, accumulated group after group as
//   lane = fma(float(isum), s_w * d_x, lane)
// where s_w is the lane's weight scale (Q8_0, Q4_0: the block's d; Q4_K, Q5_K: d * the sub-block
// scale; Q6_K: d * the scale of the lane's 16-weight half) and d_x the activation block's scale;
// the lanes are then summed pairwise as ggml's hsum_float_8. The types with minimums (Q4_K, Q5_K,
// w = s_w * q - dmin * m) subtract a second eight-lane sum, lane g holding
//   fma(dmin * m_g, d_x * sum(q_x), lane)
// over sub-block g of every super-block. The interleaved layouts (Q8_0: matmul_q8_0.h; Q4_0, Q4_K:
// matmul_q4.h) have an order of their own. A row's result never depends on the rows or tokens
// computed with it: a GEMV, a GEMM, any tiling and any batch of one layout give the same bits.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/kernel_path.h"
#include "kernels/matmul_operands.h"

namespace mamba2::kernels {

enum class QuantPath { kScalar = 0, kAvx2 = 1, kAvxVnni = 2, kAvx512Vnni = 3 };

// scalar, avx2, avxvnni, avx512vnni; supported: whether this CPU (and the MAMBA2_SIMD cap: avx2
// and below disable the AVX-512 path, sse2 every SIMD path) can run the path.
std::span<const PathInfo<QuantPath>> path_table(QuantPath);
// The fastest supported path.
QuantPath quant_path();

// Whether matmul_quant reads `type` (the others go through matmul_dequant.h).
bool has_quant_kernel(DType type);

// Activations quantized per token and 32-input block, as ggml's quantize_row_q8_0.
struct Q8_0Activations {
  int64_t tokens = 0;
  int64_t k = 0;               // a multiple of 32
  std::vector<int8_t> quants;  // [tokens, k]
  std::vector<float> scales;   // [tokens, k / 32], the f16 scale d widened to f32
  // [tokens, k / 32, 8]: -128 * (sum of quants 4j..4j+3 of each block), which turns vpdpbusd's
  // unsigned operand (the weights plus 128) back into a signed product; see matmul_quant_vnni.h.
  std::vector<int32_t> lane_offsets;
  // [tokens, k / 32]: the same for a whole block (the sum of its eight lane offsets).
  std::vector<int32_t> block_offsets;
  // [tokens, k / 32]: d * float(sum of the block's quants), what a weight minimum multiplies.
  std::vector<float> sums;

  // Sizes the buffers (k must be a multiple of 32; throws Error otherwise).
  void resize(int64_t token_count, int64_t k_inputs);
  int64_t blocks() const { return k / 32; }
};

// Quantizes rows [t_begin, t_end) of x [tokens, K] into `out` (already resized). Disjoint
// token ranges may run on different threads. Every path gives the bytes of quantize_row_q8_0.
void quantize_activations_q8_0(QuantPath path, MatView<const float> x, int64_t t_begin,
                               int64_t t_end, Q8_0Activations& out);

// y[t, n] for n in [n_begin, n_end) and every token; args.w holds rows of a type
// has_quant_kernel accepts (Q8_0, Q4_0 and Q4_K also interleaved, on the AVX512-VNNI path) and
// args.x is ignored (the activations are `xq`, quantized from it). K must be whole blocks of the
// weight type.
void matmul_quant(QuantPath path, const MatmulOperands& args, const Q8_0Activations& xq,
                  int64_t n_begin, int64_t n_end);

namespace quant_detail {
// The per-ISA bodies of matmul_quant and quantize_activations_q8_0 (matmul_quant_*.cpp), for
// every type has_quant_kernel accepts, W as stored.
void matmul_scalar(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin,
                   int64_t n_end);
void matmul_avx2(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin,
                 int64_t n_end);
void matmul_avxvnni(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin,
                    int64_t n_end);
void matmul_avx512vnni(const MatmulOperands& args, const Q8_0Activations& xq, int64_t n_begin,
                       int64_t n_end);
void quantize_avx2(MatView<const float> x, int64_t t_begin, int64_t t_end, Q8_0Activations& out);
void quantize_avx512(MatView<const float> x, int64_t t_begin, int64_t t_end, Q8_0Activations& out);
// One block through quantize_block_q8_0 into Q8_0Activations' arrays; returns its block offset.
// The scalar path, and the SIMD quantizers' way with a block holding a NaN: ggml's MAX() keeps a
// NaN only when it comes last, an order their lane-wise maxima do not follow.
int32_t quantize_block_reference(const float* x, int8_t* quants, float* scale,
                                 int32_t* lane_offsets);
}  // namespace quant_detail

}  // namespace mamba2::kernels
