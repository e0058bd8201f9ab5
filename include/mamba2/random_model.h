// Models with random weights of a given shape, made in memory: for benchmarks at the real model
// sizes (mamba2-130m ... 2.7b, mamba-130m ... 2.8b) and for tests, where no checkpoint can be
// downloaded.
#pragma once

#include <cstdint>
#include <string_view>

#include "mamba2/model_weights.h"

namespace mamba2 {

// The config of a released state-spaces/mamba2 model: "130m", "370m", "780m", "1.3b", "2.7b",
// or Mistral's "codestral-7b" (8 groups, vocabulary 32768, untied lm_head);
// or of a Mamba-1 state-spaces/mamba model: "mamba-130m", "mamba-370m", "mamba-790m",
// "mamba-1.4b", "mamba-2.8b". Throws Error for another name.
ModelConfig released_model_config(std::string_view size);

// f32 weights drawn as Mamba2 initialises them (A_log = log U(1, 16), dt log-uniform in
// [0.001, 0.1] through softplus^-1, projections scaled by 1/sqrt(fan_in)), with norms and D
// randomised. `config` must be resolved. The same seed gives the same weights. Each tensor is
// drawn in f32 and stored in the type `policy` gives it (as convert_weights would), so the model
// in f32 never has to fit in memory.
ModelWeights make_random_weights(const ModelConfig& config, uint64_t seed,
                                 const QuantizationPolicy& policy = {});

}  // namespace mamba2
