#include <limits>

#include "runtime/engine/prefill.h"

namespace mamba2 {

int64_t RecurrentPrefill::window_tokens() const {
  return std::numeric_limits<int64_t>::max();  // token by token: no working memory to bound
}

void RecurrentPrefill::run(std::span<const int32_t> tokens, int64_t position, LogitsSink& sink) {
  const RowStates states = [&](int64_t, int64_t layer) { return context_.layer_state(layer); };
  for (size_t t = 0; t < tokens.size(); ++t) {
    block_.position = position + static_cast<int64_t>(t);
    context_.stages.step_rows(tokens.subspan(t, 1), states, block_);
    sink.consume(context_.stages, block_);
  }
}

std::unique_ptr<PrefillStrategy> make_prefill_strategy(ScanMode mode, const PrefillContext& context,
                                                       int64_t chunk, int64_t window,
                                                       ActivationBlock& step_block) {
  switch (mode) {
    case ScanMode::kChunked:
      return std::make_unique<ChunkedPrefill>(context, chunk, window);
    case ScanMode::kAssociative:
      return std::make_unique<AssociativePrefill>(context, chunk, window);
    case ScanMode::kRecurrent:
    case ScanMode::kAuto:
      break;
  }
  return std::make_unique<RecurrentPrefill>(context, step_block);
}

}  // namespace mamba2
