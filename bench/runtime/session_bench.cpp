// End-to-end prefill and decode on the mamba2-130m shape with random weights, per scan path and
// thread count. (mamba2-bench reports the same in llama-bench's table form.)
#include <benchmark/benchmark.h>

#include <random>

#include "mamba2/random_model.h"
#include "mamba2/session.h"

namespace mamba2 {
namespace {

std::shared_ptr<const Model> model_130m() {
  static const auto model =
      std::make_shared<const Model>(make_random_weights(released_model_config("130m"), 1));
  return model;
}

std::vector<int32_t> prompt(int64_t length) {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int32_t> dist(0, 50276);
  std::vector<int32_t> tokens(static_cast<size_t>(length));
  for (int32_t& token : tokens) token = dist(rng);
  return tokens;
}

void BM_Prefill(benchmark::State& state) {
  SessionOptions options;
  options.scan = static_cast<ScanMode>(state.range(0));
  options.threading = ThreadingContext(static_cast<int>(state.range(1)));
  const auto tokens = prompt(state.range(2));
  Session session(model_130m(), options);
  for (auto _ : state) {
    session.reset();
    benchmark::DoNotOptimize(session.prefill(tokens).data());
  }
  state.counters["tokens/s"] =
      benchmark::Counter(double(tokens.size()) * state.iterations(), benchmark::Counter::kIsRate);
  state.SetLabel(std::string(scan_mode_name(options.scan)));
}

void BM_Decode(benchmark::State& state) {
  SessionOptions options;
  options.threading = ThreadingContext(static_cast<int>(state.range(0)));
  Session session(model_130m(), options);
  int32_t token = 1;
  for (auto _ : state) {
    const auto logits = session.decode(token);
    token = (token * 31 + 7) % 50277;
    benchmark::DoNotOptimize(logits.data());
  }
  state.counters["tokens/s"] =
      benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
}

// Scan modes: 1 chunked, 2 associative, 3 recurrent.
BENCHMARK(BM_Prefill)
    ->ArgsProduct({{1, 2, 3}, {1, 2}, {512}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Decode)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace mamba2
