// RMSNorm over one row: y = x / sqrt(mean(x^2) + eps) * w.
#pragma once

#include <cstdint>

namespace mamba2::kernels {

// x, w, y: [n]. y may alias x.
void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps);

// The prenorm residual step of a block: residual += x (skipped when x is null), then
// y = rmsnorm(residual, w). residual, x, w, y: [n].
void add_rmsnorm(float* residual, const float* x, const float* w, float* y, int64_t n, float eps);

namespace ref {
void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps);
void add_rmsnorm(float* residual, const float* x, const float* w, float* y, int64_t n, float eps);
}  // namespace ref

struct RmsNormKernel {
  template <class Arch>
  void operator()(Arch, float* residual, const float* x, const float* w, float* y, int64_t n,
                  float eps) const;
};

}  // namespace mamba2::kernels
