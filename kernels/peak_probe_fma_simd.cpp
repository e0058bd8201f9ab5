// Compiled once per SIMD level (cmake/SimdKernels.cmake).
#include <array>

#include "kernels/peak_probes.h"
#include "kernels/simd.h"

namespace mamba2::kernels {

template <class Arch>
int64_t FmaProbe::operator()(Arch, int64_t iterations, float* sink) const {
  using Batch = xsimd::batch<float, Arch>;
  // 12 chains: above latency (4) x FMA ports (2), and fits the 16 registers of AVX2 with the
  // two operands.
  constexpr int kChains = 12;
  const Batch scale(*sink * 0.0f + 0.9999999f), offset(*sink * 0.0f + 1e-7f);
  std::array<Batch, kChains> acc;
  for (int c = 0; c < kChains; ++c) acc[c] = Batch(float(c));
  for (int64_t i = 0; i < iterations; ++i) {
    for (int c = 0; c < kChains; ++c) acc[c] = xsimd::fma(acc[c], scale, offset);
  }
  Batch total = acc[0];
  for (int c = 1; c < kChains; ++c) total += acc[c];
  *sink += xsimd::hadd(total);
  return iterations * kChains * int64_t{Batch::size} * 2;
}

MAMBA2_INSTANTIATE_KERNEL(int64_t FmaProbe::operator(), int64_t, float*);

}  // namespace mamba2::kernels
