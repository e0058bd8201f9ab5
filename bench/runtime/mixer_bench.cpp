// The Mamba-2 mixer's stages between its two projections, in place: the causal conv + SiLU and
// the chunked SSD scan (with dt's softplus) of one 256-token chunk of the mamba2-130m shape, run
// as the prefill runs them (the engine's tiles on a ThreadingContext), a state entering the chunk
// as at any chunk after a prompt's first. The counter is wall time per token and layer, the
// figure the speed issue's "SSD + conv" target is stated in; bench_ssd and bench_conv1d time the
// kernels alone on one core.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/simd.h"
#include "mamba2/model.h"
#include "mamba2/random_model.h"
#include "runtime/engine/activation_block.h"
#include "runtime/engine/mixer.h"

namespace mamba2 {
namespace {

const Model& model_130m() {
  static const Model model(make_random_weights(released_model_config("130m"), 1));
  return model;
}

// Args: threads.
void BM_ConvAndScan(benchmark::State& state) {
  const Model& model = model_130m();
  const ModelConfig& config = model.config();
  const ThreadingContext threading(static_cast<int>(state.range(0)));
  const auto mixer = make_mixer(config, model.prepared(), threading);
  ActivationBlock block(config, *mixer, config.chunk_size, BlockScan::kChunked);
  block.tokens = config.chunk_size;
  block.position = config.chunk_size;  // not a prompt's first chunk: the entering state is read
  // in_proj's output for random inputs, so that dt and the decays are as a model makes them.
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& value : block.normed.first(block.tokens * config.d_model)) value = normal(rng);
  mixer->project_in(0, block);
  std::vector<float> conv_state(config.d_conv * config.conv_dim, 0.0f);
  std::vector<float> ssm_state(config.nheads * config.headdim * config.d_state, 0.0f);
  for (auto _ : state) {
    mixer->convolve(0, conv_state.data(), block);
    mixer->scan_chunk(0, ssm_state.data(), block);
    benchmark::DoNotOptimize(block.y.data());
  }
  // Tokens per microsecond, inverted: microseconds per token (and layer).
  state.counters["us_per_token_layer"] = benchmark::Counter(
      1e-6 * static_cast<double>(block.tokens) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetLabel(std::string(kernels::path_name(kernels::simd_level())));
}

BENCHMARK(BM_ConvAndScan)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace mamba2
