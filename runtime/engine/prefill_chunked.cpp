#include "runtime/engine/prefill.h"

namespace mamba2 {

int64_t ChunkedPrefill::window_tokens() const {
  return static_cast<int64_t>(blocks_.size()) * chunk_;
}

ChunkedPrefill::ChunkedPrefill(const PrefillContext& context, int64_t chunk, int64_t window)
    : context_(context),
      chunk_(chunk),
      block_tokens_(window),
      wavefront_(context.threading, context.config.n_layer + 1, window,
                 [this](int64_t layer, int64_t chunk_index) { run_node(layer, chunk_index); }) {
  for (int64_t index = 0; index < window; ++index) {
    blocks_.emplace_back(context.config, context.stages.mixer(), 0,
                         BlockScan::kChunked);  // grown by use
  }
}

void ChunkedPrefill::run_node(int64_t layer, int64_t chunk_index) {
  ActivationBlock& block = blocks_[chunk_index];
  if (block.tokens == 0) return;
  const LayerStages& stages = context_.stages;
  if (layer == context_.config.n_layer) {
    stages.final_norm(block);
    sink_->consume(stages, block);
    return;
  }
  if (layer == 0) stages.embed(block_tokens_[chunk_index], block);
  const LayerState state = context_.layer_state(layer);
  const Mixer& mixer = stages.mixer();
  stages.project_in(layer, block);
  mixer.convolve(layer, state.conv, block);
  mixer.scan_chunk(layer, state.ssm, block);
  mixer.project_out(layer, block);
}

void ChunkedPrefill::run(std::span<const int32_t> tokens, int64_t position, LogitsSink& sink) {
  sink_ = &sink;
  load_window(context_, tokens, position, chunk_, blocks_, block_tokens_);
  wavefront_.run();
}

}  // namespace mamba2
