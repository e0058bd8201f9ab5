// The small per-token mixer operations at mamba2-130m shapes (d_ssm 1536, 24 heads), per SIMD
// level against the scalar reference.
#include <benchmark/benchmark.h>

#include <limits>
#include <string>
#include <vector>

#include "kernels/elementwise.h"
#include "kernels/simd.h"

namespace mamba2::kernels {
namespace {

constexpr int64_t kDssm = 1536;
constexpr int64_t kHeads = 24;
constexpr int64_t kRowStride = 3352;  // dt sits inside the in_proj output row (d_in_proj)
constexpr float kInf = std::numeric_limits<float>::infinity();

bool skip_unsupported(benchmark::State& state, SimdLevel level) {
  if (path_supported(level)) return false;
  state.SkipWithError("SIMD level not supported by this CPU");
  return true;
}

void BM_GatedRmsNorm(benchmark::State& state) {
  const auto level = static_cast<SimdLevel>(state.range(0));
  const int64_t groups = state.range(1);
  if (skip_unsupported(state, level)) return;
  std::vector<float> y(kDssm, 0.5f), z(kDssm, 0.25f), w(kDssm, 1.0f), out(kDssm);
  for (auto _ : state) {
    dispatch_at(level, GatedRmsNormKernel{}, y.data(), z.data(), w.data(), out.data(), kDssm,
                kDssm / groups, 1e-5f, false);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * kDssm * 4 * static_cast<int64_t>(sizeof(float)));
  state.SetLabel(std::string(path_name(level)));
}

void BM_GatedRmsNormReference(benchmark::State& state) {
  std::vector<float> y(kDssm, 0.5f), z(kDssm, 0.25f), w(kDssm, 1.0f), out(kDssm);
  for (auto _ : state) {
    ref::gated_rmsnorm(y.data(), z.data(), w.data(), out.data(), kDssm, kDssm, 1e-5f, false);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * kDssm * 4 * static_cast<int64_t>(sizeof(float)));
}

void BM_DtSoftplus(benchmark::State& state) {
  const auto level = static_cast<SimdLevel>(state.range(0));
  const int64_t tokens = state.range(1);
  if (skip_unsupported(state, level)) return;
  std::vector<float> dt_in(tokens * kRowStride, 0.5f), bias(kHeads, -1.0f), out(tokens * kHeads);
  for (auto _ : state) {
    dispatch_at(level, DtSoftplusKernel{}, dt_in.data(), kRowStride, bias.data(), 0.0f, kInf,
                out.data(), tokens, kHeads);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * tokens * kHeads);
  state.SetLabel(std::string(path_name(level)));
}

void BM_DtSoftplusReference(benchmark::State& state) {
  const int64_t tokens = state.range(0);
  std::vector<float> dt_in(tokens * kRowStride, 0.5f), bias(kHeads, -1.0f), out(tokens * kHeads);
  for (auto _ : state) {
    ref::dt_softplus(dt_in.data(), kRowStride, bias.data(), 0.0f, kInf, out.data(), tokens, kHeads);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * tokens * kHeads);
}

void BM_SiluMul(benchmark::State& state) {
  const auto level = static_cast<SimdLevel>(state.range(0));
  if (skip_unsupported(state, level)) return;
  std::vector<float> z(kDssm, 0.5f), x(kDssm, 0.25f), out(kDssm);
  for (auto _ : state) {
    dispatch_at(level, SiluMulKernel{}, z.data(), x.data(), out.data(), kDssm);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * kDssm * 3 * static_cast<int64_t>(sizeof(float)));
  state.SetLabel(std::string(path_name(level)));
}

// ngroups 1 (the released models) and 8.
BENCHMARK(BM_GatedRmsNorm)->ArgsProduct({{0, 1, 2}, {1, 8}});
BENCHMARK(BM_GatedRmsNormReference);
BENCHMARK(BM_DtSoftplus)->ArgsProduct({{0, 1, 2}, {1, 256}});
BENCHMARK(BM_DtSoftplusReference)->Arg(1)->Arg(256);
BENCHMARK(BM_SiluMul)->DenseRange(0, 2);

}  // namespace
}  // namespace mamba2::kernels
