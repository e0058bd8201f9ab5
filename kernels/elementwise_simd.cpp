#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/elementwise.h"
#include "kernels/simd.h"
#include "kernels/simd_strip.h"

namespace mamba2::kernels {
namespace {}  // namespace

template <class Arch>
void DtSoftplusKernel::operator()(Arch, const float* dt_in, int64_t ld_in, const float* bias,
                                  float lo, float hi, float* dt_out, int64_t tokens,
                                  int64_t heads) const {
  using Batch = xsimd::batch<float, Arch>;
  const Batch threshold(20.0f), lo_batch(lo), hi_batch(hi);
  for (int64_t t = 0; t < tokens; ++t) {
    const float* row = dt_in + t * ld_in;  // [heads]
    float* out = dt_out + t * heads;       // [heads]
    for_each_strip<Batch>(heads, [&](auto strip, int64_t h) {
      Batch v = strip.load(row + h);
      if (bias) v += strip.load(bias + h);
      // As torch: softplus(v) = v above the threshold, where exp(v) would only lose digits.
      const Batch softplus = xsimd::select(v > threshold, v, xsimd::log1p(xsimd::exp(v)));
      strip.store(xsimd::min(xsimd::max(softplus, lo_batch), hi_batch), out + h);
    });
  }
}

template <class Arch>
void GatedRmsNormKernel::operator()(Arch, const float* y, const float* z, const float* w,
                                    float* out, int64_t d, int64_t group_size, float eps,
                                    bool norm_before_gate) const {
  using Batch = xsimd::batch<float, Arch>;
  if (!w) {
    for_each_strip<Batch>(d, [&](auto strip, int64_t i) {
      strip.store(strip.load(y + i) * silu(strip.load(z + i)), out + i);
    });
    return;
  }
  // As the reference: a shorter last group when group_size does not divide d.
  const int64_t group = group_size > 0 ? group_size : d;
  for (int64_t begin = 0; begin < d; begin += group) {
    const int64_t len = std::min(d - begin, group);
    const float* y_g = y + begin;  // [len]
    const float* z_g = z + begin;
    const float* w_g = w + begin;
    float* out_g = out + begin;
    // One lane-wise accumulator in strip order, then hadd: a fixed order for a given level, so
    // the result never depends on how tokens or groups are spread over threads.
    Batch sum_sq(0.0f);
    if (norm_before_gate) {
      for_each_strip<Batch>(len, [&](auto strip, int64_t i) {
        const Batch v = strip.load(y_g + i);
        sum_sq = xsimd::fma(v, v, sum_sq);
      });
    } else {
      // out may alias y: each q[i] only needs y[i], and the second pass reads q back from out.
      for_each_strip<Batch>(len, [&](auto strip, int64_t i) {
        const Batch q = strip.load(y_g + i) * silu(strip.load(z_g + i));
        strip.store(q, out_g + i);
        sum_sq = xsimd::fma(q, q, sum_sq);
      });
    }
    const float scale = 1.0f / std::sqrt(xsimd::hadd(sum_sq) / static_cast<float>(len) + eps);
    const Batch scale_batch(scale);
    if (norm_before_gate) {
      for_each_strip<Batch>(len, [&](auto strip, int64_t i) {
        const Batch normed = strip.load(y_g + i) * scale_batch * strip.load(w_g + i);
        strip.store(normed * silu(strip.load(z_g + i)), out_g + i);
      });
    } else {
      for_each_strip<Batch>(len, [&](auto strip, int64_t i) {
        strip.store(strip.load(out_g + i) * scale_batch * strip.load(w_g + i), out_g + i);
      });
    }
  }
}

template <class Arch>
void SiluMulKernel::operator()(Arch, const float* z, const float* x, float* out, int64_t n) const {
  using Batch = xsimd::batch<float, Arch>;
  for_each_strip<Batch>(n, [&](auto strip, int64_t i) {
    strip.store(silu(strip.load(z + i)) * strip.load(x + i), out + i);
  });
}

MAMBA2_INSTANTIATE_KERNEL(void DtSoftplusKernel::operator(), const float*, int64_t, const float*,
                          float, float, float*, int64_t, int64_t);
MAMBA2_INSTANTIATE_KERNEL(void GatedRmsNormKernel::operator(), const float*, const float*,
                          const float*, float*, int64_t, int64_t, float, bool);
MAMBA2_INSTANTIATE_KERNEL(void SiluMulKernel::operator(), const float*, const float*, float*,
                          int64_t);

}  // namespace mamba2::kernels
