#include "kernels/elementwise.h"

#include <algorithm>
#include <cmath>

#include "kernels/simd.h"

namespace mamba2::kernels {

void dt_softplus(const float* dt_in, int64_t ld_in, const float* bias, float lo, float hi,
                 float* dt_out, int64_t tokens, int64_t heads) {
  dispatch(DtSoftplusKernel{}, dt_in, ld_in, bias, lo, hi, dt_out, tokens, heads);
}

void gated_rmsnorm(const float* y, const float* z, const float* w, float* out, int64_t d,
                   int64_t group_size, float eps, bool norm_before_gate) {
  dispatch(GatedRmsNormKernel{}, y, z, w, out, d, group_size, eps, norm_before_gate);
}

void silu_mul(const float* z, const float* x, float* out, int64_t n) {
  dispatch(SiluMulKernel{}, z, x, out, n);
}

namespace ref {
namespace {

float silu(float v) { return v / (1.0f + std::exp(-v)); }

// torch.nn.functional.softplus with beta 1 and threshold 20.
float softplus(float v) { return v > 20.0f ? v : std::log1p(std::exp(v)); }

}  // namespace

void dt_softplus(const float* dt_in, int64_t ld_in, const float* bias, float lo, float hi,
                 float* dt_out, int64_t tokens, int64_t heads) {
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t h = 0; h < heads; ++h) {
      const float v = dt_in[t * ld_in + h] + (bias ? bias[h] : 0.0f);
      dt_out[t * heads + h] = std::min(std::max(softplus(v), lo), hi);
    }
  }
}

void gated_rmsnorm(const float* y, const float* z, const float* w, float* out, int64_t d,
                   int64_t group_size, float eps, bool norm_before_gate) {
  if (!w) {
    for (int64_t i = 0; i < d; ++i) out[i] = y[i] * silu(z[i]);
    return;
  }
  // A group_size that does not divide d leaves a shorter last group; <= 0 means one group.
  const int64_t group = group_size > 0 ? group_size : d;
  for (int64_t begin = 0; begin < d; begin += group) {
    const int64_t end = std::min(d, begin + group);
    double sum_sq = 0.0;
    if (norm_before_gate) {
      for (int64_t i = begin; i < end; ++i) sum_sq += static_cast<double>(y[i]) * y[i];
    } else {
      for (int64_t i = begin; i < end; ++i) {
        out[i] = y[i] * silu(z[i]);
        sum_sq += static_cast<double>(out[i]) * out[i];
      }
    }
    const float scale = 1.0f / std::sqrt(static_cast<float>(sum_sq / (end - begin)) + eps);
    for (int64_t i = begin; i < end; ++i) {
      out[i] = norm_before_gate ? y[i] * scale * w[i] * silu(z[i]) : out[i] * scale * w[i];
    }
  }
}

void silu_mul(const float* z, const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = silu(z[i]) * x[i];
}

}  // namespace ref
}  // namespace mamba2::kernels
