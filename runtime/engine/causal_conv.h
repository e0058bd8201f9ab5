// The causal depthwise conv + SiLU both Mamba layer kinds run over a span of in_proj's output
// (Mamba-2: xBC, Mamba-1: x), carrying the layer's conv state [d_conv, conv_dim] between blocks.
#pragma once

#include <cstdint>

#include "mamba2/config.h"
#include "mamba2/threading_context.h"
#include "runtime/engine/activation_block.h"
#include "runtime/engine/mixer.h"
#include "runtime/engine/prepared_weights.h"

namespace mamba2 {

class CausalConv {
 public:
  // Convolves columns [in_offset, in_offset + conv_dim) of block.zxbcdt into block.xbc.
  CausalConv(const ModelConfig& config, const PreparedWeights& weights,
             const ThreadingContext& threading, int64_t in_offset);

  // The block's tokens, consecutive in one sequence.
  void convolve(int64_t layer, float* conv_state, ActivationBlock& block) const;
  // One token per row, each carrying its own sequence's state (parallel over rows x channels).
  void convolve_rows(int64_t layer, const RowStates& states, ActivationBlock& block) const;

 private:
  // Conv channels [begin, end) of `tokens` consecutive tokens of one sequence (rows of `in`,
  // ld d_in_proj) into `out` (ld conv_dim), carrying conv_state.
  void convolve_channels(int64_t layer, float* conv_state, const float* in, float* out,
                         int64_t tokens, int64_t begin, int64_t end) const;

  const ModelConfig& config_;
  const PreparedWeights& weights_;
  const ThreadingContext& threading_;
  int64_t in_offset_;
};

}  // namespace mamba2
