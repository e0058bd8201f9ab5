#include "runtime/engine/prefill.h"

namespace mamba2 {

int64_t AssociativePrefill::window_tokens() const {
  return static_cast<int64_t>(blocks_.size()) * chunk_;
}

AssociativePrefill::AssociativePrefill(const PrefillContext& context, int64_t chunk, int64_t window)
    : context_(context), chunk_(chunk), block_tokens_(window) {
  const ModelConfig& c = context.config;
  const int64_t head_tile = LayerStages::ssd_head_tile(c);
  for (int64_t index = 0; index < window; ++index) blocks_.emplace_back(c, chunk, head_tile);
  for (int buffer = 0; buffer < 2; ++buffer) {
    decay_[buffer].resize(static_cast<size_t>(window * c.nheads));
    state_[buffer].resize(static_cast<size_t>(window * c.nheads * c.headdim * c.d_state));
  }
}

void AssociativePrefill::scan_states(int64_t layer, int64_t chunks) {
  const ModelConfig& c = context_.config;
  const kernels::SsdShape shape = context_.stages.ssd_shape();
  const int64_t state_size = c.nheads * c.headdim * c.d_state;
  const int64_t head_tile = LayerStages::ssd_head_tile(c);
  const int64_t head_tiles = (c.nheads + head_tile - 1) / head_tile;
  float* initial = context_.layer_state(layer).ssm;

  // Level 0: each chunk's own (decay, local state).
  for (int64_t index = 0; index < chunks; ++index) {
    std::copy(blocks_[index].decay.begin(), blocks_[index].decay.end(),
              decay_[0].begin() + index * c.nheads);
    std::copy(blocks_[index].state_local.begin(), blocks_[index].state_local.end(),
              state_[0].begin() + index * state_size);
  }
  // Hillis-Steele inclusive scan: after the level with stride d, entry i combines chunks
  // (i - 2d, i]. Parallel over chunks and head tiles.
  int current = 0;
  for (int64_t stride = 1; stride < chunks; stride *= 2) {
    const int next = 1 - current;
    context_.threading.for_tiles(chunks * head_tiles, 1, [&](int64_t task, int64_t) {
      const int64_t index = task / head_tiles;
      const int64_t h_begin = task % head_tiles * head_tile;
      const int64_t h_end = std::min(c.nheads, h_begin + head_tile);
      const float* decay = &decay_[current][index * c.nheads];
      float* decay_out = &decay_[next][index * c.nheads];
      const float* state = &state_[current][index * state_size];
      float* state_out = &state_[next][index * state_size];
      if (index < stride) {
        std::copy(decay + h_begin, decay + h_end, decay_out + h_begin);
        const int64_t per_head = c.headdim * c.d_state;
        std::copy(state + h_begin * per_head, state + h_end * per_head,
                  state_out + h_begin * per_head);
        return;
      }
      const float* earlier_decay = &decay_[current][(index - stride) * c.nheads];
      const float* earlier_state = &state_[current][(index - stride) * state_size];
      kernels::ssd_state_pass(shape, decay, earlier_state, state, state_out, h_begin, h_end);
      for (int64_t h = h_begin; h < h_end; ++h) decay_out[h] = earlier_decay[h] * decay[h];
    });
    current = next;
  }
  // Chunk i enters with prefix(i - 1) applied to the layer's initial state; chunk 0 with the
  // initial state itself. The layer's state becomes prefix(chunks - 1) applied likewise.
  context_.threading.for_tiles(chunks * head_tiles, 1, [&](int64_t task, int64_t) {
    const int64_t index = task / head_tiles;
    const int64_t h_begin = task % head_tiles * head_tile;
    const int64_t h_end = std::min(c.nheads, h_begin + head_tile);
    float* entering = blocks_[index].state_in.data();
    if (index == 0) {
      const int64_t per_head = c.headdim * c.d_state;
      std::copy(initial + h_begin * per_head, initial + h_end * per_head,
                entering + h_begin * per_head);
      return;
    }
    kernels::ssd_state_pass(shape, &decay_[current][(index - 1) * c.nheads], initial,
                            &state_[current][(index - 1) * state_size], entering, h_begin, h_end);
  });
  context_.threading.for_tiles(c.nheads, head_tile, [&](int64_t h_begin, int64_t h_end) {
    kernels::ssd_state_pass(shape, &decay_[current][(chunks - 1) * c.nheads], initial,
                            &state_[current][(chunks - 1) * state_size], initial, h_begin, h_end);
  });
}

void AssociativePrefill::run(std::span<const int32_t> tokens, int64_t position, LogitsSink& sink) {
  load_window(tokens, position, chunk_, blocks_, block_tokens_);
  const LayerStages& stages = context_.stages;
  const ThreadingContext& threading = context_.threading;
  int64_t chunks = 0;
  while (chunks < static_cast<int64_t>(blocks_.size()) && blocks_[chunks].tokens > 0) ++chunks;
  auto for_each_chunk = [&](auto&& body) {
    threading.for_tiles(chunks, 1, [&](int64_t index, int64_t) { body(blocks_[index], index); });
  };

  for_each_chunk(
      [&](ActivationBlock& block, int64_t index) { stages.embed(block_tokens_[index], block); });
  for (int64_t layer = 0; layer < context_.config.n_layer; ++layer) {
    const LayerState state = context_.layer_state(layer);
    for_each_chunk([&](ActivationBlock& block, int64_t) { stages.project_in(layer, block); });
    // The conv carries only d_conv inputs across a chunk boundary: cheap enough to run in order.
    for (int64_t index = 0; index < chunks; ++index)
      stages.convolve(layer, state.conv, blocks_[index]);
    for_each_chunk([&](ActivationBlock& block, int64_t) {
      stages.discretize(layer, block);
      stages.scan_chunk_local_state(layer, block);
    });
    scan_states(layer, chunks);
    for_each_chunk([&](ActivationBlock& block, int64_t) {
      stages.scan_chunk_output(layer, block.state_in.data(), block);
      stages.project_out(layer, block);
    });
  }
  for_each_chunk([&](ActivationBlock& block, int64_t) { stages.final_norm(block); });
  for (int64_t index = 0; index < chunks; ++index) sink.consume(stages, blocks_[index]);
}

}  // namespace mamba2
