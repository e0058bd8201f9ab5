// The model the conversation_state fuzzer loads saved conversations for, shared with the seed
// generator: small, so a state is a few hundred bytes and mutations land in every field.
#pragma once

#include <cstdint>

#include "mamba2/config.h"

namespace mamba2::fuzz {

constexpr uint64_t kStateFingerprint = 0x6d616d626132fu;

inline ModelConfig state_model_config() {
  ModelConfig config;
  config.d_model = 8;
  config.n_layer = 1;
  config.vocab_size = 50;
  config.d_state = 2;
  config.headdim = 4;
  config.resolve("fuzz");
  return config;
}

}  // namespace mamba2::fuzz
