// The Mamba-2 mixer's stages between its two projections, in place: the causal conv + SiLU and
// the SSD (with dt's softplus) of one layer, run through the engine's own Mixer on a
// ThreadingContext, so with the tiles the engine uses: one 256-token prefill chunk through the
// chunked scan, a state entering it as at any chunk after a prompt's first, or one decode step.
// The counters are wall time per token and layer, the figure the speed issue's "SSD + conv"
// target is stated in, and the chunk's SSD arithmetic against the threads' FMA peak. bench_ssd
// and bench_conv1d time the kernels alone on one core.
#include <benchmark/benchmark.h>

#include <array>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/kernels/peak_counters.h"
#include "bench/kernels/ssd_flops.h"
#include "kernels/simd.h"
#include "mamba2/model.h"
#include "mamba2/random_model.h"
#include "runtime/engine/activation_block.h"
#include "runtime/engine/mixer.h"

namespace mamba2 {
namespace {

constexpr std::array<const char*, 4> kSizes = {"130m", "370m", "1.3b", "2.7b"};

// One layer of a released shape with a token table of 256 rows: the mixer's weights as the
// model's, without gigabytes of layers and embeddings the benchmark never reads.
const Model& one_layer_model(int64_t size) {
  static std::array<std::unique_ptr<Model>, kSizes.size()> models;
  auto& model = models[static_cast<size_t>(size)];
  if (!model) {
    ModelConfig config = released_model_config(kSizes[static_cast<size_t>(size)]);
    config.n_layer = 1;
    config.vocab_size = 256;
    config.resolve("bench_mixer");
    model = std::make_unique<Model>(make_random_weights(config, 1));
  }
  return *model;
}

// Args: tokens (1: a decode step, else one prefill chunk of that many), threads, model shape
// (index into kSizes).
void BM_ConvAndScan(benchmark::State& state) {
  const int64_t tokens = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  const Model& model = one_layer_model(state.range(2));
  const ModelConfig& config = model.config();
  const ThreadingContext threading(threads);
  const auto mixer = make_mixer(config, model.prepared(), threading);
  const BlockScan scan = tokens == 1 ? BlockScan::kSteps : BlockScan::kChunked;
  ActivationBlock block(config, *mixer, tokens, scan);
  block.tokens = tokens;
  block.position = tokens;  // not a prompt's first chunk: the entering state is read
  // in_proj's output for random inputs, so that dt and the decays are as a model makes them.
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& value : block.normed.first(tokens * config.d_model)) value = normal(rng);
  threading.execute([&] { mixer->project_in(0, block); });
  std::vector<float> conv_state(config.d_conv * config.conv_dim, 0.0f);
  std::vector<float> ssm_state(config.nheads * config.headdim * config.d_state, 0.0f);
  const RowStates row_states = [&](int64_t, int64_t) {
    return LayerState{conv_state.data(), ssm_state.data()};
  };
  threading.execute([&] {
    for (auto _ : state) {
      if (tokens == 1) {
        mixer->step_rows(0, row_states, block);
      } else {
        mixer->convolve(0, conv_state.data(), block);
        mixer->scan_chunk(0, ssm_state.data(), block);
      }
      benchmark::DoNotOptimize(block.y.data());
    }
  });
  // Tokens per microsecond, inverted: microseconds per token (and layer).
  state.counters["us_per_token_layer"] = benchmark::Counter(
      1e-6 * static_cast<double>(tokens) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  if (tokens > 1) {
    const kernels::SsdShape shape{config.nheads, config.headdim, config.d_state, config.ngroups,
                                  config.D_has_hdim};
    kernels::set_percent_of_peak(state, "%FMA_peak",
                                 kernels::ssd_scan_flops(shape, tokens, kernels::kSsdSubChunk),
                                 kernels::core_fma_peak(kernels::simd_level()), threads);
  }
  state.SetLabel(std::string(kSizes[static_cast<size_t>(state.range(2))]) + ", " +
                 std::to_string(threads) + (threads == 1 ? " thread, " : " threads, ") +
                 std::string(kernels::path_name(kernels::simd_level())));
}

BENCHMARK(BM_ConvAndScan)
    ->ArgsProduct({{1, 256}, {1, 2}, {0, 1, 2, 3}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace mamba2
