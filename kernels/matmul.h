// f32 projections: Y = X * W^T (+ bias), W stored [N, K] row-major as checkpoints store it.
//
// Computes output columns [n_begin, n_end) only, so the runtime tiles a projection over rows of
// W with boundaries that do not depend on the thread count (1 and 2 threads give identical bits).
// T == 1 is a GEMV (ours, xsimd); T > 1 uses OpenBLAS sgemm, single-threaded: TBB owns the cores.
#pragma once

#include <cstdint>

namespace mamba2::kernels {

struct MatmulArgs {
  const float* x;  // [T, K], row stride ld_x
  int64_t ld_x;
  const float* w;     // [N, K] row-major
  const float* bias;  // [N] or null
  float* y;           // [T, N], row stride ld_y
  int64_t ld_y;
  int64_t tokens;  // T
  int64_t k;       // K
  int64_t n;       // N
};

void matmul_f32(const MatmulArgs& args, int64_t n_begin, int64_t n_end);

namespace ref {
void matmul_f32(const MatmulArgs& args, int64_t n_begin, int64_t n_end);
}  // namespace ref

// Our xsimd GEMV, the T == 1 path of matmul_f32 (matmul_simd.cpp): uses row 0 of x only.
struct GemvKernel {
  template <class Arch>
  void operator()(Arch, const MatmulArgs& args, int64_t n_begin, int64_t n_end) const;
};

}  // namespace mamba2::kernels
