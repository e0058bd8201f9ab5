// The Mamba-2 (and Mamba-1) language model written as plainly as the spec in
// shared/fixtures/README.md, token by token in double precision. Slow and obviously right: the
// yardstick for the engine on configs the fixtures do not cover (d_ssm < d_inner, norm_before_gate,
// dt_limit, biases...).
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

  // [n_layer, nheads, headdim, d_state]; Mamba-1: [n_layer, d_inner, d_state]
  std::vector<double> ssm_state() const;

 private:
  std::vector<double> mixer(int64_t layer, const std::vector<double>& u);
  std::vector<double> mamba1_mixer(int64_t layer, const std::vector<double>& u);
  // SiLU(causal conv) of v[begin, begin + conv_dim), the layer's window advanced.
  std::vector<double> convolve(int64_t layer, const std::vector<double>& v, int64_t begin);

  const ModelWeights& weights_;
  const ModelConfig& c_;
  std::vector<std::vector<std::vector<double>>> conv_inputs_;  // [layer][d_conv][conv_dim]
  std::vector<std::vector<double>> ssm_;                       // [layer][H * P * N]
};

}  // namespace mamba2::testing
