// RMSNorm rows at the model widths, per SIMD level, against the scalar reference.
#include <benchmark/benchmark.h>

#include <vector>

#include "kernels/rmsnorm.h"
#include "kernels/simd.h"

namespace mamba2::kernels {
namespace {

void BM_RmsNorm(benchmark::State& state) {
  const int64_t n = state.range(0);
  const auto level = static_cast<SimdLevel>(state.range(1));
  if (!path_supported(level)) {
    state.SkipWithError("SIMD level not supported by this CPU");
    return;
  }
  std::vector<float> residual(n, 0.5f), x(n, 0.25f), w(n, 1.0f), y(n);
  for (auto _ : state) {
    dispatch_at(level, RmsNormKernel{}, residual.data(), x.data(), w.data(), y.data(), n, 1e-5f);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(state.iterations() * n * 4 * sizeof(float));
  state.SetLabel(std::string(path_name(level)));
}

void BM_RmsNormReference(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::vector<float> residual(n, 0.5f), x(n, 0.25f), w(n, 1.0f), y(n);
  for (auto _ : state) {
    ref::add_rmsnorm(residual.data(), x.data(), w.data(), y.data(), n, 1e-5f);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(state.iterations() * n * 4 * sizeof(float));
}

// d_model of mamba2-130m, 370m/780m, 1.3b/2.7b.
BENCHMARK(BM_RmsNorm)->ArgsProduct({{768, 1024, 2048, 2560}, {0, 1, 2}});
BENCHMARK(BM_RmsNormReference)->Arg(768)->Arg(2560);

}  // namespace
}  // namespace mamba2::kernels
