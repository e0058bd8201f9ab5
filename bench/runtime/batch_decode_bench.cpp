// The batched decode step (mamba2::BatchDecoder) on the mamba2-130m shape with random weights, per
// weight type, session count and thread count: aggregate tokens/s over the sessions. Compare a
// row with its one-session twin for the batching gain (mamba2-bench --batch reports the same as
// a table row).
#include <benchmark/benchmark.h>

#include <array>
#include <map>
#include <memory>
#include <vector>

#include "mamba2/batch_decoder.h"
#include "mamba2/quantization.h"
#include "mamba2/random_model.h"
#include "mamba2/session.h"

namespace mamba2 {
namespace {

constexpr std::array<DType, 3> kTypes = {DType::kF32, DType::kBF16, DType::kQ8_0};

// One model per type, made on first use.
std::shared_ptr<const Model> model_130m(DType type) {
  static std::map<DType, std::shared_ptr<const Model>> models;
  auto& model = models[type];
  if (!model) {
    ModelWeights weights = make_random_weights(released_model_config("130m"), 1);
    if (type != DType::kF32) convert_weights(weights, QuantizationPolicy{type});
    model = std::make_shared<const Model>(std::move(weights));
  }
  return model;
}

// Args: weight type (index into kTypes), sessions, threads.
void BM_BatchedDecode(benchmark::State& state) {
  const DType type = kTypes[static_cast<size_t>(state.range(0))];
  const int64_t count = state.range(1);
  const ThreadingContext threading(static_cast<int>(state.range(2)));
  const auto model = model_130m(type);
  SessionOptions options;
  options.threading = threading;
  std::vector<Session> sessions(static_cast<size_t>(count), Session(model, options));
  std::vector<Session*> pointers;
  std::vector<int32_t> tokens;
  for (Session& session : sessions) {
    pointers.push_back(&session);
    tokens.push_back(static_cast<int32_t>(1 + pointers.size()));
  }
  BatchDecoder decoder(model, count, threading);
  for (auto _ : state) {
    const auto logits = decoder.decode(pointers, tokens);
    benchmark::DoNotOptimize(logits.data());
    for (int32_t& token : tokens) token = (token * 31 + 7) % 50277;
  }
  state.counters["tokens/s"] =
      benchmark::Counter(double(count) * state.iterations(), benchmark::Counter::kIsRate);
  state.SetLabel(std::string(dtype_name(type)));
}

BENCHMARK(BM_BatchedDecode)
    ->ArgsProduct({{0, 1, 2}, {1, 2, 4, 8}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace mamba2
