// Mamba-1's selective scan at the mamba-130m / 1.4b / 2.8b layer shapes (d_inner 1536, 4096,
// 5120; d_state 16), per SIMD level, against the scalar reference: one chunk through the scan
// (ns per token via the "ns_per_token" counter), the associative pieces (local state + decay, and
// the state pass), and the decode step over all channels of one layer. A decode step is bound by
// memory: bytes_per_second counts the state read and written and A read (the floor, as
// bench_ssd's state update). A chunk is bound by arithmetic: GFLOP/s counts 7 flops per token,
// channel and state entry (dt A, a h, dt x, (dt x) B, the add, C h as a multiply-add), not exp,
// and "%FMA_peak" sets them against the --roofline probe (peak_counters.h).
#include <benchmark/benchmark.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bench/kernels/peak_counters.h"
#include "kernels/selective_scan.h"
#include "kernels/simd.h"

namespace mamba2::kernels {
namespace {

struct ModelShape {
  const char* name;
  int64_t d_inner, d_state, dt_rank;
};
constexpr ModelShape kModelShapes[] = {
    {"mamba-130m", 1536, 16, 48},
    {"mamba-1.4b", 4096, 16, 128},
    {"mamba-2.8b", 5120, 16, 160},
};

// Inputs for `tokens` tokens laid out as the engine does: x and dt rows of d_inner, B and C
// inside x_proj's rows (dt_low | B | C).
struct Inputs {
  ModelShape shape;
  int64_t tokens, ld_bc;
  std::vector<float> x, dt, x_dbl, A, D, state, local, decay, y;

  Inputs(int64_t t, const ModelShape& s)
      : shape(s),
        tokens(t),
        ld_bc(s.dt_rank + 2 * s.d_state),
        x(t * s.d_inner),
        dt(t * s.d_inner),
        x_dbl(t * ld_bc),
        A(s.d_inner * s.d_state),
        D(s.d_inner),
        state(s.d_inner * s.d_state),
        local(state.size()),
        decay(state.size()),
        y(t * s.d_inner) {
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f), step(0.001f, 0.1f);
    for (float& v : x) v = unit(rng);
    for (float& v : dt) v = step(rng);
    for (float& v : x_dbl) v = unit(rng);
    for (int64_t i = 0; i < static_cast<int64_t>(A.size()); ++i) {
      A[i] = -static_cast<float>(1 + i % s.d_state);  // mamba_simple.py's A_log = log(1..N)
    }
    for (float& v : D) v = unit(rng);
    for (float& v : state) v = unit(rng);
  }

  SelectiveScanChunk chunk() const {
    return {tokens,
            shape.d_state,
            x.data(),
            shape.d_inner,
            dt.data(),
            shape.d_inner,
            x_dbl.data() + shape.dt_rank,
            x_dbl.data() + shape.dt_rank + shape.d_state,
            ld_bc,
            A.data(),
            D.data()};
  }
};

// Seconds per (token * 1e-9): the counter reads as nanoseconds per token.
void set_per_token(benchmark::State& state, int64_t tokens) {
  state.counters["ns_per_token"] =
      benchmark::Counter(static_cast<double>(state.iterations() * tokens) * 1e-9,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// The roofline measure of a scan over `tokens`: GB/s for a decode step, GFLOP/s for a chunk (and %
// of the FMA peak at the SIMD level it ran, if not the reference).
void set_work(benchmark::State& state, const ModelShape& shape, int64_t tokens,
              std::optional<SimdLevel> level) {
  const int64_t entries = shape.d_inner * shape.d_state;
  if (tokens == 1) {
    state.SetBytesProcessed(state.iterations() * 3 * entries * static_cast<int64_t>(sizeof(float)));
    return;
  }
  const double flops = 7.0 * double(tokens * entries);
  state.counters["GFLOP/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * flops / 1e9, benchmark::Counter::kIsRate);
  if (level) set_percent_of_peak(state, "%FMA_peak", flops, core_fma_peak(*level));
}

bool skip_unsupported(benchmark::State& state, SimdLevel level) {
  if (path_supported(level)) return false;
  state.SkipWithError("SIMD level not supported by this CPU");
  return true;
}

void label(benchmark::State& state, const ModelShape& shape, const std::string& what) {
  state.SetLabel(std::string(shape.name) + ", " + what);
}

// args: tokens (1: a decode step, else one prefill chunk), SIMD level (3: the scalar
// reference), model shape. The chunked scan over every channel of one layer.
void BM_SelectiveScan(benchmark::State& state) {
  const int64_t tokens = state.range(0);
  const ModelShape& shape = kModelShapes[state.range(2)];
  Inputs in(tokens, shape);
  const SelectiveScanChunk chunk = in.chunk();
  if (state.range(1) == 3) {
    for (auto _ : state) {
      ref::selective_scan(chunk, in.state.data(), in.y.data(), shape.d_inner, 0, shape.d_inner);
      benchmark::DoNotOptimize(in.y.data());
    }
    label(state, shape, "reference");
  } else {
    const auto level = static_cast<SimdLevel>(state.range(1));
    if (skip_unsupported(state, level)) return;
    for (auto _ : state) {
      dispatch_at(level, SelectiveScanKernel{}, chunk, in.state.data(), in.y.data(), shape.d_inner,
                  int64_t{0}, shape.d_inner);
      benchmark::DoNotOptimize(in.y.data());
    }
    label(state, shape, std::string(path_name(level)));
  }
  set_per_token(state, tokens);
  set_work(
      state, shape, tokens,
      state.range(1) == 3 ? std::nullopt : std::optional(static_cast<SimdLevel>(state.range(1))));
}

// args: chunk tokens, SIMD level, model shape. The associative path's extra work per chunk:
// the local state and decay, and one application of the operator.
void BM_SelectiveScanAssociativePieces(benchmark::State& state) {
  const int64_t tokens = state.range(0);
  const auto level = static_cast<SimdLevel>(state.range(1));
  const ModelShape& shape = kModelShapes[state.range(2)];
  if (skip_unsupported(state, level)) return;
  Inputs in(tokens, shape);
  const SelectiveScanChunk chunk = in.chunk();
  const auto size = static_cast<int64_t>(in.state.size());
  for (auto _ : state) {
    dispatch_at(level, SelectiveScanStateKernel{}, chunk, in.local.data(), in.decay.data(),
                int64_t{0}, shape.d_inner);
    dispatch_at(level, SelectiveStatePassKernel{}, in.decay.data(), in.state.data(),
                in.local.data(), in.local.data(), int64_t{0}, size);
    benchmark::DoNotOptimize(in.local.data());
  }
  set_per_token(state, tokens);
  set_work(state, shape, tokens, level);
  label(state, shape, std::string(path_name(level)));
}

BENCHMARK(BM_SelectiveScan)
    ->ArgsProduct({{1, 256}, {0, 1, 2, 3}, {0, 1, 2}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SelectiveScanAssociativePieces)
    ->ArgsProduct({{256}, {0, 1, 2}, {0, 1, 2}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace mamba2::kernels
