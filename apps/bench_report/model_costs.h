// The work a token costs a model, from its config and weights, for mamba2-bench --roofline:
// bytes a decode step reads (the memory-bound limit) and FLOPs a prompt token needs (the
// compute-bound limit).
#pragma once

#include <cstdint>

#include "mamba2/model_weights.h"

namespace mamba2::apps {

struct ModelCosts {
  // Weights one decode step reads, whatever the batch: every projection, lm_head, norms, conv,
  // A, D, biases, and one embedding row per token (counted here for one token).
  double weight_bytes_per_step = 0;
  // Recurrent state a token reads and writes back: 2 x (conv + ssm state) in f32.
  double state_bytes_per_token = 0;
  // Prefill FLOPs per prompt token of a prompt of n_prompt tokens: 2 x the projections'
  // parameters, the depthwise conv, the chunked SSD's dense products (C.B^T, the masked
  // L x L product counted in full, C.state and the chunk state B^T.x), and lm_head once per
  // prompt (only the last token's logits are computed).
  double prefill_flops_per_token = 0;
};

ModelCosts model_costs(const ModelWeights& weights, int64_t chunk_size, int64_t n_prompt);

}  // namespace mamba2::apps
