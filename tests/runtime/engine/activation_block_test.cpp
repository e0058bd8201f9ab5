// ActivationBlock holds only its scan's scratch, and its hidden and normed views stay on its own
// buffers however blocks are moved (remade by reserve, moved by a growing vector).
#include "runtime/engine/activation_block.h"

#include <gtest/gtest.h>

#include <vector>

#include "mamba2/model.h"
#include "mamba2/random_model.h"
#include "runtime/engine/mixer.h"
#include "tests/runtime/engine/small_models.h"

namespace mamba2 {
namespace {

// Whether `view` lies inside `buffer`.
bool inside(std::span<const float> view, const AlignedVector<float>& buffer) {
  return view.data() >= buffer.data() && view.data() + view.size() <= buffer.data() + buffer.size();
}

TEST(ActivationBlock, OnlyTheAssociativeScanHoldsChunkStates) {
  for (const ModelConfig& config : testing::small_configs()) {
    SCOPED_TRACE(std::string(architecture_name(config.architecture)));
    const Model model(make_random_weights(config, 3));
    const ThreadingContext threading(2);
    const auto mixer = make_mixer(config, model.prepared(), threading);
    const auto state = static_cast<size_t>(config.nheads * config.headdim * config.d_state);
    for (BlockScan scan : {BlockScan::kSteps, BlockScan::kChunked}) {
      const ActivationBlock block(config, *mixer, config.chunk_size, scan);
      EXPECT_TRUE(block.state_local.empty());
      EXPECT_TRUE(block.state_in.empty());
      EXPECT_TRUE(block.decay.empty());
    }
    const ActivationBlock steps(config, *mixer, 1, BlockScan::kSteps);
    EXPECT_TRUE(steps.ssd_workspace.empty());
    const ActivationBlock associative(config, *mixer, config.chunk_size, BlockScan::kAssociative);
    EXPECT_EQ(associative.state_local.size(), state);
    EXPECT_EQ(associative.state_in.size(), state);
    EXPECT_FALSE(associative.decay.empty());
  }
}

TEST(ActivationBlock, HiddenAndNormedViewTheBlocksOwnBuffersAfterMoves) {
  const ModelConfig config = testing::small_config();
  const Model model(make_random_weights(config, 3));
  const ThreadingContext threading(1);
  const auto mixer = make_mixer(config, model.prepared(), threading);
  std::vector<ActivationBlock> blocks;
  for (int index = 0; index < 9; ++index) {  // reallocations move the earlier blocks
    blocks.emplace_back(config, *mixer, 0, BlockScan::kChunked);
    blocks.back().reserve(config, *mixer, 3 + index, config.chunk_size);
  }
  for (ActivationBlock& block : blocks) {
    const auto rows = static_cast<size_t>(block.capacity * config.d_model);
    ASSERT_EQ(block.hidden.size(), rows);
    ASSERT_EQ(block.normed.size(), rows);
    EXPECT_TRUE(inside(block.hidden, block.zxbcdt));
    EXPECT_TRUE(inside(block.normed, block.y));
  }
}

}  // namespace
}  // namespace mamba2
