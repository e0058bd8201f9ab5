#include "kernels/matmul.h"

#include <cblas.h>

#include <algorithm>
#include <limits>
#include <mutex>
#include <string>

#include "kernels/simd.h"
#include "mamba2/error.h"

namespace mamba2::kernels {
namespace {

// TBB owns the cores: each tile's sgemm runs on the thread that called it. Set once, before the
// first sgemm, because OpenBLAS otherwise starts a pool of its own as wide as the machine.
void use_single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

blasint blas_int(int64_t value, const char* what) {
  if (value < 0 || value > std::numeric_limits<blasint>::max()) {
    throw Error("matmul_f32", std::string(what) + " " + std::to_string(value) +
                                  " is outside the range of a BLAS integer");
  }
  return static_cast<blasint>(value);
}

void fill_with_bias(const MatmulArgs& args, int64_t n_begin, int64_t n_end) {
  for (int64_t t = 0; t < args.tokens; ++t) {
    float* y = args.y + t * args.ld_y;
    for (int64_t n = n_begin; n < n_end; ++n) y[n] = args.bias ? args.bias[n] : 0.0f;
  }
}

}  // namespace

void matmul_f32(const MatmulArgs& args, int64_t n_begin, int64_t n_end) {
  if (n_begin >= n_end || args.tokens <= 0) return;
  if (args.k == 0) return fill_with_bias(args, n_begin, n_end);
  // Rows of X or Y that overlap are a caller's bug (and OpenBLAS reports them on stderr and
  // returns without computing): refuse them whichever path runs.
  if (args.tokens > 1 && (args.ld_x < args.k || args.ld_y < n_end - n_begin)) {
    throw Error("matmul_f32", "row stride shorter than the row (ld_x " + std::to_string(args.ld_x) +
                                  ", K " + std::to_string(args.k) + ", ld_y " +
                                  std::to_string(args.ld_y) + ")");
  }
  if (args.tokens <= kGemvMaxTokens) {
    dispatch(GemvKernel{}, args, n_begin, n_end);
    return;
  }
  use_single_threaded_blas();
  // Y[:, n_begin:n_end] = X * W[n_begin:n_end, :]^T: W's rows are the columns of B.
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blas_int(args.tokens, "tokens"),
              blas_int(n_end - n_begin, "rows"), blas_int(args.k, "K"), 1.0f, args.x,
              blas_int(args.ld_x, "ld_x"), args.w + n_begin * args.k, blas_int(args.k, "K"), 0.0f,
              args.y + n_begin, blas_int(args.ld_y, "ld_y"));
  if (!args.bias) return;
  for (int64_t t = 0; t < args.tokens; ++t) {
    float* y = args.y + t * args.ld_y;
    for (int64_t n = n_begin; n < n_end; ++n) y[n] += args.bias[n];
  }
}

namespace ref {

void matmul_f32(const MatmulArgs& args, int64_t n_begin, int64_t n_end) {
  for (int64_t t = 0; t < args.tokens; ++t) {
    const float* x = args.x + t * args.ld_x;  // [K]
    for (int64_t n = n_begin; n < n_end; ++n) {
      const float* w = args.w + n * args.k;  // [K]
      double acc = 0.0;
      for (int64_t i = 0; i < args.k; ++i) acc += static_cast<double>(x[i]) * w[i];
      args.y[t * args.ld_y + n] = static_cast<float>(acc) + (args.bias ? args.bias[n] : 0.0f);
    }
  }
}

}  // namespace ref
}  // namespace mamba2::kernels
