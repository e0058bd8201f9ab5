// f32 weights in panels for our own GEMM (WeightLayout::kF32Panels16), an alternative to OpenBLAS
// sgemm for prefill where ours is the faster: Debian's OpenBLAS 0.3.21 falls back to SSE3 kernels
// on CPUs newer than it, and OPENBLAS_CORETYPE=Haswell (CI) gives AVX2 ones on AVX-512 CPUs.
//
// W [N, K] as stored is cut into panels of 16 rows; panel p holds rows 16p..16p+15 column after
// column, so the sixteen weights one input meets are one 64-byte line:
//   panels[p * 16 * K + i * 16 + r] = W[16p + r, i]   (rows past N: zeros)
// The kernel broadcasts one token's x[i] against those lines and keeps each output's sum in its
// own register lane, a plain FMA chain over i in order: a result does not depend on which tokens
// or rows share its register block, nor on how the runtime tiles rows or tokens over threads.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "kernels/kernel_path.h"
#include "kernels/matmul_operands.h"

namespace mamba2::kernels {

constexpr int64_t kF32PanelRows = 16;

// Floats of W [n, k] in panels: n rounded up to 16 rows.
int64_t f32_panels_floats(int64_t n, int64_t k);
// Writes rows [n_begin, n_end) of W [n, k] (rows of floats) into `panels` (f32_panels_floats(n, k)
// floats); n_begin a multiple of 16 and n_end one or n, so disjoint ranges may run on different
// threads.
void pack_f32_panels(const float* w, int64_t n, int64_t k, int64_t n_begin, int64_t n_end,
                     float* panels);

// Which GEMM runs an f32 projection of more than kGemvMaxTokens tokens of one sequence.
enum class F32GemmPath : uint8_t {
  kOpenBlas,  // W as stored, OpenBLAS sgemm (single-threaded, TBB tiles it)
  kPanels,    // W packed in panels at load, our xsimd kernel at simd_level()
};
std::span<const PathInfo<F32GemmPath>> path_table(F32GemmPath);

// The faster path for W [n, k] on this machine: MAMBA2_F32_GEMM=blas|own if set (tests, A/B
// measurements), else timed once per K on a slice of up to 256 rows of this shape (a few ms),
// remembered for the process and in the machine's file of timed choices
// (runtime/io/timed_choices.h), so that every process computes the same bits.
F32GemmPath f32_gemm_path(int64_t n, int64_t k);
// What the choices so far were, for reports: "openblas sgemm", "panels avx512",
// "panels avx512 + openblas sgemm" (some shapes each way); "" before any choice.
std::string f32_gemm_paths_chosen();

// y rows [n_begin, n_end) (any range) of args, whose W is in panels (args.w.layout is
// kF32Panels16), any number of tokens (matmul_f32_panels_simd.cpp).
struct PanelGemmKernel {
  template <class Arch>
  void operator()(Arch, const MatmulOperands& args, int64_t n_begin, int64_t n_end) const;
};

}  // namespace mamba2::kernels
