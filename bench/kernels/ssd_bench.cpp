// The SSD scan at the mamba2-130m layer shape (H=24, P=64, N=128, G=1), per SIMD level, against
// the scalar reference: one chunk's output + state + state pass as separate pieces (the
// associative path) and fused in sub-chunks (ssd_chunk_scan, the chunked path), in ns per token
// via the "ns_per_token" counter and "%FMA_peak" against the --roofline probe, and the decode step
// over all heads of one layer.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "bench/kernels/peak_counters.h"
#include "bench/kernels/ssd_flops.h"
#include "kernels/simd.h"
#include "kernels/ssd.h"
#include "kernels/ssd_simd.h"
#include "kernels/ssd_step_simd.h"
#include "mamba2/threading_context.h"

namespace mamba2::kernels {
namespace {

constexpr SsdShape kShape{
    .heads = 24, .headdim = 64, .d_state = 128, .groups = 1, .d_has_hdim = false};

// Inputs for `tokens` tokens laid out as in the conv output: [x | B | C] rows.
struct Inputs {
  SsdShape shape;
  int64_t tokens, ld;
  std::vector<float> xbc, dt, A, D, state, local, decay, y;

  explicit Inputs(int64_t t)
      : shape(kShape),
        tokens(t),
        ld(shape.heads * shape.headdim + 2 * shape.groups * shape.d_state),
        xbc(t * ld),
        dt(t * shape.heads),
        A(shape.heads),
        D(shape.heads),
        state(shape.heads * shape.headdim * shape.d_state),
        local(state.size()),
        decay(shape.heads),
        y(t * shape.heads * shape.headdim) {
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f), step(0.001f, 0.1f);
    for (float& v : xbc) v = unit(rng);
    for (float& v : dt) v = step(rng);
    for (float& v : A) v = -1.0f - 8.0f * (unit(rng) + 1.0f);
    for (float& v : D) v = unit(rng);
    for (float& v : state) v = unit(rng);
  }

  SsdChunk chunk() const {
    const int64_t width = shape.heads * shape.headdim;
    return {.tokens = tokens,
            .x = xbc.data(),
            .ld_x = ld,
            .B = xbc.data() + width,
            .C = xbc.data() + width + shape.groups * shape.d_state,
            .ld_bc = ld,
            .dt = dt.data(),
            .A = A.data(),
            .D = D.data()};
  }
};

// Seconds per (token * 1e-9): the counter reads as nanoseconds per token.
void set_per_token(benchmark::State& state, int64_t tokens) {
  state.counters["ns_per_token"] =
      benchmark::Counter(static_cast<double>(state.iterations() * tokens) * 1e-9,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// args: chunk tokens, SIMD level.
void BM_SsdChunk(benchmark::State& state) {
  const int64_t tokens = state.range(0);
  const auto level = static_cast<SimdLevel>(state.range(1));
  if (!path_supported(level)) {
    state.SkipWithError("SIMD level not supported by this CPU");
    return;
  }
  Inputs in(tokens);
  std::vector<float> workspace(ssd_workspace_floats(kShape, tokens));
  const SsdChunk chunk = in.chunk();
  const int64_t width = kShape.heads * kShape.headdim;
  for (auto _ : state) {
    dispatch_at(level, SsdChunkOutputKernel{}, kShape, chunk, in.state.data(), in.y.data(), width,
                workspace.data(), int64_t{0}, kShape.heads);
    dispatch_at(level, SsdChunkStateKernel{}, kShape, chunk, in.local.data(), in.decay.data(),
                workspace.data(), int64_t{0}, kShape.heads);
    dispatch_at(level, SsdStatePassKernel{}, kShape, in.decay.data(), in.state.data(),
                in.local.data(), in.local.data(), int64_t{0}, kShape.heads);
    benchmark::DoNotOptimize(in.y.data());
    benchmark::DoNotOptimize(in.local.data());
  }
  set_per_token(state, tokens);
  set_percent_of_peak(state, "%FMA_peak", ssd_chunk_flops(kShape, tokens), core_fma_peak(level));
  state.SetLabel(std::string(path_name(level)));
}

// args: chunk tokens, SIMD level, sub-chunk length: the fused scan (output, state and pass in
// one call, as the chunked prefill runs them). %FMA_peak counts the sub-chunks' arithmetic, the
// chunk's own (what the unfused pieces above do) is in "%FMA_peak_at_chunk".
void BM_SsdChunkScan(benchmark::State& state) {
  const int64_t tokens = state.range(0);
  const auto level = static_cast<SimdLevel>(state.range(1));
  const int64_t sub = state.range(2);
  if (!path_supported(level)) {
    state.SkipWithError("SIMD level not supported by this CPU");
    return;
  }
  Inputs in(tokens);
  std::vector<float> workspace(SsdScanWorkspaceLayout(kShape, tokens, sub).total);
  const SsdChunk chunk = in.chunk();
  const int64_t width = kShape.heads * kShape.headdim;
  for (auto _ : state) {
    dispatch_at(level, SsdChunkScanKernel{}, kShape, chunk, in.local.data(), in.local.data(),
                in.y.data(), width, workspace.data(), int64_t{0}, kShape.heads, sub);
    benchmark::DoNotOptimize(in.y.data());
    benchmark::DoNotOptimize(in.local.data());
  }
  set_per_token(state, tokens);
  set_percent_of_peak(state, "%FMA_peak", ssd_scan_flops(kShape, tokens, sub),
                      core_fma_peak(level));
  set_percent_of_peak(state, "%FMA_peak_at_chunk", ssd_chunk_flops(kShape, tokens),
                      core_fma_peak(level));
  state.SetLabel(std::string(path_name(level)) + ", sub-chunk " + std::to_string(sub));
}

// args: chunk tokens, piece (0 output, 1 state), at the best SIMD level: where the time goes.
void BM_SsdChunkPiece(benchmark::State& state) {
  const int64_t tokens = state.range(0);
  const bool output = state.range(1) == 0;
  Inputs in(tokens);
  std::vector<float> workspace(ssd_workspace_floats(kShape, tokens));
  const SsdChunk chunk = in.chunk();
  for (auto _ : state) {
    if (output) {
      ssd_chunk_output(kShape, chunk, in.state.data(), in.y.data(), kShape.heads * kShape.headdim,
                       workspace.data(), 0, kShape.heads);
    } else {
      ssd_chunk_state(kShape, chunk, in.local.data(), in.decay.data(), workspace.data(), 0,
                      kShape.heads);
    }
    benchmark::DoNotOptimize(in.y.data());
    benchmark::DoNotOptimize(in.local.data());
  }
  set_per_token(state, tokens);
  state.SetLabel(output ? "chunk_output" : "chunk_state");
}

void BM_SsdChunkReference(benchmark::State& state) {
  const int64_t tokens = state.range(0);
  Inputs in(tokens);
  const SsdChunk chunk = in.chunk();
  const int64_t width = kShape.heads * kShape.headdim;
  for (auto _ : state) {
    ref::ssd_chunk_output(kShape, chunk, in.state.data(), in.y.data(), width, 0, kShape.heads);
    ref::ssd_chunk_state(kShape, chunk, in.local.data(), in.decay.data(), 0, kShape.heads);
    ssd_state_pass(kShape, in.decay.data(), in.state.data(), in.local.data(), in.local.data(), 0,
                   kShape.heads);
    benchmark::DoNotOptimize(in.y.data());
  }
  set_per_token(state, tokens);
}

// The token-by-token recurrence over a chunk, the other way to run a prefill.
void BM_SsdRecurrentReference(benchmark::State& state) {
  const int64_t tokens = state.range(0);
  Inputs in(tokens);
  const SsdChunk chunk = in.chunk();
  for (auto _ : state) {
    ref::ssd_recurrent(kShape, chunk, in.state.data(), in.y.data(), kShape.heads * kShape.headdim);
    benchmark::DoNotOptimize(in.y.data());
  }
  set_per_token(state, tokens);
}

// args: SIMD level, layers, threads. Times step(level, inputs, state, h_begin, h_end) with the
// states of `layers` layers in turn (1: the state stays in L2; 24, mamba2-130m's, do not, as in a
// real decode step; 192: eight sessions of it, a batched step), the heads split over `threads` as
// the engine splits them, counting each state read and written once.
template <class Step>
void time_over_layer_states(benchmark::State& state, const Step& step) {
  const auto level = static_cast<SimdLevel>(state.range(0));
  if (!path_supported(level)) {
    state.SkipWithError("SIMD level not supported by this CPU");
    return;
  }
  Inputs in(1);
  const int64_t layers = state.range(1);
  const int threads = static_cast<int>(state.range(2));
  const int64_t head_tile = (kShape.heads + threads - 1) / threads;
  const auto layer_floats = static_cast<int64_t>(in.state.size());
  std::vector<float> states;
  for (int64_t l = 0; l < layers; ++l)
    states.insert(states.end(), in.state.begin(), in.state.end());
  int64_t next = 0;
  ThreadingContext threading(threads);
  threading.execute([&] {
    for (auto _ : state) {
      float* layer_state = states.data() + next * layer_floats;
      threading.for_tiles(kShape.heads, head_tile, [&](int64_t begin, int64_t end) {
        step(level, in, layer_state, begin, end);
      });
      next = (next + 1) % layers;
    }
  });
  const int64_t bytes = 2 * layer_floats * static_cast<int64_t>(sizeof(float));
  state.SetBytesProcessed(state.iterations() * bytes);
  // Bytes read and written against the threads' streaming read rate (--roofline's probe, as its
  // tg rows): a state that stays in cache (1 layer, or 24 in a large L3) goes past 100 %, and so
  // may the floor below; compare a step with its floor.
  set_percent_of_peak(state, "%BW_peak", static_cast<double>(bytes), memory_read_peak(threads));
  state.SetLabel(std::string(path_name(level)) + ", " + std::to_string(threads) +
                 (threads == 1 ? " thread" : " threads"));
}

// One decode token through all heads of one layer.
void BM_SsdStep(benchmark::State& state) {
  time_over_layer_states(
      state, [](SimdLevel level, Inputs& in, float* layer_state, int64_t begin, int64_t end) {
        const SsdChunk c = in.chunk();
        dispatch_at(level, SsdStepKernel{}, kShape, c.x, c.B, c.C, c.dt, c.A, c.D, layer_state,
                    in.y.data(), begin, end);
        benchmark::DoNotOptimize(in.y.data());
      });
}

// The floor under BM_SsdStep: the same state read and written once with nothing else to do (the
// state pass with S = -2 S + S, which keeps the values bounded).
void BM_StateReadWriteFloor(benchmark::State& state) {
  const std::vector<float> decay(kShape.heads, -2.0f);
  time_over_layer_states(
      state, [&](SimdLevel level, Inputs&, float* layer_state, int64_t begin, int64_t end) {
        dispatch_at(level, SsdStatePassKernel{}, kShape, decay.data(), layer_state, layer_state,
                    layer_state, begin, end);
        benchmark::DoNotOptimize(layer_state);
      });
}

void BM_SsdStepReference(benchmark::State& state) {
  Inputs in(1);
  const SsdChunk c = in.chunk();
  for (auto _ : state) {
    ref::ssd_step(kShape, c.x, c.B, c.C, c.dt, c.A, c.D, in.state.data(), in.y.data(), 0,
                  kShape.heads);
    benchmark::DoNotOptimize(in.y.data());
  }
  state.SetBytesProcessed(state.iterations() * 2 * static_cast<int64_t>(in.state.size()) *
                          static_cast<int64_t>(sizeof(float)));
}

BENCHMARK(BM_SsdChunk)->ArgsProduct({{64, 128, 256}, {0, 1, 2}})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SsdChunkScan)
    ->ArgsProduct({{256}, {0, 1, 2}, {32, 48, 64, 128, 256}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SsdChunkPiece)->ArgsProduct({{64, 256}, {0, 1}})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SsdChunkReference)->Arg(64)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SsdRecurrentReference)->Arg(64)->Arg(256)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SsdStep)
    ->ArgsProduct({{0, 1, 2}, {1, 24, 192}, {1, 2}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_StateReadWriteFloor)
    ->ArgsProduct({{0, 1, 2}, {1, 24, 192}, {1, 2}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_SsdStepReference)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace mamba2::kernels
