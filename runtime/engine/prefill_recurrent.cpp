#include "runtime/engine/prefill.h"

namespace mamba2 {

void recurrent_prefill(const PrefillContext& context, std::span<const int32_t> tokens,
                       int64_t position, Block& block, LogitsSink& sink) {
  const LayerStages& stages = context.stages;
  for (size_t t = 0; t < tokens.size(); ++t) {
    stages.embed(tokens.subspan(t, 1), block);
    block.position = position + static_cast<int64_t>(t);
    for (int64_t layer = 0; layer < context.config.n_layer; ++layer) {
      const LayerState state = context.layer_state(layer);
      stages.project_in(layer, block);
      stages.convolve(layer, state.conv, block);
      stages.discretize(layer, block);
      stages.scan_step(layer, state.ssm, block);
      stages.project_out(layer, block);
    }
    stages.final_norm(block);
    sink.consume(stages, block);
  }
}

}  // namespace mamba2
