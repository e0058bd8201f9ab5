// How far a model's next-token distributions are from a base model's on the same tokens, as
// llama-perplexity --kl-divergence reports it: both perplexities, the mean and largest
// KL(base || model) per position, and how often both put the same token first. For choosing a
// quantization type: the base is the f32 (or f16) model, the model its quantized copy.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "mamba2/session.h"

namespace mamba2 {

struct KlDivergenceResult {
  int64_t positions = 0;         // predictions compared: tokens[1..]
  double perplexity = 0;         // of the model
  double base_perplexity = 0;    // of the base
  double mean_kl = 0;            // mean over positions of KL(base || model), nats
  double kl_standard_error = 0;  // of mean_kl
  double max_kl = 0;
  double top1_agreement = 0;  // fraction of positions where both argmaxes are the same token
};

// Runs `tokens` through `session` (the model) and `base_session` from their current states,
// comparing the softmax of their logits at every position whose next token is known. The
// sessions' models must have the same vocabulary size. `progress` (optional) is told how many
// tokens are done, now and then.
KlDivergenceResult measure_kl_divergence(Session& session, Session& base_session,
                                         std::span<const int32_t> tokens,
                                         const std::function<void(int64_t done)>& progress = {});

}  // namespace mamba2
