// model_fingerprint's hash (mamba2/conversation_state.h), of the weights as loaded: the Model
// takes it before preparing them.
#pragma once

#include <cstdint>

#include "mamba2/model_weights.h"

namespace mamba2 {

uint64_t weights_fingerprint(const ModelWeights& weights);

}  // namespace mamba2
