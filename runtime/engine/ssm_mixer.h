// What the Mamba layer kinds share: in_proj into block.zxbcdt, the causal conv over a span of it,
// and the model they read. Mamba2Mixer and Mamba1Mixer add their scans and output gates.
#pragma once

#include "runtime/engine/causal_conv.h"
#include "runtime/engine/mixer.h"

namespace mamba2 {

class SsmMixer : public Mixer {
 public:
  void project_in(int64_t layer, ActivationBlock& block) const override;
  void convolve(int64_t layer, float* conv_state, ActivationBlock& block) const override;

 protected:
  // The conv reads columns [conv_offset, conv_offset + conv_dim) of in_proj's output.
  SsmMixer(const ModelConfig& config, const PreparedWeights& weights,
           const ThreadingContext& threading, int64_t conv_offset);

  const ModelConfig& config_;
  const PreparedWeights& weights_;
  const ThreadingContext& threading_;
  CausalConv conv_;
};

}  // namespace mamba2
