#include "kernels/matmul.h"

#include <algorithm>
#include <limits>
#include <string>

#include "kernels/matmul_f32_panels.h"
#include "kernels/openblas.h"
#include "kernels/simd.h"
#include "mamba2/error.h"

namespace mamba2::kernels {
namespace {

blasint blas_int(int64_t value, const char* what) {
  if (value < 0 || value > std::numeric_limits<blasint>::max()) {
    throw Error("matmul_f32", std::string(what) + " " + std::to_string(value) +
                                  " is outside the range of a BLAS integer");
  }
  return static_cast<blasint>(value);
}

void fill_with_bias(const MatmulOperands& args, int64_t n_begin, int64_t n_end) {
  for (int64_t t = 0; t < args.tokens(); ++t) {
    float* y = args.y.row(t);
    for (int64_t n = n_begin; n < n_end; ++n) y[n] = args.bias ? args.bias[n] : 0.0f;
  }
}

}  // namespace

void matmul_f32(const MatmulOperands& args, int64_t n_begin, int64_t n_end) {
  args.check_shapes("matmul_f32");
  const int64_t tokens = args.tokens(), k = args.k();
  if (n_begin >= n_end || tokens <= 0) return;
  if (k == 0) return fill_with_bias(args, n_begin, n_end);
  // Rows of X or Y that overlap are a caller's bug (and OpenBLAS reports them on stderr and
  // returns without computing): refuse them whichever path runs.
  if (tokens > 1 && (args.x.stride < k || args.y.stride < n_end - n_begin)) {
    throw Error("matmul_f32", "row stride shorter than the row (ld_x " +
                                  std::to_string(args.x.stride) + ", K " + std::to_string(k) +
                                  ", ld_y " + std::to_string(args.y.stride) + ")");
  }
  // Packed panels: our GEMM for every token count (each token's bits are its own, see
  // matmul_f32_panels.h), so decode and batched decode read the same layout as prefill.
  if (args.w.layout == WeightLayout::kF32Panels16) {
    dispatch(PanelGemmKernel{}, args, n_begin, n_end);
    return;
  }
  if (tokens <= kGemvMaxTokens || args.token_rows == TokenRows::kSeparateSequences) {
    dispatch(GemvKernel{}, args, n_begin, n_end);
    return;
  }
  // Y[:, n_begin:n_end] = X * W[n_begin:n_end, :]^T: W's rows are the columns of B.
  openblas().sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blas_int(tokens, "tokens"),
                   blas_int(n_end - n_begin, "rows"), blas_int(k, "K"), 1.0f, args.x.data,
                   blas_int(args.x.stride, "ld_x"), args.w.elements<float>() + n_begin * k,
                   blas_int(k, "K"), 0.0f, args.y.data + n_begin, blas_int(args.y.stride, "ld_y"));
  if (!args.bias) return;
  for (int64_t t = 0; t < tokens; ++t) {
    float* y = args.y.row(t);
    for (int64_t n = n_begin; n < n_end; ++n) y[n] += args.bias[n];
  }
}

namespace ref {

void matmul_f32(const MatmulOperands& args, int64_t n_begin, int64_t n_end) {
  const int64_t k = args.k();
  const bool panels = args.w.layout == WeightLayout::kF32Panels16;
  for (int64_t t = 0; t < args.tokens(); ++t) {
    const float* x = args.x.row(t);  // [K]
    for (int64_t n = n_begin; n < n_end; ++n) {
      // Row n as stored ([K], step 1) or its lane of a panel ([K, 16], step 16).
      const float* w = args.w.elements<float>() +
                       (panels ? n / kF32PanelRows * kF32PanelRows * k + n % kF32PanelRows : n * k);
      const int64_t step = panels ? kF32PanelRows : 1;
      double acc = 0.0;
      for (int64_t i = 0; i < k; ++i) acc += static_cast<double>(x[i]) * w[i * step];
      args.y.row(t)[n] = static_cast<float>(acc) + (args.bias ? args.bias[n] : 0.0f);
    }
  }
}

}  // namespace ref
}  // namespace mamba2::kernels
