#include "runtime/engine/ssm_mixer.h"

#include "runtime/engine/projection.h"

namespace mamba2 {

SsmMixer::SsmMixer(const ModelConfig& config, const PreparedWeights& weights,
                   const ThreadingContext& threading, int64_t conv_offset)
    : config_(config),
      weights_(weights),
      threading_(threading),
      conv_(config, weights, threading, conv_offset) {}

void SsmMixer::project_in(int64_t layer, ActivationBlock& block) const {
  project(threading_, weights_.layers[layer].in_proj, block.normed.data(), config_.d_model,
          block.zxbcdt.data(), config_.d_in_proj, block.tokens, block.token_rows,
          block.matmul_input);
}

void SsmMixer::convolve(int64_t layer, float* conv_state, ActivationBlock& block) const {
  conv_.convolve(layer, conv_state, block);
}

}  // namespace mamba2
