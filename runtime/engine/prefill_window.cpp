#include "runtime/engine/prefill.h"

namespace mamba2 {

void load_window(const PrefillContext& context, std::span<const int32_t> tokens, int64_t position,
                 int64_t chunk, std::vector<ActivationBlock>& blocks,
                 std::vector<std::span<const int32_t>>& block_tokens) {
  for (size_t index = 0; index < blocks.size(); ++index) {
    const auto begin = std::min<size_t>(index * chunk, tokens.size());
    const auto end = std::min<size_t>(begin + chunk, tokens.size());
    blocks[index].reserve(context.config, context.stages.mixer(), static_cast<int64_t>(end - begin),
                          chunk);
    block_tokens[index] = tokens.subspan(begin, end - begin);
    blocks[index].tokens = static_cast<int64_t>(end - begin);
    blocks[index].position = position + static_cast<int64_t>(begin);
  }
}

}  // namespace mamba2
