// The forecaster at the shape: a batch of 64 windows of 96 steps, d_model 128, 4 layers
// (d_state 64, headdim 32, chunk 32), one input and a horizon of 24. Forecasts through the engine
// (a session per window, as predict and eval run), through the training model's whole-window
// forward (the path of --ssd mamba2-jax-0.1, both scans), and one AdamW training step, each at 1
// and 2 threads. windows/s counters; compare medians of repetitions as ratios.
#include <benchmark/benchmark.h>

#include <random>

#include "mamba2/forecaster.h"
#include "mamba2/forecaster_training.h"

namespace mamba2 {
namespace {

constexpr int64_t kBatch = 64, kLength = 96;
constexpr ForecasterShape kShape{.input_dim = 1, .output_dim = 1, .horizon = 24};

ModelConfig backbone() { return forecaster_backbone_config(128, 4, 64, 32, 4, 32); }

ForecasterTrainerOptions options(int threads) {
  ForecasterTrainerOptions o;
  o.batch = kBatch;
  o.context = kLength;
  o.threading = ThreadingContext(threads);
  return o;
}

std::vector<float> random_values(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = normal(rng);
  return v;
}

// Freshly initialised weights (the trainer's init) at the benchmark's shape.
const ForecasterWeights& weights() {
  static const ForecasterWeights w =
      ForecasterTrainer(backbone(), kShape, 1, options(1), "bench").weights("bench");
  return w;
}

void set_rate(benchmark::State& state) {
  state.counters["windows/s"] =
      benchmark::Counter(double(kBatch) * double(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_ForecastEngine(benchmark::State& state) {
  const ThreadingContext threading(static_cast<int>(state.range(0)));
  const auto forecaster = std::make_shared<const Forecaster>(weights(), threading);
  const std::vector<float> windows = random_values(kBatch * kLength, 2);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        forecast_windows(forecaster, windows, kLength, SessionOptions{.threading = threading})
            .data());
  }
  set_rate(state);
}

void BM_ForecastWholeWindow(benchmark::State& state) {
  const ThreadingContext threading(static_cast<int>(state.range(0)));
  const auto ssd = static_cast<SsdVariant>(state.range(1));
  const std::vector<float> windows = random_values(kBatch * kLength, 2);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        forecast_windows_whole(weights(), windows, kLength, ssd, threading, kBatch).data());
  }
  set_rate(state);
  state.SetLabel(ssd == SsdVariant::kExact ? "exact" : "mamba2-jax-0.1");
}

void BM_TrainingStep(benchmark::State& state) {
  ForecasterTrainer trainer(backbone(), kShape, 1, options(static_cast<int>(state.range(0))),
                            "bench");
  const std::vector<float> windows = random_values(kBatch * kLength, 2);
  const std::vector<float> targets = random_values(kBatch * kShape.outputs(), 3);
  for (auto _ : state) benchmark::DoNotOptimize(trainer.step(windows, targets).loss);
  set_rate(state);
}

BENCHMARK(BM_ForecastEngine)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ForecastWholeWindow)
    ->ArgsProduct({{1, 2}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_TrainingStep)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace mamba2
