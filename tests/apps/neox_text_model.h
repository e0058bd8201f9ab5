// A small random model that carries the real GPT-NeoX tokenizer: what the app tests use when they
// need text in and text out without a real checkpoint.
#pragma once

#include <filesystem>

#include "mamba2/random_model.h"
#include "mamba2/tokenizer.h"
#include "runtime/gguf/gguf_model.h"
#include "tests/support/test_paths.h"

namespace mamba2::testing {

// Writes it as `path` (GGUF) and returns its weights (tokenizer included).
inline ModelWeights write_neox_text_model(const std::filesystem::path& path, uint64_t seed) {
  ModelConfig config;
  config.d_model = 32;
  config.n_layer = 1;
  config.vocab_size = 50277;
  config.pad_vocab_size_multiple = 16;
  config.d_state = 16;
  config.headdim = 16;
  config.chunk_size = 32;
  config.resolve("test");
  ModelWeights weights = make_random_weights(config, seed);
  weights.tokenizer = load_tokenizer_json(data_dir() / "gpt-neox-20b-tokenizer.json");
  write_gguf_model(weights, path);
  return weights;
}

}  // namespace mamba2::testing
