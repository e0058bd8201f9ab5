#include "runtime/engine/prefill.h"

namespace mamba2 {

void recurrent_prefill(const PrefillContext& context, std::span<const int32_t> tokens,
                       int64_t position, Block& block, LogitsSink& sink) {
  const RowStates states = [&](int64_t, int64_t layer) { return context.layer_state(layer); };
  for (size_t t = 0; t < tokens.size(); ++t) {
    block.position = position + static_cast<int64_t>(t);
    context.stages.step_rows(tokens.subspan(t, 1), states, block);
    sink.consume(context.stages, block);
  }
}

}  // namespace mamba2
