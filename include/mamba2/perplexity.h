// Perplexity and bits per byte of a token sequence under a model: the cross-entropy of each
// token given those before it, over all vocab_padded logits as the official model computes it.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "mamba2/session.h"

namespace mamba2 {

struct PerplexityResult {
  double perplexity = 0;     // exp(mean negative log-likelihood per predicted token)
  double bits_per_byte = 0;  // total negative log2-likelihood / predicted_bytes
  int64_t predicted_tokens = 0;
};

// Runs `tokens` through `session` from its current state; tokens[1..] are predicted.
// predicted_bytes is the length in bytes of the text those tokens spell. `progress` (optional)
// is told how many tokens are done, now and then.
PerplexityResult measure_perplexity(Session& session, std::span<const int32_t> tokens,
                                    int64_t predicted_bytes,
                                    const std::function<void(int64_t done)>& progress = {});

}  // namespace mamba2
