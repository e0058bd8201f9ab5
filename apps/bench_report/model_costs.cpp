#include "bench_report/model_costs.h"

#include <algorithm>

namespace mamba2::apps {

ModelCosts model_costs(const ModelWeights& weights, int64_t chunk_size, int64_t n_prompt) {
  const ModelConfig& c = weights.config;
  ModelCosts costs;
  double projection_params = 0;
  for_each_tensor(weights, [&](const TensorSlot& slot) {
    if (!slot.present || slot.role == TensorRole::kEmbedding || slot.role == TensorRole::kOutput) {
      return;
    }
    costs.weight_bytes_per_step += double(slot.view->nbytes);
    if (slot.role == TensorRole::kProjection) projection_params += double(slot.view->numel());
  });
  // lm_head is the embedding when tied (its slot then absent): read in full either way.
  costs.weight_bytes_per_step += double(weights.lm_head.nbytes);
  costs.weight_bytes_per_step += double(weights.embedding.nbytes) / double(c.vocab_padded);

  const double conv_state = double(c.d_conv * c.conv_dim);
  const double ssm_state = double(c.nheads * c.headdim * c.d_state);
  costs.state_bytes_per_token = 2.0 * double(c.n_layer) * (conv_state + ssm_state) * sizeof(float);

  const double L = double(std::clamp<int64_t>(n_prompt, 1, chunk_size));
  const double P = double(c.headdim), N = double(c.d_state);
  // Mamba-1's selective scan: per channel and state entry a decay, an update and a read-out.
  const double ssd_per_layer =
      c.architecture == Architecture::kMamba1
          ? 6.0 * double(c.d_inner) * N
          : double(c.nheads) * (2 * L * P + 4 * N * P) + double(c.ngroups) * 2 * L * N;
  const double conv_per_layer = 2.0 * double(c.conv_dim * c.d_conv);
  const double lm_head = 2.0 * double(c.vocab_padded * c.d_model);
  costs.prefill_flops_per_token = 2.0 * projection_params +
                                  double(c.n_layer) * (ssd_per_layer + conv_per_layer) +
                                  lm_head / double(std::max<int64_t>(n_prompt, 1));
  return costs;
}

}  // namespace mamba2::apps
