// Small per-token operations of the Mamba-2 mixer.
#pragma once

#include <cstdint>

namespace mamba2::kernels {

// dt_out[t * heads + h] = clamp(softplus(dt_in[t * ld_in + h] + bias[h]), lo, hi), with
// softplus(v) = log1p(exp(v)) and = v for v > 20 (as torch.nn.functional.softplus).
void dt_softplus(const float* dt_in, int64_t ld_in, const float* bias, float lo, float hi,
                 float* dt_out, int64_t tokens, int64_t heads);

// The gated grouped RMSNorm before out_proj, for one token of d channels split into groups of
// group_size contiguous channels (eps = config.norm_eps):
//   norm_before_gate = false (released models): out = groupRMSNorm(y * silu(z)) * w
//   norm_before_gate = true:                    out = groupRMSNorm(y) * w * silu(z)
//   w == nullptr (rmsnorm = false):             out = y * silu(z)
// out may alias y.
void gated_rmsnorm(const float* y, const float* z, const float* w, float* out, int64_t d,
                   int64_t group_size, float eps, bool norm_before_gate);

// out[i] = silu(z[i]) * x[i]: the d_mlp part of the mixer when d_ssm < d_inner.
void silu_mul(const float* z, const float* x, float* out, int64_t n);

namespace ref {
void dt_softplus(const float* dt_in, int64_t ld_in, const float* bias, float lo, float hi,
                 float* dt_out, int64_t tokens, int64_t heads);
void gated_rmsnorm(const float* y, const float* z, const float* w, float* out, int64_t d,
                   int64_t group_size, float eps, bool norm_before_gate);
void silu_mul(const float* z, const float* x, float* out, int64_t n);
}  // namespace ref

// The xsimd implementations behind the functions above (elementwise_simd.cpp).
struct DtSoftplusKernel {
  template <class Arch>
  void operator()(Arch, const float* dt_in, int64_t ld_in, const float* bias, float lo, float hi,
                  float* dt_out, int64_t tokens, int64_t heads) const;
};

struct GatedRmsNormKernel {
  template <class Arch>
  void operator()(Arch, const float* y, const float* z, const float* w, float* out, int64_t d,
                  int64_t group_size, float eps, bool norm_before_gate) const;
};

struct SiluMulKernel {
  template <class Arch>
  void operator()(Arch, const float* z, const float* x, float* out, int64_t n) const;
};

}  // namespace mamba2::kernels
