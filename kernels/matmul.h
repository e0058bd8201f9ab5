// f32 projections: Y = X * W^T (+ bias), W stored [N, K] row-major as checkpoints store it.
//
// Computes output columns [n_begin, n_end) only, so the runtime tiles a projection over rows of
// W with boundaries that do not depend on the thread count (1 and 2 threads give identical bits).
// T <= kGemvMaxTokens (decode, a small decode batch) or rows of separate sequences (a decode
// batch of any size, TokenRows::kSeparateSequences) is our xsimd GEMV, which reads W once for all
// the tokens, each token's row giving the bits it gives alone; more tokens of one sequence use
// OpenBLAS sgemm, single-threaded: TBB owns the cores. W packed in panels at load
// (WeightLayout::kF32Panels16, where f32_gemm_path() found our GEMM the faster) takes our xsimd
// GEMM for every token count instead (kernels/matmul_f32_panels.h).
#pragma once

#include <cstdint>

#include "kernels/matmul_operands.h"

namespace mamba2::kernels {

// sgemm copies W into its own panels, a second pass over W that only pays off when many tokens
// share it (130m --batch 8 decode: 135 aggregate t/s through sgemm).
constexpr int64_t kGemvMaxTokens = 8;

// args.w holds f32 rows.
void matmul_f32(const MatmulOperands& args, int64_t n_begin, int64_t n_end);

namespace ref {
void matmul_f32(const MatmulOperands& args, int64_t n_begin, int64_t n_end);
}  // namespace ref

// Our xsimd GEMV, the T <= kGemvMaxTokens path of matmul_f32 (matmul_simd.cpp).
struct GemvKernel {
  template <class Arch>
  void operator()(Arch, const MatmulOperands& args, int64_t n_begin, int64_t n_end) const;
};

}  // namespace mamba2::kernels
