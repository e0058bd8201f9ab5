#include "runtime/engine/prefill.h"

namespace mamba2 {

int64_t AssociativePrefill::window_tokens() const {
  return static_cast<int64_t>(blocks_.size()) * chunk_;
}

AssociativePrefill::AssociativePrefill(const PrefillContext& context, int64_t chunk, int64_t window)
    : context_(context),
      chunk_(chunk),
      block_tokens_(window),
      units_(context.stages.mixer().scan_units()) {
  for (int64_t index = 0; index < window; ++index) {
    blocks_.emplace_back(context.config, context.stages.mixer(), 0,
                         BlockScan::kAssociative);  // grown by use
  }
  for (int buffer = 0; buffer < 2; ++buffer) {
    decay_[buffer].resize(static_cast<size_t>(window * units_.count * units_.decay_span));
    state_[buffer].resize(static_cast<size_t>(window * units_.count * units_.state_span));
  }
}

void AssociativePrefill::scan_states(int64_t layer, int64_t chunks) {
  const Mixer& mixer = context_.stages.mixer();
  const ScanUnits& u = units_;
  const int64_t decay_size = u.count * u.decay_span;
  const int64_t state_size = u.count * u.state_span;
  const int64_t tiles = (u.count + u.tile - 1) / u.tile;
  float* initial = context_.layer_state(layer).ssm;

  // Level 0: each chunk's own (decay, local state).
  for (int64_t index = 0; index < chunks; ++index) {
    std::copy(blocks_[index].decay.begin(), blocks_[index].decay.end(),
              decay_[0].begin() + index * decay_size);
    std::copy(blocks_[index].state_local.begin(), blocks_[index].state_local.end(),
              state_[0].begin() + index * state_size);
  }
  // Hillis-Steele inclusive scan: after the level with stride d, entry i combines chunks
  // (i - 2d, i]. Parallel over chunks and unit tiles.
  int current = 0;
  for (int64_t stride = 1; stride < chunks; stride *= 2) {
    const int next = 1 - current;
    context_.threading.for_tiles(chunks * tiles, 1, [&](int64_t task, int64_t) {
      const int64_t index = task / tiles;
      const int64_t begin = task % tiles * u.tile;
      const int64_t end = std::min(u.count, begin + u.tile);
      const float* decay = &decay_[current][index * decay_size];
      float* decay_out = &decay_[next][index * decay_size];
      const float* state = &state_[current][index * state_size];
      float* state_out = &state_[next][index * state_size];
      if (index < stride) {
        std::copy(decay + begin * u.decay_span, decay + end * u.decay_span,
                  decay_out + begin * u.decay_span);
        std::copy(state + begin * u.state_span, state + end * u.state_span,
                  state_out + begin * u.state_span);
        return;
      }
      const float* earlier_decay = &decay_[current][(index - stride) * decay_size];
      const float* earlier_state = &state_[current][(index - stride) * state_size];
      mixer.pass_state(decay, earlier_state, state, state_out, begin, end);
      for (int64_t i = begin * u.decay_span; i < end * u.decay_span; ++i) {
        decay_out[i] = earlier_decay[i] * decay[i];
      }
    });
    current = next;
  }
  // Chunk i enters with prefix(i - 1) applied to the layer's initial state; chunk 0 with the
  // initial state itself. The layer's state becomes prefix(chunks - 1) applied likewise.
  context_.threading.for_tiles(chunks * tiles, 1, [&](int64_t task, int64_t) {
    const int64_t index = task / tiles;
    const int64_t begin = task % tiles * u.tile;
    const int64_t end = std::min(u.count, begin + u.tile);
    float* entering = blocks_[index].state_in.data();
    if (index == 0) {
      std::copy(initial + begin * u.state_span, initial + end * u.state_span,
                entering + begin * u.state_span);
      return;
    }
    mixer.pass_state(&decay_[current][(index - 1) * decay_size], initial,
                     &state_[current][(index - 1) * state_size], entering, begin, end);
  });
  context_.threading.for_tiles(u.count, u.tile, [&](int64_t begin, int64_t end) {
    mixer.pass_state(&decay_[current][(chunks - 1) * decay_size], initial,
                     &state_[current][(chunks - 1) * state_size], initial, begin, end);
  });
}

void AssociativePrefill::run(std::span<const int32_t> tokens, int64_t position, LogitsSink& sink) {
  load_window(context_, tokens, position, chunk_, blocks_, block_tokens_);
  const LayerStages& stages = context_.stages;
  const ThreadingContext& threading = context_.threading;
  int64_t chunks = 0;
  while (chunks < static_cast<int64_t>(blocks_.size()) && blocks_[chunks].tokens > 0) ++chunks;
  auto for_each_chunk = [&](auto&& body) {
    threading.for_tiles(chunks, 1, [&](int64_t index, int64_t) { body(blocks_[index], index); });
  };

  for_each_chunk(
      [&](ActivationBlock& block, int64_t index) { stages.embed(block_tokens_[index], block); });
  const Mixer& mixer = stages.mixer();
  for (int64_t layer = 0; layer < context_.config.n_layer; ++layer) {
    const LayerState state = context_.layer_state(layer);
    for_each_chunk([&](ActivationBlock& block, int64_t) { stages.project_in(layer, block); });
    // The conv carries only d_conv inputs across a chunk boundary: cheap enough to run in order.
    for (int64_t index = 0; index < chunks; ++index)
      mixer.convolve(layer, state.conv, blocks_[index]);
    for_each_chunk(
        [&](ActivationBlock& block, int64_t) { mixer.scan_chunk_local_state(layer, block); });
    scan_states(layer, chunks);
    for_each_chunk([&](ActivationBlock& block, int64_t) {
      mixer.scan_chunk_output(layer, block.state_in.data(), block);
      mixer.project_out(layer, block);
    });
  }
  for_each_chunk([&](ActivationBlock& block, int64_t) { stages.final_norm(block); });
  for (int64_t index = 0; index < chunks; ++index) sink.consume(stages, blocks_[index]);
}

}  // namespace mamba2
