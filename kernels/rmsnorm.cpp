#include "kernels/rmsnorm.h"

#include <cmath>

#include "kernels/simd.h"

namespace mamba2::kernels {

void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps) {
  // RmsNormKernel only reads `residual` when x is null.
  dispatch(RmsNormKernel{}, const_cast<float*>(x), nullptr, w, y, n, eps);
}

void add_rmsnorm(float* residual, const float* x, const float* w, float* y, int64_t n, float eps) {
  dispatch(RmsNormKernel{}, residual, x, w, y, n, eps);
}

namespace ref {

void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps) {
  double sum_sq = 0.0;
  for (int64_t i = 0; i < n; ++i) sum_sq += static_cast<double>(x[i]) * x[i];
  const float scale = 1.0f / std::sqrt(static_cast<float>(sum_sq / n) + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
}

void add_rmsnorm(float* residual, const float* x, const float* w, float* y, int64_t n, float eps) {
  if (x) {
    for (int64_t i = 0; i < n; ++i) residual[i] += x[i];
  }
  rmsnorm(residual, w, y, n, eps);
}

}  // namespace ref
}  // namespace mamba2::kernels
