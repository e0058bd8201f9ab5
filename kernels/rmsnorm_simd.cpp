#include <cmath>

#include "kernels/rmsnorm.h"
#include "kernels/simd.h"

namespace mamba2::kernels {

template <class Arch>
void RmsNormKernel::operator()(Arch, float* residual, const float* x, const float* w, float* y,
                               int64_t n, float eps) const {
  using Batch = xsimd::batch<float, Arch>;
  constexpr int64_t kLanes = Batch::size;
  const int64_t body = n - n % kLanes;

  Batch sum_sq(0.0f);
  for (int64_t i = 0; i < body; i += kLanes) {
    Batch r = Batch::load_unaligned(residual + i);
    if (x) {
      r += Batch::load_unaligned(x + i);
      r.store_unaligned(residual + i);
    }
    sum_sq = xsimd::fma(r, r, sum_sq);
  }
  float tail_sum = 0.0f;
  for (int64_t i = body; i < n; ++i) {
    if (x) residual[i] += x[i];
    tail_sum += residual[i] * residual[i];
  }
  const float mean_sq = (xsimd::hadd(sum_sq) + tail_sum) / static_cast<float>(n);
  const float scale = 1.0f / std::sqrt(mean_sq + eps);

  const Batch scale_batch(scale);
  for (int64_t i = 0; i < body; i += kLanes) {
    const Batch r = Batch::load_unaligned(residual + i);
    (r * scale_batch * Batch::load_unaligned(w + i)).store_unaligned(y + i);
  }
  for (int64_t i = body; i < n; ++i) y[i] = residual[i] * scale * w[i];
}

MAMBA2_INSTANTIATE_KERNEL(void RmsNormKernel::operator(), float*, const float*, const float*,
                          float*, int64_t, float);

}  // namespace mamba2::kernels
