// The Mamba-2 language model written as plainly as the spec in shared/fixtures/README.md, token
// by token in double precision. Slow and obviously right: the yardstick for the engine on
// configs the fixtures do not cover (d_ssm < d_inner, norm_before_gate, dt_limit, biases...).
#pragma once

#include <cstdint>
#include <vector>

#include "mamba2/model_weights.h"

namespace mamba2::testing {

class ReferenceForward {
 public:
  explicit ReferenceForward(const ModelWeights& weights);
  // Consumes one token; returns logits [vocab_padded].
  std::vector<double> step(int32_t token);

  // [n_layer, nheads, headdim, d_state]
  std::vector<double> ssm_state() const;

 private:
  std::vector<double> mixer(int64_t layer, const std::vector<double>& u);

  const ModelWeights& weights_;
  const ModelConfig& c_;
  std::vector<std::vector<std::vector<double>>> conv_inputs_;  // [layer][d_conv][conv_dim]
  std::vector<std::vector<double>> ssm_;                       // [layer][H * P * N]
};

}  // namespace mamba2::testing
