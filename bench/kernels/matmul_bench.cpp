// f32 projections at the Mamba-2 model shapes. T = 1: our GEMV per SIMD level against the scalar
// reference and OpenBLAS sgemv (GB/s of weights read). T = 256: matmul_f32's sgemm (GFLOP/s), and
// for the 130m shapes OpenBLAS against our panel GEMM per SIMD level in the same run, as GFLOP/s
// and % of the FMA peak (the --roofline probe, one core at the level the kernel runs).
// Everything single-threaded, as each tile runs in the engine.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <array>
#include <string>
#include <vector>

#include "bench/kernels/peak_counters.h"
#include "bench/kernels/projection_shapes.h"
#include "kernels/aligned_vector.h"
#include "kernels/matmul.h"
#include "kernels/matmul_f32_panels.h"
#include "kernels/simd.h"

namespace mamba2::kernels {
namespace {

struct Projection {
  int64_t tokens;
  Shape shape;
  std::vector<float> x, w, bias, y;

  Projection(int64_t t, const Shape& s)
      : tokens(t),
        shape(s),
        x(t * s.k, 0.5f),     // [T, K]
        w(s.n * s.k, 0.25f),  // [N, K]
        bias(s.n, 0.125f),    // [N]
        y(t * s.n) {}         // [T, N]

  MatmulOperands args() {
    return {.x = {x.data(), tokens, shape.k, shape.k},
            .w = WeightView::f32(w.data(), shape.n, shape.k),
            .bias = bias.data(),
            .y = {y.data(), tokens, shape.n, shape.n}};
  }
};

void set_weight_bytes(benchmark::State& state, const Shape& shape) {
  state.SetBytesProcessed(state.iterations() * shape.n * shape.k *
                          static_cast<int64_t>(sizeof(float)));
}

void BM_Gemv(benchmark::State& state) {
  const Shape& shape = kShapes[state.range(0)];
  const auto level = static_cast<SimdLevel>(state.range(1));
  if (!path_supported(level)) {
    state.SkipWithError("SIMD level not supported by this CPU");
    return;
  }
  Projection p(1, shape);
  const MatmulOperands args = p.args();
  for (auto _ : state) {
    dispatch_at(level, GemvKernel{}, args, int64_t{0}, shape.n);
    benchmark::DoNotOptimize(p.y.data());
  }
  set_weight_bytes(state, shape);
  state.SetLabel(std::string(shape.name) + " " + std::string(path_name(level)));
}

void BM_GemvReference(benchmark::State& state) {
  const Shape& shape = kShapes[state.range(0)];
  Projection p(1, shape);
  const MatmulOperands args = p.args();
  for (auto _ : state) {
    ref::matmul_f32(args, 0, shape.n);
    benchmark::DoNotOptimize(p.y.data());
  }
  set_weight_bytes(state, shape);
  state.SetLabel(shape.name);
}

void BM_OpenBlasSgemv(benchmark::State& state) {
  const Shape& shape = kShapes[state.range(0)];
  openblas_set_num_threads(1);
  Projection p(1, shape);
  for (auto _ : state) {
    // y = W x + bias, as our GEMV computes it (bias copied in, beta = 1).
    p.y = p.bias;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<blasint>(shape.n),
                static_cast<blasint>(shape.k), 1.0f, p.w.data(), static_cast<blasint>(shape.k),
                p.x.data(), 1, 1.0f, p.y.data(), 1);
    benchmark::DoNotOptimize(p.y.data());
  }
  set_weight_bytes(state, shape);
  state.SetLabel(shape.name);
}

void BM_Sgemm(benchmark::State& state) {
  const Shape& shape = kShapes[state.range(0)];
  const int64_t tokens = state.range(1);
  Projection p(tokens, shape);
  const MatmulOperands args = p.args();
  for (auto _ : state) {
    matmul_f32(args, 0, shape.n);
    benchmark::DoNotOptimize(p.y.data());
  }
  const double flops = 2.0 * static_cast<double>(tokens * shape.n * shape.k);
  state.counters["GFLOP/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * flops / 1e9, benchmark::Counter::kIsRate);
  state.SetLabel(shape.name);
}

// The prefill projections of the 130m model: in_proj, out_proj and the lm_head (vocab padded to
// 50288) when every token's logits are wanted.
constexpr std::array<Shape, 3> k130mShapes = {{
    {"130m in_proj", 3352, 768},
    {"130m out_proj", 768, 1536},
    {"130m lm_head", 50288, 768},
}};

// range(0): a 130m shape; range(1): tokens; range(2): -1 for W's rows as stored (OpenBLAS sgemm,
// our GEMV for <= kGemvMaxTokens), else the SimdLevel of our kernel over panels.
void BM_F32Gemm(benchmark::State& state) {
  const Shape& shape = k130mShapes[state.range(0)];
  const int64_t tokens = state.range(1);
  const bool blas = state.range(2) < 0;
  const SimdLevel level = blas ? simd_level() : static_cast<SimdLevel>(state.range(2));
  if (!path_supported(level)) {
    state.SkipWithError("SIMD level not supported by this CPU");
    return;
  }
  Projection p(tokens, shape);
  MatmulOperands args = p.args();
  AlignedVector<float> panels;  // [N / 16, K, 16]
  if (!blas) {
    panels.resize(static_cast<size_t>(f32_panels_floats(shape.n, shape.k)));
    pack_f32_panels(p.w.data(), shape.n, shape.k, 0, shape.n, panels.data());
    args.w = {DType::kF32, reinterpret_cast<const std::byte*>(panels.data()), shape.n, shape.k,
              WeightLayout::kF32Panels16};
  }
  for (auto _ : state) {
    if (blas) {
      matmul_f32(args, 0, shape.n);
    } else {
      dispatch_at(level, PanelGemmKernel{}, args, int64_t{0}, shape.n);
    }
    benchmark::DoNotOptimize(p.y.data());
  }
  const double flops = 2.0 * static_cast<double>(tokens * shape.n * shape.k);
  state.counters["GFLOP/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * flops / 1e9, benchmark::Counter::kIsRate);
  // The peak of the level the kernel runs at; OpenBLAS's own choice is measured against the best.
  set_percent_of_peak(state, "%FMA_peak", flops, core_fma_peak(level));
  // Rows as stored take matmul_f32's own choice: sgemm, or our GEMV up to kGemvMaxTokens.
  const std::string rows_path = tokens <= kGemvMaxTokens ? "rows gemv" : "rows openblas";
  state.SetLabel(std::string(shape.name) + " " +
                 (blas ? rows_path : "panels " + std::string(path_name(level))));
}

BENCHMARK(BM_Gemv)->ArgsProduct({{0, 1, 2, 3, 4, 5, 6, 7}, {0, 1, 2}});
BENCHMARK(BM_OpenBlasSgemv)->DenseRange(0, 7);
BENCHMARK(BM_GemvReference)->DenseRange(0, 7);
BENCHMARK(BM_Sgemm)->ArgsProduct({{0, 1, 2, 3, 4, 5, 6, 7}, {256}})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_F32Gemm)
    ->ArgsProduct({{0, 1, 2}, {1, 64, 256}, {-1, 0, 1, 2}})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mamba2::kernels
