// Projections by weight type at the Mamba-2 model shapes: f32, bf16 and q8_0, each on every path
// this CPU has. T = 1 (GEMV) reports GB/s of weights read; T = 256 (a prefill chunk, GEMM)
// reports GFLOP/s (2 N K T). The activation conversion (q8_0 blocks, bf16) is part of the time,
// as in the engine. Single-threaded, as each tile runs in the engine.
#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "bench/kernels/projection_shapes.h"
#include "kernels/matmul.h"
#include "kernels/matmul_dispatch.h"
#include "quant/float16.h"

namespace mamba2::kernels {
namespace {

struct Problem {
  int64_t tokens;
  Shape shape;
  DType type;
  std::vector<float> x, bias, y;
  std::vector<std::byte> w;

  Problem(int64_t t, const Shape& s, DType weight_type)
      : tokens(t), shape(s), type(weight_type), bias(s.n, 0.125f), y(t * s.n) {
    x.resize(t * s.k);  // [T, K], varied so q8_0 blocks have real scales
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(int(i * 7919 % 255) - 127) / 64;
    std::vector<float> row(s.k);
    const int64_t row_bytes = static_cast<int64_t>(*dtype_bytes(type, s.k));
    w.resize(static_cast<size_t>(s.n * row_bytes));  // [N, K] of type
    for (int64_t r = 0; r < s.n; ++r) {
      for (int64_t i = 0; i < s.k; ++i)
        row[i] = static_cast<float>((r * 31 + i * 17) % 97 - 48) / 256;
      convert_row_from_f32(type, row.data(), &w[r * row_bytes], s.k);
    }
  }

  TypedMatmulArgs args() {
    return TypedMatmulArgs{x.data(), shape.k, type,   w.data(), bias.data(),
                           y.data(), shape.n, tokens, shape.k,  shape.n};
  }
};

void report(benchmark::State& state, const Problem& p, std::string_view path) {
  const auto& s = p.shape;
  if (p.tokens == 1) {
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(p.w.size()));
  } else {
    const double flops = 2.0 * static_cast<double>(p.tokens * s.n * s.k);
    state.counters["GFLOP/s"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * flops / 1e9, benchmark::Counter::kIsRate);
  }
  state.SetLabel(std::string(s.name) + " " + std::string(dtype_name(p.type)) + " " +
                 std::string(path));
}

// Args: shape index, tokens.
void BM_F32(benchmark::State& state) {
  Problem p(state.range(1), kShapes[state.range(0)], DType::kF32);
  const TypedMatmulArgs args = p.args();
  for (auto _ : state) {
    matmul(args, 0, p.shape.n);
    benchmark::DoNotOptimize(p.y.data());
  }
  report(state, p, p.tokens == 1 ? "xsimd gemv" : "openblas sgemm");
}

// Args: shape index, tokens, Bf16Path.
void BM_Bf16(benchmark::State& state) {
  const auto path = static_cast<Bf16Path>(state.range(2));
  if (!bf16_path_supported(path)) return state.SkipWithError("path not supported by this CPU");
  Problem p(state.range(1), kShapes[state.range(0)], DType::kBF16);
  const TypedMatmulArgs args = p.args();
  Bf16Activations prepared;
  prepared.resize(path, p.tokens, p.shape.k);
  for (auto _ : state) {
    prepare_activations_bf16(path, args.x, args.ld_x, 0, p.tokens, prepared);
    matmul_bf16(path, args, prepared, 0, p.shape.n);
    benchmark::DoNotOptimize(p.y.data());
  }
  report(state, p, bf16_path_name(path));
}

// Args: shape index, tokens, Q8_0Path.
void BM_Q8_0(benchmark::State& state) {
  const auto path = static_cast<Q8_0Path>(state.range(2));
  if (!q8_0_path_supported(path)) return state.SkipWithError("path not supported by this CPU");
  Problem p(state.range(1), kShapes[state.range(0)], DType::kQ8_0);
  const TypedMatmulArgs args = p.args();
  Q8_0Activations xq;
  xq.resize(p.tokens, p.shape.k);
  for (auto _ : state) {
    quantize_activations_q8_0(path, args.x, args.ld_x, 0, p.tokens, xq);
    matmul_q8_0(path, args, xq, 0, p.shape.n);
    benchmark::DoNotOptimize(p.y.data());
  }
  report(state, p, q8_0_path_name(path));
}

constexpr int kWiden = static_cast<int>(Bf16Path::kWiden);
constexpr int kAvx512Bf16 = static_cast<int>(Bf16Path::kAvx512Bf16);
constexpr int kQ8Scalar = static_cast<int>(Q8_0Path::kScalar);
constexpr int kQ8Avx2 = static_cast<int>(Q8_0Path::kAvx2);
constexpr int kQ8AvxVnni = static_cast<int>(Q8_0Path::kAvxVnni);
constexpr int kQ8Avx512Vnni = static_cast<int>(Q8_0Path::kAvx512Vnni);

BENCHMARK(BM_F32)->ArgsProduct({{0, 1, 2, 3, 4, 5}, {1}});
BENCHMARK(BM_Bf16)->ArgsProduct({{0, 1, 2, 3, 4, 5}, {1}, {kWiden}});
BENCHMARK(BM_Q8_0)->ArgsProduct({{0, 1, 2, 3, 4, 5},
                                 {1},
                                 {kQ8Scalar, kQ8Avx2, kQ8AvxVnni, kQ8Avx512Vnni}});
BENCHMARK(BM_F32)->ArgsProduct({{0, 1, 2, 3, 4, 5}, {256}})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Bf16)
    ->ArgsProduct({{0, 1, 2, 3, 4, 5}, {256}, {kWiden, kAvx512Bf16}})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Q8_0)
    ->ArgsProduct({{0, 1, 2, 3, 4, 5}, {256}, {kQ8Avx2, kQ8AvxVnni, kQ8Avx512Vnni}})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mamba2::kernels
