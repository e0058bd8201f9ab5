#include "runtime/engine/causal_conv.h"

#include <algorithm>

#include "kernels/conv1d.h"
#include "runtime/engine/tiles.h"

namespace mamba2 {

CausalConv::CausalConv(const ModelConfig& config, const PreparedWeights& weights,
                       const ThreadingContext& threading, int64_t in_offset)
    : config_(config), weights_(weights), threading_(threading), in_offset_(in_offset) {}

void CausalConv::convolve(int64_t layer, float* conv_state, ActivationBlock& block) const {
  const float* in = block.zxbcdt.data() + in_offset_;
  threading_.for_tiles(config_.conv_dim, kChannelTile, [&](int64_t begin, int64_t end) {
    convolve_channels(layer, conv_state, in, block.xbc.data(), block.tokens, begin, end);
  });
}

void CausalConv::convolve_rows(int64_t layer, const RowStates& states,
                               ActivationBlock& block) const {
  const int64_t channel_tiles = (config_.conv_dim + kChannelTile - 1) / kChannelTile;
  const float* in = block.zxbcdt.data() + in_offset_;
  threading_.for_tiles(block.tokens * channel_tiles, 1, [&](int64_t index, int64_t) {
    const int64_t row = index / channel_tiles;
    const int64_t begin = index % channel_tiles * kChannelTile;
    const int64_t end = std::min(config_.conv_dim, begin + kChannelTile);
    convolve_channels(layer, states(row, layer).conv, in + row * config_.d_in_proj,
                      block.xbc.data() + row * config_.conv_dim, 1, begin, end);
  });
}

void CausalConv::convolve_channels(int64_t layer, float* conv_state, const float* in, float* out,
                                   int64_t tokens, int64_t begin, int64_t end) const {
  const PreparedLayer& weights = weights_.layers[layer];
  const int64_t channels = config_.conv_dim;
  const int64_t taps = config_.d_conv;
  const int64_t ld_in = config_.d_in_proj;
  // The kernel carries the d_conv-1 inputs it needs (state rows 1..); row 0 keeps the input
  // before those, as upstream's conv_state does, so saved states match the reference layout.
  const kernels::Conv1dArgs args{in,
                                 ld_in,
                                 conv_state + channels,
                                 weights.conv,
                                 weights.conv_bias,
                                 out,
                                 channels,
                                 tokens,
                                 channels,
                                 taps};
  float oldest[kChannelTile];
  // In the sequence [state rows 0..taps-1, inputs 0..tokens-1], the new row 0 is entry `tokens`.
  for (int64_t c = begin; c < end; ++c) {
    oldest[c - begin] =
        tokens < taps ? conv_state[tokens * channels + c] : in[(tokens - taps) * ld_in + c];
  }
  kernels::conv1d_silu(args, begin, end);
  std::copy(oldest, oldest + (end - begin), conv_state + begin);
}

}  // namespace mamba2
