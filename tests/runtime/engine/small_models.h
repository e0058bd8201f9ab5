// Small random models and prompts shared by the engine tests.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "mamba2/config.h"

namespace mamba2::testing {

// Two layers, two groups, chunks of 8: every code path of the engine at a size that runs fast.
inline ModelConfig small_config() {
  ModelConfig config;
  config.d_model = 48;
  config.n_layer = 2;
  config.vocab_size = 60;
  config.pad_vocab_size_multiple = 16;
  config.d_state = 12;
  config.headdim = 8;
  config.ngroups = 2;
  config.chunk_size = 8;
  config.resolve("test");
  return config;
}

// small_config's sizes as a Mamba-1 model, with d_state 20: whole vectors and a ragged tail at
// every SIMD width. dt_rank 5.
inline ModelConfig small_mamba1_config() {
  ModelConfig config = small_config();
  config.architecture = Architecture::kMamba1;
  config.d_state = 20;
  config.dt_rank = 5;
  config.resolve("test");
  return config;
}

// One small model of every layer kind, for the tests that hold for all of them.
inline std::vector<ModelConfig> small_configs() { return {small_config(), small_mamba1_config()}; }

inline std::vector<int32_t> random_tokens(size_t count, int64_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(vocab - 1));
  std::vector<int32_t> tokens(count);
  for (int32_t& token : tokens) token = dist(rng);
  return tokens;
}

}  // namespace mamba2::testing
