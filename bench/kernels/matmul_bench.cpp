// f32 projections at the Mamba-2 model shapes. T = 1: our GEMV per SIMD level against the scalar
// reference and OpenBLAS sgemv (GB/s of weights read). T = 256: matmul_f32's sgemm (GFLOP/s).
// Everything single-threaded, as each tile runs in the engine.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <array>
#include <string>
#include <vector>

#include "bench/kernels/projection_shapes.h"
#include "kernels/matmul.h"
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

BENCHMARK(BM_Gemv)->ArgsProduct({{0, 1, 2, 3, 4, 5, 6, 7}, {0, 1, 2}});
BENCHMARK(BM_OpenBlasSgemv)->DenseRange(0, 7);
BENCHMARK(BM_GemvReference)->DenseRange(0, 7);
BENCHMARK(BM_Sgemm)->ArgsProduct({{0, 1, 2, 3, 4, 5, 6, 7}, {256}})->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mamba2::kernels
